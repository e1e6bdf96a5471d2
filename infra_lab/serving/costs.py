"""What serving costs: $ per million tokens of a deployment or a search frame
(:func:`token_costs`), the price of a GPU-hour from the economics model
(:func:`gpu_hour_price`, owned or rented), and the cheapest point of a front at an
interactivity (:func:`cost_at_interactivity`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import polars as pl

from ..errors import ValidationError, unknown
from .core import ServeResult, _check_opt_positive

if TYPE_CHECKING:
    from collections.abc import Mapping


def _cost_exprs(price: float) -> dict[str, pl.Expr]:
    usd_per_s = price / 3600.0 * pl.col("gpus")
    inp = pl.col("total_tokens_per_s") - pl.col("output_tokens_per_s")
    pf = pl.col("prefill_time_fraction")
    return {
        "usd_per_million_input_tokens": usd_per_s * pf / inp * 1e6,
        "usd_per_million_output_tokens": usd_per_s * (1.0 - pf) / pl.col("output_tokens_per_s") * 1e6,
        "usd_per_million_tokens": usd_per_s / pl.col("total_tokens_per_s") * 1e6,
        "usd_per_million_output_tokens_all_in": usd_per_s / pl.col("output_tokens_per_s") * 1e6,
    }


def token_costs(result: ServeResult | Mapping[str, float],
                price_usd_per_gpu_hour: float) -> dict[str, float]:
    """$ per million tokens of a deployment at a price per GPU-hour.

    Parameters
    ----------
    result : ServeResult (or a mapping with gpus, output_tokens_per_s, total_tokens_per_s,
        prefill_time_fraction)
    price_usd_per_gpu_hour : owned or rented cost of one GPU-hour [USD/GPU-h]
        (:func:`gpu_hour_price`)

    Returns
    -------
    dict : usd_per_million_input_tokens and usd_per_million_output_tokens (GPU time split by
        the prefill share of the time, so input + output pay for the whole deployment),
        usd_per_million_tokens (all tokens, input + output), usd_per_million_output_tokens_all_in
        (all cost on the generated tokens, the usual "price per output token")

    A deployment that does not fit in memory (a ServeResult, or a mapping, whose ``fits`` is
    False) is priced all the same, with a UserWarning that says so ("does not fit: ... priced as
    if it had enough memory"), as ``infra_lab.economics.run_cost`` warns for a training plan
    that does not fit; its throughput is what it would give with enough memory.

    Notes
    -----
    deployment $/s = price · gpus / 3600; $/M input = $/s · f_prefill / input tokens/s · 1e6;
    $/M output = $/s · (1 − f_prefill) / output tokens/s · 1e6.
    """
    out = _token_costs(result, price_usd_per_gpu_hour)
    _warn_if_it_does_not_fit(result, "token_costs")
    return out


def _warn_if_it_does_not_fit(result, where: str) -> None:
    """The warning of :func:`token_costs` and ``ServeResult.costs`` for a deployment whose
    ``fits`` is False (:func:`infra_lab.economics.runs.warn_does_not_fit`, run_cost's wording);
    silent for one that fits or a mapping without ``fits``. Called by those two directly, so
    the warning points at their caller's line."""
    from ..economics.runs import warn_does_not_fit

    if isinstance(result, ServeResult):
        fits, need, acc = result.fits, result.memory_per_gpu_bytes, result.scenario.hardware.accelerator
    else:
        try:
            fits = result["fits"]
        except (KeyError, TypeError, IndexError):
            return
        need = result.get("memory_per_gpu_bytes") if hasattr(result, "get") else None
        acc = result.get("accelerator") if hasattr(result, "get") else None
    if fits is None or bool(fits):
        return
    warn_does_not_fit(where, need, acc if isinstance(acc, str) and acc else None, thing="deployment",
                      lists="il.serve_search lists the configurations that fit")


def _token_costs(result, price_usd_per_gpu_hour: float) -> dict[str, float]:
    """:func:`token_costs` without its "does not fit" warning (the CLI, which notes it in its
    own words)."""
    p = _check_opt_positive("price_usd_per_gpu_hour", price_usd_per_gpu_hour, optional=False, unit="USD/GPU-h")
    get = (lambda k: getattr(result, k)) if isinstance(result, ServeResult) else (lambda k: result[k])
    try:
        gpus, out, tot, pf = (float(get(k)) for k in ("gpus", "output_tokens_per_s", "total_tokens_per_s",
                                                       "prefill_time_fraction"))
    except (KeyError, TypeError, AttributeError):
        raise ValidationError(f"result = {result!r}: expected a ServeResult or a mapping with gpus, "
                              "output_tokens_per_s, total_tokens_per_s, prefill_time_fraction") from None
    for k, v in (("gpus", gpus), ("output_tokens_per_s", out), ("total_tokens_per_s", tot)):
        if not (v > 0 and v < float("inf")):   # a mapping of zeros raised ZeroDivisionError
            raise ValidationError(f"result: {k} = {v!r}: expected a finite number > 0 (a deployment that "
                                  "produces tokens)")
    if not 0.0 <= pf <= 1.0:
        raise ValidationError(f"result: prefill_time_fraction = {pf!r}: expected a fraction in [0, 1]")
    usd_s = p * gpus / 3600.0
    inp = tot - out
    return {
        "usd_per_million_input_tokens": usd_s * pf / inp * 1e6 if inp > 0 else 0.0,
        "usd_per_million_output_tokens": usd_s * (1.0 - pf) / out * 1e6,
        "usd_per_million_tokens": usd_s / tot * 1e6,
        "usd_per_million_output_tokens_all_in": usd_s / out * 1e6,
    }


def gpu_hour_price(accelerator: str, basis: str = "owned", *, provider: str | None = None,
                   term: str = "on-demand", statistic: str = "median", matched_with: str | None = None,
                   **owned_overrides: float) -> float:
    """Cost of one GPU-hour from the economics module [USD/GPU-h].

    The owned price is notebook 05's like-for-like one (``il.economics.owned_gpu_hour_price``):
    the P50 of the Monte Carlo of ``il.economics.compare_owned`` (``LIKE_FOR_LIKE_DRAWS`` draws,
    ``LIKE_FOR_LIKE_SEED``: 20,000 draws with the notebooks' seed) with
    every accelerator at its newest 8-GPU baseboard listing plus the same host, network and
    opex ranges (an accelerator without a listing: its default purchase price, see
    ``il.economics.owned_gpu_hour_quote``). Cached, so a repeated call is free.

    Parameters
    ----------
    accelerator : catalog name
    basis : "owned" (``il.economics.owned_gpu_hour_price``) or "rented"
        (``il.economics.rented_gpu_hour_price``: ``statistic`` of the providers' current listed
        prices for ``term``; with ``provider``, that provider's newest price; with
        ``matched_with``, only the providers that also list that accelerator on ``term``)
    provider, term, statistic, matched_with : rental provider, term ("on-demand", "1-year",
        ...), statistic over providers ("median", "min", "max", "mean") and the accelerator
        whose providers the rent is matched to
    **owned_overrides : owned-cost inputs held constant (utilization, life_years, ...);
        ``capex_usd_per_gpu`` replaces the baseboard listing

    Examples
    --------
    >>> 0.5 < gpu_hour_price("MI300X") < 10
    True
    """
    from .. import economics

    if basis not in ("owned", "rented"):
        raise unknown("price basis", basis, ("owned", "rented"))
    if basis == "owned":
        if provider is not None:
            raise ValidationError("provider: only with basis = 'rented'")
        if matched_with is not None:
            raise ValidationError("matched_with: only with basis = 'rented'")
        from ..economics import _validate as V
        from ..economics.owned import OWNED_PARAMS

        fixed = dict(owned_overrides)
        price = fixed.pop("capex_usd_per_gpu", None)
        # named as the caller wrote them: the quote's checks read 'price = -1' and "fixed['utilization'] = 0"
        if price is not None:
            price = V.positive("capex_usd_per_gpu", price, hi=5e6)
        valid = [k for k in OWNED_PARAMS if k != "capex_usd_per_gpu"] + ["network_usd_per_gpu"]
        for k, x in fixed.items():
            if k not in valid:
                raise unknown("owned-cost input", k, valid + ["capex_usd_per_gpu"], where="gpu_hour_price")
            fixed[k] = V.bounded(k, x)
        return float(economics.owned_gpu_hour_price(accelerator, price=price, fixed=fixed))
    if owned_overrides:
        raise ValidationError(f"{sorted(owned_overrides)}: owned-cost overrides only with basis = 'owned'")
    return economics.rented_gpu_hour_price(accelerator, term, statistic=statistic, provider=provider,
                                           matched_with=matched_with)


PRICE_BASES = ("owned", "rented")


def price_for(accelerator: str, price_usd_per_gpu_hour: float | str | None) -> float | None:
    """A GPU-hour price given as a number [USD/GPU-h] or read from the economics model by name:
    "owned" (:func:`gpu_hour_price`'s owned basis, notebook 05's like-for-like P50) or
    "rented" (the median current on-demand rent of the providers listing ``accelerator``);
    None stays None. The one place a serving cost reads its price, so a caller need not retype
    the economics figure.

    Examples
    --------
    >>> price_for("MI300X", 2.5)
    2.5
    >>> price_for("MI300X", "owned") == gpu_hour_price("MI300X")
    True
    """
    if isinstance(price_usd_per_gpu_hour, str):
        basis = price_usd_per_gpu_hour.strip().lower()
        if basis not in PRICE_BASES:
            raise unknown("price basis", price_usd_per_gpu_hour, PRICE_BASES, where="price_usd_per_gpu_hour (or a number [USD/GPU-h])")
        try:
            return gpu_hour_price(accelerator, basis)
        except ValidationError as e:   # no listing, no rent, no TDP: say which argument asked, and the way out
            msg = (f"price_usd_per_gpu_hour = {price_usd_per_gpu_hour!r}: {e}; or give the price as a number "
                   "[USD/GPU-h] (r.costs(2.5), price_usd_per_gpu_hour=2.5, `infra-lab serve "
                   "--price-usd-per-gpu-hour 2.5`)")
            try:
                err = type(e)(msg)
            except TypeError:
                err = ValidationError(msg)
            raise err from None
    try:
        price = _check_opt_positive("price_usd_per_gpu_hour", price_usd_per_gpu_hour)
    except ValidationError:   # it said "expected None or a finite number > 0": the names were left out
        raise ValidationError(f"price_usd_per_gpu_hour = {price_usd_per_gpu_hour!r}: expected a finite number > 0 "
                              "[USD/GPU-h], 'owned' or 'rented'") from None
    if price is not None:     # the economics model's bounds on a GPU-hour price (data/economics/)
        from ..economics._validate import bounded

        bounded("rental_usd_per_gpu_hour", price_usd_per_gpu_hour, "price_usd_per_gpu_hour")
    return price


def cost_at_interactivity(front: pl.DataFrame, tokens_per_s_per_user: float,
                          cost: str = "usd_per_million_output_tokens_all_in") -> dict[str, Any]:
    """The cheapest configuration of a Pareto front that gives each user at least
    ``tokens_per_s_per_user`` (read off the front of :func:`serve_search` with a price).

    Returns the row as a dict (with the cost column), or raises ValidationError when no
    configuration reaches that interactivity.
    """
    v = _check_opt_positive("tokens_per_s_per_user", tokens_per_s_per_user, optional=False, unit="tokens/s")
    if not isinstance(front, pl.DataFrame) or cost not in front.columns:
        raise ValidationError(f"front: expected a serve_search frame with a {cost!r} column "
                              "(pass price_usd_per_gpu_hour to serve_search)")
    missing = [c for c in ("tokens_per_s_per_user", "fits") if c not in front.columns]
    if missing:
        raise ValidationError(f"front: missing column(s) {', '.join(map(repr, missing))}: expected a "
                              "serve_search frame (it carries tokens_per_s_per_user and fits)")
    if front.height == 0:   # it read 'the front tops out at nan tokens/s per user'
        raise ValidationError(f"tokens_per_s_per_user = {v:g}: the front is empty (no configuration to choose "
                              "from; serve_search warns why)")
    if front["tokens_per_s_per_user"].null_count() == front.height:   # float(None) deep in the message below
        raise ValidationError(f"tokens_per_s_per_user = {v:g}: the front has no tokens/s per user (requests of "
                              "one output token have no TPOT: il.serving.tpot_defined); choose by ttft_s")
    ok = front.filter((pl.col("tokens_per_s_per_user") >= v) & pl.col("fits"))
    if ok.height == 0:
        fit = front.filter(pl.col("fits"))
        if fit.height == 0:
            raise ValidationError(f"tokens_per_s_per_user = {v:g}: no configuration of the front fits in memory")
        best = float(fit["tokens_per_s_per_user"].max())   # of the rows that fit, as the choice above
        raise ValidationError(f"tokens_per_s_per_user = {v:g}: no configuration reaches it (the front tops out "
                              f"at {best:.4g} tokens/s per user among those that fit)")
    return ok.sort(cost).row(0, named=True)
