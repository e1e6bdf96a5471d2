"""infra_lab.errors: the nearest-name suggestions (squashed spellings, declared aliases, prefixes)
and the message an unknown name raises."""

from __future__ import annotations

import pytest

from infra_lab import errors
from infra_lab.errors import UnknownNameError, nearest, squash, unknown

NICS = ["BlueField-3", "ConnectX-6-HDR", "ConnectX-7-NDR", "ConnectX-8", "Pollara-400", "Vulcano-800"]
NIC_ALIASES = {"cx7": "ConnectX-7-NDR", "connectx-7": "ConnectX-7-NDR", "cx8": "ConnectX-8",
               "amd pensando pollara 400": "Pollara-400"}


def test_squash_ignores_case_punctuation_maker_words_and_an_organisation_prefix():
    assert squash("H100 SXM") == squash("h100_sxm") == squash("H100-SXM") == "h100sxm"
    assert squash("NVIDIA H100 SXM") == "h100sxm"
    assert squash("AMD Instinct MI300X") == "mi300x"
    assert squash("meta-llama/Llama-3.1-405B") == squash("llama3.1-405b")
    assert squash("ＭＩ３００Ｘ") == "mi300x"           # full-width forms fold
    assert squash("AMD") == "amd"                      # a name of maker words only keeps them


@pytest.mark.parametrize(("typed", "first"), [
    ("CX7-400", "ConnectX-7-NDR"),        # an alias ('cx7') starts it
    ("ConnectX7", "ConnectX-7-NDR"),      # the alias 'ConnectX-7' without its hyphen
    ("connectx-7 400G", "ConnectX-7-NDR"),
    ("cx-8", "ConnectX-8"),
    ("Pollara400", "Pollara-400"),
    ("pensando pollara 400", "Pollara-400"),
])
def test_nearest_finds_the_intended_name_through_aliases_and_squashed_forms(typed, first):
    assert nearest(typed, NICS, aliases=NIC_ALIASES)[0] == first


def test_without_aliases_a_prefix_still_ranks_first_and_plain_typos_still_match():
    assert nearest("mi300", ["B300", "MI300X", "MI350X"])[0] == "MI300X"
    assert "MI300X" in nearest("MI301X", ["B300", "MI300X", "MI350X"])
    assert nearest("Polara-400", NICS)[0] == "Pollara-400"
    assert nearest("  ", NICS) == [] and nearest("zzzzzz", NICS) == []
    # a short key (under errors._MIN_PREFIX characters) is not matched as a prefix
    assert "max_tpot_s" not in nearest("tp", ["top", "max_tpot_s", "concurrencies"])
    assert errors._MIN_PREFIX == 3


def test_an_alias_that_names_no_valid_name_is_ignored():
    assert nearest("cx7", ["Pollara-400"], aliases={"cx7": "ConnectX-7-NDR"}) != ["ConnectX-7-NDR"]


def test_unknown_suggests_valid_names_only_and_lists_them():
    e = unknown("NIC", "CX7-400", NICS, where="hardware.nic", aliases=NIC_ALIASES)
    assert isinstance(e, UnknownNameError)
    msg = str(e)
    assert msg.startswith("unknown NIC 'CX7-400' in hardware.nic. Did you mean 'ConnectX-7-NDR'")
    assert "'cx7'" not in msg and msg.endswith("Valid: " + ", ".join(sorted(NICS)))
