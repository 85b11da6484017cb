"""Benchmark helpers in bench/_common.py (no timing assertions on speed, only on bookkeeping)."""
import argparse
import json

import pytest
import torch

from bench._common import (
    add_json_arg,
    emit,
    format_table,
    interleaved,
    matmul_peak_gflops,
    measure_peak_gflops,
    peak_rss_mb,
    time_fn,
)


def test_time_fn_counts_calls_and_syncs():
    calls, syncs = [], []
    out = time_fn(lambda: calls.append(1), warmup=3, repeats=5, sync=lambda: syncs.append(1))
    assert len(calls) == 8
    assert len(syncs) >= 10  # before and after every timed call
    assert out["repeats"] == 5 and 0 <= out["min_s"] <= out["median_s"] <= out["max_s"]
    with pytest.raises(ValueError):
        time_fn(lambda: None, repeats=0)


def test_interleaved_alternates_the_calls_and_skips_slow_ones():
    order = []
    out = interleaved({"a": lambda: order.append("a"), "b": lambda: order.append("b")}, rounds=3, warmup=1)
    assert order == ["a", "b"] * 4  # warm-up round, then rounds that alternate
    assert out["a"]["repeats"] == 3 and 0 <= out["a"]["min_s"] <= out["a"]["median_s"]
    assert "cpu_median_s" in out["b"]
    slow = interleaved({"s": lambda: order.append("s")}, rounds=3, warmup=1, cap_s=-1.0)
    assert slow["s"]["repeats"] == 1  # over the cap on its warm-up: timed once


def test_matmul_peak_stops_growing_at_the_cap():
    out = matmul_peak_gflops(torch.float32, "cpu", target_s=10.0, max_n=512, rounds=1)
    assert out["n"] == 512 and out["gflops"] > 0 and out["cpu_gflops"] > 0 and out["dtype"] == "float32"


def test_format_table_aligns_columns():
    rows = [{"name": "a", "median_s": 0.5}, {"name": "longer", "median_s": 12.25, "extra": 1}]
    lines = format_table(rows, ["name", "median_s", "extra"]).splitlines()
    assert lines[0].split() == ["name", "median_s", "extra"]
    assert len(lines) == 4
    assert lines[2].index("0.5000") + len("0.5000") == lines[3].index("12.2500") + len("12.2500")


def test_peak_rss_matches_proc_and_grows():
    block = bytearray(96 * 1024 * 1024)
    block[::4096] = b"x" * len(block[::4096])  # touch the pages
    peak = peak_rss_mb()
    try:
        with open("/proc/self/status") as f:
            hwm_kb = next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
    except OSError:
        pytest.skip("no /proc on this OS")
    assert peak == pytest.approx(hwm_kb / 1024, rel=0.05)
    assert peak > 96


def test_measure_peak_gflops_small_cpu():
    torch.set_num_threads(1)
    out = measure_peak_gflops("cpu", torch.float32, size="small", repeats=1)
    assert out["matmul_gflops"] > 0 and out["conv_gflops"] > 0 and out["device"] == "cpu"


def test_emit_writes_json(tmp_path, capsys):
    parser = argparse.ArgumentParser()
    add_json_arg(parser)
    path = tmp_path / "r.json"
    args = parser.parse_args(["--json", str(path)])
    emit([{"name": "x", "median_s": float("nan")}], ["name", "median_s"], args, meta={"bench": "t"})
    data = json.loads(path.read_text())
    assert data["rows"] == [{"name": "x", "median_s": None}] and data["meta"] == {"bench": "t"}
    assert "name" in capsys.readouterr().out
