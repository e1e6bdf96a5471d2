"""Every CSV under data/ keeps the house rule the loaders rely on: where a file has a
``source_url`` column every row names a web source, and where it has a ``unit`` column every
row states its unit. (Each loader's own malformed-row refusals are tested beside it, e.g.
tests/test_catalog.py; this guards the files no single loader reads in full.)"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

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
            bad = [i + 1 for i, v in enumerate(vals) if "http://" not in v and "https://" not in v]
            assert not bad, f"{path.name}: rows {bad[:10]} have a source_url with no web address"
