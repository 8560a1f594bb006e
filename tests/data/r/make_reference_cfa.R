# Reference values for scoring/cfa.py, computed by lavaan with its defaults.
#
# Run from the repository root:   Rscript tests/data/r/make_reference_cfa.R
# Needs lavaan (0.6.14) and jsonlite. Writes, next to this script, the generated input data sets
# (CSV) and reference_cfa.json. HolzingerSwineford1939 is written by make_reference.R.
# The Python tests read those files and never need R.

suppressPackageStartupMessages({
  library(lavaan)
  library(jsonlite)
})

out_dir <- "tests/data/r"
stopifnot(dir.exists(out_dir))
write_input <- function(df, name) {
  write.csv(df, file.path(out_dir, name), row.names = FALSE, na = "")
}
measures <- c("chisq", "df", "pvalue", "cfi", "tli", "rmsea", "rmsea.ci.lower",
              "rmsea.ci.upper", "srmr", "ntotal")

model_syntax <- function(factors) {
  paste(sprintf("%s =~ %s", names(factors),
                sapply(factors, paste, collapse = " + ")), collapse = "\n")
}
fit_values <- function(fit) {
  v <- fitMeasures(fit, measures)
  out <- as.list(unname(v))
  names(out) <- names(v)
  out$converged <- lavInspect(fit, "converged")
  out
}
cfa_case <- function(name, file, data, factors, reverse = character(0), points = NA,
                     group = NULL) {
  for (it in reverse) data[[it]] <- (points + 1) - data[[it]]
  model <- model_syntax(factors)
  res <- list(name = name, file = file, factors = lapply(factors, I), reverse = I(reverse),
              points = points, group = group)
  if (is.null(group)) {
    res$single <- fit_values(cfa(model, data = data))
  } else {
    res$configural <- fit_values(cfa(model, data = data, group = group))
    res$metric <- fit_values(cfa(model, data = data, group = group,
                                 group.equal = "loadings"))
    res$scalar <- fit_values(cfa(model, data = data, group = group,
                                 group.equal = c("loadings", "intercepts")))
  }
  res
}

# ---------------------------------------------------------------- generated survey
# 8 factors, 36 items on 5 points (the size of the instrument), 4 jurisdictions of unequal size,
# latent means differing by jurisdiction, two items biased upwards in jurisdiction "D" (so scalar
# invariance fails there), item q7 reverse-keyed (stored as answered), about 1% missing answers.
set.seed(42)
per_factor <- c(5, 5, 5, 5, 4, 4, 4, 4)
m <- length(per_factor)
p <- sum(per_factor)
sizes <- c(A = 900, B = 700, C = 600, D = 300)
jur <- rep(names(sizes), sizes)
n <- length(jur)
phi <- matrix(0.35, m, m); diag(phi) <- 1
eta <- matrix(rnorm(n * m), n) %*% chol(phi)
shift <- c(A = 0, B = 0.2, C = -0.15, D = 0.1)[jur]
eta <- eta + shift
fac_of_item <- rep(seq_len(m), per_factor)
lam <- runif(p, 0.5, 0.85)
y <- sapply(seq_len(p), function(j) lam[j] * eta[, fac_of_item[j]] + sqrt(1 - lam[j]^2) * rnorm(n))
y[jur == "D", c(5, 17)] <- y[jur == "D", c(5, 17)] + 0.5
cuts <- c(-Inf, -1.4, -0.5, 0.3, 1.1, Inf)
y <- apply(y, 2, function(z) as.integer(cut(z, cuts)))
colnames(y) <- paste0("q", seq_len(p))
y[, "q7"] <- 6L - y[, "q7"]
y[matrix(runif(length(y)) < 0.01, nrow = n)] <- NA
survey <- data.frame(jurisdiction = jur, y)
write_input(survey, "generated_cfa_survey.csv")
survey_factors <- split(colnames(y), paste0("F", fac_of_item))

# Small: 2 factors x 6 items, 260 rows with missing answers, 3 teams, one of 60.
set.seed(3)
n2 <- 260
g2 <- rep(c("north", "south", "east"), c(120, 80, 60))
eta2 <- matrix(rnorm(n2 * 2), n2) %*% chol(matrix(c(1, 0.5, 0.5, 1), 2))
l2 <- c(0.8, 0.7, 0.6, 0.75, 0.65, 0.55)
y2 <- sapply(1:6, function(j) l2[j] * eta2[, (j > 3) + 1] + sqrt(1 - l2[j]^2) * rnorm(n2))
y2 <- round(3 + y2, 1)
colnames(y2) <- paste0("v", 1:6)
y2[matrix(runif(length(y2)) < 0.04, nrow = n2)] <- NA
small <- data.frame(site = g2, y2)
write_input(small, "generated_cfa_small.csv")
small_factors <- list(climate = paste0("v", 1:3), support = paste0("v", 4:6))

hs <- HolzingerSwineford1939
hs_factors <- list(visual = c("x1", "x2", "x3"), textual = c("x4", "x5", "x6"),
                   speed = c("x7", "x8", "x9"))

cases <- list(
  cfa_case("hs_3factor", "holzinger_swineford.csv", hs, hs_factors),
  cfa_case("hs_3factor_by_school", "holzinger_swineford.csv", hs, hs_factors,
           group = "school"),
  # the marker of each factor changes the parameterisation, not the fit
  cfa_case("hs_3factor_other_markers", "holzinger_swineford.csv", hs,
           list(visual = c("x2", "x1", "x3"), textual = c("x6", "x4", "x5"),
                speed = c("x9", "x7", "x8"))),
  cfa_case("hs_1factor", "holzinger_swineford.csv", hs, list(g = paste0("x", 1:9))),
  cfa_case("survey_8factor", "generated_cfa_survey.csv", survey, survey_factors,
           reverse = "q7", points = 5),
  cfa_case("survey_8factor_by_jurisdiction", "generated_cfa_survey.csv", survey,
           survey_factors, reverse = "q7", points = 5, group = "jurisdiction"),
  cfa_case("small_2factor", "generated_cfa_small.csv", small, small_factors),
  cfa_case("small_2factor_by_site", "generated_cfa_small.csv", small, small_factors,
           group = "site")
)
write_json(list(versions = list(R = R.version.string,
                                lavaan = as.character(packageVersion("lavaan"))),
                cases = cases),
           file.path(out_dir, "reference_cfa.json"),
           digits = NA, auto_unbox = TRUE, pretty = TRUE, null = "null")
cat("wrote reference_cfa.json\n")
