"""Fuzz gdjax.datasets.load_csv with generated files (hypothesis, derandomized).

Each generated file knows its truth: the numbers it holds, and the line of its first bad cell.
Property: a file of numbers loads to exactly those numbers; any other file gives a ValueError
naming the file (and the line of the bad cell, where the generator put one); never another
exception.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gdjax import datasets
from tests.fuzzing import fuzz

FUZZ = fuzz(120)

# cells that are not finite numbers, as written in the file (quoted where CSV needs it)
BAD_CELLS = [
    "abc", "", "nan", "-inf", "1_0", "0x1f", "\u00e9", "NA", "--1", "1e999", "1,5", "a\nb",
    "TRUE", " ", "1 2", '"',
]  # fmt: skip
ENCODINGS = ["utf-8", "utf-8-sig", "latin-1", "cp1252", "utf-16"]


# comment lines: first character other than a space or a tab is '#' (quotes and commas inside)
COMMENTS = st.sampled_from(["#", "# note", "  # x,y", '\t#"quoted', "#1,2,3,4,5"])


def _quote(cell: str) -> str:
    return '"' + cell.replace('"', '""') + '"'


number = st.one_of(
    st.integers(-(10**6), 10**6).map(float),
    st.floats(-1e6, 1e6, allow_subnormal=False),
    st.floats(-1e-3, 1e-3, allow_subnormal=False),
)


@st.composite
def csv_file(draw):
    """(text, encoding, header, values (rows, cols), line of the first bad cell or None)."""
    cols = draw(st.integers(2, 4))
    rows = draw(st.integers(1, 5))
    values = np.array(draw(st.lists(number, min_size=rows * cols, max_size=rows * cols)))
    values = values.reshape(rows, cols)
    bad = draw(st.none() | st.tuples(st.integers(0, rows - 1), st.integers(0, cols - 1)))
    bad_cell = draw(st.sampled_from(BAD_CELLS))
    header = draw(st.booleans())
    eol = draw(st.sampled_from(["\n", "\r\n"]))
    lines: list[str] = []
    while draw(st.integers(0, 3)) == 0:  # comments before the header, skipped but counted
        lines.append(draw(COMMENTS))
    if header:
        names = [
            draw(st.sampled_from(["x", "\u00e9t\u00e9", "a b", "y"])) + str(k) for k in range(cols)
        ]
        lines.append(",".join(names))
    first_bad_line = None
    for r in range(rows):
        while draw(st.integers(0, 4)) == 0:  # blank and comment lines, skipped but counted
            lines.append(draw(st.sampled_from(["", "  ", "\t"]) | COMMENTS))
        cells = []
        for k in range(cols):
            if bad == (r, k):
                text = _quote(bad_cell) if any(c in bad_cell for c in ',"\n ') else bad_cell
                first_bad_line = len(lines) + 1
            else:
                text = repr(float(values[r, k]))
                if draw(st.integers(0, 5)) == 0:
                    text = _quote(text)
                elif draw(st.integers(0, 5)) == 0:
                    text = f" {text} "
            cells.append(text)
        lines.append(",".join(cells))
        if bad is not None and bad[0] == r and bad_cell == "a\nb":
            lines[-1:] = lines[-1].split("\n")  # the quoted line break spans two lines
    encoding = draw(st.sampled_from(ENCODINGS))
    text = eol.join(lines) + draw(st.sampled_from(["", eol, eol + eol]))
    return text, encoding, header, values, first_bad_line


@FUZZ
@given(f=csv_file(), pass_encoding=st.booleans())
def test_generated_files(tmp_path, f, pass_encoding):
    text, encoding, header, values, bad_line = f
    path = tmp_path / "gen.csv"
    path.write_bytes(text.encode(encoding))
    kwargs = {"encoding": encoding} if pass_encoding else {}
    decodes = pass_encoding or _decodes_as_utf8(text.encode(encoding))
    try:
        p = datasets.load_csv(path, target=-1, header=header, **kwargs)
    except ValueError as e:
        msg = str(e)
        assert "gen.csv" in msg and "\n" not in msg.replace("'a\\nb'", "")
        if not decodes:
            assert "encoding=" in msg
        elif bad_line is not None:
            assert f"gen.csv line {bad_line}" in msg
        else:  # a file of numbers must load
            raise
        return
    assert decodes and bad_line is None
    np.testing.assert_array_equal(np.asarray(p.X), values[:, :-1].astype(p.dtype))
    np.testing.assert_array_equal(np.asarray(p.y), values[:, -1].astype(p.dtype))


def _decodes_as_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@FUZZ
@given(f=csv_file())
def test_header_detection_on_files_of_numbers(tmp_path, f):
    text, _, _header, values, bad_line = f
    if bad_line is not None:
        return
    path = tmp_path / "gen.csv"
    path.write_text(text, encoding="utf-8")
    p = datasets.load_csv(path, target=0)  # header=None: decided from the first row
    assert p.n == len(values)  # names are never numbers here, numbers never names
    np.testing.assert_array_equal(np.asarray(p.y), values[:, 0].astype(p.dtype))


@FUZZ
@given(
    raw=st.binary(max_size=60)
    | st.text(alphabet=',;"\n\r\t #0123456789.eE+-abc\x00\u00e9', max_size=60).map(str.encode),
    kind=st.sampled_from(["linear", "logistic", "softmax"]),
    target=st.sampled_from([0, -1, 1, "y", "0"]),
    header=st.sampled_from([None, True, False]),
    delimiter=st.sampled_from([",", ";", "\t", " "]),
    encoding=st.sampled_from(["utf-8", "latin-1", "utf-16"]),
)
def test_arbitrary_bytes(tmp_path, raw, kind, target, header, delimiter, encoding):
    path = tmp_path / "junk.csv"
    path.write_bytes(raw)
    try:
        p = datasets.load_csv(
            path, target=target, kind=kind, header=header, delimiter=delimiter, encoding=encoding
        )
    except ValueError as e:
        assert "junk.csv" in str(e)
        return
    assert p.n >= 1 and p.d >= 1
    assert np.all(np.isfinite(np.asarray(p.X))) and np.all(np.isfinite(np.asarray(p.y)))


@pytest.mark.parametrize(
    "raw, encoding, match",
    [
        (b"x,y\n1,2\n\xff\xfe,3\n", "utf-8", r"bad\.csv line 3: byte b'\\xff'"),
        ("x,y\n1,2\n".encode("utf-16"), "utf-8", r"bad\.csv line 1: .*encoding="),
        ("x,\u20ac\n1,2\n".encode("cp1252"), "utf-8", r"bad\.csv line 1: .*encoding='latin-1'"),
        (b"x,y\n1,2\n", "ascii-ish", r"unknown encoding='ascii-ish'"),
        ("x,y\n1,2\n".encode("utf-16-be"), "utf-16", r"bad\.csv"),
    ],
)
def test_encodings_table(tmp_path, raw, encoding, match):
    path = tmp_path / "bad.csv"
    path.write_bytes(raw)
    with pytest.raises(ValueError, match=match):
        datasets.load_csv(path, target=-1, encoding=encoding)
