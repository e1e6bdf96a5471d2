"""A new user's pass over the features that landed last (il.search's pp_schedules and
tp_across_domains, ``hardware=`` by name or file, the CLI on scenario files): unusual inputs get
an answer or an error naming the field, the value and what is allowed."""

from __future__ import annotations

import json
import warnings

import pytest

import infra_lab as il
from infra_lab import cli
from infra_lab.errors import ScheduleSupportWarning, UnknownNameError, ValidationError

SMALL = {"max_micro_batch": 1, "max_vp": 2, "recompute": "none", "zero": 1, "top": None}


def _small(accelerator="MI300X", nic=None):
    hw = {"accelerator": accelerator, "nodes": 1}
    if nic:
        hw["nic"] = nic
    return il.Scenario.from_dict({"name": "small", "model": "llama2-7b", "hardware": hw,
                                  "training": {"seq_len": 4096, "global_batch": 64}}, check_plan=False)


def _run(capsys, *args):
    rc = cli.main(list(args))
    out = capsys.readouterr()
    return rc, out.out, out.err


# --- il.search(pp_schedules=...) --------------------------------------------------------------

def test_pp_schedules_all_inside_a_list():
    """"all" in a list (["all"], the CLI's --pp-schedules all,zbv) is every schedule of the stack, as
    "all" alone; it read "unknown pp_schedule value 'all' ... Did you mean 'all'?". The names beside it
    are still checked."""
    sc = _small()
    every = il.search(sc, pp_schedules="all", **SMALL)
    assert set(every["pp_schedule"].unique().to_list()) == set(il.scenario.PP_SCHEDULES)
    assert il.search(sc, pp_schedules=["all"], **SMALL).equals(every)
    assert il.search(sc, pp_schedules=["zbv", "ALL"], **SMALL).equals(every)
    with pytest.raises(UnknownNameError, match="'zbvv'.*Did you mean 'zbv'"):
        il.search(sc, pp_schedules=["all", "zbvv"], **SMALL)
    h100 = _small("H100-SXM", "ConnectX-7-NDR")            # megatron-core-cuda: 1F1B and interleaved only
    with pytest.raises(ValidationError, match="'zbv' is not a schedule of the stack 'megatron-core-cuda'"):
        il.search(h100, pp_schedules=["all", "zbv"], **SMALL)


def test_cli_pp_schedules_all_with_names(capsys):
    rc, out, err = _run(capsys, "search", "zaya1-ibm-mi300x", "--pp-schedules", "all,zbv", "--top", "1",
                        "--max-micro-batch", "1", "--format", "json")
    assert rc == 0, err
    assert len(json.loads(out)) == 1


# --- il.search(tp_across_domains=...) ---------------------------------------------------------

def test_tp_constraint_error_offers_tp_across_domains_only_where_it_helps():
    """A tp no plan can have named "beyond the domain with tp_across_domains=True" even when that
    option was set, or when the tp does not divide the heads (ZAYA1: 8 heads, so tp <= 8 anyway)."""
    sc = il.load_scenario("zaya1-ibm-mi300x", check_plan=False)
    for kw in ({"tp_across_domains": True}, {}):
        with pytest.raises(ValidationError, match=r"tp = 16: .*allowed \[1, 2, 4, 8\].*the 8 attention heads") as e:
            il.search(sc, tp=16, max_micro_batch=1, **kw)
        assert "needs tp_across_domains=True" not in str(e.value)
        assert "beyond the domain" not in str(e.value)
    with pytest.raises(ValidationError, match="tp = 2048: .*1024 GPUs that divide the 8 attention heads"):
        il.search(sc, tp=2048, tp_across_domains=True, max_micro_batch=1)
    wide = il.Scenario.from_dict({            # 96 heads on 32 H100: tp = 16 crosses the 8-GPU node
        "name": "tp-x", "model": {"preset": "megatron-175b"},
        "hardware": {"accelerator": "H100-SXM", "nodes": 4, "nic": "ConnectX-7-NDR"},
        "training": {"seq_len": 2048, "global_batch": 64}}, check_plan=False)
    with pytest.raises(ValidationError, match="tp = 16 needs tp_across_domains=True"):
        il.search(wide, tp=16, max_micro_batch=1)


# --- hardware= a file ---------------------------------------------------------------------------

def test_hardware_file_with_only_the_hardware_table(tmp_path):
    """A file of [hardware] alone (or its keys at the top level, as `infra-lab collective --hardware`
    reads it) is hardware for il.collective / cluster / fabric / reliability; it was refused with
    "missing table [model]"."""
    table = {"accelerator": "MI300X", "nodes": 2}
    want = il.collective("all_reduce", 2**30, table, gpus=16)
    only = tmp_path / "hw.toml"
    only.write_text('[hardware]\naccelerator = "MI300X"\nnodes = 2\n')
    bare = tmp_path / "bare.toml"
    bare.write_text('accelerator = "MI300X"\nnodes = 2\n')
    for f in (only, bare, str(only)):
        assert il.collective("all_reduce", 2**30, f, gpus=16) == want
    assert il.cluster.cluster_summary(only).equals(il.cluster.cluster_summary(table))
    assert il.fabric.scaleout(only) == il.fabric.scaleout(table)
    assert il.scenario.as_hardware(only) == il.scenario.as_hardware(table)


def test_hardware_file_without_a_hardware_table_says_so(tmp_path, capsys):
    """A scenario file missing [hardware] read "unknown key 'hardware.name'" on the CLI and "missing
    table [model]" for an empty file in il.collective: now the file and what it has."""
    no_hw = tmp_path / "no_hw.toml"
    no_hw.write_text('name = "x"\n[model]\npreset = "llama2-7b"\n[training]\nseq_len = 4096\n')
    empty = tmp_path / "empty.toml"
    empty.write_text("")
    with pytest.raises(ValidationError, match=r"hardware = '.*no_hw.toml': no \[hardware\] table \(it has name, "
                                              r"model, training\)"):
        il.collective("all_reduce", 2**30, no_hw, gpus=8)
    with pytest.raises(ValidationError, match=r"no \[hardware\] table \(it is empty\)"):
        il.collective("all_reduce", 2**30, empty, gpus=8)
    # reliability kept its own wording, which dropped the reason and the nearest name
    with pytest.raises(ValidationError, match=r"no \[hardware\] table \(it has name, model, training\)"):
        il.reliability.mtbi_hours(no_hw)
    with pytest.raises(ValidationError, match="did you mean 'zaya1-ibm-mi300x'"):
        il.reliability.mtbi_hours("zaya1")
    with pytest.raises(ValidationError, match=r"hardware = '.*bad.toml': hardware.nodes = 0"):
        bad = tmp_path / "bad.toml"
        bad.write_text('[hardware]\naccelerator = "MI300X"\nnodes = 0\n')
        il.collective("all_reduce", 2**30, bad, gpus=8)
    rc, _, err = _run(capsys, "collective", "all_reduce", "1GiB", "--hardware", str(no_hw), "--gpus", "8")
    assert rc == 1 and "no [hardware] table (it has name, model, training)" in err, err


# --- the Scenario as JSON, through the CLI and back --------------------------------------------

@pytest.mark.parametrize("name", il.scenario.list_scenarios())
def test_shipped_scenario_as_json_through_the_cli(name, tmp_path, capsys):
    """Every shipped scenario dumped as JSON (json.dump(sc.to_dict())) reads back equal, and the CLI
    gives the same answer on the JSON file as on the shipped TOML (it read "not valid TOML")."""
    sc = il.load_scenario(name)
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(sc.to_dict()))
    assert il.Scenario.from_toml(path) == sc
    assert il.scenario.as_scenario(path) == il.scenario.as_scenario(str(path)) == sc
    assert il.scenario.as_hardware(path) == sc.hardware
    cmd = "serve" if sc.serving is not None else "estimate"
    rc, from_json, err = _run(capsys, cmd, str(path), "--format", "json")
    assert rc == 0, err
    rc, from_toml, err = _run(capsys, cmd, name, "--format", "json")
    assert rc == 0, err
    assert json.loads(from_json) == json.loads(from_toml)


def test_json_scenario_file_errors_name_the_file(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"name": ')
    with pytest.raises(ValidationError, match="scenario file bad.json: not valid JSON"):
        il.Scenario.from_toml(bad)
    listed = tmp_path / "list.json"
    listed.write_text("[1, 2]")
    with pytest.raises(ValidationError, match="scenario file list.json: a JSON list, expected an object of tables"):
        il.estimate(listed)


def test_cli_sweep_of_one_point_says_one_point(tmp_path, capsys):
    grid = tmp_path / "grid.toml"
    grid.write_text("[training]\nseq_len = [4096]\n")
    rc, out, err = _run(capsys, "sweep", "zaya1-ibm-mi300x", "--grid", str(grid))
    assert rc == 0, err
    assert "over 1 point\n" in out and "1 points" not in out


def test_cli_search_help_names_the_constraint_values(capsys):
    """The boolean and recompute constraints show their values (they read V[,V...], which took
    "1" or "yes" as a guess), and --feasible-only / --all say that plans with no path on the fabric
    are dropped / listed too (feasible_only drops both)."""
    with pytest.raises(SystemExit):
        cli.main(["search", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for flag in ("--fsdp true|false[,...]", "--sequence-parallel true|false[,...]",
                 "--recompute none|selective|full[,...]"):
        assert flag in text
    assert "only plans that fit in memory and can run on the fabric (default)" in text


def test_cli_csv_of_an_empty_result_keeps_its_header(capsys):
    """serve --search with an SLO no configuration meets printed nothing at all with --format csv (a
    CSV reader refuses empty text); the header stays, the reason goes to stderr, exit 0."""
    rc, out, err = _run(capsys, "serve", "maia-class-serving-mi300x", "--search", "--max-ttft-s", "1e-9",
                        "--format", "csv")
    assert rc == 0, err
    assert out.strip().splitlines()[0].startswith("tp,pp,dp,ep,")
    assert len(out.strip().splitlines()) == 1
    assert "--max-ttft-s 1e-09: the smallest TTFT" in err          # the reason names the option typed


def test_cli_prints_the_package_warnings_as_notes(tmp_path, capsys):
    """`infra-lab estimate` of a schedule the stack does not run printed Python's warning text (a
    path into cli.py, the class name and a source line); now a note after the table, or on stderr
    with --format json, and the JSON stays clean."""
    sc = il.load_scenario("zaya1-h100-counterpart").replace(parallelism={"pp": 4, "vp": 2, "pp_schedule": "v-min"})
    path = tmp_path / "vmin.toml"
    path.write_text(sc.to_toml())
    note = "warning: parallelism.pp_schedule = 'v-min': the megatron-core-cuda stack does not implement it"
    with warnings.catch_warnings():
        warnings.simplefilter("error", ScheduleSupportWarning)     # none escapes the CLI
        rc, out, err = _run(capsys, "estimate", str(path))
        assert rc == 0, err
        assert out.rstrip().splitlines()[-1].startswith(note)
        rc, out, err = _run(capsys, "estimate", str(path), "--format", "json")
        assert rc == 0, err
        assert json.loads(out)[0]["scenario"] == "zaya1-h100-counterpart"
        assert err.startswith(f"infra-lab estimate: {note}") and "cli.py" not in err


def test_a_bad_gpu_hour_price_names_the_price_names():
    """r.costs(0) said "expected None or a finite number > 0": None is refused there, and the names
    "owned" / "rented" it takes were left out (as in serve_search and the CLI)."""
    r = il.serve("maia-class-serving-mi300x")
    for bad in (0, -1.0, float("nan"), True):
        with pytest.raises(ValidationError, match=r"price_usd_per_gpu_hour = .*: expected a finite number > 0 "
                                                  r"\[USD/GPU-h\], 'owned' or 'rented'$"):
            r.costs(bad)
    with pytest.raises(ValidationError, match="'owned' or 'rented'"):
        il.serve_search("maia-class-serving-mi300x", price_usd_per_gpu_hour=0, top=1)
    assert il.serving.price_for("MI300X", None) is None


def test_cli_collective_help_says_what_each_hardware_option_takes(capsys):
    with pytest.raises(SystemExit):
        cli.main(["collective", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--fabric FABRIC rails-only | rail-optimized | fat-tree" in text
    for key, _ in cli.HARDWARE_OPTIONS:        # none is listed bare
        flag = f"--{key.replace('_', '-')} {key.upper()}"
        after = text.split(flag, 1)[1].lstrip()
        assert not after.startswith("--"), flag


def test_cli_sweep_says_the_package_warnings_of_its_points(tmp_path, capsys):
    """`infra-lab sweep` dropped every warning of its points: a schedule the stack does not run was
    priced without a word. Now a note, once, like `infra-lab estimate`."""
    sc = il.load_scenario("zaya1-h100-counterpart").replace(parallelism={"pp": 4, "vp": 2, "pp_schedule": "v-min"})
    path = tmp_path / "vmin.toml"
    path.write_text(sc.to_toml())
    grid = tmp_path / "grid.toml"
    grid.write_text("[training]\nseq_len = [2048, 4096]\n")
    rc, out, err = _run(capsys, "sweep", str(path), "--grid", str(grid))
    assert rc == 0, err
    note = "warning: parallelism.pp_schedule = 'v-min': the megatron-core-cuda stack does not implement it"
    assert out.count(note) == 1
