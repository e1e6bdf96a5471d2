"""Catalog: schema, a source on every row, SI lookups, and clear errors."""

import math

import polars as pl
import pytest

import infra_lab as il
from infra_lab import catalog
from infra_lab.errors import DataError, UnknownNameError, ValidationError

TABLES = ["accelerators", "device_measurements", "nics", "dpus", "switches", "instances", "cloud_prices"]
REQUIRED_ACCELERATORS = ["A100-SXM-80GB", "H100-SXM", "H800-SXM", "H200-SXM", "B200", "GB200", "GB300",
                         "MI300X", "MI325X", "MI350X", "MI355X"]


@pytest.mark.parametrize("name", TABLES)
def test_every_table_loads_with_sources(name):
    df = getattr(catalog, name)()
    assert isinstance(df, pl.DataFrame) and df.height > 0
    assert "source_url" in df.columns and "note" in df.columns
    assert df["source_url"].str.starts_with("http").all()


def test_required_accelerators_present():
    names = set(catalog.accelerator_names())
    assert set(REQUIRED_ACCELERATORS) <= names


def test_required_nics_present():
    assert {"ConnectX-6-HDR", "ConnectX-7-NDR", "ConnectX-8", "Pollara-400"} <= set(catalog.nic_names())


def test_ibm_profiles_present():
    names = set(catalog.instances()["name"])
    assert {"gx3d-208x1792x8mi300x", "gx3d-metal-224x2048x8mi300x"} <= names


def test_units_in_column_names():
    cols = catalog.accelerators().columns
    for c in ["bf16_tflops", "hbm_GB", "hbm_bw_TBps", "tdp_W", "scaleup_link_GBps_per_dir"]:
        assert c in cols


def test_mi300x_in_si_units():
    mi = il.catalog.accelerator("mi300x")
    assert mi.name == "MI300X"
    assert mi.hbm_bytes == pytest.approx(192e9)
    assert mi.hbm_bw_Bps == pytest.approx(5.3e12)
    assert mi.peak("bf16") == pytest.approx(1307.4e12)
    assert mi.peak("fp8") == pytest.approx(2 * mi.peak("bf16"), rel=1e-3)
    assert mi.compute_units == 304
    assert mi.scaleup_topology == "mesh" and mi.scaleup_links == 7
    assert mi.scaleup_bw_Bps == pytest.approx(448e9)


def test_accelerator_is_frozen():
    mi = il.catalog.accelerator("MI300X")
    with pytest.raises(AttributeError):
        mi.tdp_W = 1.0


def test_aliases_and_case():
    assert il.catalog.accelerator("h100").name == "H100-SXM"
    assert il.catalog.nic("pollara-400").name == "Pollara-400"
    assert il.catalog.nic("pollara-400").line_rate_Bps == pytest.approx(50e9)


def test_unknown_name_suggests_nearest():
    with pytest.raises(UnknownNameError) as e:
        il.catalog.accelerator("MI301X")  # close to MI300X
    msg = str(e.value)
    assert "MI301X" in msg and "Did you mean" in msg and "MI300X" in msg
    with pytest.raises(UnknownNameError, match="Pollara-400"):
        il.catalog.nic("Polara-400")


def test_missing_precision_is_clear():
    a100 = il.catalog.accelerator("A100-SXM-80GB")
    with pytest.raises(ValidationError, match="fp8"):
        a100.peak("fp8")
    with pytest.raises(UnknownNameError, match="bf16"):
        a100.peak("bf17")


def test_all_numbers_positive_finite():
    df = catalog.accelerators()
    for c in df.columns:
        if df[c].dtype == pl.Float64:
            vals = [v for v in df[c].to_list() if v is not None]
            assert all(math.isfinite(v) and v > 0 for v in vals), c


def test_measurements_lookup():
    maf = catalog.measurement("MI300X", "gemm_tflops", "bf16")
    assert 600e12 < maf < 800e12
    link = catalog.measurement("MI300X", "xgmi_link_bw", pick="mean")
    assert 40e9 < link < 50e9


def test_measurement_with_a_unit_it_cannot_convert_is_a_data_error(monkeypatch):
    """A device measurement whose unit has no SI conversion is a DataError naming the row and
    the unit; it used to be scaled by 1.0 (``scale.get(u, 1.0)``), so 700 "PFLOP/s" read as
    700 FLOP/s."""
    rows = catalog.device_measurements().filter((pl.col("accelerator") == "MI300X")
                                                & (pl.col("quantity") == "gemm_tflops")).head(1)
    assert rows.height == 1
    good = catalog.measurement("MI300X", "gemm_tflops", rows["precision"][0])
    bad = rows.with_columns(pl.lit("PFLOP/s").alias("unit"))
    monkeypatch.setattr(catalog, "device_measurements", lambda: bad)
    with pytest.raises(DataError, match=r"device_measurements.csv, MI300X gemm_tflops: unit 'PFLOP/s' has no SI"):
        catalog.measurement("MI300X", "gemm_tflops", rows["precision"][0])
    assert good > 1e12


def test_cloud_prices_terms():
    terms = set(catalog.cloud_prices()["term"])
    assert terms <= {"on-demand", "1-year", "3-year", "spot", "reserved"}
    assert "on-demand" in terms
    assert (catalog.cloud_prices()["price_usd_per_gpu_hour"] > 0).all()


# ---- malformed files: the loader names file, row and column ---------------------------
SCHEMA = {"name": catalog.Col("str", required=True), "hbm_GB": catalog.Col("float", required=True, positive=True)}


def _write(tmp_path, text):
    p = tmp_path / "bad.csv"
    p.write_text(text)
    return p


def test_malformed_number(tmp_path):
    p = _write(tmp_path, "name,hbm_GB,source_url,note\nX,lots,https://e.com,\n")
    with pytest.raises(DataError, match=r"bad.csv, row 1, column 'hbm_GB'.*not a number"):
        catalog.read_table(p, SCHEMA)


def test_negative_value(tmp_path):
    p = _write(tmp_path, "name,hbm_GB,source_url,note\nX,1,https://e.com,\nY,-3,https://e.com,\n")
    with pytest.raises(DataError, match=r"row 2, column 'hbm_GB'.*> 0"):
        catalog.read_table(p, SCHEMA)


def test_missing_source(tmp_path):
    p = _write(tmp_path, "name,hbm_GB,source_url,note\nX,1,,\n")
    with pytest.raises(DataError, match=r"row 1, column 'source_url'"):
        catalog.read_table(p, SCHEMA)


def test_source_not_url(tmp_path):
    p = _write(tmp_path, "name,hbm_GB,source_url,note\nX,1,my notes,\n")
    with pytest.raises(DataError, match="neither a web address nor 'repo:data/<file>'"):
        catalog.read_table(p, SCHEMA)
    # a repo: source must name an existing file of the data folder
    p = _write(tmp_path, "name,hbm_GB,source_url,note\nX,1,repo:data/measurements/device/none.json,\n")
    with pytest.raises(DataError, match="'source_url'"):
        catalog.read_table(p, SCHEMA)
    p = _write(tmp_path, "name,hbm_GB,source_url,note\nX,1,repo:data/measurements/device_kernels.csv,\n")
    assert catalog.read_table(p, SCHEMA)["source_url"][0].startswith("repo:")


def test_missing_column(tmp_path):
    p = _write(tmp_path, "name,source_url,note\nX,https://e.com,\n")
    with pytest.raises(DataError, match="missing column.*hbm_GB"):
        catalog.read_table(p, SCHEMA)


def test_ragged_row(tmp_path):
    p = _write(tmp_path, "name,hbm_GB,source_url,note\nX,1,https://e.com\n")
    with pytest.raises(DataError, match="row 1: 3 fields, expected 4"):
        catalog.read_table(p, SCHEMA)


def test_nan_rejected(tmp_path):
    p = _write(tmp_path, "name,hbm_GB,source_url,note\nX,nan,https://e.com,\n")
    with pytest.raises(DataError, match="not finite"):
        catalog.read_table(p, SCHEMA)


def test_bad_choice(tmp_path):
    p = tmp_path / "c.csv"
    p.write_text("term,source_url,note\nforever,https://e.com,\n")
    with pytest.raises(DataError, match="'forever' is not one of"):
        catalog.read_table(p, {"term": catalog.Col("str", choices=("on-demand", "spot"))})


def test_a_duplicate_name_in_a_catalog_table_is_refused_not_shadowed():
    # two rows of one name: the lookup used to return the first silently
    t = catalog.accelerators()
    dup = pl.concat([t, t.head(1).with_columns(pl.col("name").str.to_uppercase())])
    with pytest.raises(DataError, match=r"accelerator table: duplicate name"):
        catalog._resolve("accelerator", dup, t["name"][0])
    assert catalog._resolve("accelerator", t, t["name"][0])["name"] == t["name"][0]


def test_mi355x_fp64_sourced_and_tf32_not_supported_as_data():
    """MI355X had no FP64 or TF32 peak and notebook 01's chart dropped both bars silently: FP64
    is AMD's published 78.6 TFLOPS, TF32 is 'not supported' (CDNA 4 has no TF32 GEMM: AMD's
    CDNA data-type table), recorded as data, and so on MI350X."""
    m = il.catalog.accelerator("MI355X")
    assert m.peak("fp64") == pytest.approx(78.6e12)
    for name in ("MI355X", "MI350X"):
        a = il.catalog.accelerator(name)
        assert a.peak_status("tf32") == "not supported" and "tf32" in a.unsupported_precisions
        with pytest.raises(ValidationError, match=rf"{name} does not support tf32"):
            a.peak("tf32")
    # MI350X's FP64 is DERIVED from MI355X's AMD figure (same CDNA 4 die) by the clock ratio
    assert il.catalog.accelerator("MI350X").peak_status("fp64") == "sourced"
    assert il.catalog.accelerator("MI300X").peak_status("tf32") == "sourced"
    with pytest.raises(UnknownNameError, match="tf32"):
        m.peak_status("tf33")


def test_every_peak_gap_says_whether_the_part_lacks_the_format():
    """Every empty peak of data/accelerators.csv is either 'not supported' (the row lists it in
    unsupported_precisions and its note says so) or 'no sourced figure'; the parts without FP8
    or FP4 instructions are the ones the catalog marks so."""
    t = il.catalog.peak_table()
    assert t.height == len(il.catalog.accelerator_names()) * len(il.catalog.PEAK_PRECISIONS)
    assert set(t["status"]) <= set(il.catalog.PEAK_STATUSES)
    assert (t["peak_tflops"].is_null() == (t["status"] != "sourced")).all()
    for name in il.catalog.accelerator_names():
        a = il.catalog.accelerator(name)
        if a.unsupported_precisions:
            assert "not supported (unsupported_precisions" in a.note or "not supported: AMD" in a.note \
                or "supported (unsupported_precisions)" in a.note, name
    ns = t.filter(pl.col("status") == "not supported")
    by = {p: set(ns.filter(pl.col("precision") == p)["accelerator"]) for p in ("fp8", "fp4", "tf32")}
    assert by["fp8"] == {"A100-SXM-80GB"}
    assert by["fp4"] == {"A100-SXM-80GB", "H100-SXM", "H100-96GB-500W", "H800-SXM", "H200-SXM", "MI300X", "MI325X"}
    assert by["tf32"] == {"MI350X", "MI355X"}
    unknown_ = t.filter(pl.col("status") == "no sourced figure").select("accelerator", "precision").rows()
    # fp32 is AMD's FP32 matrix peak and NVIDIA's CUDA-core FP32 peak; the gaps left are the parts
    # with no published figure (H800, the announced MI450X)
    assert set(unknown_) == {("H800-SXM", "fp64"), ("H800-SXM", "fp32"),
                             ("MI450X", "fp64"), ("MI450X", "tf32"), ("MI450X", "fp32")}


def test_unsupported_precisions_is_checked_as_data():
    row = {"name": "X", "unsupported_precisions": "fp4;tf16"}
    with pytest.raises(DataError, match=r"row 'X', column unsupported_precisions: 'tf16'.*allowed: fp64"):
        catalog._unsupported_precisions(row, {})
    with pytest.raises(DataError, match="fp4 is in unsupported_precisions and has a fp4_tflops figure"):
        catalog._unsupported_precisions({"name": "X", "unsupported_precisions": "fp4"}, {"fp4": 1.0})
    assert catalog._unsupported_precisions({"name": "X", "unsupported_precisions": None}, {}) == ()


def test_the_peak_chart_orders_every_peak_precision_as_the_catalog_does():
    # the chart's order is a copy kept so that charts import nothing of the catalog: fp32 was added
    # to the catalog's peak columns (AMD's FP32 matrix peak)
    from infra_lab.charts.hardware import PEAK_ORDER

    assert PEAK_ORDER == list(il.catalog.PEAK_PRECISIONS)


# FLOP per clock of one SM / CU at FP32 without a tensor format (NVIDIA: FP32 lanes x 2 per FMA, from
# NVIDIA's architecture whitepapers: 64 lanes per SM on A100, 128 on Hopper and Blackwell) and of
# one CDNA CU's matrix cores (CDNA 3 FP32 matrix 256, CDNA 4 FP64 matrix 128: AMD's product-page
# peaks over CU x clock). The cross-check of the fp32/fp64 figures filled in data/accelerators.csv.
_FP32_FLOP_PER_SM_CLK = {"A100-SXM-80GB": 128, "H100-SXM": 256, "H200-SXM": 256, "B200": 256, "GB200": 256}


@pytest.mark.parametrize("name", sorted(_FP32_FLOP_PER_SM_CLK))
def test_nvidia_fp32_peak_is_sms_times_lanes_times_boost_clock(name):
    """NVIDIA's FP32 (CUDA-core) peak in data/accelerators.csv is the row's own SM count x FP32
    FLOP per SM per clock x its boost clock, to the figure's rounding (0.1 TFLOPS)."""
    a = catalog.accelerator(name)
    clock_MHz = catalog.accelerators().filter(pl.col("name") == name)["boost_clock_MHz"][0]
    derived = a.compute_units * _FP32_FLOP_PER_SM_CLK[name] * clock_MHz * 1e6
    assert a.peak("fp32") == pytest.approx(derived, abs=0.06e12), (name, derived / 1e12)
    assert a.peak("fp32") < a.peak("tf32")       # the tensor-core format stays the faster one


def test_filled_fp32_fp64_peaks_cross_check_against_their_siblings():
    """The fp32/fp64 figures without a clock of their own in the row check against a sibling row:
    the 96 GB H100 takes H100-SXM's FP32 at its clock ratio (as its other peaks); HGX B300 lists
    the same 600 TFLOPS FP32 per 8 GPUs as HGX B200, and 75 TFLOPS on 160 SMs implies a clock
    below B200's boost; MI325X is MI300X's CDNA 3 die at the same clock (304 CU x 256 FP32 matrix
    FLOP/clk x 2,100 MHz); MI350X's FP64 scales from MI355X's as its FP32 does (the clock ratio
    2.2 / 2.4 GHz), and 256 CU x 128 FP64 FLOP/clk at the clock its FP32 implies."""
    acc = catalog.accelerator
    h, v = acc("H100-SXM"), acc("H100-96GB-500W")
    assert v.peak("fp32") / h.peak("fp32") == pytest.approx(v.peak("bf16") / h.peak("bf16"), abs=2e-3)
    b200, b300 = acc("B200"), acc("B300")
    assert b300.peak("fp32") == b200.peak("fp32")
    implied_MHz = b300.peak("fp32") / (b300.compute_units * 256) / 1e6
    assert 1500 < implied_MHz < catalog.accelerators().filter(pl.col("name") == "B200")["boost_clock_MHz"][0]
    m300, m325 = acc("MI300X"), acc("MI325X")
    clk = catalog.accelerators().filter(pl.col("name") == "MI325X")["boost_clock_MHz"][0] * 1e6
    assert m325.peak("fp32") == pytest.approx(m325.compute_units * 256 * clk, abs=0.06e12)
    assert m325.peak("fp32") == m300.peak("fp32")
    m350, m355 = acc("MI350X"), acc("MI355X")
    assert m350.peak("fp64") / m355.peak("fp64") == pytest.approx(m350.peak("fp32") / m355.peak("fp32"), abs=1e-3)
    clk350 = m350.peak("fp32") / (m350.compute_units * 256)
    assert m350.peak("fp64") == pytest.approx(m350.compute_units * 128 * clk350, abs=0.06e12)


def test_blackwell_fp64_is_nvidias_revised_figure():
    """NVIDIA revised its Blackwell FP64 peaks: the GB200 NVL72 table now lists FP64 / FP64
    Tensor Core 2,880 TFLOPS per 72 GPUs (was 45 per GPU at launch) and the HGX table 296 TFLOPS
    per 8 HGX B200 GPUs (was 40 per GPU); each row's note says the figure was revised and what
    it was. The power-limited B200 variant follows B200 (its derate test covers every column)."""
    gb200, b200 = catalog.accelerator("GB200"), catalog.accelerator("B200")
    assert gb200.peak("fp64") * 72 == pytest.approx(2880e12)
    assert b200.peak("fp64") * 8 == pytest.approx(296e12)
    assert "REVISED" in gb200.note and "gave 45 TFLOPS FP64 per GPU" in gb200.note
    assert "REVISED" in b200.note and "gave 40 TFLOPS FP64 per HGX B200 GPU" in b200.note
    assert catalog.accelerator("B200-750W").peak("fp64") < b200.peak("fp64")


def test_blackwell_ultra_fp32_fp64_agree_with_every_nvidia_figure():
    """B300 and GB300's FP32/FP64 against NVIDIA's three tables: the Blackwell Ultra datasheet's
    per-GPU figures (HGX B300 FP32 75, FP64 1.2; GB300 FP32 80, FP64 1.3), printed to two
    significant figures and cut (its HGX B300 TF32 reads 2.2 PFLOPS for 18 PFLOPS / 8 = 2.25),
    and the platform totals, printed to one significant figure (HGX B300: FP32 600, FP64 10
    TFLOPS per 8 GPUs; GB300 NVL72: FP32 6 PFLOPS, FP64 100 TFLOPS per 72). FP64 and FP32 run at
    the same SM clock, so GB300's FP64 scales from B300's as its FP32 does."""
    import math

    b300, gb300 = catalog.accelerator("B300"), catalog.accelerator("GB300")

    def cut2(x):          # the datasheet's two significant figures, cut
        e = math.floor(math.log10(x)) - 1
        return math.floor(round(x / 10**e, 9)) * 10**e

    for a, fp32, fp64 in ((b300, 75, 1.2), (gb300, 80, 1.3)):
        assert cut2(a.peak("fp32") / 1e12) == pytest.approx(fp32)
        assert cut2(a.peak("fp64") / 1e12) == pytest.approx(fp64)
    for a, n, fp32, fp64 in ((b300, 8, 600e12, 10e12), (gb300, 72, 6e15, 100e12)):
        assert float(f"{n * a.peak('fp32'):.1g}") == fp32 and float(f"{n * a.peak('fp64'):.1g}") == fp64
    assert b300.peak("fp64") * 8 == pytest.approx(10e12)       # the HGX table's figure, exactly
    assert gb300.peak("fp64") / b300.peak("fp64") == pytest.approx(gb300.peak("fp32") / b300.peak("fp32"), rel=1e-3)
    assert b300.compute_units == gb300.compute_units


def test_every_filled_peak_names_its_source_and_cross_check():
    """Each row with an fp32 figure says in its note where it comes from and how it was checked,
    and every accelerator row keeps a web source."""
    t = catalog.accelerators()
    assert t["source_url"].str.contains("https://").all()
    for r in t.filter(pl.col("fp32_tflops").is_not_null()).iter_rows(named=True):
        assert "fp32" in r["note"] and ("Cross-check" in r["note"] or "DERIVED" in r["note"]), r["name"]
    for name in ("H800-SXM", "MI450X"):        # the gaps left open say why
        assert "left empty" in catalog.accelerator(name).note, name


@pytest.mark.parametrize(("kind", "typed", "canonical"), [
    ("accelerator", "h100", "H100-SXM"), ("accelerator", "B200 SXM", "B200"),
    ("accelerator", " AMD Instinct MI300X ", "MI300X"), ("nic", "cx7", "ConnectX-7-NDR"),
    ("nic", "CX8", "ConnectX-8"),
])
def test_a_declared_alias_is_accepted_in_any_letter_case(kind, typed, canonical):
    """The decision: a catalog name or a declared alias (the `aliases` column), in any letter
    case and with outer blanks, is accepted; every other spelling is only suggested."""
    assert getattr(catalog, kind)(typed).name == canonical


@pytest.mark.parametrize(("kind", "typed", "first"), [
    ("accelerator", "mi300", "MI300X"),            # no alias: MI300 also names the MI300A APU
    ("accelerator", "H100 SXM", "H100-SXM"),       # punctuation differs: suggested, not accepted
    ("accelerator", "NVIDIA H100 SXM", "H100-SXM"),
    ("accelerator", "H200 141GB", "H200-SXM"),     # the alias 'H200-141GB' with a blank
    ("accelerator", "mi355", "MI355X"),
    ("nic", "CX7-400", "ConnectX-7-NDR"),          # before: 'Vulcano-800', 'Pollara-400'
    ("nic", "ConnectX7", "ConnectX-7-NDR"),        # before: 'ConnectX-8' first
    ("nic", "cx-7", "ConnectX-7-NDR"),
])
def test_a_near_spelling_is_refused_with_the_intended_name_first(kind, typed, first):
    with pytest.raises(UnknownNameError) as e:
        getattr(catalog, kind)(typed)
    assert f"Did you mean '{first}'" in str(e.value), str(e.value)


def test_a_hardware_table_suggests_through_the_aliases_too():
    d = il.load_scenario("zaya1-ibm-mi300x").to_dict()
    d["hardware"]["nic"] = "CX7-400"
    with pytest.raises(UnknownNameError, match=r"'CX7-400' in hardware\.nic\. Did you mean 'ConnectX-7-NDR'"):
        il.Scenario.from_dict(d)


def test_published_claim_and_is_source_take_a_wrong_type_without_crashing():
    """catalog.published_claim(None) failed with polars' TypeError and a list with a ComputeError;
    catalog.is_source(None) with AttributeError ('NoneType' ... 'strip'). An unknown-name error
    with the valid claims, and False (not a source)."""
    for bad in (None, [1, 2], 3):
        with pytest.raises(UnknownNameError, match=r"unknown published claim .* Valid: amd-zaya1-cluster-maf"):
            catalog.published_claim(bad)
    assert catalog.published_claim("amd-zaya1-cluster-maf") > 0
    assert not any(catalog.is_source(v) for v in (None, 3, float("nan"), ["https://x"]))
