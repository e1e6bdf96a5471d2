"""The modules' parameters read alike. ``il.economics.parameters(acc, as_frame=True)`` gives a
polars frame whose first columns are those of ``il.reliability.parameters()`` and
``il.expansion.parameters()`` (name, value, unit, basis, source_url, note), and
``il.economics.parameter(name, accelerator)`` and ``il.expansion.parameter(name)`` give one value
as ``il.reliability.parameter`` does.

Before: economics returned only a dict of Param objects while reliability and expansion return
frames, so an analyst could not concatenate or filter them the same way. The dict stays the
default (existing callers)."""

from __future__ import annotations

import polars as pl
import pytest

import infra_lab as il
from infra_lab.errors import UnknownNameError, ValidationError

E = il.economics
SHARED = ["name", "value", "unit", "basis", "source_url", "note"]


def test_frame_columns_match_reliability_and_expansion():
    f = E.parameters("MI300X", as_frame=True)
    assert isinstance(f, pl.DataFrame) and f.columns == list(E.PARAMETER_COLUMNS)
    assert f.columns[:6] == SHARED
    assert il.reliability.parameters().columns[:6] == SHARED
    assert il.expansion.parameters().columns[:6] == SHARED
    both = pl.concat([t.select(SHARED) for t in (f, il.reliability.parameters(), il.expansion.parameters())])
    assert both.height == f.height + il.reliability.parameters().height + il.expansion.parameters().height


@pytest.mark.parametrize("acc", ["MI300X", "H100", "MI355X"])
def test_frame_rows_are_the_dict(acc):
    d = E.parameters(acc)
    f = E.parameters(acc, as_frame=True)
    assert isinstance(d, dict) and f["name"].to_list() == list(d)
    for row in f.iter_rows(named=True):
        p = d[row["name"]]
        assert (row["value"], row["unit"], row["source_url"], row["scope"]) == (p.value, p.unit, p.source_url, p.scope)
        assert E.parameter(row["name"], acc) == p.value


def test_parameter_refuses_unknown_and_bad_names():
    with pytest.raises(UnknownNameError, match=r"unknown economics parameter for MI300X 'capex_usd_per_gp'\. "
                                               r"Did you mean 'capex_usd_per_gpu'"):
        E.parameter("capex_usd_per_gp")
    with pytest.raises(ValidationError, match=r"parameter name = 3: expected a string"):
        E.parameter(3)
    with pytest.raises(UnknownNameError, match=r"unknown accelerator 'MI30X'.*MI300X"):
        E.parameter("capex_usd_per_gpu", "MI30X")
    with pytest.raises(ValidationError, match=r"as_frame = 1: expected True or False"):
        E.parameters(as_frame=1)


def test_expansion_parameter_reads_one_value_as_the_others_do():
    """``il.expansion.parameter`` was private (``_param``): an analyst had to filter the frame."""
    X = il.expansion
    f = X.parameters()
    assert X.parameter("seq_len") == f.filter(pl.col("name") == "seq_len")["value"].item()
    with pytest.raises(ValidationError, match=r"'cluster_gpus' has \d+ rows .*il\.expansion\.cluster_sizes\(\)"):
        X.parameter("cluster_gpus")
    with pytest.raises(UnknownNameError, match=r"unknown expansion parameter 'seq_le'\. Did you mean 'seq_len'"):
        X.parameter("seq_le")
    with pytest.raises(ValidationError, match=r"parameter name = None: expected a string"):
        X.parameter(None)
