"""Memory model: Korthikanti reproduction, sharding properties, KV cache, inference fit."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import infra_lab as il
from infra_lab import memory
from infra_lab.errors import UnknownNameError, ValidationError
from infra_lab.units import GiB


def _sc(**kw):
    d = {"model": {"preset": kw.pop("preset", "llama3-8b")},
         "hardware": {"accelerator": kw.pop("accelerator", "MI300X"), "nodes": kw.pop("nodes", 1)},
         "training": {"seq_len": 4096, "global_batch": kw.pop("global_batch", 64),
                      "micro_batch": kw.pop("micro_batch", 1), "recompute": kw.pop("recompute", "none"),
                      "optimizer": kw.pop("optimizer", "adamw")},
         "parallelism": {"zero": 1, **kw}}
    return il.Scenario.from_dict(d)


class TestKorthikanti:
    """Korthikanti et al. 2022 Table 5 (https://arxiv.org/abs/2205.05198): per-GPU memory of its runs, GiB as calculon prints them."""

    def test_table(self):
        k = memory.korthikanti_check()
        assert k.height == 12
        # Errors (transformer layers, as published): params+optimizer <= 0.03 %,
        # activations without recompute <= 0.01 %, selective + SP <= 0.03 %.
        worst = k.group_by("quantity").agg(pl.col("error_pct").abs().max()).sort("quantity")
        lim = {"params+optimizer": 0.03, "activations, no recompute": 0.01,
               "activations, selective + SP": 0.03}
        for r in worst.iter_rows(named=True):
            assert r["error_pct"] < lim[r["quantity"]], r
        # with embeddings / logits added (the published figures leave them out): < 9 %
        assert k["with_embeddings_error_pct"].max() < 9.0

    def test_published_figures_and_runs_are_read_from_the_data(self, tmp_path, monkeypatch):
        """The published GiB and each run's configuration are the rows of
        data/measurements/korthikanti2022_table5.csv (fig1_* columns, one copy per model), not
        numbers typed in code: a changed cell moves the check."""
        import shutil

        from infra_lab.validation import _common

        runs = memory.korthikanti_runs()
        assert runs["case"].to_list() == ["K22-22B-sel+sp", "K22-175B-sel+sp", "K22-530B-sel+sp", "K22-1T-sel+sp"]
        assert runs["source_url"].str.contains("arxiv.org/abs/2205.05198").all()
        k = memory.korthikanti_check()
        for quantity, col, _, _ in memory.KORTHIKANTI_QUANTITIES:
            assert k.filter(pl.col("quantity") == quantity)["published_gib"].to_list() == runs[col].to_list()
        # edit one published cell and one configuration cell in a copy of the folder
        d = tmp_path / "measurements"
        shutil.copytree(_common.MEASUREMENT_DIR, d)
        f = d / "korthikanti2022_table5.csv"
        t = pl.read_csv(f, infer_schema_length=None)
        sel = pl.col("case") == "K22-22B-sel+sp"
        t = t.with_columns(pl.when(sel).then(pl.lit(50.0)).otherwise(pl.col("fig1_weights_grads_optimizer_GiB"))
                           .alias("fig1_weights_grads_optimizer_GiB"),
                           *(pl.when(sel).then(pl.lit(2)).otherwise(pl.col(c)).alias(c)
                             for c in ("micro_batch", "global_batch")))
        t.write_csv(f)
        monkeypatch.setattr(_common, "MEASUREMENT_DIR", d)
        k2 = memory.korthikanti_check().filter(pl.col("model") == "22B")
        k1 = k.filter(pl.col("model") == "22B")
        assert k2["published_gib"][0] == 50.0
        act = [q for q, *_ in memory.KORTHIKANTI_QUANTITIES][1]
        assert (k2.filter(pl.col("quantity") == act)["predicted_gib"][0]
                == pytest.approx(0.5 * k1.filter(pl.col("quantity") == act)["predicted_gib"][0]))  # micro-batch 4 -> 2

    def test_runs_use_the_format_tables_bytes(self):
        """16-bit weights and fp32 gradients (Megatron main_grad) and Adam's fp32 master + two
        moments: 2 + 4 + 12 = 18 B/param from the number-format table, not typed."""
        fb = il.catalog.format_bytes
        run = memory.korthikanti_runs().row(0, named=True)
        assert fb(run["precision"]) + fb("fp32") + memory.OPTIMIZER_STATE_BYTES["adam"] == 18.0

    @pytest.mark.parametrize("sp,rec,pct", [(True, "none", 62.04), (False, "selective", 56.53),
                                            (True, "selective", 18.49), (False, "full", 8.71)])
    def test_figure7_175b(self, sp, rec, pct):
        base = memory.korthikanti_activation_bytes(2048, 1, 12288, 96, 8)
        x = memory.korthikanti_activation_bytes(2048, 1, 12288, 96, 8, sp, rec)
        assert 100 * x / base == pytest.approx(pct, abs=0.1)

    @given(s=st.sampled_from([512, 2048, 4096]), b=st.integers(1, 8), t=st.sampled_from([1, 2, 4, 8]),
           sp=st.booleans(), rec=st.sampled_from(["none", "selective", "full"]))
    def test_generalised_layer_reduces_to_closed_form(self, s, b, t, sp, rec):
        spec = il.models.get("megatron-175b")
        if t == 1:
            sp = False
        got = memory.activation_bytes_per_layer(spec, s, b, t, sequence_parallel=sp, recompute=rec,
                                                flash_attention=False, dropout=True)["dense"]
        want = memory.korthikanti_activation_bytes(s, b, spec.hidden, spec.heads, t, sp, rec)
        assert got == pytest.approx(want, rel=1e-12)


class TestTraining:
    def test_columns_and_total(self):
        sc = il.load_scenario("zaya1-ibm-mi300x")
        df = memory.training_memory(sc)
        assert df.columns == ["component", "bytes", "GiB", "note"]
        assert (df["bytes"] >= 0).all()
        assert memory.training_memory_total(sc) == pytest.approx(df["bytes"].sum())
        # reserve = bytes outside the caching allocator + a fraction of the tensor bytes, from the stack
        p = il.stacks.params(sc.stack)
        tensors = df.filter(pl.col("component") != "allocator_reserve")["bytes"].sum()
        assert df.filter(pl.col("component") == "allocator_reserve")["bytes"][0] == pytest.approx(
            p["memory_reserve_bytes"] + p["memory_reserve_fraction"] * tensors)

    def test_zero_stages_monotone(self):
        tot = [memory.training_memory_total(_sc(nodes=2), zero=z) for z in range(4)]
        assert tot[0] > tot[1] > tot[2] > tot[3]

    def test_zero1_shards_optimizer_exactly(self):
        a = memory.training_memory(_sc(nodes=1), zero=0)
        b = memory.training_memory(_sc(nodes=1), zero=1)
        get = lambda df: df.filter(pl.col("component") == "optimizer_states")["bytes"][0]  # noqa: E731
        assert get(b) == pytest.approx(get(a) / 8)

    def test_fsdp_equals_zero3_for_static_memory(self):
        a = memory.training_memory(_sc(zero=3))
        b = memory.training_memory(_sc(zero=3, fsdp=True))
        assert a["bytes"].to_list() == pytest.approx(b["bytes"].to_list())

    def test_adamw_bytes_per_param_at_zero0(self):
        sc = _sc(zero=0)
        # ZeRO paper's 2 + 2 + 12 with bf16 gradients; Megatron's fp32 main_grad (the stack default) 2 + 4 + 12
        for grad, per_param in ((2.0, 16), (None, 18)):
            df = memory.training_memory(sc, grad_bytes=grad)
            static = df.filter(pl.col("component").is_in(["weights", "gradients", "optimizer_states"]))["bytes"].sum()
            assert static == pytest.approx(per_param * sc.model_spec.params_total)

    def test_muon_smaller_than_adamw(self):
        assert memory.training_memory_total(_sc(optimizer="muon", zero=0)) < \
            memory.training_memory_total(_sc(optimizer="adamw", zero=0))

    def test_recompute_order(self):
        n, s, f = (memory.training_memory_total(_sc(recompute=r, micro_batch=4, global_batch=32))
                   for r in ("none", "selective", "full"))
        assert n >= s > f

    def test_tp_pp_ep_shard(self):
        base = memory.training_memory_total(_sc(nodes=2))
        assert memory.training_memory_total(_sc(nodes=2, tp=2)) < base
        assert memory.training_memory_total(_sc(nodes=2, pp=2)) < base
        moe = memory.training_memory_total(_sc(preset="mixtral-8x7b", nodes=2))
        moe_ep = memory.training_memory_total(_sc(preset="mixtral-8x7b", nodes=2, ep=8))
        assert moe_ep < moe

    def test_interleaving_adds_inflight(self):
        assert memory.inflight_microbatches(8) == 8
        assert memory.inflight_microbatches(8, 3) == pytest.approx(8 * (1 + 7 / 24))
        assert memory.inflight_microbatches(8, 1, microbatches=3) == 3

    def test_inflight_per_rank_follows_the_schedules_warmup(self):
        """Rank r's in-flight micro-batches at its first backward: 1F1B holds its pp − 1 − r
        warm-up forwards + 1; Megatron-Core's interleaved schedule runs 2·(pp − 1 − r) +
        (vp − 1)·pp warm-up chunk-forwards (get_pp_rank_microbatches) + 1, each 1/vp of the
        rank's layers; rank 0 is Korthikanti's pp + (pp − 1)/vp; capped at the step's m."""
        from infra_lab._kernels.training import inflight

        pp, vp, m = 16, 2, 1000
        for r in range(pp):
            assert inflight(pp, 1, r, m) == pp - r
            warmup_chunks = 2 * (pp - 1 - r) + (vp - 1) * pp
            assert inflight(pp, vp, r, m) == pytest.approx((warmup_chunks + 1) / vp)
        assert inflight(pp, vp, 0, m) == pytest.approx(memory.inflight_microbatches(pp, vp))
        # every rank of an interleaved pipeline holds about pp micro-batches (not pp − r)
        assert inflight(pp, vp, pp - 1, m) == pytest.approx(pp - (pp - 1) / vp)
        assert inflight(pp, vp, 3, 4) == 4

    @given(mbs=st.sampled_from([1, 2, 4]))
    def test_more_microbatch_more_activations(self, mbs):
        a = memory.training_memory_total(_sc(micro_batch=mbs, global_batch=64))
        b = memory.training_memory_total(_sc(micro_batch=2 * mbs, global_batch=64))
        assert b > a

    def test_zaya1_fits_mi300x_dp_zero1(self):
        """The scenario Zyphra ran: plain DP + ZeRO-1 fits 192 GB."""
        assert memory.fits("zaya1-ibm-mi300x")

    def test_bigger_hbm_fits_more(self):
        """A ~30B MoE with plain DP + ZeRO-1: with Megatron's fp32 gradient buffer (the stack
        default) it fits neither device; with bf16 gradients (2 B) it fits MI300X's 192 GB
        but not H100's 80 GB (technical review section 3)."""
        sc = _sc(preset="qwen3-30b-a3b", nodes=16, global_batch=128)
        assert not memory.fits(sc)
        assert memory.fits(sc, grad_bytes=2.0)
        assert not memory.fits(sc, accelerator="H100", grad_bytes=2.0)

    def test_bad_override(self):
        with pytest.raises(UnknownNameError):
            memory.training_memory(_sc(), weight_byte=2)
        with pytest.raises(ValidationError):
            memory.training_memory(_sc(), reserve_fraction=1.5)
        for bad in ("two", float("nan"), -1.0, True):
            with pytest.raises(ValidationError, match="grad_bytes"):
                memory.training_memory(_sc(), grad_bytes=bad)


class TestInference:
    def test_kv_gqa(self):
        assert memory.kv_bytes_per_token("llama3-70b") == 80 * 2 * 8 * 128 * 2
        assert memory.kv_cache_bytes("llama3-8b", 8192) == pytest.approx(GiB)

    def test_kv_mla_smaller_than_mha_equivalent(self):
        spec = il.models.get("deepseek-v3")
        per_layer = memory.kv_bytes_per_token(spec) / spec.layers
        assert per_layer == (spec.kv_lora_rank + spec.qk_rope_head_dim) * 2
        assert per_layer < 2 * spec.heads * spec.head_dim * 2 / 50

    def test_kv_cca_and_ssm_state(self):
        z = il.models.get("zaya1-base")
        assert memory.kv_bytes_per_token(z) == z.layers * 2 * z.kv_heads * z.head_dim * 2
        assert memory.kv_cache_bytes(z, 0) > 0  # convolution state per sequence
        zb = il.models.get("zamba2-7b")
        assert memory.kv_cache_bytes(zb, 0) > 0

    @given(tokens=st.integers(1, 100000), batch=st.integers(1, 64))
    def test_kv_linear(self, tokens, batch):
        one = memory.kv_cache_bytes("llama3-8b", tokens, 1)
        assert memory.kv_cache_bytes("llama3-8b", tokens, batch) == pytest.approx(batch * one)
        assert memory.kv_cache_bytes("llama3-8b", tokens, 1, "fp8") == pytest.approx(one / 2)

    def test_70b_one_mi300x_vs_two_h100(self):
        one = memory.max_inference_batch("llama3-70b", "MI300X", 8192)
        two = memory.max_inference_batch("llama3-70b", "H100", 8192, gpus=2)
        assert one > two >= 0
        assert memory.max_inference_batch("llama3-70b", "H100", 8192) == 0
        df = memory.inference_memory("llama3-70b", "MI300X", 8192, batch=one)
        assert df.filter(pl.col("component") == "free")["bytes"][0] >= 0

    def test_inference_uses_the_memory_a_job_can_address(self):
        """inference_memory and max_inference_batch budgeted the labelled hbm_bytes (192e9 B on
        MI300X) while fits, memory_sweep and il.serve use the driver's memory_capacity_bytes
        (206.1e9 B = 192 GiB): the same GPU had 14 GB less room for a KV cache than for training."""
        for acc in ("MI300X", "H100-SXM", "H200-SXM"):
            cap = il.catalog.accelerator(acc).memory_capacity_bytes
            df = memory.inference_memory("llama3-8b", acc, 8192)
            assert df["bytes"].sum() == pytest.approx(cap, rel=1e-12)
            assert df.filter(pl.col("component") == "allocator_reserve")["bytes"][0] == pytest.approx(0.1 * cap)
        w = memory.weight_bytes("llama3-70b")
        per_seq = memory.kv_cache_bytes("llama3-70b", 4096)
        cap = il.catalog.accelerator("MI300X").memory_capacity_bytes
        assert memory.max_inference_batch("llama3-70b", "MI300X", 4096) == int((0.9 * cap - w) // per_seq)

    def test_errors(self):
        with pytest.raises(UnknownNameError):
            memory.kv_cache_bytes("llama3-8b", 10, precision="bf17")
        with pytest.raises(ValidationError):
            memory.kv_cache_bytes("llama3-8b", -1)


class TestMemoryKernelAgainstReference:
    """The memory kernel the step model and il.memory share equals its independent
    plain-Python statement (ZeRO's sharding rules written per state kind)."""

    @settings(max_examples=60, deadline=None)
    @given(p_ne=st.floats(1e6, 1e12), p_e=st.floats(0, 1e12), emb=st.floats(0, 1e10),
           tp=st.sampled_from([1, 2, 4, 8]), ep=st.sampled_from([1, 2, 8, 64]), etp=st.sampled_from([1, 2]),
           g_ne=st.sampled_from([1, 8, 1024]), g_e=st.sampled_from([1, 4, 128]), zero=st.integers(0, 3),
           fsdp=st.integers(0, 2), layers=st.sampled_from([1, 10, 61]), act=st.floats(0, 1e11),
           wq=st.sampled_from([0.0, 0.0625, 2.0625]), cp_attn=st.sampled_from([0.0, 1e9, 5e9]),
           rsb=st.sampled_from([0.0, 2.0, 4.0]), p_head=st.sampled_from([0.0, 1e8, 1e10]),
           ugq=st.sampled_from([0.0, 1e9, 3e10]), agb=st.sampled_from([2.0, 1.0]))
    def test_kernel_equals_reference(self, p_ne, p_e, emb, tp, ep, etp, g_ne, g_e, zero, fsdp, layers, act, wq,
                                     cp_attn, rsb, p_head, ugq, agb):
        from infra_lab._kernels.memory import training_bytes, training_bytes_reference

        args = (p_ne, p_e, emb, float(tp), float(ep), float(etp), float(g_ne), float(g_e), zero, fsdp,
                2.0, 4.0, 12.0, float(layers), act, 1e9, 2e9, 7e9, wq, cp_attn, rsb, p_head, ugq, agb)
        np.testing.assert_allclose(training_bytes(*args), training_bytes_reference(*args), rtol=1e-12)

    @settings(max_examples=60, deadline=None)
    @given(cp=st.sampled_from([1, 2, 3, 8, 16]), ag=st.sampled_from([0.0, 1.0, 2.0]), tok=st.floats(1.0, 1e6),
           hq=st.sampled_from([4096.0, 16384.0, 24576.0]), hkv=st.sampled_from([512.0, 1024.0, 16384.0]),
           tp=st.sampled_from([1, 2, 8]), ab=st.sampled_from([1.0, 2.0, 4.0]))
    def test_cp_attention_kernel_equals_reference(self, cp, ag, tok, hq, hkv, tp, ab):
        from infra_lab._kernels.memory import cp_attention_bytes, cp_attention_bytes_reference

        args = (float(cp), ag, tok, hq, hkv, float(tp), ab)
        assert cp_attention_bytes(*args) == pytest.approx(cp_attention_bytes_reference(*args), rel=1e-12)


class TestFrameworkBehaviour:
    """Issue 12 item 7: the memory a framework really holds (sources in the docstrings of the infra_lab.memory package)."""

    def test_moe_router_and_dispatch_shard_with_sequence_parallel(self):
        """Under sequence parallelism each TP rank routes and dispatches only its s/tp tokens, so
        with flash attention every stored tensor of a MoE layer is 1/tp of the tp = 1 layer."""
        one = memory.activation_bytes_per_layer("qwen3-235b-a22b", 4096, 1, 1, kind="moe")["moe"]
        four = memory.activation_bytes_per_layer("qwen3-235b-a22b", 4096, 1, 4, sequence_parallel=True,
                                                 kind="moe")["moe"]
        assert four == pytest.approx(one / 4)

    def test_moe_layer_stores_fc1_input_hidden_and_probs(self):
        """One routed copy per top-k: FC1 input h, FC1 output 2·f_e, activation output f_e
        (16-bit) and fp32 logits/probabilities; no combine-side copy (probabilities are applied
        in the weighted activation). Checked against the elements counted by hand."""
        spec = il.models.get("qwen3-235b-a22b")
        s, h, k, f, E = 4096, spec.hidden, spec.top_k, spec.expert_ffn_hidden, spec.experts
        full = memory.activation_bytes_per_layer(spec, s, 1, 1, kind="moe")["moe"]
        dense_part = memory.activation_bytes_per_layer(spec, s, 1, 1, kind="moe", recompute="selective",
                                                       recompute_modules=["moe"])["moe"]
        # the "moe" module keeps only the layer's input: what remains is attention + MLP inputs
        routed = full - dense_part
        assert routed == pytest.approx(s * (4.0 * (E + k) + 2.0 * k * (h + 3 * f)))

    def test_mla_latents_keep_norm_input_and_normalized_copy(self):
        spec = il.models.get("deepseek-v3")
        lat = spec.q_lora_rank + spec.kv_lora_rank
        s = 4096
        kw = dict(recompute="selective", recompute_modules=("core_attn",))
        for lin in (None, 1.0):
            full = memory.activation_bytes_per_layer(spec, s, gemm_input_bytes=lin, **kw)["moe"]
            up = memory.activation_bytes_per_layer(spec, s, gemm_input_bytes=lin, recompute="selective",
                                                   recompute_modules=("core_attn", "mla_up_proj"))["moe"]
            qk = spec.qk_nope_head_dim + spec.qk_rope_head_dim
            upq = spec.heads * (2 * qk + spec.v_head_dim)   # up-projected q, k, v (16 bit)
            # mla_up_proj recompute drops q, k, v and the normalized latents (lin), keeping
            # the 16-bit norm input that the checkpoint holds
            assert full - up == pytest.approx(s * (2.0 * upq + (lin or 2.0) * lat))

    def test_fp8_saves_quantized_gemm_inputs_in_transformer_engine_only(self):
        te = il.stacks.params("megatron-core-cuda")
        tt = il.stacks.params("torchtitan-cuda")
        assert memory.saved_gemm_input_bytes("fp8", te) == 1.0
        assert memory.saved_gemm_input_bytes("bf16", te) is None
        assert memory.saved_gemm_input_bytes("fp8", tt) is None     # torchao saves the 16-bit input
        bf = memory.activation_bytes_per_layer("llama3-8b", 4096, 1, 1)["dense"]
        q8 = memory.activation_bytes_per_layer("llama3-8b", 4096, 1, 1, gemm_input_bytes=1.0)["dense"]
        spec = il.models.get("llama3-8b")
        # GEMM inputs: QKV input h, MLP input h, FC2 input f (1 byte less each); the attention
        # output is kept twice in FP8 (the fused attention's 16-bit O + the out-projection's
        # 1-byte copy): a·d·(2 + 1) against a·d·2 in bf16
        ad = spec.heads * spec.head_dim
        assert bf - q8 == pytest.approx(4096 * (2 * spec.hidden + spec.ffn_hidden - ad))
        # attention core recomputed (Megatron selective): O is not kept, only the 1-byte copy
        kw = dict(recompute="selective")
        bf_s = memory.activation_bytes_per_layer("llama3-8b", 4096, 1, 1, **kw)["dense"]
        q8_s = memory.activation_bytes_per_layer("llama3-8b", 4096, 1, 1, gemm_input_bytes=1.0, **kw)["dense"]
        assert bf_s - q8_s == pytest.approx(4096 * (2 * spec.hidden + spec.ffn_hidden + ad))
        # unfused attention (no flash): the out-projection input is the only copy
        kw = dict(flash_attention=False)
        bf_u = memory.activation_bytes_per_layer("llama3-8b", 4096, 1, 1, **kw)["dense"]
        q8_u = memory.activation_bytes_per_layer("llama3-8b", 4096, 1, 1, gemm_input_bytes=1.0, **kw)["dense"]
        assert bf_u - q8_u == pytest.approx(4096 * (2 * spec.hidden + spec.ffn_hidden + ad))
        base = {"model": {"preset": "llama3-8b"}, "hardware": {"accelerator": "H100", "nodes": 1},
                "training": {"seq_len": 4096, "global_batch": 8, "micro_batch": 1}}
        act = lambda sc: memory.training_memory(sc).filter(  # noqa: E731
            pl.col("component") == "activations")["bytes"][0]
        for stack, smaller in (("megatron-core-cuda", True), ("torchtitan-cuda", False)):
            b16 = il.Scenario.from_dict({**base, "training": {**base["training"], "stack": stack}})
            f8 = b16.replace(training={"precision": "fp8"})
            assert (act(f8) < act(b16)) is smaller, stack

    def test_loss_logits(self):
        tok, v = 8192, 128256
        assert memory.loss_logits_bytes(tok, v) == tok * v * 6.0                  # bf16 + one fp32 copy
        assert memory.loss_logits_bytes(tok, v, fp32_copies=2) == tok * v * 10.0  # F.cross_entropy(x.float())
        assert memory.loss_logits_bytes(tok, v, loss_fusion=True) == tok * v * 2.0
        assert memory.loss_logits_bytes(tok, v, 8, loss_chunks=4) == tok * v / 8 * 6.0 / 4
        sc = _sc()
        head = lambda s: memory.training_memory(s).filter(  # noqa: E731
            pl.col("component") == "embedding_and_head_activations")["bytes"][0]
        v8 = sc.model_spec.vocab
        # megatron-core stack (one fp32 copy): 6 B per logit -> fused over 2 chunks: 1 B per logit
        assert head(sc) - head(sc.replace(training={"loss_fusion": True, "loss_chunks": 2})) == \
            pytest.approx(4096 * v8 * 5.0)
        with pytest.raises(ValidationError, match="loss_chunks"):
            sc.replace(training={"loss_chunks": 0})
        with pytest.raises(ValidationError, match="loss_fusion"):
            sc.replace(training={"loss_fusion": "yes"})

    def test_fp8_weight_copies(self):
        """Transformer Engine keeps FP8 rowwise + columnwise copies of each linear weight beside
        the 16-bit one (2 B/param for FP8); with fp8_param_gather they replace it; torchao none."""
        te, tt = il.stacks.params("megatron-core-cuda"), il.stacks.params("torchtitan-cuda")
        assert memory.fp8_weight_copy_bytes("fp8", te) == 2.0
        assert memory.fp8_weight_copy_bytes("fp8", te, fp8_param_gather=True) == 0.0
        assert memory.fp8_weight_copy_bytes("mxfp8", te, fp8_param_gather=True) == pytest.approx(
            2 * il.catalog.format_bytes("mxfp8") - 2.0)
        assert memory.fp8_weight_copy_bytes("fp8", tt) == 0.0
        base = {"model": {"preset": "llama3-8b"}, "hardware": {"accelerator": "H100", "nodes": 1},
                "training": {"seq_len": 4096, "global_batch": 8, "micro_batch": 1, "precision": "fp8",
                             "stack": "megatron-core-cuda"}, "parallelism": {"zero": 1}}
        w = lambda sc: memory.training_memory(sc).filter(pl.col("component") == "weights")["bytes"][0]  # noqa: E731
        dual, fp8_only = il.Scenario.from_dict(base), il.Scenario.from_dict(base).replace(
            training={"fp8_param_gather": True})
        spec = dual.model_spec
        linear = spec.params_total - spec.vocab * spec.hidden * (1 if spec.tied_embeddings else 2)
        assert w(dual) - w(fp8_only) == pytest.approx(2.0 * linear, rel=1e-6)
        with pytest.raises(ValidationError, match="fp8_param_gather"):
            dual.replace(training={"fp8_param_gather": 1})

    def test_bf16_moments_optimizer(self):
        sc = _sc(zero=0, optimizer="adamw-bf16")
        df = memory.training_memory(sc)
        opt = df.filter(pl.col("component") == "optimizer_states")["bytes"][0]
        assert opt == pytest.approx(8.0 * sc.model_spec.params_total)      # fp32 master + 2 + 2

    def test_fits_against_the_memory_the_driver_exposes(self):
        """An H100 "80 GB" exposes 81,559 MiB (nvidia-smi): a job between 80e9 bytes and that fits."""
        h100 = il.catalog.accelerator("H100")
        assert h100.memory_capacity_bytes == 81559 * 2**20
        assert h100.hbm_bytes < h100.memory_capacity_bytes
        assert il.catalog.accelerator("GB200").memory_capacity_bytes == 189471 * 2**20   # nvidia-smi
        # driver totals sourced per row (nvidia-smi memory.total / amd-smi VRAM total, MiB)
        for name, mib in (("H200-SXM", 143771), ("B300", 275040), ("GB300", 284208),
                          ("MI325X", 262128), ("MI350X", 294592), ("MI355X", 294896)):
            assert il.catalog.accelerator(name).memory_capacity_bytes == mib * 2**20, name
        # the H200's "141 GB" is decimal: the driver exposes more than the label
        assert il.catalog.accelerator("H200-SXM").memory_capacity_bytes > il.catalog.accelerator("H200-SXM").hbm_bytes
        # no sourced figure (announced, not shipping): the labelled capacity
        assert il.catalog.accelerator("MI450X").memory_capacity_bytes == il.catalog.accelerator("MI450X").hbm_bytes
        sc = _sc(accelerator="H100", zero=3)
        f = il.stacks.params(sc.stack)["memory_reserve_fraction"]
        tensors = memory.training_memory_total(sc, reserve_bytes=0.0) / (1.0 + f)
        target = (h100.hbm_bytes + h100.memory_capacity_bytes) / 2
        reserve = target - tensors * (1.0 + f)
        assert reserve > 0
        assert memory.training_memory_total(sc, reserve_bytes=reserve) == pytest.approx(target)
        assert memory.fits(sc, reserve_bytes=reserve)
        assert not memory.fits(sc, reserve_bytes=reserve + h100.memory_capacity_bytes - target + 1e6)


class TestExpertTensorParallelActivations:
    """etp > 1: the experts' FC1 input is all-gathered over the expert-TP ranks (Megatron-Core's
    dispatcher), counted once in il.memory and in the step kernel (xtab act_* rows)."""

    def test_gathered_fc1_input(self):
        one = memory.activation_bytes_per_layer("mixtral-8x7b", 4096, 1, 2, sequence_parallel=True, kind="moe")
        two = memory.activation_bytes_per_layer("mixtral-8x7b", 4096, 1, 2, sequence_parallel=True, kind="moe",
                                                etp=2)
        spec = il.models.get("mixtral-8x7b")
        assert two["moe"] - one["moe"] == pytest.approx(4096 / 2 * spec.top_k * spec.hidden * 2.0)
        assert memory.moe_etp_gather_bytes(spec, 2048, 2) == pytest.approx(2048 * spec.top_k * spec.hidden * 2.0)

    @pytest.mark.parametrize("rc,etp,mods", [("none", 2, None), ("selective", 2, ["moe"]),
                                             ("selective", 2, ["moe_act"]), ("full", 2, None)])
    def test_step_kernel_counts_the_same(self, rc, etp, mods):
        sc = il.Scenario.from_dict({
            "model": {"preset": "mixtral-8x7b"}, "hardware": {"accelerator": "H100", "nodes": 2},
            "training": {"seq_len": 4096, "global_batch": 64, "micro_batch": 1, "recompute": rc,
                         **({"recompute_modules": mods} if mods else {})},
            "parallelism": {"tp": 2, "ep": 4, "etp": etp, "pp": 2, "sequence_parallel": True}})
        assert il.estimate(sc).memory_per_gpu_bytes == pytest.approx(memory.training_memory_total(sc), rel=1e-9)


# --------------------------------------------------------------------------------------
# Megatron-Core fine-grained activation offloading (training.offload_modules)
# --------------------------------------------------------------------------------------
_OFFLOAD_BASE = {
    "model": {"preset": "qwen3-30b-a3b"}, "hardware": {"accelerator": "H100-SXM", "nodes": 2},
    "training": {"seq_len": 4096, "global_batch": 32, "micro_batch": 2, "recompute": "selective",
                 "recompute_modules": ["layernorm", "moe_act"]},
    "parallelism": {"tp": 2, "ep": 4, "etp": 2, "pp": 2, "sequence_parallel": True}}


def test_offloaded_bytes_are_the_named_modules_saved_tensors():
    """Each offload module moves exactly the tensors saved inside it, computed by hand from the
    model's widths; what is offloaded leaves the stored bytes; nothing under full recompute."""
    spec = il.models.get("qwen3-30b-a3b")
    s, b, tp = 4096, 2, 2
    T = s * b
    kw = dict(sequence_parallel=True, recompute="selective", recompute_modules=("layernorm", "moe_act"))
    base = memory.activation_bytes_per_layer(spec, s, b, tp, **kw)["moe"]
    h, k, ef = spec.hidden, spec.top_k, spec.expert_ffn_hidden
    q, kv = spec.heads * spec.head_dim, 2 * spec.kv_heads * spec.head_dim
    expect = {
        ("expert_fc1",): T * 2.0 * k * h / tp,                     # dispatched tokens, 16 bit, s/tp per rank
        ("moe_act",): T * 2.0 * k * 2 * ef / tp,                   # gated FC1 output (the activation's input)
        ("core_attn",): T * 2.0 * (q + kv) / tp,                   # Q, K, V (core recomputed: its inputs)
        ("core_attn", "attn_proj"): T * 2.0 * (q + kv + q) / tp,   # + the out-projection input
        ("attn_norm", "mlp_norm"): 2 * T * 2.0 * h / tp,           # both norms' inputs (residual stream)
        ("qkv_linear",): 0.0,                                      # layernorm recomputed: nothing saved there
    }
    for mods, want in expect.items():
        off = memory.offloaded_bytes_per_layer(spec, s, b, tp, offload_modules=mods, **kw)["moe"]
        left = memory.activation_bytes_per_layer(spec, s, b, tp, offload_modules=mods, **kw)["moe"]
        assert off == pytest.approx(want, rel=1e-12), mods
        assert left + off == pytest.approx(base, rel=1e-12)
    full = dict(kw, recompute="full", recompute_modules=None)
    assert memory.offloaded_bytes_per_layer(spec, s, b, tp, offload_modules=("expert_fc1",), **full)["moe"] == 0.0
    # Megatron's min_offloaded_tensor_size: a tensor under 2^20 elements stays on the GPU
    small = memory.offloaded_bytes_per_layer(spec, 128, 1, 8, offload_modules=("mlp_norm",), **kw)["moe"]
    assert 128 * h / 8 < memory.MIN_OFFLOADED_ELEMENTS and small == 0.0


def test_offloading_memory_time_kernel_and_reference_agree():
    """Offloading lowers the GPU peak by the stage's offloaded bytes less one layer's (kept on
    the GPU), the kernel's memory equals il.memory, kernel and reference agree on every
    component, and on a PCIe host link the copies that outlast the compute add to step time."""
    from infra_lab._kernels.training_reference import step_reference

    sc0 = il.Scenario.from_dict(_OFFLOAD_BASE)
    e0 = il.estimate(sc0)
    prev = e0.memory_per_gpu_bytes
    for mods in (["expert_fc1", "moe_act"], ["core_attn", "attn_proj", "expert_fc1", "moe_act", "mlp_norm"]):
        sc = sc0.replace(training={"offload_modules": mods})
        est, ref = il.estimate(sc), step_reference(sc)
        assert est.memory_per_gpu_bytes == pytest.approx(memory.training_memory_total(sc), rel=1e-12)
        assert est.memory_per_gpu_bytes == pytest.approx(ref["memory_per_gpu_bytes"], rel=1e-12)
        for comp, sec in est.breakdown.iter_rows():
            assert sec == pytest.approx(ref[comp], rel=1e-9, abs=1e-12), comp
        assert est.memory_per_gpu_bytes < prev
        prev = est.memory_per_gpu_bytes
        # copies never speed the step up; 64 GB/s each way (PCIe Gen5 x16) cannot hide the
        # larger set under this small stage's compute (the two expert modules alone hide under
        # it at the Megatron-Core factors fitted since DeepEP is priced per destination rank)
        assert est.step_time_s >= e0.step_time_s
        if len(mods) > 2:
            assert est.step_time_s > e0.step_time_s
    # the activation component: stored − offloaded on every in-flight layer, + one layer's kept
    sc = sc0.replace(training={"offload_modules": ["expert_fc1"]})
    act = dict(memory.training_memory(sc).select("component", "bytes").iter_rows())["activations"]
    act0 = dict(memory.training_memory(sc0).select("component", "bytes").iter_rows())["activations"]
    spec = sc.model_spec
    per = memory.offloaded_bytes_per_layer(spec, 4096, 2, 2, sequence_parallel=True, recompute="selective",
                                           recompute_modules=("layernorm", "moe_act"), etp=2,
                                           gemm_input_bytes=None, offload_modules=("expert_fc1",))["moe"]
    layers_rank0 = memory.stage_layers(spec, 2)[0]["n_moe"]
    nf = memory.inflight_microbatches(2, 1, 32 // (2 * 2))
    assert act0 - act == pytest.approx((nf * layers_rank0 - 1) * per, rel=1e-9)


def test_offload_modules_bad_input():
    sc = il.Scenario.from_dict(_OFFLOAD_BASE)
    with pytest.raises(UnknownNameError, match="expert_fc1"):
        sc.replace(training={"offload_modules": ["expert_fc"]})
    with pytest.raises(ValidationError, match="attn_proj.*core_attn"):
        sc.replace(training={"offload_modules": ["attn_proj"]})
    with pytest.raises(ValidationError, match="offload_modules"):
        sc.replace(training={"offload_modules": "expert_fc1"})
    with pytest.raises(ValidationError, match="named twice"):
        sc.replace(training={"offload_modules": ["moe_act", "moe_act"]})
    with pytest.raises(ValidationError, match="'moe'"):
        sc.replace(training={"recompute_modules": ["moe"], "offload_modules": ["expert_fc1"]})
    with pytest.raises(ValidationError, match="torchtitan-cuda.*Megatron-Core's"):
        sc.replace(training={"stack": "torchtitan-cuda", "offload_modules": ["moe_act"]})
    # an accelerator without a sourced host link cannot price the copies
    b200 = il.Scenario.from_dict({**_OFFLOAD_BASE, "hardware": {"accelerator": "B200", "nodes": 2},
                                  "training": {**_OFFLOAD_BASE["training"], "offload_modules": ["moe_act"]}})
    with pytest.raises(ValidationError, match="B200.*host-link"):
        il.estimate(b200)
    assert il.catalog.host_link_bytes_per_s("GB200") == pytest.approx(900e9 / 2 / 2)


def test_compiled_loss_keeps_16_bit_logits_and_gradient():
    """training.loss_compiled: the compiled loss graph keeps the 16-bit logits and writes their
    16-bit gradient (2 x 2 B per logit) instead of the stack's fp32 copies; a fused in-place
    loss still wins; the step kernel's memory equals il.memory; validation reads torchtitan's
    compiled loss from the runs published after PR #1033 only."""
    import infra_lab.validation as V

    tok, vocab = 8192, 128256
    assert memory.loss_logits_bytes(tok, vocab, 1, 2.0, loss_compiled=True) == pytest.approx(tok * vocab * 4.0)
    assert memory.loss_logits_bytes(tok, vocab, 1, 2.0, loss_compiled=True, loss_fusion=True) == \
        pytest.approx(tok * vocab * 2.0)
    assert memory.loss_logits_bytes(tok, vocab, 1, 2.0, fp32_copies=2.0) == pytest.approx(tok * vocab * 10.0)
    sc = il.Scenario.from_dict({"model": {"preset": "llama3-8b"}, "hardware": {"accelerator": "H100-SXM", "nodes": 1},
                                "training": {"seq_len": 8192, "global_batch": 8, "micro_batch": 1,
                                             "recompute": "selective", "stack": "torchtitan-cuda"},
                                "parallelism": {"zero": 3, "fsdp": True}})
    on = sc.replace(training={"loss_compiled": True})
    drop = memory.training_memory_total(sc) - memory.training_memory_total(on)
    reserve = il.stacks.params("torchtitan-cuda")["memory_reserve_fraction"]
    # torchtitan's eager loss peaks in its backward at 3 fp32 tensors per logit (12 B); compiled 2 x 2 B
    assert drop == pytest.approx(tok * vocab * (3 * 4.0 - 4.0) * (1.0 + reserve), rel=1e-9)
    assert il.estimate(on).memory_per_gpu_bytes == pytest.approx(memory.training_memory_total(on), rel=1e-12)
    with pytest.raises(ValidationError, match="loss_compiled"):
        sc.replace(training={"loss_compiled": "yes"})
    runs = {r["id"]: r for r in V.current_runs().iter_rows(named=True)}
    read = {i: V.scenario_for_run(runs[i])[0].training.loss_compiled
            for i in ("TT24-8B-8-fsdp-compile", "AO-8B-H100-bf16", "AO-8B-B200-bf16", "TY25-8B-H200-64",
                      "L3-405B-8192-cp1")}
    assert read == {"TT24-8B-8-fsdp-compile": False, "AO-8B-H100-bf16": False, "AO-8B-B200-bf16": True,
                    "TY25-8B-H200-64": True, "L3-405B-8192-cp1": False}


def test_loss_peak_is_the_larger_of_its_forward_and_backward():
    """The stack's loss peak per logit: Megatron's in-place vocab-parallel cross entropy 2 + 4 B
    (forward) = 4 B (backward, its one fp32 copy) + the 16-bit gradient; torchtitan's
    F.cross_entropy on an fp32 copy 10 B forward, 12 B backward (3 fp32 tensors), 16 B under
    PyTorch's loss_parallel with tp > 1 (4 fp32 tensors)."""
    tok, vocab = 4096, 128256

    def per(stack, tp):
        sp = il.stacks.params(stack)
        return memory.loss_logits_bytes(tok, vocab, tp, 2.0, fp32_copies=sp["loss_fp32_copies"],
                                        bwd_fp32_tensors=(sp["loss_bwd_fp32_tensors"],
                                                          sp["loss_parallel_bwd_fp32_tensors"])) / (tok * vocab / tp)

    assert per("megatron-core-cuda", 1) == pytest.approx(6.0)
    assert per("megatron-core-cuda", 8) == pytest.approx(6.0)
    assert per("torchtitan-cuda", 1) == pytest.approx(12.0)
    assert per("torchtitan-cuda", 8) == pytest.approx(16.0)
    with pytest.raises(ValidationError, match="bwd_fp32_tensors"):
        memory.loss_logits_bytes(tok, vocab, 1, 2.0, bwd_fp32_tensors=None)


def test_pytorch_gradients_meet_the_peak_only_from_their_first_backward():
    """grad_buffer_persistent = 0 (PyTorch-native stacks): gradients exist from each chunk's
    first backward; with every micro-batch in flight only the first-backward chunk's 1/vp meets
    the activation peak, with a steady 1F1B phase long enough all of them do; Megatron's
    persistent buffer always counts whole. Kernel = il.memory = reference."""
    from infra_lab._kernels.memory import grads_at_peak
    from infra_lab._kernels.training_reference import step_reference

    A, G = 64.0, 12.0
    # pp 16, vp 8, rank 1, m = 16: W = 2*14 + 7*16 = 140 >= 128 chunk-forwards: all in flight
    assert grads_at_peak(A, G, 16.0, 8.0, 1.0, 16.0) == pytest.approx(G / 8)
    # m = 32: 256 chunk-forwards, steady phase 116 backwards; the last chunk's first is backward 112
    assert grads_at_peak(A, G, 16.0, 8.0, 1.0, 32.0) == pytest.approx(G)
    assert grads_at_peak(A, G, 16.0, 1.0, 1.0, 16.0) == G          # 1F1B: conservative, whole
    # gradients large against the activations: the last chunk's first backward sets the peak
    assert grads_at_peak(8.0, 64.0, 4.0, 2.0, 0.0, 4.0) == pytest.approx(8.0 / 2 + 64.0 - 8.0)
    base = {"model": {"preset": "llama3-8b"}, "hardware": {"accelerator": "H100-SXM", "nodes": 4},
            "training": {"seq_len": 8192, "global_batch": 16, "micro_batch": 1, "stack": "torchtitan-cuda"},
            "parallelism": {"tp": 2, "pp": 4, "vp": 2, "zero": 3, "fsdp": True, "sequence_parallel": True}}
    sc = il.Scenario.from_dict(base)
    mega = il.Scenario.from_dict({**base, "training": {**base["training"], "stack": "megatron-core-cuda"}})
    g = lambda s: dict(memory.training_memory(s).select("component", "bytes").iter_rows())["gradients"]  # noqa: E731
    assert g(sc) < g(mega)
    est = il.estimate(sc)
    assert est.memory_per_gpu_bytes == pytest.approx(memory.training_memory_total(sc), rel=1e-12)
    assert est.memory_per_gpu_bytes == pytest.approx(step_reference(sc)["memory_per_gpu_bytes"], rel=1e-12)


def test_pytorch_pipelining_keeps_a_buffer_per_micro_batch_unless_the_run_frees_them():
    """pp_stage_buffers_persistent = 1 (PyTorch pipelining): every pipeline stage holds an input
    and an output-gradient receive buffer per micro-batch and each forward's output until its
    backward, beyond the layers' saved activations; Megatron (0) and runs that publish freeing
    them (training.pp_free_stage_buffers, Llama 3 §3.3.2) hold none. Kernel = reference, and
    il.memory = the step kernel = the step reference."""
    from infra_lab._kernels.memory import stage_io_bytes, stage_io_bytes_reference
    from infra_lab._kernels.training_reference import step_reference

    x = 3.0
    for pp in (1, 2, 4, 8, 16):
        for vp in (1, 2, 3, 8):
            for m in (1.0, 3.0, 8.0, 32.0):
                for rank in range(pp):
                    nf = float(min(m, pp - rank)) if vp == 1 else min(m, pp + (pp - 1 - 2 * rank) / vp)
                    assert stage_io_bytes(pp * 1.0, vp * 1.0, rank * 1.0, m, nf, x) == pytest.approx(
                        stage_io_bytes_reference(pp, vp, rank, m, nf, x), rel=1e-12, abs=1e-12), (pp, vp, rank, m)
    # a middle rank: 2m boundary tensors per stage whatever is in flight; no pipeline: none
    assert stage_io_bytes(8.0, 2.0, 3.0, 8.0, 5.0, x) == 2 * 8 * 2 * x
    assert stage_io_bytes(1.0, 1.0, 0.0, 8.0, 1.0, x) == 0.0
    base = {"model": {"preset": "llama3-8b"}, "hardware": {"accelerator": "H100-SXM", "nodes": 4},
            "training": {"seq_len": 8192, "global_batch": 32, "micro_batch": 1, "stack": "torchtitan-cuda",
                         "recompute": "full"},
            "parallelism": {"tp": 2, "pp": 4, "zero": 3, "fsdp": True, "sequence_parallel": True}}
    sc = il.Scenario.from_dict(base)
    freed = sc.replace(training={"pp_free_stage_buffers": True})
    mega = sc.replace(training={"stack": "megatron-core-cuda"})
    act = lambda s: dict(memory.training_memory(s).select("component", "bytes").iter_rows())["activations"]  # noqa: E731
    m = 32 / (1 * sc.parallelism.dp)
    boundary = 8192 * 4096 / 2 * 2.0           # tokens x hidden / tp (sequence parallel) x 2 bytes
    # the most loaded stage is the last (its logits): m(2vp - 1) - held buffers more (held = 1)
    assert "stage 3 of 4" in memory.training_memory(sc)["note"][0]
    assert act(sc) - act(freed) == pytest.approx((m - 1) * boundary, rel=1e-12)
    assert act(mega.replace(training={"pp_free_stage_buffers": True})) == pytest.approx(act(mega), rel=1e-12)
    for s in (sc, freed):
        est = il.estimate(s)
        assert est.memory_per_gpu_bytes == pytest.approx(memory.training_memory_total(s), rel=1e-12)
        assert est.memory_per_gpu_bytes == pytest.approx(step_reference(s)["memory_per_gpu_bytes"], rel=1e-12)
    assert il.estimate(sc).memory_per_gpu_bytes > il.estimate(freed).memory_per_gpu_bytes
    with pytest.raises(ValidationError, match="pp_free_stage_buffers"):
        sc.replace(training={"pp_free_stage_buffers": "yes"})
    runs = {r["id"]: r for r in il.validation.current_runs().iter_rows(named=True)}
    read = {i: il.validation.scenario_for_run(runs[i])[0].training.pp_free_stage_buffers
            for i in ("L3-405B-8192-cp1", "L3-405B-16384-cp16", "TT24-405B-512-3d-1f1b")}
    assert read == {"L3-405B-8192-cp1": True, "L3-405B-16384-cp16": True, "TT24-405B-512-3d-1f1b": False}


class TestContextParallelAttentionBuffers:
    """PyTorch context_parallel's all-gather rotation (parallelism.cp_rotate = "allgather"): one
    layer's all-gathered K/V and fp32 merge/gradient buffers are counted once per stage, beyond
    the logits they never meet (_kernels.memory.cp_attention_bytes)."""

    @staticmethod
    def _sc(cp_rotate="allgather", cp=8, repeat=True, pp=8):
        # 32k tokens per CP rank: past the 128k context at cp 8 (context extension, declared)
        return {"name": "cp-mem", "model": {"preset": "llama3.1-405b", "max_seq_len": max(131072, 32768 * cp)},
                "hardware": {"accelerator": "H100-SXM", "nodes": 64, "gpus_per_node": 8},
                "training": {"global_batch": 8, "micro_batch": 1, "seq_len": 32768 * cp, "precision": "bf16",
                             "recompute": "full", "stack": "torchtitan-cuda"},
                "parallelism": {"tp": 8, "pp": pp, "cp": cp, "fsdp": True, "cp_rotate": cp_rotate,
                                "cp_repeat_kv": repeat}}

    def test_hand_computed_405b_cp8(self):
        # Llama 3.1 405B, tp 8, cp 8 at 256K: 32,768 local tokens, K/V repeated to 128 heads x 128 = 16,384
        # per token, 2,048 per TP rank. K and V (bf16): 32768 x 2 x 2048 x 2 B = 256 MiB; fp32 dQ 256 MiB;
        # fp32 dK/dV 512 MiB. Backward: 8 x 256 (gathered) + 256 (cat) + 256 (dQ) + 3 x 512 = 4,096 MiB;
        # forward: 8 x 256 + 256 + 4 x 256 = 3,328 MiB -> 4 GiB.
        from infra_lab._kernels.memory import cp_attention_bytes

        assert cp_attention_bytes(8.0, 1.0, 32768.0, 16384.0, 16384.0, 8.0, 2.0) == 4 * 2**30
        df = memory.training_memory(self._sc())
        got = dict(df.select("component", "bytes").iter_rows())
        # the most loaded 405B stage under PP 8 is not the last (no logits there): all of it counts
        assert got["embedding_and_head_activations"] == 0.0
        assert got["cp_attention_buffers"] == 4 * 2**30

    def test_p2p_and_cp1_unchanged_and_allgather_adds(self):
        tot = memory.training_memory_total
        p2p = tot(self._sc("p2p"))
        ag = tot(self._sc("allgather"))
        assert ag > p2p + 4 * 2**30      # + the allocator's fraction of it
        get = lambda sc: dict(memory.training_memory(sc).select("component", "bytes").iter_rows())  # noqa: E731
        assert get(self._sc("p2p"))["cp_attention_buffers"] == 0.0
        assert get(self._sc("allgather", cp=1))["cp_attention_buffers"] == 0.0
        # without repeat_kv the exchange carries the 8 KV heads (K and V 16 MiB per rank): the forward's
        # four fp32 output-sized merge tensors (4 x 256 MiB) + 9 x 16 MiB of K/V = 1,168 MiB is the larger
        assert get(self._sc(repeat=False))["cp_attention_buffers"] == 1168 * 2**20

    def test_exposed_all_gather_hand_computed(self):
        # Llama 3's CP (cp_rotate = "allgather-exposed"), 405B, tp 8, cp 16 at 128K: 8,192 local tokens, the
        # 8 KV heads x 128 = 1,024 per token, 128 per TP rank: local K and V 8192 x 2 x 128 x 2 B = 4 MiB.
        # Forward: 16 x 4 (gathered) = 64 MiB; backward: 16 x 4 (gathered again) + 16 x 4 (dK/dV of the
        # whole sequence, bf16) + 4 (reduce-scattered) = 132 MiB.
        from infra_lab._kernels.memory import cp_attention_bytes, cp_attention_bytes_reference

        args = (16.0, 2.0, 8192.0, 16384.0, 1024.0, 8.0, 2.0)
        assert cp_attention_bytes(*args) == 132 * 2**20
        assert cp_attention_bytes_reference(*args) == 132 * 2**20
        sc = self._sc("allgather-exposed", cp=16, repeat=False, pp=16)
        sc["hardware"]["nodes"] = 256
        sc["training"]["seq_len"] = 131072
        got = dict(memory.training_memory(sc).select("component", "bytes").iter_rows())
        assert got["embedding_and_head_activations"] == 0.0
        assert got["cp_attention_buffers"] == 132 * 2**20
        # smaller than PyTorch's rotation of the same plan (no fp32 merge or dK/dV buffers)
        rot = dict(memory.training_memory({**sc, "parallelism": {**sc["parallelism"], "cp_rotate": "allgather"}})
                   .select("component", "bytes").iter_rows())
        assert rot["cp_attention_buffers"] > got["cp_attention_buffers"]

    def test_not_beyond_the_logits(self):
        # one stage (pp 1): the buffers and the loss's logits are never live together
        from infra_lab._kernels.memory import cp_buffers_at_peak

        got = dict(memory.training_memory(self._sc(pp=1)).select("component", "bytes").iter_rows())
        head = got["embedding_and_head_activations"]
        assert got["cp_attention_buffers"] == pytest.approx(max(4 * 2**30 - head, 0.0))
        assert cp_buffers_at_peak(3.0, 5.0) == 0.0 and cp_buffers_at_peak(5.0, 3.0) == 2.0

    def test_step_model_memory_is_the_same_formula(self):
        est = il.estimate(self._sc())
        assert est.memory_per_gpu_bytes == pytest.approx(memory.training_memory_total(self._sc()), rel=1e-9)

    def test_bad_rotate_value_named(self):
        with pytest.raises((ValidationError, UnknownNameError),
                           match=r"cp_rotate.*allgather, allgather-exposed, p2p"):
            memory.training_memory(self._sc("ring"))


def test_pipeline_rank_selects_the_last_stage():
    """``pipeline_rank="last"`` reports rank pp − 1 (the output layer and loss, one micro-batch in
    flight under 1F1B), "first" rank 0, the default the most loaded rank; bad values are refused
    by name."""
    sc = _sc(pp=8)                          # llama3-8b on 8 MI300X, 32 layers: 4 per stage, dp 1
    worst = memory.training_memory(sc)
    last = memory.training_memory(sc, pipeline_rank="last")
    first = memory.training_memory(sc, pipeline_rank="first")
    comp = {n: dict(zip(d["component"], d["bytes"], strict=True))
            for n, d in (("worst", worst), ("last", last), ("first", first))}
    assert "stage 7 of 8" in last["note"][0] and "stage 0 of 8" in first["note"][0]
    # 1F1B: rank 0 holds pp = 8 micro-batches of its layers, rank 7 one (same layer count)
    assert comp["first"]["activations"] == pytest.approx(8 * comp["last"]["activations"], rel=1e-12)
    assert comp["last"]["embedding_and_head_activations"] > 0 == comp["first"]["embedding_and_head_activations"]
    assert comp["worst"] == comp["first"]                  # rank 0 is the most loaded here
    assert memory.training_memory_total(sc, pipeline_rank="most_loaded") == memory.training_memory_total(sc)
    assert memory.training_memory_total(sc) > memory.training_memory_total(sc, pipeline_rank="last")
    # pp = 1: one rank, every choice is the same
    one = _sc()
    assert memory.training_memory_total(one, pipeline_rank="last") == memory.training_memory_total(one)
    for bad in ("middle", 7, "LAST"):
        with pytest.raises(ValidationError, match="pipeline_rank = .*'most_loaded', 'first', 'last'"):
            memory.training_memory(sc, pipeline_rank=bad)


@pytest.mark.parametrize("bad", [3, 2.0, True, -1])
def test_selective_mode_code_out_of_range_is_named(bad):
    """A numeric selective_mode is the stack's selective_recompute code (0 or 1); any other
    number is refused naming the field and the allowed values, not an IndexError."""
    with pytest.raises(ValidationError, match=r"selective_mode = .*allowed 'attention', 'op'"):
        memory.training_memory(_sc(recompute="selective"), selective_mode=bad)


def test_selective_mode_codes_match_names():
    sc = _sc(recompute="selective")
    for code, name in enumerate(memory.SELECTIVE_MODES):
        assert memory.training_memory(sc, selective_mode=code).equals(
            memory.training_memory(sc, selective_mode=name))


def test_optimizer_state_bytes_come_from_the_number_format_table():
    """Master weight + moments, each at its format's bytes (catalog.format_bytes), for every
    optimizer a Scenario accepts: AdamW/Adam fp32 master + m + v = 12, adamw-bf16 4 + 2 + 2 = 8,
    Muon and SGD master + momentum = 8."""
    from infra_lab.scenario.training_table import OPTIMIZERS

    assert tuple(memory.OPTIMIZER_STATE_BYTES) == tuple(memory.OPTIMIZER_STATES) == OPTIMIZERS
    for opt, fmts in memory.OPTIMIZER_STATES.items():
        assert fmts[0] == "fp32"                                    # the master weight
        assert memory.OPTIMIZER_STATE_BYTES[opt] == sum(il.catalog.format_bytes(f) for f in fmts)
    assert [memory.OPTIMIZER_STATE_BYTES[o] for o in OPTIMIZERS] == [12.0, 12.0, 8.0, 8.0, 8.0]
    assert memory.TRAINING_DEFAULTS["activation_bytes"] == il.catalog.format_bytes("bf16")


def test_memory_sweep_defaults_are_the_reference_scenarios():
    """memory_sweep's cluster and sequence length default to those of the shipped scenario
    economics.REFERENCE_SCENARIO (ZAYA1's 128 x 8 MI300X, 4,096 tokens), not a typed 128 / 8 /
    4096: the default call equals the call with that scenario's values."""
    sc = il.load_scenario(il.economics.REFERENCE_SCENARIO)
    args = (["llama3-8b"], ["MI300X", "H100-SXM"])
    default = memory.memory_sweep(*args)
    explicit = memory.memory_sweep(*args, seq_len=sc.training.seq_len, nodes=sc.hardware.nodes,
                                   gpus_per_node=sc.hardware.gpus_per_node)
    assert default.equals(explicit)
    assert not default.equals(memory.memory_sweep(*args, seq_len=2 * sc.training.seq_len))


def test_memory_sweep_takes_rack_scale_parts_and_refuses_empty_lists():
    """memory_sweep's 128 x 8 cluster does not fill whole 72-GPU domains: GB200, GB300 and
    MI450X raised 'hardware.nodes = 128: ... use a multiple of 9 nodes'. Plain data
    parallelism's memory does not depend on the domain, so a rack-scale part gets the same
    per-GPU memory as its 8-GPU-node sibling; an empty list was polars' 'cannot concat empty list'."""
    df = il.memory.memory_sweep(["zaya1-base"], ["B200", "GB200", "GB300", "MI355X", "MI450X"])
    total = dict(df.unique("accelerator").select("accelerator", "total_GB").iter_rows())
    assert total["GB200"] == pytest.approx(total["B200"]) and total["GB300"] == pytest.approx(total["B200"])
    assert total["MI450X"] == pytest.approx(total["MI355X"])
    assert il.memory.memory_sweep(["zaya1-base"], ["GB200"], nodes=127).height > 0   # no whole-node divisor
    for field, args in (("presets", ([], ["MI300X"])), ("accelerators", (["zaya1-base"], []))):
        with pytest.raises(ValidationError, match=f"{field} = \\[\\]: expected at least one name"):
            il.memory.memory_sweep(*args)


def test_memory_switches_and_the_expert_tp_width_are_checked():
    """training_memory's bool overrides were cast with bool(): flash_attention="false" (or
    dropout="no") counted as True, silently; moe_etp_gather_bytes with etp = 0 or -2 returned
    0 bytes as if the experts were not tensor-parallel."""
    sc = il.load_scenario("zaya1-ibm-mi300x")
    for k in ("flash_attention", "dropout", "include_embeddings"):
        with pytest.raises(ValidationError, match=rf"{k} = 'false': expected True or False"):
            il.memory.training_memory(sc, **{k: "false"})
    assert il.memory.training_memory_total(sc, flash_attention=False) > il.memory.training_memory_total(sc)
    for bad in (0, -2, 1.5):
        with pytest.raises(ValidationError, match=r"etp = "):
            il.memory.moe_etp_gather_bytes("mixtral-8x7b", 4096, bad)
    assert il.memory.moe_etp_gather_bytes("mixtral-8x7b", 4096, 1) == 0.0


def test_accelerator_override_keeps_the_scenarios_framework():
    """User pass 2026-12-05: training_memory(sc, accelerator=X) priced a torchtitan scenario with
    the vendor's default stack of X (Megatron-Core): Llama-3-8B tp2 on torchtitan-cuda 'on H200'
    read 54.5 GB where the same scenario on H200 is 57.2 GB. The override keeps the scenario's
    stack where it runs, takes the same framework's stack on the other platform, and refuses a
    stack with no counterpart; a scenario without a stack still gets the vendor default."""
    def d(acc, stack=None):
        tr = {"global_batch": 64, **({"stack": stack} if stack else {})}
        return {"name": "t", "model": {"preset": "llama3-8b"}, "hardware": {"accelerator": acc, "nodes": 1},
                "training": tr, "parallelism": {"tp": 2}}

    total = il.memory.training_memory_total
    for stack, acc, twin in (("torchtitan-cuda", "H200-SXM", "torchtitan-cuda"),
                             ("torchtitan-cuda", "MI300X", "torchtitan-rocm"),
                             ("megatron-core-cuda-asym", "MI300X", "megatron-core-rocm-asym"),
                             (None, "MI300X", None)):
        assert total(d("H100-SXM", stack), accelerator=acc) == total(d(acc, twin)), (stack, acc)
    assert il.memory.fits(d("H100-SXM", "torchtitan-cuda"), accelerator="H200-SXM") == il.memory.fits(
        d("H200-SXM", "torchtitan-cuda"))
    with pytest.raises(il.ValidationError, match="megatron-lm-2022-cuda.*no rocm counterpart"):
        total(d("H100-SXM", "megatron-lm-2022-cuda"), accelerator="MI300X")


def test_seq_len_override_repacks_a_multimodal_models_inputs():
    """User pass 2026-12-05: training_memory(sc, seq_len=...) of a multimodal scenario kept the
    encoders' inputs packed into the scenario's own sequences: Maia-class on 1,024 MI300X at
    2,048 tokens read 100.3 GB where the scenario at 2,048 tokens (il.estimate, and the same call
    without the override) gives 90.5 GB. The override now packs into its own length."""
    sc = il.load_scenario("maia-class-ibm-mi300x")
    short = sc.replace(training={"seq_len": 2048})
    assert il.memory.training_memory_total(sc, seq_len=2048) == pytest.approx(
        il.memory.training_memory_total(short), rel=1e-12)
    assert il.memory.training_memory_total(sc, seq_len=2048) == pytest.approx(
        il.estimate(short).memory_per_gpu_bytes, rel=1e-12)


def test_inference_reserve_and_byte_widths_are_read_from_data():
    """The inference reserve default is 1 - the vLLM stack's memory_utilization (data/stacks.csv);
    the checkpoint's working weight and the SSM state take their bytes from the number-format table."""
    import inspect

    from infra_lab.memory import inference

    u = il.stacks.params(inference.RESERVE_STACK)["memory_utilization"]
    for f in (memory.inference_memory, memory.max_inference_batch):
        d = inspect.signature(f).parameters["reserve_fraction"].default
        assert d == inference.DEFAULT_RESERVE_FRACTION and abs(d - (1 - u)) < 1e-12
    a = memory.inference_memory("llama3-8b", "MI300X", 4096)
    b = memory.inference_memory("llama3-8b", "MI300X", 4096, reserve_fraction=1 - u)
    assert a["bytes"][2] == pytest.approx(b["bytes"][2], rel=1e-12)
    wb = il.catalog.format_bytes("bf16")
    assert memory.checkpoint_bytes("llama3-8b").total_bytes == \
        memory.checkpoint_bytes("llama3-8b", weight_bytes=wb).total_bytes
    assert memory.checkpoint_bytes("llama3-8b", weight_bytes=2 * wb).weights_bytes == \
        2 * memory.checkpoint_bytes("llama3-8b").weights_bytes
    s = inference._spec("zamba2-7b")
    fp32 = il.catalog.format_bytes("fp32")
    ssm = s.ssm_heads * s.ssm_head_dim * s.ssm_state * fp32
    assert inference._state_bytes_per_sequence(s, "bf16") > ssm


def test_min_offloaded_tensor_size_is_the_stacks():
    """Megatron-Core's min_offloaded_tensor_size is a row of data/stacks.csv (vendor-symmetric),
    read as the default threshold and, through the stack's parameters, by training_memory."""
    from infra_lab.memory import activations

    pc, pr = il.stacks.params("megatron-core-cuda"), il.stacks.params("megatron-core-rocm")
    assert pc["min_offloaded_tensor_size"] == pr["min_offloaded_tensor_size"] == memory.MIN_OFFLOADED_ELEMENTS
    assert activations.OFFLOAD_STACK == "megatron-core-cuda"
    kw = dict(sequence_parallel=True, offload_modules=["attn_norm", "qkv_linear", "core_attn", "attn_proj"])
    base = memory.offloaded_bytes_per_layer("llama3-70b", 4096, 1, 8, **kw)
    assert base == memory.offloaded_bytes_per_layer("llama3-70b", 4096, 1, 8,
                                                    min_offloaded_elements=pc["min_offloaded_tensor_size"], **kw)
    assert base["dense"] > 0
    none = memory.offloaded_bytes_per_layer("llama3-70b", 4096, 1, 8, min_offloaded_elements=1e12, **kw)
    assert none["dense"] == 0.0
    kept = memory.activation_bytes_per_layer("llama3-70b", 4096, 1, 8, min_offloaded_elements=1e12, **kw)
    assert kept == memory.activation_bytes_per_layer("llama3-70b", 4096, 1, 8, sequence_parallel=True)
    with pytest.raises(ValidationError, match="min_offloaded_elements"):
        memory.offloaded_bytes_per_layer("llama3-70b", 4096, min_offloaded_elements=-1.0, **kw)


def test_output_head_keeps_the_norm_input_and_the_output_layers_input():
    """The last stage keeps, besides the logits at the loss, the final norm's input and the output
    layer's input (the norm's output): 2sbh/t + 2sbh/t, Korthikanti et al. 2022 §4.3's
    4sbh/t (1 + v/h) less the logits, as Megatron-LM's compute_activation_memory counts them."""
    for tp, sp in ((1, False), (2, True)):
        sc = _sc(tp=tp, sequence_parallel=sp)
        spec, stk = sc.model_spec, il.stacks.params(sc.stack)
        got = dict(memory.training_memory(sc).select("component", "bytes").iter_rows())
        logits = memory.loss_logits_bytes(4096, spec.vocab, tp, 2.0,
                                          bwd_fp32_tensors=(stk["loss_bwd_fp32_tensors"],
                                                            stk["loss_parallel_bwd_fp32_tensors"]),
                                          fp32_copies=stk["loss_fp32_copies"])
        dropout = 4096 * spec.hidden / (tp if sp else 1) if stk["dropout"] else 0.0   # embedding masks
        sbh = 4096 * spec.hidden * 2.0 / (tp if sp else 1)
        assert got["embedding_and_head_activations"] == pytest.approx(2 * sbh + logits + dropout)


def test_pytorch_fsdp2_shards_are_the_fp32_masters():
    """PyTorch FSDP2 over fp32 parameters (torchtitan: MixedPrecisionPolicy with bf16 compute) keeps
    each parameter sharded in fp32, which is the optimizer's master weight: no 16-bit shard beside
    it (PyTorch's MixedPrecisionPolicy docstring). Megatron shards its 16-bit modules and keeps fp32
    main parameters too. The step model prices the same bytes."""
    base = {"model": {"preset": "llama3-8b"}, "hardware": {"accelerator": "H100", "nodes": 1},
            "training": {"seq_len": 4096, "global_batch": 16, "micro_batch": 1, "stack": "torchtitan-cuda"},
            "parallelism": {"zero": 3, "fsdp": True}}
    tt = il.Scenario.from_dict(base)
    assert il.stacks.params("torchtitan-cuda")["fsdp_fp32_sharded_params"] == 1.0
    assert il.stacks.params("torchtitan-rocm")["fsdp_fp32_sharded_params"] == 1.0
    assert il.stacks.params("megatron-core-cuda")["fsdp_fp32_sharded_params"] == 0.0
    got = dict(memory.training_memory(tt).select("component", "bytes").iter_rows())
    assert got["weights"] == 0.0 and got["zero3_gather_buffer"] > 0.0
    mg = tt.replace(training={"stack": "megatron-core-cuda"})
    mgot = dict(memory.training_memory(mg).select("component", "bytes").iter_rows())
    # Megatron: a 16-bit shard (2 B/param) beside the 4 B gradient shard, sharded alike
    assert mgot["weights"] == pytest.approx(mgot["gradients"] / 2.0) and mgot["weights"] > 0.0
    assert mgot["optimizer_states"] == pytest.approx(got["optimizer_states"])
    assert got["gradients"] == pytest.approx(mgot["gradients"])
    # under pipeline parallelism FSDP2 keeps the stage gathered (priced as ZeRO-1): 16-bit weights
    pp = tt.replace(parallelism={"pp": 2}, training={"global_batch": 16})
    assert dict(memory.training_memory(pp).select("component", "bytes").iter_rows())["weights"] > 0.0
    # the step model prices the same memory
    for s in (tt, mg):
        assert il.estimate(s).memory_per_gpu_bytes == pytest.approx(memory.training_memory_total(s), rel=1e-9)


def test_checkpoint_weight_bytes_states_the_range_it_enforces():
    """A saved working weight takes 0 < x <= 16 bytes: 0 and 17 are refused with that range (the
    message said 'allowed 0..16' while refusing 0)."""
    from infra_lab.errors import ValidationError

    for bad in (0, 17, -1):
        with pytest.raises(ValidationError, match=r"weight_bytes = .*0 < x <= 16"):
            memory.checkpoint_bytes("llama3-8b", weight_bytes=bad)
