"""Shared helpers for the benchmark scripts in bench/ (timing, tables, device peak, memory, --json).

A benchmark script typically does::

    parser = argparse.ArgumentParser(); add_json_arg(parser); args = parser.parse_args()
    rows = [dict(name="gen 256", **time_fn(lambda: net(x), sync=sync_for(device)))]
    emit(rows, ["name", "median_s", "min_s"], args, meta={"device": str(device)})
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import torch


def sync_for(device) -> Callable[[], None] | None:
    """The synchronize callable for a torch device (CUDA/MPS), or None for CPU."""
    dev = torch.device(device)
    if dev.type == "cuda":
        return lambda: torch.cuda.synchronize(dev)
    if dev.type == "mps":
        return torch.mps.synchronize
    return None


def time_fn(fn: Callable[[], Any], warmup: int = 2, repeats: int = 7,
            sync: Callable[[], None] | None = None) -> dict:
    """Time fn() after ``warmup`` untimed calls; returns seconds over ``repeats`` timed calls.

    sync: called before starting and before stopping each timer (e.g. torch.cuda.synchronize), so
    asynchronous device work is counted. Returns {median_s, min_s, max_s, mean_s, std_s, repeats}.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    for _ in range(max(0, warmup)):
        fn()
    if sync:
        sync()
    times = []
    for _ in range(repeats):
        if sync:
            sync()
        t0 = time.perf_counter()
        fn()
        if sync:
            sync()
        times.append(time.perf_counter() - t0)
    return {"median_s": statistics.median(times), "min_s": min(times), "max_s": max(times),
            "mean_s": statistics.fmean(times), "std_s": statistics.pstdev(times), "repeats": repeats}


def interleaved(calls: dict[str, Callable[[], Any]], rounds: int = 5, warmup: int = 1,
                sync: Callable[[], None] | None = None, cap_s: float | None = None) -> dict[str, dict]:
    """Time several calls side by side: ``warmup`` untimed rounds, then ``rounds`` rounds that call each
    once in turn, so a change in the machine's load hits all alike.  Returns {label: {median_s, min_s,
    cpu_median_s (process CPU time: with several threads it includes OpenMP's spinning), repeats}}.
    ``cap_s``: a call whose warm-up took longer is timed once more only (repeats 1)."""
    first = {}
    for _ in range(max(0, warmup)):
        for label, fn in calls.items():
            t = time.perf_counter()
            fn()
            first[label] = time.perf_counter() - t
    wall: dict[str, list] = {k: [] for k in calls}
    cpu: dict[str, list] = {k: [] for k in calls}
    for r in range(rounds):
        for label, fn in calls.items():
            if r and cap_s is not None and first.get(label, 0) > cap_s:
                continue
            if sync:
                sync()
            c, t = time.process_time(), time.perf_counter()
            fn()
            if sync:
                sync()
            wall[label].append(time.perf_counter() - t)
            cpu[label].append(time.process_time() - c)
    return {k: {"median_s": statistics.median(wall[k]), "min_s": min(wall[k]),
                "cpu_median_s": statistics.median(cpu[k]), "repeats": len(wall[k])} for k in calls}


def matmul_peak_gflops(dtype=None, device="cpu", target_s: float = 0.05, max_n: int = 2048,
                       rounds: int = 5) -> dict:
    """The machine's matmul peak in ``dtype`` at torch's current thread count: an n x n x n GEMM, n
    doubled from 256 until one call takes ``target_s`` or n reaches ``max_n`` (a dtype the CPU emulates
    stays small and quick), then the best of ``rounds`` calls (the least disturbed by other jobs).
    Returns {dtype, n, gflops (wall), cpu_gflops (process CPU time)}."""
    dev = torch.device(device)
    dtype = dtype or torch.float32
    sync = sync_for(dev)
    n = 256
    with torch.no_grad():
        while True:
            a = torch.randn(n, n, device=dev).to(dtype)
            b = torch.randn(n, n, device=dev).to(dtype)
            t = time_fn(lambda a=a, b=b: torch.mm(a, b), warmup=1, repeats=1, sync=sync)["median_s"]
            if t >= target_s or n >= max_n:
                break
            n *= 2
        walls, cpus = [], []
        for _ in range(rounds):
            c, t0 = time.process_time(), time.perf_counter()
            torch.mm(a, b)
            if sync:
                sync()
            walls.append(time.perf_counter() - t0)
            cpus.append(time.process_time() - c)
    flop = 2.0 * n ** 3
    return {"dtype": str(dtype).replace("torch.", ""), "n": n, "gflops": flop / min(walls) / 1e9,
            "cpu_gflops": flop / max(min(cpus), 1e-9) / 1e9}


def load_note() -> str:
    """The machine's load average and CPUs, for the table's footnote (figures on a busy machine are noisy)."""
    try:
        one, five, _ = os.getloadavg()
        return f"load average {one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} CPUs"
    except OSError:  # pragma: no cover - not on Windows
        return f"{os.cpu_count()} CPUs"


def cpu_description() -> str:
    """The CPU's model name and the flags that decide the kernels (avx2, avx512f, avx512_bf16, amx_bf16)."""
    name, flags = platform.processor() or platform.machine(), set()
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and name in ("", platform.machine(), platform.processor()):
                    name = value.strip()
                elif key.strip() == "flags":
                    flags = set(value.split())
                    break
    except OSError:
        pass
    shown = [f for f in ("avx2", "fma", "avx512f", "avx512_bf16", "amx_bf16", "avx512_vnni", "avx_vnni") if f in flags]
    missing = ", ".join(f for f in ("avx512_bf16", "amx_bf16") if f not in flags) or "-"
    return f"{name} ({', '.join(shown) or 'flags unknown'}; no {missing})"


def _fmt(v: Any) -> str:
    if isinstance(v, bool) or v is None:
        return str(v)
    if isinstance(v, float):
        if math.isnan(v) or math.isinf(v):
            return str(v)
        if v != 0 and (abs(v) >= 1e5 or abs(v) < 1e-3):
            return f"{v:.3e}"
        return f"{v:.4g}" if abs(v) >= 100 else f"{v:.4f}"
    return str(v)


def format_table(rows: Sequence[dict], columns: Sequence[str] | None = None) -> str:
    """Aligned text table of rows (dicts) for columns (default: keys of the first row); missing → ''."""
    columns = list(columns) if columns is not None else (list(rows[0]) if rows else [])
    cells = [[_fmt(r[c]) if c in r else "" for c in columns] for r in rows]
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(columns)]
    # numbers right-aligned, text left-aligned
    numeric = [all(isinstance(r.get(c), (int, float)) for r in rows if c in r) for c in columns]

    def line(vals: Sequence[str]) -> str:
        return "  ".join(v.rjust(w) if num else v.ljust(w)
                         for v, w, num in zip(vals, widths, numeric)).rstrip()

    out = [line(columns), "  ".join("-" * w for w in widths)]
    out += [line(row) for row in cells]
    return "\n".join(out)


def print_table(rows: Sequence[dict], columns: Sequence[str] | None = None, file=None) -> None:
    """Print format_table(rows, columns)."""
    print(format_table(rows, columns), file=file or sys.stdout)


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB (resource.getrusage; no psutil)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024.0 * 1024.0) if sys.platform == "darwin" else rss / 1024.0  # bytes on macOS, KiB else


def measure_peak_gflops(device="cpu", dtype=None, size: str = "auto", repeats: int = 5) -> dict:
    """Achieved throughput of a large matmul and a large 3x3 conv on ``device`` in ``dtype``.

    size: "auto" (large on GPUs, small on CPU), "small" or "large". Returns {device, dtype,
    matmul_gflops, conv_gflops, matmul_shape, conv_shape}: the measured peaks that per-op timings of the
    models can be compared with (achieved fraction of peak).
    """
    dev = torch.device(device)
    dtype = dtype or torch.float32
    big = dev.type != "cpu" if size == "auto" else size == "large"
    n = 8192 if big else 1024
    b, c, hw = (32, 256, 64) if big else (2, 128, 56)
    sync = sync_for(dev)
    with torch.no_grad():
        x = torch.randn(n, n, device=dev, dtype=dtype)
        y = torch.randn(n, n, device=dev, dtype=dtype)
        t_mm = time_fn(lambda x=x, y=y: torch.mm(x, y), warmup=2, repeats=repeats, sync=sync)["median_s"]
        del x, y
        inp = torch.randn(b, c, hw, hw, device=dev, dtype=dtype)
        conv = torch.nn.Conv2d(c, c, 3, padding=1, bias=False).to(dev, dtype)
        if dev.type == "cuda":
            torch.backends.cudnn.benchmark = True
        t_cv = time_fn(lambda: conv(inp), warmup=3, repeats=repeats, sync=sync)["median_s"]
    mm_flops = 2.0 * n ** 3
    cv_flops = 2.0 * b * c * c * 9 * hw * hw
    return {"device": str(dev), "dtype": str(dtype).replace("torch.", ""),
            "matmul_gflops": mm_flops / t_mm / 1e9, "conv_gflops": cv_flops / t_cv / 1e9,
            "matmul_shape": f"{n}x{n}x{n}", "conv_shape": f"{b}x{c}x{hw}x{hw} k3"}


def environment() -> dict:
    """Versions and machine facts to store next to benchmark results."""
    info = {"python": platform.python_version(), "platform": platform.platform()}
    info.update(torch=torch.__version__, threads=torch.get_num_threads(),
                cuda=torch.cuda.get_device_name(0) if torch.cuda.is_available() else None)
    return info


def add_json_arg(parser: argparse.ArgumentParser) -> None:
    """Add ``--json PATH`` ('-' = stdout) for machine-readable results."""
    parser.add_argument("--json", metavar="PATH", default=None,
                        help="also write results as JSON to PATH ('-' prints JSON instead of the table)")


def jsonable(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {str(k): jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [jsonable(x) for x in v]
    if hasattr(v, "item") and callable(v.item):  # numpy / torch scalars
        return jsonable(v.item())
    if isinstance(v, (str, int, float, bool)) or v is None:
        return v
    return str(v)


def emit(rows: Sequence[dict], columns: Sequence[str] | None, args: argparse.Namespace | None = None,
         meta: dict | None = None) -> dict:
    """Print the table, and write {meta, environment, rows} as JSON when args.json is set.

    ``--json -`` prints only the JSON (to stdout). Returns the JSON-able payload.
    """
    payload = jsonable({"meta": meta or {}, "environment": environment(), "rows": list(rows)})
    target = getattr(args, "json", None) if args is not None else None
    if target == "-":
        print(json.dumps(payload, indent=2))
        return payload
    print_table(rows, columns)
    if target:
        with open(target, "w", encoding="utf-8") as f:
            json.dump(payload, f, indent=2)
    return payload
