"""The on-disk cache of the busiest-rank expert tables' Monte Carlo (infra_lab/_disk_cache.py,
compute.moe._busiest_mc_table): a stored table is the computed one to the bit (and both are the
tables the code computed before the cache: pinned digests), a hit runs no Monte Carlo, a
different input or source is a different entry, damaged entries are recomputed, and a folder
that cannot be written costs a recomputation, never an error."""

import hashlib
from pathlib import Path

import numpy as np
import pytest

from infra_lab import _disk_cache
from infra_lab.compute import moe

# SHA-256 of the tables' float64 bytes as the code computed them before the cache (main at
# 9784a4c): DeepSeek-V3 (256 experts, top-8, 4 of 8 groups) at ep 8, and a small 2-of-8 limit
SMALL = (64, 6, 8, 8, 2)
PINNED = {(256, 8, 8, 8, 4): (546, "df51f501eab4b54ecd501bea3773fe9dd777741af679f379506751c9fd8530d4"),
          SMALL: (163, "1e103548519702ce8247e661b1044c47fc7c92826291834869aac1389fb68d70")}


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    """A fresh cache folder, and no table kept in this process's memory."""
    monkeypatch.setenv(_disk_cache.ENV, str(tmp_path / "cache"))
    moe._busiest_table.cache_clear()
    yield tmp_path / "cache"
    moe._busiest_table.cache_clear()


def _entries(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.npy")) if folder.exists() else []


def _no_monte_carlo(monkeypatch):
    import infra_lab._kernels.moe as K

    def refuse(*a):
        raise AssertionError("the Monte Carlo ran although the table is stored")

    monkeypatch.setattr(K, "busiest_rank_experts_mt_kernel", refuse)


@pytest.mark.parametrize("args", list(PINNED))
def test_stored_table_is_the_computed_one_to_the_bit(args, cache_dir, monkeypatch):
    size, digest = PINNED[args]
    computed = moe.moe_busiest_rank_experts_table(*args)            # a miss: computed and stored
    assert computed.size == size and hashlib.sha256(computed.tobytes()).hexdigest() == digest
    (entry,) = _entries(cache_dir)
    moe._busiest_table.cache_clear()
    _no_monte_carlo(monkeypatch)
    stored = moe.moe_busiest_rank_experts_table(*args)              # a hit: read back
    assert stored.dtype == np.float64 and np.array_equal(stored, computed)
    assert stored.tobytes() == computed.tobytes()
    assert moe.moe_busiest_rank_experts(7, *args) == float(computed[7])
    assert _entries(cache_dir) == [entry]


def test_cache_off_stores_nothing_and_gives_the_same_table(monkeypatch):
    monkeypatch.setenv(_disk_cache.ENV, "off")
    moe._busiest_table.cache_clear()
    t = moe.moe_busiest_rank_experts_table(*SMALL)
    moe._busiest_table.cache_clear()
    assert _disk_cache.cache_root() is None
    assert hashlib.sha256(t.tobytes()).hexdigest() == PINNED[SMALL][1]


def test_each_input_and_the_code_key_their_own_entry(cache_dir, monkeypatch):
    a = moe.moe_busiest_rank_experts_table(*SMALL)
    b = moe.moe_busiest_rank_experts_table(*SMALL, seed=1)
    c = moe.moe_busiest_rank_experts_table(*SMALL, trials=500)
    assert len(_entries(cache_dir)) == 3 and not np.array_equal(a, b) and not np.array_equal(a, c)
    # a change of the code (another digest of the sources) is a new entry, computed again
    key = {"E": 64}
    before = _disk_cache.entry_path("busiest_rank_experts", key, moe._BUSIEST_SOURCES)
    monkeypatch.setattr(_disk_cache, "sources_digest", lambda *files: "another version of the code")
    assert _disk_cache.entry_path("busiest_rank_experts", key, moe._BUSIEST_SOURCES) != before
    moe._busiest_table.cache_clear()
    assert np.array_equal(moe.moe_busiest_rank_experts_table(*SMALL), a)
    assert len(_entries(cache_dir)) == 4


@pytest.mark.parametrize("damage", ["truncated", "garbage", "wrong size", "not a table", "nan"])
def test_a_damaged_entry_is_recomputed_and_replaced(damage, cache_dir):
    good = moe.moe_busiest_rank_experts_table(*SMALL)
    (entry,) = _entries(cache_dir)
    if damage == "truncated":
        entry.write_bytes(entry.read_bytes()[:200])
    elif damage == "garbage":
        entry.write_bytes(b"\x00not an npy file")
    elif damage == "wrong size":
        np.save(entry, good[:-1])
    elif damage == "not a table":       # the right size, values no table can hold
        np.save(entry, good[::-1].copy())
    else:
        bad = good.copy()
        bad[3] = np.nan
        np.save(entry, bad)
    moe._busiest_table.cache_clear()
    again = moe.moe_busiest_rank_experts_table(*SMALL)
    assert again.tobytes() == good.tobytes()
    assert np.load(entry).tobytes() == good.tobytes()     # rewritten


def test_a_folder_that_cannot_be_written_costs_a_recomputation_not_an_error(tmp_path, monkeypatch):
    blocker = tmp_path / "a file"
    blocker.write_text("not a folder")
    monkeypatch.setenv(_disk_cache.ENV, str(blocker / "cache"))      # cannot be created
    moe._busiest_table.cache_clear()
    t = moe.moe_busiest_rank_experts_table(*SMALL)
    assert hashlib.sha256(t.tobytes()).hexdigest() == PINNED[SMALL][1]
    # a folder that exists but refuses new files (a read-only home; as root chmod would not stop it)
    monkeypatch.setenv(_disk_cache.ENV, str(tmp_path / "ro"))
    (tmp_path / "ro").mkdir()

    def refuse(*a, **k):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(_disk_cache.tempfile, "mkstemp", refuse)
    moe._busiest_table.cache_clear()
    assert moe.moe_busiest_rank_experts_table(*SMALL).tobytes() == t.tobytes()
    assert _entries(tmp_path / "ro") == []
    moe._busiest_table.cache_clear()


def test_a_failed_write_leaves_no_partial_file(tmp_path, monkeypatch):
    def full_disk(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(_disk_cache.os, "replace", full_disk)
    path = tmp_path / "ns" / "entry.npy"
    assert _disk_cache.store(path, np.arange(3.0)) is False
    assert list((tmp_path / "ns").iterdir()) == []
    assert _disk_cache.load(path, (3,)) is None


def test_cache_folder_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(_disk_cache.ENV, str(tmp_path / "mine"))
    assert _disk_cache.cache_root() == tmp_path / "mine"
    monkeypatch.setenv(_disk_cache.ENV, "OFF")
    assert _disk_cache.cache_root() is None
    monkeypatch.delenv(_disk_cache.ENV)
    monkeypatch.setattr(_disk_cache.sys, "platform", "linux")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert _disk_cache.cache_root() == tmp_path / "xdg" / "infra_lab"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")     # the XDG spec: relative paths are invalid
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert _disk_cache.cache_root() == tmp_path / "home" / ".cache" / "infra_lab"
