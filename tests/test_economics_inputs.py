"""The dicts of inputs the economics array formulas take (``owned_components``, ``tco_arrays``,
``operator_cash_flows``) and the ``fixed=`` / ``overrides=`` tables of the Monte Carlo and
comparison functions are checked before any formula reads them: a missing key, a misspelled
key or a value out of bounds raises the package's error naming it (a bare KeyError from deep
inside the formula, a silently ignored key or a NaN cost before). Valid input computes exactly
what the unchecked formula computes.
"""

from __future__ import annotations

import numpy as np
import pytest

from infra_lab import economics as E
from infra_lab.economics import _validate as EV
from infra_lab.economics.finance import _operator_cash_flows, _tco_arrays
from infra_lab.economics.owned import _owned_components
from infra_lab.errors import UnknownNameError, ValidationError

OWNED = E.owned_inputs("MI300X")
OPERATOR = E.operator_inputs("MI300X")


def _draws(names, n=64):
    s = E.sample_parameters(n, 7, "MI300X", names)
    s["tdp_W"] = OWNED["tdp_W"]
    return s


def _without(d, *keys):
    return {k: v for k, v in d.items() if k not in keys}


# ------------------------------------------------------------------------------ missing keys
@pytest.mark.parametrize("call, func, builder", [
    (lambda: E.owned_components({}), "owned_components", "owned_inputs(accelerator, overrides)"),
    (lambda: E.tco_arrays({}, 3), "tco_arrays", "owned_inputs(accelerator, overrides)"),
    (lambda: E.operator_cash_flows({}), "operator_cash_flows", "operator_inputs(accelerator, overrides)"),
], ids=["owned_components", "tco_arrays", "operator_cash_flows"])
def test_an_empty_dict_names_every_input_its_units_and_where_defaults_come_from(call, func, builder):
    with pytest.raises(ValidationError) as e:
        call()
    msg = str(e.value)
    assert msg.startswith(f"{func}: v is missing all")
    for needle in ("spare_fraction [fraction of billed GPUs]", "capex_usd_per_gpu [USD per GPU]",
                   "tdp_W [W per GPU", "life_years [years]", builder, "data/economics/parameters.csv",
                   "sample_parameters("):
        assert needle in msg, (needle, msg)


@pytest.mark.parametrize("call, missing", [
    (lambda: E.owned_components(_without(OWNED, "pue")), "pue [ratio]"),
    (lambda: E.owned_components(_without(OWNED, "tdp_W")), "tdp_W [W per GPU"),
    (lambda: E.owned_components(_without(OWNED, "interconnect_fraction"), network="fraction"),
     "interconnect_fraction [fraction of total cluster cost]"),
    (lambda: E.owned_components(_without(OWNED, "depreciation_ooms_per_year"), depreciation="exponential"),
     "depreciation_ooms_per_year [orders of magnitude per year]"),
    (lambda: E.tco_arrays(_without(OWNED, "depreciation_ooms_per_year"), 4.0), "depreciation_ooms_per_year"),
    (lambda: E.tco_arrays(_without(OWNED, "utilization"), 4.0), "utilization [fraction of calendar hours]"),
    (lambda: E.operator_cash_flows(OWNED), "market_utilization [fraction of calendar hours]"),
    (lambda: E.operator_cash_flows(_without(OPERATOR, "rent_rebound_fraction"), path="rebound"),
     "rent_rebound_fraction [fraction]"),
], ids=["pue", "tdp_W", "fraction-network", "exponential", "tco-d", "tco-utilization", "operator-only-owned",
        "rebound"])
def test_one_missing_input_is_named_with_its_unit(call, missing):
    with pytest.raises(ValidationError, match="is missing") as e:
        call()
    assert f"missing {missing}" in str(e.value)


def test_inputs_a_formula_does_not_read_are_not_required():
    """Only what the options read: the per-port network inputs are not needed with
    network_usd_per_gpu, d only for exponential depreciation, the rebound only on that path."""
    v = _without(OWNED, "nic_usd", "nics_per_gpu", "switch_port_usd", "switch_ports_per_gpu", "optics_usd",
                 "optics_per_gpu", "interconnect_fraction", "depreciation_ooms_per_year")
    v["network_usd_per_gpu"] = 8549.0
    assert E.owned_components(v)["total"] == _owned_components(v)["total"]
    o = _without(OPERATOR, "rent_rebound_fraction")
    assert np.array_equal(E.operator_cash_flows(o, path="decay")["annual"],
                          _operator_cash_flows(o, path="decay")["annual"])


# ------------------------------------------------------------------------------ unknown keys
@pytest.mark.parametrize("call", [
    lambda: E.owned_components({**OWNED, "spare_fracton": 0.1}),
    lambda: E.tco_arrays({**OWNED, "spare_fracton": 0.1}, 3.0),
    lambda: E.operator_cash_flows({**OPERATOR, "spare_fracton": 0.1}),
    lambda: E.owned_components({**_without(OWNED, "spare_fraction"), "spare_fracton": 0.1}),
], ids=["owned_components", "tco_arrays", "operator_cash_flows", "instead-of-the-right-key"])
def test_a_misspelled_key_is_refused_with_the_nearest_name(call):
    with pytest.raises(UnknownNameError, match=r"unknown input 'spare_fracton'.*Did you mean 'spare_fraction'"):
        call()


def test_a_dict_with_other_economics_inputs_is_accepted():
    """An operator's dict (operator_inputs) and draws of every parameter carry inputs the owned
    cost does not read; they are economics inputs, not typos, and leave the result unchanged."""
    assert E.owned_components(OPERATOR)["total"] == _owned_components(OWNED)["total"]
    t = E.tco_arrays(OPERATOR, 4.0)["cash"]
    assert t == _tco_arrays(OWNED, 4.0)["cash"]


# ------------------------------------------------------------------------------ values
@pytest.mark.parametrize("key, value, needles", [
    ("capex_usd_per_gpu", -1.0, ("capex_usd_per_gpu = -1.0", "(0, 5e+06]")),
    ("life_years", float("nan"), ("life_years = nan", "finite")),
    ("life_years", 0.0, ("life_years = 0.0",)),
    ("pue", "1.2", ("pue = '1.2'", "expected a number")),
    ("pue", None, ("pue = None",)),
    ("spare_fraction", 1.5, ("spare_fraction = 1.5", "[0, 1]")),
    ("utilization", 0.0, ("utilization = 0.0", "(0, 1]")),
    ("electricity_usd_per_kWh", -0.08, ("electricity_usd_per_kWh = -0.08",)),
    ("tdp_W", True, ("tdp_W = True", "expected a number")),
    ("cost_of_capital", float("inf"), ("cost_of_capital = inf",)),
    ("spare_fraction", np.array([0.03, -0.1, 0.02]), ("spare_fraction[1] = -0.1", "[0, 1]")),
    ("utilization", [0.9, float("nan")], ("utilization[1] = nan",)),
    ("pue", np.array(["1.2"]), ("pue = array(['1.2']", "sequence of numbers")),
])
@pytest.mark.parametrize("func", ["owned_components", "tco_arrays"])
def test_a_bad_value_names_the_field_the_value_and_the_range(func, key, value, needles):
    call = {"owned_components": lambda v: E.owned_components(v), "tco_arrays": lambda v: E.tco_arrays(v, 3.0)}[func]
    with pytest.raises(ValidationError) as e:
        call({**OWNED, key: value})
    for n in needles:
        assert n in str(e.value), (n, str(e.value))


@pytest.mark.parametrize("call, needles", [
    (lambda: E.tco_arrays(OWNED, 0), ("years = 0", "[1/12, 30]")),
    (lambda: E.tco_arrays(OWNED, -2.0), ("years = -2.0",)),
    (lambda: E.tco_arrays(OWNED, float("nan")), ("years = nan",)),
    (lambda: E.tco_arrays(OWNED, 3.0, value_curve="linear"), ("value_curve 'linear'",)),
    (lambda: E.tco_arrays(OWNED, 3.0, replace_at_life="yes"), ("replace_at_life = 'yes'",)),
    (lambda: E.owned_components(OWNED, depreciation="linear"), ("depreciation 'linear'",)),
    (lambda: E.owned_components(OWNED, network="ports"), ("network 'ports'",)),
    (lambda: E.owned_components(OWNED, age_years=-1.0), ("age_years = -1.0", "[0, 100]")),
    (lambda: E.operator_cash_flows(OPERATOR, years=0), ("years = 0", "[1/12, 50]")),
    (lambda: E.operator_cash_flows(OPERATOR, years=-1), ("years = -1",)),
    (lambda: E.operator_cash_flows(OPERATOR, path="flatt"), ("path 'flatt'", "Did you mean 'flat'")),
    (lambda: E.operator_cash_flows(OPERATOR, price=-2.0), ("price = -2.0",)),
    (lambda: E.operator_cash_flows(OPERATOR, path="flat", utilization=1.5), ("utilization = 1.5", "(0, 1]")),
    (lambda: E.operator_cash_flows({**OPERATOR, "market_utilization": 0.0}), ("market_utilization = 0.0",)),
    (lambda: E.operator_cash_flows({**OPERATOR, "ibm_book_life_years": -5.0}), ("ibm_book_life_years = -5.0",)),
    (lambda: E.operator_cash_flows(OPERATOR, premium=-1.0), ("premium = -1.0",)),
], ids=lambda x: "" if callable(x) else x[0])
def test_bad_options_name_the_argument(call, needles):
    with pytest.raises((ValidationError, UnknownNameError)) as e:
        call()
    for n in needles:
        assert n in str(e.value), (n, str(e.value))


def test_arrays_that_do_not_fit_together_are_refused():
    with pytest.raises(ValidationError, match="do not broadcast"):
        E.owned_components({**OWNED, "pue": np.full(3, 1.2), "utilization": np.full(4, 0.9)})
    with pytest.raises(ValidationError, match="different lengths"):
        E.operator_cash_flows({**OPERATOR, "pue": np.full(3, 1.2), "market_utilization": np.full(4, 0.7)})
    with pytest.raises(ValidationError, match="1-D"):
        E.operator_cash_flows({**OPERATOR, "pue": np.full((2, 2), 1.2)})


def test_a_non_dict_is_refused():
    with pytest.raises(ValidationError, match="v = 3: expected the owned-cost inputs as a dict"):
        E.owned_components(3)
    with pytest.raises(ValidationError, match=r"v = \[1\]: expected the operator inputs as a dict"):
        E.operator_cash_flows([1])


# ------------------------------------------------------------------------------ valid input, same results
def test_valid_input_gives_exactly_what_the_unchecked_formula_gives():
    for dep in ("straight-line", "exponential"):
        for net in ("per-port", "fraction"):
            a = E.owned_components(OWNED, depreciation=dep, network=net, age_years=1.5)
            b = _owned_components(OWNED, depreciation=dep, network=net, age_years=1.5)
            assert a == b
    s = _draws(E.OWNED_PARAMS)
    a, b = E.owned_components(s), _owned_components(s)
    assert all(np.array_equal(a[k], b[k]) for k in b)
    for curve in ("exponential", "straight-line", "none"):
        a, b = E.tco_arrays(s, 7.0, value_curve=curve, replace_at_life=True), \
            _tco_arrays(s, 7.0, value_curve=curve, replace_at_life=True)
        for part in ("cash", "pv"):
            assert all(np.array_equal(a[part][k], b[part][k]) for k in b[part])
        assert np.array_equal(a["useful_hours"], b["useful_hours"])
    o = _draws([*E.OWNED_PARAMS, *E.OPERATOR_PARAMS])
    for path in ("flat", "decay", "rebound"):
        a, b = E.operator_cash_flows(o, path=path, years=5.0), _operator_cash_flows(o, path=path, years=5.0)
        assert all(np.array_equal(a[k], b[k]) for k in b)


def test_lists_are_taken_as_arrays():
    """A list of draws was added or multiplied as a Python list (a TypeError or a wrong
    number); it is now the array it holds."""
    s = _draws(E.OWNED_PARAMS, n=5)
    as_lists = {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in s.items()}
    assert np.array_equal(E.owned_components(as_lists)["total"], _owned_components(s)["total"])


def test_every_parameter_row_is_inside_the_bounds():
    """The defaults and ranges of data/economics/parameters.csv are valid inputs, so draws
    from sample_parameters (triangular, inside each row's range) pass the checks."""
    for r in E.parameter_table().iter_rows(named=True):
        for col in ("low", "value", "high"):
            EV.bounded(r["name"], r[col], f"{r['name']} ({r['scope']}, {col})")
    assert set(EV.known_inputs()) >= {*E.OWNED_PARAMS, *E.OPERATOR_PARAMS, "tdp_W", "network_usd_per_gpu"}


# ------------------------------------------------------------------------------ fixed= / overrides=
@pytest.mark.parametrize("call, exc, needles", [
    (lambda: E.sample_parameters(10, 0, fixed={"spare_fracton": 0.1}), UnknownNameError,
     ("'spare_fracton'", "Did you mean 'spare_fraction'")),
    (lambda: E.monte_carlo(lambda **p: 1.0, n=10, fixed={"utilisation": 0.9}), UnknownNameError,
     ("'utilisation'", "'utilization'")),
    (lambda: E.compare_owned({"MI300X": 1000.0, "H100-SXM": 1000.0}, n=10, fixed={"spare_fracton": 0.1}),
     UnknownNameError, ("compare_owned(fixed=...)", "Did you mean 'spare_fraction'")),
    (lambda: E.compare_owned({"MI300X": 1000.0, "H100-SXM": 1000.0}, n=10, fixed={"spare_fraction": -0.1}),
     ValidationError, ("fixed['spare_fraction'] = -0.1", "[0, 1]")),
    (lambda: E.compare_owned({"MI300X": 1000.0, "H100-SXM": 1000.0}, n=10, fixed={"capex_usd_per_gpu": 1e4}),
     ValidationError, ("fixed['capex_usd_per_gpu']", "prices=")),
    (lambda: E.break_even_capex("MI300X", 1.0, 1000.0, n=10, fixed={"spare_fracton": 0.1}), UnknownNameError,
     ("break_even_capex(fixed=...)", "'spare_fraction'")),
    (lambda: E.break_even_capex("MI300X", 1.0, 1000.0, n=10, fixed={"tdp_W": 700.0}), ValidationError,
     ("fixed['tdp_W']", "data/accelerators.csv")),
    (lambda: E.deal_pnl(1e5, n=10, overrides={"spare_fraction": -0.1}), ValidationError,
     ("overrides['spare_fraction'] = -0.1", "[0, 1]")),
    (lambda: E.deal_pnl(1e5, n=10, overrides={"capex_usd_per_gpu": (-1.0, 15000.0, 20000.0)}), ValidationError,
     ("overrides['capex_usd_per_gpu'] = -1.0",)),
    (lambda: E.operator_inputs(overrides={"contract_utilisation": 0.5}), UnknownNameError,
     ("'contract_utilisation'", "Did you mean 'contract_utilization'")),
], ids=["sample_parameters", "monte_carlo", "compare_owned-typo", "compare_owned-bounds", "compare_owned-capex",
        "break_even_capex-typo", "break_even_capex-tdp", "deal_pnl-bounds", "deal_pnl-range", "operator_inputs"])
def test_fixed_tables_are_checked_by_name_and_bounds(call, exc, needles):
    with pytest.raises(exc) as e:
        call()
    for n in needles:
        assert n in str(e.value), (n, str(e.value))


class TestLognormalStaysPhysical:
    """distribution="lognormal" never draws a value outside a parameter's physical bounds
    (a utilization above 1, a PUE below 1): such parameters fall back to their triangular
    range (uncertainty.effective_distribution)."""

    @pytest.mark.parametrize("acc", ["MI300X", "H100"])
    def test_draws_inside_bounds(self, acc):
        from infra_lab.economics import montecarlo
        from infra_lab.economics._validate import BOUNDS
        draws = montecarlo.sample_parameters(n=100_000, seed=3, accelerator=acc, distribution="lognormal")
        for name, v in draws.items():
            lo, hi, lo_open, hi_open = BOUNDS[name]
            assert (v > lo).all() if lo_open else (v >= lo).all(), name
            assert (v < hi).all() if hi_open else (v <= hi).all(), name

    def test_which_parameters_fall_back(self):
        import infra_lab.economics.uncertainty as U
        from infra_lab.economics import parameters
        P = parameters("MI300X")
        assert U.lognormal_outside(P["utilization"]) > 0.05      # median 0.9, P95 1.0
        assert U.effective_distribution(P["utilization"], "lognormal") == "triangular"
        assert U.effective_distribution(P["pue"], "lognormal") == "triangular"
        assert U.effective_distribution(P["capex_usd_per_gpu"], "lognormal") == "lognormal"

    def test_monte_carlo_owned_cost_lognormal_finite_and_kernel_equals_reference(self):
        a = E.monte_carlo_owned_cost(20_000, seed=5, distribution="lognormal", network="fraction")
        b = E.monte_carlo_owned_cost(20_000, seed=5, distribution="lognormal", network="fraction",
                                     backend="reference")
        assert np.all(np.isfinite(a)) and a.min() > 0
        np.testing.assert_allclose(a, b, rtol=1e-12)


@pytest.mark.parametrize("radix", [0, -64, 2.5, float("nan")])
def test_network_capex_refuses_a_bad_radix_even_without_hardware(radix):
    # the radix used to be checked only when hardware was given, so radix=0 returned a price
    with pytest.raises(ValidationError, match="radix"):
        E.network_capex_per_gpu(radix=radix)
    assert E.network_capex_per_gpu(radix=64) == E.network_capex_per_gpu()


# ------------------------------------------------------------------------------ Monte Carlo draws and seeds
def _mc_calls():
    import infra_lab as il
    from infra_lab.widgets import economics as W

    tps = {"MI300X": 1000.0}
    return {
        "monte_carlo_owned_cost": lambda n, s: E.monte_carlo_owned_cost(n, seed=s),
        "monte_carlo": lambda n, s: E.monte_carlo(lambda **p: p["utilization"], n=n, seed=s),
        "sample_parameters": lambda n, s: E.sample_parameters(n, s),
        "deal_pnl": lambda n, s: E.deal_pnl(1e5, n=n, seed=s),
        "compare_owned": lambda n, s: E.compare_owned(tps, n=n, seed=s),
        "break_even_capex": lambda n, s: E.break_even_capex("MI300X", 1.0, 1000.0, n=n, seed=s),
        "owned_gpu_hour_quote": lambda n, s: E.owned_gpu_hour_quote("MI300X", n=n, seed=s),
        "economics_update": lambda n, s: W.economics_update(n=n, seed=s),
        "expansion.deal": lambda n, s: il.expansion.deal("MI325X node", "Pollara-400", 1024, 1e5, n=n, seed=s),
    }


_NONSENSE = [-1, 0, 2**70, 1.5, True, "3", float("nan"), float("inf"), None, [3]]


@pytest.mark.parametrize("func", list(_mc_calls()))
@pytest.mark.parametrize("value", _NONSENSE, ids=repr)
def test_monte_carlo_draws_and_seed_are_refused_with_field_value_and_range(func, value):
    """n and seed accepted nonsense or failed inside numpy: n = 3.0 reached np.empty(n) (monte_carlo,
    break_even_capex: numpy's TypeError), deal_pnl's n reached np.broadcast_to, a list reached the
    cache of compare_owned (lru_cache's TypeError), and a bool, a fraction, a negative or a huge value
    was refused without the allowed range in some calls and with it in others. Now every Monte Carlo
    entry names the field, the value and the range."""
    call = _mc_calls()[func]
    with pytest.raises(ValidationError) as e:
        call(value, 1)
    msg = str(e.value)
    assert msg.startswith(f"n = {value!r}: expected a whole number of Monte Carlo draws in [1, "), msg
    if value == 0:   # a valid seed
        return
    with pytest.raises(ValidationError) as e:
        call(8, value)
    assert str(e.value) == f"seed = {value!r}: expected a random seed, a whole number in [0, 2^63 - 1]"


@pytest.mark.parametrize("func", list(_mc_calls()))
def test_whole_floats_and_numpy_integers_are_draw_counts(func):
    """A whole float (8.0) or a numpy integer counts as that many draws and gives the same answer
    as the int (monte_carlo and break_even_capex raised numpy's TypeError on 8.0)."""
    call = _mc_calls()[func]

    def key(r):
        if isinstance(r, np.ndarray):
            return r.tolist()
        if isinstance(r, dict):
            return {k: (key(v) if k not in ("chart", "provider", "breakdown", "rent_vs_own") else None) for k, v in r.items()}
        return repr(getattr(r, "table", r))

    ref = key(call(8, 3))
    assert key(call(8.0, np.int64(3))) == ref
    assert key(call(np.int32(8), 3.0)) == ref


def test_deal_pnl_caps_its_draws_by_the_monthly_arrays_it_holds():
    """deal_pnl holds n x months values per array (about 100 B each): n = 50 million over 5 years
    asked for hundreds of GB; its cap is EV.MAX_DRAW_MONTHS draw-months, named in the message."""
    months = 60
    top = EV.MAX_DRAW_MONTHS // months
    with pytest.raises(ValidationError, match=rf"n = {top + 1}: .* in \[1, {top:,}\] \(deal_pnl holds n x 60 "):
        E.deal_pnl(1e5, n=top + 1)
    longer = EV.MAX_DRAW_MONTHS // 120
    with pytest.raises(ValidationError, match=rf"in \[1, {longer:,}\] \(deal_pnl holds n x 120 monthly values"):
        E.deal_pnl(1e5, n=longer + 1, years=10)
