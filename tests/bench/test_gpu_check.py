"""bench/gpu_check.sh: everything but the CUDA install, as a dry run on this machine."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench import runs

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "bench" / "gpu_check.sh"


def test_the_script_parses_and_installs_the_cuda_build():
    subprocess.run(["bash", "-n", str(SCRIPT)], check=True)
    text = SCRIPT.read_text()
    assert 'pip install --quiet -U "jax[cuda12]"' in text
    assert "--precision" in text and "bench compare" in text


@pytest.mark.slow
def test_a_dry_run_runs_both_precisions_and_compares_with_the_committed_cpu_run(tmp_path):
    out = tmp_path / "check"
    env = {
        **os.environ,
        "GDJAX_GPU_CHECK_DRY": "1",
        "GDJAX_GPU_CHECK_OUT": str(out),
        "GDJAX_GPU_CHECK_REPEATS": "1",
        "PYTHON": sys.executable,
    }
    results = sorted(p.name for p in (ROOT / "results" / "runs").iterdir())
    proc = subprocess.run(
        ["bash", str(SCRIPT)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert sorted(p.name for p in (ROOT / "results" / "runs").iterdir()) == results
    for precision in ("highest", "default"):
        folders = runs.run_folders(out / precision)
        assert sorted(f.name.split("__")[0] for f in folders) == ["default", "perf"]
        for f in folders:
            lanes = runs.read_lanes(f, runs.REPORT_COLUMNS)
            assert (lanes["precision"] == precision).all()
    for suite in ("default", "perf"):
        report = (out / f"compare-{suite}.md").read_text()
        # A: the committed CPU run; B, C: this machine at the two precisions (the same products
        # on a CPU): every lane the dry run ran is matched and agrees
        lines = [x for x in report.splitlines() if x.startswith("agreement ")]
        assert [x.split(":")[0] for x in lines] == ["agreement B vs A", "agreement C vs A"]
        assert all(" 0 disagreements" in x for x in lines), lines
    assert (out / "env.json").is_file() and "done: run folders" in proc.stdout
