"""Parameter sweeps: a function over a grid of points, in-process or on a Dask cluster.

``il.sweep(fn, grid)`` evaluates ``fn(**point)`` for every point of a grid and returns a
polars frame with one row per point: the inputs, a deterministic per-point ``seed``, the
outputs and an ``error`` column (null where the point succeeded). The same call runs the
points on a Dask cluster when given a ``dask.distributed.Client`` (a ``LocalCluster`` on a
laptop, or a scheduler address such as ``"tcp://scheduler:8786"`` on a real cluster), in
coarse chunks of points per task. With ``out=`` every finished chunk is written to a
Parquet file in that folder as soon as it arrives, so an interrupted sweep started again
with the same ``out=`` skips the points already done.

Design notes
------------
* **Points are identified by their values**, not their position: a point's key is a
  canonical JSON of its sorted ``name = value`` pairs. The per-point seed is a hash of the
  base seed and that key, so it does not depend on the chunk size, the number of workers, the
  order of the grid or which points were already done.
* **A failing point never stops the sweep**: the exception is caught inside the task and
  reported in the ``error`` column as ``"Type: message"`` with the point's inputs; a worker
  that dies is reported the same way for every point of its chunk. A warning says how many
  points failed. ``KeyboardInterrupt`` and other ``BaseException`` stop the sweep (what was
  already written to ``out=`` stays).
* Dask and tqdm are imported only when a sweep runs (``import infra_lab`` stays light).

Examples
--------
>>> import infra_lab as il
>>> def area(w, h):
...     return {"area_m2": w * h}
>>> df = il.sweep(area, {"w": [1.0, 2.0], "h": [3.0, 4.0]}, progress=False)
>>> df.select("w", "h", "area_m2").rows()
[(1.0, 3.0, 3.0), (1.0, 4.0, 4.0), (2.0, 3.0, 6.0), (2.0, 4.0, 8.0)]
"""

from __future__ import annotations

import hashlib
import inspect
import itertools
import json
import math
import os
import sys
import types
import uuid
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from . import _validate as V
from .errors import ValidationError, named_keywords, short_repr, user_stacklevel

__all__ = ["sweep", "grid_points", "point_seed", "point_key", "failures", "load_results",
           "RESERVED_COLUMNS"]

#: Column names the sweep adds; a grid or an output may not use them.
RESERVED_COLUMNS = ("point", "seed", "error", "_key")

_SCALARS = (bool, int, float, str, type(None))


# --------------------------------------------------------------------------- points
def _scalar(name: str, v: Any) -> Any:
    """A grid value as a plain Python scalar (numpy scalars unwrapped)."""
    if isinstance(v, np.generic):
        v = v.item()
    if not isinstance(v, _SCALARS):
        raise ValidationError(
            f"grid[{name!r}] contains {short_repr(v)}: grid values must be "
            "numbers, strings, booleans or None (build objects inside fn from them)")
    if isinstance(v, float) and not math.isfinite(v):
        raise ValidationError(f"grid[{name!r}] contains {v!r}: values must be finite")
    return v


def _kind(v: Any) -> str | None:
    """A grid or output value's kind for a frame column: 'number' (int or float: a column of both
    is Float64), 'string', 'boolean', other types by name; None (a null) has none."""
    if v is None:
        return None
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, (int, float)):
        return "number"
    return "string" if isinstance(v, str) else type(v).__name__


def _mixed_kinds(values: Sequence[Any]) -> tuple[Any, Any] | None:
    """The first two values of different kinds (None where all have one kind, nulls aside)."""
    first = None
    for v in values:
        k = _kind(v)
        if k is None:
            continue
        if first is None:
            first = (k, v)
        elif k != first[0]:
            return first[1], v
    return None


def _check_axis_kinds(name: str, values: list[Any]) -> None:
    """Refuse a grid axis mixing numbers, strings and booleans: a polars column has one type, so
    ``[1, "auto"]`` came back as the strings ``"1"``, ``"auto"`` (and ``[True, 2]`` as 1, 2),
    while fn received the values as given. Integers with floats are one kind (the column is
    Float64); None (a null) goes with any kind."""
    mixed = _mixed_kinds(values)
    if mixed is not None:
        a, b = mixed
        raise ValidationError(
            f"grid[{name!r}] mixes {_kind(a)}s and {_kind(b)}s ({a!r}, {b!r}): a frame column holds one "
            f"type, so the result would not show the values fn received; give the axis values of one "
            f"kind (e.g. all strings, converted inside fn, or None for 'no value' next to numbers)")


def _check_name(name: Any) -> str:
    if not isinstance(name, str) or not name.isidentifier():
        raise ValidationError(
            f"grid parameter name {name!r}: expected a Python identifier (it is passed to fn "
            "as a keyword argument)")
    if name in RESERVED_COLUMNS:
        raise ValidationError(
            f"grid parameter name {name!r} is reserved; reserved: {', '.join(RESERVED_COLUMNS)}")
    return name


def grid_points(grid: Mapping[str, Sequence] | pl.DataFrame) -> list[dict[str, Any]]:
    """The points of a grid, in order, as a list of ``{name: value}`` dicts.

    Parameters
    ----------
    grid : dict of name → list of values (the Cartesian product, the last name varying
        fastest, as :func:`itertools.product`), or a polars DataFrame with one row per point

    Examples
    --------
    >>> grid_points({"a": [1, 2], "b": ["x"]})
    [{'a': 1, 'b': 'x'}, {'a': 2, 'b': 'x'}]
    """
    if isinstance(grid, pl.DataFrame):
        if grid.height == 0 or grid.width == 0:
            raise ValidationError(f"grid frame of shape {grid.shape}: expected at least one "
                                  "row and one column")
        names = [_check_name(c) for c in grid.columns]
        rows = grid.to_dicts()
        return [{n: _scalar(n, r[n]) for n in names} for r in rows]
    if not isinstance(grid, Mapping):
        raise ValidationError(
            f"grid = {short_repr(grid)}: expected a dict of name → list of values, or a "
            "polars DataFrame of points")
    if not grid:
        raise ValidationError("grid = {}: expected at least one parameter")
    names, values = [], []
    for name, vals in grid.items():
        _check_name(name)
        if isinstance(vals, (str, bytes)) or not isinstance(
                vals, (Sequence, np.ndarray, pl.Series, range)):
            raise ValidationError(
                f"grid[{name!r}] = {short_repr(vals)}: expected a list of values (wrap a single value "
                "in a list)")
        vals = list(vals)
        if not vals:
            raise ValidationError(f"grid[{name!r}] is empty: expected at least one value")
        names.append(name)
        values.append([_scalar(name, v) for v in vals])
        _check_axis_kinds(name, values[-1])
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*values)]


def point_key(point: Mapping[str, Any]) -> str:
    """The canonical identity of a point: JSON of its sorted ``[name, value]`` pairs."""
    return json.dumps([[k, point[k]] for k in sorted(point)], separators=(",", ":"))


def point_seed(point: Mapping[str, Any], base_seed: int = 0) -> int:
    """A deterministic 63-bit seed for a point, from the base seed and the point's values.

    Independent of chunking, worker count and grid order (a hash, BLAKE2b, of the base seed
    and :func:`point_key`).

    Examples
    --------
    >>> point_seed({"a": 1}, 7) == point_seed({"a": 1}, 7) != point_seed({"a": 2}, 7)
    True
    """
    h = hashlib.blake2b(f"{int(base_seed)}|{point_key(point)}".encode(), digest_size=8)
    return int.from_bytes(h.digest(), "little") >> 1


# --------------------------------------------------------------------------- evaluation
def _result_types() -> tuple[type, ...]:
    """The result classes of the contract calls (imported only when fn returns something that is
    neither a dict nor a frame: a sweep of plain functions needs no model)."""
    from .collectives import CollectiveResult
    from .serving.core import ServeResult
    from .training.step import Estimate
    return Estimate, ServeResult, CollectiveResult


def _as_row(result: Any, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """fn's return value (dict, one-row frame, or the result of a contract call: an
    :class:`~infra_lab.training.Estimate`, a :class:`~infra_lab.serving.ServeResult` or a
    :class:`~infra_lab.collectives.CollectiveResult`) as a dict of output columns. A result is
    its documented scalars, ``to_dict()`` (an Estimate's step_time_s, tokens_per_s, mfu, ...,
    the breakdown as ``<component>_s``; a collective's notes joined with "; "); one of those
    named like an input (a grid over ``stack`` or ``gpus``) is left out when it equals the
    input (the point's column holds it), and refused like any clash when it differs."""
    orig = result
    is_result = not isinstance(result, (Mapping, pl.DataFrame)) and isinstance(result, _result_types())
    if is_result:
        result = {k: "; ".join(v) if k == "notes" and isinstance(v, tuple) else v
                  for k, v in result.to_dict().items() if not (k in inputs and _same(inputs[k], v))}
    if isinstance(result, pl.DataFrame):
        if result.height != 1:
            raise ValidationError(f"fn returned a frame of {result.height} rows: expected "
                                  "one row (or a dict)")
        result = result.row(0, named=True)
    if not isinstance(result, Mapping):
        raise ValidationError(f"fn returned {short_repr(result)}: expected a dict of "
                              "outputs (name -> value, one column each), a one-row polars DataFrame "
                              "or the result of il.estimate / il.serve / il.collective (an Estimate, ServeResult or "
                              "CollectiveResult: its to_dict() scalars)")
    row = {}
    for k, v in result.items():
        if not isinstance(k, str):
            raise ValidationError(f"fn returned output name {k!r}: expected a string")
        if is_result and k in inputs:
            raise ValidationError(f"fn returned a {type(orig).__name__} whose {k} = {v!r} differs from the input "
                                  f"{k} = {inputs[k]!r}: rename the grid's {k!r}, or return "
                                  f"{{k: v for k, v in result.to_dict().items() if k != {k!r}}}")
        if k in inputs or k in RESERVED_COLUMNS:
            raise ValidationError(f"fn returned output {k!r}, which clashes with an input or a "
                                  f"reserved column ({', '.join(RESERVED_COLUMNS)})")
        row[k] = v.item() if isinstance(v, np.generic) else v
    return row


def _same(a: Any, b: Any) -> bool:
    """Whether an input and an output of the same name hold the same value (False when they
    cannot be compared)."""
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001 -- an array or other value without a truth: not the same
        return False


def _run_chunk(fn: Callable, points: list[dict], seeds: list[int], pass_seed: bool,
               kwargs: dict) -> list[tuple[dict | None, str | None]]:
    """Evaluate one chunk of points (runs in-process or on a Dask worker)."""
    res = []
    for p, s in zip(points, seeds, strict=True):
        try:
            out = fn(**p, **kwargs, seed=s) if pass_seed else fn(**p, **kwargs)
            res.append((_as_row(out, p), None))
        except Exception as e:  # noqa: BLE001 — every failure is reported, never lost
            res.append((None, f"{type(e).__name__}: {e}"))
    return res


def _wants_seed(fn: Callable, seed_arg: bool | None) -> bool:
    if seed_arg is not None:
        if not isinstance(V.scalar(seed_arg), (bool, np.bool_)):
            raise ValidationError(f"pass_seed = {seed_arg!r}: expected True, False or None")
        return bool(V.scalar(seed_arg))
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return "seed" in params and params["seed"].kind in (
        inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


def _check_call(fn: Callable, names: list[str], kwargs: Mapping[str, Any], wants_seed: bool) -> None:
    """Refuse, before any point runs, a grid whose names ``fn`` cannot take (or that leaves out
    one it needs): every point would fail with the same TypeError. A name ``fn`` does not have
    gets the nearest parameter ("grid parameter 'nodez' ... Did you mean 'nodes'?"); ``fn``
    with ``**kwargs``, or whose signature Python cannot read, is not checked."""
    from .errors import unknown

    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return
    P = inspect.Parameter
    params = sig.parameters
    named = [k for k, p in params.items() if p.kind in (P.POSITIONAL_OR_KEYWORD, P.KEYWORD_ONLY)]
    label = f"{getattr(fn, '__name__', type(fn).__name__)}{sig}"
    if not any(p.kind is P.VAR_KEYWORD for p in params.values()):
        for k, what in [*((k, "grid parameter") for k in names), *((k, "fn_kwargs key") for k in kwargs),
                        *((("seed", "parameter (pass_seed = True passes seed=)"),) if wants_seed else ())]:
            if k not in named:
                raise unknown(what, k, named, where=f"the parameters of {label}")
    given = {*names, *kwargs, *(("seed",) if wants_seed else ())}
    missing = [k for k, p in params.items() if p.default is P.empty and (
        (p.kind in (P.POSITIONAL_OR_KEYWORD, P.KEYWORD_ONLY) and k not in given) or p.kind is P.POSITIONAL_ONLY)]
    if missing:
        raise ValidationError(f"sweep: {label} needs {', '.join(map(repr, missing))}, which neither the grid "
                              f"({', '.join(map(repr, names))}) nor fn_kwargs gives")


# --------------------------------------------------------------------------- parquet store
def load_results(out: str | os.PathLike) -> pl.DataFrame:
    """Every row written so far to a sweep's ``out=`` folder (one frame; empty if none)."""
    parts = sorted(Path(out).glob("part-*.parquet"))
    if not parts:
        return pl.DataFrame()
    frames = []
    for p in parts:
        try:
            frames.append(pl.read_parquet(p))
        except (pl.exceptions.ComputeError, OSError) as e:   # polars' bare 'File out of specification' before
            raise ValidationError(f"out = {str(out)!r}: the part file {p.name} cannot be read ({e}); delete it "
                                  "and run again to recompute its points") from None
    return pl.concat(frames, how="diagonal_relaxed")


def _write_part(out: Path, rows: list[dict]) -> None:
    frame = _frame(rows)
    tmp = out / f".tmp-{uuid.uuid4().hex}.parquet"
    frame.write_parquet(tmp)
    os.replace(tmp, out / f"part-{uuid.uuid4().hex}.parquet")


def _frame(rows: list[dict]) -> pl.DataFrame:
    if not rows:
        return pl.DataFrame()
    return pl.DataFrame(rows, infer_schema_length=None)


# Suffixes of file formats: ``out=`` named with one of them (``"results.csv"``) is refused rather
# than made a folder of that name (``out=`` is a folder of Parquet parts). An existing folder is
# taken whatever its name.
_FILE_SUFFIXES = (".parquet", ".pq", ".csv", ".tsv", ".txt", ".json", ".jsonl", ".ndjson", ".arrow",
                 ".feather", ".ipc", ".avro", ".xlsx", ".xls", ".ods", ".pkl", ".pickle", ".npy",
                 ".npz", ".h5", ".hdf5", ".nc", ".db", ".sqlite", ".duckdb", ".md", ".html", ".toml",
                 ".yaml", ".yml")


def _check_out(out: str | os.PathLike) -> Path:
    """``out=`` as a folder path: refused where it is a file, or where a folder not yet there is
    named like a file (``"x.txt"``, ``"x.csv"``, ``"x.parquet"``: a folder of that name was made)."""
    out_dir = Path(V.path("out", out))
    if out_dir.exists() and not out_dir.is_dir():
        raise ValidationError(f"out = {str(out)!r} is a file: expected a folder")
    if not out_dir.exists() and out_dir.suffix.lower() in _FILE_SUFFIXES:
        raise ValidationError(
            f"out = {str(out)!r} names a {out_dir.suffix} file: out= is a folder (created if missing) "
            f"of Parquet part files, written as chunks finish so that a rerun resumes; give a folder name "
            f"without a file suffix (e.g. {str(out_dir.with_suffix(''))!r}), and write the returned frame "
            f"to a file yourself (df.write_parquet(...), df.write_csv(...))")
    return out_dir


FN_RECORD = "infra-lab-sweep-fn.json"
"""The file in an ``out=`` folder naming the function (and its plain fixed arguments) whose
results the folder holds (:func:`sweep` warns when another call resumes into it)."""


def _fn_record(fn: Callable, kwargs: Mapping[str, Any]) -> dict:
    """fn's identity (module and qualified name) and fn_kwargs: JSON-able values as they are,
    others by type name only (an object's repr may change between sessions)."""
    name = f"{getattr(fn, '__module__', None) or '?'}.{getattr(fn, '__qualname__', type(fn).__qualname__)}"

    def plain(v):
        try:
            return json.loads(json.dumps(v))
        except (TypeError, ValueError):
            return f"<{type(v).__qualname__}>"

    return {"fn": name, "fn_kwargs": {k: plain(kwargs[k]) for k in sorted(kwargs)}}


def _check_fn_record(out_dir: Path, fn: Callable, kwargs: Mapping[str, Any]) -> None:
    """Warn when resuming into a folder that another function (or other plain fn_kwargs)
    filled; record this call's function when the folder has no record yet. Approximate: two functions
    with the same module and qualified name (e.g. two lambdas, or an edited function) and
    fn_kwargs that differ only inside non-JSON objects are not told apart."""
    now = _fn_record(fn, kwargs)
    rec = out_dir / FN_RECORD
    if rec.is_file():
        try:
            before = json.loads(rec.read_text())
        except (OSError, ValueError):
            before = None
        if not isinstance(before, dict):
            what = [f"its {FN_RECORD} is unreadable"]
        else:
            what = [f"{k} {before.get(k)!r} (this call: {now[k]!r})" for k in ("fn", "fn_kwargs")
                    if before.get(k) != now[k]]
        if what:
            # a fixed function or a flag that does not change results is a legitimate resume
            # (failed points are retried): say so loudly, keep the stored rows
            warnings.warn(f"sweep: out = {str(out_dir)!r} was filled by another call: {'; '.join(what)}; "
                          f"its stored points are returned as stored (use another folder, or delete this "
                          f"one, if the results would differ)", stacklevel=user_stacklevel())
        return
    try:
        rec.write_text(json.dumps(now, sort_keys=True, indent=1))
    except OSError as e:
        raise ValidationError(f"out = {str(out_dir)!r}: cannot be written ({e})") from None


# --------------------------------------------------------------------------- the sweep
def _client(client: Any):
    """(Client, close_after) from a Client, a scheduler address, or None."""
    if client is None:
        return None, False
    try:
        from dask.distributed import Client
    except ImportError as e:  # pragma: no cover - dask is a dependency
        raise ValidationError("client given but dask.distributed is not installed: "
                              "pip install 'dask[distributed]'") from e
    if isinstance(client, Client):
        return client, False
    if isinstance(client, str):
        if not client.strip():
            raise ValidationError("client = '': expected a scheduler address such as "
                                  "'tcp://host:8786'")
        try:
            return Client(client), True
        except (ValueError, OSError, TimeoutError) as e:  # a malformed or unreachable address
            raise ValidationError(f"client = {client!r}: cannot open a dask client on this scheduler address "
                                  f"({type(e).__name__}: {e}); expected e.g. 'tcp://host:8786'") from None
    raise ValidationError(
        f"client = {short_repr(client)}: expected None (in-process), a "
        "dask.distributed.Client or a scheduler address string such as 'tcp://host:8786'")


def _progress_bar(total: int, progress: bool, desc: str):
    if not progress:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="pt", leave=True)


@named_keywords(name="il.sweep")
def sweep(fn: Callable[..., Mapping | pl.DataFrame],
          grid: Mapping[str, Sequence] | pl.DataFrame, client: Any = None, *,
          seed: int = 0, chunk_size: int | None = None, out: str | os.PathLike | None = None,
          progress: bool = True, pass_seed: bool | None = None, retry_failed: bool = True,
          fn_kwargs: Mapping[str, Any] | None = None) -> pl.DataFrame:
    """Run ``fn`` over every point of a grid, in-process or on a Dask cluster.

    Parameters
    ----------
    fn : callable taking the grid's names as keyword arguments (and ``seed`` if it has a
        parameter of that name) and returning a dict of outputs, a one-row polars frame, or
        the result of a contract call, an :class:`~infra_lab.training.Estimate`,
        :class:`~infra_lab.serving.ServeResult` or
        :class:`~infra_lab.collectives.CollectiveResult` (its ``to_dict()`` scalars are the
        outputs; one named like an input and equal to it, ``stack`` or ``gpus``, is left out).
        On a cluster it must be importable or picklable (module-level functions are safest).
    grid : dict of name → list of values (Cartesian product) or a polars frame of points
    client : None (in-process), a ``dask.distributed.Client`` (e.g. on a ``LocalCluster``) or
        a scheduler address string (a client is opened and closed for this call)
    seed : base seed [integer]; each point's seed is :func:`point_seed` (point, seed)
    chunk_size : points per task [count]; default: in-process ⌈n/20⌉, on a cluster
        ⌈n / (4 · workers)⌉ (coarse tasks, a few per worker)
    out : folder for incremental Parquet results (created if missing; a new folder named like a
        file, ``"x.csv"``, ``"x.parquet"``, ``"x.txt"``, is refused); points already there
        without an error are skipped, failed ones are retried (``retry_failed``). Stored rows
        are matched by the point's values and its seed: points stored with another base
        ``seed`` are evaluated again (with a warning); a folder filled by another ``fn`` (module
        and qualified name) or other JSON-able ``fn_kwargs`` gives a warning and its stored
        points are kept (:data:`FN_RECORD`; approximate: an edited function of the same name, or a change inside
        a non-JSON argument, is not detected), so give each function its own folder
    progress : show a progress bar (tqdm.auto: a widget in Jupyter, text in a terminal)
    pass_seed : force passing (True) or not passing (False) ``seed=`` to fn; default: pass it
        when fn has a ``seed`` parameter
    retry_failed : on resume, evaluate again the points stored with an error
    fn_kwargs : fixed keyword arguments passed to fn at every point (not columns)

    Returns
    -------
    polars.DataFrame
        ``point`` (index in the grid), the inputs, ``seed``, fn's outputs and ``error``
        (null where the point succeeded, ``"Type: message"`` where it failed), one row per
        point in grid order. The same frame whatever the client, chunk size or resume.

    Examples
    --------
    >>> import infra_lab as il
    >>> def noisy(x, seed):
    ...     import numpy as np
    ...     return {"y": x + np.random.default_rng(seed).normal()}
    >>> a = il.sweep(noisy, {"x": [0.0, 1.0, 2.0]}, seed=1, chunk_size=1, progress=False)
    >>> b = il.sweep(noisy, {"x": [0.0, 1.0, 2.0]}, seed=1, chunk_size=3, progress=False)
    >>> a.equals(b)
    True
    """
    if not callable(fn):
        raise ValidationError(f"fn = {fn!r}: expected a callable")
    seed = V.integer("seed", seed, lo=0)                  # numpy integers too
    if chunk_size is not None:
        chunk_size = V.integer("chunk_size", chunk_size)  # or None
    progress = V.boolean("progress", progress)
    retry_failed = V.boolean("retry_failed", retry_failed)
    if fn_kwargs is not None and not isinstance(fn_kwargs, Mapping):
        raise ValidationError(f"fn_kwargs = {fn_kwargs!r}: expected a dict of keyword arguments for fn "
                              "(name -> value) or None")
    kwargs = dict(fn_kwargs or {})
    for k in kwargs:
        if not isinstance(k, str) or not k.isidentifier():
            raise ValidationError(f"fn_kwargs key {k!r}: expected a Python identifier")
    points = grid_points(grid)
    names = list(points[0])
    clash = sorted(set(kwargs) & set(names))
    if clash:
        raise ValidationError(f"fn_kwargs {clash} are also grid parameters; give each once")
    wants_seed = _wants_seed(fn, pass_seed)
    keys = [point_key(p) for p in points]
    if len(set(keys)) != len(keys):
        dup = next(k for k in keys if keys.count(k) > 1)
        raise ValidationError(f"grid has a repeated point {dup}: points must be distinct")
    seeds = [point_seed(p, int(seed)) for p in points]

    # Resume: rows already stored under out=.
    done: dict[str, dict] = {}
    out_dir = None
    if out is not None:
        out_dir = _check_out(out)
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as e:    # a file on the way, /proc, no permission: the OS's bare error before
            raise ValidationError(f"out = {str(out)!r}: cannot be created ({e.strerror or e}); "
                                  "expected a folder this process can write") from None
        _check_fn_record(out_dir, fn, kwargs)
        stored = load_results(out_dir)
        if stored.height:
            wanted = dict(zip(keys, seeds, strict=True))
            other_seed = set()
            for r in stored.iter_rows(named=True):
                if r["_key"] not in wanted:
                    continue
                if r.get("seed") is not None and int(r["seed"]) != wanted[r["_key"]]:
                    other_seed.add(r["_key"])   # made with another base seed: not this sweep's row
                    continue
                if r.get("error") is None or not retry_failed:
                    done[r["_key"]] = r
            other_seed -= set(done)
            if other_seed:
                warnings.warn(
                    f"sweep: out = {str(out)!r} holds {len(other_seed)} of these points made with another "
                    f"base seed (not seed = {int(seed)}); they are evaluated again", stacklevel=user_stacklevel())
    todo = [i for i, k in enumerate(keys) if k not in done]

    cl, close_after = _client(client)
    try:
        if todo:   # before any point runs (a resumed, finished sweep runs nothing)
            _check_call(fn, names, kwargs, wants_seed)
        n_workers = max(1, len(cl.scheduler_info().get("workers", {}))) if cl else 1
        size = chunk_size or max(1, math.ceil(len(todo) / (4 * n_workers if cl else 20)))
        chunks = [todo[i:i + size] for i in range(0, len(todo), size)]
        new_rows: dict[int, dict] = {}
        bar = _progress_bar(len(todo), progress and bool(todo),
                            "sweep" + (f" ({n_workers} workers)" if cl else ""))

        def collect(idx: list[int], results) -> None:
            rows = []
            for i, (outp, err) in zip(idx, results, strict=True):
                row = {"_key": keys[i], **points[i], "seed": seeds[i], **(outp or {}),
                       "error": err}
                new_rows[i] = row
                rows.append(row)
            if out_dir is not None:
                _write_part(out_dir, rows)
            if bar is not None:
                bar.update(len(idx))

        try:
            if cl is None:
                for idx in chunks:
                    collect(idx, _run_chunk(fn, [points[i] for i in idx],
                                            [seeds[i] for i in idx], wants_seed, kwargs))
            else:
                from dask.distributed import as_completed

                futs = {}
                for idx in chunks:
                    f = cl.submit(_run_chunk, fn, [points[i] for i in idx],
                                  [seeds[i] for i in idx], wants_seed, kwargs, pure=False)
                    futs[f] = idx
                for f in as_completed(list(futs)):
                    idx = futs[f]
                    try:
                        results = f.result()
                    except Exception as e:  # noqa: BLE001 — a lost worker: report its points
                        results = [(None, f"{type(e).__name__}: {e}")] * len(idx)
                    collect(idx, results)
                    f.release()
        finally:
            if bar is not None:
                bar.close()
    finally:
        if close_after:
            cl.close()

    rows = []
    for i, k in enumerate(keys):
        r = new_rows.get(i)
        if r is None:
            r = dict(done[k])
            r.update(points[i])  # stored inputs keep the grid's own values
        rows.append({"point": i, **r})
    frame = _frame(rows)
    outs = [c for c in frame.columns if c not in (*names, *RESERVED_COLUMNS)]
    for c in outs:   # this call's outputs (stored ones were typed when written)
        mixed = _mixed_kinds([new_rows[i].get(c) for i in sorted(new_rows)])
        if mixed is not None:
            a, b = mixed
            warnings.warn(f"sweep: fn's output {c!r} mixes {_kind(a)}s and {_kind(b)}s ({a!r}, {b!r}); the "
                          f"frame's column holds them as {frame.schema[c]} (return one kind per output, "
                          f"None for 'no value')", stacklevel=user_stacklevel())
    frame = frame.select("point", *names, "seed", *outs, "error").with_columns(
        pl.col("point").cast(pl.Int64), pl.col("seed").cast(pl.Int64),
        pl.col("error").cast(pl.String))
    n_fail = frame["error"].is_not_null().sum()
    if n_fail:
        first = frame.filter(pl.col("error").is_not_null()).row(0, named=True)
        warnings.warn(
            f"sweep: {n_fail} of {frame.height} points failed (see the 'error' column); "
            f"first: point {first['point']} "
            f"{ {n: first[n] for n in names} } -> {first['error']}", stacklevel=user_stacklevel())
    return frame


def failures(frame: pl.DataFrame) -> pl.DataFrame:
    """The rows of a sweep result whose point failed (inputs, seed and error)."""
    if not isinstance(frame, pl.DataFrame):   # a list raised AttributeError
        raise ValidationError(f"frame = {short_repr(frame)}: expected the result of sweep() (a polars frame)")
    if "error" not in frame.columns:
        raise ValidationError("frame has no 'error' column: expected the result of sweep()")
    failed = frame.filter(pl.col("error").is_not_null())
    keep = [c for c in failed.columns
            if c == "error" or failed.height == 0 or failed[c].null_count() < failed.height]
    return failed.select(keep)


# ``il.sweep`` resolves to the function, ``import infra_lab.sweep`` to the module; both
# carry the helpers, so ``il.sweep.failures(df)`` works whichever one a caller holds.
for _name in ("grid_points", "point_seed", "point_key", "failures", "load_results",
              "RESERVED_COLUMNS"):
    setattr(sweep, _name, globals()[_name])


class _CallableModule(types.ModuleType):
    """``il.sweep`` is both this module and the function: calling it runs :func:`sweep`."""

    def __call__(self, *args, **kwargs):
        return sweep(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
# inspect.signature(il.sweep) (tab completion, help, the contract-keywords test) reads the
# function's parameters whichever of the two il.sweep is
__signature__ = __import__("inspect").signature(sweep)
