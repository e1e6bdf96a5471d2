"""The serving engines' own TP all-reduce table (data/serving/engine_allreduce.csv) and the
rule that reads it (infra_lab.serving.engine_allreduce_kernel)."""

import pytest

import infra_lab.serving as serving
from infra_lab.errors import UnknownNameError, ValidationError


def test_every_serving_engine_stack_has_a_row_with_a_pinned_source():
    t = serving.engine_allreduce()
    assert set(t["stack"].to_list()) == {"vllm-cuda", "vllm-rocm", "sglang-cuda", "sglang-rocm",
                                          "trt-llm-cuda", "atom-rocm"}
    for url in t["source_url"].to_list():
        for u in url.split(" ; "):
            # a source at a commit (40 hex digits), so the limits do not drift with the branch
            assert "/blob/" in u and len(u.split("/blob/")[1].split("/")[0]) == 40, u


def test_vllm_limits_follow_its_source():
    # custom_all_reduce.py: max_size 8192 * 1024, strict; .cuh: 512 KiB at <= 4 ranks, 256 KiB at <= 8
    k = serving.engine_allreduce_kernel
    assert k("vllm-cuda", 2, 8 * 2**20 - 16) == "one-shot"
    assert k("vllm-cuda", 2, 8 * 2**20) == "library"
    assert k("vllm-cuda", 4, 512 * 1024 - 16) == "one-shot"
    assert k("vllm-cuda", 4, 512 * 1024) == "two-shot"
    assert k("vllm-cuda", 6, 256 * 1024) == "two-shot"
    assert k("vllm-cuda", 8, 256 * 1024 - 16) == "one-shot"


def test_aiter_limits_are_inclusive_and_smaller_for_one_shot():
    k = serving.engine_allreduce_kernel
    assert k("atom-rocm", 8, 64 * 2**20) == "two-shot"      # <= 64 MiB stays custom
    assert k("atom-rocm", 8, 64 * 2**20 + 16) == "library"
    assert k("atom-rocm", 8, 80 * 1024 - 16) == "one-shot"
    assert k("atom-rocm", 8, 80 * 1024) == "two-shot"
    assert k("atom-rocm", 4, 160 * 1024 - 16) == "one-shot"


def test_trtllm_table_as_byte_thresholds_and_a_decimal_workspace_limit():
    # customAllReduceUtils.h SM 90, no fusion: first TWOSHOT at 64 tokens x 4096 (TP 8) and at
    # 32 tokens x 8192 (TP 4 and 8): 512 KiB of BF16; workspace 8,000,000 B (16,000,000 at 2 ranks)
    k = serving.engine_allreduce_kernel
    assert k("trt-llm-cuda", 8, 32 * 4096 * 2) == "one-shot"
    assert k("trt-llm-cuda", 8, 63 * 4096 * 2) == "one-shot"
    assert k("trt-llm-cuda", 8, 64 * 4096 * 2) == "two-shot"
    assert k("trt-llm-cuda", 4, 32 * 8192 * 2) == "two-shot"
    assert k("trt-llm-cuda", 8, 8_000_000) == "two-shot"
    assert k("trt-llm-cuda", 8, 8_000_016) == "library"
    assert k("trt-llm-cuda", 2, 16_000_000) == "one-shot"
    assert k("trt-llm-cuda", 2, 16_000_016) == "library"


def test_outside_the_world_sizes_the_library_runs():
    for st in serving.engine_allreduce()["stack"].to_list():
        assert serving.engine_allreduce_kernel(st, 16, 1024) == "library"
        assert serving.engine_allreduce_kernel(st, 3, 1024) == "library"
        assert serving.engine_allreduce_kernel(st, 1, 1024) == "library"


def test_the_answer_is_one_of_the_documented_kernels():
    for st in serving.engine_allreduce()["stack"].to_list():
        for n in (2, 4, 6, 8):
            for b in (16, 2**16, 2**20, 2**23, 2**27):
                assert serving.engine_allreduce_kernel(st, n, b) in serving.ENGINE_ALLREDUCE_KERNELS


def test_bad_inputs_name_the_field():
    with pytest.raises(UnknownNameError, match="vllm-cuda"):
        serving.engine_allreduce_kernel("vllm-cudaa", 8, 1024)
    with pytest.raises(ValidationError, match="ranks"):
        serving.engine_allreduce_kernel("vllm-cuda", 0, 1024)
    with pytest.raises(ValidationError, match="message_bytes"):
        serving.engine_allreduce_kernel("vllm-cuda", 8, -1.0)
