"""``init``: write a freshly initialized model file."""
from __future__ import annotations

from pathlib import Path

NAME = "init"
HELP = "write a freshly initialized model (.safetensors)"


def add_arguments(p) -> None:
    from fsth_core.cli.argtypes import SEED, ints
    from fsth_core.models.config import PRESETS

    p.add_argument("--preset", choices=sorted(PRESETS), required=True)
    p.add_argument("--out", required=True, metavar="FILE", help="output .safetensors file")
    p.add_argument("--videos", type=ints(1, 10_000_000), default=1,
                   help="columns of the discriminator's W (training videos)")
    p.add_argument("--seed", type=SEED, default=0)
    p.add_argument("--warp-guided", action="store_true", help="generator also takes the warped source")


def run(args) -> int:
    import dataclasses

    from fsth_core.io.outpaths import check_file_output
    from fsth_core.models.config import preset
    from fsth_core.models.model import build_model
    from fsth_core.models.weights import save_model

    if Path(args.out).exists():
        raise ValueError(f"{args.out}: already exists; init writes a fresh, untrained model only to a new file")
    check_file_output(args.out)
    config = dataclasses.replace(preset(args.preset), num_videos=args.videos, warp_guided=args.warp_guided)
    model = build_model(config, seed=args.seed)
    path = save_model(args.out, model, description=f"freshly initialized (seed {args.seed}), untrained",
                      training={"steps": 0, "seed": args.seed})
    print(f"wrote {path} ({config.name}, {sum(model.parameter_counts().values()):,d} parameters)")
    return 0
