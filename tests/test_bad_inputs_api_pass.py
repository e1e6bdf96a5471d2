"""A new user's pass over the public calls and the CLI (docs/bad-inputs.md, "A user's pass over
the contract"): one case per problem it found, each failing before its fix.

A bad input raises the package's own error naming the field, the value and what is allowed;
an undefined quantity is None (null in JSON/CSV), never a number that reads as a measurement.
"""

from __future__ import annotations

import json

import polars as pl
import pytest

import infra_lab as il
from infra_lab import cli, serving
from infra_lab.economics import NoPurchasePriceError
from infra_lab.errors import UnknownNameError, ValidationError

SERVE = {"name": "one-token", "model": {"preset": "llama3-8b"},
         "hardware": {"accelerator": "MI300X", "nodes": 1, "gpus_per_node": 8, "nic": "Pollara-400"},
         "serving": {"engine": "vllm", "tp": 1, "dp": 8, "input_tokens": 1024, "output_tokens": 1,
                     "concurrency": 64}}


def _serve(**change):
    return {**SERVE, "serving": {**SERVE["serving"], **change}}


def main(capsys, *args: str) -> tuple[int, str, str]:
    rc = cli.main(list(args))
    out = capsys.readouterr()
    return rc, out.out, out.err


# ------------------------------------------------------------------ TPOT of one output token
def test_one_output_token_has_no_tpot():
    """serving.output_tokens = 1 is a prefill-only request: no token follows the first, so
    TPOT = (e2e − TTFT)/(O − 1) is undefined (vLLM's benchmark leaves such requests out of its
    TPOT). il.serve reported the engine cycle as TPOT (0.161 s, "6.2 tokens/s per user" on
    llama3-8b / 8 MI300X); it now gives None for both, and the latency is the TTFT. Two output
    tokens keep a TPOT, and the other numbers of one token are unchanged."""
    r = il.serve(SERVE)
    assert r.tpot_s is None and r.tokens_per_s_per_user is None
    assert r.e2e_latency_s == r.ttft_s > 0 and r.output_tokens_per_s > 0
    assert il.serve(SERVE, reference=True).tpot_s is None
    r2 = il.serve(_serve(output_tokens=2))
    assert r2.tpot_s > 0 and r2.tokens_per_s_per_user == pytest.approx(1 / r2.tpot_s)
    assert not serving.tpot_defined(1) and serving.tpot_defined(2)


def test_serve_search_one_output_token():
    """serve_search of one-token requests: tpot_s and tokens_per_s_per_user are null, the front
    is throughput against TTFT, and a TPOT bound or objective is refused by name (it kept or
    dropped rows on the engine cycle)."""
    f = il.serve_search(SERVE, top=None)
    assert f.height > 0 and f["tpot_s"].null_count() == f.height
    assert f["tokens_per_s_per_user"].null_count() == f.height
    # the front: no kept row is beaten on both throughput per GPU and TTFT by another kept row
    rows = f.select("ttft_s", "output_tokens_per_s_per_gpu").rows()
    for t, y in rows:
        assert not any(t2 < t and y2 > y for t2, y2 in rows)
    for kw in ({"max_tpot_s": 0.05}, {"min_tokens_per_s_per_user": 10.0}, {"objective": "tpot_s"},
               {"objective": "tokens_per_s_per_user"}):
        with pytest.raises(ValidationError, match=r"serving.output_tokens = 1: .*TPOT .*undefined.*max_ttft_s"):
            il.serve_search(SERVE, **kw)
    assert il.serve_search(SERVE, top=2, max_ttft_s=10.0).height == 2
    priced = il.serve_search(SERVE, price_usd_per_gpu_hour=2.0)
    with pytest.raises(ValidationError, match=r"tokens_per_s_per_user = 10: the front has no tokens/s per user"):
        serving.cost_at_interactivity(priced, 10.0)
    with pytest.raises(ValidationError, match=r"pareto_front: column 'tokens_per_s_per_user' has \d+ null"):
        serving.pareto_front(priced)
    # the front chart drew no point (altair leaves a null out) and said nothing
    with pytest.raises(ValidationError, match=r"serving_front_chart: column 'tokens_per_s_per_user' has \d+ "
                                              r"null.*one output token"):
        il.charts.serving_front_chart(priced.with_columns(accelerator=pl.lit("MI300X")))
    assert il.serve_search(_serve(output_tokens=2), top=3)["tpot_s"].null_count() == 0


def test_cli_serve_one_output_token(capsys):
    rc, out, err = main(capsys, "serve", _toml_path(), "--format", "json")
    assert rc == 0, err
    d = json.loads(out)[0]
    assert d["tpot_s"] is None and d["tokens_per_s_per_user"] is None and d["e2e_latency_s"] == d["ttft_s"]
    assert "undefined with serving.output_tokens = 1" in err
    rc, out, err = main(capsys, "serve", _toml_path(), "--search", "--max-tpot-s", "0.05")
    assert rc == 1 and "--max-tpot-s 0.05 with serving.output_tokens = 1" in err


def test_serving_widget_one_output_token():
    df, _chart = il.widgets.serving.serving_update(model="llama3-8b", gpus=8, concurrency=8, output_tokens=1,
                                                   price_usd_per_gpu_hour=2.0)
    assert df["tpot_ms"][0] is None and df["ttft_s"][0] > 0


_PATH: list = []


def _toml_path():
    if not _PATH:
        import tempfile
        from pathlib import Path

        p = Path(tempfile.mkdtemp()) / "one_token.toml"
        p.write_text(il.Scenario.from_dict(SERVE).to_toml())
        _PATH.append(str(p))
    return _PATH[0]


# ------------------------------------------------------------------ prices by name
def test_cli_price_by_name(capsys):
    """`infra-lab serve --price-usd-per-gpu-hour` took a number only (argparse: "invalid float
    value: 'owned'", exit 2) while r.costs and serve_search take "owned" / "rented" by name; the
    CLI now passes the name to the same owner (il.serving.price_for) and prints the price used."""
    sc = "maia-class-serving-mi300x"
    r = il.serve(sc)
    for basis in ("owned", "Rented"):
        rc, out, err = main(capsys, "serve", sc, "--price-usd-per-gpu-hour", basis, "--format", "json")
        assert rc == 0, err
        d = json.loads(out)[0]
        price = serving.gpu_hour_price("MI300X", basis.lower())
        assert d["price_usd_per_gpu_hour"] == price and d["price_basis"] == basis.lower()
        assert d["usd_per_million_tokens"] == r.costs(price)["usd_per_million_tokens"]
    rc, out, err = main(capsys, "serve", sc, "--price-usd-per-gpu-hour", "2.5", "--format", "json")
    assert rc == 0 and json.loads(out)[0]["price_usd_per_gpu_hour"] == 2.5 and "price_basis" not in out
    rc, out, err = main(capsys, "serve", sc, "--price-usd-per-gpu-hour", "rentd")
    assert rc == 1 and "unknown price basis 'rentd'" in err and "Did you mean 'rented'" in err
    rc, out, err = main(capsys, "serve", sc, "--search", "--top", "2", "--objective", "usd_per_million_tokens",
                        "--price-usd-per-gpu-hour", "owned", "--format", "csv")
    assert rc == 0, err
    got = pl.read_csv(out.encode())
    want = il.serve_search(sc, top=2, objective="usd_per_million_tokens", price_usd_per_gpu_hour="owned")
    assert got["usd_per_million_tokens"].to_list() == pytest.approx(want["usd_per_million_tokens"].to_list())
    rc, out, err = main(capsys, "serve", sc, "--price-usd-per-gpu-hour", "owned")
    assert rc == 0 and "il.serving.gpu_hour_price('MI300X', 'owned'), the like-for-like owned P50" in out
    # with --search the usd_* columns were priced at a number the output never showed
    rented = serving.gpu_hour_price("MI300X", "rented")
    for fmt, stream in (("table", 1), ("csv", 2)):
        rc, out, err = main(capsys, "serve", sc, "--search", "--top", "1", "--price-usd-per-gpu-hour", "rented",
                            "--format", fmt)
        assert rc == 0, err
        assert f"usd_per_* columns at {rented:.4g} USD/GPU-h (rented: il.serving.gpu_hour_price('MI300X', " \
               "'rented'), the median current on-demand rent)" in (out, err)[stream - 1]


def test_price_by_name_without_a_price_says_which_argument():
    """r.costs("owned") on an accelerator without a purchase price raised the economics error
    alone ("pass one: price=... (compare_owned: ...)"), naming arguments r.costs does not have;
    it now names price_usd_per_gpu_hour and the way out (a number), keeping the error's class."""
    r = il.serve({**SERVE, "hardware": {**SERVE["hardware"], "accelerator": "MI450X"},
                  "serving": {**SERVE["serving"], "output_tokens": 16}})
    with pytest.raises(NoPurchasePriceError, match=r"price_usd_per_gpu_hour = 'owned': .*MI450X.*as a number"):
        r.costs("owned")
    with pytest.raises(ValidationError, match=r"price_usd_per_gpu_hour = 'rented': .*MI450X.*as a number"):
        r.costs("rented")
    assert r.costs(2.0)["usd_per_million_tokens"] > 0
    with pytest.raises(UnknownNameError):
        r.costs("owend")


# ------------------------------------------------------------------ sweeps over names that do not exist
def test_sweep_refuses_names_fn_cannot_take():
    """il.sweep over a grid name fn does not have (a typo) ran every point and returned a frame
    of identical TypeErrors with a warning; a name fn needs that the grid leaves out, or
    pass_seed=True on fn without a seed, did the same. They are now refused before any point
    runs, with the nearest parameter; fn with **kwargs is not checked."""
    calls = []

    def plan(nodes, seq_len):
        calls.append(nodes)
        return {"x": nodes * seq_len}

    with pytest.raises(UnknownNameError, match=r"grid parameter 'nodez'.*Did you mean 'nodes'"):
        il.sweep(plan, {"nodez": [1, 2], "seq_len": [4]}, progress=False)
    with pytest.raises(ValidationError, match=r"needs 'seq_len', which neither the grid"):
        il.sweep(plan, {"nodes": [1, 2]}, progress=False)
    with pytest.raises(UnknownNameError, match=r"fn_kwargs key 'seqlen'.*Did you mean 'seq_len'"):
        il.sweep(plan, {"nodes": [1, 2]}, progress=False, fn_kwargs={"seqlen": 4})
    with pytest.raises(UnknownNameError, match=r"pass_seed = True"):
        il.sweep(plan, {"nodes": [1], "seq_len": [4]}, progress=False, pass_seed=True)
    assert calls == []
    assert il.sweep(plan, {"nodes": [1, 2]}, progress=False, fn_kwargs={"seq_len": 4})["x"].to_list() == [4, 8]
    assert il.sweep(lambda **kw: {"y": 1}, {"anything": [1]}, progress=False)["error"].null_count() == 1


def test_cli_sweep_checks_grid_keys_first(tmp_path, capsys):
    """`infra-lab sweep --grid` with a key no table has ran every point and then said that every
    point failed; the names are now checked first, by the tables' own check."""
    grid = tmp_path / "grid.toml"
    for text, want in (("[hardware]\nnodez = [1, 2]\n", "unknown key 'hardware.nodez'. Did you mean 'hardware.nodes'"),
                       ("[training]\ntp = [1, 2]\n", "'tp' is a key of [parallelism], not [training]"),
                       ("[training]\nseq_len = [2048]\nprecison = 'fp8'\n", "unknown key 'training.precison'"),
                       # [model] was left out of the check: every point ran and failed
                       ("[model]\nlayerz = [32, 40]\n", "unknown model field 'layerz' in [model]. Did you mean 'layers'"),
                       ("[model]\nlayers = [32]\nhiden = 2048\n", "unknown model field 'hiden'")):
        grid.write_text(text)
        rc, out, err = main(capsys, "sweep", "zaya1-ibm-mi300x", "--grid", str(grid))
        assert rc == 1 and want in err and "every point" not in err, err


# ------------------------------------------------------------------ the plan line and scenario names
def test_cli_estimate_plan_names_the_schedule_and_fsdp_impl(tmp_path, capsys):
    """`infra-lab estimate`'s plan line left out parallelism.pp_schedule and fsdp_impl: a
    zero-bubble plan read like a 1F1B one. It names the schedule the plan runs, as the search
    frame's pp_schedule column does."""
    d = {"name": "zbv", "model": {"preset": "llama3-8b"},
         "hardware": {"accelerator": "MI300X", "nodes": 2, "gpus_per_node": 8},
         "training": {"seq_len": 4096, "global_batch": 64, "micro_batch": 1},
         "parallelism": {"pp": 2, "vp": 2, "pp_schedule": "zbv", "fsdp": True, "fsdp_impl": "megatron"}}
    p = tmp_path / "zbv.toml"
    p.write_text(il.Scenario.from_dict(d).to_toml())
    rc, out, err = main(capsys, "estimate", str(p))
    assert rc == 0, err
    assert "pp_schedule=zbv" in out and "fsdp_impl=megatron" in out
    rc, out, err = main(capsys, "estimate", "zaya1-ibm-mi300x")
    sched = il.search("zaya1-ibm-mi300x", top=1, **{k: getattr(il.load_scenario("zaya1-ibm-mi300x").parallelism, k)
                                                    for k in ("tp", "pp", "vp")})["pp_schedule"][0]
    assert f"pp_schedule={sched}" in out and "fsdp_impl=" not in out


def test_cli_scenario_name_beside_its_file(tmp_path, capsys, monkeypatch):
    """`infra-lab estimate base` beside base.toml said only "unknown scenario 'base'"."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "base.toml").write_text(il.load_scenario("zaya1-ibm-mi300x").to_toml())
    rc, out, err = main(capsys, "estimate", "base")
    assert rc == 1 and "unknown scenario 'base'" in err and "did you mean 'base.toml'" in err
    rc, out, err = main(capsys, "estimate", "nosuch")
    assert rc == 1 and "unknown scenario 'nosuch'" in err and "base.toml" not in err


def test_search_fsdp_with_a_zero_below_3_says_why():
    """il.search(fsdp=True, zero=1) said "no consistent plan satisfies the constraints {'fsdp': [1],
    'zero': [1]} ... each value is possible alone"; it now says FSDP is ZeRO-3, as the
    Scenario's own check does."""
    base = {"name": "t", "model": {"preset": "llama3-8b"},
            "hardware": {"accelerator": "MI300X", "nodes": 2, "gpus_per_node": 8},
            "training": {"seq_len": 4096, "global_batch": 64, "micro_batch": 2}}
    for zero in (1, [0, 2], {"max_zero": 2}):
        kw = zero if isinstance(zero, dict) else {"zero": zero}
        with pytest.raises(ValidationError, match=r"search constraints fsdp = true with zero = \[.*\]: FSDP .*ZeRO-3"):
            il.search(base, fsdp=True, **kw)
    assert il.search(base, fsdp=True, zero=3, top=1)["zero"][0] == 3
