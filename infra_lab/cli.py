"""The ``infra-lab`` command: the package's public calls from a shell, on Scenario TOML files.

::

    infra-lab estimate my_run.toml                 # step time, MFU, memory: a readable table
    infra-lab estimate my_run.toml --format json   # the same for machines (json | csv)
    infra-lab search my_run.toml --top 5 --max-tp 8
    infra-lab collective all_reduce 1GiB --hardware my_run.toml --gpus 64
    infra-lab validate training
    infra-lab --help                               # every command; `infra-lab CMD --help` for one

Each subcommand calls the same function a notebook calls (:func:`infra_lab.estimate`,
:func:`infra_lab.search`, :func:`infra_lab.collective`, ``il.serve``, ``il.sweep``,
:mod:`infra_lab.validation`); nothing is modelled here. A scenario argument is a TOML file
with the contract's tables, or the name of a shipped scenario (``zaya1-ibm-mi300x``).

Bad input prints the package's own error message (field, value, what is allowed) on stderr
and exits with status 1, without a traceback (``--debug`` shows it), whether the package or an
option's own reader refuses the value (``--gpus 0`` and ``--gpus abc`` alike); usage errors (an
unknown command, option or choice, a missing argument) exit with status 2 (:data:`EXIT_STATUSES`).
Imports are lazy so that ``infra-lab --help`` answers at once.
"""

from __future__ import annotations

import argparse
import contextvars
import json
import math
import re
import statistics
import sys
import warnings
from pathlib import Path
from typing import Any

from ._repr import signed
from .errors import empty_reasons, with_reasons

PROG = "infra-lab"
EXIT_STATUSES = {"ok": 0, "refused": 1, "usage": 2, "bug": 3, "interrupted": 130}
"""The exit statuses of every subcommand: 1 a value refused (not a number where one belongs, out
of range, an unknown name, a file that cannot be read: the message names the option, the value and
what is allowed), 2 a usage error (an unknown command, option or choice, a missing argument:
argparse's usage line and message), 3 a bug in infra_lab (an internal error), 130 interrupted."""
EXIT_EPILOG = ("exit status: 0 done; 1 a value refused (not a number, out of range, an unknown name,\n"
               "  an unreadable file); 2 a usage error (an unknown command, option or choice, a missing\n"
               "  argument); 3 a bug in infra_lab")
FORMATS = ("table", "json", "csv")

# Keyword constraints of il.search; a test checks this equals training.SEARCH_CONSTRAINTS
# (kept here so that building the parser does not import the numba kernels).
PLAN_KEYS = ("tp", "pp", "vp", "cp", "ep", "etp", "dp", "micro_batch", "zero", "fsdp", "recompute",
             "sequence_parallel")
BOUNDED_KEYS = ("tp", "pp", "vp", "cp", "ep", "etp", "dp", "micro_batch", "zero")
SEARCH_CONSTRAINTS = PLAN_KEYS + tuple(f"{b}_{k}" for k in BOUNDED_KEYS for b in ("max", "min"))
OBJECTIVES = ("tokens_per_s", "mfu", "tflops_per_gpu", "step_time_s", "memory_per_gpu_bytes",
              "tokens_per_s_per_gpu")
# il.collective's ops and algorithms, and il.serve_search's objectives (tests check these equal
# collectives.OPS / ALGORITHMS and serving.OBJECTIVES; kept here for the same reason)
COLLECTIVE_OPS = ("all_reduce", "reduce_scatter", "all_gather", "broadcast", "all_to_all", "send_recv")
COLLECTIVE_ALGORITHMS = ("ring", "tree", "nvls", "nvlstree", "collnet_direct", "collnet_chain", "pat",
                         "allpairs", "p2p", "pxn")
SERVE_OBJECTIVES = ("output_tokens_per_s", "output_tokens_per_s_per_gpu", "total_tokens_per_s",
                    "total_tokens_per_s_per_gpu",
                    "tokens_per_s_per_user", "ttft_s", "tpot_s", "e2e_latency_s",
                    "usd_per_million_output_tokens", "usd_per_million_tokens",
                    "usd_per_million_output_tokens_all_in", "usd_per_million_input_tokens")
HARDWARE_OPTIONS = (  # --option -> [hardware] key, type
    ("accelerator", str), ("nodes", int), ("gpus_per_node", int), ("scaleup_domain", int),
    ("nic", str), ("nics_per_node", int), ("fabric", str), ("oversubscription", float),
    ("host_cpu", str), ("pxn", "bool"), ("sharp", "bool"), ("domain_gpus", int),
)

_SIZE_UNITS = {"": 1, "b": 1, "kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12,
               "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


class CliError(Exception):
    """A usage problem found after parsing (a file that is not there, a bad KEY=VALUE)."""


# --------------------------------------------------------------------------------------
# output
# --------------------------------------------------------------------------------------
def _plain(v: Any) -> Any:
    """A JSON-safe scalar (numpy scalars to Python, non-finite floats to None)."""
    if hasattr(v, "item") and not isinstance(v, (str, bytes)):
        try:
            v = v.item()
        except (TypeError, ValueError):
            pass
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def _fmt(v: Any) -> str:
    """A number as a person reads it: 4 significant digits, thousands separators."""
    v = _plain(v)
    if v is None:
        return ""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        if v == 0:
            return "0"
        a = abs(v)
        if a >= 1e15 or a < 1e-4:
            return f"{v:.4g}"
        if a >= 1e3:
            return f"{v:,.0f}"
        return f"{v:.4g}"
    return str(v)


def _text_table(columns: list[str], rows: list[list[Any]], title: str | None = None) -> str:
    cells = [[_fmt(v) for v in r] for r in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    numeric = [all(isinstance(_plain(r[i]), (int, float)) and not isinstance(_plain(r[i]), bool)
                   for r in rows if _plain(r[i]) is not None) and rows for i in range(len(columns))]

    def line(vals):
        return "  ".join(v.rjust(w) if num else v.ljust(w)
                         for v, w, num in zip(vals, widths, numeric, strict=True)).rstrip()

    out = [title, ""] if title else []
    out += [line(columns), line(["-" * w for w in widths])]
    out += [line(r) for r in cells]
    return "\n".join(out)


class Output:
    """What a command returns: named tables (lists of records) printed in one format."""

    def __init__(self) -> None:
        self.tables: list[tuple[str, list[str], list[dict[str, Any]], str | None]] = []
        self.notes: list[str] = []
        self.json_extra: dict[str, Any] = {}

    def table(self, name: str, records: list[dict[str, Any]], columns: list[str] | None = None,
              title: str | None = None) -> None:
        cols = columns or (list(records[0]) if records else [])
        self.tables.append((name, cols, records, title))

    def frame(self, name: str, df, columns: list[str] | None = None, title: str | None = None) -> None:
        self.table(name, df.to_dicts(), columns or list(df.columns), title)

    def render(self, fmt: str) -> str:
        """json: one table -> a list of records, several -> {name: records};
        csv: one header (a "table" column when there are several); table: aligned text."""
        if fmt == "json":
            if len(self.tables) == 1 and not self.json_extra:
                recs = self.tables[0][2]
                obj: Any = [{c: _plain(r.get(c)) for c in r} for r in recs]
            else:
                obj = dict(self.json_extra)
                for name, _cols, recs, _ in self.tables:
                    obj[name] = [{c: _plain(r.get(c)) for c in r} for r in recs]
            return json.dumps(obj, indent=2, default=str)
        if fmt == "csv":
            import csv
            import io

            buf = io.StringIO()
            # the records' fields; a table without records gives its columns, so an empty result is
            # still a header line (a CSV reader refused the empty text: "no columns to parse")
            allcols = list(dict.fromkeys(c for _n, cs, rs, _t in self.tables for c in (
                [c for r in rs for c in r] if rs else cs)))
            if len(self.tables) > 1:
                allcols = ["table", *allcols]
            w = csv.DictWriter(buf, fieldnames=allcols, lineterminator="\n", extrasaction="ignore")
            w.writeheader()
            for name, _cols, recs, _ in self.tables:
                for r in recs:
                    row = {c: _plain(r.get(c)) for c in allcols}
                    if len(self.tables) > 1:
                        row["table"] = name
                    w.writerow({k: ("" if v is None else v) for k, v in row.items()})
            return buf.getvalue().rstrip("\n")
        parts = []
        for _name, cols, recs, title in self.tables:
            parts.append(_text_table(cols, [[r.get(c) for c in cols] for r in recs], title))
        parts += self.notes
        return "\n\n".join(parts)


# --------------------------------------------------------------------------------------
# argument helpers
# --------------------------------------------------------------------------------------
def _scenario(arg: str, check_plan: bool = True):
    """A Scenario from a TOML path, or a shipped scenario's name (``check_plan=False``: the
    [parallelism] table may be missing or not fit, for a search; ``Scenario.from_dict``)."""
    import infra_lab as il

    if not arg.strip():   # Path("") is the current folder: say what is missing instead
        raise CliError(f"scenario = {arg!r}: expected a shipped scenario's name or the path of a TOML file "
                       f"(shipped scenarios: {', '.join(il.list_scenarios())})")
    p = Path(arg)
    if p.suffix.lower() in (".toml", ".json") or p.exists() or "/" in arg or "\\" in arg:
        if not p.is_file():
            what = ("is a directory, not a TOML file" if p.is_dir() else
                    "is not a regular file (a TOML or JSON file is expected)" if p.exists() else "not found")
            raise CliError(f"scenario file {arg!r}: {what} (shipped scenarios: "
                           f"{', '.join(il.list_scenarios())})")
        return il.Scenario.from_toml(p, check_plan=check_plan)
    # `infra-lab estimate base` beside base.toml: load_scenario's error names the file
    return il.load_scenario(arg, check_plan=check_plan)


def _training_scenario(arg: str, command: str, check_plan: bool = True):
    """A training scenario (a serving one is pointed at `infra-lab serve`)."""
    sc = _scenario(arg, check_plan)
    if getattr(sc, "kind", "training") == "serving":
        raise CliError(f"scenario {sc.name!r} is a serving scenario ([serving] table); "
                       f"`infra-lab {command}` needs [training]: use `infra-lab serve`")
    return sc


def _unit(name: str) -> str:
    """The unit of a result field, from the package's naming convention."""
    if name.endswith("_bytes"):
        return "B"
    if "tokens_per_s" in name:   # as the printouts write it (_repr.value_text): a rate per GPU says so
        return "tokens/s/GPU" if "_per_gpu" in name else "tokens/s per user" if name.endswith("_per_user") else "tokens/s"
    if name.endswith("_s"):
        return "s"
    if "fraction" in name:
        return "-"
    return ""


def _existing_file(path: str) -> Path:
    """``path`` as a Path when it names a regular file, else a CliError saying what it is."""
    p = Path(path)
    if not p.is_file():
        what = ("is a directory, not a TOML file" if p.is_dir() else
                "is not a regular file (a TOML file is expected)" if p.exists() else "not found")
        raise CliError(f"file {path!r}: {what}")
    return p


def _toml(path: str) -> dict:
    import tomllib

    p = _existing_file(path)
    try:
        # UTF-8, with or without a byte-order mark (as scenario files: scenario.files.read_tables)
        return tomllib.loads(p.read_bytes().decode("utf-8-sig"))
    except tomllib.TOMLDecodeError as e:
        raise CliError(f"file {p.name}: not valid TOML ({e})") from None
    except UnicodeDecodeError as e:
        raise CliError(f"file {path!r}: not UTF-8 text (TOML files are UTF-8; byte {e.start}: {e.reason})") from None
    except OSError as e:
        raise CliError(f"file {path!r}: cannot be read ({e.strerror or e})") from None


def _number(text: str, what: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise CliError(f"{what} = {text!r}: expected a number") from None
    return v


def _params(items: list[str] | None) -> dict[str, float] | None:
    """``--param KEY=VALUE`` (repeatable) -> {KEY: float(VALUE)}."""
    if not items:
        return None
    out = {}
    for it in items:
        key, sep, val = it.partition("=")
        if not sep or not key:
            raise CliError(f"--param {it!r}: expected KEY=VALUE, e.g. dp_comm_overlap=0.5")
        key = key.strip()
        v = _number(val.strip(), f"--param {key}")
        if key in out and out[key] != v:   # the last one silently won
            raise CliError(f"--param {key} given twice ({out[key]:g} and {v:g}): give each factor once")
        out[key] = v
    return out


def _stack(a, sc) -> str | None:
    """``--stack NAME`` checked as the option it is (the API's errors name "the stack keyword"):
    on the scenario's platform and against its training table, as training.stack would be."""
    if a.stack is None:
        return None
    from .training.context import check_stack_keyword

    return check_stack_keyword(sc, a.stack, where="--stack", label="--stack {name}", error=CliError)


def _negative_size_message(text: str) -> str:
    return f"size {text!r}: must be >= 0 bytes (a collective moves a non-negative amount), e.g. 1GiB or 4096"


def parse_size(text: str) -> float:
    """A message size: bytes, or with a unit (KB MB GB TB = 10^3.., KiB MiB GiB TiB = 2^10..),
    a whole number of bytes (``1.5MB`` is 1,500,000; ``0.5`` is refused: typed text that is not a
    byte count is a slip, while ``il.collective`` takes a computed size that need not be whole).

    >>> parse_size("1GiB"), parse_size("256MB"), parse_size("4096")
    (1073741824.0, 256000000.0, 4096.0)
    """
    if str(text).strip().startswith("-"):
        raise CliError(_negative_size_message(text))
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([A-Za-z]*)\s*", str(text))
    unit = m.group(2).lower() if m else None
    if not m or unit not in _SIZE_UNITS:
        raise CliError(f"size {text!r}: expected bytes, optionally with a unit "
                       f"(B, KB, MB, GB, TB, KiB, MiB, GiB, TiB), e.g. 1GiB or 4096")
    if m.group(2).endswith("b"):
        # a lowercase b is a bit (the catalog's NICs are "400 Gb/s"): 1Gb read as 1e9 bytes was 8x
        # the size meant, unannounced
        bits = float(m.group(1)) * _SIZE_UNITS[unit]
        raise CliError(f"size {text!r}: a lowercase b is a bit ({text.strip()} = {bits:,.6g} bits = "
                       f"{bits / 8:,.6g} bytes); give the size in bytes with an uppercase B "
                       f"(B, KB, MB, GB, TB, KiB, MiB, GiB, TiB), e.g. 1GB or 1GiB")
    size = float(m.group(1)) * _SIZE_UNITS[unit]
    if not math.isfinite(size):   # 1e400 overflowed to inf, and the error said "size inf"
        raise CliError(f"size {text!r}: overflows a float (inf bytes); expected a finite number of "
                       f"bytes, e.g. 1GiB or 4096")
    from . import _validate as V
    from .errors import ValidationError

    try:   # typed text is a byte count; the rule's one owner is il.collective's (whole=True here)
        return V.byte_count(f"size {text!r}", size, whole=True, value_text=f"{size:,.6g} bytes",
                            example=" or 1GiB")
    except ValidationError as e:
        raise CliError(str(e)) from None


def _size_at(texts: list[str], i: int) -> float:
    """The i-th SIZE of ``infra-lab collective``: a unit alone after a number (``1 MiB``, the
    shell's two words) is refused saying to write them together; it read "size 'MiB': expected
    bytes", naming only the unit (December 2026)."""
    t = str(texts[i]).strip()
    if i > 0 and t.lower() in _SIZE_UNITS and t and re.fullmatch(r"[0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?",
                                                              str(texts[i - 1]).strip()):
        both = f"{str(texts[i - 1]).strip()}{t}"
        raise CliError(f"size {texts[i - 1]!r} {t!r}: the unit is a separate word; write it next to the "
                       f"number, {both} (each word is a size of its own: 'SIZE [SIZE ...]')")
    return parse_size(texts[i])


_TOKEN_UNITS = {"": 1.0, "k": 1e3, "m": 1e6, "b": 1e9, "t": 1e12}


def parse_tokens(text: str) -> float:
    """A token count: a number, or with K, M, B or T (10^3, 10^6, 10^9, 10^12), as token totals
    are written ("14T", Zyphra's; "1.5B").

    >>> parse_tokens("14T"), parse_tokens("14e12"), parse_tokens("1.5B")
    (14000000000000.0, 14000000000000.0, 1500000000.0)
    """
    try:            # a plain number as float() reads it (nan and inf reach il.estimate's check: exit 1)
        return float(text)
    except ValueError:
        pass
    m = re.fullmatch(r"\s*([+-]?[0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([A-Za-z]?)\s*", str(text))
    if not m or m.group(2).lower() not in _TOKEN_UNITS:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a number of tokens, optionally with K, M, B or T "
                                         f"(10^3 .. 10^12), e.g. 14T or 14e12")
    return float(m.group(1)) * _TOKEN_UNITS[m.group(2).lower()]


def tokens_text(tokens: float) -> str:
    """A token count as --tokens takes it (14e12 -> "14T", 1.5e11 -> "150B"): the largest of
    T, B, M, K that leaves at least 1 (an "1.4e+13 tokens" label read back what nobody typed)."""
    for mult, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")):
        if abs(tokens) >= mult:
            return f"{tokens / mult:,.4g}{suffix}"
    return f"{tokens:,.4g}"


def _int_list(text: str) -> list[int] | int:
    vals = []
    for part in text.split(","):
        try:
            vals.append(int(part))
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r}: expected an integer or a comma list "
                                             f"such as 1,2,4") from None
    return vals[0] if len(vals) == 1 else vals


def _bool_list(text: str) -> list[bool] | bool:
    vals = []
    for part in text.split(","):
        p = part.strip().lower()
        if p not in ("true", "false"):
            raise argparse.ArgumentTypeError(f"{text!r}: expected true, false or true,false")
        vals.append(p == "true")
    return vals[0] if len(vals) == 1 else vals


def _bool(text: str) -> bool:
    """A true/false option value (``--pxn true``), as a TOML file writes it."""
    p = text.strip().lower()
    if p not in ("true", "false"):
        raise argparse.ArgumentTypeError(f"{text!r}: expected true or false")
    return p == "true"


def _int_items(text: str) -> list[int]:
    """A comma list of integers, always as a list (il.serve_search's concurrencies)."""
    v = _int_list(text)
    return v if isinstance(v, list) else [v]


def _str_items(text: str) -> list[str]:
    """A comma list of names, always as a list (il.serve_search's weight_precisions, kv_precisions)."""
    return [p.strip() for p in text.split(",")]


def _str_list(text: str) -> list[str] | str:
    vals = [p.strip() for p in text.split(",")]
    return vals[0] if len(vals) == 1 else vals


_PRICE_WHICH = {"owned": ", the like-for-like owned P50 (il.economics.owned_cost_figures lists the owned figures)",
                "rented": ", the median current on-demand rent"}
"""What a price named by basis is, printed after its call: the owned one is one of three owned
figures (il.economics.owned_cost_figures), so the printout says which."""


def _price(text: str) -> float | str:
    """``--price-usd-per-gpu-hour``: a number [USD/GPU-h], or a price basis by name ("owned" /
    "rented"), which il.serving.price_for reads from the economics model (and checks, with the
    nearest valid name), as the API's price_usd_per_gpu_hour takes them."""
    try:
        return float(text)
    except ValueError:
        return text.strip()


def _top(text: str) -> int | None:
    if text.lower() == "all":
        return None
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a positive integer or 'all'") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a positive integer or 'all'")
    return v


# --------------------------------------------------------------------------------------
# commands
# --------------------------------------------------------------------------------------
def _plan_text(sc) -> str:
    """The plan of a training scenario as the search frame names its plan columns (the
    parallelism keys, then fsdp, sequence_parallel, pp_schedule, micro_batch and recompute; and
    fsdp_impl with FSDP), so a search row and `infra-lab estimate` of the same plan read alike."""
    p, tr = sc.parallelism, sc.training
    yes = {True: "yes", False: "no"}
    return " ".join([*(f"{k}={getattr(p, k)}" for k in ("tp", "pp", "vp", "cp", "ep", "etp", "dp", "zero")),
                     f"fsdp={yes[bool(p.fsdp)]}", f"sequence_parallel={yes[bool(p.sequence_parallel)]}",
                     # the schedule the plan runs, as the search's pp_schedule column names it (a
                     # zero-bubble plan read like a 1F1B one without it)
                     f"pp_schedule={p.schedule}",
                     f"micro_batch={tr.micro_batch}", f"recompute={tr.recompute}",
                     *([f"fsdp_impl={p.fsdp_impl}"] if p.fsdp else [])])   # the FSDP implementation


def cmd_estimate(a) -> Output:
    import infra_lab as il

    sc = _training_scenario(a.scenario, "estimate")
    if a.collectives:
        return _estimate_collectives(sc, _stack(a, sc), _params(a.param))
    est = il.estimate(sc, stack=_stack(a, sc), params=_params(a.param))
    hw = sc.hardware
    rows = [
        ("scenario", sc.name, ""), ("stack", est.stack, ""),
        ("accelerator", hw.accelerator, ""), ("gpus", est.gpus, ""),
        ("step_time", est.step_time_s, "s"), ("tokens_per_s", est.tokens_per_s, "tokens/s"),
        ("tokens_per_s_per_gpu", est.tokens_per_s_per_gpu, _unit("tokens_per_s_per_gpu")),
        ("mfu", est.mfu, "- (of dense BF16 peak)"), ("tflops_per_gpu", est.tflops_per_gpu, "TFLOP/s"),
        ("memory_per_gpu", est.memory_per_gpu_bytes / 1e9, "GB"), ("fits", est.fits, ""),
        ("nic_busy_fraction", est.nic_busy_fraction, "-"),
        *([("useful_token_fraction", est.useful_token_fraction, "- (non-padding share of tokens_per_s)")]
          if est.useful_token_fraction != 1.0 else []),
    ]
    # the table's accelerator and plan rows too: a JSON/CSV record said neither which part nor
    # which plan its numbers were of (the plan as the table writes it, search's column names)
    d = {"scenario": sc.name, "accelerator": hw.accelerator, "plan": _plan_text(sc), **est.to_dict(),
         "model_flops_per_step": est.model_flops_per_step}
    if sc.training.recompute_num_layers is not None:
        d["recompute_num_layers"] = sc.training.recompute_num_layers
    if a.tokens is not None:
        days = est.days_to_train(a.tokens)
        rows.append((f"days_to_train({tokens_text(a.tokens)} tokens)", days, "days"))
        d.update(train_tokens=a.tokens, days_to_train=days)
    out = Output()
    if not est.fits:   # the numbers are still printed (what the plan would give), but say so
        acc = hw.accelerator_spec
        out.notes.append(
            f"does not fit: this plan needs {est.memory_per_gpu_bytes / 1e9:.1f} GB per GPU against the "
            f"{acc.memory_capacity_bytes / 1e9:.1f} GB a job can address on {hw.accelerator}; "
            f"{'its step time and days are' if a.tokens is not None else 'its step time is'} what it would "
            f"give with enough memory "
            f"(`{PROG} search {a.scenario}` lists the plans that fit)")
    if a.format == "table":
        # the plan under the title, not as a row: its 120-character value set the width of the
        # value column and pushed every unit 100 columns to the right of its number
        plan = f"plan: {_plan_text(sc)}"
        if sc.training.recompute_num_layers is not None:
            plan += (f"\nrecompute: full, the first {sc.training.recompute_num_layers} layers of each pipeline "
                     "chunk (Megatron's block method; the others not recomputed)")
        out.table("estimate", [{"quantity": q, "value": v, "unit": u} for q, v, u in rows],
                  title=f"il.estimate — {sc.name}\n{plan}")
        total = est.step_time_s
        out.table("breakdown", [{"component": c, "seconds": s, "share_pct": 100 * s / total}
                                for c, s in est.breakdown.iter_rows()],
                  title="step-time breakdown [s]")
    else:
        out.table("estimate", [d])
    return out


def _estimate_collectives(sc, stack, params) -> Output:
    """``estimate --collectives``: the plan's collectives (il.training.collectives) and its
    communication per breakdown component, raw against exposed (il.training.collectives_by_dimension)."""
    import infra_lab as il

    out = Output()
    rows = il.training.collectives(sc, stack=stack, params=params)
    dims = il.training.collectives_by_dimension(sc, stack=stack, params=params)
    out.frame("collectives", rows, title=f"il.training.collectives — {sc.name}\nplan: {_plan_text(sc)}\n"
                                         "bytes and seconds of one call; calls per the calls_per unit, "
                                         "calls_per_micro_batch and calls_per_step over the stage the step carries")
    out.frame("by_component", dims, title="communication per step by breakdown component [s]: raw (overlaps "
                                          "off) and exposed (in the step time)")
    return out


SEARCH_SHOWN = ["tp", "pp", "vp", "cp", "ep", "etp", "dp", "micro_batch", "zero", "fsdp", "recompute",
                "recompute_num_layers", "sequence_parallel", "pp_schedule", "step_time_s", "tokens_per_s", "mfu", "memory_per_gpu_GB",
                "fits"]


def cmd_search(a) -> Output:
    import infra_lab as il

    sc = _training_scenario(a.scenario, "search", check_plan=False)   # il.search enumerates the plans
    cons = {k: getattr(a, k) for k in SEARCH_CONSTRAINTS if getattr(a, k, None) is not None}
    with empty_reasons() as why:
        scheds = getattr(a, "pp_schedules", None)
        if scheds is not None and scheds.strip().lower() != "all":
            scheds = [x.strip() for x in scheds.split(",") if x.strip()]
        df = il.search(sc, objective=a.objective, top=a.top, feasible_only=a.feasible_only,
                       stack=_stack(a, sc), params=_params(a.param), pp_schedules=scheds,
                       tp_across_domains=bool(getattr(a, "tp_across_domains", False)), **cons)
    out = Output()
    out.notes += [_said(w) for w in why]
    if a.format == "table":
        import polars as pl

        shown = df.with_columns((pl.col("memory_per_gpu_bytes") / 1e9).alias("memory_per_gpu_GB"))
        what = "fitting plans" if a.feasible_only else "plans"
        # --top N cuts the frame at N rows: say "the best N", not "N plans" (there are more)
        count = (f"the {shown.height} best {what} by {a.objective}" if a.top is not None and shown.height == a.top
                 else f"{shown.height} {what}, best by {a.objective} first")
        title = (f"il.search — {sc.name}: {count} "
                 f"(memory in GB; `--format csv` for every column)")
        cols = [c for c in SEARCH_SHOWN if c in shown.columns]
        if "runnable" in shown.columns and not shown["runnable"].all():
            # a plan with no path on the fabric: no step time, 0 tokens/s; say why beside "fits"
            cols.append("runnable")
            out.notes.append("runnable = no: a collective of the plan has no path on the fabric (an expert "
                             "all-to-all across rails on a rails-only fabric with pxn = false): no step "
                             "time, 0 tokens/s")
        if a.objective not in cols and a.objective in shown.columns and a.objective != "memory_per_gpu_bytes":
            cols.insert(cols.index("mfu") + 1 if "mfu" in cols else len(cols), a.objective)   # the sort key is shown
        out.frame("plans", shown, cols, title=title)
        if df.height == 0:
            out.notes.append("`--all` lists the plans that do not fit")
    else:
        out.frame("plans", df)
    return out


def _hardware_file(arg: str) -> str:
    """The file --hardware names: a path, or a shipped scenario's name (any letter case) when no
    such file exists, as every other command takes a scenario; else the path, whose error lists
    the shipped scenarios."""
    from .scenario.shipped import SCENARIO_DIR, _shipped_name, list_scenarios

    p = Path(arg)
    if p.exists() or p.suffix.lower() in (".toml", ".json") or "/" in arg or "\\" in arg:
        return arg
    shipped = _shipped_name(arg)
    if shipped is None:
        from .errors import nearest

        near = nearest(arg, list_scenarios())
        raise CliError(f"--hardware file {arg!r}: not found, and not a shipped scenario ("
                       + (f"did you mean {', '.join(repr(x) for x in near)}? " if near else "")
                       + f"shipped: {', '.join(list_scenarios())})")
    return str(SCENARIO_DIR / f"{shipped}.toml")


def _hardware(a) -> dict:
    hw: dict[str, Any] = {}
    if a.hardware:
        from .scenario.hardware_table import hardware_table_of

        # a Scenario file's [hardware] table, or a file of [hardware] keys alone (as il.collective reads it)
        hw = hardware_table_of(_existing_file(_hardware_file(a.hardware)), "--hardware")
    opts = {key: getattr(a, key) for key, _t in HARDWARE_OPTIONS if getattr(a, key) is not None}
    if hw and opts:
        from .scenario.hardware_table import updated_table

        # as Scenario.replace: the file's keys held at their derived value follow the options
        # (--accelerator GB200 on ZAYA1's file kept its 8-GPU xGMI domain: scaleup_domain = 8)
        hw = updated_table(hw, opts)
    else:
        hw.update(opts)
    if not hw:
        raise CliError("give the hardware, --hardware FILE.toml (a scenario or a "
                       "[hardware] table) and/or --accelerator/--nodes/--nic ... options")
    if a.hardware:
        from .errors import InfraLabError
        from .scenario.hardware_table import HardwareConfig

        # an invalid table says which file holds it, as a scenario file's error does
        # (Scenario.from_toml); with options, which options were applied to it
        try:
            HardwareConfig.from_dict(hw)
        except InfraLabError as e:
            given = " ".join(f"--{k.replace('_', '-')} {v}" for k, v in opts.items())
            raise type(e)(f"hardware file {Path(_hardware_file(a.hardware)).name}"
                          + (f" with {given}" if given else "") + f": {e}") from None
    return hw


def cmd_collective(a) -> Output:
    import infra_lab as il

    hw = _hardware(a)
    sizes = [_size_at(a.size, i) for i in range(len(a.size))]
    recs = []
    for s in sizes:
        c = il.collective(a.op, s, hw, a.gpus, a.algorithm, per_node=a.per_node,
                          fabric_efficiency=a.fabric_efficiency, radix=a.radix)
        # CollectiveResult.nodes / per_node count scale-up domains and ranks per domain (its docstring):
        # a node on 8-GPU parts, a rack of 18 nodes on NVL72, where "nodes 2, per_node 72" misread
        recs.append({"op": c.op, "size_bytes": int(c.size_bytes) if float(c.size_bytes).is_integer() else c.size_bytes, "gpus": c.gpus,
                     "domains": c.nodes, "per_domain": c.per_node, "algorithm": c.algorithm, "protocol": c.protocol,
                     "library": c.library, "time_s": c.time_s, "time_us": c.time_s * 1e6,
                     "algbw_GBps": c.algbw_Bps / 1e9, "busbw_GBps": c.busbw_Bps / 1e9,
                     "lower_bound_s": c.lower_bound_s, "notes": "; ".join(c.notes)})
    out = Output()
    shown = ["op", "size_bytes", "gpus", "domains", "per_domain", "algorithm", "protocol", "time_us",
             "algbw_GBps", "busbw_GBps"]
    if a.format == "table":
        from .fabric import hardware_config

        placed = hardware_config(hw)            # as il.collective reads the table
        # the catalog's name of the part: an alias ("--accelerator H100") printed as typed hid
        # which part the catalog resolved it to (H100-SXM, not H100-96GB-500W or H800-SXM)
        hw_name, dom = placed.accelerator, placed.domain_gpus
        out.table("collective", recs, shown,
                  title=f"il.collective — {a.op} on {hw_name} (time in µs, bandwidths in GB/s; domains: "
                        f"scale-up domains spanned, of {dom} of the job's GPUs each)")
    else:
        out.table("collective", recs)
    return out


def _serving_api():
    import infra_lab as il

    try:
        return il.serve, getattr(il, "serve_search", None)
    except AttributeError:
        raise CliError("serving is not available in this build of infra_lab (il.serve is "
                       "missing); update the package") from None


SERVE_TOP = 10   # rows of `serve --search` unless --top says otherwise
SERVE_FIELDS = (  # (field, unit) of il.serve's result, in the order a person reads them
    ("stack", ""), ("gpus", ""), ("output_tokens_per_s", _unit("output_tokens_per_s")),
    ("total_tokens_per_s", _unit("total_tokens_per_s")),
    ("output_tokens_per_s_per_gpu", _unit("output_tokens_per_s_per_gpu")),
    ("ttft_s", "s"), ("tpot_s", "s"), ("tokens_per_s_per_user", _unit("tokens_per_s_per_user")),
    ("e2e_latency_s", "s"), ("memory_per_gpu_bytes", "B"), ("fits", ""),
    ("max_concurrency", "requests"), ("kv_limited", ""), ("running_requests", "requests"),
    ("prompt_tokens", "tokens"))
USD_PER_M_TOKENS = "USD per million tokens"   # the unit of serve's usd_per_million_* fields
SERVE_SEARCH_SHOWN = ["tp", "pp", "dp", "ep", "dp_attention", "weight_precision", "kv_precision",
                      "concurrency", "gpus", "output_tokens_per_s_per_gpu", "tokens_per_s_per_user",
                      "ttft_s", "tpot_s", "memory_per_gpu_GB", "fits"]


def serve_record(r) -> dict:
    """The scalar fields of il.serve's result (dataclass fields except the scenario and the
    breakdown frame)."""
    import dataclasses

    if dataclasses.is_dataclass(r):
        names = [f.name for f in dataclasses.fields(r)]
    else:
        names = [f for f, _u in SERVE_FIELDS]
    out = {}
    for n in names:
        v = getattr(r, n, None)
        if isinstance(v, (bool, int, float, str)) or v is None:
            out[n] = v
    return out


SERVE_BOUNDS = (("max_tpot_s", "s"), ("max_ttft_s", "s"),
                ("min_tokens_per_s_per_user", _unit("min_tokens_per_s_per_user")))
"""The bounds ``serve --search`` hands to il.serve_search, with their units."""


SERVE_GRIDS = ("concurrencies", "weight_precisions", "kv_precisions")
"""The grids ``serve --search`` hands to il.serve_search (comma lists on the command line)."""


def _option(key: str) -> str:
    return "--" + key.replace("_", "-")


def cmd_serve(a) -> Output:
    serve, serve_search = _serving_api()
    sc = _scenario(a.scenario)
    name = getattr(sc, "name", a.scenario)
    out = Output()
    from .serving import tpot_defined

    sv = getattr(sc, "serving", None)
    if sv is not None and not tpot_defined(sv.output_tokens):   # one output token: JSON/CSV carry null
        out.notes.append("tpot_s and tokens_per_s_per_user: undefined with serving.output_tokens = 1 (no token "
                         "follows the first); the latency is ttft_s (= e2e_latency_s)")
    if not a.search:
        given = [o for o, v in (("--objective", a.objective), ("--top", getattr(a, "top", None)),
                                ("--no-pareto", a.pareto),
                                ("--max-tpot-s", a.max_tpot_s), ("--max-ttft-s", a.max_ttft_s),
                                ("--min-tokens-per-s-per-user", a.min_tokens_per_s_per_user),
                                ("--concurrencies", a.concurrencies), ("--weight-precisions", a.weight_precisions),
                                ("--kv-precisions", a.kv_precisions))
                 if v is not None or (o == "--top" and hasattr(a, "top"))]
        if given:
            raise CliError(f"{', '.join(given)}: only with --search (they choose among the configurations "
                           f"il.serve_search evaluates)")
    if a.search:
        if serve_search is None:
            raise CliError("serve --search: il.serve_search is not available in this build")
        objective = a.objective or "output_tokens_per_s"
        if objective.startswith("usd") and a.price_usd_per_gpu_hour is None:
            raise CliError(f"--objective {objective}: a cost objective needs --price-usd-per-gpu-hour")
        kw = {"objective": objective, "top": getattr(a, "top", SERVE_TOP), "pareto": a.pareto is not False}
        for key, unit in SERVE_BOUNDS:
            v = getattr(a, key)
            if v is None:
                continue
            if not (math.isfinite(v) and v > 0):   # the API's message named max_ttft_s and offered None
                raise CliError(f"{_option(key)} {v:g}: expected a finite number > 0 [{unit}] (or leave it out)")
            kw[key] = v
        if a.price_usd_per_gpu_hour is not None:
            kw["price_usd_per_gpu_hour"] = a.price_usd_per_gpu_hour
            if isinstance(a.price_usd_per_gpu_hour, str):   # a basis by name: say the price the usd_* columns used
                from .serving import price_for

                basis = a.price_usd_per_gpu_hour.strip().lower()
                price = price_for(sc.hardware.accelerator, basis)
                out.notes.append(f"usd_per_* columns at {price:.4g} USD/GPU-h ({basis}: il.serving.gpu_hour_price"
                                 f"({sc.hardware.accelerator!r}, {basis!r}){_PRICE_WHICH.get(basis, '')})")
        for key in SERVE_GRIDS:    # the grids the search tries, as il.serve_search's keywords
            if getattr(a, key) is not None:
                kw[key] = getattr(a, key)
        if a.param:
            kw["params"] = _params(a.param)
        with empty_reasons() as why, warnings.catch_warnings():
            # priced rows that do not fit: said in the CLI's words below, not as a Python warning
            warnings.filterwarnings("ignore", message="il.serve_search: does not fit", category=UserWarning)
            df = serve_search(sc, **kw)
        if "usd_per_million_tokens" in df.columns and not df["fits"].all():
            unfit = df.filter(~df["fits"])
            cap = sc.hardware.accelerator_spec.memory_capacity_bytes
            out.notes.append(
                f"does not fit: {unfit.height:,} of the {df.height:,} configurations (fits = no) need "
                f"{unfit['memory_per_gpu_bytes'].min() / 1e9:.1f} GB per GPU or more against the {cap / 1e9:.1f} GB "
                f"a job can address on {sc.hardware.accelerator}; priced as if they had enough memory "
                "(without --no-pareto, or with --top N, only the configurations that fit are listed)")
        if a.format == "table":
            import polars as pl

            if "memory_per_gpu_bytes" in df.columns:
                df = df.with_columns((pl.col("memory_per_gpu_bytes") / 1e9).alias("memory_per_gpu_GB"))
            shown = SERVE_SEARCH_SHOWN + ["usd_per_million_output_tokens", "usd_per_million_output_tokens_all_in",
                                           "usd_per_million_tokens"]
            if kw["objective"] not in shown:     # the sort key is always a column of the table
                shown.insert(shown.index("output_tokens_per_s_per_gpu"), kw["objective"])
            out.frame("configurations", df, [c for c in shown if c in df.columns],
                      title=f"il.serve_search — {name}: "
                            + ("the throughput-interactivity Pareto front" if kw["pareto"] else
                               "not only the Pareto front (--no-pareto)")
                            + f", best by {kw['objective']} first (memory in GB; `--format csv` for every column)")
            if df.height == 0:
                bounds = [f"{_option(k)} {kw[k]:g}" for k, _ in SERVE_BOUNDS if k in kw]
                out.notes.append("no configuration fits in memory" + (f" and meets {' and '.join(bounds)}"
                                                                      if bounds else ""))
        else:
            out.frame("configurations", df)
        out.notes += [_said(w) for w in why]
        return out
    r = serve(sc, params=_params(a.param))
    d = {"scenario": name, **serve_record(r)}
    if not r.fits:   # priced all the same (as `estimate` prices a plan that does not fit): say so
        cap = sc.hardware.accelerator_spec.memory_capacity_bytes
        out.notes.append(
            f"does not fit: this configuration needs {r.memory_per_gpu_bytes / 1e9:.1f} GB per GPU against the "
            f"{cap / 1e9:.1f} GB a job can address on {sc.hardware.accelerator} (max_concurrency "
            f"{r.max_concurrency:g}); its throughput and latencies are what it would give with enough memory "
            f"(`{PROG} serve {a.scenario} --search` lists the configurations that fit)")
    basis = a.price_usd_per_gpu_hour if isinstance(a.price_usd_per_gpu_hour, str) else None
    if a.price_usd_per_gpu_hour is not None:
        from .serving import price_for
        from .serving.costs import _token_costs

        # r.costs without its "does not fit" warning: the note above says it in the CLI's words
        price = price_for(sc.hardware.accelerator, a.price_usd_per_gpu_hour)
        d.update(price_usd_per_gpu_hour=price, **({"price_basis": basis.lower()} if basis else {}),
                 **_token_costs(r, price))
    if a.format != "table":
        # the engine cycle's breakdown as <component>_s, as `estimate`'s record carries its step's
        # (compute_fwd_s, ...): the JSON/CSV record had no breakdown, only the table printed it
        bd = getattr(r, "breakdown", None)
        if bd is not None and hasattr(bd, "iter_rows"):
            d.update({f"{c}_s": sec for c, sec, *_ in bd.iter_rows() if f"{c}_s" not in d})
    if a.format == "table":
        units = {**dict(SERVE_FIELDS), "price_usd_per_gpu_hour": "USD/GPU-h"}
        if basis:
            units["price_usd_per_gpu_hour"] = (f"USD/GPU-h ({basis.lower()}: il.serving.gpu_hour_price"
                                               f"({sc.hardware.accelerator!r}, {basis.lower()!r})"
                                               f"{_PRICE_WHICH.get(basis.lower(), '')})")
        # per-GPU bytes read in GB, as memory_per_gpu does (the weights printed in bytes beside the memory in GB)
        rows = [{"quantity": k[:-len("_bytes")], "value": v / 1e9, "unit": "GB"}
                if k.endswith("_per_gpu_bytes") and isinstance(v, (int, float)) else
                {"quantity": k, "value": v, "unit": units.get(k, USD_PER_M_TOKENS if k.startswith("usd_per_million") else _unit(k))}
                for k, v in d.items() if k != "memory_per_gpu_bytes"]
        if "memory_per_gpu_bytes" in d:
            # what the two parts above leave of the total: the memory the engine keeps out of its
            # weights-and-KV budget (1 − the stack's memory_utilization); without it the parts
            # (17.7 + 20.5 GB) did not add up to the total (58.8 GB) and nothing said why
            rest = d["memory_per_gpu_bytes"] - d.get("weights_per_gpu_bytes", 0.0) - d.get("kv_cache_per_gpu_bytes", 0.0)
            rows.append({"quantity": "runtime_reserve_per_gpu", "value": rest / 1e9,
                         "unit": "GB (1 − the stack's memory_utilization, of the memory a job can address)"})
            rows.append({"quantity": "memory_per_gpu", "value": d["memory_per_gpu_bytes"] / 1e9,
                         "unit": "GB"})
        out.table("serve", rows, title=f"il.serve — {name}")
        bd = getattr(r, "breakdown", None)
        if bd is not None and hasattr(bd, "to_dicts"):
            # each component's share in percent, as `estimate`'s step-time breakdown gives it (this
            # table gave a 0-1 "fraction" beside estimate's share_pct: 0.3059 here, 30.59 there)
            out.table("breakdown", [{"component": row["component"], "seconds": row["seconds"],
                                     "share_pct": 100 * row["fraction"]} for row in bd.to_dicts()],
                      title="breakdown of an engine cycle [s]")
    else:
        out.table("serve", [d])
    return out


SWEEP_CALLS = ("estimate", "search", "serve")
SCENARIO_TABLES = ("model", "hardware", "training", "parallelism", "serving")


SWEEP_RECORD = "infra-lab-sweep.json"
"""The file in a ``sweep --out FOLDER`` that records which sweep the folder's results belong to."""


def _check_sweep_folder(folder: Path, call: dict[str, Any]) -> None:
    """Refuse to resume into a folder whose results came from another sweep.

    il.sweep matches stored rows by the grid point's values only, so a rerun into the same
    folder with another scenario, --call, --objective, fixed grid value or --seed would
    return the earlier sweep's results for the shared points. The folder keeps the call that
    filled it (:data:`SWEEP_RECORD`); a different call is an error naming what differs.
    """
    if folder.exists() and not folder.is_dir():
        return   # il.sweep reports it (out = ... is a file)
    record = folder / SWEEP_RECORD
    now = json.loads(json.dumps(call, sort_keys=True, default=str))
    if record.is_file():
        try:
            before = json.loads(record.read_text())
        except (OSError, ValueError):
            before = None
        if before != now:
            what = (sorted(k for k in now.keys() | (before or {}).keys()
                           if (before or {}).get(k) != now.get(k)) if isinstance(before, dict) else ["unreadable record"])
            raise CliError(f"--out {str(folder)!r}: the folder holds the results of another sweep "
                           f"(differs in: {', '.join(what)}; 'base' is the scenario); give this sweep its own "
                           f"folder, or rerun the same command to resume")
        return
    try:
        folder.mkdir(parents=True, exist_ok=True)
        record.write_text(json.dumps(now, sort_keys=True, indent=1))
    except OSError as e:
        raise CliError(f"--out {str(folder)!r}: cannot be written ({e})") from None


def _table_hint(key: str) -> str:
    """Where a grid file's misplaced name belongs: the tables that have it as a key (``nodes``
    at the top level: "a key of [hardware]"), else the nearest table name (``[hardwar]``)."""
    from .errors import nearest
    from .scenario import HardwareConfig, ParallelismConfig, ServingConfig, TrainingConfig

    # each table's accepted keys (the KEYS its from_dict checks), the one list of valid names
    owners = [t for t, cls in (("hardware", HardwareConfig), ("training", TrainingConfig),
                               ("parallelism", ParallelismConfig), ("serving", ServingConfig))
              if key in cls.KEYS]
    if owners:
        return f" but a key of {' / '.join(f'[{t}]' for t in owners)} (put it under that table)"
    near = nearest(key, SCENARIO_TABLES)
    return f" (did you mean [{near[0]}]?)" if near else ""


def read_grid(path: str) -> tuple[dict[str, list], dict[str, str], dict[str, dict]]:
    """A sweep grid file: Scenario tables whose LIST values are swept (the Cartesian product
    of every list) and whose other values are fixed for every point, e.g. ::

        [hardware]
        nodes = [32, 64, 128]      # swept: a column "nodes"
        [training]
        seq_len = [2048, 4096]     # swept: a column "seq_len"
        precision = "fp8"          # fixed for every point

    (``hardware.nodes = [32, 64]`` at the top level is the same TOML.) Returns the grid
    (column -> values), each column's table, and the fixed values per table.
    """
    d = _toml(path)
    grid: dict[str, list] = {}
    where: dict[str, str] = {}
    fixed: dict[str, dict] = {}
    for key, val in d.items():
        if "." in key:  # a quoted "table.key"
            t, _, k = key.partition(".")
            val, key = {k: val}, t
        if key not in SCENARIO_TABLES or not isinstance(val, dict):
            raise CliError(f"grid file {Path(path).name}: {key!r} is not a Scenario table{_table_hint(key)}; "
                           f"expected tables {', '.join(SCENARIO_TABLES)} with keys = [values]")
        for k, v in val.items():
            if isinstance(v, list):
                if k in where:
                    raise CliError(f"grid file {Path(path).name}: {k!r} is swept in both "
                                   f"[{where[k]}] and [{key}]; sweep one of them")
                grid[k], where[k] = v, key
            else:
                fixed.setdefault(key, {})[k] = v
    if not grid:
        raise CliError(f"grid file {Path(path).name}: no list of values to sweep "
                       f"(e.g. [hardware] nodes = [32, 64])")
    # a key no table has failed at every point, after the whole sweep had run: check the names
    # once, with the tables' own check (nearest name, or the table the key belongs in)
    from .scenario import HardwareConfig, ParallelismConfig, ServingConfig, TrainingConfig
    from .scenario._checks import _check_keys

    keys = {"hardware": HardwareConfig.KEYS, "training": TrainingConfig.KEYS,
            "parallelism": ParallelismConfig.KEYS, "serving": ServingConfig.KEYS}
    for table in keys:
        names = {k: None for k, t in where.items() if t == table} | dict.fromkeys(fixed.get(table, {}))
        _check_keys(table, names, keys[table])
    from ._model_fields import unknown_field
    from .models import MODEL_FIELDS

    for k in [*(k for k, t in where.items() if t == "model"), *fixed.get("model", {})]:
        if k not in MODEL_FIELDS:   # the [model] table's own check (ModelSpec.from_dict), before any point runs
            raise unknown_field(k)
    return grid, where, fixed


def sweep_point(*, base: dict, where: dict, fixed: dict, call: str, objective: str | None,
                cli_stack: str | None = None, cli_params: dict | None = None,
                cli_search: dict | None = None, **point) -> dict:
    """One point of ``infra-lab sweep``: the base scenario with the point's values, run
    through ``call`` (module level, so Dask workers can import it). ``cli_stack`` /
    ``cli_params``: ``--stack`` / ``--param`` (il.estimate's and il.search's ``stack`` and
    ``params``; il.serve's ``params``); ``cli_search``: the search's other keywords (the plan
    constraints, ``pp_schedules``, ``tp_across_domains``) with ``--call search``. Named apart
    from every scenario key, so that no grid column can clash with them."""
    import infra_lab as il

    from .scenario.hardware_table import updated_table
    from .scenario.parallelism_table import updated_plan

    d = {k: (dict(v) if isinstance(v, dict) else v) for k, v in base.items()}
    changes: dict[str, dict] = {}
    for table, vals in fixed.items():
        changes.setdefault(table, {}).update(vals)
    for k, v in point.items():
        changes.setdefault(where[k], {})[k] = v
    for table, vals in changes.items():
        # base is the scenario's to_dict: its derived hardware keys follow the swept ones
        # (a stale domain_gpus = 8 refused gpus_per_node = 4; GB200 kept MI300X's 8-GPU domain)
        d[table] = (updated_table(d[table], vals) if table == "hardware" and isinstance(d.get(table), dict)
                    else updated_plan(d[table], vals) if table == "parallelism" and isinstance(d.get(table), dict)
                    else {**d.get(table, {}), **vals})
    if call == "estimate":
        rec = il.estimate(d, stack=cli_stack, params=cli_params).to_dict()
    elif call == "search":
        with empty_reasons() as why:
            df = il.search(d, objective=objective or "tokens_per_s", top=1, stack=cli_stack, params=cli_params,
                           **(cli_search or {}))
        if df.height == 0:
            raise il.ValidationError(with_reasons("no parallel plan at this point", why))
        rec = df.row(0, named=True)
    else:
        rec = serve_record(il.serve(d, params=cli_params))
    # an output that repeats a swept input (the stack of a [training] / [serving] stack sweep,
    # a search's recompute_num_layers) is the input's column already: il.sweep refuses a clash
    return {k: v for k, v in rec.items() if k not in point}


SEARCHED_KEYS = {"parallelism": ("tp", "pp", "vp", "cp", "ep", "etp", "zero", "fsdp", "sequence_parallel"),
                 "training": ("micro_batch", "recompute")}
"""The scenario keys il.search enumerates (training.PLAN_PARALLELISM_KEYS, the micro-batch and the
recompute mode): a ``sweep --call search`` grid that sets them would be ignored at every point."""


def _check_search_grid(path: str, where: dict, fixed: dict) -> None:
    """Refuse a ``--call search`` grid key the search enumerates (its value would be ignored)."""
    given = [(t, k) for k, t in where.items()] + [(t, k) for t, vals in fixed.items() for k in vals]
    for table, key in given:
        if key in SEARCHED_KEYS.get(table, ()):
            raise CliError(f"grid file {Path(path).name}: [{table}] {key} with --call search: the search "
                           f"enumerates {key} itself, so the grid's value would be ignored at every point; "
                           f"sweep it with --call estimate, or bound the search at every point with "
                           f"--{key.replace('_', '-')} V[,V...] (or its --max-/--min- bound)")


def _sweep_call_options(a, sc, where: dict, fixed: dict) -> dict:
    """``sweep``'s --stack, --param and (with --call search) search options as sweep_point's
    keywords; only those given, so that a folder a sweep without them filled still resumes."""
    out: dict[str, Any] = {}
    search = {k: getattr(a, k) for k in SEARCH_CONSTRAINTS if getattr(a, k, None) is not None}
    if a.pp_schedules is not None:
        s = a.pp_schedules.strip()
        search["pp_schedules"] = s if s.lower() == "all" else [x.strip() for x in s.split(",") if x.strip()]
    if a.tp_across_domains:
        search["tp_across_domains"] = True
    if search and a.call != "search":
        given = [_option(k) for k in search]
        raise CliError(f"{', '.join(given)}: only with --call search (they bound the plans the search tries at "
                       f"every point; --call {a.call} prices the scenario's own plan)")
    if search:   # checked once, before any point runs (il.search's own check; main names the options)
        from .training.plans import _check_constraints

        _check_constraints({k: v for k, v in search.items() if k in SEARCH_CONSTRAINTS})
    if a.stack is not None:
        if a.call == "serve":
            raise CliError("--stack: with --call serve the serving stack is [serving] stack (set it in the "
                           "scenario, or sweep it in the grid file)")
        swept = [t for t in ("training",) if "stack" in fixed.get(t, {}) or where.get("stack") == t]
        if swept:
            raise CliError(f"--stack {a.stack}: the grid file sets [training] stack too; give the stack once "
                           "(--stack for every point, or the grid's values)")
        if "accelerator" not in where and "accelerator" not in fixed.get("hardware", {}):
            _stack(a, sc)   # checked once on the scenario's platform (a grid over accelerators: at each point)
        out["cli_stack"] = a.stack
    params = _params(a.param)
    if params is not None:
        out["cli_params"] = params
    if search:
        out["cli_search"] = search
    return out


SWEEP_SHOWN = {"estimate": ["step_time_s", "tokens_per_s", "mfu", "memory_per_gpu_GB", "fits"],
               "search": ["tp", "pp", "cp", "ep", "dp", "micro_batch", "zero", "recompute",
                          "step_time_s", "tokens_per_s", "mfu", "fits"],
               "serve": ["output_tokens_per_s", "ttft_s", "tpot_s", "fits"]}


def cmd_sweep(a) -> Output:
    import warnings

    import infra_lab as il

    try:
        sweep = il.sweep
    except AttributeError:
        raise CliError("sweep is not available in this build of infra_lab (il.sweep is "
                       "missing); update the package") from None
    if a.call == "serve":
        _serving_api()
    if a.objective is not None and a.call != "search":
        raise CliError(f"--objective {a.objective}: applies to --call search only (--call {a.call} "
                       "has no objective)")
    if a.call == "search" and a.objective is not None and a.objective not in OBJECTIVES:
        # checked once here rather than failing at every point of the sweep
        from .errors import unknown

        raise unknown("search objective", a.objective, OBJECTIVES, where="--objective")
    # the options named as options (il.sweep's errors said "seed = -1" and "chunk_size = 0: expected
    # a positive integer or None", a None no option takes)
    if a.seed < 0:
        raise CliError(f"--seed {a.seed}: expected a whole number >= 0 (the base of the per-point seeds)")
    if a.chunk_size is not None and a.chunk_size < 1:
        raise CliError(f"--chunk-size {a.chunk_size}: expected a whole number of points per task >= 1 "
                       "(or leave it out for il.sweep's default)")
    sc = _scenario(a.scenario, check_plan=a.call != "search")   # a search point needs no plan
    kind = getattr(sc, "kind", "training")
    if (a.call == "serve") != (kind == "serving"):
        raise CliError(f"--call {a.call}: scenario {sc.name!r} is a {kind} scenario; "
                       + ("use --call serve" if kind == "serving" else
                          "--call serve needs a serving scenario ([serving] table)"))
    grid, where, fixed = read_grid(a.grid)
    if a.call == "search":
        _check_search_grid(a.grid, where, fixed)
    own = ("model", "hardware", "serving") if kind == "serving" else ("model", "hardware", "training",
                                                                      "parallelism")
    foreign = sorted({*where.values(), *fixed} - set(own))
    if foreign:
        raise CliError(f"grid file {Path(a.grid).name}: [{foreign[0]}] does not apply to {kind} scenario "
                       f"{sc.name!r}; allowed tables: {', '.join(own)}")
    single = a.out is not None and a.out.lower().endswith(".parquet")
    folder = a.out if a.out is not None and not single else None
    if single:   # checked before the sweep runs, not when its results are written
        target = Path(a.out)
        if target.is_dir():
            raise CliError(f"--out {a.out!r}: is a folder; give a FILE.parquet path or a folder without the "
                           ".parquet suffix")
        if not target.resolve().parent.is_dir():
            raise CliError(f"--out {a.out!r}: the folder {str(target.parent)!r} does not exist; create it first")
    if not a.retry_failed and folder is None:
        raise CliError("--no-retry-failed: only with --out FOLDER (a folder of Parquet parts, which a rerun "
                       "resumes; a FILE.parquet or no --out keeps nothing to resume)")
    kw = {"base": sc.to_dict(), "where": where, "fixed": fixed, "call": a.call,
          "objective": a.objective, **_sweep_call_options(a, sc, where, fixed)}
    if folder is not None:
        from .sweep import _FILE_SUFFIXES

        suffix = Path(folder).suffix
        if not Path(folder).exists() and suffix.lower() in _FILE_SUFFIXES:   # was made a folder of that name
            raise CliError(f"--out {a.out!r}: names a {suffix} file; --out takes FILE.parquet (one Parquet "
                           "file) or a FOLDER without a file suffix (Parquet parts written as chunks finish; "
                           "a rerun resumes)")
        _check_sweep_folder(Path(folder), {**kw, "seed": a.seed})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        df = sweep(sweep_point, grid, a.scheduler, seed=a.seed, chunk_size=a.chunk_size,
                   out=folder, progress=sys.stderr.isatty(), retry_failed=a.retry_failed, fn_kwargs=kw)
    n_fail = int(df["error"].is_not_null().sum())
    if n_fail == df.height:
        raise CliError(f"every point of the sweep failed; first: {df['error'][0]}")
    if single:
        try:
            df.write_parquet(a.out)
        except OSError as e:
            raise CliError(f"--out {a.out!r}: cannot be written ({e})") from None
    out = Output()
    # the package's warnings at the points run in this process (a schedule the stack does not run, a
    # context past the model's): said once each, as every command says them, not dropped
    out.notes += _warning_notes(caught, replay=False)
    if a.format == "table":
        import polars as pl

        table = df   # memory in GB, as the estimate and search tables print it (the file keeps bytes)
        if "memory_per_gpu_bytes" in df.columns:
            table = df.with_columns((pl.col("memory_per_gpu_bytes") / 1e9).alias("memory_per_gpu_GB"))
        shown = ["point", *grid, *[c for c in SWEEP_SHOWN[a.call] if c in table.columns], "error"]
        where_txt = f" on {a.scheduler}" if a.scheduler else ""
        out.frame("results", table, shown,
                  title=f"il.sweep — {a.call} of {sc.name} over {df.height} point{'' if df.height == 1 else 's'}{where_txt}")
        if a.out:
            out.notes.append(f"wrote {df.height} rows ({df.width} columns) to {a.out}")
    else:
        out.frame("results", df)
    if n_fail:
        print(f"{PROG} sweep: {n_fail} of {df.height} point{'' if df.height == 1 else 's'} failed (see the error column)",
              file=sys.stderr)
    del caught
    return out


VALIDATION_SUITES = ("training", "training-current", "compute", "collectives", "serving", "reliability", "multimodal")
VALIDATE_COLUMNS = ["suite", "case", "split", "metric", "unit", "measured", "predicted",
                    "error_pct"]
# error_pct of every suite is predicted / measured − 1 (collectives' link and NIC facts: against the
# middle of the published band), except training-current, whose error is the step-time error on a throughput
VALIDATE_TITLE = ("predictions vs published measurements (error = predicted / measured − 1; "
                  "training-current: step-time error = measured / predicted tokens/s − 1; "
                  "reliability: a range's error to its nearer end, 0 inside)")


def _validate_training() -> list[dict]:
    """Megatron-LM's published Selene runs (Korthikanti 2022 train / Narayanan 2021 test)."""
    import infra_lab as il

    df = il.validation.compare()
    return [{"suite": "training", "case": r["case"], "split": r["split"], "metric": "step_time",
             "unit": "s", "measured": r["measured_step_time_s"],
             "predicted": r["predicted_step_time_s"], "error_pct": r["error_pct"],
             "source": r.get("source")}
            for r in df.iter_rows(named=True)]


def _validate_training_current() -> list[dict]:
    """Current published runs (data/measurements/training_runs.csv) the model can express;
    error = step-time error (measured / predicted throughput − 1)."""
    import infra_lab as il

    fn = getattr(il.validation, "compare_current", None)
    if fn is None:
        raise CliError("current-runs validation is not available in this build "
                       "(il.validation.compare_current)")
    # the source column is the run's publication (was the accelerator's name)
    urls = dict(il.validation.current_runs().select("id", "source_url").iter_rows())
    out = []
    for r in fn().iter_rows(named=True):
        if r.get("status", "compared") != "compared":
            continue
        out.append({"suite": "training-current", "case": r["id"], "split": r["split"],
                    "metric": "tokens_per_s_per_gpu", "unit": "tokens/s",
                    "measured": r["measured_tokens_per_s_per_gpu"],
                    "predicted": r["predicted_tokens_per_s_per_gpu"], "error_pct": r["error_pct"],
                    "source": urls.get(r["id"])})
    return out


def _validate_compute() -> list[dict]:
    """The compute model's kernels (GEMMs, grouped GEMMs, fused attention, casts) against
    published kernel benchmarks (il.compute.validation_table(), notebook 02 §3) and against the
    project's own H200 measurements (il.compute.device_check_table(), §3.1); split = the row's
    role (train: used to fit)."""
    import infra_lab as il

    out = []
    for table in (il.compute.validation_table(), il.compute.device_check_table()):
        out += [{"suite": "compute", "case": r["case"], "split": r["role"], "metric": r["kind"],
                 "unit": r["unit"], "measured": r["measured"], "predicted": r["predicted"],
                 "error_pct": r["error_pct"], "source": r["source_url"]}
                for r in table.iter_rows(named=True)]
    return out


def _validate_collectives() -> list[dict]:
    """The collective model against published nccl-tests / rccl-tests results (the scored rows
    of il.collectives.validation_table(): busbw per message size, as notebook 03 §3 reports
    them; a row whose published busbw rounds to 0 is not scored), then against the published
    link and NIC facts (il.collectives.published_comparison(), error to the middle of a band)."""
    import infra_lab as il

    out = [{"suite": "collectives", "case": r["case"], "split": r["split"], "metric": "busbw",
            "unit": "GB/s", "measured": r["measured_GBps"], "predicted": r["predicted_GBps"],
            "error_pct": r["error_pct"], "source": r["source_url"]}
           for r in il.collectives.validation_table().iter_rows(named=True)
           if r["use"] == "validate" and r["measured_GBps"] > 0]
    df = il.collectives.published_comparison()
    for r in df.iter_rows(named=True):
        lo, hi = r["measured_low"], r["measured_high"]
        out.append({"suite": "collectives", "case": r["name"],
                    "split": "train" if r["calibrated"] else "test", "metric": r["metric"],
                    "unit": r["unit"], "measured": 0.5 * (lo + hi), "measured_low": lo,
                    "measured_high": hi, "predicted": r["predicted"], "error_pct": r["error_pct"],
                    "source": r.get("source_url"), "scope": r["model_scope"]})
    return out


def _validate_serving() -> list[dict]:
    import importlib

    try:
        serving = importlib.import_module("infra_lab.serving")
    except ImportError:
        raise CliError("serving validation is not available in this build (no infra_lab.serving)") from None
    df = serving.published_comparison()  # case, split, metric, unit, measured, predicted, error_pct, source_url
    return [{"suite": "serving", "case": r["case"], "split": r["split"], "metric": r["metric"],
             "unit": r["unit"], "measured": r["measured"], "predicted": r["predicted"],
             "error_pct": r["error_pct"], "source": r["source_url"]} for r in df.iter_rows(named=True)]


def _validate_reliability() -> list[dict]:
    """The failure calibrations against published fleet observations (MTBI) and the goodput
    model against published goodput, per calibration (and restart profile); a case a
    calibration is fitted to is "train", the rest "test". A range's or a bound's error is to
    its nearer end (0 inside); its measured value is the bound of a one-sided one ("at least
    105 restarts": an MTBI of at most 13.9 h; "higher than 90%": a goodput of at least 0.9), or
    the middle of a two-sided one, with the ends beside it in JSON and CSV."""
    import infra_lab as il

    R = il.reliability
    src = {r["observation"]: r["source_url"] for r in R.fleet_observations().iter_rows(named=True)}
    out = []
    for r in R.fleet_check().iter_rows(named=True):
        lo, hi = r["published_mtbi_h_low"], r["published_mtbi_h_high"]
        rec = {"suite": "reliability", "case": f"{r['observation']} · MTBI · {r['calibration']}",
               "split": "train" if r["by_construction"] else "test", "metric": "mtbi", "unit": "h",
               "measured": hi if lo <= 0 else 0.5 * (lo + hi), "predicted": r["predicted_mtbi_h"],
               "error_pct": 100 * r["error"],
               "source": src[r["observation"]]}
        if r["bound"] != "value":
            rec.update(measured_low=lo, measured_high=hi)
        out.append(rec)
    gsrc = {r["observation"]: r["source_url"] for r in R.goodput_observations().iter_rows(named=True)}
    for r in R.goodput_check().iter_rows(named=True):
        lo, hi = r["published_goodput_low"], r["published_goodput_high"]
        out.append({"suite": "reliability", "case": f"{r['observation']} · goodput · {r['calibration']} · {r['restart']}",
                    "split": "test", "metric": "goodput", "unit": "-", "measured": lo if hi >= 1 else 0.5 * (lo + hi),
                    "measured_low": lo, "measured_high": hi, "predicted": r["predicted_goodput"],
                    "error_pct": 100 * r["error"], "source": gsrc[r["observation"]]})
    return out


def _validate_multimodal() -> list[dict]:
    """Published multimodal training runs (il.multimodal.published_comparison): validation
    only, nothing fitted."""
    import infra_lab as il

    # the published range too (LMMs-Engine's MFU "0.30-0.40"): the table showed its middle alone
    return [{"suite": "multimodal", "case": r["case"], "split": r["split"], "metric": r["metric"],
             "unit": r["unit"], "measured": r["measured"], "measured_low": r["measured_low"],
             "measured_high": r["measured_high"], "predicted": r["predicted"],
             "error_pct": r["error_pct"], "source": r["source_url"]}
            for r in il.multimodal.published_comparison().iter_rows(named=True)]


def _summary(recs: list[dict]) -> list[dict]:
    groups: dict[tuple[str, str], list[float]] = {}
    for r in recs:
        e = r["error_pct"]
        if e is None or not math.isfinite(e):
            continue
        for split in (r["split"] or "-", "all"):
            groups.setdefault((r["suite"], split), []).append(abs(e))
    order = {"train": 0, "test": 1, "all": 3}
    keys = sorted(groups, key=lambda k: (VALIDATION_SUITES.index(k[0]), order.get(k[1], 2), k[1]))
    # the median beside the mean: the project's accuracy bounds are a median and a worst case
    # (docs/validation.md), so the summary states the figure they are read against
    return [{"suite": s, "split": sp, "cases": len(groups[s, sp]),
             "median_abs_error_pct": statistics.median(groups[s, sp]),
             "mean_abs_error_pct": sum(groups[s, sp]) / len(groups[s, sp]),
             "max_abs_error_pct": max(groups[s, sp])} for s, sp in keys]


def _published_range(r: dict) -> str | None:
    """The published range or bound behind a case's ``measured`` value, as the table shows it
    ("<= 13.94" for an upper bound, ">= 0.9" for a lower one, "84 to 168" for a range); None for
    a single value. The table's ``measured`` is one number (the bound, or the middle), and a
    case whose prediction lies inside shows error 0 beside a measured value it differs from."""
    lo, hi = r.get("measured_low"), r.get("measured_high")
    if lo is None or hi is None or lo == hi:
        return None
    if r.get("metric") == "mtbi" and lo <= 0:
        return f"<= {_fmt(hi)}"
    if r.get("metric") == "goodput" and hi >= 1:
        return f">= {_fmt(lo)}"
    return f"{_fmt(lo)} to {_fmt(hi)}"


def _pct2(v):
    """A percentage rounded to 0.01 for the table (None and non-finite values kept as they are)."""
    return round(v, 2) + 0.0 if isinstance(v, float) and math.isfinite(v) else v


def cmd_validate(a) -> Output:
    suites = VALIDATION_SUITES if a.suite == "all" else (a.suite,)
    recs: list[dict] = []
    skipped = []
    for s in suites:
        fn = {"training": _validate_training, "training-current": _validate_training_current,
              "compute": _validate_compute, "collectives": _validate_collectives, "serving": _validate_serving,
              "reliability": _validate_reliability, "multimodal": _validate_multimodal}[s]
        try:
            recs += fn()
        except CliError as e:
            if a.suite != "all":
                raise
            skipped.append(str(e))
    out = Output()
    if a.format == "csv":
        out.table("cases", recs, VALIDATE_COLUMNS + ["source"])
        return out
    summary = _summary(recs)
    if a.format == "table":     # a person reads percent to 0.01: a fitted case's 2e-14 % reads 0
        recs = [{k: (_pct2(v) if k.endswith("_pct") else v) for k, v in r.items()} for r in recs]
        summary = [{k: (_pct2(v) if k.endswith("_pct") else v) for k, v in r.items()} for r in summary]
        ranges = [_published_range(r) for r in recs]
        if any(ranges):   # the range an error of 0 is measured against, beside the one number
            recs = [{**r, "published": g or ""} for r, g in zip(recs, ranges, strict=True)]
            i = VALIDATE_COLUMNS.index("measured") + 1
            out.table("cases", recs, VALIDATE_COLUMNS[:i] + ["published"] + VALIDATE_COLUMNS[i:], title=VALIDATE_TITLE)
        else:
            out.table("cases", recs, VALIDATE_COLUMNS, title=VALIDATE_TITLE)
    else:
        out.table("cases", recs, VALIDATE_COLUMNS, title=VALIDATE_TITLE)
    out.table("summary", summary, title="absolute error by suite and split [%]")
    if a.format == "json":
        out.json_extra["skipped"] = skipped
    out.notes += [f"skipped: {s}" for s in skipped]
    out.notes += [f"{r['case']} ({signed(r['error_pct'])} %), counted, but {r['scope']}" for r in recs if r.get("scope")]
    return out


LARGEST_SHOWN = ["accelerator", "capacity_GB", "base", "layers", "model", "tp", "pp", "dp", "params_B", "total_GB",
                 "headroom_GB", "next_model", "next_total_GB", "fits"]
LARGEST_BY = ("depth", "presets")   # a test checks this equals memory.LARGEST_BY (no numba import here)
LARGEST_OVERRIDES = (  # option dest (= il.memory.largest_model's override), type, metavar, help
    ("seq_len", int, "TOKENS", "sequence length [tokens]"),
    ("micro_batch", int, "SEQUENCES", "micro-batch [sequences]"),
    ("zero", int, "0|1|2|3", "ZeRO stage"),
    ("recompute", str, "none|selective|full", "activation recomputation"),
    ("weight_bytes", float, "B", "bytes per parameter of the working weights, 0 < B <= 16 (default: the stack's)"),
    ("grad_bytes", float, "B", "bytes per parameter of the gradients, 0 <= B <= 16 (0: a frozen model; default: "
                               "the stack's, Megatron's fp32 main_grad 4)"),
    ("optimizer_state_bytes", float, "B", "bytes per parameter of the optimizer states, 0 <= B <= 16 (0: plain "
                                          "SGD; default by optimizer: AdamW 12)"),
    ("activation_bytes", float, "B", "bytes per activation element, 0 < B <= 16 (default 2)"),
    ("flash_attention", "bool", "true|false", "fused attention: only the fp32 log-sum-exp kept (default: the "
                                              "stack's)"),
    ("dropout", "bool", "true|false", "1-byte dropout masks kept (default: the stack's)"),
    ("reserve_fraction", float, "FRACTION", "allocator reserve as a fraction of the tensor bytes (default: the "
                                            "stack's)"),
    ("reserve_bytes", float, "B", "allocator reserve in bytes (default: the stack's)"),
    ("include_embeddings", "bool", "true|false", "count the embedding / LM-head weights and head activations "
                                                 "(default true)"),
    ("selective_mode", str, "attention|op", "what selective recompute drops (default: the stack's)"),
)
"""``largest``'s training overrides: every override il.memory.largest_model takes (a test checks the
names equal memory.largest's); with --search-plans only the first four (largest_model says so)."""


def cmd_largest(a) -> Output:
    import infra_lab as il

    sc = _training_scenario(a.scenario, "largest")
    accs = ([x.strip() for x in a.accelerators.split(",") if x.strip()] if a.accelerators is not None
            else [sc.hardware.accelerator])
    if not accs:
        raise CliError(f"--accelerators {a.accelerators!r}: expected catalog names, e.g. MI300X,H100-SXM")
    ov = {k: getattr(a, k) for k, *_ in LARGEST_OVERRIDES if getattr(a, k) is not None}
    df = il.memory.largest_model(accs, scenario=sc, family=a.family, by=a.by, max_layers=a.max_layers,
                                 search_plans=a.search_plans, **ov)
    out = Output()
    if a.format == "table":
        # the scenario named once ("zaya1-ibm-mi300x, zaya1-ibm-mi300x's plan" named it twice)
        plan = (f"{sc.name}'s cluster, the smallest tp x pp plan that fits (il.search)" if a.search_plans
                else f"{sc.name}'s plan")
        title = (f"il.memory.largest_model — {plan}, family {a.family}, by {a.by}: the largest model "
                 f"that fits one GPU (GB = 1e9 B; `--format csv` for the breakdown by component)")
        out.frame("largest", df, LARGEST_SHOWN, title=title)
        # capacity_GB beside the datasheet's figure: MI300X's "192 GB" printed as 206.1 GB read as a
        # mistake (its datasheet's GB are binary; the driver reports the bytes, notebook 02)
        caps = []
        for name in dict.fromkeys(df["accelerator"].to_list()):
            acc = il.catalog.accelerator(name)
            if acc.memory_capacity_bytes != acc.hbm_bytes:
                caps.append(f"{name}'s datasheet \"{acc.hbm_bytes / 1e9:,.0f} GB\" is the driver's "
                            f"{acc.memory_capacity_bytes / 2**30:,.1f} GiB = {acc.memory_capacity_bytes / 1e9:,.1f} GB")
        if caps:
            out.notes.append("capacity_GB: the memory a job can address, as the driver reports it in GB = 1e9 B, "
                             "not the datasheet's figure: " + "; ".join(caps))
        out.notes += [f"{r['accelerator']} {r['base'] or ''}: {r['note']}".replace(" :", ":")
                      for r in df.iter_rows(named=True) if r["note"]]
    else:
        out.frame("largest", df)
    return out


# --------------------------------------------------------------------------------------
# the parser
# --------------------------------------------------------------------------------------
EXAMPLES = {
    "estimate": """examples:
  infra-lab estimate data/scenarios/zaya1-ibm-mi300x.toml
  infra-lab estimate zaya1-ibm-mi300x --tokens 12e12 --format json
  infra-lab estimate my_run.toml --param dp_comm_overlap=0 --format csv
  infra-lab estimate zaya1-ibm-mi300x --collectives          # which collectives the plan runs, raw vs exposed""",
    "search": """examples:
  infra-lab search zaya1-ibm-mi300x --top 5 --max-tp 8
  infra-lab search my_run.toml --objective mfu --zero 1,2 --recompute none,selective
  infra-lab search my_run.toml --top all --all --tp 8 --pp 1 --format csv > plans.csv   # every plan at tp 8, pp 1, fitting or not
  infra-lab search zaya1-ibm-mi300x --pp-schedules all --min-pp 2 --top 5""",
    "collective": """examples:
  infra-lab collective all_reduce 1GiB --hardware data/scenarios/zaya1-ibm-mi300x.toml --gpus 64
  infra-lab collective all_to_all 64MiB 1GiB --accelerator H100 --nic ConnectX-7 --nodes 4 --gpus 32
  infra-lab collective all_reduce 256MB --accelerator MI300X --nodes 1 --gpus 8 --algorithm ring --format json
  infra-lab collective all_reduce 1GiB --accelerator MI300X --nodes 4 --gpus 32 --fabric-efficiency 0.8 --radix 64""",
    "serve": """examples:
  infra-lab serve maia-class-serving-mi300x
  infra-lab serve maia-class-serving-mi300x --price-usd-per-gpu-hour 2.5
  infra-lab serve maia-class-serving-mi300x --price-usd-per-gpu-hour owned   # or rented
  infra-lab serve my_serving.toml --search --max-tpot-s 0.05 --top 5 --format csv
  infra-lab serve maia-class-serving-mi300x --search --no-pareto --top 20   # not only the Pareto front
  infra-lab serve maia-class-serving-mi300x --search --concurrencies 256,1024,4096 --weight-precisions fp8
  infra-lab serve maia-class-serving-mi300x --param step_overhead_s=0.003
  infra-lab serve my_serving.toml --search --objective usd_per_million_tokens --price-usd-per-gpu-hour 2.5""",
    "sweep": """grid file: Scenario tables; lists are swept (Cartesian product), other values fixed:
  [hardware]
  nodes = [32, 64, 128]
  [training]
  seq_len = [2048, 4096]
with --call search the keys the search enumerates (tp, pp, vp, cp, ep, etp, zero, fsdp,
sequence_parallel, micro_batch, recompute) are refused in the grid: bound them at every point
with the plan-constraint options (--tp 1,2, --max-tp 8, ...)

examples:
  infra-lab sweep zaya1-ibm-mi300x --grid grid.toml
  infra-lab sweep zaya1-ibm-mi300x --grid grid.toml --stack megatron-core-rocm-asym --param dp_comm_overlap=0
  infra-lab sweep my_run.toml --grid grid.toml --call search --max-tp 8 --format csv
  infra-lab sweep my_run.toml --grid grid.toml --scheduler tcp://host:8786 --out results.parquet""",
    "largest": """the plan (cluster, parallelism, ZeRO, sequence, micro-batch, optimizer, stack) is the
scenario's; its model is replaced: by depth, each published shape of the family with the most
layers that fit; by presets, the family's largest published preset that fits (family all: every
preset)

examples:
  infra-lab largest zaya1-ibm-mi300x --accelerators MI300X,H100-SXM,H200-SXM
  infra-lab largest zaya1-ibm-mi300x --accelerators MI300X,B200 --family qwen3 --micro-batch 1
  infra-lab largest zaya1-ibm-mi300x --family all --by presets --format csv
  infra-lab largest zaya1-ibm-mi300x --by presets --reserve-fraction 0 --grad-bytes 2
  infra-lab largest zaya1-ibm-mi300x --accelerators MI300X,H100-SXM --search-plans""",
    "validate": """error_pct = 100 (predicted / measured − 1), in each case's unit. compute: TFLOP/s, or µs for the
cast kernels (a positive error there is a slower prediction); its cases include the project's own H200
kernel runs. collectives: nccl-tests / rccl-tests busbw per message size (il.collectives.validation_table's
scored rows), then link and NIC facts against the middle of the published band. training-current: the
step-time error, 100 (measured / predicted tokens/s − 1). reliability (MTBI per failure calibration,
goodput per calibration and restart profile): a published range's error is to its nearer end, 0 inside.

examples:
  infra-lab validate                       # every suite: per-case errors and a summary
  infra-lab validate training --format csv  # Megatron-LM's Selene runs (train/test split)
  infra-lab validate training-current       # current published runs the model can express
  infra-lab validate compute                # GEMM, attention and cast kernels (notebook 02)
  infra-lab validate collectives --format json   # nccl-tests / rccl-tests results and link facts
  infra-lab validate reliability            # fleet MTBI and Llama 3's goodput, per calibration""",
}


class _Parser(argparse.ArgumentParser):
    """argparse without abbreviated options (``--max-tpot`` must not silently become
    ``--max-tpot-s``: a unit suffix is part of the name), whose "unrecognized arguments" error
    names the nearest option of the command given (of any command when none is: `infra-lab
    estimate x --bogus` suggested collective's --gpus, which estimate refuses too).

    Exit statuses (:data:`EXIT_STATUSES`): a value an option or argument refuses exits 1 with the
    value and what is allowed, whether the option's own reader refuses it (``--top 0``, ``--tokens
    abc``, ``--gpus abc``) or the package does (``--gpus 0``, ``--tokens -5``); 2 is for the
    command line's grammar only (an unknown command, option or choice, a missing argument)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def _get_value(self, action, arg_string):
        # an option's reader (int, float, _top, parse_tokens, ...) refused the text: a refused
        # value, exit 1 as when the package refuses it, not a usage error
        try:
            return super()._get_value(action, arg_string)
        except argparse.ArgumentError as e:
            kind = {int: "an integer", float: "a number"}.get(action.type)
            raise _RefusedValue(action, f"{arg_string!r}: expected {kind}" if kind else e.message) from None

    def parse_known_args(self, args=None, namespace=None):
        self._argv = [str(x) for x in (sys.argv[1:] if args is None else args)]
        return super().parse_known_args(args, namespace)

    def _all_options(self) -> list[str]:
        opts = [o for a in self._actions for o in a.option_strings]
        argv = getattr(self, "_argv", [])
        for a in self._actions:
            if isinstance(a, argparse._SubParsersAction):
                given = [a.choices[tok] for tok in argv if tok in a.choices][:1]
                for sp in given or a.choices.values():
                    opts += [o for b in sp._actions for o in b.option_strings]
        return sorted(set(opts))

    def error(self, message: str):
        if message.startswith("unrecognized arguments:"):
            import difflib

            hints = []
            for tok in message.split(":", 1)[1].split():
                if tok.startswith("--"):
                    near = difflib.get_close_matches(tok.split("=")[0], self._all_options(), n=1, cutoff=0.6)
                    if near:
                        hints.append(f"{tok.split('=')[0]}: did you mean {near[0]}?")
            if hints:
                message += ("; " + "; ".join(hints) + " (options are never abbreviated: a unit suffix "
                            "such as -s is part of the name)")
        m = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)$", message)
        if m:   # a misspelt command, suite, format or objective: the nearest choice, as the API's names
            import difflib

            near = difflib.get_close_matches(m.group(1), re.findall(r"'([^']*)'", m.group(2)), n=1, cutoff=0.6)
            if near:
                message += f"; did you mean '{near[0]}'?"
        if isinstance(sys.exc_info()[1], _RefusedValue):
            self.exit(EXIT_STATUSES["refused"], f"{self.prog}: error: {message}\n")
        super().error(message)


class _RefusedValue(argparse.ArgumentError):
    """argparse's error for a value an option's reader refused (the CLI exits 1 for it)."""


def _search_options(sp, when: str = "") -> None:
    """il.search's keywords as options (``search``; ``sweep`` with --call search, ``when`` saying so):
    --pp-schedules, --tp-across-domains and the plan constraints of training.SEARCH_CONSTRAINTS."""
    sp.add_argument("--pp-schedules", dest="pp_schedules", metavar="all|NAME[,NAME...]",
                    help=when + "pipeline schedules to explore (il.search pp_schedules): 'all' = every schedule "
                         "the stack implements (zero-bubble ones included), or names (1f1b, interleaved, "
                         "zb-h1, zbv, v-half, v-min); default 1f1b and interleaved by vp")
    sp.add_argument("--tp-across-domains", dest="tp_across_domains", action="store_true",
                    help=when + "also tensor-parallel sizes beyond the scale-up domain (tp over the NICs; "
                         "il.search tp_across_domains)")
    cg = sp.add_argument_group(("plan constraints (" + when.rstrip(": ") + "; " if when else "plan constraints (")
                               + "a value or a comma list; max/min bounds)")
    for k in PLAN_KEYS:
        typ = {"recompute": _str_list, "fsdp": _bool_list, "sequence_parallel": _bool_list}.get(k, _int_list)
        meta = {"recompute": "none|selective|full[,...]", "fsdp": "true|false[,...]",
                "sequence_parallel": "true|false[,...]"}.get(k, "V[,V...]")
        cg.add_argument(f"--{k.replace('_', '-')}", dest=k, type=typ, metavar=meta)
    for k in BOUNDED_KEYS:
        for b in ("max", "min"):
            cg.add_argument(f"--{b}-{k.replace('_', '-')}", dest=f"{b}_{k}", type=int, metavar="N")


def build_parser() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    common.add_argument("--format", choices=FORMATS, default="table",
                        help="table (readable, default), json or csv (for machines): JSON is a list of the "
                             "result's rows as objects, except validate's object {cases, summary, skipped}")
    common.add_argument("--debug", action="store_true",
                        help="show the Python traceback on errors")

    p = _Parser(
        prog=PROG,
        description="infra_lab from the command line: the package's public calls on Scenario "
                    "TOML files (or the names of shipped scenarios), as tables, JSON or CSV.",
        epilog="examples:\n  infra-lab estimate data/scenarios/zaya1-ibm-mi300x.toml\n"
               "  infra-lab search zaya1-ibm-mi300x --top 5 --format json\n"
               "  infra-lab collective all_reduce 1GiB --hardware data/scenarios/zaya1-ibm-mi300x.toml --gpus 64\n"
               "  infra-lab validate\n\n`infra-lab COMMAND --help` shows each command's options.\n\n"
               + EXIT_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="store_true", help="print the package version")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    def add(name, help_, func):
        sp = sub.add_parser(name, help=help_, description=help_, parents=[common],
                            epilog=EXAMPLES[name] + "\n\n" + EXIT_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
        sp.set_defaults(func=func)
        return sp

    scen_help = ("Scenario TOML file (or a .json file of the same tables), or the name of a shipped scenario "
                 "(e.g. zaya1-ibm-mi300x)")

    sp = add("estimate", "Step time, throughput, MFU and memory of one training scenario "
                         "(il.estimate).", cmd_estimate)
    sp.add_argument("scenario", help=scen_help)
    sp.add_argument("--stack", help="software stack (default: the scenario's, else the vendor's)")
    sp.add_argument("--param", action="append", metavar="KEY=VALUE",
                    help="override a stack factor (repeatable), e.g. dp_comm_overlap=0.5")
    sp.add_argument("--tokens", type=parse_tokens, help="also report the days to train this many tokens, "
                    "e.g. 14T or 14e12 (K, M, B, T = 10^3, 10^6, 10^9, 10^12)")
    sp.add_argument("--collectives", action="store_true",
                    help="list the plan's collectives instead (il.training.collectives: op, group, ranks per "
                         "scale-up domain, bytes and time per call) and its communication per breakdown "
                         "component, raw against exposed (il.training.collectives_by_dimension)")

    sp = add("search", "Every consistent parallel plan for the scenario's model and cluster, best "
                       "first (il.search); the scenario's [parallelism] table is optional and not checked "
                       "(the search enumerates the plans).", cmd_search)
    sp.add_argument("scenario", help=scen_help)
    sp.add_argument("--objective", default="tokens_per_s", choices=OBJECTIVES,
                    help="sort key (default tokens_per_s)")
    sp.add_argument("--top", type=_top, default=10, metavar="N|all", help="rows to print (default 10)")
    g = sp.add_mutually_exclusive_group()
    g.add_argument("--feasible-only", dest="feasible_only", action="store_true", default=True,
                   help="only plans that fit in memory and can run on the fabric (default)")
    g.add_argument("--all", dest="feasible_only", action="store_false",
                   help="also plans that do not fit in memory (and, last, those with no path on the "
                        "fabric: runnable = false)")
    sp.add_argument("--stack", help="software stack (default: the scenario's, else the vendor's)")
    sp.add_argument("--param", action="append", metavar="KEY=VALUE",
                    help="override a stack factor (repeatable), e.g. dp_comm_overlap=0.5")
    _search_options(sp)

    sp = add("collective", "Time, algbw and busbw of one collective (il.collective).", cmd_collective)
    sp.add_argument("op", help=" | ".join(COLLECTIVE_OPS))
    sp.add_argument("size", nargs="+", help="message size(s) as nccl-tests defines them: bytes or "
                                           "with a unit, e.g. 4096 256MB 1GiB")
    sp.add_argument("--gpus", type=int, required=True,
                    help="ranks in the collective (placed domain-major: one scale-up domain filled "
                         "before the next)")
    sp.add_argument("--algorithm", default="auto",
                    help="auto (default: what the library's tuner picks), fastest (the fastest the "
                         "hardware allows), or one of " + ", ".join(COLLECTIVE_ALGORITHMS)
                         + " (aliases: direct = allpairs, rail_aware = pxn, pairwise = p2p)")
    sp.add_argument("--per-node", type=int,
                    help="ranks per scale-up domain when not packed (e.g. 1: one GPU per domain, which is a "
                         "node on 8-GPU parts and a rack on NVL72)")
    sp.add_argument("--fabric-efficiency", dest="fabric_efficiency", type=float, default=1.0, metavar="FRACTION",
                    help="the achieved fraction of NIC bandwidth after routing, 0 < x <= 1 (default 1; "
                         "il.collective's fabric_efficiency)")
    sp.add_argument("--radix", type=int, metavar="PORTS",
                    help="switch ports, which set the switch hops (default: data/network_constants.csv's; "
                         "il.collective's radix)")
    hg = sp.add_argument_group("hardware (a file and/or options; options win)")
    hg.add_argument("--hardware", metavar="FILE.toml",
                    help="a Scenario TOML or JSON file (its [hardware] table is used), a file of [hardware] keys, or "
                         "a shipped scenario's name (e.g. zaya1-ibm-mi300x)")
    import dataclasses

    from .scenario import FABRICS, HardwareConfig

    dflt = {f.name: f.default for f in dataclasses.fields(HardwareConfig)}   # the defaults HardwareConfig owns
    hw_help = {  # what each [hardware] key takes (docs/ARCHITECTURE.md's [hardware] table)
        "accelerator": "catalog name, e.g. MI300X, H100-SXM, B200 (required without --hardware)",
        "nodes": f"nodes in the cluster (default {dflt['nodes']})", "gpus_per_node": f"default {dflt['gpus_per_node']}",
        "scaleup_domain": "GPUs in the physical scale-up domain (default gpus_per_node; 72 for NVL72)",
        "nic": "catalog name, e.g. Pollara-400, ConnectX-7-NDR (default: the accelerator's default NIC, "
               "data/default_nics.csv)",
        "nics_per_node": "default gpus_per_node", "fabric": " | ".join(FABRICS) + f" (default {dflt['fabric']})",
        "oversubscription": f">= 1 (default {dflt['oversubscription']:g}, non-blocking; at most "
                            "data/network_constants.csv's max_oversubscription)",
        "host_cpu": "host CPU (data/network_host_cpus.csv; default the platform's)",
        "pxn": "true | false: PXN forwarding (NCCL_PXN_DISABLE=0), the path cross-rail traffic "
               "(all-to-all) takes on a rails-only fabric (default the library's: NCCL on, RCCL off)",
        "sharp": "true | false: in-network reduction in the scale-out switches (NCCL CollNet; "
                 f"default {str(dflt['sharp']).lower()}; refused on RCCL platforms)",
        "domain_gpus": "the job's GPUs in each rack-scale scale-up domain, for partly used racks (e.g. 64 "
                       "when 16 of an NVL72's 18 trays are used; default: whole domains)",
    }
    for key, typ in HARDWARE_OPTIONS:
        hg.add_argument(f"--{key.replace('_', '-')}", dest=key, type=_bool if typ == "bool" else typ,
                        help=hw_help[key])

    sp = add("serve", "Throughput, TTFT, TPOT and memory of one serving scenario (il.serve), or "
                      "the best configurations with --search (il.serve_search).", cmd_serve)
    sp.add_argument("scenario", help="serving Scenario TOML file (a [serving] table; or .json), or the name of a "
                                     "shipped one (e.g. maia-class-serving-mi300x)")
    sp.add_argument("--search", action="store_true", help="search configurations (il.serve_search)")
    sp.add_argument("--objective", metavar="OBJECTIVE",
                    help="sort key with --search (default output_tokens_per_s): "
                         + ", ".join(SERVE_OBJECTIVES) + "; the usd_* ones need --price-usd-per-gpu-hour")
    sp.add_argument("--top", type=_top, default=argparse.SUPPRESS, metavar="N|all",
                    help=f"rows to print with --search (default {SERVE_TOP})")
    sp.add_argument("--no-pareto", dest="pareto", action="store_false", default=None,
                    help="with --search: every configuration, not only the throughput-interactivity "
                         "Pareto front (il.serve_search pareto=False): with --top N the N best that fit and "
                         "meet the bounds; with --top all and no bound, every configuration evaluated, those "
                         "that do not fit included. Not search's --all, which also ranks plans that do not "
                         "fit among the best")
    sp.add_argument("--max-tpot-s", type=float, help="latency bound per output token [s] (--search)")
    sp.add_argument("--max-ttft-s", type=float, help="time-to-first-token bound [s] (--search)")
    sp.add_argument("--min-tokens-per-s-per-user", type=float, metavar="TOKENS_PER_S",
                    help="interactivity bound: tokens/s each user sees, 1/TPOT [tokens/s] (--search; "
                         "il.serve_search's min_tokens_per_s_per_user)")
    sp.add_argument("--price-usd-per-gpu-hour", type=_price, metavar="USD|owned|rented",
                    help="GPU price [USD per GPU-hour], or 'owned' / 'rented' for the economics "
                         "model's price of the accelerator (il.serving.gpu_hour_price): adds $ per "
                         "million tokens (r.costs; the usd_per_* columns with --search)")
    sp.add_argument("--concurrencies", type=_int_items, metavar="N[,N...]",
                    help="requests in flight to try with --search (il.serve_search concurrencies; default: "
                         "1..1,024 in powers of two, the scenario's own, and per split and precision the "
                         "powers of two up to its max_concurrency and that value)")
    sp.add_argument("--weight-precisions", dest="weight_precisions", type=_str_items, metavar="NAME[,NAME...]",
                    help="weight precisions to try with --search (bf16, fp8, fp4; il.serve_search "
                         "weight_precisions; default: every format the part has tensor cores for)")
    sp.add_argument("--kv-precisions", dest="kv_precisions", type=_str_items, metavar="NAME[,NAME...]",
                    help="KV-cache precisions to try with --search (bf16, fp8; il.serve_search kv_precisions; "
                         "default both)")
    sp.add_argument("--param", action="append", metavar="KEY=VALUE",
                    help="override a serving-stack factor (repeatable; il.serve's params), "
                         "e.g. step_overhead_s=0.003")

    sp = add("sweep", "Run a call over a parameter grid, in-process or on a Dask cluster (il.sweep).",
             cmd_sweep)
    sp.add_argument("scenario", help=scen_help)
    sp.add_argument("--grid", required=True, metavar="GRID.toml", help="the parameter grid")
    sp.add_argument("--call", default="estimate", choices=SWEEP_CALLS,
                    help="what runs at each point: estimate (default), search (best plan) or serve")
    sp.add_argument("--objective", help="search objective with --call search (default tokens_per_s)")
    sp.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="a Dask scheduler to run on")
    sp.add_argument("--out", metavar="FILE.parquet|FOLDER",
                    help="write the results: one Parquet file (name ending .parquet), or a folder "
                         "of Parquet parts written as chunks finish (a rerun resumes)")
    sp.add_argument("--seed", type=int, default=0, help="base seed of the per-point seeds")
    sp.add_argument("--chunk-size", type=int, help="points per task (default: il.sweep's)")
    sp.add_argument("--no-retry-failed", dest="retry_failed", action="store_false",
                    help="with --out FOLDER: a rerun keeps the points stored with an error instead of "
                         "evaluating them again (il.sweep retry_failed=False)")
    sp.add_argument("--stack", help="software stack at every point (il.estimate / il.search stack; default: "
                                    "the scenario's, else the vendor's; --call serve: [serving] stack)")
    sp.add_argument("--param", action="append", metavar="KEY=VALUE",
                    help="override a stack factor at every point (repeatable; il.estimate / il.search params, "
                         "il.serve's), e.g. dp_comm_overlap=0.5")
    _search_options(sp, "with --call search: ")

    sp = add("largest", "The largest model of a family whose training fits one GPU's memory under a "
                        "scenario's plan, per accelerator (il.memory.largest_model).", cmd_largest)
    sp.add_argument("scenario", help=scen_help + "; its plan is kept, its model replaced")
    sp.add_argument("--accelerators", metavar="NAME[,NAME...]",
                    help="catalog accelerators, e.g. MI300X,H100-SXM,H200-SXM (default: the scenario's)")
    sp.add_argument("--family", default="llama3",
                    help="model family of data/models/presets.csv (e.g. llama3, qwen3, mixtral, "
                         "megatron-gpt), or all (default llama3)")
    sp.add_argument("--by", default="depth", choices=LARGEST_BY,
                    help="depth: each published shape with the most layers that fit (default); "
                         "presets: the largest published preset that fits")
    sp.add_argument("--max-layers", dest="max_layers", type=int, default=100_000, metavar="N",
                    help="the deepest model tried with --by depth [layers] (default 100,000)")
    sp.add_argument("--search-plans", dest="search_plans", action="store_true",
                    help="search tp, pp, vp and sequence parallelism on the scenario's GPUs (il.search; "
                         "micro-batch, recompute, ZeRO, cp, ep held): a size fits when one plan fits, "
                         "and the smallest tp x pp plan is reported")
    og = sp.add_argument_group("training overrides (il.memory.largest_model's; default: the scenario's; with "
                               "--search-plans only --seq-len, --micro-batch, --zero, --recompute)")
    for key, typ, meta, help_ in LARGEST_OVERRIDES:
        og.add_argument(f"--{key.replace('_', '-')}", dest=key, type=_bool if typ == "bool" else typ, metavar=meta,
                        help=help_)

    sp = add("validate", "Predictions vs published measurements, per case, with the error of each "
                         "and a summary by train/test split.", cmd_validate)
    sp.add_argument("suite", nargs="?", default="all", choices=("all", *VALIDATION_SUITES),
                    help="which validation table (default all)")
    return p


def _negative_size(args: list[str]) -> str | None:
    """The first negative size given to ``collective`` (a positional such as ``-1GiB`` or
    ``-4096``, not the value of an option), else None."""
    if "collective" not in args:
        return None
    rest = args[args.index("collective") + 1:]
    for i, tok in enumerate(rest):
        prev = rest[i - 1] if i else ""
        if re.fullmatch(r"-\d[\w.+-]*", tok) and not prev.startswith("-"):
            return tok
    return None


def _warning_notes(caught, replay: bool = True) -> list[str]:
    """The package's own warnings of a command (the classes of :mod:`infra_lab.errors`: a
    pipeline schedule the stack does not run, a sequence past the model's published context) as
    notes, "warning: <message>", once each, in the CLI's words (:func:`_said`): printed after the
    table, or on stderr with --format json|csv, instead of Python's warning text with a source line
    of the CLI. Other warnings pass through to Python's filters (``replay``; the sweep drops them:
    its own failure count is printed in its words)."""
    notes: list[str] = []
    for w in caught:
        if getattr(w.category, "__module__", "") == "infra_lab.errors":
            note = f"warning: {_said(str(w.message))}"
            if note not in notes:
                notes.append(note)
        elif replay:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return notes


_NOT_KEYWORDS = {"help", "format", "debug", "stack", "param", *(k for k, _t in HARDWARE_OPTIONS)}
"""Option dests that are not a Python keyword of the call behind the command (--stack and --param
name themselves; a [hardware] option's errors name the table key, ``hardware.nodes``)."""


def _option_flags(parser: argparse.ArgumentParser, command: str) -> dict[str, str]:
    """The Python keyword each option of ``command`` passes on, mapped to the option a person types
    (``max_tp`` -> ``--max-tp``, ``fabric_efficiency`` -> ``--fabric-efficiency``); an on/off
    option also as the keyword with the value it sets (``feasible_only=False`` -> ``--all``,
    ``pareto=False`` -> ``--no-pareto``)."""
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices[command]
    acts = [act for act in sub._actions if act.option_strings and act.dest not in _NOT_KEYWORDS]
    flags = {act.dest: max(act.option_strings, key=len) for act in acts}
    flags.update({f"{act.dest}={act.const!r}": max(act.option_strings, key=len) for act in acts
                  if isinstance(act, argparse._StoreConstAction) and isinstance(act.const, bool)})
    if command == "collective":   # the positional SIZE is il.collective's size_bytes, as parse_size names it
        flags["size_bytes"] = "size"
    return flags


def in_cli_words(message: str, flags: dict[str, str], typed: set[str] | None = None) -> str:
    """An error of the package in the words of the command line: a keyword the command passed from an
    option is named by that option, its value after it, as the CLI's own errors write it
    (``search constraint max_tp = 0: ...`` -> ``--max-tp 0: ...``, ``gpus = 16: must be a multiple
    of per_node = 3`` -> ``--gpus 16: must be a multiple of --per-node 3``, ``in
    il.search(pp_schedules=...)`` -> ``in --pp-schedules``). A keyword written as an argument
    (``pass per_node= for other placements``, ``feasible_only=False lists every plan``) is the option
    too, and an unknown name says the option it came from (``unknown recompute 'x'.`` -> ``unknown
    recompute 'x' in --recompute.``, as the CLI's own ``--objective`` error says it). A table key
    (``training.micro_batch``, ``hardware.nodes``) is a key of the scenario file and stays as it is.
    ``typed``: the keywords whose options were given on the command line (None: every keyword of
    ``flags``); a value the message reports is named by its option only for those (a warning's
    ``with pp = 4`` is the scenario's plan unless ``--pp`` was typed), while advice (``per_node=``,
    ``feasible_only=False``) names the option to type whether or not it was.

    >>> in_cli_words("search constraints min_tp = 4 > max_tp = 2: no value allowed",
    ...              {"min_tp": "--min-tp", "max_tp": "--max-tp"})
    '--min-tp 4 > --max-tp 2: no value allowed'
    >>> in_cli_words("unknown recompute 'x'. Did you mean 'none'? Valid: full, none, selective",
    ...              {"recompute": "--recompute"})
    "unknown recompute 'x' in --recompute. Did you mean 'none'? Valid: full, none, selective"
    >>> in_cli_words("pp_schedule = 'zbv' with pp = 4; pass per_node= to place them", {"pp": "--pp",
    ...              "per_node": "--per-node"}, typed=set())
    "pp_schedule = 'zbv' with pp = 4; pass --per-node to place them"
    """
    said = flags if typed is None else {k: f for k, f in flags.items() if k in typed}   # values reported
    head, sep, rest = message.partition(": ")
    names = head.split(", ")
    if sep and all(n in said for n in names):   # "dropout, reserve_bytes: with ..." names the keywords first
        message = ", ".join(said[n] for n in names) + sep + rest
    for kw in sorted(flags, key=len, reverse=True):
        flag, k = flags[kw], re.escape(kw)
        if "=" in kw:          # an on/off option's keyword and the value it sets: "feasible_only=False"
            message = re.sub(rf"(?<![\w.-]){k}(?![\w.])", flag, message)
            continue
        message = re.sub(rf"(?<![\w.-]){k}=(?=[\s,;)]|$)", flag, message)     # "pass per_node= for ..."
        if kw not in said:
            continue
        message = re.sub(rf"(?<![\w.-])(?:search constraints? )?{k}(?:\[\d+\])? = ", flag + " ", message)
        message = re.sub(rf"(?<![\w.-])(?:il\.)?[\w.]*\({k}=\.\.\.\)", flag, message)
        message = re.sub(rf"(?<=\bin )(?:search constraint )?{k}(?=[.,;:)]| \(|$)", flag, message)
        message = re.sub(rf"^(unknown {k} (?:'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|[^\s'\"]+?))(?=\.(?: |$)|$)",
                         rf"\1 in {flag}", message)
    return message


_CLI_FLAGS: contextvars.ContextVar[tuple[dict[str, str], set[str]] | None] = contextvars.ContextVar(
    "_CLI_FLAGS", default=None)
"""The option flags (:func:`_option_flags`) of the command :func:`main` runs and the keywords of
those typed (:func:`_typed_keywords`); None outside it."""


def _typed_keywords(parser: argparse.ArgumentParser, command: str, args: list[str]) -> set[str]:
    """The keywords of ``command``'s options that ``args`` gives (options are never abbreviated;
    collective's positional SIZE always)."""
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices[command]
    given = {tok.split("=", 1)[0] for tok in args if tok.startswith("-")}
    typed = {act.dest for act in sub._actions if given & set(act.option_strings)}
    return typed | ({"size_bytes"} if command == "collective" else set())


def _said(message: str) -> str:
    """A message of the package (an error, a warning, why a search kept nothing) in the words of the
    command :func:`main` runs (:func:`in_cli_words` with its options); as it is outside :func:`main`
    (a command function called directly)."""
    got = _CLI_FLAGS.get()
    return message if got is None else in_cli_words(message, *got)


def _common_options_after_command(parser: argparse.ArgumentParser, args: list[str]) -> list[str]:
    """``args`` with --format / --debug given before the command moved right after it, where
    every command takes them (``infra-lab --format json estimate x`` read "json" as the command:
    "invalid choice: 'json'"); anything else before the command is left to argparse."""
    commands = next(a.choices for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    moved, i = [], 0
    while i < len(args) and args[i] not in commands:
        tok = args[i]
        if tok == "--debug" or tok.startswith("--format="):
            moved.append(tok)
            i += 1
        elif tok == "--format" and i + 1 < len(args):
            moved += args[i:i + 2]
            i += 2
        else:
            return args
    if not moved or i == len(args):
        return args
    return [args[i], *moved, *args[i + 1:]]


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``infra-lab`` console script; returns the exit status."""
    parser = build_parser()
    args = sys.argv[1:] if argv is None else list(argv)
    neg = _negative_size(args)
    if neg is not None:
        # argparse would read "-1GiB" as an unknown option and say the size is missing. A bad
        # value, not a usage error: exit 1, as every other refused size ("1XB", "nan", "1e40")
        print(f"{PROG} collective: error: {_negative_size_message(neg)}", file=sys.stderr)
        return EXIT_STATUSES["refused"]
    a = parser.parse_args(_common_options_after_command(parser, args))
    if a.version:
        import infra_lab

        print(infra_lab.__version__)
        return EXIT_STATUSES["ok"]
    if not a.command:
        parser.print_help()
        return EXIT_STATUSES["usage"]
    parsed = _common_options_after_command(parser, args)   # the package's messages name the options typed
    token = _CLI_FLAGS.set((_option_flags(parser, a.command), _typed_keywords(parser, a.command, parsed)))
    try:
        return _run(a)
    finally:
        _CLI_FLAGS.reset(token)


def _run(a: argparse.Namespace) -> int:
    """Run the parsed command ``a`` of :func:`main`: print its output, or its error; the exit status."""
    from .errors import InfraLabError

    caught: list = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            out = a.func(a)
        out.notes[:0] = _warning_notes(caught)
        text = out.render(a.format)
    except (InfraLabError, CliError) as e:
        if a.debug:
            raise
        for note in _warning_notes(caught):      # what was said before the error
            print(f"{PROG} {a.command}: {note}", file=sys.stderr)
        # the package's errors name its keywords: name the options the user typed instead
        msg = _said(str(e)) if isinstance(e, InfraLabError) else str(e)
        print(f"{PROG} {a.command}: error: {msg}", file=sys.stderr)
        return EXIT_STATUSES["refused"]
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return EXIT_STATUSES["interrupted"]
    except Exception as e:  # noqa: BLE001 - a bug, not bad input: say so briefly
        if a.debug:
            raise
        print(f"{PROG} {a.command}: internal error: {type(e).__name__}: {e}\n"
              f"(a bug in infra_lab, not in your input: rerun with --debug for the traceback "
              f"and report it)", file=sys.stderr)
        return EXIT_STATUSES["bug"]
    try:
        print(text)
        sys.stdout.flush()
        if a.format != "table":         # csv/json stay machine-readable; the notes go to stderr
            for note in out.notes:
                print(f"{PROG} {a.command}: {note}", file=sys.stderr)
    except BrokenPipeError:  # `infra-lab ... | head`: stop quietly
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_STATUSES["ok"]
    return EXIT_STATUSES["ok"]


if __name__ == "__main__":
    sys.exit(main())
