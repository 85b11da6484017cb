"""The measured default execution (fsth_core/runtime/tuning.py): the choice among the candidates, its
cache (written, reused, ignored when corrupt, keyed by CPU, torch, threads and model size) and the order
of overrides.  No test depends on timing: an injected timer makes up the times."""
import json
import re

import pytest
import torch

import fsth_core.runtime.tuning as tuning
from fsth_core.models.config import preset
from fsth_core.runtime.device import Execution, env_overrides

TINY = preset("tiny")


class FakeTimer:
    """Runs each call (the outputs are compared) and reports made-up seconds per label."""

    def __init__(self, **ms):
        self.ms = {"screen fp32": 1.0, "screen bf16": 1.0, "fp32 contiguous": 10.0, "fp32 channels_last": 10.0,
                   "bf16 contiguous": 10.0, "bf16 channels_last": 10.0}
        names = {"c": "contiguous", "cl": "channels_last"}
        for k, v in ms.items():  # fp32_cl=5.0 -> "fp32 channels_last", screen_bf16 -> "screen bf16"
            a, b = k.split("_")
            self.ms[f"{a} {names.get(b, b)}"] = v
        self.calls = []

    def __call__(self, label, fn):
        fn()
        self.calls.append(label)
        return self.ms[label] / 1000


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("FSTH_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("FSTH_PRECISION", raising=False)
    monkeypatch.delenv("FSTH_MEMORY_FORMAT", raising=False)
    tuning.clear_memory()
    yield tmp_path / "cache" / "execution.json"
    tuning.clear_memory()


def test_the_fastest_accurate_candidate_is_chosen(cache, monkeypatch):
    t = tuning.tuned(TINY, 1, timer=FakeTimer(fp32_c=12.0, fp32_cl=9.0))
    assert (t.precision, t.channels_last) == ("fp32", True)
    assert (t.precision, t.channels_last) in tuning.CANDIDATES
    by = {c.label: c for c in t.candidates}
    assert by["fp32 channels_last"].ms == pytest.approx(9.0) and by["fp32 contiguous"].ms == pytest.approx(12.0)
    assert by["fp32 contiguous"].psnr_db == tuning.IDENTICAL_DB and by["fp32 channels_last"].psnr_db > 60
    assert "fp32 channels_last 9.0 ms" in t.reason()


def test_a_lower_precision_is_screened_out_where_it_is_slow(cache):
    timer = FakeTimer(screen_bf16=20.0, bf16_c=1.0, bf16_cl=1.0)  # emulated: 20x slower on the conv
    t = tuning.tuned(TINY, 1, timer=timer)
    assert t.precision == "fp32" and not any(label.startswith("bf16") for label in timer.calls)
    assert all(c.ms is None and "20x slower" in c.note for c in t.candidates if c.precision == "bf16")


def test_bf16_only_when_faster_by_the_margin_and_accurate(cache, monkeypatch):
    monkeypatch.setattr(tuning, "MIN_PSNR_DB", 0.0)
    assert tuning.tuned(TINY, 1, timer=FakeTimer(bf16_c=5.0), refresh=True).precision == "bf16"
    assert tuning.tuned(TINY, 1, timer=FakeTimer(bf16_c=9.5), refresh=True).precision == "fp32"  # < 10 % faster
    monkeypatch.setattr(tuning, "MIN_PSNR_DB", 1000.0)  # nothing but fp32 contiguous itself is accurate enough
    t = tuning.tuned(TINY, 1, timer=FakeTimer(bf16_c=1.0, bf16_cl=1.0, fp32_cl=2.0), refresh=True)
    assert (t.precision, t.channels_last) == ("fp32", False)


def test_the_cache_is_written_reused_and_keyed(cache, monkeypatch):
    first = tuning.tuned(TINY, 1, timer=FakeTimer(fp32_cl=5.0))
    entries = json.loads(cache.read_text())["entries"]
    assert list(entries) == [first.key] and entries[first.key]["channels_last"] is True
    tuning.clear_memory()  # as a new process would
    timer = FakeTimer(fp32_c=1.0)  # would pick contiguous if it measured
    again = tuning.tuned(TINY, 1, timer=timer)
    assert timer.calls == [] and again.source == "cache" and again.channels_last is True
    assert tuning.tuned(TINY, 1, timer=timer) is tuning.tuned(TINY, 1, timer=timer)  # kept in memory too
    # another thread count, model size, torch version or CPU: measured anew, stored beside
    two = tuning.tuned(TINY, 2, timer=FakeTimer(fp32_c=1.0))
    small = tuning.tuned(preset("tiny", warp_guided=True), 1, timer=FakeTimer(fp32_c=1.0))
    monkeypatch.setattr(torch, "__version__", "9.9.9")
    newer = tuning.tuned(TINY, 1, timer=FakeTimer(fp32_c=1.0))
    monkeypatch.setattr(tuning, "cpu_identity", lambda: ("Other CPU", "0123abcd"))
    other = tuning.tuned(TINY, 1, timer=FakeTimer(fp32_c=1.0))
    keys = {first.key, two.key, small.key, newer.key, other.key}
    assert len(keys) == 5 and set(json.loads(cache.read_text())["entries"]) == keys
    assert all(t.channels_last is False and t.source == "measured" for t in (two, small, newer, other))
    assert "2 threads" in two.key and "9.9.9" in newer.key and "Other CPU" in other.key


@pytest.mark.parametrize("content", ["{not json", '{"version": 1, "entries": []}', '{"version": 99, "entries": {}}',
                                     "KEY_ENTRY"])
def test_a_corrupt_cache_is_ignored_and_replaced(cache, content):
    key = tuning.tuning_key(TINY, 1)
    if content == "KEY_ENTRY":  # a valid file whose entry for this key is malformed
        content = json.dumps({"version": tuning.CACHE_VERSION, "entries": {key: {"precision": "fp64"}}})
    cache.parent.mkdir(parents=True)
    cache.write_text(content)
    t = tuning.tuned(TINY, 1, timer=FakeTimer(fp32_cl=5.0))
    assert t.source == "measured" and t.channels_last and t.note == ""
    assert json.loads(cache.read_text())["entries"][key]["channels_last"] is True
    assert not [p for p in cache.parent.iterdir() if p.name != cache.name]  # no temporary file left


def test_an_unwritable_cache_is_not_an_error(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache folder would be")
    monkeypatch.setenv("FSTH_CACHE_DIR", str(blocker / "sub"))
    tuning.clear_memory()
    try:
        t = tuning.tuned(TINY, 1, timer=FakeTimer(fp32_cl=5.0))
    finally:
        tuning.clear_memory()
    assert t.channels_last and t.note.startswith("not cached")


def test_the_cache_folder_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.delenv("FSTH_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert tuning.cache_path() == tmp_path / "fsth" / "execution.json"
    monkeypatch.setenv("FSTH_CACHE_DIR", str(tmp_path / "mine"))
    assert tuning.cache_path() == tmp_path / "mine" / "execution.json"


def test_override_order_asked_then_environment_then_measured(cache, monkeypatch):
    monkeypatch.setattr(tuning, "default_timer", FakeTimer(fp32_cl=5.0))  # measured: fp32 channels_last
    ex = Execution.resolve("cpu", "auto", config=TINY, threads=1)
    assert (ex.dtype, ex.channels_last) == (torch.float32, True) and "measured" in ex.reason
    assert Execution.resolve("cpu", "auto", config=TINY, threads=1).training() == ex  # fp32 fine-tuning: the same
    monkeypatch.setenv("FSTH_MEMORY_FORMAT", "contiguous")
    ex = Execution.resolve("cpu", "auto", config=TINY, threads=1)
    assert not ex.channels_last and "FSTH_MEMORY_FORMAT=contiguous" in ex.reason
    assert Execution.resolve("cpu", "auto", channels_last=True, config=TINY, threads=1).channels_last  # asked
    monkeypatch.setenv("FSTH_PRECISION", "bf16")
    ex = Execution.resolve("cpu", "auto", config=TINY, threads=1)
    assert ex.dtype == torch.bfloat16 and ex.training().dtype == torch.bfloat16
    assert Execution.resolve("cpu", "fp32", config=TINY, threads=1).dtype == torch.float32  # asked beats env
    monkeypatch.setenv("FSTH_PRECISION", "fp16")
    with pytest.raises(ValueError, match="FSTH_PRECISION=fp16: precision fp16 is not supported on cpu"):
        Execution.resolve("cpu", "auto", config=TINY, threads=1)
    monkeypatch.setenv("FSTH_PRECISION", "fp64")
    with pytest.raises(ValueError, match="FSTH_PRECISION='fp64'"):
        env_overrides()
    monkeypatch.setenv("FSTH_PRECISION", "auto")
    monkeypatch.setenv("FSTH_MEMORY_FORMAT", "strided")
    with pytest.raises(ValueError, match="FSTH_MEMORY_FORMAT"):
        Execution.resolve("cpu", "auto", config=TINY, threads=1)


def test_training_and_model_less_executions_are_not_measured(cache, monkeypatch):
    def no_timing(label, fn):
        raise AssertionError("measured")

    monkeypatch.setattr(tuning, "default_timer", no_timing)
    assert "the rule: training" in Execution.resolve("cpu", "auto", training=True, config=TINY).reason
    assert "no model to measure" in Execution.resolve("cpu", "auto").reason
    ex = Execution.resolve("cpu", "fp32", channels_last=False, config=TINY)  # nothing left open: nothing measured
    assert ex.dtype == torch.float32 and not ex.channels_last
    assert not cache.exists()


def test_info_bench_prints_the_choice_and_every_candidate(cache, monkeypatch, capsys):
    from fsth_core.cli import main

    monkeypatch.setattr(tuning, "default_timer", FakeTimer(fp32_cl=7.0, screen_bf16=30.0))
    assert main(["info", "--preset", "tiny", "--bench", "--threads", "1", "--json"]) == 0
    run = json.loads(capsys.readouterr().out)["execution"]["runs"][0]
    assert run["threads"] == 1 and (run["precision"], run["channels_last"]) == ("fp32", True)
    assert run["used"] == {"precision": "fp32", "channels_last": True, "reason": run["used"]["reason"]}
    assert [c["ms"] for c in run["candidates"]] == [pytest.approx(10.0), pytest.approx(7.0), None, None]
    monkeypatch.setenv("FSTH_PRECISION", "fp32")
    monkeypatch.setenv("FSTH_MEMORY_FORMAT", "contiguous")
    assert main(["info", "--preset", "tiny", "--bench", "--threads", "1"]) == 0
    text = capsys.readouterr().out
    assert re.search(r"fp32 channels_last +7\.0 ms .*<- chosen", text) and "30x slower" in text
    assert "used: fp32 contiguous (FSTH_PRECISION=fp32; FSTH_MEMORY_FORMAT=contiguous)" in text
    assert main(["info", "--preset", "tiny", "--threads", "1"]) == 2  # --threads goes with --bench
