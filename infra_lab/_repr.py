"""Readable printouts of result objects (:class:`~infra_lab.training.Estimate`,
:class:`~infra_lab.collectives.CollectiveResult`, the reliability plans, economics' results,
the catalog's accelerators and NICs): one field a line, 4 significant figures and the unit the
field's name carries (``_s`` seconds, ``_bytes``, ``_Bps``, ``_W``, ``_usd``, ``tokens_per_s``
(``tokens/s``; ``tokens/s/GPU`` where the name says ``_per_gpu``, ``tokens/s per user`` for
``_per_user``),
fractions as a percentage beside the value).

A class gives it as its ``__str__`` (``print(obj)``) and ``_repr_pretty_`` (what IPython and
Jupyter show for ``obj`` at the end of a cell); its ``repr`` stays the dataclass's exact,
one-line repr, which error messages quote. A printout is for reading: it rounds. The exact
values are the attributes themselves and ``to_dict()``; the printout's field names are the
attribute names, so what a reader sees is what they type. Standard library only
(``import infra_lab`` stays light)."""

from __future__ import annotations

import dataclasses
import math
import numbers

from .errors import ValidationError

_SI = ((1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"))


def sig(x: float, digits: int = 4) -> str:
    """``x`` to ``digits`` significant figures without an exponent for ordinary magnitudes
    (thousands separated), e.g. ``sig(24456.02)`` → ``'24,456'``, ``sig(0.33497)`` →
    ``'0.335'``.

    >>> sig(24456.02), sig(0.3349686), sig(1.0), sig(0.0), sig(float("inf")), sig(2.5e-7)
    ('24,456', '0.335', '1', '0', 'inf', '2.5e-07')
    """
    if not math.isfinite(x):
        return str(x)
    if x == 0:
        return "0"
    mag = math.floor(math.log10(abs(x)))
    if mag >= digits - 1:
        return f"{round(x):,}" if abs(x) < 1e15 else f"{x:.{digits}g}"
    if mag < -4:
        return f"{x:.{digits}g}"
    text = f"{x:.{digits - 1 - mag}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def unsigned_zero(text: str) -> str:
    """A formatted number that reads as zero without its sign: ``'-0.00'`` → ``'0.00'``, and a
    signed format's ``'+0.0'`` → ``'0.0'`` (a value that rounds to zero at the printed
    precision, or an IEEE negative zero, is zero as printed; the exact value keeps its sign).

    >>> unsigned_zero("-0.00"), unsigned_zero("-0"), unsigned_zero("-0.01"), unsigned_zero("-0.00%")
    ('0.00', '0', '-0.01', '0.00%')
    >>> unsigned_zero(f"{-0.04:+.1f}"), unsigned_zero(f"{0.04:+.1f}"), unsigned_zero(f"{0.06:+.1f}")
    ('0.0', '0.0', '+0.1')
    >>> unsigned_zero("-inf"), unsigned_zero("+0%"), unsigned_zero("-0.000e+00")
    ('-inf', '0%', '0.000e+00')
    """
    mantissa = text.split("e")[0]
    if (text.startswith(("-", "\u2212", "+")) and "0" in mantissa
            and not any(c in "123456789" for c in mantissa)):
        return text[1:]
    return text    # a non-zero figure, and '-inf' / '+inf' (no digit), keep their sign


def signed(x: float, decimals: int = 1, *, percent: bool = False) -> str:
    """``x`` with its sign and ``decimals`` decimals, for a reader: ``signed(12.34)`` →
    ``'+12.3'``, ``signed(-1.5, 0)`` → ``'-2'``; ``percent=True`` prints a fraction as a
    percentage (``signed(-0.256, 0, percent=True)`` → ``'-26%'``, as the ``'+.0%'`` format). A
    value that rounds to zero at that precision (an IEEE negative zero included) prints as that
    zero without a sign (``'0.0'``, never ``'+0.0'`` nor ``'-0.0'``); the value keeps its exact
    sign, only the text drops it. NaN prints ``'nan'``, infinities ``'+inf'`` / ``'-inf'``. The one
    owner of a signed figure in the package's printouts and reports and in the notebooks
    (public as :func:`infra_lab.printout.signed`).

    >>> signed(12.34), signed(-0.04), signed(0.04), signed(-0.0), signed(0.06), signed(-1.5, 0)
    ('+12.3', '0.0', '0.0', '0.0', '+0.1', '-2')
    >>> signed(0.004, 0, percent=True), signed(-0.256, 0, percent=True), signed(1234.5, 0), signed(float("inf"))
    ('0%', '-26%', '+1234', '+inf')
    >>> signed(float("nan")), signed(-3, 0), signed(0.0123, 2)
    ('nan', '-3', '+0.01')
    """
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise ValidationError(f"x = {x!r}: expected a real number to print with its sign")
    if isinstance(decimals, bool) or not isinstance(decimals, numbers.Integral) or not 0 <= decimals <= 12:
        raise ValidationError(f"decimals = {decimals!r}: expected a whole number of decimals from 0 to 12")
    if not isinstance(percent, bool):
        raise ValidationError(f"percent = {percent!r}: expected True or False")
    x = float(x)
    if x != x:                     # NaN has no sign to show
        return "nan"
    return unsigned_zero(format(x, f"+.{int(decimals)}{'%' if percent else 'f'}"))


def band_text(p50: float, p5: float, p95: float, digits: int = 4) -> str:
    """A Monte Carlo band as ``'P50 (P5 to P95)'``, its three figures at one precision: that
    of ``digits`` significant figures of the largest finite magnitude among them, so a band
    that crosses zero prints its ends and centre alike (``-0.5825 (-1.008 to 0.0004)`` reads
    ``'-0.583 (-1.008 to 0.000)'``, never a long float nor an exponent beside plain numbers).
    A figure that rounds to zero at that precision prints without a sign (:func:`unsigned_zero`);
    figures that are all whole at that precision print as integers. Magnitudes below 1e-3 or
    from 1e15 print in exponent form, ``digits`` significant figures each. APPROXIMATE as
    every printout: the exact values are the caller's attributes.

    >>> band_text(50.0, 5.0, 95.0), band_text(-0.5825, -1.008, 0.0004), band_text(2.0, 1.0, 3.0)
    ('50 (5 to 95)', '-0.583 (-1.008 to 0.000)', '2 (1 to 3)')
    >>> band_text(-2293898.4, -10761880.2, 9057667.0), band_text(-0.0, 0.0, 0.0)
    ('-2,293,898 (-10,761,880 to 9,057,667)', '0 (0 to 0)')
    """
    vals = (p50, p5, p95)
    finite = [abs(v) for v in vals if math.isfinite(v)]
    scale = max(finite, default=0.0)
    if scale == 0.0:
        return " ".join((_zero_or(p50), f"({_zero_or(p5)} to {_zero_or(p95)})"))
    if scale < 1e-3 or scale >= 1e15:
        def one(v: float) -> str:
            return unsigned_zero(f"{v:.{digits - 1}e}") if math.isfinite(v) else str(v)
    else:
        dec = max(0, digits - 1 - math.floor(math.log10(scale)))
        texts = [f"{v:,.{dec}f}" for v in vals if math.isfinite(v)]
        if dec and all(t.endswith("." + "0" * dec) for t in texts):
            dec = 0

        def one(v: float) -> str:
            return unsigned_zero(f"{v:,.{dec}f}") if math.isfinite(v) else str(v)
    return f"{one(p50)} ({one(p5)} to {one(p95)})"


def _zero_or(v: float) -> str:
    """``'0'`` for a zero (either sign), the value as text otherwise (inf, nan)."""
    return "0" if v == 0 else str(v)


def _scaled(x: float, unit: str) -> str:
    """``x`` [unit] with an SI prefix: ``_scaled(2.1e11, "B/s")`` → ``'210 GB/s'``."""
    if math.isfinite(x):
        for f, p in _SI:
            if abs(x) >= f:
                return f"{sig(x / f)} {p}{unit}"
    return f"{sig(x)} {unit}"


def _seconds(x: float) -> str:
    if math.isfinite(x) and x != 0:
        a = abs(x)
        if a < 1e-3:
            return f"{sig(x * 1e6)} µs"
        if a < 1:
            return f"{sig(x * 1e3)} ms"
        if a >= 86400 * 2:
            return f"{sig(x)} s ({sig(x / 86400)} days)"
        if a >= 7200:
            return f"{sig(x)} s ({sig(x / 3600)} h)"
    return f"{sig(x)} s"


NOT_REPAID = "the operating cash does not repay the outlay within the horizon"
"""What a payback of ``math.inf`` means (:func:`infra_lab.economics.payback_years`'s convention),
in the words the printouts give it: a payback field or band prints "never" for it, the value
stays ``inf``."""


def value_text(name: str, value: object) -> str:
    """One field's value as a reader wants it, its unit read from the field's name.

    >>> value_text("step_time_s", 0.3349686), value_text("memory_per_gpu_bytes", 86324923364.2)
    ('335 ms', '86.32 GB (80.4 GiB)')
    >>> value_text("mfu", 0.1636964), value_text("busbw_Bps", 2.125e11), value_text("gpus", 1024)
    ('0.1637 (16.37 %)', '212.5 GB/s', '1,024')
    >>> value_text("price_usd_per_gpu_hour", 2.0), value_text("gpu_hours", 136299.07), value_text("tokens", 12e12)
    ('2 USD per GPU hour', '136,299 GPU·h', '12 T tokens')
    >>> value_text("output_tokens_per_s_per_gpu", 925.13), value_text("lm_positions", 458.0)
    ('925.1 tokens/s/GPU', '458 positions')
    >>> value_text("output_tokens_per_s", 1.25e6), value_text("tokens_per_s_per_gpu", 2.5e6)
    ('1.25 M tokens/s', '2.5 M tokens/s/GPU')
    >>> value_text("max_concurrency", 2096), value_text("running_requests", 256.0)
    ('2,096 requests', '256 requests')
    >>> value_text("output_tokens_per_s_per_gpu_error_pct", -12.5)
    '-12.5 %'
    >>> value_text("payback_years", 3.5), value_text("payback_years", float("inf"))
    ('3.5 years', 'never (inf: the operating cash does not repay the outlay within the horizon)')
    """
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return repr(value) if isinstance(value, str) else str(value)
    requests = name in ("concurrency", "requests") or name.endswith(("_concurrency", "_requests"))
    if isinstance(value, int):
        return f"{value:,} requests" if requests else f"{value:,}"
    if isinstance(value, dict) and value and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                                 for v in value.values()):
        return ", ".join(f"{k} {value_text(name, float(v))}" for k, v in value.items())
    if isinstance(value, tuple) and value and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                                  for v in value):
        return ", ".join(value_text(name, float(v)) for v in value)
    if not isinstance(value, float):
        try:
            value = float(value)    # a numpy scalar
        except (TypeError, ValueError):
            return repr(value)
    x = value
    if name.endswith("_pct"):       # a percentage (tokens_per_s_error_pct is an error, not a throughput)
        return f"{sig(x)} %"
    if name.endswith("_bytes"):
        return f"{_scaled(x, 'B')} ({sig(x / 2**30)} GiB)" if abs(x) >= 2**30 else _scaled(x, "B")
    if name.endswith("_Bps") or "_Bps_" in name:
        return _scaled(x, "B/s")
    if "tokens_per_s" in name:      # tokens_per_s_per_gpu, output_tokens_per_s, ... (not seconds)
        unit = ("tokens/s/GPU" if "_per_gpu" in name
                else "tokens/s per user" if name.endswith("_per_user") else "tokens/s")
        return f"{_scaled(x, '')} {unit}".replace("  ", " ") if abs(x) >= 1e6 else f"{sig(x)} {unit}"
    if name.startswith("tflops"):
        return f"{sig(x)} TFLOP/s"
    if name == "peak_flops" or name.endswith("_flops"):
        return _scaled(x, "FLOP/s")
    if "flops" in name:
        return _scaled(x, "FLOP")
    if name.endswith("_s"):
        return _seconds(x)
    if name.endswith("_Hz"):
        return _scaled(x, "Hz")
    if name.endswith("_bps"):
        return _scaled(x, "bit/s")
    if name.endswith("_W"):
        return _scaled(x, "W")
    if "usd" in name:
        per = name[name.index("usd") + 3:].strip("_").replace("_", " ")
        return f"{sig(x)} USD {per.replace('gpu', 'GPU')}".rstrip()
    gpu_h = name == "gpu_hours" or name.endswith("_gpu_hours")
    if gpu_h or name == "tokens" or name.endswith("_tokens"):
        unit = "GPU·h" if gpu_h else "tokens"
        return f"{_scaled(x, '')} {unit}".replace("  ", " ") if abs(x) >= 1e6 else f"{sig(x)} {unit}"
    if name.endswith("_hours"):
        return f"{sig(x)} h"
    if name == "years" or name.endswith("_years"):
        if "payback" in name and x == math.inf:   # payback_years' "never repaid" (the field stays inf)
            return f"never (inf: {NOT_REPAID})"
        return f"{sig(x)} years"
    if name == "months":
        return f"{sig(x)} months"
    if requests:
        return f"{sig(x)} requests"
    if name == "positions" or name.endswith("_positions"):
        return f"{sig(x)} positions"
    if name in ("mfu", "goodput", "irr", "utilization", "waste") or name.endswith(("_fraction", "_share", "_availability", "_utilization")):
        return f"{sig(x)} ({sig(100 * x)} %)" if math.isfinite(x) else sig(x)
    return sig(x)


def readable(obj: object, names: tuple[str, ...] | None = None, *, title: str | None = None,
             footer: str = "exact values: the attributes, or .to_dict()") -> str:
    """A dataclass instance as a titled block, one field a line: ``name  value unit``. The
    fields printed are ``names`` (default: the dataclass's fields with ``repr=True``; a field
    ``notes`` holding a tuple of strings prints one note a line); ``footer`` ends it."""
    cls = type(obj).__name__
    if names is None:
        names = tuple(f.name for f in dataclasses.fields(obj) if f.repr)
    rows, notes = [], []
    for n in names:
        v = getattr(obj, n)
        if n == "notes" and isinstance(v, tuple) and all(isinstance(s, str) for s in v):
            notes.extend(v)
            continue
        if isinstance(v, tuple) and all(isinstance(s, str) for s in v):
            rows.append((n, ", ".join(v) if v else "()"))
            continue
        rows.append((n, value_text(n, v)))
    width = max((len(n) for n, _ in rows), default=0)
    lines = [f"{cls}: {title}" if title else cls]
    lines += [f"  {n.ljust(width)}  {t}" for n, t in rows]
    lines += [f"  note: {s}" for s in notes]
    if footer:
        lines.append(f"  ({footer})")
    return "\n".join(lines)


class Printout:
    """Mixin of the result classes: ``print(obj)`` (``__str__``) and what IPython and Jupyter show
    for ``obj`` at the end of a cell (``_repr_pretty_``) are the readable printout
    :meth:`_printout` returns (by default :func:`readable` of the dataclass's fields); ``repr``
    stays the dataclass's exact one-line repr, which error messages quote."""

    __slots__ = ()

    def _printout(self) -> str:
        return readable(self, footer="exact values: the attributes")

    def __str__(self) -> str:
        return self._printout()

    def _repr_pretty_(self, p, cycle) -> None:
        p.text(self._printout())
