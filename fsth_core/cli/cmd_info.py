"""``info``: parameter counts and generator GFLOPs of a preset or of a weights file."""
from __future__ import annotations

import json

NAME = "info"
HELP = "print a preset's or a model file's parameter counts and GFLOPs per generated frame"


def add_arguments(p) -> None:
    from fsth_core.config import PRESETS

    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--preset", choices=sorted(PRESETS), help="a built-in preset")
    src.add_argument("--weights", metavar="FILE", help="an FSTH model .safetensors file")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")


def run(args) -> int:
    from fsth_core.config import ModelConfig, preset
    from fsth_core.model import build_model, generator_gflops
    from fsth_core.weights import model_info

    if args.weights:
        info = model_info(args.weights)
        config = ModelConfig.from_dict(info["config"])
    else:
        config = preset(args.preset)
        info = {"preset": config.name, "config": config.to_dict(),
                "parameters": build_model(config).parameter_counts()}
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
    if args.weights:
        if info.get("description"):
            print(f"trained     {info['description']}")
        if info.get("training"):
            print(f"recipe      {json.dumps(info['training'], sort_keys=True)}")
    return 0
