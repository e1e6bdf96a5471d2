"""Every CSV under data/ keeps the house rule the loaders rely on: where a file has a
``source_url`` column every row names a web source (or, for the project's own measurements,
``repo:data/<file>``: the committed raw output), and where it has a ``unit`` column every
row states its unit. (Each loader's own malformed-row refusals are tested beside it, e.g.
tests/test_catalog.py; this guards the files no single loader reads in full.)"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from infra_lab import catalog

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
            # a web address, or repo:data/<file> naming the committed raw output of a measurement
            # the project made itself (catalog.is_source)
            bad = [i + 1 for i, v in enumerate(vals) if not any(catalog.is_source(u) for u in v.split(";"))]
            assert not bad, f"{path.name}: rows {bad[:10]} have a source_url with no web address or data file"


def test_a_repo_source_must_name_a_file_of_the_data_folder():
    assert catalog.is_source("https://arxiv.org/abs/2407.21783")
    assert catalog.is_source("repo:data/measurements/device/h200_2026-12-04_kernels_run1.json")
    assert not catalog.is_source("repo:data/measurements/device/no_such_run.json")
    assert not catalog.is_source("repo:tools/device/measure_kernels.py")     # outside data/
    assert not catalog.is_source("arxiv.org/abs/2407.21783")
