# Reference values for `python -m scoring score`, computed independently in R.
#
#   Rscript tests/data/r/score_reference.R
#
# Reads score_instrument.yaml and score_input_*.csv (made by score_make_input.py) and writes
# score_expected_<case>.json in the shape of the CLI's JSON (warnings left out). Everything is
# computed here from the definitions in DESIGN.md "Measurement": reversing, straight-lining,
# scale scores with the more-than-half rule, item and scale % positive, unit means with t
# intervals (t.test), scale % positive from the items shown for the unit only, rwg(j) (multilevel::rwg.j), ICC(1)/ICC(2) (multilevel on aov),
# psych::alpha / alpha.ci / omega, benchmark quantiles (type 7), mid-rank percentiles and the
# flat-tree suppression rule (primary, then hide the smallest shown unit while the overall total
# minus the shown units is between 1 and min_n - 1).
suppressPackageStartupMessages({
  library(jsonlite)
  library(yaml)
  library(psych)
  library(multilevel)
})

args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))

read_instrument <- function(path) {
  y <- yaml::read_yaml(path)
  lapply(y$scales, function(s) {
    rs <- y$response_scales[[s$response_scale]]
    list(
      key = s$key, points = rs$points, pos = rs$positive_from, neg = rs$negative_to,
      items = vapply(s$items, function(i) i$key, ""),
      reverse = vapply(s$items, function(i) isTRUE(i$reverse), TRUE)
    )
  })
}

hide_flat <- function(n, names, min_n) {
  hidden <- n < min_n
  repeat {
    rest <- sum(n) - sum(n[!hidden])
    if (rest == 0 || rest >= min_n || all(hidden)) break
    shown <- which(!hidden)
    first <- shown[order(n[shown], names[shown], method = "radix")][1]
    hidden[first] <- TRUE
  }
  hidden
}

num <- function(x) if (length(x) == 0 || is.na(x) || !is.finite(x)) NULL else unname(x)

pct3 <- function(y, pos, neg) {
  y <- y[!is.na(y)]
  if (length(y) == 0) return(c(NA, NA, NA))
  c(mean(y >= pos), mean(y > neg & y < pos), mean(y <= neg)) * 100
}

named <- function(values, names) {
  out <- as.list(values)
  names(out) <- names
  if (length(out) == 0) out <- structure(list(), names = character(0))
  out
}

score_case <- function(csv, instrument, min_n, exclude) {
  d <- read.csv(csv, colClasses = c(unit = "character"), na.strings = "")
  all_items <- unlist(lapply(instrument, `[[`, "items"))
  raw <- as.matrix(d[, all_items])
  answered <- rowSums(!is.na(raw))
  same <- apply(raw, 1, function(r) {
    r <- r[!is.na(r)]
    length(r) > 0 && all(r == r[1])
  })
  straight <- answered >= 15 & same

  y <- raw
  scores <- list()
  for (s in instrument) {
    for (j in seq_along(s$items)) {
      if (s$reverse[j]) y[, s$items[j]] <- s$points + 1 - y[, s$items[j]]
    }
    ys <- y[, s$items, drop = FALSE]
    k <- length(s$items)
    cnt <- rowSums(!is.na(ys))
    sc <- (rowMeans(ys, na.rm = TRUE) - 1) / (s$points - 1) * 100
    sc[cnt < floor(k / 2) + 1] <- NA
    scores[[s$key]] <- sc
  }
  score_mat <- do.call(cbind, scores)
  counted <- rowSums(!is.na(score_mat)) > 0
  if (exclude) counted <- counted & !straight
  units <- sort(unique(d$unit), method = "radix")
  dc <- d[counted, ]
  yc <- y[counted, , drop = FALSE]
  unit_c <- dc$unit

  scales_out <- list()
  items_out <- list()
  for (s in instrument) {
    sc <- scores[[s$key]][counted]
    has <- !is.na(sc)
    v <- sc[has]
    g <- unit_c[has]
    n_total <- length(v)
    item_unit_pct <- list()
    item_all_pct <- list()
    for (it in s$items) {
      yi <- yc[, it]
      n_i <- sapply(units, function(u) sum(!is.na(yi[unit_c == u])))
      hid <- hide_flat(n_i, units, min_n)
      per_unit <- t(sapply(units, function(u) pct3(yi[unit_c == u], s$pos, s$neg)))
      overall <- pct3(yi, s$pos, s$neg)
      n_all <- sum(!is.na(yi))
      show_all <- n_all >= min_n
      # The scale headline averages only the items shown for the unit (or overall).
      shown_only <- per_unit
      shown_only[hid, ] <- NA
      item_unit_pct[[it]] <- shown_only
      item_all_pct[[it]] <- if (show_all) overall else rep(NA, 3)
      items_out[[it]] <- list(
        n = n_all,
        pct_positive = if (show_all) num(overall[1]) else NULL,
        pct_neutral = if (show_all) num(overall[2]) else NULL,
        pct_negative = if (show_all) num(overall[3]) else NULL,
        units = named(lapply(seq_along(units), function(i) {
          list(
            n = unname(n_i[i]), suppressed = hid[i],
            pct_positive = if (hid[i]) NULL else num(per_unit[i, 1]),
            pct_neutral = if (hid[i]) NULL else num(per_unit[i, 2]),
            pct_negative = if (hid[i]) NULL else num(per_unit[i, 3])
          )
        }), units)
      )
    }
    # Scale % = mean over the items answered and shown in the unit (or overall).
    unit_pct <- t(sapply(seq_along(units), function(i) {
      m <- do.call(rbind, lapply(item_unit_pct, function(p) p[i, ]))
      colMeans(m, na.rm = TRUE)
    }))
    all_pct <- colMeans(do.call(rbind, item_all_pct), na.rm = TRUE)

    n_u <- sapply(units, function(u) sum(g == u))
    hid <- hide_flat(n_u, units, min_n)

    xs <- as.data.frame(yc[, s$items, drop = FALSE])
    rwg <- rwg.j(xs[unit_c %in% units[!hid], , drop = FALSE], unit_c[unit_c %in% units[!hid]],
                 ranvar = (s$points^2 - 1) / 12)
    ranked <- !hid & !is.na(unit_pct[, 1])
    shown_pct <- unit_pct[ranked, 1]
    r9 <- round(shown_pct, 9)
    pr <- sapply(r9, function(p) 100 * (sum(r9 < p) + sum(r9 == p) / 2) / length(r9))
    names(pr) <- units[ranked]

    unit_list <- lapply(seq_along(units), function(i) {
      u <- units[i]
      if (hid[i]) {
        return(list(n = unname(n_u[i]), suppressed = TRUE, mean = NULL, ci = NULL,
                    pct_positive = NULL, pct_neutral = NULL, pct_negative = NULL,
                    rwg_j = NULL, percentile = NULL))
      }
      x <- v[g == u]
      ci <- if (sd(x) > 0) as.numeric(t.test(x)$conf.int) else c(mean(x), mean(x))
      rw <- rwg$rwg.j[rwg$grpid == u]
      list(n = unname(n_u[i]), suppressed = FALSE, mean = mean(x), ci = ci,
           pct_positive = num(unit_pct[i, 1]), pct_neutral = num(unit_pct[i, 2]),
           pct_negative = num(unit_pct[i, 3]), rwg_j = num(rw),
           percentile = if (ranked[i]) unname(pr[u]) else NULL)
    })

    fit <- aov(v ~ as.factor(g))
    show_all <- n_total >= min_n
    x_rel <- xs
    k <- ncol(x_rel)
    n_complete <- sum(complete.cases(x_rel))
    status <- if (n_complete >= 100) "ok" else if (n_complete >= 30) "unstable" else "insufficient"
    rel <- list(alpha = NULL, alpha_ci = NULL, omega_total = NULL, n_complete = n_complete,
                item_total = structure(list(), names = character(0)),
                alpha_if_deleted = structure(list(), names = character(0)), status = status)
    if (status != "insufficient") {
      a <- psych::alpha(x_rel, warnings = FALSE)
      ci <- psych::alpha.ci(a$total$raw_alpha, n_complete, k)
      om <- suppressWarnings(suppressMessages(psych::omega(x_rel, nfactors = 1, plot = FALSE)))
      rel$alpha <- a$total$raw_alpha
      rel$alpha_ci <- c(ci$lower.ci, ci$upper.ci)
      rel$omega_total <- om$omega.tot
      rel$item_total <- named(a$item.stats$r.drop, s$items)
      if (k >= 3) rel$alpha_if_deleted <- named(a$alpha.drop$raw_alpha, s$items)
    }
    bench <- quantile(shown_pct, c(.1, .25, .5, .75, .9), type = 7, names = FALSE)
    scales_out[[s$key]] <- list(
      n = n_total,
      mean = if (show_all) mean(v) else NULL,
      sd = if (show_all && n_total > 1) sd(v) else NULL,
      pct_positive = if (show_all) num(all_pct[1]) else NULL,
      pct_neutral = if (show_all) num(all_pct[2]) else NULL,
      pct_negative = if (show_all) num(all_pct[3]) else NULL,
      reliability = rel,
      icc1 = if (show_all) num(multilevel::ICC1(fit)) else NULL,
      icc2 = if (show_all) num(multilevel::ICC2(fit)) else NULL,
      benchmark = if (length(shown_pct)) named(bench, c("p10", "p25", "p50", "p75", "p90"))
                  else NULL,
      units = named(unit_list, units)
    )
  }
  item_order <- all_items
  list(
    respondents = list(total = nrow(d), scored = sum(counted),
                       excluded_straightlining = if (exclude) sum(straight) else 0),
    scales = scales_out,
    items = items_out[item_order]
  )
}

instrument <- read_instrument(file.path(here, "score_instrument.yaml"))
cases <- list(
  a_default = list(csv = "score_input_a.csv", min_n = 5, exclude = TRUE),
  a_min3_keep = list(csv = "score_input_a.csv", min_n = 3, exclude = FALSE),
  b_default = list(csv = "score_input_b.csv", min_n = 5, exclude = TRUE)
)
for (name in names(cases)) {
  cs <- cases[[name]]
  out <- score_case(file.path(here, cs$csv), instrument, cs$min_n, cs$exclude)
  out$case <- c(cs, list(R = R.version.string,
                         psych = as.character(packageVersion("psych")),
                         multilevel = as.character(packageVersion("multilevel"))))
  write_json(out, file.path(here, paste0("score_expected_", name, ".json")),
             auto_unbox = TRUE, digits = NA, null = "null", na = "null", pretty = TRUE)
}
