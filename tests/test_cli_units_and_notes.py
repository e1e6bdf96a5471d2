"""What the ``infra-lab`` tables tell a reader beyond the numbers: a plan that does not fit
says so (its step time is what the plan would give with enough memory), and every serving
quantity carries its unit."""

from __future__ import annotations

import json

import pytest

import infra_lab as il
from infra_lab import cli


def main(capsys, *args: str) -> tuple[int, str, str]:
    rc = cli.main(list(args))
    out = capsys.readouterr()
    return rc, out.out, out.err


def _rows(out: str) -> dict[str, str]:
    """quantity -> unit of the first table of a `quantity value unit` text table."""
    rows = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] not in ("quantity",) and not parts[0].startswith("-"):
            rows[parts[0]] = line
    return rows


def test_estimate_says_when_the_plan_does_not_fit(capsys):
    est = il.estimate(il.load_scenario("zaya1-h100-counterpart"))
    assert not est.fits   # the shipped counterpart runs Zyphra's plan on 80 GB parts
    rc, out, err = main(capsys, "estimate", "zaya1-h100-counterpart", "--tokens", "14e12")
    assert rc == 0, err
    assert "does not fit" in out and f"{est.memory_per_gpu_bytes / 1e9:.1f} GB" in out
    assert "step time and days are what it would give" in out and "search zaya1-h100-counterpart" in out
    # machine formats stay parseable: the note goes to stderr
    rc, out, err = main(capsys, "estimate", "zaya1-h100-counterpart", "--format", "json")
    assert rc == 0 and json.loads(out)[0]["fits"] is False
    assert "does not fit" in err and "step time is what it would give" in err


def test_estimate_of_a_fitting_plan_has_no_note_and_shows_the_nic_busy_fraction(capsys):
    rc, out, err = main(capsys, "estimate", "zaya1-ibm-mi300x")
    assert rc == 0 and "does not fit" not in out + err
    line = _rows(out)["nic_busy_fraction"]
    est = il.estimate(il.load_scenario("zaya1-ibm-mi300x"))
    assert f"{est.nic_busy_fraction:.4g}" in line and line.rstrip().endswith("-")


def test_serve_table_units(capsys):
    rc, out, err = main(capsys, "serve", "maia-class-serving-mi300x", "--price-usd-per-gpu-hour", "2.5")
    assert rc == 0, err
    rows = _rows(out)
    for k in ("usd_per_million_input_tokens", "usd_per_million_output_tokens", "usd_per_million_tokens",
              "usd_per_million_output_tokens_all_in"):
        assert rows[k].rstrip().endswith(cli.USD_PER_M_TOKENS), rows[k]
    assert rows["price_usd_per_gpu_hour"].rstrip().endswith("USD/GPU-h")
    assert rows["prompt_tokens"].rstrip().endswith("tokens")
    assert rows["running_requests"].rstrip().endswith("requests")


def test_estimate_names_the_mfu_denominator(capsys):
    """MFU is over the dense BF16 peak whatever the precision: an FP8 run's table says so."""
    rc, out, err = main(capsys, "estimate", "zaya1-ibm-mi300x")
    assert rc == 0, err
    assert _rows(out)["mfu"].rstrip().endswith("(of dense BF16 peak)")


def test_serve_takes_stack_factor_overrides_like_estimate(capsys):
    """`serve --param KEY=VALUE` is il.serve(..., stack_params=...), with and without --search;
    an unknown factor is answered with the package's error naming the valid ones."""
    sc = il.load_scenario("maia-class-serving-mi300x")
    over = {"step_overhead_s": 0.003}
    rc, out, err = main(capsys, "serve", "maia-class-serving-mi300x", "--param", "step_overhead_s=0.003",
                        "--format", "json")
    assert rc == 0, err
    assert json.loads(out)[0]["output_tokens_per_s"] == il.serve(sc, stack_params=over).output_tokens_per_s
    assert il.serve(sc, stack_params=over).output_tokens_per_s != il.serve(sc).output_tokens_per_s
    rc, out, err = main(capsys, "serve", "maia-class-serving-mi300x", "--search", "--top", "2",
                        "--param", "step_overhead_s=0.003", "--format", "json")
    ref = il.serve_search(sc, top=2, stack_params=over)
    assert rc == 0 and [r["output_tokens_per_s"] for r in json.loads(out)] == ref["output_tokens_per_s"].to_list()
    rc, out, err = main(capsys, "serve", "maia-class-serving-mi300x", "--param", "dp_comm_overlap=0.5")
    assert rc == 1 and "dp_comm_overlap" in err and "step_overhead_s" in err


def test_serve_table_gives_the_memory_parts_in_the_unit_of_the_total(capsys):
    """The serve table printed weights_per_gpu_bytes 17,680,977,568 B and kv_cache_per_gpu_bytes
    in bytes beside memory_per_gpu 58.79 GB; the parts are in GB too (JSON keeps the fields)."""
    r = il.serve(il.load_scenario("maia-class-serving-mi300x"))
    rc, out, err = main(capsys, "serve", "maia-class-serving-mi300x")
    assert rc == 0, err
    rows = _rows(out)
    assert "weights_per_gpu_bytes" not in rows and "kv_cache_per_gpu_bytes" not in rows
    for name, value in (("weights_per_gpu", r.weights_per_gpu_bytes), ("kv_cache_per_gpu", r.kv_cache_per_gpu_bytes),
                        ("memory_per_gpu", r.memory_per_gpu_bytes)):
        assert rows[name].split()[1:] == [f"{value / 1e9:.4g}", "GB"], rows[name]
    rc, out, err = main(capsys, "serve", "maia-class-serving-mi300x", "--format", "json")
    assert json.loads(out)[0]["weights_per_gpu_bytes"] == r.weights_per_gpu_bytes


def test_serve_table_parts_add_up_to_the_memory_per_gpu(capsys):
    """The serve table gave weights_per_gpu 17.68 GB and kv_cache_per_gpu 20.49 GB beside
    memory_per_gpu 58.79 GB with nothing for the other 20.6 GB: the engine's runtime reserve,
    (1 − the stack's memory_utilization) of the memory a job can address. The table shows it,
    and the three parts add up to the total."""
    sc = il.load_scenario("maia-class-serving-mi300x")
    r = il.serve(sc)
    rc, out, err = main(capsys, "serve", "maia-class-serving-mi300x")
    assert rc == 0, err
    rows = _rows(out)
    parts = [float(rows[k].split()[1]) for k in ("weights_per_gpu", "kv_cache_per_gpu", "runtime_reserve_per_gpu")]
    assert sum(parts) == pytest.approx(r.memory_per_gpu_bytes / 1e9, abs=0.02)
    reserve = (1 - il.stacks.params(r.stack)["memory_utilization"]) * sc.hardware.accelerator_spec.memory_capacity_bytes
    assert parts[2] == pytest.approx(reserve / 1e9, abs=0.01)


def test_sweep_table_gives_memory_in_gb_as_estimate_does(capsys, tmp_path):
    """`infra-lab sweep`'s table printed memory_per_gpu_bytes (95,534,916,953) where estimate and
    search print GB; the table shows GB, the JSON keeps the bytes."""
    grid = tmp_path / "grid.toml"
    grid.write_text("[hardware]\nnodes = [1, 2]\n")
    rc, out, err = main(capsys, "sweep", "zaya1-ibm-mi300x", "--grid", str(grid))
    assert rc == 0, err
    assert "memory_per_gpu_bytes" not in out and "memory_per_gpu_GB" in out
    sc = il.load_scenario("zaya1-ibm-mi300x").replace(hardware={"nodes": 1})
    assert f"{il.estimate(sc).memory_per_gpu_bytes / 1e9:.4g}" in out
    rc, out, err = main(capsys, "sweep", "zaya1-ibm-mi300x", "--grid", str(grid), "--format", "json")
    recs = json.loads(out)
    assert "memory_per_gpu_bytes" in recs[0] and "memory_per_gpu_GB" not in recs[0]


def test_validate_table_shows_the_range_an_error_of_zero_is_measured_against(capsys):
    """`infra-lab validate reliability` printed OPT-175B's fleet MTBI as measured 13.94 h,
    predicted 8.155 h, error 0: the publication gives an upper bound (at most 13.94 h), which the
    table did not show. A `published` column gives each range or bound; JSON keeps the ends."""
    rc, out, err = main(capsys, "validate", "reliability")
    assert rc == 0, err
    header = next(line for line in out.splitlines() if line.startswith("suite"))
    assert header.split()[5:8] == ["measured", "published", "predicted"]
    opt = next(line for line in out.splitlines() if "OPT-175B pre-training · MTBI · fleet" in line)
    assert "<= 13.94" in opt and opt.split()[-1] == "0"
    bloom = next(line for line in out.splitlines() if "BLOOM-176B pre-training · MTBI · fleet" in line)
    assert "84 to 168" in bloom
    goodput = next(line for line in out.splitlines() if "goodput · llama3 · operator-best" in line)
    assert ">= 0.9" in goodput
    single = next(line for line in out.splitlines() if "RSC fleet, 1,024-GPU jobs · MTBI · fleet" in line)
    assert "<=" not in single and " to " not in single
    rc, out, err = main(capsys, "validate", "reliability", "--format", "json")
    cases = json.loads(out)["cases"]
    assert "published" not in cases[0]
    assert any(c.get("measured_low") == 0 and c["case"].startswith("OPT-175B") for c in cases)


def test_estimate_tokens_takes_the_totals_as_they_are_written(capsys):
    """`--tokens 14T` (ZAYA1's total as Zyphra writes it) was a usage error, only 14e12 parsed."""
    rc, out14t, err = main(capsys, "estimate", "zaya1-ibm-mi300x", "--tokens", "14T")
    assert rc == 0, err
    rc, out, err = main(capsys, "estimate", "zaya1-ibm-mi300x", "--tokens", "14e12")
    assert rc == 0 and out == out14t
    days = il.estimate(il.load_scenario("zaya1-ibm-mi300x")).days_to_train(14e12)
    assert f"{days:.4g}" in _rows(out14t)["days_to_train(14T"]
    assert cli.parse_tokens("1.5B") == 1.5e9 and cli.parse_tokens("12t") == 12e12
    import pytest

    with pytest.raises(SystemExit) as e:
        cli.main(["estimate", "zaya1-ibm-mi300x", "--tokens", "14X"])
    assert e.value.code == 1 and "K, M, B or T" in capsys.readouterr().err   # a refused value


def test_search_table_counts_what_it_shows_and_says_why_a_plan_cannot_run(capsys, tmp_path):
    """`infra-lab search --top 3` headed its table "3 fitting plans" where the scenario has
    thousands (--top cuts the frame), and `--all` listed plans with no path on the fabric as
    "fits yes" with a blank step time and 0 tokens/s, the `runnable` column left out."""
    rc, out, err = main(capsys, "search", "zaya1-ibm-mi300x", "--top", "2", "--tp", "1", "--pp", "1")
    assert rc == 0, err
    assert "the 2 best fitting plans by tokens_per_s" in out and "2 fitting plans" not in out.replace("2 best", "")
    d = il.load_scenario("zaya1-ibm-mi300x").to_dict()
    d["hardware"].update(nodes=2, pxn=False)      # rails-only without PXN: no cross-rail all-to-all
    d["training"]["global_batch"] = 64
    p = tmp_path / "nopxn.json"
    p.write_text(json.dumps(d))
    rc, out, err = main(capsys, "search", str(p), "--all", "--top", "3", "--tp", "1", "--pp", "1", "--min-ep", "16")
    assert rc == 0, err
    header = next(line for line in out.splitlines() if line.startswith("tp "))
    assert header.split()[-2:] == ["fits", "runnable"]
    rows = [line.split() for line in out.splitlines() if line.startswith(" 1 ")]
    assert len(rows) == 3 and all(r[-1] == "no" for r in rows)
    assert "runnable = no: a collective of the plan has no path on the fabric" in out + err
    # a search whose plans all run keeps the column out
    rc, out, err = main(capsys, "search", "zaya1-ibm-mi300x", "--top", "1", "--tp", "1", "--pp", "1")
    assert "runnable" not in out


def test_serve_says_when_the_configuration_does_not_fit(capsys, tmp_path):
    """`infra-lab serve` of Llama 3 405B on one MI300X printed 144 output tokens/s with 64
    requests running beside "fits no" and "max_concurrency 0", and nothing said the numbers are
    what the configuration would give with enough memory (`estimate` says so of a plan)."""
    p = tmp_path / "s405.toml"
    p.write_text('name = "x"\n[model]\npreset = "llama3-405b"\n[hardware]\naccelerator = "MI300X"\n'
                 'nodes = 1\ngpus_per_node = 1\n[serving]\ntp = 1\n')
    r = il.serve(str(p))
    assert not r.fits
    rc, out, err = main(capsys, "serve", str(p))
    assert rc == 0, err
    assert f"does not fit: this configuration needs {r.memory_per_gpu_bytes / 1e9:.1f} GB per GPU" in out
    assert "what it would give with enough memory" in out and "--search" in out
    rc, out, err = main(capsys, "serve", str(p), "--format", "json")
    assert rc == 0 and json.loads(out)[0]["fits"] is False and "does not fit" in err
    rc, out, err = main(capsys, "serve", "maia-class-serving-mi300x")
    assert rc == 0 and "does not fit" not in out + err


def test_collective_takes_pxn_and_sharp_as_the_hardware_table_does(capsys):
    """`infra-lab collective all_to_all ... --fabric rails-only` on MI300X answered "set
    hardware.pxn = true", and no option set it (only a file could); CollNet needed a file with
    sharp = true likewise. --pxn and --sharp take true/false as the [hardware] keys do."""
    base = ("--accelerator", "MI300X", "--nodes", "2", "--gpus", "16", "--fabric", "rails-only")
    rc, out, err = main(capsys, "collective", "all_to_all", "1GiB", *base)
    assert rc == 1 and "hardware.pxn = true" in err
    rc, out, err = main(capsys, "collective", "all_to_all", "1GiB", *base, "--pxn", "true", "--format", "json")
    assert rc == 0, err
    want = il.collective("all_to_all", 2**30, {"accelerator": "MI300X", "nodes": 2, "fabric": "rails-only",
                                               "pxn": True}, 16)
    assert json.loads(out)[0]["time_s"] == want.time_s
    rc, out, err = main(capsys, "collective", "all_reduce", "1GiB", "--accelerator", "H100", "--nodes", "2",
                        "--gpus", "16", "--algorithm", "collnet_direct", "--sharp", "true", "--format", "json")
    assert rc == 0 and json.loads(out)[0]["algorithm"] == "collnet_direct", err
    with pytest.raises(SystemExit) as refused:     # a value --sharp's reader refuses: exit 1
        main(capsys, "collective", "all_reduce", "1GiB", *base, "--sharp", "yes")
    assert refused.value.code == 1 and "'yes': expected true or false" in capsys.readouterr().err


def test_estimate_json_says_which_part_and_plan_it_priced(capsys):
    """`infra-lab estimate` printed the accelerator and the plan in its table, and its JSON/CSV
    record (for scripts comparing runs) had neither: a file of records from several scenarios
    could not say which part or plan a step time was of."""
    rc, out, err = main(capsys, "estimate", "zaya1-h100-counterpart", "--format", "json")
    assert rc == 0
    rec = json.loads(out)[0]
    sc = il.load_scenario("zaya1-h100-counterpart")
    assert rec["accelerator"] == "H100-SXM" == sc.hardware.accelerator
    assert rec["plan"] == cli._plan_text(sc) and "dp=1024" in rec["plan"] and "micro_batch=2" in rec["plan"]
    rc, out, err = main(capsys, "estimate", "zaya1-ibm-mi300x")
    assert cli._plan_text(il.load_scenario("zaya1-ibm-mi300x")) in out


def test_per_gpu_and_per_user_rates_carry_their_unit_in_the_tables(capsys):
    """`infra-lab estimate` and `infra-lab serve` printed tokens_per_s_per_gpu,
    output_tokens_per_s_per_gpu and tokens_per_s_per_user in "tokens/s", the unit of the whole
    job's rate beside them; the tables now write the units the printouts write
    (tokens/s/GPU, tokens/s per user)."""
    rc, out, _ = main(capsys, "estimate", "zaya1-ibm-mi300x")
    rows = _rows(out)
    assert rc == 0 and rows["tokens_per_s"].endswith(" tokens/s") and rows["tokens_per_s_per_gpu"].endswith(" tokens/s/GPU")
    rc, out, _ = main(capsys, "serve", "maia-class-serving-mi300x")
    rows = _rows(out)
    assert rc == 0 and rows["output_tokens_per_s"].endswith(" tokens/s")
    assert rows["output_tokens_per_s_per_gpu"].endswith(" tokens/s/GPU")
    assert rows["total_tokens_per_s_per_gpu"].endswith(" tokens/s/GPU")
    assert rows["tokens_per_s_per_user"].endswith(" tokens/s per user")
    assert cli._unit("tokens_per_s_per_gpu") == "tokens/s/GPU" and cli._unit("tokens_per_s") == "tokens/s"
