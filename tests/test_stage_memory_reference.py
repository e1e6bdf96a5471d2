"""The stage memory kernel (``_kernels.memory.stage_memory``, what il.memory.training_memory and
the step kernel price a pipeline stage with) equals its plain-Python reference
(``stage_memory_reference``: the stage activations written per module kind, composed with
``training_bytes_reference``), on seeded random inputs and on the inputs the current runs'
plans hand it."""

from __future__ import annotations

import random

import numpy as np
import pytest

import infra_lab as il
import infra_lab._kernels.memory as km
from infra_lab import memory
from infra_lab.errors import ValidationError
from infra_lab.validation.runs import current_runs, scenario_for_run

NAMES = ("p_ne p_e emb tp ep etp g_ne g_e zero fsdp wb gb ob nd nm rd rm a_dense a_moe w_dense w_moe "
         "full_recompute nf tok_h act_bytes dropout has_emb has_head logits_bytes reserve wq o_dense o_moe "
         "cp_attn n_mtp rx a_mtp w_mtp rsb p_head ugq agb").split()


def _random_stage(rng: random.Random) -> tuple:
    """One stage's kernel inputs: dense or MoE, any recompute mode (block method included),
    pipeline in-flight counts, offloading, MTP, ZeRO 0-3 / FSDP, CP buffers."""
    moe = rng.random() < 0.5
    nd = float(rng.choice([0, 1, 3, 8]) if moe else rng.choice([1, 4, 20, 61]))
    nm = float(rng.choice([1, 5, 26, 58])) if moe else 0.0
    remat = rng.random() < 0.5
    rd = float(rng.randint(0, int(nd))) if remat else nd
    rm = float(rng.randint(0, int(nm))) if remat else nm
    has_head = 1.0 if rng.random() < 0.5 else 0.0
    n_mtp = float(rng.choice([0, 1, 2])) if has_head else 0.0
    rx = float(rng.randint(0, int(n_mtp))) if remat else n_mtp
    offload = rng.random() < 0.3
    d = dict(p_ne=rng.uniform(1e8, 2e10), p_e=rng.uniform(1e9, 6e11) if moe else 0.0,
             emb=rng.choice([0.0, 5e8, 1.9e9]), tp=float(rng.choice([1, 2, 4, 8])),
             ep=float(rng.choice([1, 8, 64])) if moe else 1.0, etp=float(rng.choice([1, 2])) if moe else 1.0,
             g_ne=float(rng.choice([1, 8, 512])), g_e=float(rng.choice([1, 4, 64])),
             zero=rng.randint(0, 3), fsdp=rng.randint(0, 2), wb=2.0, gb=rng.choice([2.0, 4.0]),
             ob=rng.choice([12.0, 8.0, 16.0]), nd=nd, nm=nm, rd=rd, rm=rm,
             a_dense=rng.uniform(1e7, 4e9), a_moe=rng.uniform(1e7, 9e9), w_dense=rng.uniform(4e9, 2e10),
             w_moe=rng.uniform(4e9, 5e10), full_recompute=1 if remat else 0,
             nf=rng.choice([1.0, 2.5, 4.0, 8.0, 15.0]), tok_h=rng.uniform(1e6, 1e9), act_bytes=2.0,
             dropout=float(rng.random() < 0.5), has_emb=float(rng.random() < 0.5), has_head=has_head,
             logits_bytes=rng.uniform(0.0, 3e10) if has_head else 0.0, reserve=rng.uniform(0, 6e9),
             wq=rng.choice([0.0, 1.03125]), o_dense=rng.uniform(0, 3e9) if offload else 0.0,
             o_moe=rng.uniform(0, 8e9) if offload and moe else 0.0, cp_attn=rng.choice([0.0, 2e9, 4e10]),
             n_mtp=n_mtp, rx=rx, a_mtp=rng.uniform(1e8, 4e9) if n_mtp else 0.0,
             w_mtp=rng.uniform(4e9, 2e10) if n_mtp else 0.0, rsb=rng.choice([0.0, 2.0, 4.0]),
             p_head=rng.choice([0.0, 1e9]), ugq=rng.choice([0.0, 5e8, 3e10]), agb=rng.choice([2.0, 1.0]))
    return tuple(d[n] for n in NAMES)


@pytest.mark.parametrize("seed", range(40))
def test_kernel_equals_the_reference_on_seeded_random_stages(seed):
    args = _random_stage(random.Random(seed))
    np.testing.assert_allclose(km.stage_memory(*args), km.stage_memory_reference(*args), rtol=1e-12, atol=1e-3)


def test_partial_recompute_keeps_the_left_out_layers_whole():
    """A worked case by hand: 4 dense layers, 3 re-run, 2 micro-batches in flight: each keeps
    3 inputs (10 bytes) and 1 whole layer (100 bytes); the working set is one whole layer."""
    args = dict(zip(NAMES, _random_stage(random.Random(0)), strict=True))
    args.update(nd=4.0, nm=0.0, rd=3.0, rm=0.0, a_dense=10.0, w_dense=100.0, full_recompute=1, nf=2.0,
                o_dense=0.0, o_moe=0.0, n_mtp=0.0, rx=0.0, has_emb=0.0, has_head=0.0)
    act, work, head = km.stage_activations_reference(*(args[n] for n in (
        "nd nm rd rm a_dense a_moe w_dense w_moe full_recompute nf tok_h act_bytes dropout has_emb has_head "
        "logits_bytes o_dense o_moe n_mtp rx a_mtp w_mtp").split()))
    assert (act, work, head) == (2 * (3 * 10.0 + 100.0), 100.0, 0.0)


def _extra_plans() -> list:
    """Plans the current runs do not reach: multi-token prediction (re-run by full recompute
    or, under the block method, kept whole) and a stack that keeps embedding dropout masks."""
    def sc(model, nodes, training, parallelism, nic=None):
        hw = {"accelerator": "H100-SXM", "nodes": nodes, **({"nic": nic} if nic else {})}
        return il.Scenario.from_dict({"model": model, "hardware": hw, "training": training,
                                      "parallelism": parallelism})
    moe = {"preset": "mixtral-8x7b", "mtp_layers": 2}
    base = {"seq_len": 4096, "global_batch": 64, "micro_batch": 1}
    return [
        sc(moe, 2, {**base, "recompute": "full"}, {"tp": 2, "pp": 2, "ep": 4, "sequence_parallel": True},
           "ConnectX-7-NDR"),
        sc(moe, 2, {**base, "recompute": "full", "recompute_num_layers": 2},
           {"tp": 2, "pp": 2, "ep": 4, "sequence_parallel": True}, "ConnectX-7-NDR"),
        sc({"preset": "llama3-8b", "mtp_layers": 1}, 1, {**base, "recompute": "selective"}, {"tp": 1, "pp": 2}),
        sc({"preset": "llama3-8b"}, 1, {**base, "stack": "megatron-lm-2022-cuda"},
           {"tp": 2, "pp": 2, "sequence_parallel": True}),
    ]


@pytest.fixture(scope="module")
def plan_calls():
    """The inputs il.memory.training_memory hands the kernel for every current run the model
    can express, and for :func:`_extra_plans`."""
    calls, plans = [], []
    original = km.stage_memory

    def recording(*args):
        calls.append(args)
        return original(*args)

    for row in current_runs().iter_rows(named=True):
        try:
            plans.append(scenario_for_run(row)[0])
        except ValidationError:   # a run the model cannot express (scenario_for_run says why)
            continue
    plans += _extra_plans()
    mp = pytest.MonkeyPatch()
    mp.setattr(km, "stage_memory", recording)
    try:
        for sc in plans:
            memory.training_memory(sc)
    finally:
        mp.undo()
    return calls, plans


def test_kernel_equals_the_reference_on_plans(plan_calls):
    calls, plans = plan_calls
    assert len(plans) >= 40 and len(calls) >= len(plans)
    a = {n: np.array([c[i] for c in calls], dtype=float) for i, n in enumerate(NAMES)}
    # the plans cover what the reference distinguishes
    assert (a["nm"] > 0).any() and (a["nm"] == 0).any(), "MoE and dense stages"
    assert (a["nf"] > 1).any() and (a["full_recompute"] > 0).any() and (a["full_recompute"] == 0).any()
    assert ((a["rd"] < a["nd"]) | (a["rm"] < a["nm"])).any(), "the block method's left-out layers"
    assert (a["n_mtp"] > 0).any() and (a["rx"] < a["n_mtp"]).any() and (a["rx"] > 0).any()
    assert (a["dropout"] > 0).any() and (a["o_moe"] > 0).any()
    assert (a["fsdp"] > 0).any() and (a["zero"] < 3).any() and (a["cp_attn"] > 0).any()
    assert (a["has_head"] > 0).any() and (a["has_emb"] > 0).any()
    for c in calls:
        np.testing.assert_allclose(km.stage_memory(*c), km.stage_memory_reference(*c), rtol=1e-12, atol=1e-3)
