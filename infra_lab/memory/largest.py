"""The largest model that fits: what a device's memory buys under one training plan.

:func:`largest_model` inverts :func:`infra_lab.memory.training_memory_total` (the one owner of
the per-GPU training memory; nothing here prices a byte) over model size, per accelerator:

* ``by="depth"``: each published shape of a model family (a preset of
  data/models/presets.csv: its width, heads, MLP, experts and vocabulary) kept, and its number
  of layers set to the most that fit (bisection over the integer layer count). Depth is the
  axis that keeps a published architecture: every layer of a family is the same block, so a
  deeper or shallower copy is the same design at another size, while a wider one would need
  heads, MLP width and (for MoE) experts that nobody published together. A hybrid SSM shape
  (Zamba2: Mamba2 layers, some with a shared attention block) keeps the published ratio of
  the two kinds, its blocks evenly spaced (an approximation: see ``_hybrid_insertions``).
* ``by="presets"``: the published presets of the family (``family="all"``: every preset in
  the catalog) as they are; the one with the most parameters that fits.

With ``search_plans=True`` the plan is searched too (:func:`infra_lab.search` on the
scenario's GPUs, its memory the same owner's): a size fits when one plan fits, and the row
carries the plan with the smallest tp·pp. Parameter counts come from
:mod:`infra_lab.model_counts` (``ModelSpec.params_total``).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import polars as pl

from .. import _validate as V
from .. import catalog
from ..errors import InfraLabError, ValidationError, unknown
from .training import TRAINING_DEFAULTS, _stack_on, training_memory, unknown_override

LARGEST_BY = ("depth", "presets")
"""How :func:`largest_model` varies the model: ``"depth"`` (a published shape, its layer count
searched) or ``"presets"`` (the published presets as they are)."""

MAX_LAYERS = 100_000
"""Most layers :func:`largest_model` tries for one shape [layers] (a bound of the bisection: a
plan that shards everything over enough GPUs fits almost any depth; the ``note`` column says
when the answer reached it)."""

# the training_memory overrides largest_model passes through (accelerator: the call's own
# argument; pipeline_rank: the fit is decided on the most loaded rank)
_OVERRIDES = (set(TRAINING_DEFAULTS) | {"micro_batch", "seq_len", "recompute", "zero"})

# the overrides largest_model(search_plans=True) takes (the search's constraints and sequence)
_SEARCH_OVERRIDES = ("seq_len", "micro_batch", "zero", "recompute")

# ModelSpec fields that do not make two presets different shapes
_NOT_SHAPE = {"name", "aliases", "family", "layers", "published_params_total", "published_params_active",
              "published_basis", "published_tol_pct", "source_url", "note", "max_seq_len"}

def model_families() -> list[str]:
    """The model families of data/models/presets.csv (its ``family`` column), in file order.

    Examples
    --------
    >>> import infra_lab as il
    >>> fams = il.memory.model_families()
    >>> "llama3" in fams, fams == list(dict.fromkeys(fams))     # each once, in file order
    (True, True)
    """
    from ..models import get, preset_names

    return list(dict.fromkeys(get(n).family for n in preset_names()))


def _family_presets(family: Any) -> list[str]:
    """The preset names of ``family`` (``"all"``: every preset), in file order; an unknown
    family is refused with the nearest names."""
    from ..models import get, preset_names

    fams = model_families()
    if not isinstance(family, str):
        raise ValidationError(f"family = {family!r}: expected a model family name, one of 'all', {', '.join(fams)}")
    key = family.strip().lower()
    if key == "all":
        return preset_names()
    if key not in fams:
        raise unknown("family", family, ["all", *fams], where="data/models/presets.csv (column family)")
    return [n for n in preset_names() if get(n).family == key]


def _shapes(names: list[str]) -> list[str]:
    """``names`` with one preset per distinct shape (the first in file order; e.g. Llama 3.3
    70B is Llama 3 70B's shape)."""
    from ..models import get

    seen, out = set(), []
    for n in names:
        s = get(n)
        key = tuple(getattr(s, f.name) for f in dataclasses.fields(s) if f.name not in _NOT_SHAPE)
        if key not in seen:
            seen.add(key)
            out.append(n)
    return out


def _checked_overrides(overrides: dict) -> dict:
    for k in overrides:
        if k == "accelerator":
            raise ValidationError("accelerator: give the devices as largest_model's first argument "
                                  "(accelerators = [...]), not as an override")
        if k not in _OVERRIDES:
            raise unknown_override(k, overrides[k], _OVERRIDES, "il.memory.largest_model()")
    return dict(overrides)


class _Sizer:
    """The memory of one scenario's plan with its model replaced, on one accelerator."""

    def __init__(self, sc, accelerator: str, overrides: dict):
        self.sc, self.base, self.acc, self.ov = sc, sc.to_dict(), accelerator, overrides
        self.capacity = catalog.accelerator(accelerator).memory_capacity_bytes
        self._cache: dict = {}

    def frame(self, model: dict) -> pl.DataFrame:
        """:func:`training_memory` of the plan with ``model`` as its [model] table (cached)."""
        from ..scenario import Scenario

        key = tuple(sorted(model.items()))
        if key not in self._cache:
            d = dict(self.base)
            d["model"] = model
            self._cache[key] = training_memory(Scenario.from_dict(d), accelerator=self.acc, **self.ov)
        return self._cache[key]

    def total(self, model: dict) -> float:
        return float(self.frame(model)["bytes"].sum())

    def fits(self, model: dict) -> bool:
        return self.total(model) <= self.capacity

    def need(self, model: dict) -> float:
        """The memory ``model`` needs [bytes] (the plan's; fitting or not)."""
        return self.total(model)

    def plan(self, model: dict) -> tuple:
        """(tp, pp, vp, dp, sequence_parallel) of the plan ``model`` is sized with: the scenario's."""
        par = self.sc.parallelism
        return par.tp, par.pp, par.vp, par.dp, par.sequence_parallel


class _PlanSearcher:
    """The smallest tensor × pipeline plan of :func:`infra_lab.search` that fits a model on one
    accelerator: the scenario moved to the accelerator, its micro-batch, recompute, ZeRO/FSDP,
    context and expert parallelism held (constraints of the search), tp, pp, vp and sequence
    parallelism searched; of the fitting plans the one with the smallest tp·pp, ties in the
    search's order (the most tokens/s first)."""

    def __init__(self, sc, accelerator: str, overrides: dict):
        from ..scenario import Scenario
        from ..scenario.hardware_table import moved_hardware, rack_scale

        self.acc = accelerator
        self.capacity = catalog.accelerator(accelerator).memory_capacity_bytes
        # the scenario's GPUs in the accelerator's own nodes (1,024 MI300X: 256 GB200 or MI450X
        # trays of 4 in 16 racks of 64; at 8 GPUs per node the 72-GPU racks refused them)
        moved = {"hardware": moved_hardware(sc.hardware, accelerator)}
        if sc.training.stack is not None:       # the scenario's framework on the accelerator's platform
            moved["training"] = {"stack": _stack_on(sc, accelerator)}
        if "seq_len" in overrides:
            moved.setdefault("training", {})["seq_len"] = overrides["seq_len"]
        self.base = sc.replace(**moved).to_dict()
        self.sc = Scenario.from_dict(self.base)
        hw = self.sc.hardware
        self.layout_note = (f"{hw.world_size:,} GPUs in {hw.domains} racks of {hw.domain_gpus} ({hw.domain_gpus // hw.gpus_per_node} "
                            f"of each {hw.scaleup_domain}-GPU rack's {hw.scaleup_domain // hw.gpus_per_node} trays: "
                            "an assumption)" if hw.domain_gpus < hw.scaleup_domain and rack_scale(accelerator) else "")
        tr, par = self.sc.training, self.sc.parallelism
        self.held = {"micro_batch": overrides.get("micro_batch", tr.micro_batch),
                     "recompute": overrides.get("recompute", tr.recompute),
                     "zero": overrides.get("zero", par.zero), "fsdp": par.fsdp, "cp": par.cp, "ep": par.ep,
                     "etp": par.etp}
        self._cache: dict = {}

    def _search(self, model: dict):
        """(the chosen fitting row or None, the least memory of any runnable plan [bytes] or None)."""
        import warnings

        from ..errors import EmptyResultWarning
        from ..training import search

        key = tuple(sorted(model.items()))
        if key not in self._cache:
            d = dict(self.base)
            d["model"] = model
            with warnings.catch_warnings():      # a model no plan fits is an answer here, not a surprise
                warnings.simplefilter("ignore", EmptyResultWarning)
                df = search(d, top=None, feasible_only=False, **self.held)
            run = df.filter(pl.col("runnable")) if "runnable" in df.columns else df
            ok = run.filter(pl.col("fits")).with_row_index("order").sort(
                pl.col("tp") * pl.col("pp"), "order")
            least = float(run["memory_per_gpu_bytes"].min()) if run.height else None
            self._cache[key] = (ok.drop("order").row(0, named=True) if ok.height else None, least)
        return self._cache[key]

    def fits(self, model: dict) -> bool:
        return self._search(model)[0] is not None

    def frame(self, model: dict) -> pl.DataFrame:
        """:func:`training_memory` of ``model`` under the plan chosen for it."""
        from ..scenario import Scenario
        from ..training import apply_plan

        row = self._search(model)[0]
        d = dict(self.base)
        d["model"] = model
        return training_memory(Scenario.from_dict(apply_plan(d, row)))

    def need(self, model: dict) -> float | None:
        """The memory ``model`` needs [bytes]: under its chosen plan, or the least any plan needs."""
        row, least = self._search(model)
        return float(self.frame(model)["bytes"].sum()) if row is not None else least

    def plan(self, model: dict) -> tuple:
        r = self._search(model)[0]
        return r["tp"], r["pp"], r["vp"], r["dp"], r["sequence_parallel"]


def _hybrid_insertions(spec, layers: int) -> tuple[int, ...]:
    """The shared-attention insertions of a hybrid SSM shape (Zamba2) at ``layers`` layers:
    the published ones at the published depth; otherwise k = max(1, round(layers · m / L)) of them
    (m insertions in the published L layers: the published ratio of hybrid to Mamba2 layers),
    evenly spaced, one at the last layer of each of k equal spans (layer ⌈(j + 1)·layers / k⌉ − 1).

    Approximate: the published models place their blocks by hand (Zamba2-2.7B: every 6th layer,
    then 47 and 51); a depth nobody published gets the ratio, not a placement anyone chose. The
    block count, the parameters and the memory follow the ratio; which pipeline stage holds a
    block follows the even spacing.

    Examples
    --------
    >>> from infra_lab.models import get
    >>> _hybrid_insertions(get("zamba2-1.2b"), 19)        # 6 of 38 published: 3 of 19
    (6, 12, 18)
    """
    ins = tuple(spec.shared_attn_insertions)
    if spec.arch != "hybrid_ssm" or not ins or layers == spec.layers:
        return ins if layers == spec.layers else ()
    k = min(layers, max(1, (2 * layers * len(ins) + spec.layers) // (2 * spec.layers)))   # rounded half up
    return tuple(-(-(j + 1) * layers // k) - 1 for j in range(k))


def _depth_model(preset: str, layers: int) -> dict:
    """The [model] table of ``preset``'s shape at ``layers`` layers (a hybrid SSM's shared-attention
    insertions at the published ratio: :func:`hybrid_insertions`)."""
    from ..models import get

    spec = get(preset)
    m: dict = {"preset": preset, "layers": layers}
    if spec.arch == "hybrid_ssm" and layers != spec.layers:
        m["shared_attn_insertions"] = _hybrid_insertions(spec, layers)
        if spec.ssm_layers == spec.layers:     # every layer has a Mamba2 mixer (Zamba2)
            m["ssm_layers"] = layers
    return m


def _deepest(sz: _Sizer, preset: str, lo: int, max_layers: int) -> tuple[int | None, bool]:
    """(the most layers of ``preset``'s shape that fit, whether that is ``max_layers``);
    (None, False) when not even ``lo`` layers fit. Bisection over the integer layer count:
    the memory grows with depth (more layers per stage), which the result's check (``layers``
    fits, ``layers + 1`` does not) relies on."""
    def ok(n: int) -> bool:
        return sz.fits(_depth_model(preset, n))

    if not ok(lo):
        return None, False
    good, bad = lo, None
    n = max(lo, 1)
    while bad is None:           # doubling: the first depth that does not fit
        n = min(2 * n, max_layers)
        if ok(n):
            good = n
            if n == max_layers:
                return max_layers, True
        else:
            bad = n
    while bad - good > 1:
        mid = (good + bad) // 2
        good, bad = (mid, bad) if ok(mid) else (good, mid)
    return good, False


def _catalog_name(acc: Any) -> str:
    """The catalog name of one of largest_model's devices: a name (or alias), or a catalog
    :class:`~infra_lab.catalog.Accelerator` as :func:`infra_lab.catalog.accelerator` returns it.
    The model reads the device's row by name, so an Accelerator changed after the look-up
    (``dataclasses.replace(acc, hbm_bytes=...)``) is refused rather than silently read as the row."""
    if isinstance(acc, catalog.Accelerator):
        row = catalog.accelerator(acc.name)
        if acc != row:
            raise ValidationError(f"accelerators: the Accelerator {acc.name!r} differs from the catalog's row "
                                  "of that name (data/accelerators.csv); largest_model reads the catalog, so "
                                  f"give the name {row.name!r} or the catalog's object, "
                                  f"il.catalog.accelerator({row.name!r})")
        return row.name
    return catalog.accelerator(acc).name


def largest_model(accelerators: str | catalog.Accelerator | list, *, scenario: Any = "zaya1-ibm-mi300x", family: str = "llama3",
                  by: str = "depth", max_layers: int = MAX_LAYERS, search_plans: bool = False,
                  **overrides: Any) -> pl.DataFrame:
    """The largest model of a family whose training fits one GPU's memory under a plan, per accelerator.

    The plan is ``scenario``'s (its cluster, parallelism, ZeRO stage, sequence length,
    micro-batch, precision, optimizer, recompute and stack; default ZAYA1's 128 × 8 MI300X
    data-parallel ZeRO-1 run), its model replaced and its accelerator set to each of
    ``accelerators`` (the memory of :func:`infra_lab.memory.training_memory` with its
    ``accelerator`` override: the same scenario, the vendor's counterpart stack). A model fits
    when :func:`infra_lab.memory.fits` says so: the total with the allocator reserve at most
    the memory the driver exposes (``capacity_GB``).

    Approximate: the depth answer is an integer number of layers of a published block (the
    memory model's allocator reserve and everything else in
    :func:`~infra_lab.memory.training_memory` apply as they are); the bisection assumes the
    memory grows with depth (a deeper size that fits beyond one that does not would be
    missed); by construction the model returned fits and the same shape one layer deeper
    (``next_total_GB``) does not. A hybrid SSM shape (Zamba2) at a depth nobody published keeps
    the published share of layers with a shared attention block (round(layers · m / L), at least
    one), evenly spaced rather than where Zyphra placed them; the ``note`` says how many.

    Hybrid SSM shapes under pipeline parallelism (pp > 1): the need is not monotonic in depth,
    so the bisection's answer (``layers`` fits, ``layers + 1`` does not) may miss a deeper size
    that fits; such rows say so in ``note``. The cause is an approximation of the memory model,
    not an effect of where the attention blocks sit: it spreads the parameters and activations
    of the dense-like layer kinds (Mamba2 and Mamba2 + shared attention) evenly over all of them
    (:func:`infra_lab.memory.stage_candidates`, ``_layer_activations``), so every stage is
    charged the model's average share of shared-attention layers, not the layers it holds. That
    share falls as layers are added at a fixed number of blocks (round(layers · m / L) steps only
    every few layers), and a stage whose layer count stays the same then needs less: zamba2-2.7b
    on ZAYA1's plan at pp = 4 needs less at 13 and 14 layers than at 12, and more at 15 (rank 0
    holds 3, 3, 3 and 4 Mamba2 layers and no attention block; ``tests/test_largest_model.py``
    computes the four). Placed layer by layer,
    a stage without a block would need less than that and one with a block more.

    Parameters
    ----------
    accelerators : str, Accelerator or list of them
        Catalog accelerator names (data/accelerators.csv), e.g. ``["MI300X", "H100-SXM"]``, or
        :class:`~infra_lab.catalog.Accelerator` objects of the catalog; a single name or
        Accelerator (``"MI300X"``) is a one-element list. A device named twice
        (``["MI300X", "mi300x"]``) gets one set of rows, at its first place; an unknown name
        is refused with the nearest valid names.
    scenario : str, dict, path or Scenario
        The training plan (a shipped scenario's name, a TOML/JSON path, a dict or a Scenario);
        text models only (a multimodal system's encoders do not scale with its language model).
    family : str
        A model family of data/models/presets.csv (:func:`model_families`, e.g. ``"llama3"``,
        ``"qwen3"``, ``"megatron-gpt"``), or ``"all"`` (every preset).
    by : str
        ``"depth"``: one row per accelerator and distinct published shape of the family, its
        layer count set to the most that fit (1 ≤ layers ≤ ``max_layers``; at least pp·vp − 2,
        what the plan's pipeline can hold). ``"presets"``: one row per accelerator, the
        family's published preset with the most parameters that fits, unchanged (presets the
        plan cannot run, e.g. a context shorter than its sequence, are left out and named in
        ``note``).
    max_layers : int
        The deepest model ``by="depth"`` tries [layers].
    search_plans : bool
        False (default): the scenario's own plan. True: for every size tried, the plans of
        :func:`infra_lab.search` on the scenario's GPUs (tp, pp, vp and sequence parallelism
        searched; the micro-batch, recompute, ZeRO stage, FSDP, cp, ep and etp held at the
        scenario's or the overrides' values; the scenario's GPUs in the accelerator's own
        nodes, :func:`infra_lab.scenario.hardware_table.moved_hardware`: 1,024 GB200 or MI450X
        as 256 trays of 4 in 16 racks of 64, the ``note`` says so), a size fits when one plan fits, and the row
        reports the plan with the smallest tp·pp (ties: the most tokens/s): what the whole
        cluster's model parallelism buys, not one GPU alone. Takes only the ``seq_len``,
        ``micro_batch``, ``zero`` and ``recompute`` overrides.
    **overrides
        :func:`~infra_lab.memory.training_memory`'s overrides (``seq_len``, ``micro_batch``,
        ``zero``, ``recompute``, ``weight_bytes``, ``reserve_fraction``, ...), applied to every
        size tried.

    Returns
    -------
    polars.DataFrame
        accelerator, capacity_GB [1e9 B], family, by, base (the preset whose shape it is),
        layers, model (the preset's name, or "<base> at N layers"), tp, pp, vp, dp and
        sequence_parallel (the plan: the scenario's, or the one searched), params_total [count],
        params_B [1e9], total_GB (the need at that size), headroom_GB (capacity − need),
        next_model and next_total_GB (the next size up: one layer deeper, or the next larger
        preset, and its need — with ``search_plans`` the least any plan needs; null where there is
        none), the need by component ``<component>_GB``
        (:func:`~infra_lab.memory.training_memory`'s components), fits, note. A shape or family of
        which nothing fits has a row with null layers, model and memory and ``fits`` = False.

    Examples
    --------
    >>> import infra_lab as il
    >>> df = il.memory.largest_model(["MI300X"], family="llama3", by="presets")
    >>> df["model"][0] in il.models.preset_names()
    True
    """
    from ..models import get
    from ..scenario import as_scenario

    if isinstance(accelerators, (str, catalog.Accelerator)):   # one device: a one-element list
        accelerators = [accelerators]
    accelerators = V.sequence("accelerators", accelerators, "accelerator names")
    if not accelerators:
        raise ValidationError(f"accelerators = {accelerators!r}: expected at least one name")
    accs = list(dict.fromkeys(_catalog_name(a) for a in accelerators))   # one set of rows per device
    if not isinstance(by, str) or by not in LARGEST_BY:
        raise ValidationError(f"by = {by!r}: allowed {', '.join(map(repr, LARGEST_BY))}")
    max_layers = V.integer("max_layers", max_layers, lo=1, hi=MAX_LAYERS)
    search_plans = V.boolean("search_plans", search_plans)
    ov = _checked_overrides(overrides)
    if search_plans and set(ov) - set(_SEARCH_OVERRIDES):
        raise ValidationError(f"{', '.join(sorted(set(ov) - set(_SEARCH_OVERRIDES)))}: with search_plans = True the "
                              f"overrides are {', '.join(_SEARCH_OVERRIDES)} (the search prices the stack's "
                              "own byte widths and reserve)")
    names = _family_presets(family)
    fam = family.strip().lower()
    sc = as_scenario(scenario)       # a shipped scenario's name, a TOML/JSON path, a dict or a Scenario
    if sc.training is None:
        raise ValidationError(f"scenario = {sc.name!r}: a serving scenario ([serving] table, no [training]); "
                              "largest_model needs a training plan")
    if sc.multimodal is not None:
        raise ValidationError(f"scenario = {sc.name!r}: a multimodal system; largest_model replaces the model "
                              "of a text training plan (give a scenario with a language model)")
    for acc in accs:    # the overrides checked once per device, with training_memory's own errors
        training_memory(sc, accelerator=acc, **ov)
    par = sc.parallelism
    rows = []
    for acc in accs:
        sz = _PlanSearcher(sc, acc, ov) if search_plans else _Sizer(sc, acc, ov)
        first = len(rows)
        if by == "depth":
            lo = 1 if search_plans else max(1, par.pp * par.vp - 2)
            for p in _shapes(names):
                rows.append(_depth_row(sz, fam, p, lo, max_layers))
        else:
            rows.append(_preset_row(sz, fam, names, get))
        for r in rows[first:]:     # partly used racks (own_node_layout's assumption): said on every row
            r[-1] = "; ".join(x for x in (r[-1], getattr(sz, "layout_note", "")) if x)
    return pl.DataFrame(rows, schema=_schema(), orient="row")


def _components() -> tuple[str, ...]:
    """training_memory's components, in its order (the kernel's MEM_NAMES, their one owner)."""
    from .._kernels.memory import MEM_NAMES

    return tuple(MEM_NAMES)


def _schema() -> dict:
    """The columns of :func:`largest_model`'s frame and their types."""
    return {"accelerator": pl.String, "capacity_GB": pl.Float64, "family": pl.String, "by": pl.String,
            "base": pl.String, "layers": pl.Int64, "model": pl.String, "tp": pl.Int64, "pp": pl.Int64,
            "vp": pl.Int64, "dp": pl.Int64, "sequence_parallel": pl.Boolean, "params_total": pl.Int64,
            "params_B": pl.Float64, "total_GB": pl.Float64, "headroom_GB": pl.Float64,
            "next_model": pl.String, "next_total_GB": pl.Float64,
            **{f"{c}_GB": pl.Float64 for c in _components()}, "fits": pl.Boolean, "note": pl.String}


def _row(sz: _Sizer, fam: str, by: str, base: str, model: dict | None, name: str | None,
         next_model: dict | None, next_name: str | None, note: str) -> list:
    from ..scenario import Scenario

    cap = sz.capacity / 1e9
    nxt = sz.need(next_model) if next_model is not None else None
    nxt = nxt / 1e9 if nxt is not None else None
    if model is None:
        return [sz.acc, cap, fam, by, base, None, None, *[None] * 5, None, None, None, None, next_name, nxt,
                *[None] * len(_components()), False, note]
    df = sz.frame(model)
    d = dict(sz.base)
    d["model"] = model
    spec = Scenario.from_dict(d, check_plan=False).model_spec
    tot = float(df["bytes"].sum())
    return [sz.acc, cap, fam, by, base, spec.layers, name, *sz.plan(model), spec.params_total, spec.params_total / 1e9,
            tot / 1e9, cap - tot / 1e9, next_name, nxt, *[float(b) / 1e9 for b in df["bytes"]], True, note]


def _at(preset: str, layers: int) -> str:
    """The name of ``preset``'s shape at ``layers`` layers."""
    return f"{preset} at {layers} layer{'' if layers == 1 else 's'}"


def _depth_row(sz: _Sizer, fam: str, preset: str, lo: int, max_layers: int) -> list:
    from ..models import get

    spec = get(preset)
    if spec.experts and spec.dense_layers >= lo:
        # the shallowest model of a MoE shape with dense first layers keeps one MoE layer after
        # them (DeepSeek-V3: 3 dense + 1): the bisection started at 1 layer, which the [model]
        # table refuses, and reported "the plan cannot run it" of a shape it runs at 4 layers
        lo = spec.dense_layers + 1
    try:
        n, at_max = _deepest(sz, preset, lo, max_layers)
    except InfraLabError as e:              # the plan cannot run this shape (context, experts vs ep, ...)
        return _row(sz, fam, "depth", preset, None, None, None, None, f"the plan cannot run it: {e}")
    if n is None:
        return _row(sz, fam, "depth", preset, None, None, _depth_model(preset, lo), _at(preset, lo),
                    f"not even {lo} layer{'s' if lo > 1 else ''} of this shape fit{'s' if lo == 1 else ''}")
    model = _depth_model(preset, n)
    spec = get(preset)
    name = preset if n == spec.layers else _at(preset, n)
    notes = [f"reached max_layers = {max_layers}: more may fit"] if at_max else []
    if spec.arch == "hybrid_ssm" and n != spec.layers and spec.shared_attn_insertions:
        notes.append(f"{len(_hybrid_insertions(spec, n))} of the {n} layers carry a shared attention block, evenly "
                     f"spaced ({len(spec.shared_attn_insertions)} of {spec.layers} published)")
    if spec.arch == "hybrid_ssm" and sz.plan(model)[1] > 1:
        notes.append("pp > 1: the memory model spreads the shared-attention layers over every stage, so the need "
                     "is not monotonic in depth and a deeper size may fit (see largest_model)")
    nxt = None if at_max else _depth_model(preset, n + 1)
    return _row(sz, fam, "depth", preset, model, name, nxt, None if at_max else _at(preset, n + 1), "; ".join(notes))


def _preset_row(sz: _Sizer, fam: str, names: list[str], get) -> list:
    skipped, fit, over = [], [], []
    order = {n: i for i, n in enumerate(names)}       # equal counts (one shape, two names): the first listed wins
    for n in sorted(names, key=lambda x: (get(x).params_total, -order[x])):
        m = {"preset": n}
        try:
            ok = sz.fits(m)
        except InfraLabError as e:          # the plan cannot run this preset (context, experts vs ep, ...)
            skipped.append((n, str(e)))
            continue
        (fit if ok else over).append(n)
    note = (f"left out, the plan cannot run them: {', '.join(n for n, _ in skipped)} (the first: {skipped[0][1]})"
            if skipped else "")
    if not fit and not over:
        raise ValidationError(f"family = {fam!r}: the plan cannot run any of its presets; {note}")
    best = fit[-1] if fit else None
    bigger = [n for n in over if best is None or get(n).params_total > get(best).params_total]
    nxt = bigger[0] if bigger else None
    return _row(sz, fam, "presets", best, {"preset": best} if best else None, best,
                {"preset": nxt} if nxt else None, nxt, note)
