"""Property-based tests of the public API (issue 18 item 5; hypothesis).

Over each public entry point — Scenario (dict, TOML, config objects), estimate, search,
collective, economics, reliability, memory, models, catalog, serving, sweep — with valid and
junk arguments:

* only the package's own errors escape (:class:`infra_lab.errors.InfraLabError`); never a
  ValueError, TypeError, KeyError, ZeroDivisionError, OverflowError or a numba error from
  inside (``InfraLabError`` subclasses ValueError/KeyError, so ``own`` checks the class);
* returned times, costs and rates are finite and non-negative;
* TOML and dict round trips give back an equal Scenario (control characters in strings,
  list-valued model overrides, scenarios built from config objects);
* monotonicity: a collective is never slower on faster links (NIC line rate, fabric
  efficiency, less oversubscription); more failures never give more goodput; more GPUs of
  the same plan never give fewer tokens/s.

Speed: the ``ci`` hypothesis profile (tests/conftest.py: derandomized, no deadline) with
``max_examples`` lowered per test where one example costs more than a few milliseconds;
the file runs in well under a minute here.
"""

from __future__ import annotations

import math
import os
import tomllib

import hypothesis.strategies as st
import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings

import infra_lab as il
from infra_lab import catalog, economics, memory, models, reliability
from infra_lab import collectives as coll
from infra_lab.errors import InfraLabError
from infra_lab.scenario import HardwareConfig, ParallelismConfig, Scenario, TrainingConfig

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

DEEP = os.environ.get("HYPOTHESIS_PROFILE") == "deep"


def budget(n: int) -> settings:
    """``n`` examples in CI (the derandomized ``ci`` profile); 25 × more with the ``deep`` profile."""
    return settings(max_examples=n * (25 if DEEP else 1), suppress_health_check=[HealthCheck.too_slow])


SLOW = budget(15)
MEDIUM = budget(30)
MANY = budget(100)


def own(fn, *args, **kwargs):
    """fn(*args, **kwargs), or None when it raises the package's own error; any other
    exception propagates (and fails the test)."""
    try:
        return fn(*args, **kwargs)
    except InfraLabError:
        return None


def finite_nonneg(x) -> bool:
    return x is not None and not isinstance(x, bool) and math.isfinite(float(x)) and float(x) >= 0


# ------------------------------------------------------------------------------- strategies
JUNK = st.one_of(
    st.none(), st.booleans(), st.text(max_size=6),
    st.sampled_from(["1", "0.5", "yes", "no", "true", "nan", "MI300X", "", " "]),
    st.integers(-(2**63), 2**63), st.integers(-3, 20),
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([0.0, -1.0, 1e300, -0.0, 1e-300]),
    st.lists(st.integers(-1, 8), max_size=3), st.dictionaries(st.text(max_size=3), st.integers(0, 3), max_size=2),
    st.tuples(st.integers(0, 4)), st.just(np.float64("nan")), st.just(np.int64(4)),
)
"""Values of every kind a caller might pass by mistake (and a few right ones)."""

PLATFORMS = [("MI300X", "Pollara-400"), ("H100-SXM", "ConnectX-7"), ("B200", "ConnectX-7"),
             ("MI355X", "Pollara-400"), ("GB200", "ConnectX-7"), ("H200-SXM", "ConnectX-7")]
PRESETS = ["llama3-8b", "gpt2-small", "mixtral-8x7b", "qwen3-30b-a3b", "zaya1-base", "llama3-70b"]
BASE = {"model": {"preset": "llama3-8b"},
        "hardware": {"accelerator": "MI300X", "nodes": 2, "nic": "Pollara-400"},
        "training": {"seq_len": 4096, "global_batch": 64, "micro_batch": 2}}
TINY = {"model": {"layers": 2, "hidden": 256, "heads": 4, "vocab": 1000},
        "hardware": {"accelerator": "H100", "nodes": 1, "nic": "ConnectX-7"},
        "training": {"seq_len": 512, "global_batch": 16}}
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=12)
"""Any Unicode string TOML can hold (no lone surrogates), control characters included."""


def with_change(base: dict, table: str, key: str, value) -> dict:
    d = {k: dict(v) if isinstance(v, dict) else v for k, v in base.items()}
    if table == "":
        d[key] = value
    else:
        d.setdefault(table, {})[key] = value
    return d


TABLE_KEYS = {
    "hardware": list(HardwareConfig.KEYS),
    "training": [k for k in TrainingConfig.KEYS if k != "data_mix"],
    "parallelism": list(ParallelismConfig.KEYS),
    "model": ["preset", "layers", "hidden", "heads", "kv_heads", "vocab", "ffn_hidden", "experts", "top_k",
              "head_dim", "attention", "seq_len_max" if "seq_len_max" in models.MODEL_FIELDS else "name"],
    "": ["name", "serving", "extra"],
}
PLAUSIBLE = st.one_of(st.integers(0, 16), st.sampled_from([1, 2, 4, 8, 64, 4096, 0.5, 1.0, True, False, "bf16",
                                                           "fp8", "selective", "full", "fat-tree", "rails-only",
                                                           "ConnectX-7", "H100", "megatron-core-rocm"]))


@st.composite
def one_change(draw):
    table = draw(st.sampled_from(list(TABLE_KEYS)))
    key = draw(st.sampled_from(TABLE_KEYS[table] + ["not_a_key"]))
    value = draw(st.one_of(JUNK, PLAUSIBLE))
    return table, key, value


@st.composite
def train_dicts(draw):
    """Training scenarios that are mostly valid: a preset on a small cluster, a plan whose
    product divides the world, a global batch that is a multiple of micro_batch·dp."""
    acc, nic = draw(st.sampled_from(PLATFORMS))
    gpn = 4 if acc == "GB200" else 8
    nodes = draw(st.integers(1, 8))
    tp = draw(st.sampled_from([1, 2, 4]))
    pp = draw(st.sampled_from([1, 2]))
    world = nodes * gpn
    dp = max(1, world // (tp * pp))
    mb = draw(st.sampled_from([1, 2]))
    return {
        "model": {"preset": draw(st.sampled_from(PRESETS))},
        "hardware": {"accelerator": acc, "nodes": nodes, "nic": nic,
                     "fabric": draw(st.sampled_from(["rails-only", "rail-optimized", "fat-tree"]))},
        "training": {"seq_len": draw(st.sampled_from([1024, 2048, 4096])),
                     "global_batch": mb * dp * draw(st.integers(1, 8)), "micro_batch": mb,
                     "precision": draw(st.sampled_from(["bf16", "fp8"])),
                     "recompute": draw(st.sampled_from(["none", "selective", "full"]))},
        "parallelism": {"tp": tp, "pp": pp, "zero": draw(st.integers(0, 3)),
                        "sequence_parallel": tp > 1 and draw(st.booleans())},
    }


def check_round_trips(sc: Scenario) -> None:
    """dict, TOML and config-object round trips give back an equal Scenario."""
    assert Scenario.from_dict(sc.to_dict()) == sc
    text = sc.to_toml()
    back = Scenario.from_dict(tomllib.loads(text))
    assert back == sc and hash(back) == hash(sc)
    if sc.serving is None:
        objs = Scenario(sc.name, dict(sc.model), sc.hardware, sc.training, sc.parallelism)
        assert objs == sc


# ------------------------------------------------------------------------------- Scenario
@given(one_change())
def test_scenario_one_change_only_own_errors(change):
    table, key, value = change
    sc = own(Scenario.from_dict, with_change(BASE, table, key, value))
    if sc is not None:
        check_round_trips(sc)


@given(train_dicts())
def test_scenario_valid_round_trips(d):
    sc = own(Scenario.from_dict, d)
    if sc is not None:
        check_round_trips(sc)


@given(TEXT.filter(str.strip), TEXT)   # a name of whitespace alone is refused ("expected a non-empty string")
def test_toml_round_trip_control_characters(name, model_name):
    sc = Scenario.from_dict({**BASE, "name": name, "model": {"preset": "llama3-8b", "name": model_name}})
    check_round_trips(sc)
    assert sc.name == name


@given(st.lists(st.integers(0, 39), min_size=1, max_size=5, unique=True))
def test_toml_round_trip_list_override(insertions):
    d = {"model": {"preset": "zaya1-base", "shared_attn_insertions": sorted(insertions)},
         "hardware": {"accelerator": "MI300X", "nodes": 1, "nic": "Pollara-400"},
         "training": {"seq_len": 4096, "global_batch": 8}}
    sc = own(Scenario.from_dict, d)
    if sc is not None:
        check_round_trips(sc)


@given(st.sampled_from(["training", "parallelism"]), st.sampled_from(["recompute", "precision", "seq_len",
                                                                      "zero", "tp", "fsdp"]), JUNK)
def test_config_objects_validated_like_dicts(table, key, value):
    """A Scenario built from config objects accepts exactly what the dict form accepts."""
    tr, par = dict(seq_len=4096, global_batch=64, micro_batch=2), {}
    kw = tr if table == "training" else par
    if key in ({"recompute", "precision", "seq_len"} if table == "training" else {"zero", "tp", "fsdp"}):
        kw[key] = value
    from_dict = own(Scenario.from_dict, {**BASE, "training": tr, "parallelism": par})
    try:
        objs = Scenario("scenario", {"preset": "llama3-8b"}, HardwareConfig("MI300X", nodes=2, nic="Pollara-400"),
                        TrainingConfig(**tr), ParallelismConfig(**par))
    except InfraLabError:
        objs = None
    assert (objs is None) == (from_dict is None)
    if objs is not None:
        assert objs == from_dict


@given(st.one_of(JUNK, TEXT))
def test_scenario_loaders_only_own_errors(x):
    own(Scenario.from_dict, x)
    own(il.load_scenario, x)
    own(HardwareConfig.from_dict, x)


# ------------------------------------------------------------------------------- estimate
def check_estimate(e) -> None:
    assert math.isfinite(e.step_time_s) and e.step_time_s > 0
    assert math.isfinite(e.tokens_per_s) and e.tokens_per_s > 0
    assert 0 < e.mfu <= 1, e.mfu
    for v in (e.tokens_per_s_per_gpu, e.tflops_per_gpu, e.memory_per_gpu_bytes, e.nic_busy_fraction,
              e.dp_comm_raw_s, e.checkpoint_bytes, e.model_flops_per_step):
        assert finite_nonneg(v), v
    assert all(finite_nonneg(s) for s in e.breakdown["seconds"]) if "seconds" in e.breakdown.columns else True


@MEDIUM
@given(train_dicts())
def test_estimate_valid_scenarios(d):
    sc = own(Scenario.from_dict, d)
    if sc is None:
        return
    e = own(il.estimate, sc)
    if e is not None:
        check_estimate(e)


def huge(x) -> bool:
    """A real number beyond 1e6 (a global batch that large is checked by test_open_case
    below)."""
    from infra_lab._validate import is_real

    return is_real(x) and math.isfinite(float(x)) and abs(float(x)) > 1e6


def unhashable(x) -> bool:
    return isinstance(x, (list, dict)) and (isinstance(x, dict) or any(isinstance(i, (list, dict)) for i in x))


@MEDIUM
@given(st.sampled_from(sorted(il.training.STACK_PARAMS) + ["not_a_param"]), st.one_of(JUNK, PLAUSIBLE))
def test_estimate_params_only_own_errors(key, value):
    e = own(il.estimate, BASE, params={key: value})
    if e is not None:
        check_estimate(e)


@given(st.sampled_from(["stack", "params", "scenario"]), JUNK)
def test_estimate_arguments_only_own_errors(arg, value):
    if arg == "scenario":
        own(il.estimate, value)
    else:
        own(il.estimate, BASE, **{arg: value})


# ------------------------------------------------------------------------------- search
def check_plans(df) -> None:
    if df is not None and df.height:
        for c in ("step_time_s", "tokens_per_s", "memory_per_gpu_bytes"):
            assert all(finite_nonneg(x) for x in df[c])


CONSTRAINTS = list(il.training.SEARCH_CONSTRAINTS) + ["not_a_constraint"]


@MANY
@given(st.sampled_from(CONSTRAINTS), st.one_of(JUNK, st.lists(JUNK, min_size=1, max_size=3)))
def test_search_constraints_junk_only_own_errors(key, value):
    check_plans(own(il.search, TINY, **{key: value}))


@SLOW
@given(st.sampled_from(CONSTRAINTS), st.one_of(PLAUSIBLE, st.lists(PLAUSIBLE, min_size=1, max_size=3)))
def test_search_constraints_plausible(key, value):
    check_plans(own(il.search, TINY, **{key: value}))


@SLOW
@given(st.sampled_from(["objective", "top", "feasible_only", "stack", "params"]), st.one_of(JUNK, PLAUSIBLE))
def test_search_arguments_only_own_errors(arg, value):
    own(il.search, TINY, **{arg: value})


# ------------------------------------------------------------------------------- collectives
OPS = list(coll.OPS)


@st.composite
def hardware_dicts(draw):
    acc, nic = draw(st.sampled_from(PLATFORMS))
    return {"accelerator": acc, "nodes": draw(st.integers(1, 16)), "nic": nic,
            "fabric": draw(st.sampled_from(["rails-only", "rail-optimized", "fat-tree"])),
            "oversubscription": draw(st.sampled_from([1.0, 1.5, 2.0, 4.0]))}


@given(st.one_of(st.sampled_from(OPS), JUNK), st.one_of(st.floats(-1e3, 1e12), JUNK), hardware_dicts(),
       st.one_of(st.integers(0, 130), JUNK), st.one_of(st.sampled_from(["auto", "ring", "tree"]), JUNK))
def test_collective_only_own_errors(op, size, hw, gpus, algo):
    r = own(il.collective, op, size, hw, gpus, algo)
    if r is not None:
        for v in (r.time_s, r.algbw_Bps, r.busbw_Bps):
            assert finite_nonneg(v)


@given(st.sampled_from(OPS), st.floats(1e3, 1e11), hardware_dicts(), st.data())
def test_collective_faster_links_never_slower(op, size, hw, data):
    world = hw["nodes"] * (4 if hw["accelerator"] == "GB200" else 8)
    gpus = data.draw(st.sampled_from(sorted({2, world // 2 or 1, world})))
    if gpus < 2:
        return
    e1, e2 = sorted(data.draw(st.lists(st.floats(0.05, 1.0), min_size=2, max_size=2)))
    slow = own(il.collective, op, size, hw, gpus, fabric_efficiency=e1)
    fast = own(il.collective, op, size, hw, gpus, fabric_efficiency=e2)
    if slow is not None and fast is not None:
        assert fast.time_s <= slow.time_s * (1 + 1e-9)
    o1 = data.draw(st.sampled_from([1.0, 2.0, 4.0]))
    more = own(il.collective, op, size, {**hw, "oversubscription": o1}, gpus)
    less = own(il.collective, op, size, {**hw, "oversubscription": o1 * 2}, gpus)
    if more is not None and less is not None:
        assert more.time_s <= less.time_s * (1 + 1e-9)


NIC_RATES = sorted((catalog.nic(n).line_rate_bps, n) for n in catalog.nic_names())


@given(st.sampled_from(OPS), st.floats(1e3, 1e11), st.sampled_from(PLATFORMS), st.integers(2, 8), st.data())
def test_collective_faster_nic_never_slower(op, size, platform, nodes, data):
    """Same NIC vendor (same per-message software path), higher line rate: never slower."""
    acc = platform[0]
    vendor = data.draw(st.sampled_from(sorted({catalog.nic(n).vendor for _, n in NIC_RATES})))
    nics = [n for _, n in NIC_RATES if catalog.nic(n).vendor == vendor]
    a, b = sorted(data.draw(st.lists(st.sampled_from(nics), min_size=2, max_size=2)),
                  key=lambda n: catalog.nic(n).line_rate_bps)
    if catalog.nic(a).line_rate_bps == catalog.nic(b).line_rate_bps:
        return
    gpus = nodes * (4 if acc == "GB200" else 8)
    for algo in ("fastest", "auto"):
        slow = own(il.collective, op, size, {"accelerator": acc, "nodes": nodes, "nic": a}, gpus, algo)
        fast = own(il.collective, op, size, {"accelerator": acc, "nodes": nodes, "nic": b}, gpus, algo)
        if slow is None or fast is None:
            continue
        if algo == "auto" and (fast.algorithm, fast.protocol) != (slow.algorithm, slow.protocol):
            # the library's tuner picks by its own thresholds, which move with the link speed: it
            # may switch to an algorithm the model prices slower (RCCL on MI355X × 32, 872 MB
            # all-reduce: ring on Pollara-400, tree on Vulcano-800). Explained, not a bug; the same
            # algorithm is never slower on the faster NIC:
            same = own(il.collective, op, size, {"accelerator": acc, "nodes": nodes, "nic": b}, gpus, slow.algorithm)
            if same is not None:
                assert same.time_s <= slow.time_s * (1 + 1e-9), (a, b, slow.algorithm, slow.time_s, same.time_s)
            continue
        assert fast.time_s <= slow.time_s * (1 + 1e-9), (algo, a, b, slow.time_s, fast.time_s)


FASTER_NIC = {"MI300X": ("Pollara-400", "Vulcano-800"), "H100-SXM": ("ConnectX-7-NDR", "ConnectX-8"),
              "B200": ("ConnectX-7-NDR", "ConnectX-8")}


@SLOW
@given(st.sampled_from(sorted(FASTER_NIC)), st.sampled_from(["llama3-8b", "mixtral-8x7b", "gpt2-small"]),
       st.sampled_from([{"tp": 1}, {"tp": 8}, {"tp": 4, "pp": 2}, {"tp": 1, "zero": 3}, {"tp": 2, "cp": 2}]),
       st.integers(1, 8), st.sampled_from([64, 256, 1024]))
def test_training_step_faster_nic_never_slower(acc, preset, par, nodes, gb):
    """A training step on the same cluster with the same vendor's faster NIC (twice the line
    rate) is never slower."""
    def step(nic):
        e = own(il.estimate, {"model": {"preset": preset}, "hardware": {"accelerator": acc, "nodes": nodes, "nic": nic},
                              "training": {"seq_len": 4096, "global_batch": gb, "micro_batch": 1},
                              "parallelism": par})
        return None if e is None else e.step_time_s

    slow, fast = (step(n) for n in FASTER_NIC[acc])
    if slow is not None and fast is not None:
        assert fast <= slow * (1 + 1e-9), (acc, preset, par, nodes, gb, slow, fast)


# ------------------------------------------------------------------------------- economics
OWNED_KEYS = sorted(economics.OWNED_PARAMS) if hasattr(economics, "OWNED_PARAMS") else []


@given(st.one_of(st.sampled_from(catalog.accelerator_names()), JUNK),
       st.sampled_from(OWNED_KEYS + ["not_a_param"]), st.one_of(JUNK, st.floats(0, 1e5)))
def test_owned_cost_only_own_errors(acc, key, value):
    kw = {"capex_usd_per_gpu": 30000.0, "tdp_W": 700.0, key: value}
    r = own(economics.owned_cost_per_gpu_hour, acc, **kw)
    if r is not None:
        assert math.isfinite(r.total_usd_per_gpu_hour) and r.total_usd_per_gpu_hour > 0


@given(st.sampled_from(["break_even", "provider", "tco", "cloud", "mc"]), st.one_of(JUNK, st.floats(0, 100)),
       st.one_of(st.sampled_from(catalog.accelerator_names()), JUNK))
def test_economics_calls_only_own_errors(call, x, acc):
    if call == "break_even":
        r = own(economics.break_even_utilization, x, acc, capex_usd_per_gpu=30000.0, tdp_W=700.0)
        assert r is None or r == math.inf or finite_nonneg(r)  # documented: inf when the rent <= energy
    elif call == "provider":
        r = own(economics.provider_view, x, 0.7, acc, capex_usd_per_gpu=30000.0, tdp_W=700.0)
        assert r is None or math.isfinite(r.margin_usd_per_gpu_hour)
    elif call == "tco":
        r = own(economics.tco, 64, x, None, acc, capex_usd_per_gpu=30000.0, tdp_W=700.0)
        assert r is None or all(math.isfinite(v) for v in r["usd"])
    elif call == "cloud":
        r = own(economics.cloud_price, acc, x)
        assert r is None or finite_nonneg(r)
    else:
        r = own(economics.monte_carlo_owned_cost, n=50, accelerator=acc, fixed={"utilization": x})
        assert r is None or bool(np.isfinite(r).all() and (r > 0).all())


@given(st.floats(0, 1e6), st.floats(0, 1e6), st.floats(0, 1e6))
def test_distribution_mean_only_own_errors(a, b, c):
    m = own(economics.distribution_mean, a, b, c)
    if m is not None:
        assert min(a, b, c) - 1e-9 * max(1, c) <= m <= max(a, b, c) + 1e-9 * max(1, c)


# ------------------------------------------------------------------------------- reliability
@SLOW
@given(hardware_dicts(), st.floats(0.1, 5.0), st.floats(1.0, 4.0), st.sampled_from(["shared-fs", "local-nvme"]))
def test_more_failures_never_more_goodput(hw, m, factor, storage):
    storage = storage if storage in reliability.storage_options()["name"].to_list() else "shared-fs"
    a = own(reliability.plan_run, hw, 1000.0, model="llama3-8b", multiplier=m, storage=storage)
    b = own(reliability.plan_run, hw, 1000.0, model="llama3-8b", multiplier=m * factor, storage=storage)
    if a is not None and b is not None:
        for p in (a, b):
            assert 0 < p.goodput <= 1 and math.isfinite(p.expected_wall_s) and p.expected_wall_s >= p.work_s
        assert b.goodput <= a.goodput * (1 + 1e-12)


@MEDIUM
@given(st.sampled_from(["work_hours", "interval_s", "restart_s", "save_speedup", "write_GBps_per_node",
                        "fixed_overhead_s", "multiplier", "radix", "storage", "save", "optimizer",
                        "calibration", "restart", "early_deployment"]), st.one_of(JUNK, PLAUSIBLE))
def test_plan_run_only_own_errors(arg, value):
    kw = {"model": "llama3-8b"}
    work = 1000.0
    if arg == "work_hours":
        work = value
    else:
        kw[arg] = value
    p = own(reliability.plan_run, BASE["hardware"], work, **kw)
    if p is not None:
        assert 0 <= p.goodput <= 1
        assert p.expected_wall_s == math.inf or finite_nonneg(p.expected_wall_s)


@given(st.one_of(st.floats(0, 1e7), JUNK), st.one_of(st.floats(0, 1e5), JUNK), st.one_of(st.floats(0, 1e4), JUNK),
       st.one_of(st.floats(0, 1e-2), JUNK), st.one_of(st.floats(0, 1e4), JUNK))
def test_closed_forms_only_own_errors(work, interval, ckpt, rate, restart):
    t = own(reliability.expected_wall_time_s, work, interval, ckpt, [rate] + [0.0] * 6, [restart] * 7)
    assert t is None or t == math.inf or (finite_nonneg(t) and t >= float(work) * (1 - 1e-9))  # remainder < 1e-9·W dropped
    i = own(reliability.optimal_interval_s, work, ckpt, [rate] + [0.0] * 6, [restart] * 7)
    assert i is None or finite_nonneg(i)


@given(hardware_dicts(), st.one_of(JUNK, st.sampled_from(["llama3", "count"])))
def test_mtbi_only_own_errors(hw, calibration):
    h = own(reliability.mtbi_hours, hw)
    assert h is None or (math.isfinite(h) and h > 0)
    own(reliability.mtbi_hours, hw, calibration=calibration)


# ------------------------------------------------------------------------------- memory
@MEDIUM
@given(st.sampled_from(["micro_batch", "weight_bytes", "grad_bytes", "zero", "tp", "pp", "recompute",
                        "seq_len", "not_an_override"]), st.one_of(JUNK, PLAUSIBLE))
def test_training_memory_only_own_errors(key, value):
    df = own(memory.training_memory, BASE, **{key: value})
    if df is not None:
        assert all(finite_nonneg(b) for b in df["bytes"])


@SLOW
@pytest.mark.filterwarnings("ignore::infra_lab.errors.ContextLengthWarning")   # contexts past a RoPE config
@given(st.sampled_from(["accelerators", "scenario", "family", "by", "max_layers", "micro_batch", "zero",
                        "seq_len", "recompute", "reserve_bytes", "accelerator", "not_an_override"]),
       st.one_of(JUNK, PLAUSIBLE))
def test_largest_model_only_own_errors(key, value):
    kw = {"accelerators": ["H100-SXM"], "scenario": TINY, "family": "llama3", key: value}
    df = own(memory.largest_model, **kw)
    if df is not None:
        for r in df.filter(df["fits"]).iter_rows(named=True):
            assert r["layers"] >= 1 and finite_nonneg(r["total_GB"]) and r["total_GB"] <= r["capacity_GB"]


@SLOW
@given(st.sampled_from(["llama3", "qwen3", "mixtral", "llama2"]), st.sampled_from(["depth", "presets"]),
       st.floats(0, 60), st.floats(0, 60))
def test_largest_model_more_memory_never_a_smaller_model(family, by, r1, r2):
    """Less memory left (a larger reserve outside the allocator) never buys more parameters."""
    small, large = sorted((r1, r2))
    got = [memory.largest_model(["H200-SXM"], scenario=TINY, family=family, by=by, reserve_bytes=r * 1e9)
           for r in (small, large)]
    for a, b in zip(*(g.group_by("base", maintain_order=True).agg(pl.col("params_total").max().fill_null(0))
                      .sort("base")["params_total"].fill_null(0).to_list() for g in got), strict=True):
        assert b <= a


@pytest.mark.filterwarnings("ignore::infra_lab.errors.ContextLengthWarning")   # contexts past a RoPE config
@given(st.sampled_from(PRESETS), st.sampled_from(catalog.accelerator_names()), st.integers(1, 2**17),
       st.integers(1, 64))
def test_inference_memory_finite(preset, acc, context, gpus):
    df = own(memory.inference_memory, preset, acc, context, 1, gpus)
    if df is not None:
        assert all(math.isfinite(b) for b in df["bytes"])
    n = own(memory.max_inference_batch, preset, acc, context, gpus)
    assert n is None or (isinstance(n, int) and n >= 0)


@given(st.sampled_from(PRESETS), st.one_of(JUNK, st.sampled_from(["adamw", "muon", "sgd"])))
def test_checkpoint_bytes_only_own_errors(preset, optimizer):
    c = own(memory.checkpoint_bytes, preset, optimizer)
    assert c is None or finite_nonneg(c.total_bytes)


# ------------------------------------------------------------------------------- models
@given(st.sampled_from(sorted(models.MODEL_FIELDS)), st.one_of(JUNK, PLAUSIBLE))
def test_model_fields_only_own_errors(key, value):
    spec = own(models.ModelSpec.from_dict, {"preset": "llama3-8b", key: value})
    if spec is not None:
        f = own(spec.flops_per_token, 4096)
        assert f is None or (math.isfinite(f) and f > 0)
        assert spec.params_total > 0 and spec.params_active > 0


@given(st.one_of(JUNK, st.floats(0, 1e13)), st.one_of(JUNK, st.floats(0, 1e16)))
def test_six_nd(params, tokens):
    r = own(models.six_nd, params, tokens)
    assert r is None or finite_nonneg(r)


@given(st.sampled_from(PRESETS), st.one_of(st.integers(-2, 2**20), JUNK))
def test_flops_per_token(preset, seq_len):
    f = own(models.get(preset).flops_per_token, seq_len)
    assert f is None or (math.isfinite(f) and f > 0)
    t = own(models.training_flops_per_token, preset, seq_len)
    assert t is None or (math.isfinite(t) and t > 0)


# ------------------------------------------------------------------------------- catalog
@given(st.one_of(TEXT, JUNK), st.one_of(st.sampled_from(["gemm_tflops", "hbm_bw"]), JUNK),
       st.one_of(st.sampled_from(["bf16", "fp8", None]), JUNK))
def test_catalog_lookups_only_own_errors(name, quantity, precision):
    a = own(catalog.accelerator, name)
    assert a is None or a.name in catalog.accelerator_names()
    own(catalog.nic, name)
    own(catalog.canonical_accelerator, name)
    v = own(catalog.measurement, "MI300X" if a is None else a.name, quantity, precision)
    assert v is None or finite_nonneg(v)


@given(st.sampled_from(catalog.accelerator_names()), st.one_of(JUNK, st.sampled_from(["bf16", "fp8", "fp4"])))
def test_peak_only_own_errors(acc, precision):
    p = own(catalog.accelerator(acc).peak, precision)
    assert p is None or (math.isfinite(p) and p > 0)


# ------------------------------------------------------------------------------- serving
SERVE = {"model": {"preset": "llama3-8b"},
         "hardware": {"accelerator": "MI300X", "nodes": 1, "gpus_per_node": 1, "nic": "Pollara-400"},
         "serving": {}}
SERVE_KEYS = list(il.scenario.ServingConfig.KEYS)


def _tpot(r) -> tuple:
    """TPOT and tokens/s per user of a serve result: numbers, or both None for one output
    token (il.serving.tpot_defined: no token follows the first)."""
    if r.scenario.serving.output_tokens == 1:
        assert r.tpot_s is None and r.tokens_per_s_per_user is None, r
        return ()
    return r.tpot_s, r.tokens_per_s_per_user


@MEDIUM
@given(st.sampled_from(SERVE_KEYS), st.one_of(JUNK, PLAUSIBLE, st.integers(1, 4096)))
def test_serve_only_own_errors(key, value):
    r = own(il.serve, with_change(SERVE, "serving", key, value))
    if r is not None:
        for v in (r.output_tokens_per_s, r.total_tokens_per_s, r.ttft_s, r.e2e_latency_s,
                  r.memory_per_gpu_bytes, *_tpot(r)):
            assert finite_nonneg(v), (key, value, r)


@SLOW
@given(st.sampled_from(["objective", "top", "max_tpot_s", "max_ttft_s", "min_tokens_per_s_per_user",
                        "concurrencies", "weight_precisions", "kv_precisions", "pareto", "price_usd_per_gpu_hour",
                        "stack_params"]),
       st.one_of(JUNK, PLAUSIBLE, st.lists(st.one_of(JUNK, PLAUSIBLE), min_size=1, max_size=2)))
def test_serve_search_only_own_errors(arg, value):
    own(il.serve_search, {**SERVE, "hardware": {**SERVE["hardware"], "gpus_per_node": 2}}, **{arg: value})


@st.composite
def serve_dicts(draw):
    """Serving scenarios that are mostly valid: a preset on one node, tp a divisor of the GPUs."""
    acc, nic = draw(st.sampled_from(PLATFORMS[:3]))
    gpus = draw(st.sampled_from([1, 2, 4, 8]))
    return {"name": draw(TEXT),
            "model": {"preset": draw(st.sampled_from(["llama3-8b", "mixtral-8x7b", "qwen3-30b-a3b"]))},
            "hardware": {"accelerator": acc, "nodes": 1, "gpus_per_node": gpus, "nic": nic},
            "serving": {"engine": draw(st.sampled_from(["vllm", "sglang"])),
                        "tp": draw(st.sampled_from([d for d in (1, 2, 4, 8) if d <= gpus])),
                        "input_tokens": draw(st.integers(1, 8192)), "output_tokens": draw(st.integers(1, 4096)),
                        "concurrency": draw(st.integers(1, 512)),
                        "kv_precision": draw(st.sampled_from(["bf16", "fp8"]))}}


@SLOW
@given(serve_dicts())
def test_serving_round_trips_and_finite(d):
    """Serving scenarios: dict, TOML and ServingConfig-object round trips give an equal
    Scenario; il.serve's times and rates are finite and non-negative."""
    sc = own(Scenario.from_dict, d)
    if sc is None:
        return
    assert Scenario.from_dict(sc.to_dict()) == sc
    back = Scenario.from_dict(tomllib.loads(sc.to_toml()))
    assert back == sc and hash(back) == hash(sc)
    assert Scenario.from_dict({**sc.to_dict(), "serving": sc.serving}) == sc
    r = own(il.serve, sc)
    if r is not None:
        for v in (r.output_tokens_per_s, r.total_tokens_per_s, r.ttft_s, r.e2e_latency_s,
                  r.memory_per_gpu_bytes, *_tpot(r)):
            assert finite_nonneg(v), (d, r)


# ------------------------------------------------------------------------------- sweep
HASHABLE_JUNK = st.one_of(st.none(), st.booleans(), st.text(max_size=6), st.integers(), st.floats(),
                          st.tuples(st.integers(0, 4)))


@given(st.one_of(JUNK, st.dictionaries(st.one_of(TEXT, HASHABLE_JUNK), st.one_of(JUNK, st.lists(JUNK, max_size=2)),
                                       max_size=2)))
def test_sweep_grid_only_own_errors(grid):
    pts = own(il.sweep.grid_points, grid) if hasattr(il.sweep, "grid_points") else None
    if pts is not None:
        for p in pts:
            il.sweep.point_key(p)


@SLOW
@given(st.sampled_from(["seed", "chunk_size", "progress", "pass_seed", "retry_failed", "fn_kwargs", "client"]),
       st.one_of(JUNK, PLAUSIBLE))
def test_sweep_arguments_only_own_errors(arg, value):
    def fn(x, **kw):
        return {"y": 2.0 * x}

    if arg == "client" and isinstance(value, str):
        return  # a string is a scheduler address: il.sweep would try to connect to it
    kw = {"progress": False, arg: value}
    df = own(il.sweep, fn, {"x": [1.0, 2.0]}, **kw)
    if df is not None:
        assert df.height == 2


# ------------------------------------------------------------------------------- scaling
@SLOW
@given(st.sampled_from(PLATFORMS), st.sampled_from(["llama3-8b", "mixtral-8x7b", "gpt2-small"]),
       st.sampled_from([{"tp": 1}, {"tp": 2}, {"tp": 2, "pp": 2}, {"tp": 4, "pp": 2}]),
       st.integers(1, 4), st.sampled_from([1, 2]), st.sampled_from([256, 512, 1024]))
def test_more_gpus_never_fewer_tokens_per_s(platform, preset, par, nodes, mb, gb):
    """Doubling the nodes (the same tp·pp plan, micro-batch and global batch; dp doubles)
    never lowers the tokens/s."""
    acc, nic = platform

    def est(n):
        return own(il.estimate, {"model": {"preset": preset}, "hardware": {"accelerator": acc, "nodes": n, "nic": nic},
                                 "training": {"seq_len": 2048, "global_batch": gb, "micro_batch": mb},
                                 "parallelism": par})

    a, b = est(nodes), est(2 * nodes)
    if a is not None and b is not None:
        assert b.tokens_per_s >= a.tokens_per_s * (1 - 1e-9), (a.tokens_per_s, b.tokens_per_s)


# ------------------------------------------------------------------------------- compute
ACCS = catalog.accelerator_names()
ACC = st.one_of(st.sampled_from(ACCS), JUNK)
PREC = st.one_of(st.sampled_from(["bf16", "fp16", "fp8", "fp4"]), JUNK)
DIM = st.one_of(st.integers(-2, 2**17), JUNK)


@MEDIUM
@given(st.sampled_from(["gemm_time", "gemm_times", "grouped", "attention", "op_time", "optimizer", "roofline"]),
       DIM, DIM, DIM, ACC, PREC)
def test_compute_only_own_errors(call, a, b, c, acc, prec):
    """GEMM, attention, op and optimizer times: only the package's errors; times finite, >= 0."""
    from infra_lab import compute

    if call == "gemm_time":
        r = own(compute.gemm_time, a, b, c, acc, prec)
    elif call == "gemm_times":
        r = own(compute.gemm_times, [a, 64], b, [c], acc, prec)
    elif call == "grouped":
        r = own(compute.grouped_gemm_time, [(a, b, c)], acc, prec)
    elif call == "attention":
        r = own(compute.attention_time, a, b, c, acc, prec if prec in ("fwd", "bwd") else "fwd")
    elif call == "op_time":
        r = own(compute.op_time, a, b, acc, prec)
    elif call == "optimizer":
        r = own(compute.optimizer_step_time, a, acc, prec if not isinstance(prec, str) else "adamw")
    else:
        df = own(compute.roofline, [acc], prec, [a, b] if b is not None else c)
        r = None if df is None else df["attainable_tflops"].to_numpy()
    if r is not None:
        assert bool(np.all(np.isfinite(r)) and np.all(np.asarray(r) >= 0)), (call, a, b, c, r)


@SLOW
@given(st.sampled_from(["seq_len", "micro_batch", "tp", "accelerator", "precision", "ep", "passes",
                        "attention_kernel", "window", "sequence_parallel"]), st.one_of(JUNK, PLAUSIBLE))
def test_layer_ops_only_own_errors(arg, value):
    from infra_lab import compute

    kw = {"seq_len": 1024, "micro_batch": 1, "tp": 1, "accelerator": "MI300X", arg: value}
    df = own(compute.layer_ops, models.get("mixtral-8x7b"), **kw)
    if df is not None:
        t = df["time_s"].to_numpy()
        assert bool(np.all(np.isfinite(t)) and np.all(t >= 0)), (arg, value)


@given(st.one_of(st.integers(-2, 10**7), JUNK), st.one_of(st.integers(-2, 512), JUNK),
       st.one_of(st.integers(-1, 16), JUNK), st.one_of(st.integers(-1, 64), JUNK))
def test_moe_load_imbalance_only_own_errors(tokens, experts, top_k, ep):
    from infra_lab import compute

    r = own(compute.moe_load_imbalance, tokens, experts, top_k, ep, trials=8)
    if r is not None:
        assert math.isfinite(r) and r >= 1 - 1e-9, (tokens, experts, top_k, ep, r)


# ------------------------------------------------------------------------------- cluster, fabric
@given(st.sampled_from(["claim", "summary", "metrics", "switches", "links", "bins"]), hardware_dicts(),
       st.one_of(JUNK, st.floats(0, 1e4)), st.one_of(JUNK, st.integers(-2, 2048)))
def test_cluster_fabric_only_own_errors(call, hw, x, n):
    from infra_lab import cluster, fabric

    if call == "claim":
        r = own(cluster.claim_check, x, hw)
        assert r is None or isinstance(r, dict)
    elif call == "summary":
        own(cluster.cluster_summary, hw if n != 0 else x)
    elif call == "metrics":
        own(cluster.accelerator_metrics, x if isinstance(n, int) and n % 2 else [hw["accelerator"]], "bf16")
    elif call in ("switches", "links"):
        r = own(fabric.switch_counts if call == "switches" else fabric.link_counts, hw, n)
        assert r is None or all(isinstance(v, int) and v >= 0 for v in r.values()), r
    else:
        r = own(fabric.balls_into_bins, n, x, trials=16)
        assert r is None or all(math.isfinite(v) and v >= 0 for v in r.values()), r


# ------------------------------------------------------------------------------- finance
FLOWS = st.one_of(JUNK, st.lists(st.one_of(st.floats(-1e9, 1e9), JUNK), max_size=6),
                  st.lists(st.floats(-1e9, 1e9), min_size=2, max_size=6))


@given(st.sampled_from(["irr", "npv", "irr_array", "percentiles", "per_token", "fmt"]), FLOWS,
       st.one_of(JUNK, st.floats(-1, 2)))
def test_finance_only_own_errors(call, flows, x):
    from infra_lab.economics import uncertainty

    if call == "irr":
        r = own(economics.irr, flows)
        assert r is None or math.isfinite(r)
    elif call == "npv":
        r = own(economics.npv, flows, x)
        assert r is None or math.isfinite(r)
    elif call == "irr_array":
        own(economics.irr_array, flows)
    elif call == "percentiles":
        r = own(economics.percentiles, flows, [x, 50] if not isinstance(x, (list, dict)) else x)
        assert r is None or all(math.isfinite(v) for v in r.values())
    elif call == "per_token":
        r = own(economics.per_token_cost, flows, 1000.0 if x is None else x)
        assert r is None or bool(np.all(np.isfinite(r)) and np.all(np.asarray(r) >= 0))
    else:
        band = uncertainty.Band(1.0, 2.0, 3.0, 2.0, 10)
        if band is not None:
            own(band.fmt, flows if isinstance(flows, str) else "{:,.2f}", x)


# ------------------------------------------------------------------------------- multimodal
MM_TRAIN = None


def mm_train() -> dict:
    global MM_TRAIN
    if MM_TRAIN is None:
        MM_TRAIN = il.multimodal.example_scenario("qwen2.5-vl-7b", {"text": 0.5, "image": 0.5}, nodes=2)
    return MM_TRAIN


MM_SERVE = {"model": {"preset": "qwen2.5-vl-7b"},
            "hardware": {"accelerator": "MI300X", "nodes": 1, "gpus_per_node": 1},
            "serving": {"engine": "vllm", "input_tokens": 64, "output_tokens": 128, "concurrency": 8}}


@SLOW
@given(st.sampled_from(["images", "image_size", "audio_s", "batch", "stack_params"]),
       st.one_of(JUNK, PLAUSIBLE, st.floats(0, 64)))
def test_multimodal_serve_only_own_errors(arg, value):
    r = own(il.multimodal.serve, MM_SERVE, **{arg: value})
    if r is not None:
        for v in (r.result.ttft_s, r.result.tpot_s, r.result.output_tokens_per_s):
            assert finite_nonneg(v), (arg, value)


@SLOW
@given(st.sampled_from(["seq_len", "global_batch", "micro_batch", "encoder", "data_mix", "recompute"]),
       st.one_of(JUNK, PLAUSIBLE))
def test_multimodal_estimate_only_own_errors(key, value):
    if huge(value):
        return  # training.global_batch/seq_len have no upper bound: test_open_case
    r = own(il.multimodal.estimate, with_change(mm_train(), "training", key, value))
    if r is not None:
        check_estimate(r.estimate)
        assert finite_nonneg(r.useful_tokens_per_s) and finite_nonneg(r.encoder_compute_s)


@given(st.sampled_from(["system", "encoder", "flops", "pack", "mix"]),
       st.one_of(JUNK, TEXT, st.sampled_from(il.multimodal.system_names() + il.multimodal.encoder_names())),
       st.one_of(JUNK, st.lists(st.one_of(st.integers(-2, 9000), JUNK), max_size=5), st.floats(0, 16)))
def test_multimodal_lookups_only_own_errors(call, name, x):
    mm = il.multimodal
    if call == "system":
        own(mm.system, name)
    elif call == "encoder":
        own(mm.encoder, name)
    elif call == "flops":
        r = own(mm.encoder_flops_per_request, name, images=x)
        assert r is None or finite_nonneg(r)
    elif call == "pack":
        r = own(mm.pack, x, 4096)
        assert r is None or isinstance(r, dict)
    else:
        r = own(mm.mix_parameter, name)
        assert r is None or math.isfinite(r)


# ------------------------------------------------------------------------------- expansion, CLI
@given(st.sampled_from(["training", "serving", "costs", "pareto"]), st.integers(0, 3),
       st.one_of(JUNK, st.sampled_from(["MI300X node", "MI355X node", "Pollara-400", "llama3-8b", "gpus"])))
def test_expansion_only_own_errors(call, i, value):
    from infra_lab import expansion as ex

    if call == "training":
        args = ["MI300X node", "Pollara-400", 64, "llama3-8b"]
        args[i] = value
        r = own(ex.training_scenario, *args)
        assert r is None or isinstance(r, dict)
    elif call == "serving":
        args = ["MI300X node", "llama3-8b"]
        args[i % 2] = value
        own(ex.serving_scenario, *args)
    elif call == "costs":
        args = ["MI300X node", "Pollara-400"]
        args[i % 2] = value
        r = own(ex.cost_overrides, *args)
        assert r is None or all(finite_nonneg(v) for v in r.values())
    else:
        import polars as pl

        df = pl.DataFrame({"gpus": [1.0, 2.0, 3.0], "cost": [3.0, 1.0, 2.0], "name": ["a", "b", "c"]})
        args = [df, "gpus", "cost"]
        args[i % 3] = value
        r = own(ex.pareto_front, *args)
        assert r is None or r.height >= 1


CLI_VALUES = st.one_of(st.sampled_from(["0", "-1", "nan", "inf", "1e300", "abc", "", "MI300X", "8", "1GiB", "2.5",
                                        "H100", "ConnectX-7", "fat-tree", "rails-only"]), st.text(max_size=5))


@MEDIUM
@given(st.sampled_from(["--gpus", "--nodes", "--accelerator", "--nic", "--nics-per-node", "--gpus-per-node",
                        "--scaleup-domain", "--fabric", "--oversubscription", "--algorithm", "--per-node", "size",
                        "op"]), CLI_VALUES)
def test_cli_collective_bad_options_are_input_errors(opt, value):
    """`infra-lab collective` with one bad option: exit 0 (valid), 1 (the package's error) or 2
    (argparse), never 3 (an internal error: a foreign exception)."""
    from infra_lab import cli

    args = {"op": "all_reduce", "size": "1GiB", "--gpus": "16", "--accelerator": "MI300X", "--nodes": "2",
            "--nic": "Pollara-400"}
    args[opt] = value
    argv = ["collective", args.pop("op"), args.pop("size")] + [x for kv in args.items() for x in kv]
    try:
        rc = cli.main(argv)
    except SystemExit as e:  # argparse refuses the value itself
        rc = e.code
    assert rc in (0, 1, 2), (argv, rc)


# ------------------------------------------------------------------------------- open cases

OPEN_CASES = [
    # once-open cases, now fixed (kept as regression cases: each must end in the package's own error or a
    # valid result)
    pytest.param(lambda: il.search(TINY, recompute={}), id="search(recompute={})"),
    pytest.param(lambda: il.search(TINY, recompute=[["none"]]), id="search(recompute=[[...]])"),
    pytest.param(lambda: il.search(TINY, stack=[]), id="search(stack=[])"),
    pytest.param(lambda: il.search(TINY, params={"dropout": [1]}), id="search(params={k: [1]})"),
    pytest.param(lambda: says(lambda: il.search(TINY, min_pp=3), "min_pp = 3", "allowed"), id="search(min_pp=3)"),
    pytest.param(lambda: says(lambda: il.search(TINY, min_vp=2), "min_vp = 2", "allowed"), id="search(min_vp=2)"),
    pytest.param(lambda: says(lambda: il.search(TINY, min_cp=16), "min_cp = 16", "allowed"), id="search(min_cp=16)"),
    pytest.param(lambda: says(lambda: il.search(TINY, min_ep=2), "min_ep = 2", "allowed"), id="search(min_ep=2)"),
    pytest.param(lambda: says(lambda: il.search(TINY, min_etp=2), "min_etp = 2", "allowed"), id="search(min_etp=2)"),
    pytest.param(lambda: says(lambda: il.search(TINY, min_dp=16), "min_dp = 16", "allowed"), id="search(min_dp=16)"),
    pytest.param(lambda: says(lambda: il.search(TINY, min_micro_batch=64), "min_micro_batch = 64", "allowed"), id="search(min_micro_batch=64)"),
    pytest.param(lambda: says(lambda: il.search(TINY, min_zero=4), "min_zero = 4", "allowed"), id="search(min_zero=4)"),
    pytest.param(lambda: object_like_dict("parallelism", fsdp=True),
                 id="ParallelismConfig(fsdp=True)"),
    pytest.param(lambda: check_estimate(il.estimate(BASE, params={"framework_time_scale": 0.25})),
                 id="estimate(framework_time_scale=0.25)"),
    pytest.param(lambda: refused(il.estimate, with_change(BASE, "training", "global_batch", 3.0e293)),
                 id="estimate(global_batch=3e293)"),
    pytest.param(lambda: check_estimate(il.estimate(BASE, params={"weight_bytes": 3.4e299})),
                 id="estimate(weight_bytes=3.4e299)"),
    pytest.param(lambda: refused(il.estimate, BASE, params={"framework_time_scale": 6.5e291}),
                 id="estimate(framework_time_scale=6.5e291)"),
    pytest.param(lambda: refused(memory.training_memory, BASE, micro_batch=9.8e297),
                 id="training_memory(micro_batch=9.8e297)"),
]


def says(fn, *needles):
    """fn() must raise the package's own error whose message contains every needle."""
    with pytest.raises(InfraLabError) as ei:
        fn()
    for n in needles:
        assert n in str(ei.value), (n, str(ei.value))


def object_like_dict(table: str, **kw):
    """The config object built from ``kw`` must equal the one the dict form gives (an
    InfraLabError from the object, when the dict is accepted, fails too)."""
    cls = {"parallelism": ParallelismConfig, "training": TrainingConfig}[table]
    want = getattr(il.Scenario.from_dict(with_change(BASE, table, next(iter(kw)), next(iter(kw.values())))), table)
    try:
        got = cls(**kw)
    except InfraLabError as e:
        pytest.fail(f"{cls.__name__}(**{kw}) refused what the dict accepts: {e}")
    import dataclasses

    # the dict form derives dp from the world size; the object alone cannot (_dp_derived records which)
    derived = {"dp", "_dp_derived"}
    assert {f.name: getattr(got, f.name) for f in dataclasses.fields(got) if f.name not in derived} == \
        {f.name: getattr(want, f.name) for f in dataclasses.fields(want) if f.name not in derived}


def refused(fn, *args, **kwargs):
    """fn must raise the package's own error (an absurd input accepted silently otherwise)."""
    with pytest.raises(InfraLabError):
        fn(*args, **kwargs)


FOUND_CASES = [
    pytest.param(lambda: il.sweep(lambda x, **k: {"y": x}, {"x": [1.0]}, progress=False, fn_kwargs="0"),
                 ("fn_kwargs", "'0'"), id="sweep(fn_kwargs='0')"),
    pytest.param(lambda: il.sweep(lambda x, **k: {"y": x}, {"x": [1.0]}, progress=False, fn_kwargs=float("nan")),
                 ("fn_kwargs", "nan"), id="sweep(fn_kwargs=nan)"),
    pytest.param(lambda: il.sweep(lambda x: {"y": x}, {"x": [1.0]}, progress=False, client="0"),
                 ("client", "'0'", "tcp://"), id="sweep(client='0')"),
    pytest.param(lambda: il.Scenario.from_dict(with_change(BASE, "model", "name", float("nan"))),
                 ("model.name", "nan", "string"), id="model.name=nan"),
    pytest.param(lambda: reliability.expected_wall_time_s(1e-300, 1.0, 0.0, [1e-300] + [0.0] * 6, [0.0] * 7) == 1e-300
                 or pytest.fail("underflow"), (), id="expected_wall_time_s(λ·L underflows)"),
    pytest.param(lambda: economics.annuity_factor(0.08, 1e-58), ("years", "1e-58"), id="annuity_factor(years=1e-58)"),
    pytest.param(lambda: economics.owned_cost_per_gpu_hour("A100-SXM-80GB", life_years=1e-58), ("life_years", "1e-58"),
                 id="owned_cost(life_years=1e-58)"),
    pytest.param(lambda: il.fabric.constant([1]), ("network constant", "[1]"), id="fabric.constant([1])"),
    pytest.param(lambda: coll.validation_summary(True), ("table", "True"), id="collectives.validation_summary(True)"),
    pytest.param(lambda: il.multimodal.mix_parameter(0), ("data-mix parameter", "0"), id="mix_parameter(0)"),
    pytest.param(lambda: economics.percentiles("abc"), ("samples", "'abc'"), id="percentiles('abc')"),
    pytest.param(lambda: economics.irr(["1", "2"]), ("cash_flows",), id="irr(['1', '2'])"),
    pytest.param(lambda: il.compute.gemm_time([1, 2], 4096, 4096, "MI300X"), ("m", "one number"),
                 id="gemm_time(m=[1, 2])"),
    pytest.param(lambda: il.cluster.accelerator_metrics("MI300X"), ("names", "list"),
                 id="accelerator_metrics('MI300X')"),
    pytest.param(lambda: economics.monte_carlo_owned_cost(n=10, fixed=[1]), ("fixed", "dict"),
                 id="monte_carlo_owned_cost(fixed=[1])"),
]
"""Inputs the property suite found in finished owners' modules (fixed in this pass): each must
raise the package's own error naming the argument and the value (or, with no needles, fn
checks a value that was wrong)."""


@pytest.mark.parametrize("fn, needles", FOUND_CASES)
def test_found_case(fn, needles):
    if not needles:  # a wrong value, not a bad input: fn checks the value itself
        fn()
        return
    with pytest.raises(InfraLabError) as ei:
        fn()
    for n in needles:
        assert n in str(ei.value), (n, str(ei.value))


@pytest.mark.parametrize("fn", OPEN_CASES)
def test_open_case(fn):
    """Inputs the suite found in modules whose owners are still at work: each must end in
    the package's own error (or a valid, finite result); strict xfail until fixed."""
    own(fn)


# ------------------------------------------------------------------------------- every public function
SIG_MODULES = ["catalog", "models", "memory", "compute", "collectives", "fabric", "cluster", "economics",
               "reliability", "stacks", "units", "multimodal", "expansion", "scenario", "serving", "training",
               "validation"]
SIG_JUNK = [None, True, "abc", "0.5", [1], {"a": 1}, float("nan"), float("inf"), -1, 0, 1e300, 2**70]
SIG_VALUES = {"accelerator": "MI300X", "hardware": BASE["hardware"], "scenario": BASE, "spec": "llama3-8b",
              "model": "llama3-8b", "preset": "llama3-8b", "nic": "Pollara-400", "name": "MI300X",
              "precision": "bf16", "op": "all_reduce", "size": 1e9, "size_bytes": 1e9, "gpus": 16, "n": 16,
              "seq_len": 4096, "nodes": 2, "term": "on-demand", "params": 8e9, "tokens": 1e12, "years": 3.0,
              # the arguments of functions this table left out until a later fuzz (tests/test_bad_inputs_fuzz.py)
              "s": 4096, "b": 1, "h": 4096, "a": 32, "vocab": 128256, "m": 4096, "k": 4096, "ms": [4096],
              "ns": [4096], "ks": [4096], "flops": 1e12, "bytes_": 1e9, "context": 8192, "ckpt_s": 60.0,
              "mtbi_s": 86400.0, "replace_rate_per_s": 1 / 3600, "repair_s": 14400.0, "hot_spares": 8,
              "total_usd": 1e6, "presets": ["llama3-8b"], "accelerators": ["MI300X"], "rentals": {"MI300X": 2.0},
              "unit": "fraction", "value": 0.5, "table": {"preset": "llama3-8b"}, "lengths": [100, 200],
              "system_name": "maia-class", "accelerator_name": "MI300X",
              # the inputs dict of the economics array formulas (owned_components, tco_arrays,
              # operator_cash_flows): an operator's dict holds every input the three read
              "v": economics.operator_inputs("MI300X")}
"""Valid values for required arguments, by name (a function whose required arguments are not
all here is left to the targeted tests above)."""
SIG_SKIP = {"sweep", "serve_search", "search", "monte_carlo", "calibrate", "calibrate_current", "tornado", "simulate",
            "simulate_step", "fit_gemm_ceiling", "validation_table", "gemm_validation", "ceiling_fits",
            "published_comparison", "compare_owned", "break_even_capex", "training_throughput", "deal_pnl",
            "matched_rents", "evaluate", "headlines", "operator_paths", "sweep_grid", "compare_current",
            "report_markdown", "glance_markdown", "compare", "summary_current", "summary_by_accelerator", "validation",
            "validation_summary"}
"""Calls that run a whole search, fit or validation (seconds each): covered by their own tests."""


def _public_functions():
    import inspect

    out = []
    for mname in SIG_MODULES:
        mod = getattr(il, mname)
        for fname in getattr(mod, "__all__", []):
            f = getattr(mod, fname, None)
            if not inspect.isfunction(f) or fname in SIG_SKIP:
                continue
            params = [p for p in inspect.signature(f).parameters.values()
                      if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
            required = [p.name for p in params if p.default is p.empty]
            if all(r in SIG_VALUES for r in required):
                out.append((mname, fname, f, {r: SIG_VALUES[r] for r in required}, [p.name for p in params]))
    return out


def _junk_calls(f, base, names) -> list[str]:
    """Call f with each argument in turn replaced by each junk value; return the foreign
    exceptions (argument, value, exception)."""
    bad = []
    for arg in names:
        for j in SIG_JUNK:
            try:
                f(**{**base, arg: j})
            except InfraLabError:
                pass
            except Exception as e:  # noqa: BLE001 - that is what is looked for
                bad.append(f"{arg}={j!r}: {type(e).__name__}: {str(e)[:80]}")
    return bad


PUBLIC = _public_functions()


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.filterwarnings("ignore::infra_lab.errors.ContextLengthWarning")   # 1e300-token contexts
@pytest.mark.parametrize("mname", SIG_MODULES)
def test_every_public_function_only_own_errors(mname):
    """Every public function whose required arguments have a known valid value, called with
    one argument at a time replaced by junk (None, a bool, strings, a list, a dict, NaN, inf,
    negative, zero, 1e300, 2^70): only the package's own errors escape."""
    bad = {}
    for m, fname, f, base, names in PUBLIC:
        if m == mname:
            found = _junk_calls(f, base, names)
            if found:
                bad[fname] = found[:3]
    assert not bad, bad
