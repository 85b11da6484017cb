"""``info``: parameter counts and generator GFLOPs of a preset or of a weights file; with ``--bench``, the
execution (precision, memory format) measured for its size on this CPU and why (fsth_core/runtime/tuning.py)."""
from __future__ import annotations

import json

NAME = "info"
HELP = "print a preset's or a model file's parameter counts and GFLOPs per generated frame"


def add_arguments(p) -> None:
    from fsth_core.models.config import PRESETS

    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--preset", choices=sorted(PRESETS), help="a built-in preset")
    src.add_argument("--weights", metavar="FILE", help="an FSTH model .safetensors file")
    p.add_argument("--videos", type=int, metavar="N", default=None,
                   help="with --preset: training videos (columns of the discriminator's W); prints W's size, "
                        "its (sparse) gradient and Adam state, and the training checkpoint's size")
    p.add_argument("--bench", action="store_true",
                   help="measure anew which precision and memory format run this model size fastest on this CPU "
                        "(what --precision auto then uses; cached per CPU, torch version, thread count and size) and "
                        "print each candidate's time")
    p.add_argument("--threads", type=int, nargs="+", metavar="N", default=None,
                   help="with --bench: torch thread counts to measure at (default: torch's own and, where it "
                        "differs, the one animate generates with: all CPUs but one)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")


def run(args) -> int:
    from fsth_core.models.config import ModelConfig, preset
    from fsth_core.models.model import build_model, generator_gflops
    from fsth_core.models.weights import model_info

    if args.videos is not None and (args.weights or args.videos < 1):
        print("error: --videos takes a positive count and goes with --preset")
        return 2
    if args.weights:
        info = model_info(args.weights)
        config = ModelConfig.from_dict(info["config"])
    else:
        config = preset(args.preset)
        counts = build_model(config.with_videos(1)).parameter_counts()
        videos = args.videos if args.videos is not None else config.num_videos
        counts["discriminator"] += config.embed_dim * (videos - 1)
        config = config.with_videos(videos)
        info = {"preset": config.name, "config": config.to_dict(), "parameters": counts}
        if args.videos is not None:
            info["training_memory"] = training_memory(config, counts)
    if args.threads is not None and (not args.bench or min(args.threads) < 1):
        print("error: --threads takes positive counts and goes with --bench")
        return 2
    info["generator_gflops_per_frame"] = round(generator_gflops(config), 3)
    info["generator_gflops_executed"] = round(generator_gflops(config, executed=True), 3)
    if args.bench:
        info["execution"] = bench_execution(config, args.threads)
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    if args.weights:
        print(f"file        {info['file']}")
    print(f"preset      {info['preset']}  ({config.image_size}x{config.image_size}, embedding {config.embed_dim})")
    for net, n in info["parameters"].items():
        print(f"{net:<14}{n:>14,d} parameters")
    print(f"{'total':<14}{sum(info['parameters'].values()):>14,d} parameters")
    print(f"generator   {info['generator_gflops_per_frame']:.3f} GFLOPs per frame (batch 1, ψ precomputed); inference "
          f"runs {info['generator_gflops_executed']:.3f} (fused pooling and upsampling convs)")
    mem = info.get("training_memory")
    if mem:
        gb = 1e9
        print(f"W           {config.embed_dim} x {config.num_videos:,d} = {mem['w_parameters']:,d} parameters, "
              f"{mem['w_bytes'] / gb:.2f} GB fp32")
        print(f"W training  sparse gradient: only the rows of a step's videos ({mem['w_grad_bytes_per_episode']:,d} "
              f"bytes per episode, all-gathered over GPUs); Adam state {mem['w_adam_bytes'] / gb:.2f} GB, read and "
              "written only at those rows")
        print(f"checkpoint  {mem['checkpoint_bytes'] / gb:.2f} GB (fp32 weights + Adam state), "
              f"of which W {mem['checkpoint_w_bytes'] / gb:.2f} GB; inference weights without W "
              f"{mem['inference_bytes'] / gb:.2f} GB")
    if args.weights:
        cols = info.get("training", {}).get("w_columns")
        if cols:
            print(f"W           {config.embed_dim} x {config.num_videos:,d}: one column per training video "
                  f"({cols['clips']:,d} clips grouped at --video-level {cols['level']})")
        if info.get("description"):
            print(f"trained     {info['description']}")
        if info.get("training"):
            print(f"recipe      {json.dumps(info['training'], sort_keys=True)}")
    if args.bench:
        print_execution(info["execution"])
    return 0


def bench_execution(config, threads: list[int] | None) -> dict:
    """Measure (anew) the execution of ``config``'s size at each thread count -> {"cache", "cpu", "runs":
    [{threads, tuning dict, used: what --precision auto resolves to now (environment overrides included)}]}."""
    import torch

    from fsth_core.runtime.device import Execution, pick_device
    from fsth_core.runtime.threads import generation_threads
    from fsth_core.runtime.tuning import cache_path, cpu_identity, tuned

    counts = threads or sorted({torch.get_num_threads(), generation_threads(True)})
    cpu, flags = cpu_identity()
    out = {"cache": str(cache_path()), "cpu": f"{cpu} [flags {flags}]", "torch": torch.__version__, "runs": []}
    if pick_device("auto").type != "cpu":
        out["note"] = f"generation runs on {pick_device('auto')}: the rule applies there, not this CPU's measurement"
    for n in counts:
        t = tuned(config, n, refresh=True)
        used = Execution.resolve("cpu", "auto", config=config, threads=n)
        out["runs"].append({"threads": n, **t.to_dict(), "cache_note": t.note,
                            "used": {"precision": used.precision, "channels_last": used.channels_last,
                                     "reason": used.reason}})
    return out


def print_execution(ex: dict) -> None:
    print(f"execution   measured on {ex['cpu']}, torch {ex['torch']} (cached in {ex['cache']})")
    if ex.get("note"):
        print(f"            note: {ex['note']}")
    for run in ex["runs"]:
        chosen = (run["precision"], run["channels_last"])
        print(f"  {run['threads']} threads: {run['probe']}")
        for c in run["candidates"]:
            ms = f"{c['ms']:8.1f} ms" if c["ms"] is not None else f"{'-':>11}"
            psnr = "  (reference)" if (c["precision"], c["channels_last"]) == ("fp32", False) else (
                f"  {c['psnr_db']:6.1f} dB" if c["psnr_db"] is not None else "")
            mark = "  <- chosen" if (c["precision"], c["channels_last"]) == chosen else ""
            label = f"{c['precision']} {'channels_last' if c['channels_last'] else 'contiguous'}"
            print(f"    {label:<19}{ms}{psnr:<13}{mark}{'  ' + c['note'] if c['note'] else ''}")
        used = run["used"]
        if (used["precision"], used["channels_last"]) != chosen:
            print(f"    used: {used['precision']} {'channels_last' if used['channels_last'] else 'contiguous'} "
                  f"({used['reason']})")
        if run["cache_note"]:
            print(f"    {run['cache_note']}")


def training_memory(config, counts: dict[str, int]) -> dict[str, int]:
    """Bytes W and the whole model take while meta-training: fp32 weights; Adam's two moments for every
    parameter; W's gradient is sparse (one row per episode: the sampled video's) and its Adam state adds
    a step stamp per video (fsth_core/training/lazy_adam.py); every other gradient is dense."""
    d, v = config.embed_dim, config.num_videos
    w, total = d * v, sum(counts.values())
    return {"w_parameters": w, "w_bytes": 4 * w, "w_grad_bytes_per_episode": 4 * d, "w_adam_bytes": 8 * w + 8 * v,
            "checkpoint_bytes": 12 * total + 8 * v, "checkpoint_w_bytes": 12 * w + 8 * v,
            "inference_bytes": 4 * (total - w)}
