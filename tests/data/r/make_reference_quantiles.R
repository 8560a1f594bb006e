# Reference quantiles of Student's t and F for scoring/_distributions.py, computed by R.
#
# Run from the repository root:   Rscript tests/data/r/make_reference_quantiles.R
# Needs base R (stats) only. Writes reference_t_quantile.csv and reference_f_quantile.csv next
# to this script with 17 significant digits (a double round-trips), so that a test can ask for
# 1e-12 relative agreement. The grid covers what scoring uses: t(.975, n - 1) for unit means
# (n from 2 to a national wave) and Welch's non-integer degrees of freedom; the Feldt interval's
# F(.975 / .025; n - 1, (n - 1)(k - 1)) for n >= 30 complete cases and k = 2..12 items; and a few
# other probabilities for the tails.

out_dir <- "tests/data/r"
stopifnot(dir.exists(out_dir))
num <- function(x) sprintf("%.17g", x)

df <- c(1:40, 45, 50, 60, 75, 99, 100, 150, 200, 300, 499, 1000, 2000, 5000, 10000, 30000,
        99999, 3e5, 1e6, 1.5, 2.5, 3.7, 7.3, 12.75, 33.3, 150.5)
p <- c(0.975, 0.025, 0.995, 0.9, 0.75, 0.6, 0.999, 1e-6)
grid <- expand.grid(p = p, df = df)
write.csv(data.frame(df = num(grid$df), p = num(grid$p), q = num(qt(grid$p, grid$df))),
          file.path(out_dir, "reference_t_quantile.csv"), row.names = FALSE, quote = FALSE)

n <- c(30, 31, 45, 100, 257, 1000, 4999, 20000, 1e5, 3e5)
grid <- expand.grid(p = c(0.975, 0.025, 0.5, 0.99, 1e-4), k = 2:12, n = n)
df1 <- grid$n - 1
df2 <- (grid$n - 1) * (grid$k - 1)
write.csv(data.frame(df1 = num(df1), df2 = num(df2), p = num(grid$p),
                     q = num(qf(grid$p, df1, df2))),
          file.path(out_dir, "reference_f_quantile.csv"), row.names = FALSE, quote = FALSE)
