"""Which plots and LaTeX tables the report wrote, per suite (``results/plots/manifest.json``),
so that a new report deletes only its own stale files: those an earlier report wrote for the
suites drawn now and did not write again. No other file is ever deleted.

Example:
    >>> relative([Path("results/plots/a.png")], Path("results"))
    ['plots/a.png']
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from bench import runs

__all__ = ["MANIFEST", "forget_stale", "relative"]

MANIFEST = "manifest.json"  # under plots/: suite -> the plot and .tex files report wrote for it


def forget_stale(results_dir: Path, drawn: dict[str, list[str]]) -> None:
    """Delete the plots and tables the manifest says an earlier report wrote for these suites
    and that were not written now; record what was written. Files of other suites, and files
    no report wrote, stay."""
    path = results_dir / "plots" / MANIFEST
    manifest = _read_manifest(path)
    for suite, files in drawn.items():
        for stale in sorted(set(manifest.get(suite, [])) - set(files)):
            if _ours(results_dir, stale):
                (results_dir / stale).unlink(missing_ok=True)
        manifest[suite] = files
    runs.write_json(path, dict(sorted(manifest.items())))


def _read_manifest(path: Path) -> dict[str, list[str]]:
    """The manifest's suites and files; what cannot be read (a truncated or hand-edited file)
    is left out: its files are then kept, never deleted on a guess, and the manifest rewritten."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):  # missing, unreadable, not UTF-8, not JSON
        return {}
    if not isinstance(raw, dict):
        return {}
    return {
        str(suite): [f for f in files if isinstance(f, str)]
        for suite, files in raw.items()
        if isinstance(files, list)
    }


def _ours(results_dir: Path, listed: str) -> bool:
    """Whether a manifest entry names a plot or table file under results/plots or
    results/tables: no other file is deleted, whatever the manifest says."""
    target = (results_dir / listed).resolve()
    roots = [(results_dir / d).resolve() for d in ("plots", "tables")]
    suffix_ok = target.suffix in (".png", ".tex")
    return suffix_ok and any(target.is_relative_to(r) and target != r for r in roots)


def relative(files: list[Path], results_dir: Path) -> list[str]:
    """The files' paths relative to ``results_dir``, with forward slashes (as the manifest and
    the README hold them)."""
    return [Path(os.path.relpath(f, results_dir)).as_posix() for f in files]
