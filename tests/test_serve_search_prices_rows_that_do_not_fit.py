"""il.serve_search(pareto=False, top=None) with a price returned $ per million tokens for the
configurations that do not fit in memory without a word, while ServeResult.costs, token_costs and
run_cost warn for one deployment or plan that does not fit. Ranked by a $ objective, such rows
came first (Llama 3.1 405B on 8 H100: tp 2 dp 4 at 1,024 requests, which needs 2.6x the memory).
Now the same "does not fit" warning (economics.runs.warn_does_not_fit, with the count), pointing
at the caller's line; the numbers are unchanged; the CLI says it as a note."""

from __future__ import annotations

import json
import re
import warnings

import pytest

import infra_lab as il
from infra_lab.cli import main as cli_main

_SC = {"name": "x", "model": {"preset": "llama3.1-405b"},
       "hardware": {"accelerator": "H100", "nodes": 1, "gpus_per_node": 8},
       "serving": {"engine": "vllm", "tp": 8, "weight_precision": "fp8", "input_tokens": 1024, "output_tokens": 1024}}
_KW = {"concurrencies": [1, 2048], "weight_precisions": ["fp8"]}


def test_priced_search_rows_that_do_not_fit_warn_with_their_count():
    with pytest.warns(UserWarning, match=r"il\.serve_search: does not fit: ") as rec:
        df = il.serve_search(_SC, top=None, pareto=False, price_usd_per_gpu_hour=2.0, **_KW)
    fit_warnings = [w for w in rec if "does not fit" in str(w.message)]
    assert len(fit_warnings) == 1 and fit_warnings[0].filename == __file__     # the caller's line
    msg = str(fit_warnings[0].message)
    unfit = df.filter(~df["fits"])
    assert 0 < unfit.height < df.height
    need = unfit["memory_per_gpu_bytes"].min()
    cap = il.catalog.accelerator("H100").memory_capacity_bytes
    assert need > cap
    m = re.search(r"(\d[\d,]*) of the (\d[\d,]*) configurations priced need ([\d.]+) GB per GPU or more against "
                  r"the ([\d.]+) GB a job can address on H100-SXM; priced as if they had enough memory", msg)
    assert m, msg
    assert int(m[1].replace(",", "")) == unfit.height and int(m[2].replace(",", "")) == df.height
    assert float(m[3]) == pytest.approx(need / 1e9, abs=0.05) and float(m[4]) == pytest.approx(cap / 1e9, abs=0.05)
    # still priced, as the one-deployment costs are: each row's columns are token_costs of its figures
    for r in unfit.head(3).iter_rows(named=True):
        row = {k: r[k] for k in ("gpus", "output_tokens_per_s", "total_tokens_per_s", "prefill_time_fraction")}
        assert il.serving.token_costs(row, 2.0)["usd_per_million_tokens"] == pytest.approx(r["usd_per_million_tokens"])


def test_search_frames_of_fitting_rows_only_stay_silent():
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*does not fit", category=UserWarning)
        for kw in ({"pareto": True, "top": None}, {"pareto": False, "top": 5}, {"pareto": False, "top": None,
                                                                                "max_tpot_s": 1.0}):
            df = il.serve_search(_SC, price_usd_per_gpu_hour=2.0, **kw, **_KW)
            assert df.height and df["fits"].all()
        every = il.serve_search(_SC, top=None, pareto=False, **_KW)     # no price: nothing priced
        assert not every["fits"].all()


def test_cli_search_notes_priced_rows_that_do_not_fit(capsys, tmp_path):
    p = tmp_path / "s.json"
    p.write_text(json.dumps(_SC))
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*does not fit", category=UserWarning)
        rc = cli_main(["serve", str(p), "--search", "--no-pareto", "--top", "all", "--price-usd-per-gpu-hour", "2",
                       "--concurrencies", "1,2048", "--weight-precisions", "fp8"])
    assert rc in (0, None)
    text = capsys.readouterr().out
    assert re.search(r"does not fit: \d+ of the \d+ configurations \(fits = no\) need [\d.]+ GB per GPU or more "
                     r"against the 85\.5 GB a job can address on H100-SXM; priced as if they had enough memory", text)
