"""A new user's pass over serving, economics, reliability, the network explorer and the CLI's
sizes (docs/bad-inputs.md, "A user's pass over serving, economics and the explorers"): one case
per problem it found, each failing before its fix."""

from __future__ import annotations

import re

import pytest

import infra_lab as il
from infra_lab.errors import ValidationError

SERVE = "maia-class-serving-mi300x"


# ------------------------------------------------------------------ "None or" where None is refused
def test_serving_messages_offer_none_only_where_it_is_taken():
    """token_costs(r, 0) and cost_at_interactivity(front, 0) said "expected None or a finite
    number > 0", and a None there is refused too; an item of concurrencies said the same, and a
    None item was dropped unannounced (concurrencies=[None, 64] searched 64 alone)."""
    r = il.serve(SERVE)
    for bad in (0, None, "owned"):
        with pytest.raises(ValidationError, match=r"^price_usd_per_gpu_hour = .*: expected a finite number > 0 "
                                                  r"\[USD/GPU-h\]$"):
            il.serving.token_costs(r, bad)
    front = il.serve_search(SERVE, top=None, price_usd_per_gpu_hour=2.0)
    for bad in (0, None):
        with pytest.raises(ValidationError, match=r"^tokens_per_s_per_user = .*: expected a finite number > 0 "
                                                  r"\[tokens/s\]$"):
            il.serving.cost_at_interactivity(front, bad)
    for bad, where in (([None, 64], r"concurrencies\[0\] = None"), ([64, 0], r"concurrencies\[1\] = 0")):
        with pytest.raises(ValidationError, match=rf"^{where}: expected a finite integer > 0$"):
            il.serve_search(SERVE, concurrencies=bad)
    # where None is taken, the message still offers it
    with pytest.raises(ValidationError, match=r"^max_tpot_s = 0: expected None or a finite number > 0$"):
        il.serve_search(SERVE, max_tpot_s=0)


# ------------------------------------------------------------------ bits are not bytes
def test_cli_size_refuses_bits():
    """`infra-lab collective all_reduce 1Gb ...` priced 1e9 bytes: the unit was read without its
    case, so 1 gigabit (1.25e8 bytes; the catalog's NICs are "400 Gb/s") came out 8x too large.
    A lowercase b is refused with the size in bytes; B in any prefix case is taken."""
    from infra_lab import cli

    assert cli.parse_size("1GB") == cli.parse_size("1gB") == 1e9 and cli.parse_size("1GiB") == 2**30
    for text, nbytes in (("1Gb", "1.25e+08"), ("8kb", "1,000"), ("1gib", "1.34218e+08"), ("16b", "2")):
        with pytest.raises(cli.CliError, match=rf"^size {re.escape(repr(text))}: a lowercase b is a bit .* = {re.escape(nbytes)} bytes\); "
                                               r"give the size in bytes with an uppercase B"):
            cli.parse_size(text)
    rc = cli.main(["collective", "all_reduce", "1Gb", "--hardware", SERVE, "--gpus", "8"])
    assert rc == 1


# ------------------------------------------------------------------ the network explorer at scale
def test_network_explorer_beyond_the_flow_simulation_keeps_the_analytic_cost():
    """network_update(gpus=32768) (4,096 MI300X nodes: a three-tier rail network at radix 64)
    raised the flow simulation's ValidationError out of the callback, while 8,192 and 100,000
    GPUs gave their analytic cost; it now shows the cost and says why no flow-level η is given.
    A routing typo is refused on one node too (it was ignored where no step is simulated)."""
    from infra_lab.errors import UnknownNameError
    from infra_lab.widgets.network import network_update

    for fabric in ("rails-only", "fat-tree"):
        r = network_update(gpus=32768, fabric=fabric)
        direct = il.collective("all_reduce", 2**28, {"accelerator": "MI300X", "nodes": 4096, "nic": "Pollara-400",
                                                     "fabric": fabric}, 32768)
        assert r["result"].time_s == direct.time_s == r["routed"].time_s and r["efficiency"] == 1.0
        assert "No flow-level η: fabric with" in r["text"] and "needs 3 tiers" in r["text"], r["text"]
    assert network_update(gpus=1024)["efficiency"] < 1.0            # a two-tier network is still simulated
    with pytest.raises(UnknownNameError, match="Did you mean 'spray'"):
        network_update(gpus=8, routing="spary")


# ------------------------------------------------------------------ a horizon inside the setup
@pytest.mark.parametrize("path", ["flat", "decay", "rebound"])
def test_provider_view_refuses_a_horizon_that_sells_nothing(path):
    """provider_view(2.0, years=0.1): the one month of the horizon falls in the 4 setup weeks, and
    the view reported price_usd_per_gpu_hour = 0.0, utilization = 0.0 and a margin of -66.50
    USD per GPU-hour for a price given as 2.0. It now says why nothing is sold and from which
    horizon something is; the shortest such horizon gives the price asked."""
    E = il.economics
    price = 2.0 if path == "flat" else None
    with pytest.raises(ValidationError, match=r"^years = 0.1: the horizon ends inside the setup and burn-in "
                                              r"\(setup_weeks = 4 weeks\).*allowed years >= 0.167 \(2 months"):
        E.provider_view(price, years=0.1, path=path)
    with pytest.raises(ValidationError, match=r"setup_weeks = 8 weeks.*allowed years >= 0.25 \(3 months"):
        E.provider_view(price, years=0.2, path=path, setup_weeks=8)
    pv = E.provider_view(price, years=2 / 12, path=path)
    assert pv.price_usd_per_gpu_hour == (2.0 if path == "flat" else E.defaults("MI300X")["contract_usd_per_gpu_hour"])
    assert pv.utilization > 0


# ------------------------------------------------------------------ serve --search bounds
def test_cli_serve_search_bounds_are_named_as_options(capsys):
    """`infra-lab serve ... --search --max-ttft-s 0` said "max_ttft_s = 0.0: expected None or a
    finite number > 0" (the API's keyword, and None, which no option takes); and the API's third
    bound, min_tokens_per_s_per_user, had no option at all."""
    from infra_lab import cli

    for opt, val, unit in (("--max-ttft-s", "0", "s"), ("--max-tpot-s", "nan", "s"),
                           ("--min-tokens-per-s-per-user", "-3", "tokens/s per user")):
        assert cli.main(["serve", SERVE, "--search", opt, val]) == 1
        err = capsys.readouterr().err
        assert f"error: {opt} {val}: expected a finite number > 0 [{unit}]" in err and "None" not in err, err
    assert cli.main(["serve", SERVE, "--search", "--min-tokens-per-s-per-user", "100", "--top", "all",
                     "--format", "csv"]) == 0
    import io

    import polars as pl

    df = pl.read_csv(io.StringIO(capsys.readouterr().out))
    api = il.serve_search(SERVE, top=None, min_tokens_per_s_per_user=100.0)
    assert df.height == api.height > 0 and (df["tokens_per_s_per_user"] >= 100).all()
    assert df["output_tokens_per_s"].to_list() == pytest.approx(api["output_tokens_per_s"].to_list())
    assert cli.main(["serve", SERVE, "--min-tokens-per-s-per-user", "100"]) == 1     # only with --search
    assert "only with --search" in capsys.readouterr().err


# ------------------------------------------------------------------ a scenario by name or dict
def test_reliability_takes_a_scenario_by_name_file_or_dict():
    """plan_run("zaya1-ibm-mi300x", 100) said "give checkpoint=..., a model, or pass a Scenario as
    hardware" (the name was read as hardware alone); plan_run(sc.to_dict(), 100) said "unknown key
    'hardware.name'"; scaling_table and the reliability explorer scaled a name as bare hardware.
    Every call that takes a scenario takes it by name, file or dict (docs/ARCHITECTURE.md)."""
    from infra_lab.widgets.reliability import reliability_update

    R = il.reliability
    sc = il.load_scenario("zaya1-ibm-mi300x")
    ref = R.plan_run(sc, 100.0)
    for given in ("zaya1-ibm-mi300x", "data/scenarios/zaya1-ibm-mi300x.toml", sc.to_dict()):
        p = R.plan_run(given, 100.0)
        assert (p.goodput, p.ckpt_s, p.interval_s) == (ref.goodput, ref.ckpt_s, ref.interval_s)
        assert R.scaling_table(given, [2048], 100.0).equals(R.scaling_table(sc, [2048], 100.0))
        assert reliability_update(2048, "llama3", 1.0, 10.0, "baseline", hardware=given, work_hours=100.0)[0] \
            == reliability_update(2048, "llama3", 1.0, 10.0, "baseline", hardware=sc, work_hours=100.0)[0]
        assert R.mtbi_hours(given) == R.mtbi_hours(sc)
        assert il.collective("all_reduce", 2**20, given, 16) == il.collective("all_reduce", 2**20, sc, 16)
    with pytest.raises(ValidationError, match="give checkpoint="):   # a [hardware] table has no model
        R.plan_run(sc.to_dict()["hardware"], 100.0)


# ------------------------------------------------------------------ a contract too short for the run
def test_deal_pnl_does_not_hide_a_contract_too_short_for_the_run():
    """deal_pnl(1e6, n_gpus=8): eight GPUs for 3-12 months give at most 70,000 GPU-hours, and the
    P&L showed the final run as 100 % of the hours bought (the share capped at 1) beside a bill of
    0.11 M USD and a run worth 2.8 M at the same price; zyphra_bill refuses the same run. It is
    refused when no drawn contract holds the run, and the share is no longer capped where some do."""
    E = il.economics
    with pytest.raises(ValidationError, match=r"^deal_pnl: the final run needs 1,000,000 GPU-hours with goodput "
                                              r"losses .* months of 8 GPUs, gives [0-9,]+; give more GPUs"):
        E.deal_pnl(1e6, n_gpus=8)
    with pytest.raises(ValidationError, match="needs 100,000,000 GPU-hours"):
        E.deal_pnl(1e6, goodput=0.01)
    with pytest.raises(ValidationError, match="contract more months"):   # the bill's own check agrees
        E.zyphra_bill(1e6, n_gpus=8)
    d = E.deal_pnl(1e6, n_gpus=128)         # 128 GPUs: most drawn contracts are too short
    share = d.line("Zyphra", "final run share of the hours bought")
    bill, run = d.line("Zyphra", "bill"), d.line("Zyphra", "final run incl. goodput losses at the contract price")
    assert share.p50 > 1.0 and share.p50 == pytest.approx(run.p50 / bill.p50, rel=0.05)
    ref = E.deal_pnl(1e6)                   # the reference cluster: unchanged, well inside the contract
    assert ref.line("Zyphra", "final run share of the hours bought").p95 < 1.0


def test_cli_sweep_options_are_named_as_options(tmp_path, capsys):
    """`infra-lab sweep ... --chunk-size 0` said "chunk_size = 0: expected a positive integer or
    None" and `--seed -1` "seed = -1": il.sweep's keywords, and a None no option takes."""
    from infra_lab import cli

    grid = tmp_path / "grid.toml"
    grid.write_text("[serving]\nconcurrency = [8, 64]\n")
    for args, msg in ((["--seed", "-1"], "--seed -1: expected a whole number >= 0"),
                      (["--chunk-size", "0"], "--chunk-size 0: expected a whole number of points per task >= 1")):
        assert cli.main(["sweep", SERVE, "--grid", str(grid), "--call", "serve", *args]) == 1
        err = capsys.readouterr().err
        assert f"error: {msg}" in err and "None" not in err, err


# ------------------------------------------------------------------ one owner of a request's media
def test_multimodal_serve_keeps_the_scenarios_media_unless_given():
    """mm.serve("maia-class-serving-mi300x") served text alone (15,436 -> 14,978 prompt positions,
    the scenario's 1/3 picture and 5 s of speech replaced by 0), and mm.serve(sc, images=2,
    audio_s=30) encoded the pictures at the encoder's own size instead of the scenario's
    1024 x 768 (16,240 prompt positions and 9,981 output tokens/s against il.serve's 17,726
    and 8,943 for the same request). A value left out is now the scenario's, as il.serve reads it."""
    mm = il.multimodal
    sc = il.load_scenario(SERVE)
    d = sc.to_dict()
    a, b = mm.serve(sc), il.serve(sc)
    assert a.result.prompt_tokens == b.prompt_tokens == 15436 and a.result.output_tokens_per_s == b.output_tokens_per_s
    a = mm.serve(d, images=2, audio_s=30)
    b = il.serve({**d, "serving": {**d["serving"], "images_per_request": 2, "audio_s_per_request": 30}})
    assert a.result.prompt_tokens == b.prompt_tokens == 17726 and a.result.ttft_s == b.ttft_s
    assert mm.serve(d, images=0, audio_s=0).result.prompt_tokens == 14978   # text alone, when asked
    assert mm.serve(d, images=1, image_size=448).prefill.lm_positions == 256 + mm.serve(
        d, images=0).prefill.lm_positions      # a size given still wins


def test_class_comparison_and_sweep_failures_name_their_own_arguments():
    """class_comparison(..., tokens_per_s_per_user=0) said "min_tokens_per_s_per_user = 0: expected
    None or ..." (serve_search's keyword inside it, and a None it refuses); il.sweep.failures([1])
    raised AttributeError."""
    import polars as pl

    for bad in (0, None):
        with pytest.raises(ValidationError, match=r"^tokens_per_s_per_user = .*: expected a finite number > 0 "
                                                  r"\[tokens/s\]$"):
            il.serving.class_comparison(["llama3.3-70b"], ["MI300X"], tokens_per_s_per_user=bad)
    with pytest.raises(ValidationError, match=r"^frame = \[1\] \(a list\): expected the result of sweep\(\)"):
        il.sweep.failures([1])
    with pytest.raises(ValidationError, match="no 'error' column"):
        il.sweep.failures(pl.DataFrame({"a": [1]}))


def test_economics_explorer_says_which_argument_takes_the_rent():
    """economics_update(accelerator="A100-SXM-80GB") raised cloud_price's "pass a price
    explicitly" without saying which argument takes it (the explorer's own constructor did)."""
    from infra_lab.widgets.economics import economics_update

    with pytest.raises(ValidationError, match=r"^price_usd_per_gpu_hour = None: no default rent for A100-SXM-80GB: "
                                              r"cloud_price: no on-demand list price .*\); pass the rent as "
                                              r"economics_update\(price_usd_per_gpu_hour, 'A100-SXM-80GB'\)"):
        economics_update(accelerator="A100-SXM-80GB")
    assert economics_update(2.0, "A100-SXM-80GB")["rent_vs_own"].price_usd_per_gpu_hour == 2.0


def test_claim_check_names_the_precision_as_the_catalog_does():
    """claim_check(750, ..., precision="BF16") took the name case-insensitively (the figures equal
    bf16's) but echoed "BF16" in its result."""
    a = il.cluster.claim_check(750, "zaya1-ibm-mi300x", precision="BF16")
    assert a == il.cluster.claim_check(750, "zaya1-ibm-mi300x") and a["precision"] == "bf16"


def test_class_comparison_has_its_columns_whether_or_not_the_target_is_reached():
    """class_comparison(["zaya1-base"], ["MI300X"], tokens_per_s_per_user=1e4) (no configuration
    reaches 10,000 tokens/s per user) returned 6 columns where a reached target returns 18: a
    caller reading usd_per_task got a ColumnNotFoundError instead of a null."""
    reached = il.serving.class_comparison(["zaya1-base"], ["MI300X"], tokens_per_s_per_user=30)
    missed = il.serving.class_comparison(["zaya1-base"], ["MI300X"], tokens_per_s_per_user=1e4)
    assert reached["reached"].to_list() == [True] and missed["reached"].to_list() == [False]
    assert missed.schema == reached.schema
    assert missed["usd_per_task"].to_list() == [None] and missed["max_concurrency"][0] == reached["max_concurrency"][0]
