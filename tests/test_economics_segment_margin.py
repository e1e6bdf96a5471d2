"""AMD's Data Center segment margin (deal_pnl's "operating profit at its data-centre segment
margin") is operating income over revenue of one table: the segment table (Selected Corporate
Data) of AMD's Q4/FY2024 release, 3,482 M USD on 12,579 M USD. The revenue row held the
release's prose headline, 12.6 B USD, beside an income row read from the table."""

from __future__ import annotations

import polars as pl
import pytest

from infra_lab import economics as E


def _row(metric):
    t = E.company_facts().filter((pl.col("entity") == "AMD") & (pl.col("metric") == metric)
                                 & (pl.col("period") == "FY2024"))
    assert t.height == 1
    return t.row(0, named=True)


def test_revenue_and_income_are_read_from_the_same_segment_table():
    rev, inc = _row("datacenter_revenue_usd"), _row("datacenter_operating_income_usd")
    assert rev["source_url"] == inc["source_url"]                 # the release and the table's transcription
    assert "segment table" in rev["note"] and "segment table" in inc["note"]
    assert rev["value"] == 12_579e6 and inc["value"] == 3_482e6
    assert f"${rev['value'] / 1e6:,.0f}M of segment revenue" in inc["note"]


def test_deal_margin_is_the_table_ratio():
    m = 3_482 / 12_579
    d = E.deal_pnl(1.5e5, n=300, seed=1)
    op, rev = d.line("AMD", "operating profit at its data-centre segment margin"), d.line("AMD", "total revenue")
    assert op.p50 == pytest.approx(rev.p50 * m, rel=1e-12)
    how = d.table.filter(d.table["line"] == "operating profit at its data-centre segment margin")["how"][0]
    assert f"{m:.1%}" in how
