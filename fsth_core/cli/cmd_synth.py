"""``python -m fsth_core synth OUT``: write a procedural synthetic talking-head training set."""
from __future__ import annotations

import argparse

NAME = "synth"
HELP = "write a synthetic cartoon talking-head training set (resumable)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from fsth_core.cli.argtypes import SEED, ints

    parser.add_argument("out", metavar="OUT", help="training set folder to create or resume")
    parser.add_argument("--identities", type=ints(1), default=64, help="number of videos/identities (default 64)")
    parser.add_argument("--frames", type=ints(1), default=32, help="frames per video (default 32)")
    parser.add_argument("--size", type=ints(16, 2048), default=256, help="frame side in pixels (default 256)")
    parser.add_argument("--seed", type=SEED, default=0, help="random seed (default 0)")
    parser.add_argument("--quality", type=ints(1, 100), default=95, help="JPEG quality (default 95)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from fsth_core.data.store import TrainingSet, check_trainset_out
    from fsth_core.synthetic.heads import write_synthetic_dataset

    if args.identities < 1 or args.frames < 1:
        raise ValueError("--identities and --frames must be >= 1")
    if not 16 <= args.size <= 2048:
        raise ValueError(f"--size must be in 16..2048, got {args.size}")
    if not 1 <= args.quality <= 100:
        raise ValueError(f"--quality must be in 1..100, got {args.quality}")
    check_trainset_out(args.out)
    out = write_synthetic_dataset(args.out, args.identities, args.frames, args.size, args.seed,
                                  progress=not args.no_progress, quality=args.quality)
    ts = TrainingSet(out)
    print(f"{out}: {len(ts)} videos, {sum(v['frames'] for v in ts.videos)} frames at {ts.image_size}px")
    return 0
