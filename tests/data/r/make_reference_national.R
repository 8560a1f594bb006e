# Reference values for scoring/sufficient.py and scoring/efa.py, computed on the POOLED rows of
# three generated jurisdictions by psych, lavaan and multilevel.
#
# Run from the repository root:   Rscript tests/data/r/make_reference_national.R
# Needs psych, lavaan (0.6.14), multilevel and jsonlite. Writes generated_national.csv (the rows:
# jurisdiction, language, team, 12 items already reverse-scored, NA missing) and
# reference_national.json. The Python tests compute the same statistics from per-jurisdiction
# sufficient statistics and never need R.

suppressPackageStartupMessages({
  library(psych)
  library(lavaan)
  library(multilevel)
  library(jsonlite)
})

out_dir <- "tests/data/r"
stopifnot(dir.exists(out_dir))
set.seed(20261201)

scales <- list(a = paste0("a", 1:4), b = paste0("b", 1:4), c = paste0("c", 1:4))
items <- unlist(scales, use.names = FALSE)

make_jurisdiction <- function(code, n, teams, shift) {
  team <- sample(sprintf("%s-t%02d", code, seq_len(teams)), n, replace = TRUE)
  team_effect <- rnorm(teams, 0, 0.35)[as.integer(factor(team))]
  eta <- matrix(rnorm(n * 3), n, 3) %*% chol(matrix(c(1, .5, .4, .5, 1, .3, .4, .3, 1), 3))
  eta <- eta + team_effect
  language <- ifelse(runif(n) < 0.25, "es", "en")
  out <- data.frame(jurisdiction = code, language = language, team = team)
  for (f in 1:3) {
    for (j in 1:4) {
      load <- c(.8, .7, .6, .75)[j] + if (j == 3) shift else 0
      latent <- load * eta[, f] + rnorm(n, 0, .7) + if (j == 2) shift else 0
      y <- as.integer(cut(latent, c(-Inf, -1.4, -0.5, 0.4, 1.3, Inf)))
      y[runif(n) < 0.04] <- NA
      out[[scales[[f]][j]]] <- y
    }
  }
  out
}
rows <- rbind(
  make_jurisdiction("north", 420, 30, 0),
  make_jurisdiction("south", 380, 25, 0.25),
  make_jurisdiction("west", 300, 20, -0.2)
)
rows <- rows[sample(nrow(rows)), ]
write.csv(rows, file.path(out_dir, "generated_national.csv"), row.names = FALSE, na = "")

result <- list(scales = list(), icc = list())
for (s in names(scales)) {
  x <- na.omit(rows[, scales[[s]]])
  a <- psych::alpha(x, warnings = FALSE)
  ci <- psych::alpha.ci(a$total$raw_alpha, nrow(x), length(scales[[s]]))
  om <- suppressWarnings(suppressMessages(psych::omega(x, nfactors = 1, plot = FALSE)))
  result$scales[[s]] <- list(
    n = nrow(x),
    alpha = a$total$raw_alpha,
    alpha_ci = c(ci$lower.ci, ci$upper.ci),
    r_drop = as.list(setNames(a$item.stats$r.drop, scales[[s]])),
    alpha_drop = as.list(setNames(a$alpha.drop$raw_alpha, scales[[s]])),
    omega_total = om$omega.tot
  )
  # Respondent score: answered more than half of the items, (mean - 1) / 4 * 100.
  block <- rows[, scales[[s]]]
  enough <- rowSums(!is.na(block)) >= floor(length(scales[[s]]) / 2) + 1
  score <- ifelse(enough, (rowMeans(block, na.rm = TRUE) - 1) / 4 * 100, NA)
  keep <- !is.na(score)
  fit <- aov(score[keep] ~ as.factor(rows$team[keep]))
  result$icc[[s]] <- list(icc1 = multilevel::ICC1(fit), icc2 = multilevel::ICC2(fit))
}

measures <- c("chisq", "df", "pvalue", "cfi", "tli", "rmsea", "rmsea.ci.lower",
              "rmsea.ci.upper", "srmr", "ntotal")
fit_values <- function(fit) {
  v <- fitMeasures(fit, measures)
  out <- as.list(unname(v))
  names(out) <- names(v)
  out
}
model <- paste(sprintf("%s =~ %s", names(scales), sapply(scales, paste, collapse = " + ")),
               collapse = "\n")
complete <- rows[complete.cases(rows[, items]), ]
result$cfa <- fit_values(cfa(model, complete[, items]))
invariance <- function(group) {
  list(
    configural = fit_values(cfa(model, complete, group = group)),
    metric = fit_values(cfa(model, complete, group = group, group.equal = "loadings")),
    scalar = fit_values(cfa(model, complete, group = group,
                            group.equal = c("loadings", "intercepts")))
  )
}
result$invariance_jurisdiction <- invariance("jurisdiction")
result$invariance_language <- invariance("language")

r <- cor(complete[, items])
kmo <- psych::KMO(r)
bartlett <- psych::cortest.bartlett(r, n = nrow(complete))
result$efa <- list(
  n = nrow(complete),
  kmo = kmo$MSA,
  kmo_items = as.list(setNames(unname(kmo$MSAi), items)),
  bartlett_chi2 = bartlett$chisq,
  bartlett_df = bartlett$df,
  bartlett_p = bartlett$p.value
)
result$versions <- list(
  R = R.version.string,
  psych = as.character(packageVersion("psych")),
  lavaan = as.character(packageVersion("lavaan")),
  multilevel = as.character(packageVersion("multilevel"))
)
write(toJSON(result, auto_unbox = TRUE, digits = NA, pretty = TRUE),
      file.path(out_dir, "reference_national.json"))
