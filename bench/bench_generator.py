"""Generator speed: frames/s per preset, batch, precision and device, against the device's measured peak;
and the speed-up of each inference optimization over the plain eager fp32 model.

    python bench/bench_generator.py [--presets tiny cpu128 small paper] [--batches 1 8 32]
        [--precisions fp32 bf16] [--devices cpu cuda] [--cap 15] [--repeats 5]
        [--opt-preset cpu128] [--compile] [--skip-table speed opt formats] [--formats-preset paper]
        [--format-batches 1 4] [--reference PATH] [--json out.json]

Table 1 (speed): the folded (spectral norm baked in) generator, ψ precomputed, channels_last on
CPU/CUDA, autocast for bf16, median seconds per call over repeats after a warm-up call; achieved
GFLOP/s = fsth_core.models.model.generator_gflops(config) × frames/s, next to the device's measured peak
(a large 3×3 conv in the same dtype, bench._common.measure_peak_gflops). A configuration whose
estimated call time exceeds --cap/2 seconds is skipped (shown as such), so the CPU default stays short.

Table 2 (formats, one preset, side by side): fp32 and bf16 autocast, contiguous and channels_last, per
batch; ms per frame, and bf16's PSNR against the fp32 output (outputs in [0, 1]); the row marked
``<- auto`` is what fsth_core.runtime.device.Execution.resolve(device, "auto") picks for inference. With
``--reference PATH`` (a checkout of the public reimplementation, vincent-thevenin/Realistic-Neural-Talking-
Head-Models; never committed) its generator (fp32, its own eval mode, 256 px) is timed in the same run, and
``x_reference`` says how many times faster each row is. On CPU the table is timed at 256 px.

Table 3 (optimizations, cumulative, one preset): plain eager fp32 — ψ recomputed per frame (the
embedder on the source and P·ê), spectral norm active, contiguous memory, batch 1 — then + ψ once per
identity, + folded spectral norm, + channels_last, + batch 8, + bf16, + torch.compile (--compile;
skipped with the reason if it fails). Speed-up is frames/s relative to the plain model.
"""
from __future__ import annotations

import argparse
import copy
import json
import math
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import torch  # noqa: E402

from bench._reference import load_reference_generator, reference_call  # noqa: E402
from bench._common import (_jsonable, add_json_arg, environment, measure_peak_gflops, print_table,  # noqa: E402
                           sync_for, time_fn)
from fsth_core.models.config import preset  # noqa: E402
from fsth_core.models.model import build_model, generator_gflops  # noqa: E402
from fsth_core.runtime.device import autocast  # noqa: E402

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}


def _inputs(cfg, batch: int, device, channels_last: bool):
    y = torch.rand(batch, cfg.gen_in_channels, cfg.image_size, cfg.image_size, device=device) * 2 - 1
    return y.contiguous(memory_format=torch.channels_last) if channels_last else y


def _timed(fn, sync, cap: float, repeats: int, est: float | None) -> dict | None:
    """time_fn with repeats fitted into ``cap`` seconds after one warm-up call; None (skipped) when the
    estimate from the previous batch says one call takes over ``cap``. A warm-up call over cap/2 is
    reported alone (repeats 0: one cold call)."""
    if est is not None and est > cap:
        return None
    t = time_fn(fn, warmup=0, repeats=1, sync=sync)
    if t["median_s"] > cap / 2:
        return {**t, "repeats": 0}
    n = int(max(1, min(repeats, cap / max(t["median_s"], 1e-6) - 1)))
    return time_fn(fn, warmup=0, repeats=n, sync=sync)


def speed_table(args, device: torch.device) -> list[dict]:
    sync = sync_for(device)
    cl = device.type in ("cpu", "cuda")
    rows = []
    peaks = {p: measure_peak_gflops(device, DTYPES[p])["conv_gflops"] for p in args.precisions}
    for name in args.presets:
        cfg = preset(name)
        gflop = generator_gflops(cfg)
        g = build_model(cfg, seed=0).fold().generator.eval().to(device)
        if cl:
            g = g.to(memory_format=torch.channels_last)
        psi = torch.randn(1, g.num_adain_params, device=device) * 0.1
        for prec in args.precisions:
            per_frame = None  # seconds per frame measured at the previous batch
            for b in args.batches:
                y = _inputs(cfg, b, device, cl)
                row = {"device": device.type, "preset": name, "precision": prec, "batch": b}

                def call():
                    with torch.inference_mode(), autocast(device, DTYPES[prec]):
                        g(y, psi)

                est = per_frame * b / 2 if per_frame is not None else None  # batching halves per-frame cost, at best
                t = _timed(call, sync, args.cap, args.repeats, est)
                if t is None:
                    rows.append({**row, "note": f"skipped: over the {args.cap:g} s cap"})
                    continue
                per_frame = t["median_s"] / b
                fps = 1.0 / per_frame
                rows.append({**row, "frames_per_s": fps, "best_fps": b / t["min_s"], "ms_per_frame": 1000 * per_frame,
                             "gflop_per_frame": gflop, "achieved_gflops": gflop * fps,
                             "peak_gflops": peaks[prec], "pct_of_peak": 100 * gflop * fps / peaks[prec],
                             "repeats": t["repeats"], **({"note": "one cold call (over cap/2)"}
                                                         if t["repeats"] == 0 else {})})
    return rows


def optimization_table(args, device: torch.device) -> list[dict]:
    sync = sync_for(device)
    cfg = preset(args.opt_preset)
    model = build_model(cfg, seed=0).eval().to(device)
    s = cfg.image_size
    src = torch.rand(1, 3, s, s, device=device) * 2 - 1
    src_lm = torch.rand(1, 3, s, s, device=device) * 2 - 1
    with torch.inference_mode():
        psi = model.generator.project(model.embedder(src, src_lm))
    folded = copy.deepcopy(model).fold()
    cl_gen = copy.deepcopy(folded.generator).to(memory_format=torch.channels_last)
    steps = []

    def plain():  # per frame: E(source) -> P·ê -> G, spectral norm active, contiguous
        y = _inputs(cfg, 1, device, False)
        return 1, lambda: model.generator(y, model.generator.project(model.embedder(src, src_lm)))

    steps.append(("plain eager fp32 (ψ per frame, SN, contiguous, batch 1)", plain))
    steps.append(("+ ψ once per identity", lambda: (1, (lambda y=_inputs(cfg, 1, device, False):
                                                          model.generator(y, psi)))))
    steps.append(("+ folded spectral norm", lambda: (1, (lambda y=_inputs(cfg, 1, device, False):
                                                          folded.generator(y, psi)))))
    steps.append(("+ channels_last", lambda: (1, (lambda y=_inputs(cfg, 1, device, True): cl_gen(y, psi)))))
    steps.append(("+ batch 8", lambda: (8, (lambda y=_inputs(cfg, 8, device, True): cl_gen(y, psi)))))
    steps.append(("+ bf16 autocast", lambda: (8, _bf16(cl_gen, _inputs(cfg, 8, device, True), psi, device))))
    if args.compile:
        steps.append(("+ torch.compile", lambda: (8, _bf16(torch.compile(cl_gen), _inputs(cfg, 8, device, True),
                                                           psi, device))))
    rows, base = [], None
    for label, make in steps:
        row = {"device": device.type, "preset": cfg.name, "step": label}
        try:
            batch, fn = make()

            def call(fn=fn):
                with torch.inference_mode():
                    fn()

            t = time_fn(call, warmup=2, repeats=args.repeats, sync=sync)
        except Exception as exc:  # noqa: BLE001 - torch.compile may fail (no compiler): report and go on
            rows.append({**row, "note": f"skipped: {type(exc).__name__}: {str(exc).splitlines()[0][:80]}"})
            continue
        fps = batch / t["median_s"]
        base = base or fps
        rows.append({**row, "batch": batch, "frames_per_s": fps, "best_fps": batch / t["min_s"], "speedup": fps / base})
    return rows


def formats_table(args, device: torch.device) -> list[dict]:
    """One preset, side by side in this process: fp32 / bf16 × contiguous / channels_last × batch, the
    configuration Execution.resolve(device, "auto") picks marked, and bf16's PSNR against fp32."""
    from fsth_core.runtime.device import Execution

    sync = sync_for(device)
    cfg = preset(args.formats_preset)
    gen = build_model(cfg, seed=0).fold().generator.eval().requires_grad_(False).to(device)
    psi = torch.randn(1, gen.num_adain_params, device=device) * 0.05
    auto = Execution.resolve(device, "auto")
    rows, ref = [], {}
    reference = _reference_rows(args, device, cfg.image_size)
    for batch in args.format_batches:
        y = _inputs(cfg, batch, device, False)
        for prec in ("fp32", "bf16"):
            for cl in (False, True):
                g = copy.deepcopy(gen).to(memory_format=torch.channels_last) if cl else gen
                x = y.contiguous(memory_format=torch.channels_last) if cl else y

                def call(g=g, x=x, prec=prec):
                    with torch.inference_mode(), autocast(device, DTYPES[prec]):
                        return g(x, psi)

                t = time_fn(call, warmup=2, repeats=args.repeats, sync=sync)
                out = call().float()
                ref.setdefault(batch, out) if prec == "fp32" else None
                mse = float(((out - ref[batch]) ** 2).mean()) / 4  # [-1,1] -> [0,1]
                picked = auto.dtype == DTYPES[prec] and auto.channels_last == cl
                rows.append({"device": device.type, "preset": cfg.name, "precision": prec,
                             "memory": "channels_last" if cl else "contiguous", "batch": batch,
                             "ms_per_frame": 1000 * t["median_s"] / batch, "frames_per_s": batch / t["median_s"],
                             "psnr_vs_fp32": "-" if prec == "fp32" else round(10 * math.log10(1 / max(mse, 1e-12)), 1),
                             "auto": "<- auto" if picked else ""})
    base = reference[0]["ms_per_frame"] if reference else None
    for row in rows + reference:
        row["x_reference"] = round(base / row["ms_per_frame"], 2) if base else "-"
    return reference + rows


def _reference_rows(args, device: torch.device, size: int) -> list[dict]:
    """The public reimplementation's generator, fp32 batch 1, timed like our rows (empty without --reference)."""
    if not args.reference or device.type != "cpu":
        return []
    gen = load_reference_generator(args.reference, size)
    t = time_fn(reference_call(gen, 1, size), warmup=2, repeats=args.repeats, sync=sync_for(device))
    return [{"device": device.type, "preset": "reference", "precision": "fp32", "memory": "contiguous",
             "batch": 1, "ms_per_frame": 1000 * t["median_s"], "frames_per_s": 1 / t["median_s"],
             "psnr_vs_fp32": "-", "auto": "(public reimpl.)"}]


def _bf16(gen, y, psi, device):
    def fn():
        with autocast(device, torch.bfloat16):
            return gen(y, psi)
    return fn


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--presets", nargs="+", default=["tiny", "cpu128", "small", "paper"])
    ap.add_argument("--batches", type=int, nargs="+", default=[1, 8, 32])
    ap.add_argument("--precisions", nargs="+", default=["fp32", "bf16"], choices=list(DTYPES))
    ap.add_argument("--devices", nargs="+", default=None, help="default: cpu, and cuda when present")
    ap.add_argument("--cap", type=float, default=15.0, help="seconds per configuration")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--opt-preset", default=None, help="preset of the optimization table (cpu128 on CPU, "
                                                        "paper on CUDA)")
    ap.add_argument("--compile", action="store_true", help="add a torch.compile step to the optimization table")
    ap.add_argument("--skip-table", choices=["speed", "opt", "formats"], nargs="*", default=[])
    ap.add_argument("--formats-preset", default="paper", help="preset of the formats table (default paper)")
    ap.add_argument("--format-batches", type=int, nargs="+", default=[1, 4])
    ap.add_argument("--reference", default=None, metavar="PATH",
                    help="checkout of vincent-thevenin/Realistic-Neural-Talking-Head-Models to time beside ours")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    add_json_arg(ap)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    devices = args.devices or (["cpu"] + (["cuda"] if torch.cuda.is_available() else []))
    speed, opt, formats = [], [], []
    for d in devices:
        device = torch.device(d)
        if device.type == "cuda":
            torch.backends.cudnn.benchmark = True
        if "speed" not in args.skip_table:
            speed += speed_table(args, device)
        if "formats" not in args.skip_table:
            formats += formats_table(args, device)
        if "opt" not in args.skip_table:
            args_d = copy.copy(args)
            args_d.opt_preset = args.opt_preset or ("paper" if device.type == "cuda" else "cpu128")
            opt += optimization_table(args_d, device)
    meta = {"threads": torch.get_num_threads(), "cap_s": args.cap}
    if speed:
        print_table(speed, ["device", "preset", "precision", "batch", "frames_per_s", "best_fps", "ms_per_frame",
                            "gflop_per_frame", "achieved_gflops", "peak_gflops", "pct_of_peak", "repeats", "note"])
        print()
    if formats:
        print_table(formats, ["device", "preset", "precision", "memory", "batch", "ms_per_frame", "frames_per_s",
                              "psnr_vs_fp32", "x_reference", "auto"])
        print()
    if opt:
        print_table(opt, ["device", "preset", "step", "batch", "frames_per_s", "best_fps", "speedup", "note"])
    if args.json:
        payload = _jsonable({"meta": meta, "environment": environment(), "speed": speed, "formats": formats,
                             "optimizations": opt})
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(payload, f, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
