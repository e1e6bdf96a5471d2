"""data/SOURCES.md is the index of the data folder: every data file under data/ (every file
except the Markdown notes) is named in it, and every data file it names exists, so the index
cannot drift from the folder. Names are written in backticks as paths relative to data/
(``accelerators.csv``, ``economics/parameters.csv``); a leading ``data/`` is accepted, and a
pattern (``network_*.csv``) must match at least one file."""

from __future__ import annotations

import re
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "data"
INDEX = DATA / "SOURCES.md"
# suffixes of data files; a backticked name with one of these is read as a path under data/
DATA_SUFFIXES = {".csv", ".tsv", ".toml", ".json", ".yaml", ".yml", ".parquet", ".txt"}


def data_files() -> set[str]:
    out = set()
    for p in DATA.rglob("*"):
        rel = p.relative_to(DATA)
        if not p.is_file() or p.suffix == ".md" or any(part.startswith((".", "__")) for part in rel.parts):
            continue
        out.add(rel.as_posix())
    return out


def named_in_index(text: str) -> set[str]:
    names = set()
    for tok in re.findall(r"`([^`\s]+)`", text):
        if "://" in tok or Path(tok).suffix not in DATA_SUFFIXES:
            continue
        names.add(tok.removeprefix("data/"))
    return names


def test_the_index_parser_reads_backticked_paths_only():
    text = "`accelerators.csv`, `data/economics/parameters.csv`, `il.economics.cloud_price()`, " \
           "`https://x.org/a.csv`, plain.csv, `tests/test_x.py`, `gone.csv`, `network_*.csv`, `nope_*.csv`"
    names = named_in_index(text)
    assert names == {"accelerators.csv", "economics/parameters.csv", "gone.csv", "network_*.csv", "nope_*.csv"}
    assert {n for n in names if not exists(n)} == {"gone.csv", "nope_*.csv"}


def test_the_data_folder_has_data_files_of_every_suffix_the_index_reads():
    files = data_files()
    assert len(files) > 40
    assert {Path(f).suffix for f in files} <= DATA_SUFFIXES, "a data file has a suffix the index test does not read"


def test_every_data_file_is_named_in_sources_md():
    missing = sorted(data_files() - named_in_index(INDEX.read_text(encoding="utf-8")))
    assert not missing, f"data/SOURCES.md does not name {len(missing)} data file(s): {missing}"


def exists(name: str) -> bool:
    """A named file exists; a pattern (``network_*.csv``) matches at least one file."""
    if "*" in name:
        return any(p.is_file() for p in DATA.glob(name))
    return (DATA / name).is_file()


def test_every_data_file_sources_md_names_exists():
    stale = sorted(n for n in named_in_index(INDEX.read_text(encoding="utf-8")) if not exists(n))
    assert not stale, f"data/SOURCES.md names file(s) that are not under data/: {stale}"
