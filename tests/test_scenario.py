"""Scenario contract: construction, validation with clear errors, dict/TOML round trips."""

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import infra_lab as il
from infra_lab.errors import UnknownNameError, ValidationError


def base(**over):
    d = {
        "name": "t",
        "model": {"preset": "llama3-8b"},
        "hardware": {"accelerator": "MI300X", "nodes": 4, "gpus_per_node": 8, "nic": "Pollara-400",
                     "fabric": "rails-only"},
        "training": {"seq_len": 4096, "global_batch": 256, "micro_batch": 2},
        "parallelism": {"tp": 1, "pp": 1, "zero": 1},
    }
    for table, upd in over.items():
        d[table] = {**d[table], **upd} if isinstance(upd, dict) else upd
    return d


def test_shipped_scenarios_load():
    names = il.list_scenarios()
    assert "zaya1-ibm-mi300x" in names and "zaya1-h100-counterpart" in names
    sc = il.load_scenario("zaya1-ibm-mi300x")
    assert sc.hardware.world_size == 1024
    assert sc.hardware.accelerator == "MI300X" and sc.hardware.nic == "Pollara-400"
    assert sc.hardware.fabric == "rails-only" and sc.hardware.nics_per_node == 8
    assert sc.parallelism.dp == 1024 and sc.parallelism.zero == 1
    h = il.load_scenario("zaya1-h100-counterpart")
    assert h.hardware.world_size == 1024 and h.hardware.accelerator == "H100-SXM"


def test_defaults_and_dp():
    sc = il.Scenario.from_dict(base(parallelism={"tp": 2, "pp": 2}))
    assert sc.parallelism.dp == 8
    assert sc.hardware.scaleup_domain == 8 and sc.hardware.nics_per_node == 8


def test_aliases_canonicalised():
    sc = il.Scenario.from_dict(base(hardware={"accelerator": "mi300x", "nic": "pollara-400"}))
    assert sc.hardware.accelerator == "MI300X" and sc.hardware.nic == "Pollara-400"


@pytest.mark.parametrize(
    "over, exc, pattern",
    [
        ({"hardware": {"acclerator": "MI300X"}}, UnknownNameError, r"hardware.acclerator.*hardware.accelerator"),
        ({"hardware": {"accelerator": "MI301X"}}, UnknownNameError, r"MI301X.*Did you mean.*MI300X"),
        ({"hardware": {"nic": "Polara"}}, UnknownNameError, r"Pollara-400"),
        ({"hardware": {"nodes": 0}}, ValidationError, r"hardware.nodes = 0.*>= 1"),
        ({"hardware": {"nodes": -2}}, ValidationError, r"hardware.nodes = -2"),
        ({"hardware": {"fabric": "torus"}}, UnknownNameError, r"torus.*rails-only"),
        ({"hardware": {"oversubscription": 0.5}}, ValidationError, r"oversubscription = 0.5"),
        ({"training": {"seq_len": -1}}, ValidationError, r"training.seq_len = -1"),
        ({"training": {"seq_len": float("nan")}}, ValidationError, r"training.seq_len = nan: expected an integer"),
        ({"training": {"seq_len": float("inf")}}, ValidationError, r"training.seq_len = inf: expected an integer"),
        ({"training": {"precision": "fp7"}}, UnknownNameError, r"fp7.*fp8"),
        ({"training": {"recompute": "partial"}}, UnknownNameError, r"partial.*selective"),
        ({"training": {"global_batch": 100}}, ValidationError, r"global_batch = 100.*micro_batch·dp"),
        ({"parallelism": {"tp": 3}}, ValidationError, r"tp·pp·cp = 3·1·1 = 3 does not divide the world size 32"),
        ({"parallelism": {"zero": 4}}, ValidationError, r"parallelism.zero = 4: allowed 0, 1, 2 or 3"),
        ({"parallelism": {"ep": 2}}, ValidationError, r"ep = 2: the model has no experts"),
        ({"parallelism": {"tp": 1, "vp": 2}}, ValidationError, r"vp = 2: interleaving needs pp > 1"),
        ({"parallelism": {"sequence_parallel": "yes"}}, ValidationError, r"sequence_parallel = 'yes'"),
        ({"parallelism": {"tpp": 2}}, UnknownNameError, r"parallelism.tpp.*parallelism.tp"),
        ({"model": {"preset": "llama3-8"}}, UnknownNameError, r"llama3-8b"),
    ],
)
def test_bad_input_gives_clear_error(over, exc, pattern):
    with pytest.raises(exc, match=pattern):
        il.Scenario.from_dict(base(**over))


def test_ep_must_fit_experts():
    d = base(model={"preset": "mixtral-8x7b"}, parallelism={"ep": 16})
    with pytest.raises(ValidationError, match=r"ep = 16"):
        il.Scenario.from_dict(d)
    sc = il.Scenario.from_dict(base(model={"preset": "mixtral-8x7b"}, parallelism={"ep": 8}))
    assert sc.parallelism.ep == 8


def test_unknown_top_level_key():
    d = base()
    d["hardwere"] = {}
    with pytest.raises(UnknownNameError, match="hardware"):
        il.Scenario.from_dict(d)


def test_scenario_name_instead_of_scenario_points_to_load_scenario():
    with pytest.raises(ValidationError, match=r"il.load_scenario\('zaya1-ibm-mi300x'\)"):
        il.Scenario.from_dict("zaya1-ibm-mi300x")


def test_unknown_scenario_name():
    with pytest.raises(UnknownNameError, match="zaya1-ibm-mi300x"):
        il.load_scenario("zaya1-ibm")


def test_toml_round_trip(tmp_path):
    sc = il.load_scenario("zaya1-ibm-mi300x")
    p = tmp_path / "s.toml"
    p.write_text(sc.to_toml())
    assert il.Scenario.from_toml(p) == sc
    assert il.Scenario.from_dict(sc.to_dict()) == sc


def test_bad_toml_file(tmp_path):
    p = tmp_path / "x.toml"
    p.write_text("name = [unclosed")
    with pytest.raises(ValidationError, match="not valid TOML"):
        il.Scenario.from_toml(p)
    with pytest.raises(ValidationError, match="not found"):
        il.Scenario.from_toml(tmp_path / "missing.toml")


def test_replace():
    sc = il.load_scenario("zaya1-ibm-mi300x")
    sc2 = sc.replace(hardware={"nodes": 16}, training={"global_batch": 256})
    assert sc2.hardware.world_size == 128 and sc2.parallelism.dp == 128
    assert sc.hardware.nodes == 128


@given(
    nodes=st.sampled_from([1, 2, 4, 8, 16]),
    tp=st.sampled_from([1, 2, 4, 8]),
    pp=st.sampled_from([1, 2, 4]),
    mb=st.sampled_from([1, 2, 4]),
    accum=st.integers(1, 4),
    acc=st.sampled_from(["MI300X", "H100-SXM", "B200", "MI355X"]),
    zero=st.integers(0, 3),
    sp=st.booleans(),
    recompute=st.sampled_from(["none", "selective", "full"]),
)
def test_round_trip_property(nodes, tp, pp, mb, accum, acc, zero, sp, recompute):
    world = nodes * 8
    assume(tp * pp <= world)
    dp = world // (tp * pp)
    d = {
        "name": "prop",
        "model": {"preset": "llama3-8b"},
        "hardware": {"accelerator": acc, "nodes": nodes, "nic": "ConnectX-7-NDR"},
        "training": {"seq_len": 2048, "global_batch": mb * dp * accum, "micro_batch": mb,
                     "recompute": recompute},
        "parallelism": {"tp": tp, "pp": pp, "zero": zero, "sequence_parallel": sp and tp > 1},
    }
    sc = il.Scenario.from_dict(d)
    assert il.Scenario.from_dict(sc.to_dict()) == sc
    import tomllib

    assert il.Scenario.from_dict(tomllib.loads(sc.to_toml())) == sc
    assert sc.parallelism.dp * tp * pp == world


def test_scenario_keeps_its_resolved_model():
    """The ModelSpec (and a multimodal system) is resolved once, on validation, and kept:
    every access returns the same object instead of rebuilding it from the [model] dict."""
    import infra_lab as il

    sc = il.load_scenario("zaya1-ibm-mi300x")
    assert "model_spec" in sc.__dict__            # resolved while validating
    assert sc.model_spec is sc.model_spec
    assert sc.model_spec == il.models.ModelSpec.from_dict(sc.model)
    assert sc.multimodal is None
    mm = il.load_scenario("maia-class-ibm-mi300x")
    assert mm.multimodal is mm.multimodal and mm.multimodal is not None
    assert mm.model_spec is mm.model_spec
    assert il.Scenario.from_dict(sc.to_dict()) == sc


def test_model_given_as_a_bare_preset_name():
    d = {"model": "llama3-8b", "hardware": {"accelerator": "MI300X", "nodes": 1},
         "training": {"seq_len": 4096, "global_batch": 64}}
    sc = il.Scenario.from_dict(d)
    assert sc.model == {"preset": "llama3-8b"}
    assert sc == il.Scenario.from_dict({**d, "model": {"preset": "llama3-8b"}})
    with pytest.raises(UnknownNameError, match="Did you mean 'llama3-8b'"):
        il.Scenario.from_dict({**d, "model": "llama3-8bb"})


def test_from_toml_reads_toml_text():
    sc = il.Scenario.from_dict({"model": {"preset": "llama3-8b"}, "hardware": {"accelerator": "MI300X"},
                                "training": {"seq_len": 4096, "global_batch": 64}})
    assert il.Scenario.from_toml(sc.to_toml()) == sc
    with pytest.raises(ValidationError, match="not valid TOML"):
        il.Scenario.from_toml("[model\n")


def test_replace_of_fsdp_rederives_a_zero_stage_left_at_its_default():
    """zero left out is stored as its derived value (1, or 3 with fsdp): replace(parallelism=
    {"fsdp": True}) was refused ("fsdp = true with parallelism.zero = 1") and turning FSDP off
    kept ZeRO-3, priced exactly as FSDP. A ZeRO stage named in the change, or held at another
    value, stays as given."""
    sc = il.Scenario.from_dict({"name": "u", "model": {"preset": "llama3-8b"},
                                "hardware": {"accelerator": "H100-SXM", "nodes": 2},
                                "training": {"seq_len": 4096, "global_batch": 64}})
    f = sc.replace(parallelism={"fsdp": True})
    assert (f.parallelism.zero, f.parallelism.fsdp) == (3, True)
    assert f.replace(parallelism={"fsdp": False}) == sc
    assert f.replace(parallelism={"fsdp": False, "zero": 3}).parallelism.zero == 3
    with pytest.raises(ValidationError, match="fsdp = true with parallelism.zero = 1"):
        sc.replace(parallelism={"fsdp": True, "zero": 1})
    with pytest.raises(ValidationError, match="fsdp = true with parallelism.zero = 2"):
        sc.replace(parallelism={"zero": 2}).replace(parallelism={"fsdp": True})
    with pytest.raises(ValidationError, match="parallelism.fsdp = 'yes'"):
        sc.replace(parallelism={"fsdp": "yes"})


def test_replace_rederives_the_hardware_keys_a_change_moves():
    """to_dict writes out the keys HardwareConfig derives (scaleup_domain, nics_per_node,
    domain_gpus, host_cpu, pxn), and replace() kept them: ZAYA1's table with accelerator =
    GB200 was an NVL72 priced as 8-GPU NVLink domains, silently, and gpus_per_node = 2 was
    refused for its stale domain_gpus = 8. A key held at its derived value now follows; a key
    given otherwise (PXN on) or named in the change keeps its value."""
    zaya = il.load_scenario("zaya1-ibm-mi300x")
    two = zaya.replace(hardware={"gpus_per_node": 2, "nodes": 1}, training={"global_batch": 4}).hardware
    assert (two.scaleup_domain, two.nics_per_node, two.domain_gpus) == (8, 2, 2)   # 2 GPUs of the 8-GPU node
    with pytest.raises(ValidationError, match="scale-up domains of 72"):
        zaya.replace(hardware={"accelerator": "GB200", "nic": "ConnectX-8"})
    gb = zaya.replace(hardware={"accelerator": "GB200", "nic": "ConnectX-8", "nodes": 144},
                      training={"global_batch": 2304}).hardware
    assert (gb.scaleup_domain, gb.domain_gpus) == (72, 72)
    # PXN given, not derived: kept; ZAYA1's Xeon hosts cannot hold a GB200 (its host is the
    # superchip's Grace): replaced, with a PartBoundWarning (tests/test_part_bound_hardware.py)
    assert (gb.host_cpu, gb.pxn) == ("Grace", True)
    kept = zaya.replace(hardware={"accelerator": "GB200", "nic": "ConnectX-8", "scaleup_domain": 8}).hardware
    assert (kept.scaleup_domain, kept.domain_gpus) == (8, 8)                  # named: kept
    h100 = il.load_scenario("zaya1-h100-counterpart")
    mi = h100.replace(hardware={"accelerator": "MI300X", "nic": "Pollara-400"}).hardware
    fresh = il.scenario.HardwareConfig.from_dict({**{k: v for k, v in h100.hardware.to_dict().items()
                                                     if k not in ("host_cpu", "pxn")},
                                                  "accelerator": "MI300X", "nic": "Pollara-400"})
    assert (mi.host_cpu, mi.pxn) == (fresh.host_cpu, fresh.pxn) == ("EPYC-9374F", False)
    assert zaya.replace(hardware={"nodes": 16}).hardware.to_dict() == {**zaya.hardware.to_dict(), "nodes": 16}


def test_replace_to_a_larger_node_does_not_split_it_into_the_old_nodes_domains():
    """A scale-up domain derived from gpus_per_node = 4 (H100: scaleup_domain 4) was kept when
    replace() (or a sweep) raised gpus_per_node to 8, so the 8-GPU NVSwitch node was priced as two
    4-GPU NVLink domains (ring over the NIC instead of NVLS). It follows now, as a fresh table
    derives it; a smaller gpus_per_node still keeps the node's domain."""
    h100 = il.load_scenario("zaya1-h100-counterpart")
    four = il.scenario.HardwareConfig.from_dict({**{k: v for k, v in h100.hardware.to_dict().items()
                                                    if k not in ("scaleup_domain", "domain_gpus", "nics_per_node")},
                                                 "gpus_per_node": 4})
    assert (four.scaleup_domain, four.domain_gpus) == (4, 4)
    sc4 = h100.replace(hardware=four.to_dict())
    eight = sc4.replace(hardware={"gpus_per_node": 8}).hardware
    assert eight == h100.hardware
    assert (eight.scaleup_domain, eight.domain_gpus, eight.nics_per_node) == (8, 8, 8)
    mine = sc4.replace(hardware={"scaleup_domain": 2, "domain_gpus": 2}).replace(hardware={"gpus_per_node": 8})
    assert (mine.hardware.scaleup_domain, mine.hardware.domain_gpus) == (2, 2)   # given otherwise: kept
    two = h100.replace(hardware={"gpus_per_node": 2}).hardware
    assert (two.scaleup_domain, two.domain_gpus) == (8, 2)                      # 2 of the 8-GPU node


def test_a_misplaced_key_names_its_table_and_dp_may_be_given_as_derived():
    """User pass 2026-12-05: a key of another table ([training] tp, [parallelism] micro_batch,
    [hardware] precision) got the nearest names of the wrong table ("Did you mean
    'training.stack'?"); it now names the table it belongs in. parallelism.dp, which configs
    commonly state, was "unknown key ... Did you mean 'parallelism.fsdp'?": the derived value is
    accepted, another one is refused with the derivation."""
    from infra_lab.errors import UnknownNameError

    def d(**tables):
        base = {"name": "t", "model": {"preset": "llama3-8b"},
                "hardware": {"accelerator": "H100-SXM", "nic": "ConnectX-7-NDR"},
                "training": {"global_batch": 64}, "parallelism": {"tp": 2}}
        for t, extra in tables.items():
            base[t] = {**base[t], **extra}
        return base

    for table, key, home in (("training", "tp", "parallelism"), ("training", "zero", "parallelism"),
                             ("parallelism", "micro_batch", "training"), ("parallelism", "recompute", "training"),
                             ("hardware", "precision", "training"), ("training", "nodes", "hardware")):
        with pytest.raises(UnknownNameError, match=rf"'{key}' is a key of \[{home}\], not \[{table}\]"):
            il.Scenario.from_dict(d(**{table: {key: 2}}))
    with pytest.raises(UnknownNameError, match="Did you mean 'training.seq_len'"):   # a misspelling: as before
        il.Scenario.from_dict(d(training={"seq_length": 2048}))
    sc = il.Scenario.from_dict(d(parallelism={"dp": 4}))
    assert sc == il.Scenario.from_dict(d()) and sc.parallelism.dp == 4
    for bad in (8, 0, 2.5, "4"):
        with pytest.raises(il.ValidationError, match="parallelism.dp"):
            il.Scenario.from_dict(d(parallelism={"dp": bad}))
    with pytest.raises(il.ValidationError, match=r"dp is derived.*= 4; leave it out or give 4"):
        il.Scenario.from_dict(d(parallelism={"dp": 8}))
    assert il.Scenario.from_dict(d(parallelism={"dp": 8}), check_plan=False).parallelism.tp == 2


def test_a_domain_gpus_given_that_does_not_tile_the_job_names_the_values_that_do():
    """32 GB200 trays (128 GPUs) with domain_gpus = 72 were refused as "hardware.nodes = 32: ...
    set hardware.domain_gpus (e.g. 64 ...)" although domain_gpus was set: the message names the
    key the user gave and the domain sizes that tile 128 GPUs."""
    import pytest

    from infra_lab.errors import ValidationError
    from infra_lab.scenario import HardwareConfig

    hw = {"accelerator": "GB200", "nodes": 32, "gpus_per_node": 4, "scaleup_domain": 72}
    with pytest.raises(ValidationError, match=r"^hardware\.domain_gpus = 72: .*128 GPUs.*allowed domain_gpus "
                                              r"for 32 nodes: 4, 8, 16, 32, 64 \(or use a multiple of 18 nodes\)"):
        HardwareConfig.from_dict(hw | {"domain_gpus": 72})
    assert HardwareConfig.from_dict(hw | {"domain_gpus": 64}).domain_gpus == 64
    with pytest.raises(ValidationError, match=r"^hardware\.nodes = 32: .*set hardware\.domain_gpus"):
        HardwareConfig.from_dict(hw)      # left out: the key to set is named, as before


def test_an_edit_of_to_dict_s_hardware_table_refused_for_a_derived_key_says_why():
    """sc.to_dict() writes out domain_gpus, nics_per_node, ... so editing gpus_per_node in it was
    refused as "hardware.domain_gpus = 8: ... allowed 4 (or leave it out)" without saying where the
    8 came from: a complete table refused for a derived key says that to_dict wrote it and names
    Scenario.replace, which makes the edit (the keys held at their derived value follow)."""
    from infra_lab.scenario import HardwareConfig

    sc = il.load_scenario("zaya1-ibm-mi300x")
    d = sc.to_dict()
    d["hardware"]["gpus_per_node"] = 4
    with pytest.raises(ValidationError, match=r"^hardware\.domain_gpus = 8: .*allowed 4 \(or leave it out\)\. "
                                              r"A \[hardware\] table from Scenario\.to_dict\(\) .*sc\.replace"):
        il.Scenario.from_dict(d)
    new = sc.replace(hardware={"gpus_per_node": 4})      # what the message points at
    assert (new.hardware.gpus_per_node, new.hardware.domain_gpus, new.hardware.nics_per_node) == (4, 4, 4)
    # a table the user wrote (not every key) gets the error as before, without the to_dict note
    with pytest.raises(ValidationError) as e:
        HardwareConfig.from_dict({"accelerator": "MI300X", "gpus_per_node": 4, "domain_gpus": 8})
    assert "to_dict" not in str(e.value) and "allowed 4 (or leave it out)" in str(e.value)
    # an error of a key the table does not derive is left as it is
    d = sc.to_dict()
    d["hardware"]["gpus_per_node"] = 9
    with pytest.raises(ValidationError, match=r"^hardware\.gpus_per_node = 9") as e:
        il.Scenario.from_dict(d)
    assert "to_dict" not in str(e.value)


def test_print_shows_the_tables_as_toml_and_repr_stays_one_line():
    """`print(sc)` (and `sc` at the end of a notebook cell) showed the dataclass repr: one line
    of about 1,200 characters. It prints the TOML tables now, which read back to the scenario."""
    import textwrap
    import tomllib

    for name in ("zaya1-ibm-mi300x", "maia-class-serving-mi300x"):
        sc = il.load_scenario(name)
        lines = str(sc).splitlines()
        assert lines[0] == f"Scenario {name!r} ({sc.kind}): its tables as TOML", lines[0]
        assert lines[-1].strip().startswith("(exact values")
        body = textwrap.dedent("\n".join(lines[1:-1]))
        assert il.Scenario.from_dict(tomllib.loads(body)) == sc
        assert "\n" not in repr(sc) and repr(sc).startswith("Scenario(name=")
