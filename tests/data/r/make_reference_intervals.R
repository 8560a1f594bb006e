# Reference values for scoring/intervals.py and scoring.agreement.rwg_star_j, computed by R.
#
# Run from the repository root:   Rscript tests/data/r/make_reference_intervals.R
# Needs base R (stats) and multilevel (2.7). Writes CSV files next to this script; the Python
# tests read them and never need R. Values are written with 15 significant digits.

suppressPackageStartupMessages(library(multilevel))
out_dir <- "tests/data/r"
stopifnot(dir.exists(out_dir))
num <- function(x) ifelse(is.na(x), "", sprintf("%.15g", x))
put <- function(df, name) {
  df[] <- lapply(df, function(col) if (is.numeric(col)) num(col) else col)
  write.csv(df, file.path(out_dir, name), row.names = FALSE, quote = FALSE)
}

# Wilson score interval = prop.test without continuity correction (conf.int in 0..1).
grid <- expand.grid(k = 0:12, n = c(1, 2, 3, 5, 8, 12, 30, 100))
grid <- grid[grid$k <= grid$n, ]
grid <- rbind(grid, data.frame(k = c(0, 1, 37, 99, 100, 250), n = c(100, 100, 100, 100, 100, 1000)))
ci <- t(mapply(function(k, n) {
  suppressWarnings(prop.test(k, n, correct = FALSE)$conf.int)
}, grid$k, grid$n))
put(data.frame(k = grid$k, n = grid$n, low = 100 * ci[, 1], high = 100 * ci[, 2]),
    "reference_wilson.csv")

# Holm's adjustment: p.adjust(method = "holm"), several vectors in one long table.
set.seed(20261201)
rows <- list()
for (v in 1:6) {
  m <- sample(2:8, 1)
  p <- c(runif(m - 1), 0.001)[sample(m)]
  rows[[v]] <- data.frame(vector = v, p = p, holm = p.adjust(p, method = "holm"))
}
put(do.call(rbind, rows), "reference_holm.csv")

# Percentiles of unit figures: quantile(type = 7), as the benchmarks use.
rows <- list()
for (v in 1:5) {
  x <- round(runif(sample(20:60, 1), 10, 95), 3)
  q <- quantile(x, c(0.1, 0.25, 0.5, 0.75, 0.9), type = 7)
  rows[[v]] <- data.frame(vector = v, values = paste(sprintf("%.3f", x), collapse = " "),
                          p10 = q[1], p25 = q[2], p50 = q[3], p75 = q[4], p90 = q[5])
}
put(do.call(rbind, rows), "reference_quantile.csv")

# Lindell's r*wg(j) on the teams data set already used for rwg(j) (5 points, null 2).
teams <- read.csv(file.path(out_dir, "generated_teams.csv"))
items <- teams[, c("i1", "i2", "i3", "i4")]
complete <- stats::complete.cases(items)
lindell <- rwg.j.lindell(items[complete, ], teams$team[complete], ranvar = 2)
put(data.frame(team = lindell$grpid, rwg_lindell = lindell$rwg.lindell, gsize = lindell$gsize),
    "reference_rwg_lindell.csv")
cat("written\n")
