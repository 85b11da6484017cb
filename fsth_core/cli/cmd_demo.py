"""``demo``: the embedded default — the bundled portrait, procedural motion, the bundled checkpoint."""
from __future__ import annotations

from pathlib import Path

from fsth_core.options import DEFAULT_FPS, MAX_FINETUNE_STEPS, MAX_FRAMES, METHODS

NAME = "demo"
HELP = "animate the bundled public-domain portrait with procedural motion and the bundled checkpoint"


def add_arguments(p) -> None:
    from fsth_core.cli.argtypes import SEED, floats, ints

    p.add_argument("--out-dir", default="demo_output", help="where demo.mp4 and preview.png go")
    p.add_argument("--seconds", type=floats(0, MAX_FRAMES / DEFAULT_FPS, low_open=True), default=4.0)
    p.add_argument("--finetune-steps", type=ints(0, MAX_FINETUNE_STEPS), default=None,
                   help="default: the checkpoint's recommendation")
    p.add_argument("--method", default="neural", choices=METHODS)
    p.add_argument("--seed", type=SEED, default=0)


def run(args) -> int:
    from fsth_core.inference.demo import run_demo

    res = run_demo(Path(args.out_dir), seconds=args.seconds, finetune_steps=args.finetune_steps,
                   method=args.method, seed=args.seed)
    print(f"demo video:   {res['video']} ({res['frames']} frames, {res['fps']:g} fps)")
    print(f"preview:      {res['preview']} (source | landmarks | result)")
    return 0
