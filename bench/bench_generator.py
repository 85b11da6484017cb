"""Generator speed against the machine's limit: ms per frame, × the public reimplementation, and the share
of the measured matmul peak; where the time goes; what each inference optimization adds.

    python bench/bench_generator.py [--presets tiny cpu128 small paper] [--batches 1 8 32]
        [--precisions fp32 bf16] [--devices cpu cuda] [--threads N] [--cap 15] [--repeats 5]
        [--skip-table speed formats opt] [--formats-preset paper] [--format-batches 1 4]
        [--reference PATH] [--profile] [--opt-preset cpu128] [--compile] [--clock wall|cpu] [--json out.json]

Peak: an n x n x n GEMM per precision at the same thread count (bench._common.matmul_peak_gflops: n grows
to 2048 unless the precision is emulated, best of 5), and a large 3x3 conv.  A precision whose GEMM peak
is under a quarter of fp32's is emulated on this CPU (bf16 without AVX512-BF16/AMX): its generator rows are
skipped with that note.

Table 1 (speed): the folded generator (ψ precomputed), in the execution ``--precision auto`` picks for
its size (fsth_core.runtime.device: measured per CPU, thread count and size), per preset, precision and
batch (and compiled, with ``--compile``); frames/s, and GFLOP/s as a share of the matmul peak of that
precision: ``nominal`` counts the model's own FLOPs per frame (``python -m fsth_core info``: 61.3 GFLOP for paper),
``executed`` the FLOPs inference actually runs (fsth_core/models/fast_ops.py fuses pooling and
upsampling into the convs: 44.2 GFLOP).
A configuration estimated over ``--cap`` seconds per call is skipped.

Table 2 (formats, ``--formats-preset``, side by side in one process, interleaved rounds, medians):
reference (with ``--reference PATH``: a checkout of vincent-thevenin/Realistic-Neural-Talking-Head-Models,
its generator, fp32, its eval mode, never committed), ours with the textbook ops (the code before the
inference routes) and with the routes, contiguous and channels_last, fp32 (bf16 too where not emulated),
per batch: ms/frame (``--clock``: wall, the default, or process CPU time: reliable with one thread on a
busy machine), × reference, share of peak, bf16's PSNR against fp32; ``<- auto`` marks the default.
Then the goal line: the default at batch 1 against >= 70 % of the peak and >= 3x the reference, with
the bound the peak sets (the executed FLOPs at 100 % of the peak).

Table 3 (``--profile``): where the time of one paper frame goes (torch profiler, the default format,
batch 1), textbook ops against the routes: convolutions, normalization, upsampling, attention, copies
and pointwise ops.

Table 4 (optimizations, cumulative, one preset): plain eager fp32 (ψ per frame, spectral norm active,
textbook ops, contiguous, batch 1) -> + ψ once -> + folded spectral norm -> + inference routes -> + the
measured memory format -> + batch 8 -> + bf16 (not where emulated) -> + torch.compile (``--compile``).
"""
from __future__ import annotations

import argparse
import contextlib
import copy
import json
import math
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import torch

from bench._common import (
    add_json_arg,
    cpu_description,
    environment,
    interleaved,
    jsonable,
    load_note,
    matmul_peak_gflops,
    measure_peak_gflops,
    print_table,
    sync_for,
    time_fn,
)
from bench._reference import load_reference_generator, reference_call
from fsth_core.models.config import preset
from fsth_core.models.fast_ops import textbook_ops
from fsth_core.models.model import build_model, generator_gflops
from fsth_core.runtime.device import Execution, autocast

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}
EMULATED = 0.25  # a precision whose GEMM peak is under this share of fp32's is emulated
GOAL_PEAK, GOAL_REFERENCE = 0.70, 3.0


def peaks(device: torch.device, precisions, clock: str = "wall") -> dict:
    """{precision: GEMM figures}; ``gflops`` is in the formats table's clock (``cpu``: per CPU second)."""
    out = {}
    for p in precisions:
        mm = matmul_peak_gflops(DTYPES[p], device)
        out[p] = {**mm, "wall_gflops": mm["gflops"], "conv_gflops": None}
        if clock == "cpu":
            out[p]["gflops"] = mm["cpu_gflops"]
        if p == "fp32" or mm["gflops"] >= EMULATED * out["fp32"]["gflops"]:
            out[p]["conv_gflops"] = measure_peak_gflops(device, DTYPES[p])["conv_gflops"]
    return out


def emulated(pk: dict, prec: str) -> str:
    if prec != "fp32" and pk[prec]["gflops"] < EMULATED * pk["fp32"]["gflops"]:
        return (f"skipped: {prec} emulated here (GEMM {pk[prec]['gflops']:.1f} vs fp32 {pk['fp32']['gflops']:.0f} "
                "GFLOP/s)")
    return ""


def _generator(cfg, device, channels_last: bool):
    g = build_model(cfg, seed=0).fold().generator.eval().requires_grad_(False).to(device)
    return g.to(memory_format=torch.channels_last) if channels_last else g


def _inputs(cfg, batch: int, device, channels_last: bool, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    y = (torch.rand(batch, cfg.gen_in_channels, cfg.image_size, cfg.image_size, generator=gen) * 2 - 1).to(device)
    return y.contiguous(memory_format=torch.channels_last) if channels_last else y


def _call(g, y, psi, device, prec: str, textbook: bool = False):
    def fn():
        with torch.inference_mode(), autocast(device, DTYPES[prec]), textbook_ops() if textbook else \
                contextlib.nullcontext():
            return g(y, psi)
    return fn


def _shares(row: dict, ms_per_frame: float, nominal: float, executed: float, peak: float) -> dict:
    fps = 1000.0 / ms_per_frame
    return {**row, "ms_per_frame": ms_per_frame, "frames_per_s": fps, "nominal_gflops": nominal * fps,
            "pct_peak_nominal": 100 * nominal * fps / peak, "pct_peak_executed": 100 * executed * fps / peak}


def speed_table(args, device: torch.device, pk: dict) -> list[dict]:
    sync, rows = sync_for(device), []  # each call after the previous one: per_frame estimates the next batch
    for name in args.presets:
        cfg = preset(name)
        nominal, executed = generator_gflops(cfg), generator_gflops(cfg, executed=True)
        auto = Execution.resolve(device, "auto", config=cfg)
        g = _generator(cfg, device, auto.channels_last)
        psi = torch.randn(1, g.num_adain_params, device=device) * 0.05
        nets = {"eager": g}
        if args.compile:
            nets["compiled"] = torch.compile(g)
        for (mode, net), prec in ((n, p) for n in nets.items() for p in args.precisions):
            per_frame = None
            for b in args.batches:
                row = {"device": device.type, "preset": name, "precision": prec, "batch": b, "mode": mode,
                       "memory": "channels_last" if auto.channels_last else "contiguous"}
                skip = emulated(pk, prec)
                if not skip and per_frame is not None and per_frame * b / 2 > args.cap:
                    skip = f"skipped: over the {args.cap:g} s cap"
                if skip:
                    rows.append({**row, "note": skip})
                    continue
                fn = _call(net, _inputs(cfg, b, device, auto.channels_last), psi, device, prec)
                rounds = max(1, min(args.repeats, int(args.cap / max(per_frame or 0, 1e-3) / b)))
                try:  # the warm-up call compiles
                    t = interleaved({"call": fn}, rounds=rounds, warmup=1 if mode == "eager" else 3, sync=sync)["call"]
                except Exception as exc:  # noqa: BLE001 - torch.compile may fail (no compiler): report and go on
                    rows.append({**row, "note": f"failed: {type(exc).__name__}: {str(exc).splitlines()[0][:80]}"})
                    break
                per_frame = t["cpu_median_s" if args.clock == "cpu" else "median_s"] / b
                row = _shares(row, 1000 * per_frame, nominal, executed, pk[prec]["gflops"])
                rows.append({**row, "repeats": t["repeats"]})
    return rows


def formats_table(args, device: torch.device, pk: dict) -> tuple[list[dict], dict]:
    """Side by side: reference, textbook and routes x formats x precisions x batches; and the goal line."""
    cfg = preset(args.formats_preset)
    nominal, executed = generator_gflops(cfg), generator_gflops(cfg, executed=True)
    auto = Execution.resolve(device, "auto", config=cfg)
    gens = {cl: _generator(cfg, device, cl) for cl in (False, True)}
    psi = torch.randn(1, gens[False].num_adain_params, device=device) * 0.05
    calls, meta = {}, {}
    if args.reference and device.type == "cpu":
        ref = load_reference_generator(args.reference, cfg.image_size)
        calls["reference"] = reference_call(ref, 1, cfg.image_size)
        meta["reference"] = {"variant": "reference (public reimpl.)", "precision": "fp32", "memory": "contiguous",
                             "batch": 1}
    for batch in args.format_batches:
        for prec in ("fp32", "bf16"):
            if prec not in args.precisions or emulated(pk, prec):
                continue
            for textbook in ((True, False) if prec == "fp32" else (False,)):
                for cl in (False, True):
                    label = f"{'textbook' if textbook else 'routes'} {prec} {'cl' if cl else 'c'} b{batch}"
                    y = _inputs(cfg, batch, device, cl)
                    calls[label] = _call(gens[cl], y, psi, device, prec, textbook)
                    picked = not textbook and auto.dtype == DTYPES[prec] and auto.channels_last == cl
                    meta[label] = {"variant": "ours, textbook ops" if textbook else "ours, inference routes",
                                   "precision": prec, "memory": "channels_last" if cl else "contiguous",
                                   "batch": batch, "auto": "<- auto" if picked else ""}
    times = interleaved(calls, rounds=args.repeats, warmup=1, sync=sync_for(device), cap_s=args.cap)
    key = "cpu_median_s" if args.clock == "cpu" else "median_s"
    outs = {label: fn() for label, fn in calls.items() if label != "reference"}
    rows = []
    for label, m in meta.items():
        ms = 1000 * times[label][key] / m["batch"]
        row = {"device": device.type, "preset": cfg.name, **m, "repeats": times[label]["repeats"]}
        ran = nominal if label.startswith("textbook") else executed  # the textbook ops run the model's FLOPs
        row = _shares(row, ms, nominal, ran, pk[m["precision"]]["gflops"]) if label != "reference" else \
            {**row, "ms_per_frame": ms, "frames_per_s": 1000 / ms}
        if label != "reference" and m["precision"] == "bf16":
            fp32 = outs[label.replace("bf16", "fp32")]
            mse = float(((outs[label].float() - fp32.float()) ** 2).mean()) / 4
            row["psnr_vs_fp32"] = round(10 * math.log10(1 / max(mse, 1e-12)), 1)
        rows.append(row)
    base = next((r["ms_per_frame"] for r in rows if r["variant"].startswith("reference")), None)
    for r in rows:
        r["x_reference"] = round(base / r["ms_per_frame"], 2) if base else "-"
    goal = goal_line(rows, base, pk[auto.precision]["gflops"], nominal, executed, auto)
    return rows, goal


def goal_line(rows, base_ms, peak: float, nominal: float, executed: float, auto) -> dict:
    """The default execution at batch 1 against the goals, and whether the peak allows them."""
    row = next((r for r in rows if r.get("auto") and r["batch"] == 1), None)
    if row is None:
        return {}
    bound_ms = 1000 * executed / peak  # the executed FLOPs at 100 % of the peak
    out = {"execution": f"{auto.precision} {'channels_last' if auto.channels_last else 'contiguous'}",
           "ms_per_frame": row["ms_per_frame"], "pct_peak_nominal": row["pct_peak_nominal"],
           "pct_peak_executed": row["pct_peak_executed"], "peak_gflops": peak, "bound_ms": bound_ms,
           "goal_peak": "met" if row["pct_peak_nominal"] >= 100 * GOAL_PEAK else "not met"}
    if base_ms:
        need = base_ms / GOAL_REFERENCE
        out.update(x_reference=base_ms / row["ms_per_frame"], goal_ms=need,
                   goal_reference="met" if row["ms_per_frame"] <= need else (
                       "not met" if need >= bound_ms else f"impossible at this peak (needs {need:.0f} ms, "
                                                         f"the peak allows {bound_ms:.0f} ms)"))
    return out


def profile_table(args, device: torch.device) -> list[dict]:
    """Where one frame's time goes, by kind of op: textbook ops against the routes (the default format)."""
    from torch.profiler import ProfilerActivity, profile

    cfg = preset(args.formats_preset)
    auto = Execution.resolve(device, "auto", config=cfg)
    g = _generator(cfg, device, auto.channels_last)
    psi = torch.randn(1, g.num_adain_params, device=device) * 0.05
    y = _inputs(cfg, 1, device, auto.channels_last)
    kinds = {"convolution": ("conv",), "normalization": ("norm", "var_mean"), "upsampling": ("upsample",),
             "attention": ("bmm", "softmax", "attention", "where", "isneginf", "all"),
             "copies": ("copy_", "contiguous", "clone", "_to_copy"), "pooling": ("pool",)}
    rows = {}
    for textbook in (True, False):
        fn = _call(g, y, psi, device, auto.precision, textbook)
        fn()
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            fn()
        col = "textbook ms" if textbook else "routes ms"
        for ev in prof.key_averages():
            kind = next((k for k, keys in kinds.items() if any(s in ev.key for s in keys)), "pointwise, other")
            row = rows.setdefault(kind, {"kind": kind, "textbook ms": 0.0, "routes ms": 0.0})
            row[col] += ev.self_cpu_time_total / 1000
    total = {c: sum(r[c] for r in rows.values()) for c in ("textbook ms", "routes ms")}
    out = sorted(rows.values(), key=lambda r: -r["textbook ms"])
    for r in out:
        r["textbook %"] = 100 * r["textbook ms"] / total["textbook ms"]
        r["routes %"] = 100 * r["routes ms"] / total["routes ms"]
    return out + [{"kind": "total (profiler time)", **total, "textbook %": 100.0, "routes %": 100.0}]


def optimization_table(args, device: torch.device, pk: dict) -> list[dict]:
    sync = sync_for(device)
    cfg = preset(args.opt_preset)
    model = build_model(cfg, seed=0).eval().to(device)
    s = cfg.image_size
    src = (torch.rand(1, 3, s, s) * 2 - 1).to(device)
    with torch.inference_mode():
        psi = model.generator.project(model.embedder(src, src))
    auto = Execution.resolve(device, "auto", config=cfg)
    folded = copy.deepcopy(model).fold().generator
    fmt = copy.deepcopy(folded).to(memory_format=torch.channels_last) if auto.channels_last else folded
    y1, y1f, y8f = _inputs(cfg, 1, device, False), _inputs(cfg, 1, device, auto.channels_last), \
        _inputs(cfg, 8, device, auto.channels_last)
    steps = [
        ("plain eager fp32 (ψ per frame, SN, textbook ops, contiguous, batch 1)", 1,
         lambda: _call(lambda y, _: model.generator(y, model.generator.project(model.embedder(src, src))),
                       y1, None, device, "fp32", True)),
        ("+ ψ once per identity", 1, lambda: _call(model.generator, y1, psi, device, "fp32", True)),
        ("+ folded spectral norm", 1, lambda: _call(folded, y1, psi, device, "fp32", True)),
        ("+ inference routes (fused convs, norms in place)", 1, lambda: _call(folded, y1, psi, device, "fp32")),
        (f"+ measured memory format ({'channels_last' if auto.channels_last else 'contiguous'})", 1,
         lambda: _call(fmt, y1f, psi, device, "fp32")),
        ("+ batch 8", 8, lambda: _call(fmt, y8f, psi, device, "fp32")),
    ]
    if "bf16" in args.precisions:
        steps.append(("+ bf16 autocast", 8, lambda: _call(fmt, y8f, psi, device, "bf16")))
    if args.compile:
        steps.append(("+ torch.compile", 8, lambda: _call(torch.compile(fmt), y8f, psi, device,
                                                           "bf16" if "bf16" in args.precisions else "fp32")))
    rows, base = [], None
    for label, batch, make in steps:
        row = {"device": device.type, "preset": cfg.name, "step": label, "batch": batch}
        if "bf16" in label and emulated(pk, "bf16"):
            rows.append({**row, "note": emulated(pk, "bf16")})
            continue
        try:
            t = time_fn(make(), warmup=2, repeats=args.repeats, sync=sync)
        except Exception as exc:  # noqa: BLE001 - torch.compile may fail (no compiler): report and go on
            rows.append({**row, "note": f"skipped: {type(exc).__name__}: {str(exc).splitlines()[0][:80]}"})
            continue
        fps = batch / t["median_s"]
        base = base or fps
        rows.append({**row, "frames_per_s": fps, "best_fps": batch / t["min_s"], "speedup": fps / base})
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--presets", nargs="+", default=["tiny", "cpu128", "small", "paper"])
    ap.add_argument("--batches", type=int, nargs="+", default=[1, 8, 32])
    ap.add_argument("--precisions", nargs="+", default=["fp32", "bf16"], choices=list(DTYPES))
    ap.add_argument("--devices", nargs="+", default=None, help="default: cpu, and cuda when present")
    ap.add_argument("--cap", type=float, default=15.0, help="seconds per call at most (longer: skipped or timed once)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--opt-preset", default=None,
                    help="preset of the optimization table (cpu128 on CPU, paper on CUDA)")
    ap.add_argument("--compile", action="store_true",
                    help="also time torch.compile'd generators (speed table rows, an optimization step)")
    ap.add_argument("--skip-table", choices=["speed", "opt", "formats"], nargs="*", default=[])
    ap.add_argument("--formats-preset", default="paper",
                    help="preset of the formats and profile tables (default paper)")
    ap.add_argument("--format-batches", type=int, nargs="+", default=[1, 4])
    ap.add_argument("--reference", default=None, metavar="PATH",
                    help="checkout of vincent-thevenin/Realistic-Neural-Talking-Head-Models to time beside ours")
    ap.add_argument("--profile", action="store_true", help="add the per-kind profile of one frame")
    ap.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                    help="formats table and peak: wall time (default) or process CPU time (with --threads 1 on a busy "
                         "machine: the time the process ran, not the time it waited for a CPU)")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    add_json_arg(ap)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    devices = args.devices or (["cpu"] + (["cuda"] if torch.cuda.is_available() else []))
    out = {"peaks": {}, "speed": [], "formats": [], "goal": {}, "profile": [], "optimizations": []}
    for d in devices:
        device = torch.device(d)
        if device.type == "cuda":
            torch.backends.cudnn.benchmark = True
        pk = out["peaks"][d] = peaks(device, args.precisions, args.clock)
        if "speed" not in args.skip_table:
            out["speed"] += speed_table(args, device, pk)
        if "formats" not in args.skip_table:
            rows, goal = formats_table(args, device, pk)
            out["formats"] += rows
            out["goal"][d] = goal
        if args.profile:
            out["profile"] += profile_table(args, device)
        if "opt" not in args.skip_table:
            args_d = copy.copy(args)
            args_d.opt_preset = args.opt_preset or ("paper" if device.type == "cuda" else "cpu128")
            out["optimizations"] += optimization_table(args_d, device, pk)
    meta = {"cpu": cpu_description(), "threads": torch.get_num_threads(), "load": load_note(), "clock": args.clock}
    print(f"{meta['cpu']}, {meta['threads']} torch threads, torch {torch.__version__}; {meta['load']}")
    for d, pk in out["peaks"].items():
        for p, v in pk.items():
            conv = f", 3x3 conv {v['conv_gflops']:.1f}" if v["conv_gflops"] else ""
            print(f"peak {d} {p}: GEMM {v['n']}^3 {v['wall_gflops']:.1f} GFLOP/s (wall), {v['cpu_gflops']:.1f} per CPU "
                  f"second; the tables use the {args.clock} figure{conv} (wall)")
    print()
    if out["speed"]:
        print_table(out["speed"], ["device", "preset", "mode", "precision", "memory", "batch", "frames_per_s",
                                   "ms_per_frame",
                                   "nominal_gflops", "pct_peak_nominal", "pct_peak_executed", "repeats", "note"])
        print()
    if out["formats"]:
        print_table(out["formats"], ["device", "preset", "variant", "precision", "memory", "batch", "ms_per_frame",
                                     "x_reference", "pct_peak_nominal", "pct_peak_executed", "psnr_vs_fp32", "repeats",
                                     "auto"])
        for d, g in out["goal"].items():
            if g:
                ref = (f"; {g['x_reference']:.2f}x the reference (goal {GOAL_REFERENCE:g}x = {g['goal_ms']:.0f} ms: "
                       f"{g['goal_reference']})") if "x_reference" in g else "; no --reference"
                print(f"goal {d}: default {g['execution']} {g['ms_per_frame']:.0f} ms/frame = "
                      f"{g['pct_peak_nominal']:.0f} % of the {g['peak_gflops']:.0f} GFLOP/s peak (nominal FLOPs; "
                      f"executed {g['pct_peak_executed']:.0f} %; goal {100 * GOAL_PEAK:.0f} %: {g['goal_peak']}){ref}; "
                      f"the peak bounds a frame at {g['bound_ms']:.0f} ms")
        print()
    if out["profile"]:
        print_table(out["profile"], ["kind", "textbook ms", "textbook %", "routes ms", "routes %"])
        print()
    if out["optimizations"]:
        print_table(out["optimizations"], ["device", "preset", "step", "batch", "frames_per_s", "best_fps", "speedup",
                                           "note"])
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(jsonable({"meta": meta, "environment": environment(), **out}), f, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
