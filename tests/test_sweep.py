"""il.sweep: grids, per-point seeds, failures, Parquet resume, and a two-worker Dask cluster."""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import polars as pl
import pytest

import infra_lab as il
from infra_lab.errors import ValidationError

sweep_mod = il.sweep  # the function; it carries the helpers (grid_points, failures, ...)

GRID = {"x": [0.0, 1.0, 2.0, 3.0, 4.0], "k": [1, 2], "tag": ["a", "b"]}


def noisy(x, k, tag, seed):
    """A point function with randomness from its seed and mixed output types."""
    rng = np.random.default_rng(seed)
    return {"y": x * k + rng.normal(), "label": f"{tag}{k}", "big": x > 2.0}


def fails_at_three(x, k, tag):
    if x == 3.0:
        raise ValueError(f"no answer at x={x}")
    return {"y": x * k}


def as_frame_row(x, k, tag):
    return pl.DataFrame({"y": [x + k], "tag_len": [len(tag)]})


CALLS: list[float] = []


def counted(x, k, tag, stop_at=None):
    if x == stop_at:
        raise KeyboardInterrupt  # stands for a user interrupt / killed notebook kernel
    CALLS.append((x, k, tag))
    return {"y": x * k}


@pytest.fixture(scope="module")
def client():
    """One small two-worker LocalCluster (processes) for the whole module."""
    import cloudpickle
    import dask.distributed as distributed  # a dependency: a missing one fails, not skips

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers lack tests/ on path
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None, memory_limit="1GiB")
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()


# --------------------------------------------------------------------------- grid and seeds
def test_grid_is_cartesian_product_in_order():
    pts = sweep_mod.grid_points(GRID)
    assert len(pts) == 5 * 2 * 2
    assert pts[0] == {"x": 0.0, "k": 1, "tag": "a"}
    assert pts[1] == {"x": 0.0, "k": 1, "tag": "b"}
    assert pts[-1] == {"x": 4.0, "k": 2, "tag": "b"}


def test_frame_grid_gives_one_row_per_point():
    pts = pl.DataFrame({"x": [1.0, 5.0], "k": [3, 4], "tag": ["p", "q"]})
    df = il.sweep(noisy, pts, progress=False)
    assert df.height == 2 and df["point"].to_list() == [0, 1]
    assert df.select("x", "k", "tag").equals(pts)


def test_seed_depends_on_point_and_base_seed_only():
    p = {"x": 1.0, "k": 2, "tag": "a"}
    assert sweep_mod.point_seed(p, 3) == sweep_mod.point_seed(dict(reversed(p.items())), 3)
    assert sweep_mod.point_seed(p, 3) != sweep_mod.point_seed(p, 4)
    assert sweep_mod.point_seed(p, 3) != sweep_mod.point_seed({**p, "x": 2.0}, 3)
    assert 0 <= sweep_mod.point_seed(p, 3) < 2**63


def test_seeds_and_results_independent_of_chunking():
    frames = [il.sweep(noisy, GRID, seed=11, chunk_size=c, progress=False) for c in (1, 3, 20)]
    assert frames[0].equals(frames[1]) and frames[0].equals(frames[2])
    # a reordered grid gives each point the same seed and the same answer
    rev = il.sweep(noisy, {k: list(reversed(v)) for k, v in GRID.items()}, seed=11,
                   progress=False)
    key = ["x", "k", "tag"]
    assert rev.drop("point").sort(key).equals(frames[0].drop("point").sort(key))
    # and the base seed matters
    other = il.sweep(noisy, GRID, seed=12, progress=False)
    assert not np.allclose(other["y"].to_numpy(), frames[0]["y"].to_numpy())


def test_columns_and_types():
    df = il.sweep(noisy, GRID, progress=False)
    assert df.columns == ["point", "x", "k", "tag", "seed", "y", "label", "big", "error"]
    assert df.schema["big"] == pl.Boolean and df.schema["label"] == pl.String
    assert df["error"].null_count() == df.height
    assert df["seed"].n_unique() == df.height


def test_frame_row_outputs():
    df = il.sweep(as_frame_row, GRID, progress=False)
    assert df.filter(pl.col("x") == 2.0, pl.col("k") == 2)["y"].unique().to_list() == [4.0]
    assert set(df["tag_len"].to_list()) == {1}


def test_failing_point_reported_with_inputs_not_lost():
    with pytest.warns(UserWarning, match=r"4 of 20 points failed.*x': 3\.0.*ValueError"):
        df = il.sweep(fails_at_three, GRID, progress=False)
    assert df.height == 20
    bad = sweep_mod.failures(df)
    assert bad.height == 4 and set(bad["x"].to_list()) == {3.0}
    assert bad["error"].str.starts_with("ValueError: no answer at x=3.0").all()
    assert "y" not in bad.columns  # only inputs, seed and the error
    good = df.filter(pl.col("error").is_null())
    assert good.height == 16 and good["y"].null_count() == 0


def test_bad_return_is_a_reported_failure():
    with pytest.warns(UserWarning, match="expected a dict"):
        df = il.sweep(lambda x: [x], {"x": [1, 2]}, progress=False)
    assert df["error"].str.contains(r"fn returned \[\d\] \(a list\)").all()   # the value, not only its type
    with pytest.warns(UserWarning, match="clashes"):
        df = il.sweep(lambda x: {"x": x}, {"x": [1]}, progress=False)


def test_resume_after_interruption(tmp_path):
    out = tmp_path / "store"
    CALLS.clear()
    with pytest.raises(KeyboardInterrupt):
        il.sweep(counted, GRID, out=out, chunk_size=4, progress=False,
                 fn_kwargs={"stop_at": 3.0})
    first = list(CALLS)
    assert 0 < len(first) < 20
    stored = sweep_mod.load_results(out)
    assert stored.height == 12  # the three chunks finished before x = 3.0 (points 12..15)
    CALLS.clear()
    with pytest.warns(UserWarning, match="filled by another call: fn_kwargs"):   # stop_at was a kwarg
        df = il.sweep(counted, GRID, out=out, chunk_size=4, progress=False)
    assert len(CALLS) == 8  # only the points not yet stored
    assert set(CALLS).isdisjoint({(r["x"], r["k"], r["tag"]) for r in stored.to_dicts()})
    full = il.sweep(counted, GRID, progress=False)
    assert df.equals(full)
    # a third call evaluates nothing and returns the same frame from the store
    CALLS.clear()
    with pytest.warns(UserWarning, match="filled by another call"):
        again = il.sweep(counted, GRID, out=out, progress=False)
    assert CALLS == [] and again.equals(full)


def test_resume_retries_failed_points(tmp_path):
    out = tmp_path / "store"
    with pytest.warns(UserWarning):
        il.sweep(fails_at_three, GRID, out=out, progress=False)
    CALLS.clear()
    with pytest.warns(UserWarning, match=r"fn '[\w.]*fails_at_three'"):   # the fixed function
        df = il.sweep(counted, GRID, out=out, progress=False)
    assert len(CALLS) == 4 and {c[0] for c in CALLS} == {3.0}
    assert df["error"].null_count() == 20
    with pytest.warns(UserWarning):
        il.sweep(fails_at_three, GRID, out=tmp_path / "s2", progress=False)
    CALLS.clear()
    with pytest.warns(UserWarning):
        kept = il.sweep(counted, GRID, out=tmp_path / "s2", progress=False, retry_failed=False)
    assert CALLS == [] and kept["error"].is_not_null().sum() == 4


def test_resume_with_another_base_seed_evaluates_again(tmp_path):
    """Rows stored with another base seed are not this sweep's: they used to come back
    unchanged (old seed column, old random outputs); now they are evaluated again with a
    warning, and the frame equals the sweep without a store."""
    import warnings

    out = tmp_path / "store"
    a = il.sweep(noisy, GRID, seed=1, out=out, progress=False)
    with pytest.warns(UserWarning, match="another base seed"):
        b = il.sweep(noisy, GRID, seed=2, out=out, progress=False)
    assert b.equals(il.sweep(noisy, GRID, seed=2, progress=False))
    assert (b["seed"] != a["seed"]).all()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again = il.sweep(noisy, GRID, seed=1, out=out, progress=False)   # both seeds stored now
    assert again.equals(a)


def test_validation_errors():
    with pytest.raises(ValidationError, match=r"grid\['x'\] = 3: expected a list"):
        il.sweep(noisy, {"x": 3})
    with pytest.raises(ValidationError, match="expected a list"):
        il.sweep(noisy, {"x": "abc"})
    with pytest.raises(ValidationError, match="is empty"):
        il.sweep(noisy, {"x": []})
    with pytest.raises(ValidationError, match="reserved"):
        il.sweep(noisy, {"seed": [1]})
    with pytest.raises(ValidationError, match="identifier"):
        il.sweep(noisy, {"not a name": [1]})
    with pytest.raises(ValidationError, match="must be finite"):
        il.sweep(noisy, {"x": [float("nan")]})
    with pytest.raises(ValidationError, match="repeated point"):
        il.sweep(noisy, {"x": [1.0, 1.0]})
    with pytest.raises(ValidationError, match="expected a callable"):
        il.sweep(3, {"x": [1]})
    with pytest.raises(ValidationError, match="seed = '1'"):
        il.sweep(noisy, {"x": [1]}, seed="1")
    with pytest.raises(ValidationError, match="chunk_size"):
        il.sweep(noisy, {"x": [1]}, chunk_size=0)
    with pytest.raises(ValidationError, match=r"client = 4: expected None"):   # the value, not "int"
        il.sweep(noisy, {"x": [1]}, client=4)
    with pytest.raises(ValidationError, match="progress"):
        il.sweep(noisy, {"x": [1]}, progress="yes")
    with pytest.raises(ValidationError, match="objects inside fn"):
        il.sweep(noisy, {"x": [object()]})


def test_il_sweep_callable_even_after_submodule_import():
    # importing the submodule first must not turn il.sweep into a non-callable module
    code = ("import infra_lab.sweep, infra_lab as il, sys; "
            "df = il.sweep(lambda a: {'b': a + 1}, {'a': [1, 2]}, progress=False); "
            "assert df['b'].to_list() == [2, 3]; assert 'dask' not in sys.modules; print('ok')")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr


def test_import_infra_lab_stays_light():
    r = subprocess.run([sys.executable, "-c",
                        "import infra_lab as il, sys; il.sweep; "
                        "print(sorted(m for m in ('dask', 'distributed', 'tqdm') "
                        "if m in sys.modules))"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == "[]", r.stderr


# --------------------------------------------------------------------------- on the cluster
def test_cluster_gives_the_same_frame_as_in_process(client):
    local = il.sweep(noisy, GRID, seed=5, progress=False)
    remote = il.sweep(noisy, GRID, client, seed=5, progress=False)
    assert len(client.scheduler_info()["workers"]) == 2
    assert remote.equals(local)
    remote1 = il.sweep(noisy, GRID, client, seed=5, chunk_size=1, progress=False)
    assert remote1.equals(local)


def test_cluster_failing_point_reported(client):
    with pytest.warns(UserWarning, match="4 of 20 points failed"):
        df = il.sweep(fails_at_three, GRID, client, progress=False)
    assert sweep_mod.failures(df)["x"].unique().to_list() == [3.0]
    assert df.filter(pl.col("error").is_null()).height == 16


def test_cluster_resume_from_store(client, tmp_path):
    out = tmp_path / "store"
    part = {"x": [0.0, 1.0], "k": [1, 2], "tag": ["a", "b"]}
    il.sweep(noisy, part, client, seed=2, out=out, progress=False)
    assert sweep_mod.load_results(out).height == 8
    df = il.sweep(noisy, GRID, client, seed=2, out=out, progress=False)
    assert sweep_mod.load_results(out).height == 20  # only the 12 new points were added
    assert df.equals(il.sweep(noisy, GRID, seed=2, progress=False))


def _double(x):
    return {"y": 2 * x}


def _triple(x):
    return {"y": 3 * x}


def _scaled(x, factor):
    return {"y": factor * x}


def test_resume_refuses_a_folder_another_function_filled(tmp_path):
    """out= remembers the function (and its plain fn_kwargs) that filled it: resuming the same
    call reads the stored rows silently; another function or other fn_kwargs give a warning
    naming both (they used to return the first call's rows for the shared points unannounced;
    a fixed function resuming its failed points is a legitimate use, so the rows are kept)."""
    out = tmp_path / "s"
    a = il.sweep(_double, {"x": [1, 2]}, out=out, progress=False)
    assert a["y"].to_list() == [2, 4]
    assert il.sweep(_double, {"x": [1, 2, 3]}, out=out, progress=False)["y"].to_list() == [2, 4, 6]
    with pytest.warns(UserWarning, match="_double.*this call.*_triple"):
        mixed = il.sweep(_triple, {"x": [1, 2, 4]}, out=out, progress=False)
    assert mixed["y"].to_list() == [2, 4, 12]   # stored points kept, as the warning says
    out2 = tmp_path / "k"
    il.sweep(_scaled, {"x": [1]}, out=out2, progress=False, fn_kwargs={"factor": 2})
    with pytest.warns(UserWarning, match="fn_kwargs"):
        il.sweep(_scaled, {"x": [1]}, out=out2, progress=False, fn_kwargs={"factor": 5})
    assert il.sweep(_scaled, {"x": [1]}, out=out2, progress=False, fn_kwargs={"factor": 2})["y"].to_list() == [2]


def test_an_out_folder_that_cannot_be_created_is_named(tmp_path):
    """out= under a path that cannot hold a folder raised the OS's bare FileNotFoundError /
    NotADirectoryError from mkdir; the record file's write already said 'cannot be written'."""
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    for out in (blocker / "runs", "/proc/infra-lab-sweep-test"):
        with pytest.raises(ValidationError, match=r"^out = .*: cannot be created \("):
            il.sweep(lambda x: {"y": x}, {"x": [1]}, out=out, progress=False)


def test_an_unreadable_part_file_is_named(tmp_path):
    """A damaged part file in out= raised polars' ComputeError ('File out of specification')
    without naming the file; it is a ValidationError naming it and what to do."""
    (tmp_path / "part-00000.parquet").write_text("garbage")
    with pytest.raises(ValidationError, match=r"part-00000\.parquet.*cannot be read.*delete it"):
        il.sweep(lambda x: {"y": x}, {"x": [1]}, out=tmp_path, progress=False)
    with pytest.raises(ValidationError, match=r"part-00000\.parquet"):
        il.sweep.load_results(tmp_path)


def test_a_grid_axis_mixing_kinds_is_refused_naming_it():
    """A grid axis of numbers and strings came back as a string column (1 as '1', next to 'auto')
    and [True, 2] as the integers 1, 2, while fn received the values as given: refused before any
    point runs, naming the axis and the two values. Integers with floats (a Float64 column) and None
    with any kind stay accepted."""
    calls = []

    def f(x, k=0):
        calls.append(x)
        return {"y": 1}

    with pytest.raises(ValidationError, match=r"grid\['x'\] mixes numbers and strings \(1, 'auto'\)"):
        il.sweep(f, {"k": [0], "x": [1, "auto", 2]}, progress=False)
    with pytest.raises(ValidationError, match=r"grid\['x'\] mixes booleans and numbers \(True, 2\)"):
        il.sweep(f, {"x": [True, 2]}, progress=False)
    with pytest.raises(ValidationError, match=r"grid\['x'\] mixes strings and booleans"):
        il.sweep(f, {"x": [None, "a", False]}, progress=False)
    assert calls == []
    df = il.sweep(f, {"x": [1, 2.5, None]}, progress=False)
    assert df.schema["x"] == pl.Float64 and df["x"].to_list() == [1.0, 2.5, None]
    assert il.sweep(f, {"x": ["1", "auto"]}, progress=False)["x"].to_list() == ["1", "auto"]


def test_an_output_mixing_kinds_is_warned_about():
    """fn returning a number at one point and a string at another: the column is polars' String
    (a failing point never stops a sweep, so it is said, not refused)."""
    with pytest.warns(UserWarning, match=r"output 'y' mixes numbers and strings \(1, 's'\).*String"):
        df = il.sweep(lambda x: {"y": 1 if x == 1 else "s"}, {"x": [1, 2]}, progress=False)
    assert df["y"].to_list() == ["1", "s"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        il.sweep(lambda x: {"y": 1 if x == 1 else 2.5, "z": None if x == 1 else "a"}, {"x": [1, 2]},
                 progress=False)


def test_out_named_like_a_file_is_refused(tmp_path):
    """out='x.txt' made a FOLDER named x.txt: a new out= with a file suffix is refused naming the
    value and what out= takes; an existing folder of that name is still taken."""
    for name in ("x.txt", "results.csv", "res.PARQUET"):
        with pytest.raises(ValidationError, match=rf"out = '.*{name}' names a \.\w+ file: out= is a folder"):
            il.sweep(_double, {"x": [1]}, out=tmp_path / name, progress=False)
        assert not (tmp_path / name).exists()
    (tmp_path / "old.parquet").mkdir()
    assert il.sweep(_double, {"x": [1]}, out=tmp_path / "old.parquet", progress=False)["y"].to_list() == [2]
    assert il.sweep(_double, {"x": [1]}, out=tmp_path / "run.v2", progress=False)["y"].to_list() == [2]


@pytest.mark.parametrize(("grid", "shown"), [
    ([("nodes", [32, 64])], r"grid = \[\('nodes', \[32, 64\]\)\] \(a list\)"),
    ("nodes", r"grid = 'nodes'"),
    (128, r"grid = 128"),
])
def test_a_grid_that_is_not_a_mapping_is_refused_naming_its_value(grid, shown):
    """`il.sweep(fn, [("nodes", [32, 64])])` said "grid = list: expected a dict …": the type,
    not the value typed; the message now quotes the value (and its type when not a scalar)."""
    with pytest.raises(ValidationError, match=shown + r": expected a dict of name → list of values"):
        il.sweep(lambda nodes: {"y": nodes}, grid, progress=False)


def test_a_grid_value_that_is_an_object_is_named_with_its_type():
    with pytest.raises(ValidationError, match=r"grid\['x'\] contains \(1, 2\) \(a tuple\): grid values must be"):
        il.sweep(lambda x: {"y": 1}, {"x": [(1, 2)]}, progress=False)


def test_sweep_signature_does_not_depend_on_import_order():
    """``import infra_lab.sweep`` before ``il.sweep`` is read makes il.sweep the callable module;
    its signature (help, tab completion, keyword checks) must still be the function's."""
    code = ("import inspect, infra_lab.sweep, infra_lab as il; "
            "assert il.sweep is infra_lab.sweep, 'expected the module'; "
            "print(inspect.signature(il.sweep) == inspect.signature(il.sweep.sweep), "
            "list(inspect.signature(il.sweep).parameters)[:2])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "['fn',", "'grid']"], out.stdout + out.stderr
