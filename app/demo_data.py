"""Synthetic survey answers from a latent-factor model, for the demo, tests and benchmarks.

Pure numpy: each scale is a latent factor (correlated across scales, emotional exhaustion running
against the others), each team shifts every factor a little (so teams differ: ICC(1) ≈ .05–.15),
items load ≈ .75 on their factor (alphas ≈ .75–.88) and are cut into 1..points; reverse-keyed items
are stored reversed, and a few answers are "does not apply" (missing).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from surveys import Instrument

LOADING = 0.75
FACTOR_CORRELATION = 0.35
TEAM_VARIANCE = 0.15
MISSING_RATE = 0.03
#: Cut points on the standard-normal item response: shares ≈ 6% / 12% / 22% / 40% / 20%.
CUTS = np.array([-1.55, -0.95, -0.25, 0.85])


@dataclass(frozen=True)
class TeamEffects:
    """Per-team shifts of each scale's latent factor (teams × scales)."""

    values: np.ndarray

    def drift(
        self, rng: np.random.Generator, *, stability: float = 0.8, shift: np.ndarray | None = None
    ) -> TeamEffects:
        """Next year's effects: mostly the same teams, some change, optionally a common shift."""
        noise = rng.normal(0.0, np.sqrt(TEAM_VARIANCE * (1 - stability**2)), self.values.shape)
        moved = stability * self.values + noise
        if shift is not None:
            moved = moved + shift
        return TeamEffects(moved)


def new_team_effects(instrument: Instrument, n_teams: int, rng: np.random.Generator) -> TeamEffects:
    return TeamEffects(rng.normal(0.0, np.sqrt(TEAM_VARIANCE), (n_teams, len(instrument.scales))))


def factor_correlation(instrument: Instrument) -> np.ndarray:
    """Scales correlate positively, except lower-is-better scales, which run against the rest."""
    signs = np.array([1.0 if s.higher_is_better else -1.0 for s in instrument.scales])
    corr = FACTOR_CORRELATION * np.outer(signs, signs)
    np.fill_diagonal(corr, 1.0)
    return corr


def generate_answers(
    instrument: Instrument, team_of: np.ndarray, effects: TeamEffects, rng: np.random.Generator
) -> np.ndarray:
    """Raw answers (respondents × items, float with NaN for missing) in instrument item order.

    ``team_of`` gives each respondent's row in ``effects``.
    """
    n = len(team_of)
    n_scales = len(instrument.scales)
    chol = np.linalg.cholesky(factor_correlation(instrument))
    factors = rng.standard_normal((n, n_scales)) @ chol.T + effects.values[team_of]
    factors /= np.sqrt(1.0 + TEAM_VARIANCE)
    columns = []
    for s_index, scale in enumerate(instrument.scales):
        points = scale.response_scale.points
        cuts = CUTS if points == 5 else np.linspace(-1.5, 1.0, points - 1)
        for item in scale.items:
            latent = LOADING * factors[:, s_index] + np.sqrt(1 - LOADING**2) * rng.standard_normal(
                n
            )
            agree = 1 + np.searchsorted(cuts, latent + rng.normal(0, 0.1)).astype(float)
            raw = points + 1 - agree if item.reverse else agree
            raw[rng.random(n) < MISSING_RATE] = np.nan
            columns.append(raw)
    return np.column_stack(columns)
