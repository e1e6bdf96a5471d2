"""The catalog: sourced specifications, measurements and prices read from ``data/*.csv``.

Each table is loaded once, validated against its schema (column types, positive finite
values where required, a ``source_url`` on every row) and returned as a polars DataFrame.
Lookups by name are case-insensitive, accept aliases, and return frozen dataclasses in SI
units. An unknown name raises :class:`~infra_lab.errors.UnknownNameError` listing the
nearest valid names.

>>> import infra_lab as il
>>> mi = il.catalog.accelerator("mi300x")
>>> mi.hbm_bytes / 1e9
192.0
>>> round(mi.peak("bf16") / 1e12, 1)
1307.4
"""

from __future__ import annotations

import csv
import dataclasses
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from ._repr import Printout
from .errors import DataError, UnknownNameError, ValidationError, unknown
from .units import BITS_PER_BYTE, GB, TB, TFLOP

PEAK_PRECISIONS = ("fp64", "fp32", "tf32", "bf16", "fp16", "fp8", "fp4")

PEAK_STATUSES = ("sourced", "not supported", "no sourced figure")
"""What data/accelerators.csv says of a part's dense peak at one precision: a ``sourced``
figure, ``not supported`` (the part has no instructions for the format: the row's
``unsupported_precisions``, sourced in its note), or ``no sourced figure`` (the part may run
the format, but no source used gives its peak)."""
"""Precisions with a dense-peak column (``<precision>_tflops``) in data/accelerators.csv (fp64 is
the matrix-unit rate: AMD's FP64 matrix peak, NVIDIA's FP64 tensor peak; fp32 is the FP32 peak with
FP32 inputs: AMD's FP32 matrix peak, and on NVIDIA, whose tensor cores take no FP32 inputs, the
CUDA-core rate NVIDIA lists as FP32).
(Not to be confused with :data:`infra_lab.scenario.PRECISIONS`, the training precisions a
Scenario accepts, or :data:`infra_lab.compute.PRECISIONS`, the GEMM input formats.)"""


def _find_data_dir() -> Path:
    """The data folder: ``infra_lab/data`` inside an installed wheel, else the repository's
    top-level ``data/`` beside the package (a checkout or an editable install)."""
    from importlib.resources import files

    pkg = Path(str(files("infra_lab")))
    tried = (pkg / "data", pkg.parent / "data")
    for cand in tried:
        if (cand / "accelerators.csv").is_file():
            return cand.resolve()
    raise DataError("infra_lab's data folder was not found; looked in "
                    + " and ".join(str(t) for t in tried)
                    + " (reinstall the package, or run from a checkout of the repository)")


DATA_DIR = _find_data_dir()
"""Where the CSV tables live: the repository's ``data/`` folder, which the wheel carries
as ``infra_lab/data`` (found through :mod:`importlib.resources`)."""


REPO_SOURCE_PREFIX = "repo:data/"
"""A source that is the project's own measurement: ``repo:data/<path>`` names the raw output,
committed under data/ (e.g. data/measurements/device/, written by tools/device/)."""


def is_source(u: str) -> bool:
    """True for a web address, or for ``repo:data/<path>`` naming an existing file of the data
    folder (the raw output of a measurement the project made itself); anything but a string is
    not a source (None, a number: an empty or mistyped cell)."""
    if not isinstance(u, str):
        return False
    u = u.strip()
    if u.startswith(("http://", "https://")):
        return True
    return u.startswith(REPO_SOURCE_PREFIX) and (DATA_DIR / u[len(REPO_SOURCE_PREFIX):]).is_file()


# --------------------------------------------------------------------------------------
# Schema-checked CSV loading
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Col:
    """One column of a table schema.

    kind: "str" | "float" | "int" | "bool" | "date"; required: the cell may not be empty;
    positive: numbers must be finite and > 0 (or >= 0 with nonneg).
    """

    kind: str = "str"
    required: bool = False
    positive: bool = False
    nonneg: bool = False
    choices: tuple[str, ...] | None = None


def _parse_cell(path: Path, row_no: int, col: str, raw: str, spec: Col) -> Any:
    where = f"{path.name}, row {row_no}, column {col!r}"
    raw = raw.strip()
    if raw == "":
        if spec.required:
            raise DataError(f"{where}: empty, but a value is required")
        return None
    if spec.kind == "str":
        if spec.choices is not None and raw not in spec.choices:
            raise DataError(f"{where}: {raw!r} is not one of {', '.join(spec.choices)}")
        return raw
    if spec.kind == "bool":
        low = raw.lower()
        if low not in ("true", "false"):
            raise DataError(f"{where}: {raw!r} is not a boolean (true/false)")
        return low == "true"
    if spec.kind == "date":
        import datetime as _dt

        try:
            return _dt.date.fromisoformat(raw)
        except ValueError:
            raise DataError(f"{where}: {raw!r} is not an ISO date (yyyy-mm-dd)") from None
    try:
        value = float(raw.replace("_", ""))
    except ValueError:
        raise DataError(f"{where}: {raw!r} is not a number") from None
    if not math.isfinite(value):
        raise DataError(f"{where}: {raw!r} is not finite")
    if spec.positive and value <= 0:
        raise DataError(f"{where}: {raw!r} must be > 0")
    if spec.nonneg and value < 0:
        raise DataError(f"{where}: {raw!r} must be >= 0")
    if spec.kind == "int":
        if value != int(value):
            raise DataError(f"{where}: {raw!r} is not an integer")
        return int(value)
    return value


_POLARS_TYPES = {"str": "String", "float": "Float64", "int": "Int64", "bool": "Boolean", "date": "Date"}


def read_table(path: str | Path, schema: dict[str, Col], *, require_source: bool = True):
    """Read and validate one CSV file against ``schema``; return a polars DataFrame.

    Every column of ``schema`` must be present (extra columns are kept as strings). Every
    row needs a ``source_url`` starting with ``http`` unless ``require_source`` is False.
    Errors name the file, the 1-based data row and the column.

    Parameters
    ----------
    path : file to read [CSV, UTF-8, header row]
    schema : column name -> :class:`Col`
    """
    import polars as pl

    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: file not found")
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh)
        try:
            header = [h.strip() for h in next(reader)]
        except StopIteration:
            raise DataError(f"{path.name}: empty file (no header row)") from None
        cols = dict(schema)
        if require_source:
            cols.setdefault("source_url", Col("str", required=True))
            cols.setdefault("note", Col("str"))
        missing = [c for c in cols if c not in header]
        if missing:
            raise DataError(f"{path.name}: missing column(s) {', '.join(missing)}; header is {header}")
        rows: dict[str, list[Any]] = {h: [] for h in header}
        for i, rec in enumerate(reader, start=1):
            if not rec or all(not c.strip() for c in rec):
                continue
            if len(rec) != len(header):
                raise DataError(
                    f"{path.name}, row {i}: {len(rec)} fields, expected {len(header)} ({', '.join(header)})"
                )
            for h, raw in zip(header, rec, strict=True):
                spec = cols.get(h, Col("str"))
                rows[h].append(_parse_cell(path, i, h, raw, spec))
            if require_source:
                url = rows["source_url"][-1]
                if not any(is_source(u) for u in url.split(";")):
                    raise DataError(f"{path.name}, row {i}, column 'source_url': {url!r} is neither a web "
                                    f"address nor 'repo:data/<file>' naming a file of the data folder")
    dtypes = {h: getattr(pl, _POLARS_TYPES[cols.get(h, Col()).kind]) for h in header}
    return pl.DataFrame(rows, schema=dtypes)


# --------------------------------------------------------------------------------------
# Table schemas
# --------------------------------------------------------------------------------------
_F = Col("float", positive=True)
_FR = Col("float", required=True, positive=True)
_I = Col("int", positive=True)
_IR = Col("int", required=True, positive=True)
_S = Col("str")
_SR = Col("str", required=True)
_B = Col("bool")

SCHEMAS: dict[str, dict[str, Col]] = {
    "default_nics": {"accelerator": _SR, "nic": _SR,
                     "basis": Col("str", required=True, choices=("published", "choice"))},
    "published_claims": {"claim": _SR, "subject": _SR, "quantity": _SR, "value": _FR, "unit": _SR},
    "accelerators": {
        "name": _SR, "aliases": _S, "vendor": _SR, "release_date": Col("date", required=True),
        "fp64_tflops": _F, "fp32_tflops": _F, "tf32_tflops": _F, "bf16_tflops": _FR, "fp16_tflops": _F,
        "fp8_tflops": _F, "fp4_tflops": _F, "unsupported_precisions": _S, "hbm_GB": _FR, "memory_visible_MiB": _F, "hbm_bw_TBps": _FR,
        "tdp_W": _F, "compute_units": _IR, "boost_clock_MHz": _F, "scaleup_tech": _S,
        "scaleup_topology": Col("str", required=True, choices=("mesh", "switch")),
        "scaleup_links": _IR, "scaleup_link_GBps_per_dir": _FR, "scaleup_domain": _IR,
    },
    "device_measurements": {
        "accelerator": _SR, "quantity": _SR, "precision": _S, "value": _FR, "unit": _SR,
        "gemm_m": _I, "gemm_n": _I, "gemm_k": _I, "clock_MHz": _F, "software": _S, "conditions": _S,
        "vendor_maf": Col("bool", required=True),
    },
    "nics": {
        "name": _SR, "aliases": _S, "vendor": _SR, "line_rate_Gbps": _FR, "ports": _S,
        "host_interface": _S, "packet_spraying": _B, "programmable_cc": _B,
        "selective_retransmit": _B, "uec_ready": _B, "protocols": _S, "release_date": Col("date"),
    },
    "dpus": {
        "name": _SR, "vendor": _SR, "generation": _S, "ports": _S, "max_port_Gbps": _F,
        "host_interface": _S, "arm_cores": _I, "memory_GB": _F, "offloads": _S,
    },
    "switches": {
        "name": _SR, "vendor": _SR, "asic": _S, "capacity_Tbps": _F, "ports_400G": _I,
        "ports_800G": _I, "latency_ns": _F,
    },
    "instances": {
        "name": _SR, "provider": _SR, "kind": _S, "accelerator": _S, "gpus": _I, "vcpus": _I,
        "cpu_cores": _I, "memory_GiB": _F, "network_Gbps": _F, "instance_storage": _S,
    },
    "cloud_prices": {
        "provider": _SR, "instance": _S, "accelerator": _SR, "gpus_per_instance": _I,
        "term": Col("str", required=True, choices=("on-demand", "1-year", "3-year", "spot", "reserved")),
        "price_usd_per_gpu_hour": _FR, "date_observed": Col("date", required=True), "region": _S,
        "grade": _S,
    },
}


@cache
def _table(name: str):
    if name not in SCHEMAS:
        raise unknown("catalog table", name, SCHEMAS)
    return read_table(DATA_DIR / f"{name}.csv", SCHEMAS[name])


def accelerators():
    """All accelerators (data/accelerators.csv) as a polars DataFrame, in the file's units."""
    return _table("accelerators")


def device_measurements():
    """Published device measurements (data/device_measurements.csv): max-achievable GEMM
    TFLOP/s with shape and clock, achieved HBM bandwidth, xGMI per-link bandwidth."""
    return _table("device_measurements")


def nics():
    """Network interface cards (data/nics.csv)."""
    return _table("nics")


def dpus():
    """Data processing units (data/dpus.csv) and what they offload."""
    return _table("dpus")


def switches():
    """Switches and switch silicon (data/switches.csv)."""
    return _table("switches")


def instances():
    """Node / instance types (data/instances.csv), including IBM Cloud's MI300X profiles."""
    return _table("instances")


def cloud_prices():
    """Cloud prices per GPU-hour by provider, instance, term and date (data/cloud_prices.csv)."""
    return _table("cloud_prices")


def _index(table, what: str = "catalog") -> dict[str, str]:
    """lower-case name or alias -> canonical name."""
    idx: dict[str, str] = {}
    has_alias = "aliases" in table.columns
    names: set[str] = set()
    for row in table.iter_rows(named=True):
        canon = row["name"]
        if canon.lower() in names:       # a second row of one name would never be reached
            raise DataError(f"{what} table: duplicate name {canon!r} (names are unique, case-insensitive)")
        names.add(canon.lower())
        idx[canon.lower()] = canon
        if has_alias and row["aliases"]:
            for a in row["aliases"].split(";"):
                if a.strip():
                    idx.setdefault(a.strip().lower(), canon)
    return idx


def _name_arg(kind: str, name: object, example: str) -> str:
    """``name`` if it is a string, checked before a cached look-up (a list or dict is unhashable)."""
    if not isinstance(name, str):
        raise ValidationError(f"{kind} = {name!r}: expected a name (string), e.g. {example!r}")
    return name


def _resolve(kind: str, table, name: object) -> dict[str, Any]:
    if not isinstance(name, str):
        raise ValidationError(f"{kind} = {name!r}: expected a name (string)")
    idx = _index(table, kind)
    canon = idx.get(name.strip().lower())
    if canon is None:
        raise unknown(kind, name, table["name"].to_list(), aliases=idx)
    return table.filter(table["name"] == canon).row(0, named=True)


# --------------------------------------------------------------------------------------
# Dataclasses in SI units
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Accelerator(Printout):
    """One accelerator in SI units.

    Attributes
    ----------
    peak_flops : dense peak by precision [FLOP/s]; a precision with no sourced figure is absent
    unsupported_precisions : precisions of :data:`PEAK_PRECISIONS` the part has no instructions
        for (data/accelerators.csv ``unsupported_precisions``); absent from ``peak_flops`` too.
        A precision in neither is one with no sourced figure (:meth:`peak_status`)
    hbm_bytes : HBM capacity [bytes, 1 GB = 1e9]
    hbm_bw_Bps : peak HBM bandwidth [bytes/s]
    tdp_W : board power [W]; None where no source gives it
    scaleup_link_bw_Bps : raw bandwidth of one scale-up link, one direction [bytes/s]
    scaleup_bw_Bps : scale-up bandwidth of one GPU, one direction, all links [bytes/s]
    memory_visible_bytes : device memory as the driver reports it (nvidia-smi memory.total,
        rocminfo's global pool) [bytes]; None where no source gives it
    memory_capacity_bytes : what a training job can address: memory_visible_bytes, else
        hbm_bytes [bytes] (the vendors' "80 GB" / "192 GB" are binary HBM capacities, so the
        driver reports more bytes than hbm_GB × 1e9)
    """

    name: str
    vendor: str
    release_date: str
    peak_flops: dict[str, float] = field(hash=False)
    hbm_bytes: float
    hbm_bw_Bps: float
    tdp_W: float | None
    compute_units: int
    boost_clock_Hz: float | None
    scaleup_tech: str
    scaleup_topology: str
    scaleup_links: int
    scaleup_link_bw_Bps: float
    scaleup_domain: int
    source_url: str
    note: str
    memory_visible_bytes: float | None = None
    unsupported_precisions: tuple[str, ...] = ()

    def _printout(self) -> str:
        """What print() and a notebook show: a readable printout, one field a line with its unit (4 significant figures); the
        exact values are the attributes."""
        from ._repr import readable

        names = tuple(f.name for f in dataclasses.fields(self) if f.name != "note")
        return readable(self, (*names[:names.index("source_url")], "memory_capacity_bytes", "scaleup_bw_Bps",
                               *names[names.index("source_url"):]),
                        footer="exact values: the attributes; the row's sourcing notes: .note")

    @property
    def memory_capacity_bytes(self) -> float:
        """Device memory a job can address [bytes]: the driver-reported total where the
        catalog has a source for it (``memory_visible_MiB``), else ``hbm_bytes``."""
        return self.memory_visible_bytes if self.memory_visible_bytes else self.hbm_bytes

    @property
    def scaleup_bw_Bps(self) -> float:
        return self.scaleup_links * self.scaleup_link_bw_Bps

    def peak(self, precision: str) -> float:
        """Dense peak [FLOP/s] at ``precision`` (fp64, fp32, tf32, bf16, fp16, fp8, fp4)."""
        p = str(precision).lower()
        if p not in PEAK_PRECISIONS:
            raise unknown("precision", precision, PEAK_PRECISIONS)
        if p not in self.peak_flops:
            have = ", ".join(self.peak_flops)
            if p in self.unsupported_precisions:
                raise ValidationError(
                    f"precision = {precision!r}: {self.name} does not support {p} (no {p} instructions: "
                    f"data/accelerators.csv unsupported_precisions, sourced in the row's note); it has {have}")
            raise ValidationError(
                f"precision = {precision!r}: {self.name} has no sourced dense {p} peak; it has {have}"
            )
        return self.peak_flops[p]

    def peak_status(self, precision: str) -> str:
        """What the catalog says of the dense peak at ``precision``, one of :data:`PEAK_STATUSES`:
        "sourced", "not supported" (no instructions for the format) or "no sourced figure"."""
        p = str(precision).lower()
        if p not in PEAK_PRECISIONS:
            raise unknown("precision", precision, PEAK_PRECISIONS)
        if p in self.peak_flops:
            return "sourced"
        return "not supported" if p in self.unsupported_precisions else "no sourced figure"

    @property
    def mx_block_scaling(self) -> bool:
        """Whether the part has block-scaled (OCP MX) matrix instructions, so that MXFP8 GEMMs
        (torchao's MX recipes, ``training.fp8_scaling = "block"``) run on it. They came with the
        FP4 instructions: NVIDIA Blackwell (https://github.com/pytorch/torchtitan/blob/main/docs/mxfp8.md:
        "Requirements: NVIDIA B200 (SM100 or SM100a)", GB200 too) and AMD CDNA 4, whose
        MXFP8/MXFP6/MXFP4 MFMA instructions CDNA 3 lacks
        (https://rocm.blogs.amd.com/software-tools-optimization/matrix-cores-cdna/README.html, the
        MFMA table). Approximation: read as "has a sourced dense fp4 peak" (True on Blackwell,
        CDNA 4 and MI450X; False on Ampere, Hopper and CDNA 3)."""
        return "fp4" in self.peak_flops

    @property
    def nvfp4_block_scaling(self) -> bool:
        """Whether the part's matrix instructions take NVIDIA's NVFP4 (E2M1 elements with one FP8
        E4M3 scale per block of 16), so that ``nvfp4`` GEMMs run on it. NVFP4 is NVIDIA's format,
        introduced with Blackwell's tensor cores
        (https://developer.nvidia.com/blog/introducing-nvfp4-for-efficient-and-accurate-low-precision-inference/);
        AMD CDNA 4's scaled MFMA instructions take the OCP microscaling formats, E8M0 scales per
        block of 32 (MXFP4, MXFP6, MXFP8:
        https://triton-lang.org/main/gluon/api/generated/triton.experimental.gluon.language.amd.cdna4.mfma_scaled.html),
        not NVFP4's E4M3 scales per 16. Approximation: read as an NVIDIA part with block-scaled
        instructions (:attr:`mx_block_scaling`: Blackwell), False on every AMD part."""
        return self.vendor == "NVIDIA" and self.mx_block_scaling

    def ridge_point(self, precision: str = "bf16") -> float:
        """Arithmetic intensity where compute and HBM bandwidth balance [FLOP/byte]."""
        return self.peak(precision) / self.hbm_bw_Bps


@dataclass(frozen=True)
class Nic(Printout):
    """One NIC. line_rate_bps [bit/s]; line_rate_Bps [bytes/s] per direction."""

    name: str
    vendor: str
    line_rate_bps: float
    ports: str
    host_interface: str
    packet_spraying: bool
    programmable_cc: bool
    selective_retransmit: bool
    uec_ready: bool
    source_url: str
    note: str

    @property
    def line_rate_Bps(self) -> float:
        return self.line_rate_bps / BITS_PER_BYTE

    def _printout(self) -> str:
        """What print() and a notebook show: a readable printout, one field a line with its unit; the exact values are the
        attributes."""
        from ._repr import readable

        names = tuple(f.name for f in dataclasses.fields(self) if f.name != "note")
        return readable(self, (*names[:3], "line_rate_Bps", *names[3:]),
                        footer="exact values: the attributes; the row's sourcing notes: .note")


def accelerator(name: str) -> Accelerator:
    """Look up an accelerator by canonical name or alias (case-insensitive).

    Parameters
    ----------
    name : e.g. "MI300X", "mi300x", "H100", "H100-SXM"

    Raises
    ------
    ValidationError : ``name`` is not a string (a list, a dict, None ...)
    UnknownNameError : with the nearest valid names
    """
    return _accelerator(_name_arg("accelerator", name, "MI300X"))


@cache
def _accelerator(name: str) -> Accelerator:
    r = _resolve("accelerator", accelerators(), name)
    peaks = {p: r[f"{p}_tflops"] * TFLOP for p in PEAK_PRECISIONS if r.get(f"{p}_tflops") is not None}
    unsupported = _unsupported_precisions(r, peaks)
    return Accelerator(
        name=r["name"], vendor=r["vendor"], release_date=str(r["release_date"]), peak_flops=peaks,
        hbm_bytes=r["hbm_GB"] * GB, hbm_bw_Bps=r["hbm_bw_TBps"] * TB, tdp_W=r["tdp_W"],
        compute_units=r["compute_units"],
        boost_clock_Hz=None if r["boost_clock_MHz"] is None else r["boost_clock_MHz"] * 1e6,
        scaleup_tech=r["scaleup_tech"] or "", scaleup_topology=r["scaleup_topology"],
        scaleup_links=r["scaleup_links"], scaleup_link_bw_Bps=r["scaleup_link_GBps_per_dir"] * GB,
        scaleup_domain=r["scaleup_domain"], source_url=r["source_url"], note=r["note"] or "",
        memory_visible_bytes=(None if r.get("memory_visible_MiB") is None else r["memory_visible_MiB"] * 2.0**20),
        unsupported_precisions=unsupported,
    )


def _unsupported_precisions(r: dict[str, Any], peaks: dict[str, float]) -> tuple[str, ...]:
    """A row's ``unsupported_precisions`` (``;``-separated) checked: each one of
    :data:`PEAK_PRECISIONS`, none with a peak figure in the same row."""
    out = tuple(x.strip().lower() for x in (r.get("unsupported_precisions") or "").split(";") if x.strip())
    for x in out:
        if x not in PEAK_PRECISIONS:
            raise DataError(f"data/accelerators.csv, row {r['name']!r}, column unsupported_precisions: {x!r} is "
                            f"not a peak precision; allowed: {', '.join(PEAK_PRECISIONS)}")
        if x in peaks:
            raise DataError(f"data/accelerators.csv, row {r['name']!r}: {x} is in unsupported_precisions and has "
                            f"a {x}_tflops figure; give one or the other")
    return out


def peak_table(names: Iterable[str] | None = None, precisions: Iterable[str] = PEAK_PRECISIONS):
    """Dense peaks of ``names`` (default: every accelerator) at ``precisions``, one row per
    pair, none dropped: a pair with no figure has a null ``peak_tflops`` and says why in
    ``status`` (:data:`PEAK_STATUSES`: "not supported" or "no sourced figure").

    Returns
    -------
    polars.DataFrame: accelerator, vendor, precision, peak_tflops [TFLOP/s, dense; null where
    there is no figure], status

    Examples
    --------
    >>> t = peak_table(["MI355X"], ["tf32", "bf16"])
    >>> t.select("precision", "status").rows()
    [('tf32', 'not supported'), ('bf16', 'sourced')]
    """
    import polars as pl

    names = accelerator_names() if names is None else list(names)
    precs = [str(p).lower() for p in precisions]
    for p in precs:
        if p not in PEAK_PRECISIONS:
            raise unknown("precision", p, PEAK_PRECISIONS)
    rows = []
    for n in names:
        a = accelerator(n)
        for p in precs:
            v = a.peak_flops.get(p)
            rows.append({"accelerator": a.name, "vendor": a.vendor, "precision": p,
                         "peak_tflops": None if v is None else v / TFLOP, "status": a.peak_status(p)})
    return pl.DataFrame(rows, schema={"accelerator": pl.String, "vendor": pl.String, "precision": pl.String,
                                      "peak_tflops": pl.Float64, "status": pl.String})


def nic(name: str) -> Nic:
    """Look up a NIC by canonical name or alias (case-insensitive), e.g. "Pollara-400".

    Raises ValidationError when ``name`` is not a string, UnknownNameError (nearest valid
    names) when it is not in the catalog."""
    return _nic(_name_arg("nic", name, "Pollara-400"))


@cache
def _nic(name: str) -> Nic:
    r = _resolve("NIC", nics(), name)
    return Nic(
        name=r["name"], vendor=r["vendor"], line_rate_bps=r["line_rate_Gbps"] * 1e9,
        ports=r["ports"] or "", host_interface=r["host_interface"] or "",
        packet_spraying=bool(r["packet_spraying"]), programmable_cc=bool(r["programmable_cc"]),
        selective_retransmit=bool(r["selective_retransmit"]), uec_ready=bool(r["uec_ready"]),
        source_url=r["source_url"], note=r["note"] or "",
    )


def default_nics():
    """The back-end NIC a node of each accelerator carries by default, one per GPU
    (data/default_nics.csv): the vendor's reference system where published (DGX H100/H200/B200:
    ConnectX-7), else a stated choice (``basis``). The one owner of "which NIC does an
    accelerator get" for the cross-accelerator comparisons, the explorer widgets and the published
    training runs whose source names no NIC (:func:`infra_lab.validation.runs.run_nic`)."""
    return _table("default_nics")


def default_nic(accelerator: str) -> str:
    """Canonical name of the default NIC of ``accelerator`` (name or alias), from
    :func:`default_nics`. Raises UnknownNameError when the accelerator has no row."""
    acc = canonical_accelerator(accelerator)
    t = default_nics()
    hit = t.filter(t["accelerator"] == acc)
    if hit.height == 0:
        # a catalog part (canonical_accelerator refused any other name) without a row: no
        # "did you mean" another part, which would read as if the name were misspelt
        raise UnknownNameError(
            f"accelerator {acc!r} has no default NIC: data/default_nics.csv has no row for it; give the NIC "
            f"by name ({', '.join(nic_names())}) or add the row with its source. Parts with a default NIC: "
            f"{', '.join(t['accelerator'].to_list())}")
    return canonical_nic(hit["nic"][0])


def published_claims():
    """Vendors' and operators' published figures quoted in the notebooks (data/published_claims.csv):
    claim id, subject, quantity, value, unit, source_url, note. Quoted for comparison only;
    no model is fitted to them."""
    return _table("published_claims")


def published_claim(claim: str) -> float:
    """The value of one published claim, in its row's ``unit`` (see :func:`published_claims`)."""
    if not isinstance(claim, str):
        # None failed as polars' "TypeError: 'None' is not an instance of 'str'", a list as a ComputeError
        raise unknown("published claim", claim, published_claims()["claim"].to_list())
    t = published_claims()
    hit = t.filter(t["claim"] == claim)
    if hit.height == 0:
        raise unknown("published claim", claim, t["claim"].to_list())
    return float(hit["value"][0])


def accelerator_names() -> list[str]:
    """Canonical accelerator names."""
    return accelerators()["name"].to_list()


def nic_names() -> list[str]:
    """Canonical NIC names."""
    return nics()["name"].to_list()


def canonical_accelerator(name: str) -> str:
    """Canonical name for an accelerator name or alias (raises with suggestions)."""
    return accelerator(name).name


def canonical_nic(name: str) -> str:
    """Canonical name for a NIC name or alias (raises with suggestions)."""
    return nic(name).name


_MEASUREMENT_UNITS = {"TFLOP/s": TFLOP, "TB/s": TB, "GB/s": GB, "x vs H100-SXM": 1.0}
"""SI factor of each unit used in data/device_measurements.csv (FLOP/s, B/s, ratio)."""


def _measurement_scale(unit: str, accelerator_name: str, quantity: str) -> float:
    if unit not in _MEASUREMENT_UNITS:
        raise DataError(f"device_measurements.csv, {accelerator_name} {quantity}: unit {unit!r} has no SI "
                        f"conversion; known units: {', '.join(_MEASUREMENT_UNITS)}")
    return _MEASUREMENT_UNITS[unit]


def vendor_max_achievable(accelerator_name: str, precision: str) -> tuple[float, str] | None:
    """The max-achievable GEMM rate to compare a vendor's cluster claim with [FLOP/s], and its
    source URL: the vendor's own published measurement where the data marks one
    (``vendor_maf`` = true in data/device_measurements.csv, e.g. AMD's hipblaslt-bench MAF),
    else the highest published one; None when no measurement exists at ``precision``.

    Examples
    --------
    >>> v, url = vendor_max_achievable("MI300X", "bf16")
    >>> v / 1e12, "rocm.blogs.amd.com" in url
    (708.0, True)
    """
    import polars as pl

    canon = canonical_accelerator(accelerator_name)
    t = device_measurements().filter((pl.col("accelerator") == canon) & (pl.col("quantity") == "gemm_tflops")
                                     & (pl.col("precision").str.to_lowercase() == str(precision).lower()))
    if t.height == 0:
        return None
    own = t.filter(pl.col("vendor_maf"))
    best = (own if own.height else t).sort("value", descending=True).row(0, named=True)
    return best["value"] * _measurement_scale(best["unit"], canon, "gemm_tflops"), best["source_url"]


# --------------------------------------------------------------------------------------
# Number formats (bytes per element): the one table, data/serving/number_formats.csv
# --------------------------------------------------------------------------------------
_FORMATS_SCHEMA = {
    "format": Col("str", required=True),
    "element_bits": Col("float", required=True, positive=True),
    "block_size": Col("int", positive=True),
    "scale_bits": Col("float", positive=True),
    "bytes_per_element": Col("float", required=True, positive=True),
    "basis": Col("str", required=True, choices=("derived", "measured", "assumption")),
}


@cache
def number_formats():
    """Storage formats of numbers (data/serving/number_formats.csv): the one owner of
    "bytes per element" for compute (GEMM inputs), memory (weights, KV cache) and serving.

    Columns: format, element_bits [bits], block_size [elements sharing one scale],
    scale_bits [bits], bytes_per_element [bytes] (element + its share of the block scale),
    basis, source_url, note. The loader checks bytes_per_element = (element_bits +
    scale_bits / block_size) / 8 on every row.
    """
    t = read_table(DATA_DIR / "serving" / "number_formats.csv", _FORMATS_SCHEMA)
    for r in t.iter_rows(named=True):
        bits = r["element_bits"] + ((r["scale_bits"] or 0.0) / r["block_size"] if r["block_size"] else 0.0)
        if abs(bits / 8.0 - r["bytes_per_element"]) > 1e-12:
            raise DataError(f"number_formats.csv, format {r['format']!r}: bytes_per_element = "
                            f"{r['bytes_per_element']} but (element_bits + scale_bits/block_size)/8 = {bits / 8}")
    return t


def format_bytes(fmt: str, *, scales: bool = True, field: str = "") -> float:
    """Bytes per stored element of a number format [bytes]: with its share of the block
    scales (``scales=True``, storage) or the element alone (``scales=False``, e.g. a GEMM's
    input stream when the scales are counted separately).

    Examples
    --------
    >>> format_bytes("bf16"), format_bytes("mxfp4"), format_bytes("mxfp4", scales=False)
    (2.0, 0.53125, 0.5)

    ``field`` names the argument an unknown format came from (``kv_precision``) in the error.
    """
    t = number_formats()
    names = t["format"].to_list()
    f = fmt.lower() if isinstance(fmt, str) else fmt
    if not isinstance(f, str) or f not in names:
        where = "data/serving/number_formats.csv"
        raise unknown("number format", fmt, names, where=f"{field} ({where})" if field else where)
    r = t.row(names.index(f), named=True)
    return float(r["bytes_per_element"]) if scales else r["element_bits"] / 8.0


def measurement(accelerator_name: str, quantity: str, precision: str | None = None,
                pick: str = "max", software: str | None = None) -> float:
    """A published device measurement in SI units.

    Parameters
    ----------
    accelerator_name : catalog name or alias
    quantity : "gemm_tflops" [returned in FLOP/s], "hbm_bw" [bytes/s],
        "xgmi_link_bw" / "xgmi_gpu_bw" [bytes/s, one direction]
    precision : for gemm_tflops, e.g. "bf16"
    pick : "max" | "min" | "mean" when several rows match
    software : keep only rows whose ``software`` contains this text (case-insensitive),
        e.g. "hipBLASLt" for AMD's max-achievable-FLOPS measurements
    """
    import polars as pl

    from . import _validate

    canon = canonical_accelerator(accelerator_name)
    t = device_measurements().filter(pl.col("accelerator") == canon)
    valid_q = sorted(set(device_measurements()["quantity"].to_list()))
    if not isinstance(quantity, str) or quantity not in valid_q:
        raise unknown("measurement quantity", quantity, valid_q)
    t = t.filter(pl.col("quantity") == quantity)
    if precision is not None:
        _validate.name("precision", precision, "a precision name", "bf16")
        t = t.filter(pl.col("precision").str.to_lowercase() == precision.lower())
    if software is not None:
        _validate.name("software", software, "a software name", "hipBLASLt")
        t = t.filter(pl.col("software").fill_null("").str.to_lowercase().str.contains(software.lower(), literal=True))
    if t.height == 0:
        raise ValidationError(
            f"no published {quantity} measurement for {canon}"
            + (f" at {precision}" if precision else "")
        )
    vals = [v * _measurement_scale(u, canon, quantity) for v, u in zip(t["value"], t["unit"], strict=True)]
    if not isinstance(pick, str):
        raise unknown("pick", pick, ["max", "min", "mean"])
    if pick == "max":
        return max(vals)
    if pick == "min":
        return min(vals)
    if pick == "mean":
        return sum(vals) / len(vals)
    raise unknown("pick", pick, ["max", "min", "mean"])


_HOST_LINK_SCHEMA = {
    "accelerator": Col("str", required=True), "host_link": Col("str", required=True),
    "bidirectional_GBps": Col("float", required=True, positive=True),
    "gpus_per_link": Col("int", required=True, positive=True),
    "nic_via_host_link": Col("bool", required=True),
    "basis": Col("str", required=True, choices=("published", "derived", "assumption")),
}


@cache
def host_links():
    """Accelerator-to-host links (data/accelerator_host_links.csv): accelerator, host_link,
    bidirectional_GBps [GB/s, both directions together, as the vendor publishes it],
    gpus_per_link [GPUs sharing the link], nic_via_host_link [GPU-direct RDMA to the back-end
    NICs crosses this link: true/false], basis, source_url, note."""
    return read_table(DATA_DIR / "accelerator_host_links.csv", _HOST_LINK_SCHEMA)


def host_link_bytes_per_s(name: str) -> float:
    """One GPU's host-link bandwidth in one direction [bytes/s]: the published bidirectional
    figure / 2 / the GPUs that share the link (data/accelerator_host_links.csv). Activation
    offloading (:mod:`infra_lab.training`) copies device-to-host in forward and host-to-device
    in backward at this rate; the line rate, not a measured copy rate (an upper bound).

    Examples
    --------
    >>> host_link_bytes_per_s("H100-SXM") / 1e9
    64.0
    """
    acc = accelerator(name).name
    t = host_links()
    names = t["accelerator"].to_list()
    if acc not in names:
        raise ValidationError(f"accelerator = {name!r}: no host-link bandwidth in data/accelerator_host_links.csv "
                              f"(needed for activation offloading); allowed: {', '.join(names)}")
    r = t.row(names.index(acc), named=True)
    return float(r["bidirectional_GBps"]) * 1e9 / 2.0 / float(r["gpus_per_link"])


def nic_host_link(name: str) -> tuple[str, float] | None:
    """The link a GPU's scale-out traffic crosses between its memory and its back-end NICs:
    (host_link name, line rate one direction per GPU [bytes/s]), or None where the data does not
    publish such a path (no row in data/accelerator_host_links.csv, or ``nic_via_host_link``
    false, as on GB200). :func:`infra_lab.fabric.scaleout` caps the per-GPU scale-out rate at
    min(the GPU's share of its NICs' line rate, this rate) before the achieved-fraction factor.

    Examples
    --------
    >>> link, bps = nic_host_link("MI300X")
    >>> link, bps / 1e9
    ('PCIe Gen5 x16', 64.0)
    >>> nic_host_link("GB200") is None
    True
    """
    acc = accelerator(name).name
    t = host_links()
    names = t["accelerator"].to_list()
    if acc not in names:
        return None
    r = t.row(names.index(acc), named=True)
    if not r["nic_via_host_link"]:
        return None
    return str(r["host_link"]), float(r["bidirectional_GBps"]) * 1e9 / 2.0 / float(r["gpus_per_link"])


def cache_clear() -> None:
    """Forget loaded tables (after editing data/ in a running session)."""
    _table.cache_clear()
    host_links.cache_clear()
    number_formats.cache_clear()
    _accelerator.cache_clear()
    _nic.cache_clear()
