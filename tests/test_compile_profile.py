"""benchmarks/_compile_profile.py, which the cold-cache benchmarks (bench_cold_start.py,
bench_notebooks.py --profile) use to say which kernels' compiles a first call pays: each
compile is attributed to its kernel, a caller's self time excludes its callees' compiles, and
the rows written to a file read back. Not timed (the figures are the benchmarks')."""

from numba import njit
from script_module import load_script


def _module():
    return load_script("benchmarks/_compile_profile.py")


def test_nested_compiles_are_attributed_to_each_kernel(tmp_path):
    cp = _module()

    @njit
    def inner(x):
        return x * 2.0 + 1.0

    @njit
    def outer(x):
        return inner(x) - 3.0

    path = tmp_path / "rows.jsonl"
    prof = cp.install(str(path))
    try:
        assert outer(2.0) == 2.0
        outer(3.0)                     # compiled: no second row
    finally:
        prof.close()
    names = [r[0] for r in prof.rows]
    assert len(names) == 2 and names[0].endswith("inner") and names[1].endswith("outer"), names
    (_, in_self, in_total, in_args), (_, out_self, out_total, _) = prof.rows
    assert in_self == in_total > 0.0                       # no callee of its own
    assert out_total >= in_total and abs(out_self - (out_total - in_total)) < 1e-9
    assert "float64" in in_args
    assert cp.read_rows(str(path)) == [tuple(r) for r in prof.rows]
    lines = cp.summary(prof.rows, top=1)
    assert lines[0].startswith("2 signatures compiled") and len(lines) == 2
    inner(1)                          # after close: a new compile (int64) is not recorded
    assert len(prof.rows) == 2
