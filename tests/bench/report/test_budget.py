"""The budget rule (bench.report.budget): counts beyond a problem's common sample budget are not
reached, for every variant alike; the profile is scored at a target every variant could reach."""

import numpy as np
import pandas as pd

from bench.report import budget, ladder, profiles


def _lanes():
    # "long" had 100 samples (100 steps of 1), "short" 40 (5 steps of 8): common budget 40
    return pd.DataFrame(
        {
            "problem": ["p", "p"],
            "variant": ["long", "short"],
            "optimizer": ["sgd", "sgd"],
            "batch_size": [1, 8],
            "steps": [100, 5],
            "n": [8, 8],
        }
    )


def _hits():
    rows = []
    for seed in (0, 1, 2, 3, 4):
        # long: target 0.1 at 20 samples, 0.01 at 90 (beyond the common budget)
        # short: target 0.1 at 32 samples, 0.01 never
        for variant, bs, first in (("long", 1, {0.1: 20, 0.01: 90}), ("short", 8, {0.1: 32})):
            for t in (0.1, 0.01):
                f = first.get(t)
                rows.append(
                    {
                        "suite": "s",
                        "problem": "p",
                        "variant": variant,
                        "kind": "x",
                        "batch_size": bs,
                        "optimizer": "sgd",
                        "schedule": "constant",
                        "lr": 0.1,
                        "seed": seed,
                        "target": t,
                        "first_step": None if f is None else f // bs,
                        "first_resolution": None if f is None else 1,
                        "first_samples": None if f is None else float(f + seed),
                        "first_seconds": None if f is None else f * 1e-3,
                        "stay_step": None if f is None else f // bs,
                        "stay_resolution": None if f is None else 1,
                        "stay_samples": None if f is None else float(f + seed),
                        "stay_seconds": None if f is None else f * 1e-3,
                        "exact": True,
                    }
                )
    return pd.DataFrame(rows)


def test_common_budget_and_warning():
    assert budget.budgets(_lanes()) == {"long/sgd": 100, "short/sgd": 40}
    assert budget.common(_lanes()) == 40
    line = budget.line(_lanes())
    assert "Warning: unequal budgets" in line and "common budget of 40 samples" in line
    equal = _lanes().assign(steps=[40, 5])
    assert budget.line(equal) == "Budget: 40 samples (5 epochs of 8 rows) for every variant."


def test_counts_beyond_the_common_budget_are_not_reached():
    clipped = budget.clip(_hits(), _lanes())
    late = (clipped["variant"] == "long") & (clipped["target"] == 0.01)
    assert clipped.loc[late, "first_samples"].isna().all()
    assert clipped.loc[late, "stay_samples"].isna().all()
    kept = (clipped["variant"] == "long") & (clipped["target"] == 0.1)
    assert (clipped.loc[kept, "first_samples"] == [20.0, 21, 22, 23, 24]).all()


def test_profile_scores_at_a_target_every_variant_had_the_budget_for():
    raw = profiles.ratios(ladder.ladder(_hits()), "samples")
    # without the rule: scored at 0.01, which only the long budget reached; short "fails"
    assert raw.loc["p", "target"] == 0.01 and np.isinf(raw.loc["p", "short"])
    fair = profiles.ratios(ladder.ladder(budget.clip(_hits(), _lanes())), "samples")
    assert fair.loc["p", "target"] == 0.1
    assert fair.loc["p", "long"] == 1.0 and fair.loc["p", "short"] == 34 / 22


def test_latex_caption_carries_the_warning():
    from bench.report import latex

    lad = ladder.ladder(budget.clip(_hits(), _lanes()))
    tex = latex.problem_table(
        lad, "samples", "first", label="t", where="w", budget_line=budget.line(_lanes())
    )
    assert "Warning: unequal budgets" in tex and "**" not in tex
