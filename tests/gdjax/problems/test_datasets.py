"""Tests of gdjax.datasets: the scikit-learn bundled sets and CSV loading."""

from __future__ import annotations

import numpy as np
import pytest

from gdjax import datasets

# --------------------------------------------------------------------------------------------
# Bundled data sets
# --------------------------------------------------------------------------------------------

BUNDLED = [
    ("diabetes", 442, 10, "linear"),
    ("breast_cancer", 569, 30, "logistic"),
    ("digits", 1797, 64, "softmax"),
]


def test_names_constant():
    assert datasets.NAMES == tuple(name for name, *_ in BUNDLED)


@pytest.mark.parametrize(("name", "n", "d", "spec"), BUNDLED)
def test_bundled_shapes_kind_and_standardization(name, n, d, spec):
    pytest.importorskip("sklearn")
    p = datasets.load(name)
    assert p.name == name
    assert (p.n, p.d) == (n, d)
    assert p.kind == spec
    X = np.asarray(p.X, np.float64)
    assert not np.isnan(X).any()
    assert not np.isnan(np.asarray(p.y, np.float64)).any()
    np.testing.assert_allclose(X.mean(axis=0), 0.0, atol=1e-5)
    std = X.std(axis=0)
    varying = std > 0
    np.testing.assert_allclose(std[varying], 1.0, atol=1e-4)
    # the columns left at zero must be the ones that are constant in the raw data
    raw = datasets.load(name, standardize=False)
    raw_X = np.asarray(raw.X, np.float64)
    np.testing.assert_array_equal(~varying, raw_X.max(axis=0) == raw_X.min(axis=0))
    assert np.all(X[:, ~varying] == 0.0)


def test_digits_has_constant_columns_and_ten_classes():
    pytest.importorskip("sklearn")
    p = datasets.load("digits")
    assert (np.asarray(p.X).std(axis=0) == 0).any()  # the NaN-prone case really is exercised
    assert p.spec.num_classes == 10
    assert p.init_params()["w"].shape == (64, 10)


def test_breast_cancer_labels_binary():
    pytest.importorskip("sklearn")
    y = np.asarray(datasets.load("breast_cancer").y)
    assert set(np.unique(y)) == {0.0, 1.0}


def test_diabetes_target_standardized_and_optimum_matches_lstsq():
    sk = pytest.importorskip("sklearn.datasets")
    p = datasets.load("diabetes")
    y = np.asarray(p.y, np.float64)
    assert abs(y.mean()) < 1e-5 and abs(y.std() - 1.0) < 1e-5

    X0, y0 = sk.load_diabetes(return_X_y=True, scaled=False)
    Xs = (X0 - X0.mean(0)) / X0.std(0)
    ys = (y0 - y0.mean()) / y0.std()
    A = np.hstack([Xs, np.ones((len(ys), 1))])
    theta, *_ = np.linalg.lstsq(A, ys, rcond=None)
    f_star_ref = float(np.mean((A @ theta - ys) ** 2))

    params, f_star = p.optimum()
    np.testing.assert_allclose(params["w"], theta[:-1], rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(params["b"], theta[-1], atol=1e-5)
    assert f_star == pytest.approx(f_star_ref, rel=1e-4)


def test_load_dtype_float32():
    pytest.importorskip("sklearn")
    assert datasets.load("diabetes", dtype=np.float32).dtype == np.float32


def test_load_unknown_name():
    with pytest.raises(ValueError, match=r"name=.*diabetes, breast_cancer, digits"):
        datasets.load("iris")


@pytest.mark.parametrize("flag", ["no", "False", 0, None, np.array([True, False])])
def test_load_standardize_is_a_bool(flag):
    """'no' is a true string: taken as a flag it would standardise."""
    with pytest.raises(TypeError, match="load: standardize must be a bool"):
        datasets.load("diabetes", standardize=flag)


def test_load_without_sklearn(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "sklearn", None)  # makes `import sklearn` fail
    with pytest.raises(ImportError, match=r"pip install 'gdjax\[datasets\]'"):
        datasets.load("diabetes")


# --------------------------------------------------------------------------------------------
# CSV
# --------------------------------------------------------------------------------------------


def _write(path, rows, header=None):
    lines = [",".join(header)] if header is not None else []
    lines += [",".join(f"{v!r}" for v in row) for row in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def table():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((6, 3))
    y = rng.standard_normal(6)
    return X, y


def _assert_X(p, X):
    np.testing.assert_allclose(np.asarray(p.X), X.astype(p.X.dtype), rtol=1e-6)


def test_csv_header_target_by_name(tmp_path, table):
    X, y = table
    rows = np.column_stack([X[:, 0], y, X[:, 1:]]).tolist()  # target in the middle
    f = _write(tmp_path / "data.csv", rows, header=["a", "target", "b", "c"])
    p = datasets.load_csv(f, target="target")
    assert p.name == "data"
    assert (p.n, p.d) == (6, 3)
    assert p.kind == "linear"
    _assert_X(p, X)
    np.testing.assert_allclose(np.asarray(p.y), y.astype(p.X.dtype), rtol=1e-6)


def test_csv_no_header_target_by_negative_index(tmp_path, table):
    X, y = table
    f = _write(tmp_path / "plain.csv", np.column_stack([X, y]).tolist())
    p = datasets.load_csv(f, target=-1, header=False)
    assert p.n == 6 and p.d == 3
    _assert_X(p, X)
    np.testing.assert_allclose(np.asarray(p.y), y.astype(p.X.dtype), rtol=1e-6)
    # the same by a non-negative index
    q = datasets.load_csv(f, target=3)
    np.testing.assert_array_equal(np.asarray(q.X), np.asarray(p.X))


def test_csv_header_autodetection(tmp_path, table):
    X, y = table
    data = np.column_stack([X, y]).tolist()
    with_header = datasets.load_csv(
        _write(tmp_path / "h.csv", data, header=["x1", "x2", "x3", "y"]), target=-1
    )
    without = datasets.load_csv(_write(tmp_path / "n.csv", data), target=-1)
    # without a header the first row must be data, not swallowed as column names
    assert with_header.n == without.n == 6
    _assert_X(without, X)
    # one non-numeric cell is enough to make the first row a header
    f = tmp_path / "mixed.csv"
    f.write_text("1,2,label\n1,2,3\n4,5,6\n")
    p = datasets.load_csv(f, target="label")
    assert p.n == 2
    _assert_X(p, np.array([[1.0, 2.0], [4.0, 5.0]]))


def test_csv_explicit_header_true_with_numeric_names(tmp_path):
    f = tmp_path / "years.csv"
    f.write_text("2020,2021,2022\n1,2,3\n4,5,6\n")
    p = datasets.load_csv(f, target="2022", header=True)
    assert p.n == 2
    np.testing.assert_allclose(np.asarray(p.y), [3.0, 6.0])


def test_csv_blank_lines_skipped_but_counted(tmp_path):
    f = tmp_path / "gaps.csv"
    f.write_text("a,b,y\n\n1,2,3\n\n4,5,6\n7,8\n")
    with pytest.raises(ValueError, match=r"gaps\.csv line 6: expected 3 columns, got 2"):
        datasets.load_csv(f, target="y")
    f.write_text("a,b,y\n\n1,2,3\n\n4,5,6\n\n")
    assert datasets.load_csv(f, target="y").n == 2


def test_csv_ragged_row_line_number(tmp_path):
    f = tmp_path / "data.csv"
    f.write_text("x1,x2,y\n1,2,3\n4,5,6\n7,8,9\n1,2,3\n3,3,3\n1,2\n")
    with pytest.raises(ValueError, match=r"data\.csv line 7: expected 3 columns, got 2"):
        datasets.load_csv(f, target="y")


def test_csv_non_numeric_cell_line_and_column(tmp_path):
    f = tmp_path / "data.csv"
    f.write_text("x1,x2,y\n1,2,3\n4,5,6\n7,abc,9\n")
    with pytest.raises(ValueError, match=r"data\.csv line 4, column 'x2': 'abc' is not a number"):
        datasets.load_csv(f, target="y")
    f.write_text("1,2,3\n4,,6\n")
    with pytest.raises(ValueError, match=r"line 2, column index 1: '' is not a number"):
        datasets.load_csv(f, target=-1)
    f.write_text("x,y\n1,nan\n")
    with pytest.raises(ValueError, match=r"line 2, column 'y': 'nan' is not a finite number"):
        datasets.load_csv(f, target="y")


def test_csv_unknown_target_lists_columns(tmp_path):
    f = tmp_path / "data.csv"
    f.write_text("x1,x2,y\n1,2,3\n")
    with pytest.raises(ValueError, match=r"'x1', 'x2', 'y'"):
        datasets.load_csv(f, target="label")


def test_csv_target_name_without_header(tmp_path):
    f = tmp_path / "data.csv"
    f.write_text("1,2,3\n")
    with pytest.raises(ValueError, match="no header"):
        datasets.load_csv(f, target="y")


@pytest.mark.parametrize("target", [3, -4, 10])
def test_csv_target_index_out_of_range(tmp_path, target):
    f = tmp_path / "data.csv"
    f.write_text("1,2,3\n4,5,6\n")
    with pytest.raises(ValueError, match="out of range"):
        datasets.load_csv(f, target=target)


def test_csv_bad_kind(tmp_path):
    f = tmp_path / "data.csv"
    f.write_text("1,2,3\n")
    with pytest.raises(ValueError, match=r"kind must be one of linear, logistic, softmax"):
        datasets.load_csv(f, target=-1, kind="poisson")


def test_csv_missing_file(tmp_path):
    missing = tmp_path / "nope.csv"
    with pytest.raises(FileNotFoundError, match=r"nope\.csv"):
        datasets.load_csv(missing, target=0)


def test_csv_empty_file_and_header_only(tmp_path):
    f = tmp_path / "empty.csv"
    f.write_text("")
    with pytest.raises(ValueError, match="empty"):
        datasets.load_csv(f, target=0)
    f.write_text("\n\n")
    with pytest.raises(ValueError, match="empty"):
        datasets.load_csv(f, target=0)
    f.write_text("x,y\n")
    with pytest.raises(ValueError, match="no data rows"):
        datasets.load_csv(f, target="y")


def test_csv_logistic_and_bad_labels(tmp_path):
    f = tmp_path / "clf.csv"
    f.write_text("x,label\n0.5,0\n1.5,1\n-1,0\n2,1\n")
    p = datasets.load_csv(f, target="label", kind="logistic", l2=0.5, intercept=False)
    assert p.kind == "logistic"
    assert p.spec.l2 == 0.5 and not p.spec.intercept
    f.write_text("x,label\n0.5,0\n1.5,2\n")
    with pytest.raises(ValueError, match="0 or 1"):
        datasets.load_csv(f, target="label", kind="logistic")


def test_csv_softmax_num_classes_and_name_override(tmp_path):
    f = tmp_path / "multi.csv"
    f.write_text("x1,x2,c\n0,1,0\n1,0,1\n1,1,2\n")
    # intercept=False: class 3 has no rows, and its bias would have no finite optimum
    p = datasets.load_csv(
        f, target="c", kind="softmax", num_classes=4, name="mine", intercept=False
    )
    assert p.kind == "softmax"
    assert p.spec.num_classes == 4 and p.name == "mine"


def test_csv_standardize_and_delimiter(tmp_path):
    f = tmp_path / "semi.csv"
    f.write_text("a;b;y\n1;5;1\n2;5;2\n3;5;4\n")
    p = datasets.load_csv(f, target="y", delimiter=";", standardize=True)
    X = np.asarray(p.X, np.float64)
    np.testing.assert_allclose(X[:, 0], [-np.sqrt(1.5), 0.0, np.sqrt(1.5)], rtol=1e-6)
    assert np.all(X[:, 1] == 0.0)  # constant column: zeros, not NaN
    np.testing.assert_allclose(np.asarray(p.y), [1.0, 2.0, 4.0])  # the target is left alone


def test_csv_bom_and_whitespace(tmp_path):
    f = tmp_path / "excel.csv"
    f.write_bytes("\ufeffx , y\r\n 1 , 2\r\n3,4\r\n".encode())
    p = datasets.load_csv(f, target="y")
    _assert_X(p, np.array([[1.0], [3.0]]))


# --------------------------------------------------------------------------------------------
# CSV: every data error names its file, and the line where it is known
# --------------------------------------------------------------------------------------------


def test_csv_latin1_file_names_the_line_and_suggests_encoding(tmp_path):
    f = tmp_path / "export.csv"
    f.write_bytes("x,y\n1,2\n3,4\n# caf\u00e9\n".encode("latin-1"))
    with pytest.raises(
        ValueError, match=r"export\.csv line 4: byte b'\\xe9' cannot be decoded as utf-8.*encoding="
    ):
        datasets.load_csv(f, target="y")


@pytest.mark.parametrize("encoding", ["latin-1", "cp1252", "utf-16", "utf-8-sig"])
def test_csv_other_encodings(tmp_path, encoding):
    f = tmp_path / "enc.csv"
    f.write_bytes("\u00e9t\u00e9,y\n1,2\n3,4\n".encode(encoding))
    p = datasets.load_csv(f, target="y", encoding=encoding)
    assert p.n == 2
    with pytest.raises(ValueError, match=r"no column named target='x'.*'été'"):
        datasets.load_csv(f, target="x", encoding=encoding)


def test_csv_utf16_read_as_utf8_is_one_clear_error(tmp_path):
    f = tmp_path / "wide.csv"
    f.write_bytes("x,y\n1,2\n".encode("utf-16"))
    with pytest.raises(ValueError, match=r"wide\.csv line 1: .*cannot be decoded as utf-8"):
        datasets.load_csv(f, target="y")


def test_csv_unknown_encoding(tmp_path):
    f = tmp_path / "a.csv"
    f.write_text("1,2\n")
    with pytest.raises(ValueError, match="unknown encoding='klingon'"):
        datasets.load_csv(f, target=0, encoding="klingon")


def test_csv_row_longer_than_the_first(tmp_path):
    f = tmp_path / "wide.csv"
    f.write_text("x,y\n\n1,2\n3,4,5\n")
    with pytest.raises(ValueError, match=r"wide\.csv line 4: expected 2 columns, got 3"):
        datasets.load_csv(f, target="y")


def test_csv_trailing_empty_cell_is_not_a_short_row(tmp_path):
    f = tmp_path / "t.csv"
    f.write_text("x,z,y\n1,2,3\n4,5,\n")
    with pytest.raises(ValueError, match=r"t\.csv line 3, column 'y': '' is not a number"):
        datasets.load_csv(f, target="y")


def test_csv_quoted_line_break_counts_as_lines(tmp_path):
    f = tmp_path / "q.csv"
    f.write_text('x,y\n"1",2\n"a\nb",3\n\n5,six\n')
    with pytest.raises(ValueError, match=r"q\.csv line 3, column 'x': 'a\\nb' is not a number"):
        datasets.load_csv(f, target="y")
    f.write_text('x,y\n"1\n",2\n\n5,six\n')
    with pytest.raises(ValueError, match=r"q\.csv line 5, column 'y': 'six' is not a number"):
        datasets.load_csv(f, target="y")


def test_csv_quoted_numbers_parse(tmp_path):
    f = tmp_path / "q.csv"
    f.write_text('"x","y"\n"1.5", "2"\n')
    p = datasets.load_csv(f, target="y")
    np.testing.assert_allclose(np.asarray(p.X), [[1.5]])


@pytest.mark.parametrize(
    "text, match",
    [
        ("x,y\n1,1e400\n", r"'1e400' is not a finite number"),
        ("x,y\n1,inf\n", r"'inf' is not a finite number"),
        ("x,y\n1,1_000\n", r"'1_000' is not a number"),
        ("x,y\n1,0x10\n", r"'0x10' is not a number"),
        ("x,y\n1,\u0661\n", r"'\u0661' is not a number"),
        ("x,y\n1,2\x00\n", r"'2\\x00' is not a number"),
        ("x,y\n1,true\n", r"'true' is not a number"),
    ],
)
def test_csv_cells_that_are_not_finite_numbers(tmp_path, text, match):
    f = tmp_path / "c.csv"
    f.write_text(text)
    with pytest.raises(ValueError, match=r"c\.csv line 2, column 'y': " + match):
        datasets.load_csv(f, target="y")


def test_csv_data_errors_from_the_constructor_name_the_file(tmp_path):
    import jax

    f = tmp_path / "labels.csv"
    f.write_text("x,y\n1,0\n2,3\n")
    with pytest.raises(ValueError, match=r"labels\.csv: labels y must be 0 or 1, found 3"):
        datasets.load_csv(f, target="y", kind="logistic")
    f.write_text("x,y\n1,0\n2,20000\n")
    with pytest.raises(ValueError, match=r"labels\.csv: softmax: label 20000"):
        datasets.load_csv(f, target="y", kind="softmax")
    if not jax.config.jax_enable_x64:
        f.write_text("x,y\n1e39,0\n2,1\n")
        with pytest.raises(
            ValueError, match=r"labels\.csv line 2, column 'x': 1e\+39 overflows float32"
        ):
            datasets.load_csv(f, target="y")


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (dict(delimiter=";;"), ValueError, "delimiter must be one character"),
        (dict(delimiter='"'), ValueError, "delimiter must be one character"),
        (dict(delimiter=None), ValueError, "delimiter must be one character"),
        (dict(encoding=8), TypeError, "encoding must be a str"),
        (dict(standardize=1), TypeError, "standardize must be a bool"),
        (dict(header="yes"), TypeError, "header must be True, False or None"),
        (dict(target=True), TypeError, "target must be a column name"),
        (dict(target=1.0), TypeError, "target must be a column name"),
    ],
)
def test_csv_bad_arguments(tmp_path, kwargs, exc, match):
    f = tmp_path / "a.csv"
    f.write_text("1,2\n3,4\n")
    kwargs.setdefault("target", 0)
    with pytest.raises(exc, match=match):
        datasets.load_csv(f, **kwargs)


def test_csv_directory_is_a_value_error(tmp_path):
    with pytest.raises(ValueError, match="is a directory"):
        datasets.load_csv(tmp_path, target=0)


def test_csv_whitespace_only_lines_are_blank_and_counted(tmp_path):
    f = tmp_path / "w.csv"
    f.write_text("x,y\n  \n1,2\n\t\n3,z\n")
    with pytest.raises(ValueError, match=r"w\.csv line 5, column 'y': 'z'"):
        datasets.load_csv(f, target="y")
    f.write_text("x,y\r\n\r\n1,2\r3,4\r\n")
    assert datasets.load_csv(f, target="y").n == 2


def test_csv_features_pick_columns_and_skip_text_ones(tmp_path):
    f = tmp_path / "people.csv"
    f.write_text("name,age,score,y\nann,30,1.5,1\nbob,40,2.5,0\n")
    p = datasets.load_csv(f, target="y", features=["score", 1], kind="logistic")
    np.testing.assert_array_equal(np.asarray(p.X), [[1.5, 30], [2.5, 40]])
    np.testing.assert_array_equal(np.asarray(p.y), [1, 0])


@pytest.mark.parametrize(
    "text, features, exc, match",
    [
        ("a,b,y\n1,2,3\n", [], TypeError, r"features must be a non-empty list"),
        ("a,b,y\n1,2,3\n", "a", TypeError, r"features must be a non-empty list"),
        ("a,b,y\n1,2,3\n", [True], TypeError, r"features must hold column names"),
        ("a,b,y\n1,2,3\n", ["c"], ValueError, r"f\.csv: no column named features column 'c'"),
        ("a,b,y\n1,2,3\n", [5], ValueError, r"f\.csv: features column 5 out of range"),
        ("a,b,y\n1,2,3\n", ["a", 0], ValueError, r"f\.csv: features name column 'a' twice"),
        ("a,b,y\n1,2,3\n", ["y"], ValueError, r"f\.csv: features include the target"),
        ("1,2,3\n4,5,6\n", ["a"], ValueError, r"f\.csv: features column 'a' is a column name"),
        # the first bad cell of the columns used, with its line
        ("n,a,b,y\nq,1,2,3\nr,4,z,6\n", ["b", "a"], ValueError, r"f\.csv line 3, column 'b'"),
    ],
)
def test_csv_bad_features(tmp_path, text, features, exc, match):
    f = tmp_path / "f.csv"
    f.write_text(text)
    with pytest.raises(exc, match=match):
        datasets.load_csv(f, target=-1, features=features, header=None)


@pytest.mark.parametrize(
    "text, match",
    [
        # comment lines (first non-blank character '#') are skipped and counted, like blank ones
        ("# made by hand\nx,y\n1,2\n3,zz\n", r"c\.csv line 4, column 'y': 'zz'"),
        ("# made by hand\n1,2\n3,zz\n", r"c\.csv line 3, column index 1: 'zz'"),
        ("x,y\n  # a note\n1,2\n\n# another\n3,zz\n", r"c\.csv line 6, column 'y'"),
        ("#\n# two\nx,y\n1,2\n1,2,3\n", r"c\.csv line 5: expected 2 columns, got 3"),
        # a '#' that starts a line inside a quoted cell is the cell's text, not a comment
        ('x,y\n"a\n# b",2\n', r"c\.csv line 2, column 'x': 'a\\n# b' is not a number"),
    ],
)
def test_csv_comment_lines_keep_line_numbers_true(tmp_path, text, match):
    f = tmp_path / "c.csv"
    f.write_text(text)
    with pytest.raises(ValueError, match=match):
        datasets.load_csv(f, target=-1)


def test_csv_comment_lines_are_skipped(tmp_path):
    f = tmp_path / "c.csv"
    f.write_text("# x,y written by numpy.savetxt\n1,2\n# note\n3,4\n")
    p = datasets.load_csv(f, target=-1)
    np.testing.assert_array_equal(np.asarray(p.y), [2, 4])
    np.testing.assert_array_equal(np.asarray(p.X), [[1], [3]])
