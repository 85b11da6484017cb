"""``info``: parameter counts and generator GFLOPs of a preset or of a weights file."""
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
    info["generator_gflops_per_frame"] = round(generator_gflops(config), 3)
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    if args.weights:
        print(f"file        {info['file']}")
    print(f"preset      {info['preset']}  ({config.image_size}x{config.image_size}, embedding {config.embed_dim})")
    for net, n in info["parameters"].items():
        print(f"{net:<14}{n:>14,d} parameters")
    print(f"{'total':<14}{sum(info['parameters'].values()):>14,d} parameters")
    print(f"generator   {info['generator_gflops_per_frame']:.3f} GFLOPs per frame (batch 1, ψ precomputed)")
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
    return 0


def training_memory(config, counts: dict[str, int]) -> dict[str, int]:
    """Bytes W and the whole model take while meta-training: fp32 weights; Adam's two moments for every
    parameter; W's gradient is sparse (one row per episode: the sampled video's) and its Adam state adds
    a step stamp per video (fsth_core/training/lazy_adam.py); every other gradient is dense."""
    d, v = config.embed_dim, config.num_videos
    w, total = d * v, sum(counts.values())
    return {"w_parameters": w, "w_bytes": 4 * w, "w_grad_bytes_per_episode": 4 * d, "w_adam_bytes": 8 * w + 8 * v,
            "checkpoint_bytes": 12 * total + 8 * v, "checkpoint_w_bytes": 12 * w + 8 * v,
            "inference_bytes": 4 * (total - w)}
