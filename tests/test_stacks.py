"""The software-stack table (infra_lab.stacks) and the scenario's [training] stack."""

import polars as pl
import pytest

import infra_lab as il
from infra_lab import stacks
from infra_lab.errors import UnknownNameError, ValidationError

ZAYA = il.load_scenario("zaya1-ibm-mi300x")
SYMMETRIC = ("framework_time_scale", "memory_time_scale", "tp_comm_overlap", "cp_comm_overlap",
             "ep_comm_overlap", "moe_popularity_cv", "attention_kernel", "pp_p2p_overlap", "dp_comm_overlap",
             "zero3_comm_overlap", "zero3_bandwidth_efficiency", "grad_reduce_bytes",
             "grad_buffer_bytes", "weight_bytes", "memory_reserve_bytes", "memory_reserve_fraction")


def test_table_schema_and_sources():
    t = stacks.table()
    assert t.columns[:7] == ["stack", "parameter", "value", "unit", "basis", "source_url", "note"]
    r = stacks.ranges("megatron-core-rocm")
    assert r == stacks.ranges("megatron-core-cuda")           # the band is vendor-symmetric too
    for name, (lo, hi) in r.items():
        assert lo <= stacks.params("megatron-core-rocm")[name] <= hi
    assert t["source_url"].str.starts_with("http").all()
    assert set(t["basis"]) <= set(stacks.BASES)
    info = stacks.info_table()
    assert set(t["stack"]) <= set(info["stack"])
    for col in ("vendor", "framework", "library", "version", "purpose", "source_url"):
        assert (info[col].str.len_chars() > 0).all(), col


def test_defaults_by_vendor_are_explicit_and_vendor_symmetric():
    """A cross-vendor comparison uses the same factors on both sides: the default CUDA and
    ROCm training stacks differ in no factor (technical review section 2)."""
    cuda, rocm = stacks.default_stack("H100"), stacks.default_stack("MI300X")
    assert (cuda, rocm) == ("megatron-core-cuda", "megatron-core-rocm")
    assert stacks.default_stack("B200") == cuda and stacks.default_stack("MI355X") == rocm
    pc, pr = stacks.params(cuda), stacks.params(rocm)
    for k in SYMMETRIC:
        assert pc[k] == pr[k], k
    # the earlier per-vendor factors exist only as labelled sensitivity stacks
    asym = stacks.info_table().filter(pl.col("stack").str.ends_with("-asym"))
    assert asym.height == 2 and set(asym["role"]) == {"sensitivity"}
    assert (asym["note"].str.contains("SENSITIVITY")).all()


def test_params_overrides_checked():
    p = stacks.params("megatron-core-rocm", {"dp_comm_overlap": 0.5})
    assert p["dp_comm_overlap"] == 0.5
    with pytest.raises(UnknownNameError, match="dp_comm_overlap"):
        stacks.params("megatron-core-rocm", {"dp_comm_overlp": 0.5})
    for bad in ("0.5", None, True, float("nan")):
        with pytest.raises(ValidationError, match="dp_comm_overlap"):
            stacks.params("megatron-core-rocm", {"dp_comm_overlap": bad})
    with pytest.raises(ValidationError, match="expected a dict"):
        stacks.params("megatron-core-rocm", [1, 2])
    with pytest.raises(UnknownNameError, match="megatron-core-rocm"):
        stacks.params("megatron-core-rcom")


def test_scenario_stack_field():
    assert ZAYA.training.stack is None and ZAYA.stack == "megatron-core-rocm"
    sc = ZAYA.replace(training={"stack": "megatron-core-rocm-asym"})
    assert sc.stack == "megatron-core-rocm-asym"
    assert il.Scenario.from_dict(sc.to_dict()) == sc
    assert 'stack = "megatron-core-rocm-asym"' in sc.to_toml()
    with pytest.raises(UnknownNameError, match="megatron-core-rocm"):
        ZAYA.replace(training={"stack": "megatron-core-rcom"})
    with pytest.raises(ValidationError, match="cannot run on MI300X"):
        ZAYA.replace(training={"stack": "megatron-core-cuda"})
    with pytest.raises(UnknownNameError):
        ZAYA.replace(training={"stack": 3})
    # an explicit stack changes the answer; the default is the vendor's default stack
    base = il.estimate(ZAYA)
    assert base.stack == "megatron-core-rocm"
    assert il.estimate(sc).step_time_s != base.step_time_s
    assert il.estimate(ZAYA, stack="megatron-core-rocm-asym").step_time_s == il.estimate(sc).step_time_s
    with pytest.raises(ValidationError, match="cannot run"):
        il.estimate(ZAYA, stack="megatron-core-cuda")


def test_stack_names_any_case_like_accelerators():
    """A stack name is matched in any letter case, as accelerator and model names are; an
    unknown one still names the nearest."""
    import infra_lab as il
    from infra_lab import stacks
    from infra_lab.errors import UnknownNameError

    assert stacks.canonical(" MEGATRON-CORE-ROCM ") == "megatron-core-rocm"
    assert stacks.params("Megatron-Core-ROCm") == stacks.params("megatron-core-rocm")
    d = il.load_scenario("zaya1-ibm-mi300x").to_dict()
    d["training"]["stack"] = "MEGATRON-CORE-ROCM"
    sc = il.Scenario.from_dict(d)
    assert sc.training.stack == "megatron-core-rocm"
    base = il.estimate(il.load_scenario("zaya1-ibm-mi300x"), stack="megatron-core-rocm").step_time_s
    assert il.estimate(sc).step_time_s == base
    assert il.estimate(il.load_scenario("zaya1-ibm-mi300x"), stack="Megatron-Core-ROCm").step_time_s == base
    with pytest.raises(UnknownNameError, match="megatron-core-rocm"):
        stacks.canonical("megatron-core-rcom")


@pytest.mark.parametrize("name", ["memory_utilization", "attention_decode_efficiency",
                                  "attention_prefill_efficiency"])
def test_serving_fractions_refused_above_one(name):
    """Shares of HBM or of the peak are fractions: 1.35 is refused by name, not turned into a
    negative memory figure deep in the serving model."""
    import infra_lab as il
    from infra_lab.errors import ValidationError

    sc = il.load_scenario("maia-class-serving-mi300x")
    with pytest.raises(ValidationError, match=f"{name} = 1.35.*fraction"):
        il.serve(sc, stack_params={name: 1.35})
