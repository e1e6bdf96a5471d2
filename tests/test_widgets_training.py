"""The ZAYA1 training explorer answers at every extreme of its controls: a plan and a chart, or
a one-row message saying why not, never a traceback."""

import polars as pl

import infra_lab as il
from infra_lab.widgets.training import EXPLORER_ACCELERATORS, training_update


def test_batch_below_the_gpu_count_gets_a_model_parallel_plan_and_says_why():
    s, chart = training_update("MI300X", 4096, 512, 4096, "bf16")
    assert chart is not None
    assert s["plan"][0].startswith("search")
    note = s["note"][0]
    assert "global batch 512 < 4,096 GPUs" in note and "at least 4,096" in note
    # the plan found keeps whole micro-batches: dp · micro-batch divides the global batch
    dp, mbs = (int(x) for x in (s["plan"][0].split(" dp")[1].split()[0], s["plan"][0].split(" mbs")[1].split()[0]))
    assert 512 % (dp * mbs) == 0


def test_zyphra_plan_keeps_an_empty_note():
    s, chart = training_update()
    assert s["plan"][0].startswith("DP + ZeRO-1") and s["note"][0] == "" and chart is not None


def test_every_control_at_its_extremes_answers():
    box = il.widgets.training_explorer()
    c = box.controls
    for name in ("gpus", "global_batch", "seq_len"):
        for value in (c[name].options[0], c[name].options[-1]):
            c[name].value = value
            s, chart = box.update()
            assert s.height == 1 and "plan" in s.columns
            assert chart is not None or s["plan"][0].startswith("no ")
    for acc in EXPLORER_ACCELERATORS:        # with the last extremes still set
        c["accelerator"].value = acc
        for prec in c["precision"].options:
            c["precision"].value = prec
            s, chart = box.update()
            assert chart is not None, s["plan"][0]


def test_no_plan_found_is_a_message(monkeypatch):
    def empty(*a, **k):
        return pl.DataFrame({"tp": []})

    monkeypatch.setattr(il, "search", empty)
    s, chart = training_update("H100-SXM", 64, 512, 32768, "bf16")
    assert chart is None and s["plan"][0].startswith("no plan of the reduced search fits")

    def refuse(*a, **k):
        raise il.errors.ValidationError("search: no consistent plan")

    monkeypatch.setattr(il, "search", refuse)
    s, chart = training_update("MI300X", 4096, 512, 4096, "bf16")
    assert chart is None and "a global batch of 4,096 or more" in s["plan"][0]


def test_a_setting_without_a_plan_clears_the_previous_chart(monkeypatch):
    """The serving and multimodal explorers clear their chart when a setting has none; the
    training explorer kept the previous setting's step breakdown beside a 'no valid plan' row."""
    import infra_lab.widgets.training as T

    box = il.widgets.training_explorer()
    assert box.chart.chart is not None
    monkeypatch.setattr(T, "training_update",
                        lambda *a, **k: (pl.DataFrame({"plan": ["no valid plan: (a stand-in)"]}), None))
    box.controls["seq_len"].value = 8192
    assert box.chart.chart is None and "no valid plan" in box.children[1].value


def test_a_gpu_count_or_size_it_cannot_use_is_refused_not_replaced():
    """training_update(gpus=0) and gpus=-8 estimated 8 GPUs, gpus=100 estimated 96 and
    seq_len=2048.9 estimated 2,048, each with no word; they are ValidationErrors naming the
    argument (a GPU count must fill whole nodes of the accelerator)."""
    import pytest

    from infra_lab.errors import ValidationError

    for kw, match in (({"gpus": 0}, r"^gpus = 0: "), ({"gpus": -8}, r"^gpus = -8: "),
                      ({"gpus": 100}, r"^gpus = 100: .*multiple of 8 .*96 or 104"),
                      ({"gpus": 64.5}, r"^gpus = 64.5: "), ({"seq_len": 2048.9}, r"^seq_len = 2048.9: "),
                      ({"global_batch": True}, r"^global_batch = True: ")):
        with pytest.raises(ValidationError, match=match):
            training_update(**kw)
    s, _ = training_update(gpus=64.0)            # a whole float is a count
    assert s["gpus"][0] == 64


def test_an_alias_or_letter_case_gets_the_same_cluster():
    """training_update('b200') looked the NIC up by the name as typed, missed ConnectX-8 and
    gave B200 nodes ConnectX-7 NICs: 0.306 s per step against 0.239 s for 'B200'. The name is
    the catalog's before anything is looked up."""
    a, _ = training_update("B200")
    b, _ = training_update("b200")
    assert b["accelerator"][0] == "B200"
    assert b["step_time_s"][0] == a["step_time_s"][0]


def _pipeline_note(box):
    return box.children[0].children[2].children[3].value


def test_the_pipeline_controls_reach_their_arguments(monkeypatch):
    """The explorer's pp, schedule and vp controls are passed to training_update's ``pp``,
    ``pp_schedule`` and ``vp``: each value reaches the argument of its name (distinct values, so a
    dropped or swapped argument fails); vp is passed only with the interleaved schedule, and with
    pp = 1 neither schedule nor vp is passed, the two are disabled and the note says why."""
    import infra_lab.widgets.training as T

    box = il.widgets.training_explorer()
    c = box.controls
    assert c["pp_schedule"].disabled and c["vp"].disabled and "pp = 1" in _pipeline_note(box)
    calls = []
    real = T.training_update

    def spy(*a, **k):
        calls.append(k)
        return real(*a, **k)

    monkeypatch.setattr(T, "training_update", spy)
    c["pp_schedule"].value = "zbv"                    # pp = 1: the schedule is not passed
    assert calls[-1] == {}
    c["pp"].value = 4
    assert calls[-1] == {"pp": 4, "pp_schedule": "zbv"} and not c["pp_schedule"].disabled and c["vp"].disabled
    assert "zbv runs vp = 2" in _pipeline_note(box)
    s, chart = box.update()
    assert s["plan"][0] == "DP + ZeRO-1 (as Zyphra) with pp4 vp2 zbv" and chart is not None
    c["pp_schedule"].value = "interleaved"
    c["vp"].value = 3
    assert calls[-1] == {"pp": 4, "pp_schedule": "interleaved", "vp": 3} and not c["vp"].disabled
    s, _ = box.update()
    want, _ = real("MI300X", 1024, 2048, 4096, "bf16", pp=4, pp_schedule="interleaved", vp=3)
    assert s.equals(want) and s["plan"][0] == "DP + ZeRO-1 (as Zyphra) with pp4 vp3 interleaved"
    # the schedule moves the estimate: ZB-H1 against 1F1B with the same pp (one chunk per rank each)
    a, _ = real(pp=2, pp_schedule="1f1b")
    b, _ = real(pp=2, pp_schedule="zb-h1")
    assert a["step_time_s"][0] != b["step_time_s"][0]
    c["pp"].value = 1
    assert calls[-1] == {} and c["pp_schedule"].disabled and c["vp"].disabled


def test_a_pipeline_the_library_refuses_shows_its_message():
    """vp = 1 with the interleaved schedule, or more chunks (pp·vp = 64) than ZAYA1's 40 layers
    plus embedding and loss allow: the output shows the library's own ValidationError message
    (a one-row 'no valid plan' frame), the chart is cleared, and nothing is raised."""
    from infra_lab.errors import ValidationError

    box = il.widgets.training_explorer()
    c = box.controls
    c["pp"].value = 8
    c["pp_schedule"].value = "interleaved"
    for vp in (1, 8):
        c["vp"].value = vp
        s, chart = box.update()
        kw = {"pp": 8, "pp_schedule": "interleaved", "vp": vp}
        sc = il.load_scenario("zaya1-ibm-mi300x")
        try:
            sc.replace(parallelism=kw)
            raise AssertionError(f"{kw}: the library accepted it")
        except ValidationError as e:
            msg = str(e)
        assert chart is None and box.chart.chart is None
        assert s["plan"][0] == f"no valid plan: {msg}"
        assert ("vp &gt;= 2" if vp == 1 else "pp·vp &lt;= 42") in box.children[1].value
    c["vp"].value = 2                                  # a valid setting redraws the chart
    s, chart = box.update()
    assert chart is not None and box.chart.chart is not None and s["plan"][0].endswith("pp8 vp2 interleaved")


def test_training_update_refuses_a_schedule_without_a_pipeline():
    """training_update itself passes the schedule on: 'zbv' with pp = 1 is the library's refusal,
    not a searched replacement and not a silent 1F1B."""
    s, chart = training_update(pp_schedule="zbv")
    assert chart is None and s["plan"][0].startswith("no valid plan: parallelism.pp_schedule = 'zbv'")
    s, chart = training_update(pp=2, pp_schedule="zbv", vp=3)
    assert chart is None and "allowed vp = 2" in s["plan"][0]


def test_a_batch_that_is_not_a_multiple_of_the_gpus_is_not_called_smaller():
    """On 1,536 MI300X (192 nodes) a global batch of 2,048 leaves no pure data-parallel plan
    because 2,048 is not a multiple of 1,536, not because it is smaller; the note said
    "global batch 2,048 < 1,536 GPUs" and asked for "at least 1,536"."""
    s, chart = training_update("MI300X", 1536, 2048, 4096, "bf16")
    assert chart is not None and s["plan"][0].startswith("search")
    note = s["note"][0]
    assert "<" not in note and "at least 1,536" not in note
    assert "global batch 2,048 is not a multiple of 1,536 GPUs" in note and "1,536 or 3,072" in note


def test_no_plan_between_multiples_names_the_multiples(monkeypatch):
    def refuse(*a, **k):
        raise il.errors.ValidationError("search: no consistent plan")

    monkeypatch.setattr(il, "search", refuse)
    s, chart = training_update("MI300X", 1536, 2048, 4096, "bf16")
    plan = s["plan"][0]
    assert chart is None and "<" not in plan and "or more" not in plan
    assert "is not a multiple of 1,536 GPUs" in plan and "multiple of 1,536 (e.g. 1,536 or 3,072;" in plan
