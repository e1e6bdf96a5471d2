"""calibrate_current(nodes=...): the family fit on the train runs on one node only or on more
than one only (the diagnostic of docs/validation-history.md, entry 40), checked against the
same fit on a run table filtered by its published GPU count, and its refusal of bad values."""

import polars as pl
import pytest

from infra_lab import validation as V
from infra_lab.errors import ValidationError

TT = "torchtitan"
GPUS_PER_NODE = 8   # every compared run on one node is one 8-GPU node (tests below check it)


@pytest.fixture(scope="module")
def full_runs():
    return V.calibration._family_fit_runs()


@pytest.fixture(scope="module")
def one_node():
    return V.calibrate_current(nodes="one")


def test_the_node_subsets_split_the_fit_runs(full_runs):
    one = V.calibration._family_fit_runs(nodes="one")
    multi = V.calibration._family_fit_runs(nodes="multi")
    for fam, runs in full_runs.items():
        ids = {r[0] for r in runs}
        a, b = {r[0] for r in one[fam]}, {r[0] for r in multi[fam]}
        assert a | b == ids and not a & b, fam
        assert all(sc.hardware.nodes == 1 for _, sc, _ in one[fam])
        assert all(sc.hardware.nodes > 1 for _, sc, _ in multi[fam])
    assert one[TT] and multi[TT]


def test_one_node_fit_is_the_fit_on_the_single_node_rows(monkeypatch, one_node, full_runs):
    """Independent check: the nodes="one" fit equals the default fit run on a run table that
    keeps only the rows of at most one 8-GPU node (the published ``gpus`` column)."""
    n_one = sum(1 for _, sc, _ in full_runs[TT] if sc.hardware.nodes == 1)
    assert one_node[TT]["train_cases"] == n_one
    small = V.current_runs().filter(pl.col("gpus").cast(pl.Float64) <= GPUS_PER_NODE)
    monkeypatch.setattr(V.calibration, "current_runs", lambda: small)
    alone = V.calibration._calibrate_current(families=(TT,))
    assert alone[TT] == one_node[TT]
    for fam, fit in one_node.items():
        for (lo, hi), name in zip(V.FIT_BOUNDS, V.CURRENT_FITTED, strict=True):
            assert lo <= fit[name] <= hi, (fam, name)


def test_node_subset_fit_reads_train_rows_only(monkeypatch):
    seen = []
    real = V.calibration.scenario_for_run

    def spy(row, *a, **k):
        seen.append(row["split"])
        return real(row, *a, **k)

    monkeypatch.setattr(V.calibration, "scenario_for_run", spy)
    V.calibration._family_fit_runs(nodes="multi")
    assert seen and set(seen) == {"train"}


@pytest.mark.parametrize("bad", ["two", "One", 1, True, ["one"]])
def test_bad_nodes_value_is_refused(bad):
    with pytest.raises(ValidationError) as e:
        V.calibrate_current(nodes=bad)
    msg = str(e.value)
    assert msg.startswith(f"nodes = {bad!r}") and "'one'" in msg and "'multi'" in msg
