"""Confirmatory factor analysis by maximum likelihood, with lavaan's fit indices and invariance."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from scoring._linalg import FloatArray

IntArray = npt.NDArray[np.intp]

_MAX_ITER = 500
_DECREMENT_TOL = 1e-12
#: lavaan leaves residual entries below this size unscaled when it standardises them for SRMR.
_LAVAAN_NEAR_ZERO = 1e-5


@dataclass(frozen=True)
class CfaFit:
    """Fit of one confirmatory factor model (lavaan ``fitMeasures`` names in comments)."""

    chi2: float  # chisq
    df: int  # df
    pvalue: float  # pvalue
    cfi: float  # cfi
    tli: float  # tli
    rmsea: float  # rmsea
    rmsea_ci: tuple[float, float]  # rmsea.ci.lower, rmsea.ci.upper (90%)
    srmr: float  # srmr
    n: int  # ntotal, after listwise deletion
    converged: bool
    warnings: tuple[str, ...] = ()


# --------------------------------------------------------------------------- model layout


@dataclass(frozen=True)
class _GroupLayout:
    """Where each free parameter of one group sits in the global parameter vector (-1: fixed)."""

    lam: IntArray  # p × m
    lam_fixed: FloatArray  # p × m values of fixed loadings (1 for markers, 0 elsewhere)
    phi: IntArray  # m × m, symmetric
    theta: IntArray  # p
    nu: IntArray | None  # p intercepts, when there is a mean structure
    alpha: IntArray | None  # m latent means (-1 = fixed at 0)


@dataclass(frozen=True)
class _Moments:
    n: int
    cov: FloatArray  # divisor N, as lavaan's ML uses
    mean: FloatArray
    logdet: float  # log|S|


def _pattern(items: list[str], factors: dict[str, list[str]]) -> tuple[np.ndarray, np.ndarray]:
    """Loading pattern (p × m bool) and markers (p × m bool) from the factor → items mapping."""
    position = {item: i for i, item in enumerate(items)}
    pattern = np.zeros((len(items), len(factors)), dtype=bool)
    marker = np.zeros_like(pattern)
    for f, members in enumerate(factors.values()):
        for j, item in enumerate(members):
            pattern[position[item], f] = True
            if j == 0:
                marker[position[item], f] = True
    return pattern, marker


def _layouts(
    pattern: np.ndarray,
    marker: np.ndarray,
    n_groups: int,
    *,
    meanstructure: bool,
    equal_loadings: bool,
    equal_intercepts: bool,
) -> tuple[list[_GroupLayout], int]:
    p, m = pattern.shape
    counter = 0

    def new(shape: tuple[int, ...], where: np.ndarray) -> IntArray:
        nonlocal counter
        out = np.full(shape, -1, dtype=np.intp)
        k = int(where.sum())
        out[where] = np.arange(counter, counter + k)
        counter += k
        return out

    free_lam = pattern & ~marker
    lam_fixed = marker.astype(np.float64)
    tril = np.tril(np.ones((m, m), dtype=bool))
    shared_lam = new((p, m), free_lam) if equal_loadings else None
    shared_nu = new((p,), np.ones(p, dtype=bool)) if meanstructure and equal_intercepts else None
    layouts = []
    for g in range(n_groups):
        lam = shared_lam if shared_lam is not None else new((p, m), free_lam)
        phi = new((m, m), tril)
        phi = np.where(phi >= 0, phi, phi.T)
        theta = new((p,), np.ones(p, dtype=bool))
        nu = alpha = None
        if meanstructure:
            nu = shared_nu if shared_nu is not None else new((p,), np.ones(p, dtype=bool))
            # Latent means are identified only once intercepts are equal; the first group is the
            # reference, as in lavaan.
            free_alpha = np.full(m, equal_intercepts and g > 0)
            alpha = new((m,), free_alpha)
        layouts.append(_GroupLayout(lam, lam_fixed, phi, theta, nu, alpha))
    return layouts, counter


# --------------------------------------------------------------------------- ML machinery


@dataclass
class _GroupState:
    lam: FloatArray
    phi: FloatArray
    sigma: FloatArray
    sigma_inv: FloatArray
    mu: FloatArray | None
    alpha: FloatArray | None
    logdet: float


def _matrices(x: FloatArray, lay: _GroupLayout) -> _GroupState | None:
    lam = np.where(lay.lam >= 0, x[lay.lam], lay.lam_fixed)
    phi = x[lay.phi]
    theta = x[lay.theta]
    sigma = lam @ phi @ lam.T + np.diag(theta)
    try:
        chol = np.linalg.cholesky(sigma)
    except np.linalg.LinAlgError:
        return None
    logdet = 2.0 * float(np.log(np.diag(chol)).sum())
    eye = np.eye(sigma.shape[0])
    sigma_inv = np.linalg.solve(sigma, eye)
    sigma_inv = (sigma_inv + sigma_inv.T) / 2.0
    mu = alpha = None
    if lay.nu is not None and lay.alpha is not None:
        alpha = np.where(lay.alpha >= 0, x[lay.alpha], 0.0)
        mu = x[lay.nu] + lam @ alpha
    return _GroupState(lam, phi, sigma, sigma_inv, mu, alpha, logdet)


def _discrepancy(state: _GroupState, mom: _Moments) -> float:
    p = int(mom.cov.shape[0])
    value: float = state.logdet + float(np.sum(mom.cov * state.sigma_inv)) - mom.logdet - p
    if state.mu is not None:
        d = mom.mean - state.mu
        value += float(d @ state.sigma_inv @ d)
    return value


def _derivatives(
    state: _GroupState, lay: _GroupLayout
) -> tuple[IntArray, FloatArray, FloatArray | None]:
    """Global indices of this group's free parameters, dΣ/dθ (q × p × p) and dμ/dθ (q × p)."""
    p, m = state.lam.shape
    idx_parts: list[IntArray] = []
    dsig_parts: list[FloatArray] = []
    dmu_parts: list[FloatArray] = []
    with_means = state.mu is not None and state.alpha is not None

    rows, cols = np.nonzero(lay.lam >= 0)
    if rows.size:
        c = state.lam @ state.phi  # c[:, f] = Λ Φ e_f
        half = np.zeros((rows.size, p, p))
        half[np.arange(rows.size), rows, :] = c[:, cols].T
        idx_parts.append(lay.lam[rows, cols])
        dsig_parts.append(half + half.transpose(0, 2, 1))
        if with_means:
            assert state.alpha is not None
            dmu = np.zeros((rows.size, p))
            dmu[np.arange(rows.size), rows] = state.alpha[cols]
            dmu_parts.append(dmu)

    fr, fc = np.tril_indices(m)
    outer = np.einsum("pk,qk->kpq", state.lam[:, fr], state.lam[:, fc])
    dphi = np.where((fr == fc)[:, None, None], outer, outer + outer.transpose(0, 2, 1))
    idx_parts.append(lay.phi[fr, fc])
    dsig_parts.append(dphi)
    if with_means:
        dmu_parts.append(np.zeros((fr.size, p)))

    dtheta = np.zeros((p, p, p))
    dtheta[np.arange(p), np.arange(p), np.arange(p)] = 1.0
    idx_parts.append(lay.theta)
    dsig_parts.append(dtheta)
    if with_means:
        dmu_parts.append(np.zeros((p, p)))

    if with_means and lay.nu is not None and lay.alpha is not None:
        idx_parts.append(lay.nu)
        dsig_parts.append(np.zeros((p, p, p)))
        dmu_parts.append(np.eye(p))
        free_alpha = np.nonzero(lay.alpha >= 0)[0]
        if free_alpha.size:
            idx_parts.append(lay.alpha[free_alpha])
            dsig_parts.append(np.zeros((free_alpha.size, p, p)))
            dmu_parts.append(state.lam[:, free_alpha].T)

    idx = np.concatenate(idx_parts)
    dsig: FloatArray = np.concatenate(dsig_parts)
    dmu_all: FloatArray | None = np.concatenate(dmu_parts) if with_means else None
    return idx, dsig, dmu_all


@dataclass(frozen=True)
class _Problem:
    layouts: list[_GroupLayout]
    moments: list[_Moments]
    n_par: int

    @property
    def n_total(self) -> int:
        return sum(mom.n for mom in self.moments)

    def objective(self, x: FloatArray) -> float:
        """Σ_g (N_g / N) F_g; +inf where some implied covariance matrix is not positive definite."""
        total = 0.0
        for lay, mom in zip(self.layouts, self.moments, strict=True):
            state = _matrices(x, lay)
            if state is None:
                return math.inf
            total += mom.n / self.n_total * _discrepancy(state, mom)
        return total

    def gradient_and_information(self, x: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Analytic gradient and expected Hessian (Fisher information) of ``objective``."""
        grad = np.zeros(self.n_par)
        info = np.zeros((self.n_par, self.n_par))
        for lay, mom in zip(self.layouts, self.moments, strict=True):
            state = _matrices(x, lay)
            if state is None:
                raise np.linalg.LinAlgError("implied covariance matrix is not positive definite")
            w = mom.n / self.n_total
            si = state.sigma_inv
            outer = mom.cov
            gmu = None
            if state.mu is not None:
                d = mom.mean - state.mu
                outer = outer + np.outer(d, d)
                gmu = -2.0 * si @ d
            # dF/dΣ = Σ⁻¹ - Σ⁻¹ (S + d dᵀ) Σ⁻¹ ; dF/dμ = -2 Σ⁻¹ d
            g_sigma = si - si @ outer @ si
            idx, dsig, dmu = _derivatives(state, lay)
            q = idx.size
            g_local = dsig.reshape(q, -1) @ g_sigma.ravel()
            a = si @ dsig  # batched Σ⁻¹ dΣ_k
            # tr(A_k A_l) as one BLAS product of the flattened A_k and transposed A_l
            h_local = a.reshape(q, -1) @ a.transpose(0, 2, 1).reshape(q, -1).T
            if dmu is not None and gmu is not None:
                g_local += dmu @ gmu
                h_local += 2.0 * dmu @ si @ dmu.T
            np.add.at(grad, idx, w * g_local)
            info[np.ix_(idx, idx)] += w * h_local
        return grad, info


def _minimise(problem: _Problem, x0: FloatArray) -> tuple[FloatArray, float, bool]:
    """Fisher scoring (Newton with the expected Hessian) with backtracking; returns x, F, ok.

    Stops when the predicted decrease of F (the Newton decrement -gᵀstep) is below 1e-12, i.e. a
    change in χ² = N · F far below anything reported; a tighter gradient test would chase
    floating-point noise.
    """
    x = x0.copy()
    f = problem.objective(x)
    if not math.isfinite(f):
        return x, f, False
    for _ in range(_MAX_ITER):
        grad, info = problem.gradient_and_information(x)
        try:
            step = np.linalg.solve(info, -grad)
        except np.linalg.LinAlgError:
            step = np.linalg.lstsq(info, -grad, rcond=None)[0]
        slope = float(grad @ step)
        if slope >= 0:  # not a descent direction (singular information): steepest descent
            step, slope = -grad, -float(grad @ grad)
        if -slope < _DECREMENT_TOL:
            return x, f, True
        t = 1.0
        while True:
            candidate = x + t * step
            f_new = problem.objective(candidate)
            if f_new <= f + 1e-4 * t * slope:
                break
            t /= 2.0
            if t < 1e-10:
                # No decrease along the step: at the optimum unless the step was still large.
                return x, f, -slope < 1e-8
        x, f = candidate, f_new
    return x, f, False


# --------------------------------------------------------------------------- starting values


def _start(
    layouts: list[_GroupLayout],
    moments: list[_Moments],
    pattern: np.ndarray,
    marker: np.ndarray,
    n_par: int,
) -> FloatArray:
    """Per group one-factor principal-axis loadings per factor; shared parameters averaged."""
    p, m = pattern.shape
    total = np.zeros(n_par)
    count = np.zeros(n_par)
    for lay, mom in zip(layouts, moments, strict=True):
        s = mom.cov
        lam = np.zeros((p, m))
        phi = np.zeros((m, m))
        for f in range(m):
            members = np.nonzero(pattern[:, f])[0]
            mark = int(np.nonzero(marker[:, f])[0][0])
            block = s[np.ix_(members, members)]
            if members.size >= 2:
                vals, vecs = np.linalg.eigh(block)
                load = vecs[:, -1] * math.sqrt(max(vals[-1], 1e-8))
                if load.sum() < 0:
                    load = -load
            else:
                load = np.sqrt(np.diag(block))
            at_mark = float(load[int(np.nonzero(members == mark)[0][0])])
            if abs(at_mark) < 1e-3 * max(1e-12, float(np.max(np.abs(load)))):
                lam[members, f] = 1.0
                phi[f, f] = max(float(np.mean(np.diag(block))) * 0.5, 1e-3)
            else:
                lam[members, f] = load / at_mark
                phi[f, f] = at_mark**2
        for f in range(m):
            for h in range(f):
                a, b = np.nonzero(pattern[:, f])[0], np.nonzero(pattern[:, h])[0]
                denom = lam[a, f].sum() * lam[b, h].sum()
                cov = float(s[np.ix_(a, b)].sum()) / denom if denom != 0 else 0.0
                bound = 0.9 * math.sqrt(phi[f, f] * phi[h, h])
                phi[f, h] = phi[h, f] = min(max(cov, -bound), bound)
        implied = lam @ phi @ lam.T
        theta = np.maximum(np.diag(s) - np.diag(implied), 0.1 * np.diag(s))

        def put(index: IntArray, values: FloatArray) -> None:
            sel = index >= 0
            np.add.at(total, index[sel], values[sel])
            np.add.at(count, index[sel], 1.0)

        put(lay.lam, lam)
        tril = np.tril(np.ones((m, m), dtype=bool))
        put(lay.phi[tril], phi[tril])
        put(lay.theta, theta)
        if lay.nu is not None:
            put(lay.nu, mom.mean)
        if lay.alpha is not None:
            put(lay.alpha, np.zeros(m))
    return total / np.maximum(count, 1.0)


# --------------------------------------------------------------------------- fit indices


def _rmsea(chi2: float, df: int, n: int, groups: int) -> tuple[float, tuple[float, float]]:
    """lavaan 0.6: sqrt(max(χ²/(N df) - 1/N, 0)) · sqrt(G), CI from the noncentral χ²."""
    from scipy.optimize import brentq
    from scipy.stats import chi2 as chi2_dist
    from scipy.stats import ncx2

    if df <= 0:
        return 0.0, (0.0, 0.0)
    point = math.sqrt(max(chi2 / n / df - 1.0 / n, 0.0)) * math.sqrt(groups)

    def cdf(ncp: float) -> float:
        if ncp <= 0.0:
            return float(chi2_dist.cdf(chi2, df))
        return float(ncx2.cdf(chi2, df, ncp))

    def to_rmsea(ncp: float) -> float:
        return math.sqrt(ncp / (n * df)) * math.sqrt(groups)

    lower = 0.0
    if cdf(0.0) >= 0.95:
        lower = to_rmsea(brentq(lambda lam: cdf(lam) - 0.95, 0.0, chi2, xtol=1e-10))
    upper = 0.0
    n_rmsea = max(float(n), chi2 * 4.0)
    if not (cdf(n_rmsea) - 0.05 > 0 or cdf(0.0) < 0.05):
        upper = to_rmsea(brentq(lambda lam: cdf(lam) - 0.05, 0.0, n_rmsea, xtol=1e-10))
    return point, (lower, upper)


def _standardise(values: FloatArray, scale: FloatArray) -> FloatArray:
    out: FloatArray = np.where(np.abs(values) < _LAVAAN_NEAR_ZERO, values, values * scale)
    return out


def _srmr(states: list[_GroupState], moments: list[_Moments]) -> float:
    """Bentler's SRMR as lavaan reports it: residuals scaled by observed SDs, N_g-weighted mean."""
    n_total = sum(mom.n for mom in moments)
    value = 0.0
    for state, mom in zip(states, moments, strict=True):
        sd = np.sqrt(np.diag(mom.cov))
        scale = np.outer(1.0 / sd, 1.0 / sd)
        resid = _standardise(mom.cov, scale) - _standardise(state.sigma, scale)
        rows, cols = np.tril_indices(resid.shape[0])
        stats = resid[rows, cols]
        if state.mu is not None:
            mean_resid = _standardise(mom.mean, 1.0 / sd) - _standardise(state.mu, 1.0 / sd)
            stats = np.concatenate([mean_resid, stats])
        value += mom.n / n_total * math.sqrt(float(np.mean(stats * stats)))
    return value


def _baseline(moments: list[_Moments]) -> tuple[float, int]:
    """Independence model (free variances, and free means with groups): χ² and df."""
    chi2 = 0.0
    df = 0
    for mom in moments:
        p = mom.cov.shape[0]
        chi2 += mom.n * (float(np.log(np.diag(mom.cov)).sum()) - mom.logdet)
        df += p * (p - 1) // 2
    return chi2, df


def _cfi(chi2: float, df: int, chi2_b: float, df_b: int) -> float:
    t1 = max(chi2 - df, 0.0)
    t2 = max(chi2 - df, chi2_b - df_b, 0.0)
    if math.isclose(t1, 0.0, abs_tol=1.5e-8) and math.isclose(t2, 0.0, abs_tol=1.5e-8):
        return 1.0
    return 1.0 - t1 / t2


def _tli(chi2: float, df: int, chi2_b: float, df_b: int) -> float:
    t1 = (chi2 - df) * df_b
    t2 = (chi2_b - df_b) * df
    if df > 0 and abs(t2) > 0:
        return 1.0 - t1 / t2
    return 1.0


# --------------------------------------------------------------------------- public API


def _failed(n: int, df: int, reason: str) -> CfaFit:
    nan = math.nan
    return CfaFit(nan, df, nan, nan, nan, nan, (nan, nan), nan, n, False, (reason,))


def _check_factors(data: pd.DataFrame, factors: dict[str, list[str]]) -> list[str]:
    if not factors:
        raise ValueError("the model has no factor")
    items: list[str] = []
    for name, members in factors.items():
        if not members:
            raise ValueError(f"factor {name!r} has no item")
        missing = [i for i in members if i not in data.columns]
        if missing:
            raise ValueError(f"factor {name!r}: no column {', '.join(map(repr, missing))}")
        if len(set(members)) != len(members):
            raise ValueError(f"factor {name!r} lists an item twice")
        items.extend(i for i in members if i not in items)
    return items


def _moments(x: FloatArray) -> _Moments:
    n = x.shape[0]
    mean = x.mean(axis=0) if n else np.zeros(x.shape[1])
    z = x - mean
    return _given(n, mean, z.T @ z / n if n else np.zeros((x.shape[1], x.shape[1])))


def _given(n: int, mean: FloatArray, cov: FloatArray) -> _Moments:
    cov = (cov + cov.T) / 2.0
    sign, logdet = np.linalg.slogdet(cov)
    return _Moments(n=n, cov=cov, mean=mean, logdet=float(logdet) if sign > 0 else -math.inf)


def _fit(
    moments: list[_Moments],
    factors: dict[str, list[str]],
    items: list[str],
    *,
    meanstructure: bool,
    equal_loadings: bool = False,
    equal_intercepts: bool = False,
) -> CfaFit:
    pattern, marker = _pattern(items, factors)
    p = len(items)
    n_groups = len(moments)
    layouts, n_par = _layouts(
        pattern,
        marker,
        n_groups,
        meanstructure=meanstructure,
        equal_loadings=equal_loadings,
        equal_intercepts=equal_intercepts,
    )
    moments_per_group = p * (p + 1) // 2 + (p if meanstructure else 0)
    df = n_groups * moments_per_group - n_par
    n = sum(mom.n for mom in moments)
    warnings: list[str] = []
    if df < 0:
        return _failed(n, df, f"the model is not identified: {n_par} parameters, df = {df}")
    if any(mom.n <= p for mom in moments):
        return _failed(n, df, f"a group has no more complete rows than the {p} items")
    for mom in moments:
        constant = [items[i] for i, v in enumerate(np.diag(mom.cov)) if not v > 0.0]
        if constant:
            return _failed(n, df, "constant item (no variance): " + ", ".join(constant))
        if np.linalg.eigvalsh(mom.cov)[0] <= 1e-12 * float(np.max(np.diag(mom.cov))):
            return _failed(n, df, "the sample covariance matrix is singular")

    problem = _Problem(layouts, moments, n_par)
    x0 = _start(layouts, moments, pattern, marker, n_par)
    if not math.isfinite(problem.objective(x0)):
        # Averaged starting values can make some group's implied Σ indefinite (many groups of
        # modest size): uncorrelated factors keep every Σ = ΛΦΛᵀ + Θ positive definite.
        for lay in layouts:
            off = ~np.eye(lay.phi.shape[0], dtype=bool)
            x0[lay.phi[off]] = 0.0
    try:
        x, f_min, converged = _minimise(problem, x0)
    except np.linalg.LinAlgError as exc:
        return _failed(n, df, f"the optimiser failed: {exc}")
    if not converged:
        warnings.append("the optimiser did not converge; fit indices are not trustworthy")
    states = [_matrices(x, lay) for lay in layouts]
    if any(s is None for s in states):
        return _failed(n, df, "the optimiser ended at a non positive definite covariance matrix")
    fitted = [s for s in states if s is not None]

    for g, (lay, state) in enumerate(zip(layouts, fitted, strict=True)):
        where = f" in group {g + 1}" if n_groups > 1 else ""
        negative = [items[i] for i, v in enumerate(x[lay.theta]) if v < 0]
        if negative:
            warnings.append(
                "negative residual variance (Heywood case)" + where + ": " + ", ".join(negative)
            )
        if np.linalg.eigvalsh(state.phi)[0] <= 0:
            warnings.append("the factor covariance matrix is not positive definite" + where)

    chi2 = n * f_min
    from scipy.stats import chi2 as chi2_dist

    pvalue = float(chi2_dist.sf(chi2, df)) if df > 0 else math.nan
    chi2_b, df_b = _baseline(moments)
    rmsea, rmsea_ci = _rmsea(chi2, df, n, n_groups)
    return CfaFit(
        chi2=chi2,
        df=df,
        pvalue=pvalue,
        cfi=_cfi(chi2, df, chi2_b, df_b),
        tli=_tli(chi2, df, chi2_b, df_b),
        rmsea=rmsea,
        rmsea_ci=rmsea_ci,
        srmr=_srmr(fitted, moments),
        n=n,
        converged=converged,
        warnings=tuple(warnings),
    )


def cfa_fit(data: pd.DataFrame, factors: dict[str, list[str]]) -> CfaFit:
    """Maximum-likelihood fit of a confirmatory factor model, as ``lavaan::cfa(model, data)``.

    Parameters
    ----------
    data : pandas.DataFrame
        One numeric column per item; NaN is a missing answer. Other columns are ignored.
    factors : dict[str, list[str]]
        Factor name → its items; the first item of each factor is the marker (loading fixed to 1).

    Returns
    -------
    CfaFit
        χ², df, p, CFI, TLI, RMSEA with 90% CI, SRMR, N and convergence. When the model cannot
        be fitted the statistics are NaN, ``converged`` is False and ``warnings`` says why.

    Notes
    -----
    Missing data: listwise deletion over the model's items (lavaan's ``missing = "listwise"``).

    Model (lavaan defaults): Σ = ΛΦΛᵀ + Θ with the first loading of each factor fixed to 1, factor
    variances and covariances free, Θ diagonal; no mean structure. S has divisor N. The ML
    discrepancy F = log|Σ| + tr(SΣ⁻¹) - log|S| - p is minimised by Fisher scoring (Newton steps
    with the expected Hessian, analytic gradient, backtracking) and χ² = N · F_min.

    * CFI = 1 - max(χ² - df, 0) / max(χ² - df, χ²_B - df_B, 0); TLI = 1 - (χ² - df) df_B /
      ((χ²_B - df_B) df), with B the independence model (free variances).
    * RMSEA = sqrt(max(χ² / (N df) - 1 / N, 0)); 90% CI from the noncentral χ² (``uniroot`` in
      lavaan, Brent here).
    * SRMR (Bentler): root mean square of (s_ij - σ_ij) / sqrt(s_ii s_jj) over i ≤ j.

    R: ``fitMeasures(lavaan::cfa(model, data), c("chisq", "df", "pvalue", "cfi", "tli", "rmsea",
    "rmsea.ci.lower", "rmsea.ci.upper", "srmr"))`` (lavaan 0.6.14).
    """
    items = _check_factors(data, factors)
    x = data[items].to_numpy(dtype=np.float64, na_value=np.nan)
    x = x[~np.isnan(x).any(axis=1)]
    return _fit([_moments(x)], factors, items, meanstructure=False)


def invariance(
    data: pd.DataFrame, factors: dict[str, list[str]], *, group: str
) -> dict[str, CfaFit]:
    """Configural, metric and scalar measurement invariance across the groups in ``data[group]``.

    Parameters
    ----------
    data : pandas.DataFrame
        Item columns plus the ``group`` column; NaN is missing.
    factors : dict[str, list[str]]
        Factor name → items, as for :func:`cfa_fit`.
    group : str
        Column naming each row's group (e.g. jurisdiction); rows with no group are dropped.

    Returns
    -------
    dict[str, CfaFit]
        ``"configural"`` (same pattern, everything free per group), ``"metric"`` (loadings equal)
        and ``"scalar"`` (loadings and intercepts equal, latent means free in all groups but the
        first). Compare CFI between steps (ΔCFI ≤ .01).

    Notes
    -----
    Missing data: listwise over the model's items, then rows are split by group. Each group has a
    mean structure (intercepts ν, latent means α, μ = ν + Λα) and its own S with divisor N_g;
    F_g adds (m_g - μ_g)ᵀ Σ_g⁻¹ (m_g - μ_g), χ² = Σ_g N_g F_g. The baseline is the independence
    model in every group. As lavaan 0.6 does: RMSEA and its CI are multiplied by sqrt(G), and SRMR
    is Σ_g (N_g / N) SRMR_g with SRMR_g including the standardised mean residuals.

    R: ``cfa(model, data, group = "g")``, ``group.equal = "loadings"`` and
    ``group.equal = c("loadings", "intercepts")`` (lavaan 0.6.14).
    """
    if group not in data.columns:
        raise ValueError(f"no column {group!r}")
    items = _check_factors(data, factors)
    x = data[items].to_numpy(dtype=np.float64, na_value=np.nan)
    labels = data[group]
    keep = ~np.isnan(x).any(axis=1) & labels.notna().to_numpy()
    x, labels = x[keep], labels[keep]
    codes, uniques = pd.factorize(labels, sort=False)
    groups = [_moments(x[codes == g]) for g in range(len(uniques))]
    return _invariance(groups, factors, items)


_STEPS = ("configural", "metric", "scalar")


def _invariance(
    groups: list[_Moments],
    factors: dict[str, list[str]],
    items: list[str],
    steps: Sequence[str] = _STEPS,
) -> dict[str, CfaFit]:
    unknown = sorted(set(steps) - set(_STEPS))
    if unknown:
        raise ValueError(f"unknown invariance step {unknown[0]!r}")
    if len(groups) < 2:
        fit = _failed(sum(g.n for g in groups), 0, "invariance needs at least two groups")
        return dict.fromkeys(steps, fit)
    constraints = {
        "configural": {},
        "metric": {"equal_loadings": True},
        "scalar": {"equal_loadings": True, "equal_intercepts": True},
    }
    return {
        step: _fit(groups, factors, items, meanstructure=True, **constraints[step])
        for step in _STEPS
        if step in steps
    }


def _check_model(items: Sequence[str], factors: dict[str, list[str]]) -> list[str]:
    present = pd.DataFrame(columns=list(items))
    ordered = _check_factors(present, factors)
    if sorted(ordered) != sorted(items):
        raise ValueError("the moments must cover exactly the model's items")
    return ordered


def _reorder(
    items: Sequence[str], ordered: list[str], mean: FloatArray, cov: FloatArray
) -> tuple[FloatArray, FloatArray]:
    index = [list(items).index(i) for i in ordered]
    p = len(items)
    mean = np.asarray(mean, dtype=np.float64).reshape(p)
    cov = np.asarray(cov, dtype=np.float64).reshape(p, p)
    return mean[index], cov[np.ix_(index, index)]


def cfa_fit_from_moments(
    n: int, cov: FloatArray, items: Sequence[str], factors: dict[str, list[str]]
) -> CfaFit:
    """:func:`cfa_fit` from sample moments instead of rows.

    Parameters
    ----------
    n : int
        Number of complete rows.
    cov : numpy.ndarray
        Their covariance matrix with divisor **N** (the ML estimate; R ``cov(x) * (n - 1) / n``).
    items : Sequence[str]
        The item of each row/column of ``cov``; exactly the model's items.
    factors : dict[str, list[str]]
        As for :func:`cfa_fit`.

    Notes
    -----
    Identical to :func:`cfa_fit` on the rows those moments came from. R:
    ``cfa(model, sample.cov = S, sample.nobs = n)`` — lavaan rescales a ``sample.cov`` given with
    divisor n - 1 by (n - 1) / n by default (``sample.cov.rescale``), so pass it that one.
    """
    ordered = _check_model(items, factors)
    mean, s = _reorder(items, ordered, np.zeros(len(items)), cov)
    return _fit([_given(int(n), mean, s)], factors, ordered, meanstructure=False)


def invariance_from_moments(
    groups: Sequence[tuple[int, FloatArray, FloatArray]],
    items: Sequence[str],
    factors: dict[str, list[str]],
    *,
    steps: Sequence[str] = _STEPS,
) -> dict[str, CfaFit]:
    """:func:`invariance` from per-group ``(n, mean, covariance with divisor N)``.

    Identical to :func:`invariance` on the rows the moments came from (groups in the same
    order). R: ``cfa(model, sample.cov = list(...), sample.mean = list(...), sample.nobs = c(...),
    group.equal = ...)``. ``steps`` fits only some of the three (each is fitted on its own).
    """
    ordered = _check_model(items, factors)
    moments = []
    for n, mean, cov in groups:
        m, s = _reorder(items, ordered, mean, cov)
        moments.append(_given(int(n), m, s))
    return _invariance(moments, factors, ordered, steps)
