"""il.memory.training_memory's overrides (and largest_model's) name the override meant for a common
spelling: ``training_memory(sc, mbs=4)`` said "unknown training_memory override 'mbs'. Valid: ..."
with no suggestion (session 38). Now the words of errors.unknown_keyword: mbs /
micro_batch_size -> micro_batch (errors.KEYWORD_SPELLINGS), and a [parallelism] or [training]
key that is no override (tp, pp, gbs -> global_batch) says how to change it on the scenario."""

from __future__ import annotations

import pytest

import infra_lab as il
from infra_lab.errors import UnknownNameError

SC = "zaya1-ibm-mi300x"


@pytest.mark.parametrize(("typed", "meant"), [
    ("mbs", "micro_batch"), ("micro_batch_size", "micro_batch"), ("microbatch", "micro_batch"),
    ("seq_length", "seq_len"), ("sequence_length", "seq_len"), ("zero_stage", "zero"),
])
def test_a_common_spelling_names_the_override_first(typed, meant):
    with pytest.raises(UnknownNameError) as e:
        il.memory.training_memory(SC, **{typed: 2})
    msg = str(e.value)
    assert msg.startswith(f"unknown keyword argument {typed!r} of il.memory.training_memory(). "
                          f"Did you mean {meant!r}"), msg
    assert "Valid: accelerator, " in msg
    il.memory.training_memory_total(SC, **{meant: 2 if meant != "seq_len" else 4096})   # the name it gives works


@pytest.mark.parametrize(("typed", "table", "key", "value"), [
    ("tp", "parallelism", "tp", 4), ("pp", "parallelism", "pp", 2), ("gbs", "training", "global_batch", 4096),
    ("global_batch", "training", "global_batch", 4096), ("global_batch_size", "training", "global_batch", 4096),
])
def test_a_scenario_key_says_how_to_change_it_on_the_scenario(typed, table, key, value):
    with pytest.raises(UnknownNameError) as e:
        il.memory.training_memory(SC, **{typed: value})
    msg = str(e.value)
    assert f"({key} is the scenario's [{table}] key, not an override: sc.replace({table}={{{key!r}: {value}}}))" in msg
    assert "Did you mean" not in msg       # no guess among the overrides ('gbs' read 'grad_bytes')
    il.load_scenario(SC).replace(**{table: {key: value}})   # the call it shows is one that runs


def test_largest_model_names_the_override_too():
    with pytest.raises(UnknownNameError, match=r"^unknown keyword argument 'mbs' of il\.memory\.largest_model\(\)\. "
                                               r"Did you mean 'micro_batch'"):
        il.memory.largest_model("MI300X", mbs=2)
