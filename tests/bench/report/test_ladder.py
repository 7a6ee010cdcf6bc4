"""bench.report: ladder, profiles and latex on hand-made hits with known answers."""

import numpy as np
import pandas as pd
import pytest

from bench.report import ladder, latex, problem_lines, profiles

TARGETS = (0.1, 0.01)


def _hits() -> pd.DataFrame:
    """Two variants x two rates x two seeds x two targets of one problem.

    a (b=1): at lr 0.1 both seeds hit 0.01 (samples 100, 120); at lr 1.0 both hit 0.1 faster
    (5 samples) but only seed 0 hits 0.01, so the best rate is 0.1 (the tightest target first).
    b (b=8): neither rate hits 0.01; both hit 0.1 in 8 samples: the tie goes to 0.1.
    """
    # (variant, lr, seed) -> per target (first samples, stay samples, resolution); None: missed
    table = {
        ("a", 0.1, 0): [(10, 10, 1), (100, 100, 1)],
        ("a", 0.1, 1): [(12, 14, 1), (120, None, 1)],
        ("a", 1.0, 0): [(5, 5, 1), (50, 50, 1)],
        ("a", 1.0, 1): [(5, 5, 1), (None, None, 1)],
        ("b", 0.1, 0): [(8, 8, 2), (None, None, 1)],
        ("b", 0.1, 1): [(8, 8, 2), (None, None, 1)],
        ("b", 1.0, 0): [(8, 16, 1), (None, None, 1)],
        ("b", 1.0, 1): [(8, 16, 1), (None, None, 1)],
    }
    batch = {"a": 1, "b": 8}
    per_sample_s = {"a": 1e-3, "b": 1e-4}
    rows = []
    for (variant, lr, seed), cells in table.items():
        for target, (first, stay, res) in zip(TARGETS, cells, strict=True):
            bs = batch[variant]

            def steps(samples, bs=bs):
                return None if samples is None else samples // bs

            rows.append(
                {
                    "suite": "s",
                    "problem": "p",
                    "variant": variant,
                    "kind": "x",
                    "batch_size": bs,
                    "optimizer": "sgd",
                    "schedule": "constant",
                    "lr": lr,
                    "seed": seed,
                    "target": target,
                    "first_step": steps(first),
                    "first_resolution": res if first is not None else None,
                    "first_samples": first,
                    "first_seconds": None if first is None else first * per_sample_s[variant],
                    "stay_step": steps(stay),
                    "stay_resolution": res if stay is not None else None,
                    "stay_samples": stay,
                    "stay_seconds": None if stay is None else stay * per_sample_s[variant],
                    "exact": variant == "a",
                    "predicted_first_step": None,
                }
            )
    frame = pd.DataFrame(rows)
    for c in ["first_step", "first_resolution", "first_samples", "stay_step", "stay_samples"]:
        frame[c] = frame[c].astype("Int64")
    frame["stay_resolution"] = frame["stay_resolution"].astype("Int64")
    return frame


def test_best_lr_is_the_fastest_to_the_tightest_target_every_seed_hit():
    best = ladder.best_lrs(_hits()).set_index("variant")
    assert best.loc["a", "lr"] == 0.1 and best.loc["a", "reached_target"] == 0.01
    assert best.loc["b", "lr"] == 0.1 and best.loc["b", "reached_target"] == 0.1  # tie: smaller


def test_ladder_medians_counts_and_resolution():
    lad = ladder.ladder(_hits()).set_index(["variant", "target"])
    a1, a2 = lad.loc[("a", 0.1)], lad.loc[("a", 0.01)]
    assert (a1["first_samples"], a1["stay_samples"]) == (11, 12)
    assert a1["first_seconds"] == pytest.approx(0.011)
    assert a2["first_samples"] == 110 and np.isnan(a2["stay_samples"]) and a2["stayed"] == 1
    assert a1["at_checks"] == 0 and a1["exact"]
    b1 = lad.loc[("b", 0.1)]
    # resolution 2 (a run from before counts on a grid lost their brackets): read at checks
    assert b1["at_checks"] == 4 and not b1["exact"]
    assert lad.loc[("b", 0.01), "reached"] == 0


def test_markdown_cells_and_winners():
    lad = ladder.ladder(_hits())
    text = ladder.ladder_table(lad, "samples")
    rows = {
        ln.split("|")[1].strip(): [c.strip() for c in ln.split("|")[1:-1]]
        for ln in text.splitlines()[2:]
    }
    # medians with their bootstrap interval over the two seeds (10, 12 and 10, 14; 100, 120)
    assert rows["a"] == [
        "a",
        "constant",
        "0.1",
        "11 [10, 12] / 12 [10, 14]",
        "110 [100, 120] / (1/2)",
        "exact",
    ]
    assert rows["b"] == ["b", "constant", "0.1", "8 / 8", "- / -", "at checks"]
    w = ladder.winners(lad, "samples").set_index("target")["variant"].to_dict()
    assert w == {0.1: "b", 0.01: "a"}
    assert ladder.win_counts(lad, "samples") == "a 1, b 1"
    frame = ladder.winners_frame(lad)
    assert frame.to_dict("records") == [{"problem": "p", "0.1": "b / b", "0.01": "a / a"}]


def test_counts_without_a_bracket_are_rendered_as_read_at_checks():
    # b's counts read at checks (no resolution), as a grid run records them now
    hits = _hits()
    grid = hits["variant"] == "b"
    hits.loc[grid, ["first_resolution", "stay_resolution"]] = pd.NA
    lad = ladder.ladder(hits)
    b = lad[lad["variant"] == "b"]
    assert b["at_checks"].tolist() == [0, 4]  # targets 0.01 (none reached), 0.1
    assert ladder.resolution_text(b) == "at checks"
    text = ladder.ladder_table(lad, "samples")
    assert "at checks" in text and "%" not in text  # no bracket, of any width
    tex = latex.problem_table(lad, "samples", "first", label="x", where="w")
    assert "a & " in tex and "b\\textsuperscript{\\dag} & " in tex  # b's counts: at checks


def test_theory_names_the_rate_at_two_over_L():
    lanes = pd.DataFrame({"L": [2.0, 2.0], "mu": [0.5, 0.5], "lr": [0.1, 1.0]})
    (line,) = problem_lines.theory_lines(lanes)
    assert "kappa = L/mu = 4" in line and "2/L = 1" in line and "2/(L+mu) = 0.8" in line
    assert "lr = 1 is exactly 2/L" in line
    assert problem_lines.theory_lines(lanes.drop(columns=["L", "mu"])) == []  # an older run


def test_profile_ratios_and_fractions():
    lad = ladder.ladder(_hits())
    r = profiles.ratios(lad, "samples")
    assert r.loc["p", "target"] == 0.01 and r.loc["p", "a"] == 1 and np.isinf(r.loc["p", "b"])
    three = pd.DataFrame(
        {"target": [0.1] * 3, "a": [1.0, 3.0, np.inf], "b": [2.0, 1.0, 1.0]},
        index=["p1", "p2", "p3"],
    )
    rho = profiles.fractions(three, np.array([1.0, 2.0, 3.0, 100.0]))
    np.testing.assert_allclose(rho["a"], [1 / 3, 1 / 3, 2 / 3, 2 / 3])
    np.testing.assert_allclose(rho["b"], [2 / 3, 1, 1, 1])


def test_cli_line_and_report_agree_on_best_lr_and_seed_marks(tmp_path, capsys):
    """The line run prints per entry shows the report's best lr and, per target, the report's
    first-hit samples cell: the same count, or the same (k/n) mark."""
    from bench import cli, runs
    from bench.report import readme as report
    from tests.conftest import TINY_SUITE

    (tmp_path / "tiny.toml").write_text(TINY_SUITE)
    argv = ["run", "--suite", str(tmp_path / "tiny.toml"), "--out", str(tmp_path / "runs")]
    assert cli.main([*argv, "--no-cache", "--no-progress"]) == 0
    printed = capsys.readouterr().out.splitlines()
    (run_dir,) = runs.run_folders(tmp_path / "runs")
    report.write(run_dir, tmp_path / "report", plots=False)
    readme = (tmp_path / "report" / "README.md").read_text().splitlines()
    start = next(i for i, s in enumerate(readme) if s.startswith("| variant | schedule | best lr"))
    header = [c.strip() for c in readme[start].strip("|").split("|")]
    targets = header[3:-1]
    rows = {}
    for s in readme[start + 2 :]:
        if not s.startswith("|"):
            break
        cells = [c.strip() for c in s.strip("|").split("|")]
        rows[cells[0]] = cells
    assert set(rows) == {"batch", "minibatch-8"}
    for variant, cells in rows.items():
        # the line printed as the entry finished, and the run's closing summary
        lines = [s for s in printed if f" {variant} " in s and "lanes" in s]
        assert len(lines) == 2, printed
        for line in lines:
            assert f"best lr {cells[2]}" in line, (line, cells)
            if cells[2] != ladder.NO_BEST:
                for t, c in zip(targets, cells[3:-1], strict=True):
                    # the line gives the median; the table adds its interval, "[lo, hi]"
                    median = c.split(" / ")[0].split(" [")[0]
                    assert f"{t}: {median}" in line, (line, t, c)


def test_entry_line_marks_seeds_as_the_ladder_table_does():
    hits = pd.DataFrame(
        {
            "suite": "s", "problem": "p", "variant": "v", "batch_size": 1, "optimizer": "sgd",
            "schedule": "constant", "lr": 0.1, "seed": [0, 1, 0, 1],
            "target": [0.1, 0.1, 0.01, 0.01],
            "first_step": pd.array([3, 4, 9, None], dtype="Int64"),
            "first_resolution": pd.array([0, 0, 0, None], dtype="Int64"),
            "first_samples": [3, 4, 9, None], "first_seconds": [0.1, 0.1, 0.2, None],
            "stay_step": pd.array([3, 4, None, None], dtype="Int64"),
            "stay_resolution": pd.array([0, 0, None, None], dtype="Int64"),
            "stay_samples": [3, 4, None, None], "stay_seconds": [0.1, 0.1, None, None],
            "exact": True,
        }
    )  # fmt: skip
    lanes = pd.DataFrame(
        {
            "suite": "s", "problem": "p", "variant": "v", "batch_size": 1, "optimizer": "sgd",
            "kind": "stochastic", "n": 8, "d": 1, "lr": 0.1, "seed": [0, 1],
            "status": ["converged", "max_steps"], "final_subopt": [1e-3, 0.05],
            "compile_s": 0.5, "run_s": 0.01, **{c: [1.0, None] for c in (
                "steps_to_target", "epochs_to_target", "samples_to_target", "time_to_target_s")},
        }
    )  # fmt: skip
    line = ladder.entry_line(lanes, hits)
    table = ladder.ladder_table(ladder.ladder(hits), "samples")
    assert "best lr 0.1, samples to 0.1: 3.5, 0.01: (1/2)" in line
    assert "| v | constant | 0.1 | 3.5 [3, 4] / 3.5 [3, 4] | (1/2) / - |" in table
