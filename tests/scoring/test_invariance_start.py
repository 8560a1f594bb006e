"""Invariance of the default 36-item instrument across a few groups of about 1,000 respondents.

Averaged starting values used to make some group's implied covariance matrix indefinite, and the
fit failed before its first step; this is the national report's ordinary case (jurisdictions,
or the English and Spanish versions).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import scoring
import surveys
from app.demo_data import generate_answers, new_team_effects


def test_configural_fit_of_three_generated_groups_is_the_sum_of_their_own_fits() -> None:
    instrument = surveys.load_default()
    factors = {s.key: list(s.item_keys) for s in instrument.scales}
    items = list(instrument.item_keys)
    rng = np.random.default_rng(1)
    frames = []
    for g in range(3):
        team_of = np.repeat(np.arange(300), 10)
        answers = generate_answers(instrument, team_of, new_team_effects(instrument, 300, rng), rng)
        frame = pd.DataFrame(answers, columns=items)
        frame["group"] = f"g{g}"
        frames.append(frame)
    rows = pd.concat(frames, ignore_index=True)
    fits = scoring.invariance(rows, factors, group="group")
    assert all(fit.converged for fit in fits.values()), {k: f.warnings for k, f in fits.items()}
    # The configural model is the three groups fitted on their own: χ² and df add up.
    alone = [scoring.cfa_fit(f, factors) for f in frames]
    assert fits["configural"].chi2 == pytest.approx(sum(a.chi2 for a in alone), rel=1e-7)
    assert fits["configural"].df == sum(a.df for a in alone)  # means: p moments, p intercepts
    assert fits["configural"].chi2 <= fits["metric"].chi2 <= fits["scalar"].chi2
