"""Fuzz suite documents: generated TOML through ``suites.load`` and ``Suite.validate``.

Property: a document either loads and validates into entries that carry its settings (by the
documented precedence, defaults < variant < problem), or raises one ``SuiteError`` whose one-line
message starts with the file name; never another exception.
"""

from __future__ import annotations

import json
import math

from hypothesis import given
from hypothesis import strategies as st

from bench.run import suites
from tests.fuzzing import fuzz

FUZZ = fuzz(150)


def toml_value(v) -> str:
    """A TOML literal (enough of TOML for these documents)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)  # JSON escapes are TOML basic-string escapes
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(x)}" for k, x in v.items()) + "}"
    raise TypeError(v)


def toml_document(doc: dict) -> str:
    lines = [f"{json.dumps(k)} = {toml_value(v)}" for k, v in doc.items() if k not in TABLES]
    if "defaults" in doc:
        lines.append("[defaults]")
        lines += [f"{json.dumps(k)} = {toml_value(v)}" for k, v in doc["defaults"].items()]
    for key in ("problems", "variants"):
        for t in doc.get(key, []):
            lines.append(f"[[{key}]]")
            lines += [f"{json.dumps(k)} = {toml_value(v)}" for k, v in t.items()]
    return "\n".join(lines) + "\n"


TABLES = ("defaults", "problems", "variants")

junk = st.one_of(
    st.booleans(),
    st.integers(-3, 3),
    st.sampled_from([2**40, -(2**63)]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(st.characters(exclude_categories=["Cs"]), max_size=5),  # TOML has no surrogates
    st.lists(st.integers(-1, 3), max_size=3),
    st.just({}),
)


def mostly(valid, bad=junk):
    """``valid`` 39 times in 40: about one bad field per document, not one in every field."""
    # 7, not 0: hypothesis favours the ends of a range
    return st.integers(0, 39).flatmap(lambda i: bad if i == 17 else valid)


RUN = {
    "lrs": mostly(
        st.lists(st.floats(1e-4, 1.0), min_size=1, max_size=3)
        | st.builds(
            lambda lo, c: {"geomspace": [lo, 1.0, c]}, st.floats(1e-4, 1.0), st.integers(1, 4)
        ),
        st.sampled_from([[1e-50], [1e39], [-0.1], [], {"geomspace": [0, 1, 2]}]) | junk,
    ),
    "epochs": mostly(st.integers(1, 3), st.sampled_from([0, 2_000_000_000]) | junk),
    "seeds": mostly(st.lists(st.integers(0, 3), min_size=1, max_size=2)),
    "tol": mostly(st.floats(1e-4, 0.5), st.sampled_from([0.0, 1.0, -1.0]) | junk),
    "optimizer": mostly(
        st.sampled_from(["sgd", "adam", ["sgd", "momentum"]]), st.sampled_from(["lbfgs", []])
    ),
    "shuffle": mostly(st.booleans()),
    "early_stop": mostly(st.booleans()),
    "init": mostly(st.floats(-2, 2), st.just(1e39) | junk),
    "eval_every": mostly(st.integers(1, 5)),
    "divergence_factor": mostly(st.floats(1.0, 1e6)),
    "repeats": mostly(st.integers(1, 3)),
    "baselines": mostly(st.just([]), st.sampled_from([["numpy"], ["gpu"]]) | junk),
    "targets": mostly(st.lists(st.floats(1e-4, 0.9), min_size=1, max_size=3, unique=True)),
    "schedule": mostly(st.sampled_from(["constant", "inverse_time", "cosine"]), st.just("linear")),
}
SOURCE_FIELDS = {
    "linear": {"n": mostly(st.integers(1, 48), st.just(10**12) | junk),
               "d": mostly(st.integers(1, 3)), "noise": mostly(st.floats(0, 1)),
               "seed": mostly(st.integers(0, 5)), "intercept": mostly(st.booleans())},
    "logistic": {"n": mostly(st.integers(1, 48)), "d": mostly(st.integers(1, 3)),
                 "l2": mostly(st.floats(0, 1))},
    "softmax": {"n": mostly(st.integers(1, 48)), "d": mostly(st.integers(1, 3)),
                "classes": mostly(st.integers(2, 5), st.sampled_from([1, 20_000]) | junk)},
    "quadratic": {"a": mostly(st.floats(0.1, 3), st.sampled_from([0.0, -1.0, 1e-50]) | junk),
                  "b": mostly(st.floats(-3, 3)), "c": mostly(st.floats(-3, 3))},
    "textbook": {"setup": mostly(st.sampled_from(["y2x", "parabola", "noisy-line", "y4-3x"]),
                                 st.just("y9x"))},
    "csv": {"path": mostly(st.sampled_from(["data.csv", "sub/../data.csv"]),
                           st.sampled_from(["bad.csv", "missing.csv"])),
            "target": mostly(st.sampled_from(["y", "x", 0, -1]), st.sampled_from(["z", 7])),
            "kind": mostly(st.sampled_from(["linear", "logistic"]), st.just("poisson")),
            "delimiter": mostly(st.just(","), st.sampled_from([";", ";;", "\n", '"']) | junk),
            "intercept": mostly(st.booleans()),
            "features": mostly(st.sampled_from([["x"], [0], [-2]]),
                               st.sampled_from([["z"], ["x", "x"], [], ["y"], [5]]) | junk)},
}  # fmt: skip
bad_names = st.sampled_from(["a/b", "..", ".x", "", "a b"]) | junk


@st.composite
def run_settings(draw, max_fields=3):
    keys = draw(st.lists(st.sampled_from(sorted(RUN)), max_size=max_fields, unique=True))
    return {k: draw(RUN[k]) for k in keys}


@st.composite
def problem(draw, i, variant_names):
    source = draw(mostly(st.sampled_from(sorted(SOURCE_FIELDS)), st.just("parquet")))
    table = {"name": draw(mostly(st.just(f"p{i}"), bad_names | st.just("p0"))), "source": source}
    for k, strat in SOURCE_FIELDS.get(source, {}).items():
        if draw(st.integers(0, 39)) != 17:  # a required field goes missing now and then
            table[k] = draw(strat)
    if variant_names and draw(st.integers(0, 3)) == 0:
        pick = st.sampled_from(variant_names)
        table["variants"] = draw(mostly(st.lists(pick, min_size=1, max_size=2, unique=True),
                                        st.just(["nope"]) | st.just([])))  # fmt: skip
    if draw(st.integers(0, 19)) == 0:
        table[draw(st.sampled_from(["dtype", "speed", "batch_size"]))] = draw(
            junk | st.just("float32")
        )
    table.update(draw(run_settings(max_fields=2)))
    return table


@st.composite
def document(draw):
    doc = {}
    if draw(st.booleans()):
        doc["name"] = draw(mostly(st.just("fuzz"), bad_names))
    doc["defaults"] = {"lrs": [0.1], "epochs": 1}
    doc["defaults"].update(draw(run_settings()))
    variants = []
    for j in range(draw(mostly(st.integers(1, 3), st.just(0)))):
        b = draw(mostly(st.sampled_from(["all", 1, 4]), st.sampled_from([100, 0, "half"])))
        name = draw(mostly(st.just(f"v{j}"), bad_names | st.just("v0")))
        variants.append({"name": name, "batch_size": b} | draw(run_settings(max_fields=2)))
    doc["variants"] = variants
    vnames = [v["name"] for v in variants if isinstance(v["name"], str)]
    count = draw(mostly(st.integers(1, 3), st.just(0)))
    doc["problems"] = [draw(problem(i, vnames)) for i in range(count)]
    return doc


def _loaded(path):
    """What loading a suite file gives: its entries' keys, or its one-line error."""
    try:
        return [e.key for e in suites.load(str(path)).entries]
    except suites.SuiteError as e:
        return str(e)


def _expected(doc, p, v, key):
    """The setting an entry must carry: problem over variant over defaults over the default."""
    for table in (p, v, doc["defaults"]):
        if key in table:
            return table[key]
    return suites.DEFAULT_SETTINGS[key]


@FUZZ
@given(doc=document(), bom=st.booleans())
def test_generated_documents(tmp_path, doc, bom):
    (tmp_path / "data.csv").write_text("# a comment\nx,y\n1,0\n2,1\n3,1\n4,0\n")
    (tmp_path / "bad.csv").write_text("x,y\n1,0\n2,one\n")
    path = tmp_path / "t.toml"
    text = toml_document(doc).encode("utf-8")
    if bom:  # a byte-order mark, as Windows editors save UTF-8, changes nothing
        path.write_bytes(text)
        plain = _loaded(path)
        path.write_bytes(b"\xef\xbb\xbf" + text)
        assert _loaded(path) == plain
    path.write_bytes(text)
    try:
        suite = suites.load(str(path))
        suite.validate()
    except suites.SuiteError as e:
        msg = str(e)
        assert msg.startswith("t.toml: ") and "\n" not in msg and len(msg) < 2000
        return
    variants = {v["name"]: v for v in doc["variants"]}
    expected_entries = 0
    for p in doc["problems"]:
        chosen = p.get("variants", list(variants))
        for vname in chosen:
            v = variants[vname]
            opt = _expected(doc, p, v, "optimizer")
            expected_entries += 1 if isinstance(opt, str) else len(opt)
            entry = next(e for e in suite.entries if (e.problem, e.variant) == (p["name"], vname))
            for key in ("epochs", "tol", "shuffle", "early_stop", "repeats", "eval_every", "init"):
                assert entry.settings[key] == _expected(doc, p, v, key), key
            assert entry.settings["seeds"] == _expected(doc, p, v, "seeds")
            want_b = v.get("batch_size", "all")
            assert entry.batch_size == (None if want_b == "all" else want_b)
    assert len(suite.entries) == expected_entries


@FUZZ
@given(
    data=st.data(),
    cuts=st.lists(st.tuples(st.integers(0, 400), st.integers(0, 6)), min_size=1, max_size=4),
    insert=st.text(alphabet="[]{}=\",.\n #'a1-_\\\u00e9\x00", max_size=6),
)
def test_mangled_text(tmp_path, data, cuts, insert):
    text = (suites.SUITES_DIR / "smoke.toml").read_text()
    for at, width in cuts:
        at = min(at, len(text))
        text = text[:at] + insert + text[at + width :]
    path = tmp_path / "t.toml"
    path.write_text(text, encoding="utf-8")
    try:
        suites.load(str(path)).validate()
    except suites.SuiteError as e:
        assert str(e).startswith("t.toml: ") and "\n" not in str(e)


# ---------------------------------------------------------------------------------- entry keys


def _windows(fields: tuple[str, ...]) -> set[str]:
    """Every run of consecutive fields joined by '__': what a literal --only may name."""
    return {"__".join(fields[i:j]) for i in range(len(fields)) for j in range(i + 1, 4)}


# names made of the characters that build keys and their separator, so that keys would collide
# often if the rules let them: mostly valid labels, now and then any such text
key_names = st.one_of(
    st.from_regex(r"[ab-]([ab_-]{0,3}[ab-])?", fullmatch=True),
    st.text(alphabet="ab_-", min_size=1, max_size=5),
)


def _listed(names, unique=True):
    """A non-empty list of ``names``, mostly without repeats (repeats are refused)."""
    return mostly(st.lists(names, min_size=1, max_size=3, unique=unique),
                  st.lists(names, min_size=2, max_size=3))  # fmt: skip


@FUZZ
@given(data=st.data())
def test_entry_keys_are_unique_and_only_names_whole_fields(tmp_path, data):
    """Keys never collide (a name holding '__', an optimizer or variant listed twice: refused),
    and --only selects exactly the entries that have the pattern as whole consecutive fields."""
    variants = data.draw(st.lists(key_names, min_size=1, max_size=3, unique=True))
    opts = _listed(st.sampled_from(["sgd", "adam", "momentum"]))
    doc = {
        "defaults": {"lrs": [0.1], "epochs": 1, "optimizer": data.draw(opts)},
        "variants": [{"name": v} for v in variants],
        "problems": [
            {"name": p, "source": "linear", "n": 4, "d": 1}
            | ({"variants": data.draw(_listed(st.sampled_from(variants)))}
               if data.draw(st.booleans()) else {})
            for p in data.draw(st.lists(key_names, min_size=1, max_size=3, unique=True))
        ],
    }  # fmt: skip
    path = tmp_path / "t.toml"
    path.write_text(toml_document(doc), encoding="utf-8")
    try:
        suite = suites.load(str(path))
    except suites.SuiteError as e:
        assert str(e).startswith("t.toml: ") and "\n" not in str(e)
        return
    keys = [e.key for e in suite.entries]
    assert len(set(keys)) == len(keys), keys
    fields = [(e.problem, e.variant, e.optimizer) for e in suite.entries]
    assert all("__" not in f for fs in fields for f in fs)
    # a pattern: consecutive fields of some entry, a piece of a key, or junk
    some = data.draw(st.sampled_from(fields))
    pattern = data.draw(
        st.sampled_from(sorted(_windows(some)))
        | st.builds(lambda k, i, j: k[i:j], st.sampled_from(keys), st.integers(0, 9),
                    st.integers(0, 20))
        | key_names
    )  # fmt: skip
    want = [k for k, fs in zip(keys, fields, strict=True) if pattern in _windows(fs)]
    try:
        got = [e.key for e in suites.select(suite, pattern)]
    except suites.UserError as e:
        assert not want and "matches --only" in str(e) and "\n" not in str(e)
        return
    assert got == want
