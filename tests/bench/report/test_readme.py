"""bench.report: readme (results/README.md and plots) and compare, on a tiny suite run once."""

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from bench import cli, runs
from bench.report import bare_report, compare, perf_report
from bench.report import readme as report

STATUSES = ("converged", "diverged", "max_steps")
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def run_dir(tiny_run) -> Path:
    """The tiny suite's run (conftest): read it, copy it, never change it."""
    return tiny_run


def _copy(run: Path, dest_root: Path, stamp: str, **meta_changes) -> Path:
    """A copy of a run folder with another stamp in its name and changed meta/env keys."""
    prefix = run.name.rsplit("__", 1)[0]
    dest = dest_root / f"{prefix}__{stamp}"
    shutil.copytree(run, dest)
    meta = json.loads((dest / "meta.json").read_text())
    for k, v in meta_changes.items():
        if k in meta["env"]:
            meta["env"][k] = v
        else:
            meta[k] = v
    (dest / "meta.json").write_text(json.dumps(meta))
    return dest


def _section(text: str, problem: str) -> str:
    start = text.index(f"### {problem} (")
    end = text.find("\n## ", start)
    return text[start : end if end >= 0 else None]


def _best_lr_by_hand(lanes: pd.DataFrame) -> dict[str, float]:
    """Per variant: the lr whose seeds all converged in the fewest median samples."""
    out = {}
    for variant, g in lanes.groupby("variant"):
        cands = []
        for lr, h in g.groupby("lr"):
            if (h["status"] == "converged").all():
                cands.append((float(h["samples_to_target"].astype(float).median()), lr))
        if cands:
            out[variant] = min(cands)[1]
    return out


def _ladder_best_by_hand(hits: pd.DataFrame) -> dict[str, float]:
    """Per variant: the tightest target some lr hit on every seed, then that lr's fewest samples."""
    out = {}
    for variant, g in hits.groupby("variant"):
        cands = []
        for (lr, target), h in g.groupby(["lr", "target"]):
            if h["first_step"].notna().all():
                cands.append((target, float(h["first_samples"].astype(float).median()), lr))
        if cands:
            out[variant] = min(cands)[2]
    return out


def _rows(text: str, problem: str, after: str) -> dict[str, list[str]]:
    """The cells of the first table after the line ``after`` in a problem's section."""
    section = _section(text, problem)
    lines = section[section.index(after) :].split("\n\n")[1].splitlines()
    return {ln.split("|")[1].strip(): [c.strip() for c in ln.split("|")[1:-1]] for ln in lines[2:]}


def _drop_hits(run: Path) -> None:
    """Make a copied run look like one made before target ladders."""
    for p in [run / "hits.parquet", run / "hits.csv", *run.glob("parts/*.hits.parquet")]:
        p.unlink(missing_ok=True)


@pytest.mark.slow
def test_readme_tables_plots_and_determinism(run_dir, tmp_path):
    folder = tmp_path / "runs"
    folder.mkdir()
    shutil.copytree(run_dir, folder / run_dir.name)
    res = tmp_path / "results"
    written = report.write(folder, res)
    text1 = (res / "README.md").read_text()
    pngs1 = {p: p.read_bytes() for p in written if p.suffix == ".png"}
    report.write(folder, res)
    assert (res / "README.md").read_text() == text1
    assert {p: p.read_bytes() for p in pngs1} == pngs1  # plots are byte-for-byte stable too

    lanes = pd.read_parquet(run_dir / "lanes.parquet")
    hits = runs.read_hits(run_dir)
    section = _section(text1, "linear-64x3")
    assert "### linear-64x3 (64 x 3)" in text1
    assert "by `python -m bench report`" in text1 and "Do not edit" in text1
    assert "## How to add a GPU or TPU run" in text1 and "## Reading the tables" in text1
    assert "Theory: L = " in section and "2/L = " in section
    picks = _ladder_best_by_hand(hits)
    assert picks, "the tiny suite should reach a target somewhere"
    samples = _rows(text1, "linear-64x3", "Samples to each target")
    counts = _rows(text1, "linear-64x3", "Lanes by status")
    for variant, lr in picks.items():
        assert samples[variant][2] == f"{lr:.3g}", (variant, samples[variant])
        assert samples[variant][-1] == "exact"  # least squares: monitored every step
        statuses = lanes.loc[lanes["variant"] == variant, "status"]
        assert counts[variant][3:6] == [str((statuses == s).sum()) for s in STATUSES]
    assert "Batch GD steps predicted from the spectrum" in section
    assert "### Summary across problems (tiny)" in text1

    # three per problem; one problem is too few for a profile plot (the README has its table)
    assert len(pngs1) == 3
    for p in pngs1:
        assert p.parent == res / "plots" / "tiny"
        assert pngs1[p].startswith(PNG)
        rel = p.relative_to(res).as_posix()
        assert f"]({rel})" in text1
    import matplotlib.image

    assert matplotlib.image.imread(next(iter(pngs1))).ndim == 3


@pytest.mark.slow
def test_best_lr_follows_the_hits(run_dir, tmp_path):
    """Make the smallest rate that hit the tightest target the fastest: the README picks it."""
    dest = _copy(run_dir, tmp_path / "runs", "20300101T000000Z")
    hits = runs.read_hits(dest)
    for variant, g in hits.groupby("variant"):
        tight = g[g["first_step"].notna()]["target"].min()
        at = g[g["target"] == tight]
        ok = at.groupby("lr")["first_step"].apply(lambda s: s.notna().all())
        sel = (hits["variant"] == variant) & (hits["lr"] == ok[ok].index.min())
        hits.loc[sel & (hits["target"] == tight), "first_samples"] = 1
    hits.to_parquet(dest / "hits.parquet", index=False)
    text = report.write(dest, tmp_path / "results", plots=False)[0].read_text()
    rows = _rows(text, "linear-64x3", "Samples to each target")
    for variant, lr in _ladder_best_by_hand(hits).items():
        assert rows[variant][2] == f"{lr:.3g}"
        assert any(c.startswith("1 / ") for c in rows[variant])  # that target's cell


@pytest.mark.slow
def test_runs_without_hits_keep_the_tol_table(run_dir, tmp_path):
    """An old run (no hits): the table of steps to tol, its best lr from the lanes."""
    dest = _copy(run_dir, tmp_path / "runs", "20300101T000000Z")
    _drop_hits(dest)
    lanes = pd.read_parquet(dest / "lanes.parquet")
    for variant, g in lanes.groupby("variant"):
        ok = g.groupby("lr")["status"].apply(lambda s: (s == "converged").all())
        lr = ok[ok].index.min()
        lanes.loc[(lanes["variant"] == variant) & (lanes["lr"] == lr), "samples_to_target"] = 1
    lanes.to_parquet(dest / "lanes.parquet", index=False)
    written = report.write(dest, tmp_path / "results")
    text = written[0].read_text()
    assert "Samples to each target" not in text and "Summary across problems" not in text
    assert sum(p.suffix == ".png" for p in written) == 3  # no profile without hits
    rows = {
        line.split("|")[1].strip(): [c.strip() for c in line.split("|")[1:-1]]
        for line in _section(text, "linear-64x3").splitlines()
        if line[:2] == "| "
    }
    for variant, lr in _best_lr_by_hand(lanes).items():
        assert rows[variant][3].split(" ")[0] == f"{lr:.3g}"
        assert rows[variant][6] == "1"  # samples
        statuses = lanes.loc[lanes["variant"] == variant, "status"]
        assert rows[variant][9:12] == [str((statuses == s).sum()) for s in STATUSES]


@pytest.mark.slow
def test_smoothing_and_no_plots(run_dir, tmp_path):
    res = tmp_path / "results"
    written = report.write(run_dir, res, smooth=0.5)
    assert sum(p.suffix == ".png" for p in written) == 3  # one problem: its profile is a table
    assert report.write(run_dir, tmp_path / "tables", plots=False) == [
        tmp_path / "tables" / "README.md"
    ]
    assert "![" not in (tmp_path / "tables" / "README.md").read_text()
    with pytest.raises(ValueError, match="smooth"):
        report.write(run_dir, res, smooth=1.5)


@pytest.mark.slow
def test_newest_complete_run_per_machine(run_dir, tmp_path):
    folder = tmp_path / "runs"
    folder.mkdir()
    current = _copy(run_dir, folder, "20300101T000000Z")
    _copy(run_dir, folder, "20200101T000000Z")  # older, same machine
    _copy(run_dir, folder, "20400101T000000Z", complete=False)  # newer but unfinished
    other = _copy(run_dir, folder, "20100101T000000Z", host="other-host")  # another machine
    picked = runs.discover(folder)
    assert sorted(r.path for r in picked) == sorted([current, other])
    text = report.render_readme(picked)
    assert current.name in text and other.name in text
    for stamp in ("20200101T000000Z", "20400101T000000Z"):
        assert stamp not in text
    # two machines for one suite: their plots go to separate folders
    written = report.write(folder, tmp_path / "results")
    assert len({p.parent for p in written if p.suffix == ".png"}) == 2


@pytest.mark.slow
def test_perf_columns_get_their_own_table(run_dir, tmp_path):
    folder = tmp_path / "runs"
    dest = _copy(run_dir, folder, "20300101T000000Z")
    lanes = pd.read_parquet(dest / "lanes.parquet")
    lanes["numpy_s"] = lanes["run_s"] * 4
    lanes["speedup_numpy"] = 4.0
    lanes.to_parquet(dest / "lanes.parquet", index=False)
    text = report.write(folder, tmp_path / "results", plots=False)[0].read_text()
    table = text[text.index("### Speed (tiny)") :]
    assert "speedup_numpy" in table and "| 4 |" in table
    assert "numpy_s" not in table  # the README shows the ratios; perf.md has the seconds
    assert "### Speed" not in report.readme_text(run_dir, tmp_path)  # no baselines, no table


@pytest.mark.slow
def test_empty_and_incomplete_runs_raise(run_dir, tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match="no complete run"):
        report.write(empty, tmp_path / "results")
    assert not (tmp_path / "results").exists()
    only_incomplete = tmp_path / "inc"
    only_incomplete.mkdir()
    _copy(run_dir, only_incomplete, "20300101T000000Z", complete=False)
    with pytest.raises(FileNotFoundError):
        runs.discover(only_incomplete)
    assert cli.main(["report", str(empty), "--results", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err and err.count("\n") == 1


def test_compare_run_with_itself(run_dir):
    df = compare.load([run_dir, run_dir / "lanes.csv"])
    text = compare.render(df)
    rows = [line for line in compare.speed(df).splitlines() if line.startswith("| tiny |")]
    assert len(rows) == 2
    for line in rows:
        cells = [c.strip() for c in line.split("|")[1:-1]]
        assert cells[8] == "1.00"  # B speedup vs A
    assert "(2)" in text  # the same folder twice: labelled by folder name, numbered


def _synthetic(folder: Path, host: str, run_s: float) -> Path:
    folder.mkdir(parents=True)
    lanes = pd.DataFrame(
        {
            "suite": "s",
            "problem": "p",
            "variant": ["batch", "batch", "minibatch-4", "minibatch-4"],
            "batch_size": [16, 16, 4, 4],
            "optimizer": "sgd",
            "lanes": 2,
            "run_s": run_s,
            "compile_s": 0.5,
            "backend": "cpu",
            "device_kind": "cpu",
            "host": host,
        }
    )
    lanes.loc[2:, "run_s"] = run_s * 3
    lanes.to_csv(folder / "lanes.csv", index=False)
    env = {"backend": "cpu", "device_kind": "cpu", "host": host, "cpu": "Test CPU"}
    (folder / "meta.json").write_text(json.dumps({"suite": "s", "env": env, "complete": True}))
    return folder


def test_compare_ratio_and_errors(tmp_path):
    slow = _synthetic(tmp_path / "runs" / "a", "slow-host", 0.004)
    _synthetic(tmp_path / "runs" / "b", "fast-host", 0.001)
    df = compare.load([slow, tmp_path / "runs" / "b"])
    text = compare.render(df)
    assert "A: cpu Test CPU @ slow-host" in text and "B: cpu Test CPU @ fast-host" in text
    speed = compare.speed(df).splitlines()
    rows = [[c.strip() for c in r.split("|")[1:-1]] for r in speed if r[:4] == "| s "]
    assert [r[6:9] for r in rows] == [["4", "1", "4.00"], ["12", "3", "4.00"]]
    # a folder of runs gives the same table (runs in folder order)
    assert compare.render(compare.load([tmp_path / "runs"])) == text

    with pytest.raises(ValueError, match="at least one run"):
        compare.render(pd.DataFrame())
    (tmp_path / "nothing").mkdir()
    with pytest.raises(ValueError, match="no lanes file"):
        compare.load([tmp_path / "nothing"])
    other = pd.read_csv(tmp_path / "runs" / "b" / "lanes.csv").assign(problem="q")
    other.to_csv(tmp_path / "runs" / "b" / "lanes.csv", index=False)
    with pytest.raises(ValueError, match="nothing matches"):
        compare.render(compare.load([slow, tmp_path / "runs" / "b"]))


def _planted(run_dir: Path, dest: Path) -> Path:
    """A copy of the tiny run's lanes where one lane disagrees in status, one in steps to
    target, and one's final loss moved by 1e-3 (relative)."""
    lanes = pd.read_csv(run_dir / "lanes.csv")
    conv = lanes.index[lanes["status"] == "converged"]
    lanes.loc[conv[0], "status"] = "diverged"
    lanes.loc[conv[1], "steps_to_target"] += 1
    lanes.loc[conv[2], "final_loss"] *= 1 + 1e-3
    dest.mkdir()
    lanes.to_csv(dest / "lanes.csv", index=False)
    return dest / "lanes.csv"


def test_compare_flags_planted_disagreements(run_dir, tmp_path):
    df = compare.load([run_dir, _planted(run_dir, tmp_path / "planted")])
    summary, differing = compare.disagreements(df)
    s = summary.iloc[0]
    assert (s["lanes"], s["unmatched"], s["status"], s["steps"]) == (14, 0, 1, 1)
    assert s["max_rel_loss"] == pytest.approx(1e-3, rel=1e-6)
    assert len(differing) == 2
    text = compare.render(df)
    assert "## Disagreements" in text
    assert "14 lanes matched, 0 unmatched; 2 disagreements (1 status, 1 steps to target)" in text
    assert "largest relative final-loss difference 1.00e-03" in text


def test_compare_a_run_agrees_with_itself_and_shows_throughput(run_dir):
    df = compare.load([run_dir, run_dir / "lanes.csv"])
    text = compare.render(df)
    assert "Disagreements" not in text
    assert "14 lanes matched, 0 unmatched; 0 disagreements" in text
    assert "largest relative final-loss difference 0.00e+00" in text
    table = compare.throughput(df)
    assert table in text
    rows = [[c.strip() for c in r.split("|")[1:-1]] for r in table.splitlines() if "| tiny |" in r]
    throughput = [r for r in rows if len(r) == 6 + 5]  # 2 steps/s, 2 GFLOP/s, 1 ratio
    assert len(throughput) == 2 and all(r[-1] == "1.00" for r in throughput)
    lanes = pd.read_csv(run_dir / "lanes.csv")
    first = lanes.iloc[0]
    assert f"{first['steps_run'] / first['run_s']:.3g}" in {r[6] for r in throughput}


def test_compare_without_lane_columns_says_agreement_is_not_checked(tmp_path):
    a = _synthetic(tmp_path / "a", "h1", 0.004)
    b = _synthetic(tmp_path / "b", "h2", 0.001)
    text = compare.render(compare.load([a, b]))
    assert "agreement not checked: lanes lack the columns ['lr', 'seed'" in text


def test_loss_floor_table_and_the_ceiling_of_the_bare_target():
    r = {
        "problem": "sgd",
        "run_s": 0.009,
        "jax-scan_gdjax_s": 0.008,
        "jax-scan_s": 0.004,
        "vs_jax-scan": 2.0,
        "jax-scan-loss_s": 0.006,
        "loss_floor": 1.5,
        "jax-scan_compile_s": 0.1,
        "jax-scan-loss_compile_s": 0.12,
        "jax-scan-loss_max_rel_diff": 1e-6,
    }
    text = "\n".join(bare_report.render_floor([r]))
    lines = [x for x in text.splitlines() if x.startswith("| sgd")]
    cells = [c.strip() for c in lines[0].split("|")[1:-1]]
    # gdjax's own median from the same rounds, over jax-scan + loss's
    assert cells == ["sgd", "4", "6", "1.5x", "8", "1.33x", "0.10", "0.12", "1.0e-06"]
    # exact monitoring's goal is against its floor: gdjax / (jax-scan + loss), ceiling 1x
    target = perf_report._bare_targets({"sgd": r})[0]
    name = "sgd: gdjax / (jax-scan + loss) run time"
    assert target == [name, "<= 1.1x", "1.33x", "1x", "**not met**"]
    # grid monitoring (logistic) has no floor: no table, no ceiling
    grid = {**r, "jax-scan-loss_s": float("nan"), "loss_floor": float("nan")}
    assert bare_report.render_floor([grid]) == []
    assert perf_report._bare_targets({"sgd": grid})[0][3] == "-"


def test_seed_split_beside_jax_scans_own_split_which_is_its_ceiling():
    r = {
        "problem": "minibatch",
        "run_s": 0.009,
        "compile_s": 0.3,
        "jax-scan_gdjax_s": 0.008,
        "jax-scan_s": 0.004,
        "vs_jax-scan": 2.0,
        "jax-scan_compile_s": 0.1,
        "jax-scan_max_rel_diff": 1e-6,
        "seeds4_vs_one_seed": 1.3,
        "seeds4_floor": 1.25,
    }
    text = "\n".join(bare_report.render_bare([r]))
    assert "| 4 seeds / 1 seed | jax-scan 4 seeds / 1 seed |" in text
    assert text.splitlines()[-1].endswith("| 1.3x | 1.25x |")
    target = [t for t in perf_report._bare_targets({"minibatch": r}) if "seeds" in t[0]]
    assert target == [
        ["minibatch: 4 seeds x 16 rates / 1 seed x 64", "<= 1.2x", "1.3x", "1.25x", "**not met**"]
    ]
    # batch GD has no bare split: no ceiling
    full = {**r, "seeds4_floor": float("nan")}
    assert next(t for t in perf_report._bare_targets({"x": full}) if "seeds" in t[0])[3] == "-"


@pytest.mark.parametrize(
    ("lrs_a", "lrs_b", "matched", "unmatched"),
    [
        ([0.1, 0.1, 0.3], [0.1, 0.1, 0.3], 3, 0),  # merged copy by copy: 5 "matched" before
        ([0.1, 0.1, 0.3], [0.1, 0.3], 2, 1),  # the second copy of 0.1 has no partner
        ([0.1, 0.3], [0.1, 0.3], 2, 0),
    ],
)
def test_compare_counts_each_lane_of_a_repeated_rate_once(lrs_a, lrs_b, matched, unmatched):
    def lanes(run, lrs):
        return pd.DataFrame(
            {"run": run, "suite": "s", "problem": "p", "variant": "batch", "batch_size": 16,
             "optimizer": "sgd", "lr": lrs, "seed": 0, "status": "converged",
             "steps_to_target": 10, "final_loss": 1.0}
        )  # fmt: skip

    summary, differing = compare.disagreements(pd.concat([lanes(0, lrs_a), lanes(1, lrs_b)]))
    assert summary[["lanes", "unmatched"]].values.tolist() == [[matched, unmatched]]
    assert len(differing) == 0
