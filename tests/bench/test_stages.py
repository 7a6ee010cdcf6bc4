"""The harness's imports run one way: base -> run -> report | perf -> cli, with no circle.

Read from the source (every import, those inside functions too), so a back-edge fails here before
it can hide behind an import that happens to run late.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# the stage of each of bench's modules, by the first name under bench
STAGE = {
    "errors": "base",
    "envinfo": "base",
    "entries": "base",
    "destinations": "base",
    "runs": "base",
    "examples": "base",  # problems for suite files' python source: gdjax only
    "run": "run",
    "report": "report",
    "perf": "perf",
    "cli": "cli",
    "cli_parser": "cli",
    "__main__": "cli",
}
# the stages each stage may import (itself included): the report reads run folders, never the
# runner; perf times the runner's kernels and reads suites; nothing in run reads the report
MAY_IMPORT = {
    "base": {"base"},
    "run": {"base", "run"},
    "report": {"base", "report"},
    "perf": {"base", "run", "perf"},
    "cli": {"base", "run", "report", "perf", "cli"},
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules(package: str) -> dict[str, Path]:
    return {_module_name(p): p for p in sorted((ROOT / package).rglob("*.py"))}


def _imports(path: Path, known: set[str]) -> set[str]:
    """The modules of ``known`` that ``path`` imports, anywhere in its body."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            # "from bench.report import plots" names a module; "from bench.runs import Run" a name
            # of one, which resolves to the module
            names = [f"{node.module}.{a.name}" for a in node.names]
        else:
            continue
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name:
                out.add(name)
    return out


def _graph() -> dict[str, set[str]]:
    mods = _modules("bench")
    return {m: _imports(p, set(mods)) - {m, "bench"} for m, p in mods.items()}


def _stage(module: str) -> str:
    return STAGE[module.split(".")[1]] if module != "bench" else "base"


def test_every_bench_module_has_a_stage():
    assert {m.split(".")[1] for m in _graph() if m != "bench"} <= set(STAGE)


def test_no_import_runs_back_up():
    back = [
        f"{m} ({_stage(m)}) imports {d} ({_stage(d)})"
        for m, deps in _graph().items()
        for d in sorted(deps)
        if _stage(d) not in MAY_IMPORT[_stage(m)]
    ]
    assert back == []


def test_no_import_circle():
    graph = _graph()
    done: set[str] = set()

    def visit(m: str, path: list[str]) -> list[str] | None:
        if m in path:
            return [*path[path.index(m) :], m]
        if m in done:
            return None
        for d in sorted(graph[m]):
            if cycle := visit(d, [*path, m]):
                return cycle
        done.add(m)
        return None

    cycles = [c for m in graph if (c := visit(m, []))]
    assert cycles == []


def test_gdjax_never_imports_bench():
    mods = _modules("gdjax")
    bench = set(_modules("bench"))
    offenders = {m: sorted(_imports(p, bench)) for m, p in mods.items() if _imports(p, bench)}
    assert offenders == {}


def test_the_check_sees_a_back_edge(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from bench.report import tables\n")
    assert _imports(bad, set(_modules("bench"))) == {"bench.report.tables"}
