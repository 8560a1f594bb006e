# Reference values for scoring.compare (tests/scoring/test_compare.py).
#
#   Rscript tests/data/r/score_compare_reference.R
#
# Respondent scale scores of two waves (the test builds the same scores from answers), Welch's
# t test (t.test(after, before, var.equal = FALSE)) and Hedges' g = J * (mean_a - mean_b) / s_p
# with the pooled SD and J = 1 - 3 / (4 (n_a + n_b) - 9). % positive: share of answers >= 4.
suppressPackageStartupMessages(library(jsonlite))
args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))

waves <- list(
  a = list(before = c(0, 25, 50, 50, 75, 100, 25), after = c(50, 75, 75, 100, 100, 50, 75, 100)),
  b = list(before = c(75, 75, rep(50, 7)), after = c(75, 75, rep(50, 6)))
)
hedges <- function(a, b) {
  na <- length(a); nb <- length(b)
  sp <- sqrt(((na - 1) * var(a) + (nb - 1) * var(b)) / (na + nb - 2))
  (1 - 3 / (4 * (na + nb) - 9)) * (mean(a) - mean(b)) / sp
}
out <- lapply(waves, function(w) {
  r <- t.test(w$after, w$before, var.equal = FALSE)
  answers_b <- 1 + w$before / 25
  answers_a <- 1 + w$after / 25
  list(
    before = w$before, after = w$after,
    t = unname(r$statistic), df = unname(r$parameter), p_value = r$p.value,
    hedges_g = hedges(w$after, w$before),
    delta_pct_positive = 100 * (mean(answers_a >= 4) - mean(answers_b >= 4))
  )
})
write_json(out, file.path(here, "score_compare_expected.json"), auto_unbox = TRUE, digits = NA,
           pretty = TRUE)
