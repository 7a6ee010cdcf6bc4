"""Fresh processes from the repository root: ``python -c`` scripts and ``python -m bench``."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def script_prints_ok(script: str, env: dict) -> None:
    """Run ``python -c script`` from the repository root; it must exit 0 and print "ok"."""
    proc = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip() == "ok"


def run_bench(*args, **kwargs):
    """``python -m bench ...`` in a fresh process, from the repository root."""
    return subprocess.run(
        [sys.executable, "-m", "bench", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        **kwargs,
    )
