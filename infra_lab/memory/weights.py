"""Number formats and weight bytes: bytes per stored element of a format
(:func:`format_bytes`, :func:`number_formats`; :mod:`infra_lab.catalog` owns the table) and the
bytes of a model's weights at a precision, routed experts at their own format
(:func:`weight_bytes`, :func:`expert_matrix_params`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import polars as pl

from .. import catalog
from ._common import _spec

if TYPE_CHECKING:
    from ..models import ModelSpec
    from ..scenario import Scenario


def number_formats() -> pl.DataFrame:
    """Storage formats of weights and KV cache: :func:`infra_lab.catalog.number_formats`
    (data/serving/number_formats.csv, the one copy), kept here for compatibility.

    Examples
    --------
    >>> import infra_lab as il
    >>> "fp8" in il.memory.number_formats()["format"].to_list()
    True
    """
    return catalog.number_formats()


def format_bytes(fmt: str) -> float:
    """Bytes per stored element of a number format, block scales included [bytes]:
    :func:`infra_lab.catalog.format_bytes` (the one owner).

    Parameters
    ----------
    fmt : a number format's name, e.g. 'bf16', 'fp8', 'mxfp4' (il.memory.number_formats()
        lists them)

    Examples
    --------
    >>> format_bytes("mxfp4"), format_bytes("nvfp4"), format_bytes("fp8")
    (0.53125, 0.5625, 1.0)
    """
    return catalog.format_bytes(fmt)


def weight_bytes(spec: ModelSpec | Scenario | str | dict[str, Any], precision: str = "bf16",
                 expert_precision: str | None = None) -> float:
    """Bytes of a model's weights stored at ``precision`` [bytes].

    Parameters
    ----------
    spec : ModelSpec or preset name
    precision : number format of every weight (a row of :func:`number_formats`: "bf16",
        "fp8", "mxfp4", "nvfp4", ...)
    expert_precision : format of the routed-expert weights (default: the model's own
        ``expert_weight_format`` when it is smaller than ``precision`` — gpt-oss keeps its
        MXFP4 experts whatever the rest runs at — else ``precision``). Expert biases stay
        at ``precision``.

    Notes
    -----
    bytes = (P_total − P_expert_matrices) · b(precision) + P_expert_matrices · b(expert_precision),
    with b from data/serving/number_formats.csv (MXFP4: 4 bits + an 8-bit scale per 32).

    Examples
    --------
    >>> round(weight_bytes("gpt-oss-120b") / 2**30, 1)    # model card: 60.8 GiB checkpoint
    60.8
    >>> round(weight_bytes("gpt-oss-20b") / 2**30, 1)     # model card: 12.8 GiB
    12.8
    """
    spec = _spec(spec)
    b = format_bytes(precision)
    e_fmt = expert_precision
    if e_fmt is None:
        e_fmt = precision
        if spec.expert_weight_format and format_bytes(spec.expert_weight_format) < b:
            e_fmt = spec.expert_weight_format
    be = format_bytes(e_fmt)
    p_exp = float(expert_matrix_params(spec))
    return (spec.params_total - p_exp) * b + p_exp * be


def expert_matrix_params(spec: ModelSpec | Scenario | str | dict[str, Any]) -> int:
    """Parameters in the routed experts' weight matrices, biases excluded [count].

    Examples
    --------
    >>> import infra_lab as il
    >>> il.memory.expert_matrix_params(il.models.get("llama3-8b"))       # dense: no experts
    0
    >>> round(il.memory.expert_matrix_params(il.models.get("deepseek-v3")) / 1e9)   # billions
    654
    """
    spec = _spec(spec)
    if not spec.experts:
        return 0
    from ..models import _FFN_ACTS

    n_moe = sum(1 for k in spec.layer_kinds() if k == "moe")
    width = spec.expert_ffn_hidden or spec.ffn_hidden
    return n_moe * spec.experts * _FFN_ACTS[spec.ffn_act] * spec.hidden * width
