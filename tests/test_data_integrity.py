"""Every CSV under data/ keeps the house rule the loaders rely on: where a file has a
``source_url`` column every row names a web source (or, for the project's own measurements,
``repo:data/<file>``: the committed raw output), and where it has a ``unit`` column every
row states its unit. (Each loader's own malformed-row refusals are tested beside it, e.g.
tests/test_catalog.py; this guards the files no single loader reads in full.)"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from infra_lab import catalog

DATA = Path(__file__).resolve().parent.parent / "data"
CSVS = sorted(DATA.rglob("*.csv"))


def test_the_data_folder_has_csvs():
    assert len(CSVS) > 40


@pytest.mark.parametrize("path", CSVS, ids=lambda p: str(p.relative_to(DATA)))
def test_every_row_has_a_source_url_and_a_unit_where_the_schema_has_them(path):
    df = pl.read_csv(path, infer_schema_length=0)
    for col in ("source_url", "unit"):
        if col not in df.columns:
            continue
        vals = df[col].fill_null("").str.strip_chars()
        empty = [i + 1 for i, v in enumerate(vals) if not v]
        assert not empty, f"{path.name}: rows {empty[:10]} have an empty {col}"
        if col == "source_url":
            # a web address, or repo:data/<file> naming the committed raw output of a measurement
            # the project made itself (catalog.is_source)
            bad = [i + 1 for i, v in enumerate(vals) if not any(catalog.is_source(u) for u in v.split(";"))]
            assert not bad, f"{path.name}: rows {bad[:10]} have a source_url with no web address or data file"


_RELAYED = ("press figure", "per trade press", "reported by press", "press says", "analyst estimate",
            "asp estimate", "vendor claim")
"""Words in a row's note or description that mark a figure others relayed (press, analysts, a
vendor's claim as the press reports it): such a row's basis is not "measured"."""


@pytest.mark.parametrize("path", CSVS, ids=lambda p: str(p.relative_to(DATA)))
def test_a_relayed_figure_is_not_labelled_measured(path):
    """data/reliability/parameters.csv's zaya1_tokens_alt (12 T, 'Press figure') and the
    analysts' MI300X/MI355X prices in data/economics/parameters.csv were labelled measured."""
    df = pl.read_csv(path, infer_schema_length=0)
    text = [c for c in ("note", "description") if c in df.columns]
    if "basis" not in df.columns or not text:
        return
    bad = []
    for r in df.filter(pl.col("basis") == "measured").iter_rows(named=True):
        words = " ".join((r[c] or "") for c in text).lower()
        hit = [w for w in _RELAYED if w in words]
        if hit and "own figure" not in words:   # "Zyphra's own figure; press says 12 T" is the source's own
            bad.append(f"{r[df.columns[0]]}: {hit}")
    assert not bad, f"{path.name}: basis 'measured' on relayed figures (use 'reported'): {bad}"


def test_a_repo_source_must_name_a_file_of_the_data_folder():
    assert catalog.is_source("https://arxiv.org/abs/2407.21783")
    assert catalog.is_source("repo:data/measurements/device/h200_2026-12-04_kernels_run1.json")
    assert not catalog.is_source("repo:data/measurements/device/no_such_run.json")
    assert not catalog.is_source("repo:tools/device/measure_kernels.py")     # outside data/
    assert not catalog.is_source("arxiv.org/abs/2407.21783")


# --------------------------------------------------------------------------------------
# Tables without a source_url column, and numbers typed into the compute code
# --------------------------------------------------------------------------------------
# the one data table whose schema has no source_url column: a verbatim third-party dataset whose
# per-record source column is named by data/SOURCES.md
SOURCE_COLUMN_EXCEPTIONS = {"epoch_hardware_prices.csv": "Price source"}


def test_every_csv_has_a_source_column():
    """A table without a source_url column escapes the per-row check above: only the documented
    verbatim copy of Epoch's dataset may, and every one of its records that carries a price
    names its source there (one record of the copy is a bare model name with no price)."""
    sources_md = (DATA / "SOURCES.md").read_text(encoding="utf-8")
    for path in CSVS:
        rel = str(path.relative_to(DATA))
        cols = pl.read_csv(path, n_rows=0).columns
        if "source_url" in cols:
            continue
        assert rel in SOURCE_COLUMN_EXCEPTIONS, f"{rel}: no source_url column"
        col = SOURCE_COLUMN_EXCEPTIONS[rel]
        assert col in cols and f"`{col}`" in sources_md, (rel, col)
        df = pl.read_csv(path, infer_schema_length=0)
        price_cols = [c for c in df.columns if c.startswith("Price") and c not in (col, "Price date")]
        priced = df.filter(pl.any_horizontal(pl.col(price_cols).is_not_null()))
        bad = priced.filter(pl.col(col).fill_null("").str.strip_chars() == "")
        assert bad.height == 0, f"{rel}: {bad.height} priced record(s) without a {col}"


def test_every_csv_without_a_unit_column_names_units_in_its_columns():
    """Where a table has no unit column, a numeric column carries its unit in its name (``_GB``,
    ``_usd``, ``_s``, ``_W`` ...) or is a count or dimensionless (listed by name below), or is a
    ``value`` beside a ``metric`` that names it (``tokens_per_s_per_gpu``); a new numeric column
    with none of these fails here."""
    unit_tokens = ("GB", "GiB", "MiB", "TBps", "GBps", "Gbps", "Tbps", "tflops", "MHz", "W", "usd", "USD",
                   "kWh", "years", "year", "bytes", "us", "ns", "s", "h", "hz", "pct", "rps", "px",
                   "Price", "tokens")
    dimensionless = {
        # counts of things [-]
        "gpus", "gpus_per_node", "gpus_per_link", "gpus_per_instance", "gpus_per_server", "nodes",
        "nics_per_node", "node_gpus", "scaleup_domain", "scaleup_links", "compute_units", "vcpus",
        "cpu_cores", "arm_cores", "ports_400G", "ports_800G", "hbm_stacks",
        "generation", "ring_channels", "rccl_tuning_model", "count", "interruptions",
        "interruptions_low", "interruptions_high", "num_prompts", "concurrency", "engine_max_batch",
        "Number of GPUs",
        # parallelism and batch shape [-]
        "tp", "pp", "vp", "cp", "ep", "etp", "dp", "zero", "moe_tp", "micro_batch", "global_batch",
        # model shape [elements, layers, heads]
        "layers", "hidden", "heads", "kv_heads", "head_dim", "ffn_hidden", "vocab", "experts", "top_k",
        "expert_ffn_hidden", "shared_experts", "shared_expert_ffn_hidden", "dense_layers", "moe_every",
        "q_lora_rank", "kv_lora_rank", "qk_nope_head_dim", "qk_rope_head_dim", "v_head_dim", "ssm_layers",
        "ssm_state", "ssm_head_dim", "ssm_expand", "ssm_conv", "shared_attn_blocks", "lora_rank",
        "cca_time0", "cca_time1", "ssm_groups", "router_hidden", "sliding_window", "full_attention_every",
        "mtp_layers", "router_groups", "router_group_topk", "patch_size", "temporal_patch", "in_channels",
        "spatial_merge", "image_size", "min_pixels", "max_pixels", "max_tiles", "pos_rows",
        "tile_embedding_rows", "extra_norms", "global_layers", "intermediate_outputs", "window_patches",
        "mel_bins", "conv_kernel", "conv_stride", "pool_stride", "codebooks", "lm_tokens_per_frame",
        "vision_projector_hidden", "cross_layers", "cross_gates", "cross_norms", "extra_vocab",
        "published_params", "published_params_total", "published_params_active",
        # number formats [bits, elements]
        "element_bits", "block_size", "scale_bits",
        # sequence lengths [tokens]
        "seq_len", "max_seq_len", "isl_nominal", "osl_nominal",
        # ratios and fractions [-]
        "spec_acceptance", "goodput_low", "goodput_high",
    }
    bad = []
    for path in CSVS:
        df = pl.read_csv(path, infer_schema_length=None)
        if "unit" in df.columns:
            continue
        for c, t in df.schema.items():
            if not t.is_numeric() or c in dimensionless:
                continue
            if c == "value" and "metric" in df.columns:     # the metric's name carries the unit
                continue
            if not any(tok in c.replace(" ", "_").split("_") or c.endswith(tok) for tok in unit_tokens):
                bad.append(f"{path.relative_to(DATA)}:{c}")
    assert not bad, f"numeric columns with no unit in their name and no unit column: {bad}"


PACKAGE = DATA.parent / "infra_lab"
# the compute model's code: every physical quantity it uses is a row of data/ (compute_params.csv,
# accelerators.csv, the number-format table), never a literal
COMPUTE_CODE = sorted((PACKAGE / "compute").glob("*.py")) + [PACKAGE / "_kernels" / "gemm.py"]
# literals reviewed as not quantities: (file, value) -> why
REVIEWED_LITERALS = {
    ("attention.py", 2.5): "backward FLOP factor: 5 GEMM-like products against the forward's 2",
    ("gemm.py", 64): "number of points of the roofline chart's default intensity grid",
    ("gemm.py", 11): "index into the kernel argument tuple", ("gemm.py", 12): "index",
    ("gemm.py", 13): "index", ("gemm.py", 14): "index", ("gemm.py", 15): "index",
    ("moe.py", 12.0): "integration range of the expected maximum of normals [standard deviations]",
    ("moe.py", 24001): "integration grid points", ("moe.py", 0.5): "the normal density's -x^2/2",
    ("moe.py", 200): "method switch: Monte Carlo below 200 rows per rank (accuracy of the closed form)",
    ("moe.py", 400): "Monte Carlo trials, at most", ("moe.py", 16): "Monte Carlo trials, at least",
    ("moe.py", 20000000.0): "Monte Carlo routed rows in all", ("moe.py", 5000000000.0): "Monte Carlo size cap",
    ("moe.py", 4096): "busiest-rank experts: Monte Carlo trials (BUSIEST_TRIALS)",
    ("moe.py", 64): "busiest-rank experts: Monte Carlo trials, at least",
    ("moe.py", 300000000.0): "busiest-rank experts: the exact sum's work cap (EXACT_WORK) [array updates]",
    ("ops.py", 0.5): "causal mask: half of s x s", ("ops.py", 0.25):
        "roofline chart only: the nominal intensity where ops with no counted FLOPs are drawn",
    ("validation.py", 200): "golden-section iterations", ("validation.py", 6e-05): "search bracket [s]",
    ("validation.py", 0.0002): "search bracket [s]", ("validation.py", 0.05): "search bracket [-]",
    ("validation.py", 0.2): "search bracket [-]", ("validation.py", 40.0): "search bracket [blocks]",
    ("validation.py", 2e-05): "search bracket [s] (aiter's 4-bit fixed cost)",
    ("validation.py", 11): "index into the kernel argument tuple, from its end",
    ("validation.py", 1024): "unit: a source's '2k' sequence length is 2 x 1024 tokens",
    ("validation.py", 80): "text truncation [characters]", ("validation.py", 77): "text truncation",
    ("validation.py", 32): "four_bit_gemm_summary's row bands (M_BAND_EDGES): a display grouping",
    ("validation.py", 256): "four_bit_gemm_summary's row bands (M_BAND_EDGES): a display grouping",
}


def _numeric_literals(path: Path, vector_layout: bool = False) -> list[tuple[int, float]]:
    """Numeric literals of ``path`` that may be quantities: (line, value). ``vector_layout``
    also passes over what only a kernel with a float parameter vector types: the offsets of its
    entries (module-level ``P_* = ...``) and the 0.5 that tests a 0/1 flag held as a float."""
    import ast
    import math

    tree = ast.parse(path.read_text(encoding="utf-8"))
    parent = {id(c): n for n in ast.walk(tree) for c in ast.iter_child_nodes(n)}
    out = []
    for n in ast.walk(tree):
        if not (isinstance(n, ast.Constant) and type(n.value) in (int, float)):
            continue
        v, p = abs(n.value), parent.get(id(n))
        if isinstance(p, ast.BinOp) and isinstance(p.op, ast.Pow):
            continue                                   # 2**31, 2**40: bounds of argument checks
        if vector_layout and v == 0.5 and isinstance(p, ast.Compare):
            continue                                   # P[P_LIB] > 0.5: a flag stored as 0.0 / 1.0
        q = p
        while q is not None and not isinstance(q, (ast.keyword, ast.stmt)):
            q = parent.get(id(q))
        if vector_layout and isinstance(q, ast.Assign) and parent.get(id(q)) is tree \
                and all(isinstance(t, ast.Name) and t.id.startswith("P_") for t in q.targets):
            continue                                   # P_X = _S + 12: an entry's offset in the vector
        if isinstance(q, ast.keyword) and q.arg in ("lo", "hi", "maxsize", "tol", "it"):
            continue                                   # argument ranges, cache sizes, tolerances
        if float(v).is_integer() and v <= 8:
            continue                                   # formula structure: 2·M·N·K, 3 gated matrices, 6·N·D
        if v > 0 and (math.log10(v).is_integer() or v < 1e-6):
            continue                                   # unit conversions (1e12, 1e6) and tolerances
        out.append((n.lineno, n.value))
    return out


def _typed_quantities(paths, reviewed, *, by_path: bool = False, vector_layout: bool = False) -> list[str]:
    """``file:line: value`` of each numeric literal of ``paths`` that is not in ``reviewed``
    (keyed by (file name, value), or by (path from the repository root, value) with
    ``by_path``): the numbers typed into code that the scans below refuse."""
    bad = []
    for path in paths:
        rel = path.relative_to(PACKAGE.parent).as_posix()
        for line, v in _numeric_literals(path, vector_layout=vector_layout):
            if ((rel if by_path else path.name), v) not in reviewed:
                bad.append(f"{rel}:{line}: {v!r}")
    return bad


def test_compute_code_types_no_quantity_that_belongs_in_data():
    """The compute model reads its quantities (bandwidths, byte sizes of formats, benchmark shapes,
    library dispatch bounds) from data/ with a source URL. A numeric literal in its code is a small
    integer of a formula's structure, a unit conversion, a tolerance, an argument bound, or one of
    REVIEWED_LITERALS; anything else (a 16384-token benchmark shape, a 2048-element dispatch bound
    typed in again) fails here with its file and line."""
    bad = _typed_quantities(COMPUTE_CODE, REVIEWED_LITERALS)
    assert not bad, f"numbers typed into the compute code (move them to data/ or review them): {bad}"


# the collective model's code: the libraries' constants (latency tables, tuner factors and
# thresholds, chunking, protocol formats) are rows of data/network_*.csv, never literals
COLLECTIVE_CODE = [PACKAGE / "collectives.py", PACKAGE / "_kernels" / "collectives.py",
                   PACKAGE / "_kernels" / "collectives_reference.py"]
REVIEWED_COLLECTIVE_LITERALS = {
    ("infra_lab/_kernels/collectives.py", 27):
        "layout: width of the correction-table entries of the parameter vector (27 size buckets, "
        "RCCL's tables; data/network_tuner_corrections.csv rows are padded to it)",
}


def test_collective_code_types_no_library_constant():
    """The collective kernel, its reference and the module that fills the kernel's parameter
    vector read every library constant from data/ (one owner per number, a source URL per row);
    what the scan finds beyond formula structure, unit conversions, the vector's offsets and flag
    tests fails here with its file and line."""
    bad = _typed_quantities(COLLECTIVE_CODE, REVIEWED_COLLECTIVE_LITERALS, by_path=True, vector_layout=True)
    assert not bad, f"numbers typed into the collective code (move them to data/ or review them): {bad}"


# the economics code: prices, lives, rates, cluster sizes are rows of data/economics/ or the
# shipped scenario, never a literal (n_gpus = 1024, 0.14 OOM/yr and a 64-port radix were typed
# again in defaults)
ECONOMICS_CODE = sorted((PACKAGE / "economics").glob("*.py"))
_BOUND = "argument bound of the BOUNDS table (the range an input is checked against)"
_MONTHS = "months per year (unit conversion)"
_DAYS = "days per Julian year (unit conversion, as units.YEAR)"
# literals reviewed as not quantities: (file, value) -> why
ECONOMICS_REVIEWED_LITERALS = {
    ("_validate.py", 5e6): _BOUND, ("_validate.py", 16.0): _BOUND, ("_validate.py", 64.0): _BOUND,
    ("_validate.py", 50.0): _BOUND, ("_validate.py", 1.5): _BOUND, ("_validate.py", 520.0): _BOUND,
    ("_validate.py", 600.0): _BOUND, ("_validate.py", 20.0): _BOUND, ("_validate.py", 4096.0): _BOUND,
    ("_validate.py", 0.99): _BOUND, ("_validate.py", 365.25): _DAYS,
    ("_validate.py", 50_000_000): "MAX_DRAWS: array-size guard of one Monte Carlo call [draws]",
    ("_validate.py", 12_000_000): "MAX_DRAW_MONTHS: array-size guard of deal_pnl's monthly model [draws x months]",
    ("compare.py", 20000): "Monte Carlo draws (LIKE_FOR_LIKE_DRAWS)",
    ("compare.py", 20250930): "random seed (LIKE_FOR_LIKE_SEED)",
    ("compare.py", 512): "DRAWS_CACHE_BYTES: memory guard of the cached like-for-like draws [MiB]",
    ("figures.py", 1_000_000): "Monte Carlo draws (OWNED_COST_DRAWS)",
    ("data.py", 12.0): _MONTHS, ("data.py", 365.25): _DAYS,
    ("data.py", 2020): "origin of the rental-trend fit's time axis (years since 2020-01-01; the slope does not depend on it)",
    ("deal.py", 12): _MONTHS, ("deal.py", 4000): "Monte Carlo draws (argument default)",
    ("finance.py", 365.25): _DAYS, ("finance.py", 12): _MONTHS,
    ("finance.py", 30.0): "argument bound: a horizon of at most 30 years",
    ("finance.py", 0.99): "IRR search grid [1/year] (its -0.99)",
    ("finance.py", 120): "IRR search grid points", ("finance.py", 240): "IRR search grid points",
    ("finance.py", 80): "bisection iterations", ("finance.py", 0.5): "midpoint (bisection; mid-month)",
    ("montecarlo.py", 2000): "Monte Carlo draws (argument default)",
    ("owned.py", 365.25): _DAYS, ("owned.py", 12.0): _MONTHS,
    ("owned.py", 20): "default utilization grid of the rent-vs-own curve [%]",
    ("owned.py", 101): "default utilization grid of the rent-vs-own curve [%]",
    ("uncertainty.py", 2000): "Monte Carlo draws (argument default)",
    ("uncertainty.py", 50): "percentile", ("uncertainty.py", 95): "percentile",
    ("uncertainty.py", 1.6448536269514722): "standard-normal quantile at 0.95",
    ("uncertainty.py", 0x9E3779B97F4A7C15): "splitmix64 constant", ("uncertainty.py", 0xBF58476D1CE4E5B9): "splitmix64 constant",
    ("uncertainty.py", 0x94D049BB133111EB): "splitmix64 constant", ("uncertainty.py", 30): "splitmix64 shift",
    ("uncertainty.py", 27): "splitmix64 shift", ("uncertainty.py", 31): "splitmix64 shift",
    ("uncertainty.py", 0xCBF29CE484222325): "FNV-1a offset basis", ("uncertainty.py", 0x100000001B3): "FNV-1a prime",
    ("uncertainty.py", 0xFFFFFFFFFFFFFFFF): "64-bit mask", ("uncertainty.py", 11): "bits dropped for a 53-bit mantissa",
    ("uncertainty.py", 2.0 ** 53): "2^53: 53-bit mantissa to [0, 1)", ("uncertainty.py", 0.5): "half-step offset; the normal's 1/2",
}


def test_economics_code_types_no_quantity_that_belongs_in_data():
    """The economics models read every price, life, rate and cluster size from data/economics/
    (parameters.csv and the other tables, each row with a source URL) or from the shipped
    scenario; a number typed into their code (a default of 1024 GPUs, 0.14 OOM/yr) fails here
    with its file and line unless it is a formula's small integer, a unit conversion, a
    tolerance, an argument bound, or one of ECONOMICS_REVIEWED_LITERALS."""
    assert ECONOMICS_CODE
    bad = _typed_quantities(ECONOMICS_CODE, ECONOMICS_REVIEWED_LITERALS)
    assert not bad, f"numbers typed into the economics code (move them to data/ or review them): {bad}"


# the serving model's code: engine defaults and caps, byte widths of formats, memory fractions
# are rows of data/stacks.csv or data/serving/ (a KV byte width, trtllm-bench's 0.95 KV fraction
# and its 4096 / 32768 caps were typed); the kernel receives them through its parameter vectors
SERVING_CODE = sorted((PACKAGE / "serving").glob("*.py")) + [PACKAGE / "_kernels" / "serving.py"]
_FLAG = "threshold of a 0/1 flag carried as a float (> 0.5 is true)"
_HALF = "one half: a midpoint (bisection, mean wait of half a cycle / half a burst) or rounding to nearest"
_LAYOUT = "size of a kernel array layout (the count of its named K_/M_/H_/O_/B_ slots)"
_MEMO = "memo-key packing (CACHE_BITS layout: field widths and shifts)"
_HASH = "memo hash mixing constant / shift (_memo_slot)"
_FIT = "calibration search range or start of the fitted stack factors (fitted on train rows only)"
_GRID = "default concurrency grid of serve_search [requests] (an argument default the caller overrides)"
# literals reviewed as not quantities: (file, value) -> why
SERVING_REVIEWED_LITERALS = {
    ("agent.py", 30.0): "argument default: the reader's interactivity target of class_comparison [tokens/s per user]",
    ("costs.py", 3600.0): "seconds per hour (unit conversion of a $/GPU-hour price)",
    ("core.py", 0.5): _HALF + "; " + _FLAG,
    ("reference.py", 0.5): _HALF + "; " + _FLAG,
    ("search.py", 0.5): _FLAG,
    ("search.py", 2000000): "MAX_SEARCH_CONFIGURATIONS: array-size guard of one serve_search call",
    ("search.py", 16): _GRID, ("search.py", 32): _GRID, ("search.py", 64): _GRID,
    ("search.py", 128): _GRID, ("search.py", 256): _GRID, ("search.py", 512): _GRID, ("search.py", 1024): _GRID,
    ("published.py", 0.5): _FLAG + "; the calibration loss weight of TTFT and e2e (half that of throughput/TPOT)",
    ("published.py", 15.0): "VALIDATION_BOUNDS: acceptance bound of the test split [% error]",
    ("published.py", 40.0): "VALIDATION_BOUNDS: acceptance bound of the test split [% error]",
    ("published.py", 30.0): "VALIDATION_BOUNDS: acceptance bound of the test split [% error]",
    ("published.py", 0.3): _FIT, ("published.py", 0.2): _FIT, ("published.py", 0.0005): _FIT,
    ("published.py", 0.002): _FIT, ("published.py", 0.7): "pattern-search first step [log units]",
    ("published.py", 0.02): "pattern-search smallest step [log units]",
    ("serving.py", 0.5): _HALF + "; " + _FLAG,
    ("serving.py", 9): _LAYOUT, ("serving.py", 19): _LAYOUT, ("serving.py", 20): _LAYOUT,
    ("serving.py", 27): _LAYOUT, ("serving.py", 13): _LAYOUT, ("serving.py", 16): _LAYOUT,
    ("serving.py", 17): _LAYOUT,
    ("search.py", 9): "TIE_DIGITS: significant digits to which serve_search takes two rows' objective values as "
                      "equal and orders them by TTFT (a tolerance)",
    ("serving.py", 14): "CACHE_BITS: memo slots per thread (2**14)",
    ("serving.py", 29): _HASH, ("serving.py", 32): _HASH, ("serving.py", 1000003): _HASH,
    ("serving.py", 30): _MEMO, ("serving.py", 1024): _MEMO, ("serving.py", 8192): _MEMO, ("serving.py", 65536): _MEMO,
}


def test_serving_code_types_no_quantity_that_belongs_in_data():
    """The serving model reads engine defaults and caps (stacks.csv), trtllm-bench's sizing
    constants and other serving defaults (data/serving/parameters.csv) and the bytes of number
    formats (data/serving/number_formats.csv) from data/ with a source URL; a number typed into
    serving/*.py or _kernels/serving.py fails here with its file and line unless it is a formula's
    small integer, a unit conversion, a tolerance, an argument bound, or one of
    SERVING_REVIEWED_LITERALS."""
    assert len(SERVING_CODE) > 3
    bad = _typed_quantities(SERVING_CODE, SERVING_REVIEWED_LITERALS)
    assert not bad, f"numbers typed into the serving code (move them to data/ or review them): {bad}"


# the memory code: byte widths are rows of the number-format table (catalog.format_bytes), the
# Korthikanti et al. figures and run configurations rows of data/measurements/, default clusters
# the shipped scenario's, never a literal (12/8 B/param, 45.56 GiB, seq_len 2048 and a 128 x 8
# cluster were typed before)
MEMORY_CODE = sorted((PACKAGE / "memory").glob("*.py"))
_BYTE_BOUND = "argument bound: at most 16 bytes per element or parameter (fp64 + its Adam moments are 8 each)"
# literals reviewed: (file, value) -> why
MEMORY_REVIEWED_LITERALS = {
    ("activations.py", 34.0): "coefficient of Korthikanti et al. 2022's activations per layer, sbh(34 + 5as/h)/t "
                              "with TP + SP [bytes per s·b·h element]: formula structure (https://arxiv.org/abs/2205.05198)",
    ("activations.py", 24.0): "coefficient of Korthikanti et al. 2022's sbh(10 + 24/t + 5as/(ht)), TP without SP",
    ("activations.py", 0.5): "halves in the formulas: a 1-byte dropout mask counted in 2-byte activation elements "
                             "(Korthikanti et al. 2022); per-op SAC keeps every second GEMM output",
    ("activations.py", 16): _BYTE_BOUND, ("training.py", 16): _BYTE_BOUND, ("checkpoint.py", 16): _BYTE_BOUND,
    ("checkpoint.py", 12): "how many allowed ep·etp values an error message lists",
}


def test_memory_code_types_no_quantity_that_belongs_in_data():
    """The memory model reads byte widths from the number-format table, the published figures it
    is checked against and their run configurations from data/measurements/, and default cluster
    sizes from the shipped scenario; a number typed into its code (12 B/param, 45.56 GiB, a
    128-node default) fails here with its file and line unless it is a formula's small integer, a
    unit conversion, a tolerance, an argument bound, or one of MEMORY_REVIEWED_LITERALS."""
    assert MEMORY_CODE
    bad = _typed_quantities(MEMORY_CODE, MEMORY_REVIEWED_LITERALS)
    assert not bad, f"numbers typed into the memory code (move them to data/ or review them): {bad}"


def test_the_literal_scan_sees_a_typed_quantity(tmp_path):
    """The scan above is not vacuous: a benchmark shape typed into code is found, a unit
    conversion, a formula's 2 and an argument bound are not."""
    f = tmp_path / "x.py"
    f.write_text('"""doc 16384."""\ndef g(s, P):\n    """Doc 700 W."""\n    t = 2.0 * s / 1e12\n'
                 '    P.check_number("s", s, lo=1, hi=2**24)\n    return {"seq_len": 16384, "tokens": t}\n')
    assert _numeric_literals(f) == [(6, 16384)]
    k = tmp_path / "k.py"       # a kernel with a parameter vector: a tuner factor is still found
    k.write_text("P_LIB = 41\nP_T = P_LIB + 12\ndef t(b, P):\n    if P[P_LIB] < 0.5:\n"
                 "        b = min(0.92 * b, P[P_T])\n    return b * 0.5\n")
    assert sorted(_numeric_literals(k, vector_layout=True)) == [(5, 0.92), (6, 0.5)]
    assert {(1, 41), (2, 12), (4, 0.5)} <= set(_numeric_literals(k))    # the skips are the kernel's only
