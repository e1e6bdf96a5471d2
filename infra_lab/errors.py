"""Error types. Every error says what was given, what is allowed, and where it came from."""

from __future__ import annotations

import contextlib
import difflib
import re
import unicodedata
import warnings
from collections.abc import Iterable, Mapping

_NUMPY_REPR = re.compile(r"\b(?:np|numpy)\.(?:float|int|uint|complex|longdouble|double|single|half|bool_?|str_)"
                         r"\d*\(([^()]*)\)")


def plain_numbers(text: str) -> str:
    """``text`` with numpy scalar reprs written as the plain value (NumPy 2 spells a scalar
    ``np.float64(-0.001)``; a message says ``-0.001``).

    >>> plain_numbers("rates_per_s[0] = np.float64(-0.001): must be >= 0")
    'rates_per_s[0] = -0.001: must be >= 0'
    """
    return re.sub(r"\b(?:np|numpy)\.(True|False)_", r"\1", _NUMPY_REPR.sub(r"\1", text))


class InfraLabError(Exception):
    """Base class of infra_lab's own errors. A message's numpy scalars print as plain numbers
    (:func:`plain_numbers`), wherever the value came from."""

    def __init__(self, *args: object) -> None:
        if args and isinstance(args[0], str):
            args = (plain_numbers(args[0]), *args[1:])
        super().__init__(*args)


class ValidationError(InfraLabError, ValueError):
    """An input value is invalid; the message names the field, the value and what is allowed."""


class UnknownNameError(InfraLabError, KeyError):
    """A name (catalog entry, preset, key, enum value) is not known; lists the nearest valid names."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0]) if self.args else ""


class MissingArgumentError(InfraLabError, TypeError):
    """A public call was made without an argument it requires (``il.economics.zyphra_bill()``);
    the message names the call, each missing argument, what it is and how to call it
    (:func:`missing_arguments`). A TypeError, as Python's own binding error is, so code that
    caught that still catches this."""


class DataError(InfraLabError, ValueError):
    """A data file in data/ is malformed; the message names the file, row and column."""


class EmptyResultWarning(UserWarning):
    """A search (``il.search``, ``il.serve_search``) kept nothing: the frame is empty, as the
    contract says, and this warning says why (the smallest memory against the capacity, or
    the bound the best configuration misses). Callers that handle an empty frame themselves
    filter it: ``warnings.simplefilter("ignore", EmptyResultWarning)``."""


class SearchEdgeWarning(UserWarning):
    """``il.serve_search``'s best row runs the largest concurrency the search tried for its
    split and precisions while more requests would run (its ``max_concurrency``): a larger
    concurrency may do better. The frame's ``grid_edge`` column marks every such row; the
    default grid reaches max_concurrency unless the configuration cap or the concurrency bound
    stopped it, so this mostly follows a ``concurrencies`` list that stops short. Given only
    when the objective is one a larger concurrency can improve (throughput, $ per token:
    ``infra_lab.serving.search.EDGE_OBJECTIVES``), not for TTFT, TPOT, latency or tokens/s per
    user."""


class ScheduleSupportWarning(UserWarning):
    """``il.estimate`` priced a ``parallelism.pp_schedule`` that the scenario's training stack
    does not implement (``data/pp_schedule_stacks.csv``; e.g. V-Min on Megatron-LM, which runs
    1F1B and interleaved 1F1B only). The estimate is what the schedule would give with the
    stack's factors; ``il.search`` does not offer such a pair. Also given for a plan whose
    micro-batches per step m the stack's schedule refuses (``microbatch_rule`` in
    ``data/pp_schedule_stacks.csv``: interleaved with m not a multiple of pp on Megatron-LM /
    Megatron-Core and Primus; torchtitan's 1F1B with m < pp; Primus' ZBV with m < 2·pp − 1),
    which ``il.search`` does not offer either."""


class NodeSizeWarning(UserWarning):
    """A [hardware] table names a part whose node (compute tray) holds fewer GPUs than
    ``gpus_per_node``'s default of 8 (GB200, GB300, MI450X: ``node_gpus`` = 4 in
    data/network_platforms.csv) and leaves ``gpus_per_node`` out: ``nodes`` then counts
    8-GPU nodes, so ``{"accelerator": "GB200", "nodes": 18}`` is 144 GPUs, two NVL72 racks.
    The input is accepted (the default is the contract's); the warning names the tray size
    and how to say one rack. Given by :class:`infra_lab.Scenario` and
    :func:`infra_lab.scenario.as_hardware` for user tables, not for a Scenario's own
    ``to_dict()`` (which writes ``gpus_per_node``) nor for the tables the package builds from a
    GPU count (the network and training explorers, ``training_throughput``: they state the
    part's tray, :func:`infra_lab.scenario.hardware_table.own_node_layout`)."""


class PartBoundWarning(UserWarning):
    """:meth:`infra_lab.Scenario.replace` (and ``infra-lab sweep`` / ``--accelerator`` on a
    scenario file, :func:`infra_lab.scenario.hardware_table.updated_table`) moved a scenario to
    another accelerator and replaced a [hardware] key the table gave explicitly that the new part
    cannot have: a discrete host CPU (ZAYA1's Xeon 8570) on a part whose host is integrated in
    its module (GB200/GB300: Grace, ``host_integrated`` in data/network_platforms.csv). The
    message names the key, the old and the new value. A key the change names itself is not
    replaced: an impossible value given so is refused with a ValidationError."""


class ContextLengthWarning(UserWarning):
    """A sequence longer than the model's published context (``max_seq_len`` of its config)
    for a model with rotary or no position embeddings: such runs exist (context extension,
    e.g. RoPE scaling), so the input is accepted and the warning names the published length.
    Learned absolute position embeddings have no row past ``max_seq_len``: there the input
    is refused with a ValidationError instead."""


class NicFeatureWarning(UserWarning):
    """A flow simulation sprays packets (``routing="spray"``, :func:`infra_lab.fabric.route`,
    :func:`~infra_lab.fabric.simulate_step`, :func:`~infra_lab.fabric.monte_carlo`) over a NIC
    that no source in data/nics.csv claims sprays packets (``packet_spraying`` false: unknown,
    not verified absent). The result is ideal spraying, as if the NIC did; spraying on a NIC
    without out-of-order delivery costs reordering the model does not price. The message names
    the NIC and the NICs the catalog says spray."""


@contextlib.contextmanager
def empty_reasons():
    """Catch the :class:`EmptyResultWarning` of the searches run inside the block and yield a
    list that holds their reasons (the text after "empty result: ") once the block ends; other
    warnings pass through. For callers that report an empty frame in their own words (the
    CLI, the widgets, the studies that need a plan)."""
    got: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield got
    for w in caught:
        if issubclass(w.category, EmptyResultWarning):
            got.append(str(w.message).split("empty result: ", 1)[-1])
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


def with_reasons(message: str, reasons: Iterable[str]) -> str:
    """``message`` followed by each reason of :func:`empty_reasons` (": reason" each), the
    wording every caller that reports an empty search uses."""
    return message + "".join(f": {r}" for r in reasons)


def _fold(text: str) -> str:
    """``text`` compared as a name: Unicode compatibility forms folded (full-width 'ＭＩ３００Ｘ'
    reads 'MI300X'), outer whitespace dropped, case-insensitive."""
    return unicodedata.normalize("NFKC", text).strip().lower()


_MAKERS = frozenset({"nvidia", "amd", "instinct", "mellanox", "pensando", "meta", "hgx", "dgx"})
"""Maker and product-line words a typed name often carries and a catalog name leaves out
('NVIDIA H100 SXM', 'AMD Instinct MI300X', 'Mellanox ConnectX-7'): :func:`squash` drops them."""


def squash(text: str) -> str:
    """``text`` reduced for comparing names in suggestions: :func:`_fold`, an organisation
    prefix before '/' dropped ('meta-llama/Llama-3.1-405B'), maker words dropped
    (:data:`_MAKERS`), then every character that is not a letter or a digit dropped, so that
    'H100 SXM', 'h100_sxm' and 'H100-SXM' read alike. Used to rank suggestions only; a lookup
    never accepts a name by it.

    >>> squash("NVIDIA H100 SXM"), squash("meta-llama/Llama-3.1-405B"), squash("CX7-400")
    ('h100sxm', 'llama31405b', 'cx7400')
    """
    key = _fold(text).rsplit("/", 1)[-1]
    words = [w for w in re.split(r"[^0-9a-z]+", key) if w]
    kept = [w for w in words if w not in _MAKERS] or words
    return "".join(kept)


_MIN_PREFIX = 3
"""Shortest squashed name that counts as a prefix match in :func:`nearest` [characters]
('cx7' in 'CX7-400'; a two-character alias such as '1t' would match too much)."""


def nearest(name: str, valid: Iterable[str], n: int = 3,
            aliases: Mapping[str, str] | None = None) -> list[str]:
    """The closest valid names to ``name``, best first; none for a blank name.

    ``aliases`` maps other spellings (a catalog's declared aliases) to the valid name they
    stand for; they are matched like names and suggested as the name. Ranked in three tiers:
    (1) names and aliases equal to ``name`` after :func:`squash` (case, punctuation, spaces,
    maker words and an organisation prefix ignored: 'ConnectX7', 'nvidia h100 sxm'); (2) those
    of which one squashed form starts the other ('cx7' starts 'CX7-400', 'mi300' starts
    'MI300X'), longest shared start first; (3) difflib's close matches on the folded
    (case-insensitive, Unicode-compatible) forms, or failing those the names and aliases one
    contains the other. An approximation of "what the user meant": it only ranks
    suggestions, it never accepts a name.
    """
    valid = list(valid)
    if not _fold(str(name)):
        return []
    pairs = [(v, v) for v in valid] + [(a, c) for a, c in (aliases or {}).items() if c in valid]
    key = squash(str(name))
    by_squash: dict[str, str] = {}
    for spelling, canon in pairs:
        by_squash.setdefault(squash(str(spelling)), canon)
    ranked: list[str] = []
    if key in by_squash:
        ranked.append(by_squash[key])
    if len(key) >= _MIN_PREFIX:
        pref = [(min(len(k), len(key)), abs(len(k) - len(key)), c) for k, c in by_squash.items()
                if len(k) >= _MIN_PREFIX and k != key and (key.startswith(k) or k.startswith(key))]
        ranked += [c for _, _, c in sorted(pref, key=lambda t: (-t[0], t[1]))]
    folded: dict[str, str] = {}
    for spelling, canon in pairs:
        folded.setdefault(_fold(str(spelling)), canon)
    fk = _fold(str(name))
    hits = difflib.get_close_matches(fk, list(folded), n=n, cutoff=0.4)
    if not hits:  # fall back to substring matches
        hits = [k for k in folded if fk in k or k in fk][:n]
    ranked += [folded[h] for h in hits]
    return list(dict.fromkeys(ranked))[:n]


SHORT_REPR_CHARS = 80
"""Longest repr of a value an error message quotes [characters]; longer ones are cut (…)."""


def short_repr(value: object, limit: int = SHORT_REPR_CHARS) -> str:
    """``repr(value)`` cut to ``limit`` characters, and for anything but a string, None or a
    number its type named after it: an object passed where a name belongs (a Scenario, a
    DataFrame) is quoted as ``Scenario(name='zaya1-ibm-mi300x', model=…) (a Scenario)``, not
    as its whole printout."""
    text = repr(value)
    if len(text) > limit:
        text = text[: max(limit - 1, 1)] + "…"
    if value is None or isinstance(value, (str, bool, int, float)):
        return text
    return f"{text} (a {type(value).__name__})"


def unknown(kind: str, name: object, valid: Iterable[str], where: str = "",
            aliases: Mapping[str, str] | None = None) -> UnknownNameError:
    """Build an UnknownNameError naming the value (:func:`short_repr`), the nearest valid names
    and all valid names. A value that is not a string gets no nearest-name guess. ``aliases``
    (other spelling -> valid name: a catalog's declared aliases) lets :func:`nearest` find the
    name an alias-like spelling meant ('CX7-400' -> 'ConnectX-7-NDR' through the alias 'CX7');
    the message suggests and lists valid names only."""
    valid = sorted(valid)
    near = nearest(name, valid, aliases=aliases) if isinstance(name, str) else []
    hint = f" Did you mean {', '.join(repr(x) for x in near)}?" if near else ""
    loc = f" in {where}" if where else ""
    return UnknownNameError(
        f"unknown {kind} {short_repr(name)}{loc}.{hint} Valid: {', '.join(valid)}"
    )


def check_positive(field: str, value: object, *, integer: bool = False, allow_zero: bool = False) -> float:
    """Return ``value`` as a number if it is finite and > 0 (>= 0 with allow_zero), else raise."""
    import math

    kind = "integer" if integer else "number"
    if type(value).__module__ == "numpy" and getattr(value, "ndim", None) == 0 and hasattr(value, "item"):
        value = value.item()     # a numpy scalar or a 0-d array: the Python number it holds
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        try:
            import numpy as np

            ok = isinstance(value, (np.integer, np.floating))
        except ImportError:  # pragma: no cover
            ok = False
        if not ok:
            raise ValidationError(f"{field} = {value!r}: expected a positive {kind}")
    v = float(value)
    if integer and (not math.isfinite(v) or v != int(v)):
        raise ValidationError(f"{field} = {value!r}: expected a positive integer")
    if not math.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        allowed = ">= 0" if allow_zero else "> 0"
        raise ValidationError(f"{field} = {value!r}: must be a finite {kind} {allowed}")
    return int(value) if integer else v


_UNEXPECTED_KEYWORD = re.compile(r"got an unexpected keyword argument '([^']+)'")

KEYWORD_SPELLINGS = {
    "gpus": ("n_gpus",), "n_gpus": ("gpus",), "num_gpus": ("gpus", "n_gpus"),
    "world_size": ("gpus", "n_gpus"), "n_nodes": ("nodes",), "num_nodes": ("nodes",),
    "accelerator": ("hardware",), "hardware": ("accelerator",), "gpu": ("accelerator", "hardware"),
    # il.memory's serving-side calls beside the [serving] table's names (session 37)
    "tokens": ("context",), "context": ("tokens",), "tp": ("gpus",), "concurrency": ("batch",),
    "weight_precision": ("precision",),
    # the [training] table's batch and sequence beside their common spellings (session 38:
    # il.memory.training_memory(sc, mbs=4) was refused with no suggestion)
    "mbs": ("micro_batch",), "micro_batch_size": ("micro_batch",), "microbatch": ("micro_batch",),
    "gbs": ("global_batch",), "global_batch_size": ("global_batch",),
    "seq_length": ("seq_len",), "sequence_length": ("seq_len",), "zero_stage": ("zero",),
}
"""The other spelling of a keyword some public calls use (a GPU count is ``gpus`` in il.collective,
il.memory and il.expansion, ``n_gpus`` in il.economics; a part is named by ``accelerator``
where a call takes its name, given inside ``hardware`` where a call takes the [hardware] table;
a request's length is ``context`` in il.memory.inference_memory / max_inference_batch and
``tokens`` in kv_cache_bytes, the requests held ``batch`` where the [serving] table says
concurrency, the tensor-parallel split ``gpus`` where it says tp, the weights' format
``precision`` where it says weight_precision; the [training] table's ``micro_batch``,
``global_batch``, ``seq_len`` and ``zero`` as Megatron-style flags and config files spell them:
mbs, micro_batch_size, gbs, seq_length, zero_stage): :func:`named_keywords` names the spelling the
call takes first."""

_SPELLING_NOTES = {
    ("accelerator", "hardware"): "this call takes the part inside its [hardware] table: "
                                 "hardware={'accelerator': 'MI300X', 'nodes': 2}",
    ("gpu", "hardware"): "this call takes the part inside its [hardware] table: "
                         "hardware={'accelerator': 'MI300X', 'nodes': 2}",
    ("hardware", "accelerator"): "this call takes the part's name: accelerator='MI300X'",
}


def named_keywords(func=None, *, name: str | None = None):
    """``func`` whose misspelt keyword (``il.reliability.simulate(n=3)``) raises
    :func:`unknown` with the nearest parameter and the call named, instead of Python's plain
    "got an unexpected keyword argument" TypeError, and whose missing required argument
    (``il.economics.zyphra_bill()``) raises :func:`missing_arguments`' MissingArgumentError
    (what the argument is and how to call it) instead of "missing 1 required positional
    argument". The keyword part is for public calls without ``**kwargs`` (those with
    ``**kwargs`` check their keywords themselves, as ``il.serve_search`` does); the missing
    argument part serves both.

    Costs one Python call frame per call and nothing else: the arguments are looked at only after
    Python refused them, and only a TypeError raised while binding the arguments of ``func``
    itself (no frame of ``func`` on the traceback) is translated; one raised inside it passes
    unchanged. ``name`` is how the message names the call (default ``func.__name__``)."""
    import functools
    import inspect

    if func is None:
        return functools.partial(named_keywords, name=name)
    called = f"{name or func.__name__}()"

    @functools.wraps(func)
    def call(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except TypeError as e:
            if e.__traceback__ is None or e.__traceback__.tb_next is not None:
                raise                       # raised inside func, not while binding its arguments
            gone = _MISSING_ARGUMENTS.search(str(e))
            if gone is not None:
                raise missing_arguments(func, _unbound(func, args, kwargs) or re.findall(
                    r"'([^']+)'", gone.group(1)), name or func.__name__) from None
            m = _UNEXPECTED_KEYWORD.search(str(e))
            if m is None:
                raise
            params = [p.name for p in inspect.signature(func).parameters.values()
                      if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
            bad = m.group(1)
            if not params:
                raise ValidationError(f"{called} takes no keyword arguments: got {bad} = "
                                      f"{short_repr(kwargs[bad]) if bad in kwargs else '?'}") from None
            raise unknown_keyword(bad, params, called) from None

    return call


def unknown_keyword(bad: str, params: Iterable[str], called: str, *, note: str | None = None,
                    suggest: bool = True) -> UnknownNameError:
    """The UnknownNameError for keyword ``bad`` that the call ``called`` (``"il.x.f()"``) does not
    take, in one wording for :func:`named_keywords` and for the calls that check their
    ``**kwargs`` themselves (:func:`infra_lab._validate.keywords`): this call's spelling of the
    keyword first (n_gpus -> gpus), then a parameter one of whose words is the name typed (n ->
    n_runs), then the nearest by letters; ``note`` (else the spelling's note) says what to do,
    before the valid names. ``suggest=False`` leaves the guesses out, for a ``note`` that says
    where the keyword belongs instead (a [parallelism] key given to training_memory)."""
    params = list(params)
    other = [p for p in KEYWORD_SPELLINGS.get(bad, ()) if p in params]
    words = [p for p in params if bad in p.split("_") and p != bad]
    near = list(dict.fromkeys([*other, *words, *nearest(bad, params)]))[:3] if suggest else []
    note = note or (_SPELLING_NOTES.get((bad, other[0])) if other else None)
    hint = f" Did you mean {', '.join(repr(x) for x in near)}?" if near else ""
    hint += f" ({note})" if note else ""
    return UnknownNameError(f"unknown keyword argument {short_repr(bad)} of {called}.{hint} "
                            f"Valid: {', '.join(sorted(params))}")


_MISSING_ARGUMENTS = re.compile(r"missing \d+ required (?:positional|keyword-only) arguments?: (.+)$")

_PARAMETER_HEADING = re.compile(r"^Parameters\n-+\n(.*?)(?=\n[A-Z][A-Za-z ]*\n-+\n|\Z)", re.S | re.M)

ARGUMENT_HINTS: dict[str, tuple[str, str]] = {
    "accelerator": ("an accelerator's catalog name, e.g. 'MI300X'", "il.catalog.accelerator_names() lists them"),
    "final_run_gpu_hours": ("the GPU-hours of the final run [GPU-h]",
                            "from an estimate: il.economics.gpu_hours_from_estimate(il.estimate(sc), tokens)"),
    "hardware": ("a [hardware] table, e.g. {'accelerator': 'MI300X', 'nodes': 2}", "a scenario's is sc.hardware"),
    "scenario": ("a Scenario, a dict of its tables or a .toml path", "e.g. il.load_scenario('zaya1-ibm-mi300x')"),
    "spec": ("a model: a preset name such as 'llama3-70b', a ModelSpec or a scenario's [model] table",
             "e.g. il.models.get('llama3-70b') or sc.model"),
    "platform": ("a platform's name", "il.expansion.platforms() lists them"),
    "nic": ("a NIC's name", "il.expansion.nics() lists them"),
    "paybacks": ("paybacks of Monte Carlo draws [years], math.inf for a draw never repaid",
                 "one il.economics.payback_years(cash_flows) per draw"),
    "cash_flows": ("cash flows [USD], the first at t = 0, then one per step", ""),
    "stack_params": ("a training stack's parameters (a dict)", "from il.stacks.params('torchtitan-cuda')"),
    "tokens": ("a number of tokens [-]", ""),
    "tp": ("the tensor-parallel size [-]", ""),
    "gpus": ("a number of GPUs [-]", ""),
    "price_usd_per_gpu_hour": ("a price [USD per GPU-hour]", "e.g. il.economics.rented_gpu_hour_price('MI300X')"),
    "tokens_per_s_per_gpu": ("a throughput [tokens/s per GPU]", "e.g. il.estimate(sc).tokens_per_s_per_gpu"),
    "samples": ("Monte Carlo draws of one quantity (a 1-D array)", ""),
    "v": ("the owned-cost inputs (a dict)", "from il.economics.owned_inputs('MI300X')"),
    "il.economics.operator_cash_flows:v": ("the owned-cost and operator inputs (a dict)",
                                           "from il.economics.operator_inputs('MI300X')"),
    "precision": ("a number format ('bf16', 'fp8', ...)", "il.memory.number_formats() lists them"),
    "seq_len": ("the sequence length [tokens]", ""),
    "plan": ("a reliability run plan", "from il.reliability.plan_run(sc, work_hours)"),
    "il.reliability.restart_times_s:plan": ("a checkpoint plan",
                                            "from il.reliability.checkpoint_plan(checkpoint, nodes)"),
    "il.reliability.*:hardware": ("a Scenario, HardwareConfig or [hardware] dict",
                                  "e.g. il.load_scenario('zaya1-ibm-mi300x'), whose model also sizes the checkpoint"),
    "il.serve:scenario": ("a Scenario with a [serving] table", "e.g. il.load_scenario('maia-class-serving-mi300x')"),
    "il.multimodal.*:scenario": ("a Scenario whose [model] is multimodal",
                                 "e.g. il.multimodal.example_scenario('qwen2.5-vl-7b')"),
    "il.multimodal.*:spec": ("a multimodal system: a preset name or its [model] table",
                             "il.multimodal.system_names() lists them"),
    "il.memory.checkpoint_bytes:spec": ("a Scenario", "e.g. il.load_scenario('zaya1-ibm-mi300x')"),
    "stack": ("a training stack's name, e.g. 'torchtitan-cuda'", "il.stacks.names() lists them"),
    "estimate": ("a training estimate", "from il.estimate(sc)"),
    "mfu": ("model FLOPs utilisation, a fraction (0, 1]", "e.g. il.estimate(sc).mfu"),
    "ckpt_s": ("the time one checkpoint save takes [s]", ""),
    "mtbi_s": ("the mean time between interruptions [s]", ""),
    "nodes": ("a number of nodes [-]", ""),
    "pp": ("the pipeline-parallel size [-]", ""),
    "context": ("the tokens each request holds [tokens]", ""),
    "capex_usd": ("the purchase price [USD]", ""),
    "age_years": ("the hardware's age [years]", ""),
}
"""What a required argument is and where to get it (empty: nothing to add), by name, as the
public calls mostly use each name alike; ``"il.x.f:name"`` (one call) and ``"il.x.*:name"`` (a
namespace) say it for calls that use the name otherwise, and win over the plain name.
:func:`missing_arguments` says the first where the call's docstring has no ``Parameters`` entry
for the argument, and the second always."""


def _hint(name: str, arg: str) -> tuple[str, str]:
    """:data:`ARGUMENT_HINTS`' entry for argument ``arg`` of the public call ``name``."""
    for key in (f"{name}:{arg}", f"{name.rsplit('.', 1)[0]}.*:{arg}", arg):
        if key in ARGUMENT_HINTS:
            return ARGUMENT_HINTS[key]
    return ("", "")


def _parameter_notes(doc: str | None) -> dict[str, str]:
    """Each parameter's description in a numpy-style docstring's ``Parameters`` section
    (``name : text`` and its indented continuation; ``a, b : text`` gives both)."""
    import inspect

    m = _PARAMETER_HEADING.search(inspect.cleandoc(doc or ""))
    notes: dict[str, str] = {}
    if m is None:
        return notes
    names: list[str] = []
    for line in m.group(1).splitlines():
        if line.strip() and not line[:1].isspace():   # a new entry ("**overrides : ..." ends the one before)
            # entries that run on into the next on one line ("s : sequence length; b : micro-batch")
            for part in re.split(r";\s+(?=\*{0,2}\w+(?:\s*,\s*\w+)*\s+:\s)", line):
                head = re.match(r"^(\w+(?:\s*,\s*\w+)*)\s*:\s*(.*)$", part)
                names = [n.strip() for n in head.group(1).split(",")] if head else []
                for n in names:
                    notes[n] = head.group(2).strip()
        elif names and line.strip():
            for n in names:
                notes[n] = f"{notes[n]} {line.strip()}".strip()
    return {n: t.rstrip(";").rstrip() for n, t in notes.items()}


def _example_call(doc: str | None, short: str, called: str) -> str | None:
    """The first call of ``short`` in a docstring's examples (``>>>`` lines), written as
    ``called(...)`` with the arguments the example gives."""
    for line in (doc or "").splitlines():
        line = line.strip()
        if not line.startswith(">>> "):
            continue
        m = re.search(rf"(?<![\w.])(?:[\w.]+\.)?{re.escape(short)}\(", line)
        if m is None:
            continue
        depth, i = 1, m.end()
        while i < len(line) and depth:
            depth += {"(": 1, ")": -1}.get(line[i], 0)
            i += 1
        if depth == 0:
            return f"{called}({line[m.end():i - 1]})"
    return None


def _unbound(func, args: tuple, kwargs: dict) -> list[str]:
    """The required parameters of ``func`` that ``args`` and ``kwargs`` leave out, positional and
    keyword-only alike (Python names the keyword-only ones only once the positional ones are
    given); empty when the arguments do not bind even partially."""
    import inspect

    sig = inspect.signature(func)
    try:
        given = sig.bind_partial(*args, **kwargs).arguments
    except TypeError:
        return []
    return [p.name for p in sig.parameters.values()
            if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD) and p.name not in given]


def missing_arguments(func, missing: Iterable[str], name: str) -> MissingArgumentError:
    """The MissingArgumentError for a call of ``func`` (named ``name`` as the user types it,
    ``il.economics.zyphra_bill``) without the required arguments ``missing``: each named with
    what it is (its docstring's ``Parameters`` entry, else :data:`ARGUMENT_HINTS`), then the
    call as its docstring's example makes it, where there is one."""
    missing = list(missing)
    notes = _parameter_notes(func.__doc__)
    short = name.rsplit(".", 1)[-1]
    parts = []
    for arg in missing:
        what, how = _hint(name, arg)
        said = [notes.get(arg) or what, how]
        said = "; ".join(x for x in said if x)
        parts.append(f"{arg!r}: {said}" if said else repr(arg))
    if len(missing) == 1:
        head = f"{name}() is missing its required argument {parts[0]}"
    else:
        head = f"{name}() is missing {len(missing)} required arguments: {'; '.join(parts)}"
    example = _example_call(func.__doc__, short, name)
    tail = f". For example: {example}" if example else f". See help({name})"
    return MissingArgumentError(head + tail)


def name_keywords_of(namespace: dict, names: Iterable[str], public: str = "") -> None:
    """Wrap the plain functions among ``names`` in ``namespace`` (a package's globals) with
    :func:`named_keywords`, so that the package's public calls name a misspelt keyword (those
    without ``**kwargs``; the others check their keywords themselves) and a missing argument
    (all of them); the defining modules keep the plain functions for internal callers.
    ``public`` is the package as a user types it (``il.reliability``): the message's call name."""
    import inspect

    for n in names:
        f = namespace.get(n)
        if not inspect.isfunction(f) or hasattr(f, "__wrapped__"):
            continue
        namespace[n] = named_keywords(f, name=f"{public}.{n}" if public else None)


def user_stacklevel() -> int:
    """The ``stacklevel`` that points a warning issued by the caller of this function at the
    first frame outside infra_lab: the user's line, however many package frames lie between
    (the public calls' :func:`named_keywords` frame included), and the same line whether a call
    came from the user or through another public call."""
    import os
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    level, frame = 1, sys._getframe(1)     # the frame that calls warnings.warn
    while frame is not None and frame.f_code.co_filename.startswith(here):
        frame, level = frame.f_back, level + 1
    return level
