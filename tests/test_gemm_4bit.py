"""The GEMM model at 4-bit (MXFP4 / NVFP4) against AMD aiter's tuned MXFP4 GEMM table on MI355X
(data/measurements/gemm_4bit_kernels.csv)."""

from __future__ import annotations

import csv
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import infra_lab as il
from infra_lab import compute
from infra_lab.compute import validation as CV

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "measurements" / "gemm_4bit_kernels.csv"


def test_rows_are_the_house_split_and_the_rate_is_the_kernel_time():
    t = compute.four_bit_gemm_measurements()
    assert t.height == t["case"].n_unique() > 1000
    for r in t.iter_rows(named=True):
        assert r["role"] == ("test" if zlib.crc32(r["case"].encode()) % 3 == 0 else "train"), r["case"]
        assert r["case"] == f"aiter-mi355x-mxfp4-{r['m']}x{r['n']}x{r['k']}"
        rate = 2.0 * r["m"] * r["n"] * r["k"] / (float(r["kernel_us"]) * 1e-6) / 1e12
        assert r["value"] == pytest.approx(rate, rel=1e-5), r["case"]
    assert set(t["accelerator"]) == {"MI355X"} and set(t["precision"]) == {"mxfp4"}
    assert set(t["timing"]) == {"kernel"}


def test_the_file_is_what_the_ingest_tool_writes(tmp_path):
    """The CSV round-trips through tools/ingest_aiter_gemm.py from aiter's own columns."""
    src = tmp_path / "a4w4.csv"
    with DATA.open(newline="") as f, src.open("w", newline="") as g:
        w = csv.writer(g)
        w.writerow(["gfx", "cu_num", "M", "N", "K", "kernelId", "splitK", "us", "kernelName", "tflops", "bw",
                    "errRatio"])
        for r in csv.DictReader(f):
            split_k = r["software"].rsplit("split-K ", 1)[1].rstrip(")")
            w.writerow(["gfx950", 256, r["m"], r["n"], r["k"], 0, split_k, r["kernel_us"], r["kernel"], 0, 0, 0])
    out = subprocess.run([sys.executable, str(ROOT / "tools" / "ingest_aiter_gemm.py"), str(src)],
                         capture_output=True, text=True, check=True).stdout
    assert out == DATA.read_text()


def test_mxfp4_ceiling_factor_is_the_fastest_train_row():
    """The stored factor puts the model's maximum at the fastest TRAIN row, so no shape is
    predicted above it, and that row is a train row."""
    fit = compute.mx4_ceiling_factor_fit()
    t = compute.four_bit_gemm_measurements()
    train = t.filter(pl.col("role") == "train")
    assert fit["case"] in set(train["case"])
    assert fit["measured_tflops"] == pytest.approx(float(train["value"].max()))
    g = compute.gemm_model("MI355X", "mxfp4")
    assert g.max_efficiency * g.peak_flops / 1e12 == pytest.approx(fit["measured_tflops"], rel=1e-5)
    assert fit["value"] < 1.0     # 4-bit reaches a smaller fraction of its peak than FP8 of its own
    tab = compute.four_bit_gemm_table()
    assert float(tab["predicted_tflops"].max()) <= fit["measured_tflops"] * (1 + 1e-6)


def test_large_gemms_are_not_priced_at_the_fp8_fraction():
    """Fails without the MXFP4 factor (the FP8 fraction of the FP4 peak, the old assumption): the
    train rows with M >= 4096 are then predicted > 15 % too fast at the median; with it, < 12 %."""
    tab = compute.four_bit_gemm_table().filter((pl.col("role") == "train") & (pl.col("m") >= 4096))
    assert tab.height > 100
    med = float(tab["error_pct"].median())
    assert -5.0 < med < 12.0, med
    g8 = compute.gemm_model("MI355X", "fp8")
    old = compute.gemm_model("MI355X", "mxfp4", ceiling=g8.ceiling)
    from infra_lab._kernels import gemm as kg

    m, n, k = (tab[c].to_numpy().astype(np.int64) for c in ("m", "n", "k"))
    eff, t = kg.empty_outputs(m.size)
    kg.gemm_kernel(m, n, k, np.ones_like(m), *old.args(), eff, t)
    med_old = float(np.median(100.0 * (tab["measured_us"].to_numpy() / (t * 1e6) - 1.0)))
    assert med_old > 15.0, med_old


@pytest.mark.parametrize("prec,acc", [("mxfp4", "MI355X"), ("fp4", "MI355X"), ("nvfp4", "B200"),
                                      ("mxfp4", "GB200"), ("nvfp4", "B300")])
def test_kernel_and_reference_agree_at_4bit(prec, acc):
    rng = np.random.default_rng(7)
    m = rng.integers(1, 20000, 64)
    n = rng.integers(64, 60000, 64)
    k = rng.integers(64, 60000, 64)
    a = compute.gemm_times(m, n, k, acc, prec)
    b = compute.gemm_times(m, n, k, acc, prec, reference=True)
    np.testing.assert_allclose(a, b, rtol=1e-12)


def test_nvfp4_takes_the_mxfp4_factor_as_a_labelled_assumption():
    p = compute.compute_params().filter(pl.col("parameter") == "mx_ceiling_factor")
    row = p.filter(pl.col("variant") == "nvfp4").row(0, named=True)
    assert row["basis"] == "assumption" and row["text"] == ":mxfp4" and "ASSUMPTION" in row["note"]
    b = il.catalog.accelerator("B200")
    f4 = compute.gemm_model("B200", "nvfp4").ceiling / compute.gemm_model("B200", "fp8").ceiling
    assert f4 == pytest.approx(compute.mx4_ceiling_factor_fit()["value"], rel=1e-5)
    assert b.peak("fp4") > b.peak("fp8")


def test_summary_bands_cover_every_row_and_reject_a_bad_table():
    s = compute.four_bit_gemm_summary()
    tab = compute.four_bit_gemm_table()
    for role in ("train", "test"):
        rows = s.filter(pl.col("role") == role)
        assert int(rows.filter(pl.col("m_band") != "all")["cases"].sum()) == tab.filter(pl.col("role") == role).height
    with pytest.raises(il.ValidationError, match="four_bit_gemm_table"):
        compute.four_bit_gemm_summary(pl.DataFrame({"m": [1]}))
    assert [b[2] for b in CV._m_bands()] == ["1-32", "33-256", ">=257"]
    assert set(s["m_band"]) == {"1-32", "33-256", ">=257", "all"}
