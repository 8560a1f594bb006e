# Reference values for scoring/reliability.py and scoring/agreement.py, computed by R.
#
# Run from the repository root:   Rscript tests/data/r/make_reference.R
# Needs psych (2.2.9), GPArotation, multilevel (2.7), lavaan (0.6.14), jsonlite. Writes, next to this script,
# the input data sets (CSV) and reference_reliability.json / reference_agreement.json.
# The Python tests read those files and never need R.

suppressPackageStartupMessages({
  library(psych)
  library(multilevel)
  library(lavaan)
  library(jsonlite)
})

out_dir <- "tests/data/r"
stopifnot(dir.exists(out_dir))
write_input <- function(df, name) {
  write.csv(df, file.path(out_dir, name), row.names = FALSE, na = "")
}
versions <- list(
  R = R.version.string,
  psych = as.character(packageVersion("psych")),
  multilevel = as.character(packageVersion("multilevel"))
)

# ---------------------------------------------------------------- input data sets
data(bfi, package = "psych")
bfi_items <- bfi[, 1:25]                 # 2800 respondents, 6 points, with missing answers
write_input(bfi_items, "bfi.csv")

data(HolzingerSwineford1939, package = "lavaan")   # 301 pupils, 9 ability tests (continuous)
hs <- HolzingerSwineford1939
write_input(hs, "holzinger_swineford.csv")

data(attitude, package = "datasets")     # 30 respondents, 7 ratings: status "unstable"
write_input(attitude, "attitude.csv")

# Generated survey: 5 points, one factor, items q3 and q5 reverse-keyed (stored raw, as answered),
# about 10% missing answers, a few respondents who answered nothing.
set.seed(20240611)
n <- 600
latent <- rnorm(n)
loadings <- c(0.75, 0.65, 0.6, 0.7, 0.55, 0.5)
gen <- sapply(loadings, function(l) l * latent + sqrt(1 - l^2) * rnorm(n))
to_points <- function(z) as.integer(cut(z, c(-Inf, -1.3, -0.45, 0.25, 1.0, Inf)))
gen <- apply(gen, 2, to_points)
colnames(gen) <- paste0("q", 1:6)
gen[, c("q3", "q5")] <- 6L - gen[, c("q3", "q5")]        # as a respondent answers a reversed item
gen[matrix(runif(length(gen)) < 0.10, nrow = n)] <- NA
gen[sample(n, 12), ] <- NA
gen <- as.data.frame(gen)
write_input(gen, "generated_scale.csv")

# ---------------------------------------------------------------- reliability
reliability_case <- function(name, file, data, items, reverse = character(0), points = NA,
                             rows = NULL) {
  x <- data[, items, drop = FALSE]
  if (!is.null(rows)) x <- x[rows, , drop = FALSE]
  for (it in reverse) x[[it]] <- (points + 1) - x[[it]]
  a <- suppressWarnings(suppressMessages(psych::alpha(x, warnings = FALSE)))
  n_complete <- sum(complete.cases(x))
  k <- ncol(x)
  # The brief fixes Feldt's n at the number of complete cases (psych uses nrow(x)).
  feldt <- psych::alpha.ci(a$total$raw_alpha, n_complete, k)
  om <- suppressWarnings(suppressMessages(psych::omega(x, nfactors = 1, plot = FALSE)))
  list(
    name = name, file = file, items = I(items), reverse = I(reverse), points = points,
    rows = if (is.null(rows)) NULL else rows,
    n_complete = n_complete,
    raw_alpha = a$total$raw_alpha,
    feldt_lower = feldt$lower.ci, feldt_upper = feldt$upper.ci,
    r_drop = as.list(setNames(a$item.stats$r.drop, items)),
    alpha_drop = as.list(setNames(a$alpha.drop$raw_alpha, items)),
    omega_tot = om$omega.tot,
    max_communality = max(om$schmid$sl[, "h2"])
  )
}

bfi_scales <- list(
  A = list(items = paste0("A", 1:5), reverse = "A1"),
  C = list(items = paste0("C", 1:5), reverse = c("C4", "C5")),
  E = list(items = paste0("E", 1:5), reverse = c("E1", "E2")),
  N = list(items = paste0("N", 1:5), reverse = character(0)),
  O = list(items = paste0("O", 1:5), reverse = c("O2", "O5"))
)
rel <- list()
for (s in names(bfi_scales)) {
  sc <- bfi_scales[[s]]
  rel[[length(rel) + 1]] <- reliability_case(paste0("bfi_", s), "bfi.csv", bfi_items,
                                             sc$items, sc$reverse, points = 6)
}
# A1 left unreversed: psych::omega reflects the negatively loading item before summing R
rel[[length(rel) + 1]] <- reliability_case("bfi_A_unreversed", "bfi.csv", bfi_items,
                                           paste0("A", 1:5), points = 6)
# 3 items: the smallest scale with alpha-if-deleted and an identified one-factor omega
rel[[length(rel) + 1]] <- reliability_case("bfi_N123", "bfi.csv", bfi_items,
                                           c("N1", "N2", "N3"), points = 6)
rel[[length(rel) + 1]] <- reliability_case("hs_textual", "holzinger_swineford.csv", hs,
                                           c("x4", "x5", "x6"))
rel[[length(rel) + 1]] <- reliability_case("hs_all9", "holzinger_swineford.csv", hs,
                                           paste0("x", 1:9))
rel[[length(rel) + 1]] <- reliability_case("attitude", "attitude.csv", attitude,
                                           colnames(attitude))
rel[[length(rel) + 1]] <- reliability_case("generated_6", "generated_scale.csv", gen,
                                           paste0("q", 1:6), c("q3", "q5"), points = 5)
# The first 70 rows only: about 55 complete cases, status "unstable"
rel[[length(rel) + 1]] <- reliability_case("generated_6_first70", "generated_scale.csv", gen,
                                           paste0("q", 1:6), c("q3", "q5"), points = 5,
                                           rows = 1:70)
write_json(list(versions = versions, cases = rel),
           file.path(out_dir, "reference_reliability.json"),
           digits = NA, auto_unbox = TRUE, pretty = TRUE, null = "null")

# ---------------------------------------------------------------- agreement
data(lq2002, package = "multilevel")     # 2042 soldiers in 49 companies, 5-point items
lq <- lq2002[, c("COMPID", paste0("LEAD", sprintf("%02d", 1:11)),
                 paste0("TSIG", sprintf("%02d", 1:3)), paste0("HOSTIL", sprintf("%02d", 1:5)))]
write_input(lq, "lq2002.csv")
data(bh1996, package = "multilevel")     # 7382 soldiers in 99 companies
bh <- bh1996[, c("GRP", "COHES", "LEAD", "HRS", "WBEING")]
write_input(bh, "bh1996.csv")

# Generated teams: 250 teams of 1 to 12 people (many of 1-4), 4 items on 5 points, ~8% missing;
# some teams answer all alike (rwg = 1) and some split between 1 and 5 (variance > ranvar).
set.seed(7)
sizes <- sample(c(1:4, 1:4, 5:12), 250, replace = TRUE)
team <- rep(sprintf("T%03d", seq_along(sizes)), sizes)
m <- length(team)
team_effect <- rnorm(length(sizes), sd = 0.6)[match(team, sprintf("T%03d", seq_along(sizes)))]
base <- sapply(1:4, function(j) team_effect + 0.7 * rnorm(m))
ans <- matrix(pmin(5L, pmax(1L, round(3 + base))), nrow = m)
alike <- team %in% sprintf("T%03d", c(3, 17, 42, 99))
ans[alike, ] <- 4L
split_teams <- team %in% sprintf("T%03d", c(5, 23, 77))
ans[split_teams, ] <- ifelse(seq_len(sum(split_teams)) %% 2 == 0, 1L, 5L)
ans[matrix(runif(length(ans)) < 0.08, nrow = m)] <- NA
colnames(ans) <- paste0("i", 1:4)
teams <- data.frame(team = team, ans)
teams$score <- rowMeans(teams[, paste0("i", 1:4)], na.rm = TRUE)
# A respondent scale score needs more than half of the items answered (DESIGN.md): 3 of 4.
teams$score[rowSums(!is.na(teams[, paste0("i", 1:4)])) < 3] <- NA
write_input(teams, "generated_teams.csv")

rwg_case <- function(name, file, data, items, group, points) {
  r <- rwg.j(data[, items], as.character(data[[group]]), ranvar = (points^2 - 1) / 12)
  list(name = name, file = file, items = I(items), group = group, points = points,
       groups = as.character(r$grpid), rwg_j = r$rwg.j, gsize = r$gsize)
}
icc_case <- function(name, file, data, value, group) {
  d <- data.frame(y = data[[value]], g = as.factor(data[[group]]))
  d <- d[!is.na(d$y), ]
  fit <- aov(y ~ g, data = d)
  list(name = name, file = file, value = value, group = group,
       icc1 = ICC1(fit), icc2 = ICC2(fit))
}
agr <- list(
  versions = versions,
  rwg_j = list(
    rwg_case("lq2002_LEAD", "lq2002.csv", lq, paste0("LEAD", sprintf("%02d", 1:11)), "COMPID", 5),
    rwg_case("lq2002_TSIG", "lq2002.csv", lq, paste0("TSIG", sprintf("%02d", 1:3)), "COMPID", 5),
    rwg_case("lq2002_HOSTIL", "lq2002.csv", lq, paste0("HOSTIL", sprintf("%02d", 1:5)),
             "COMPID", 5),
    rwg_case("generated_teams", "generated_teams.csv", teams, paste0("i", 1:4), "team", 5)
  ),
  icc = list(
    icc_case("bh1996_WBEING", "bh1996.csv", bh, "WBEING", "GRP"),
    icc_case("bh1996_HRS", "bh1996.csv", bh, "HRS", "GRP"),
    icc_case("bh1996_LEAD", "bh1996.csv", bh, "LEAD", "GRP"),
    icc_case("generated_teams_score", "generated_teams.csv", teams, "score", "team")
  )
)
write_json(agr, file.path(out_dir, "reference_agreement.json"),
           digits = NA, auto_unbox = TRUE, pretty = TRUE, null = "null")
cat("wrote reference_reliability.json and reference_agreement.json\n")
