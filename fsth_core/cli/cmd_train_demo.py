"""``train-demo``: rebuild the bundled demo checkpoint from scratch (synthetic data, CPU)."""
from __future__ import annotations

from pathlib import Path

NAME = "train-demo"
HELP = "make the synthetic data and train/export the bundled demo checkpoint (resumable)"


def add_arguments(p) -> None:
    from fsth_core.cli.argtypes import ints
    from fsth_core.paths import PACK_WEIGHTS

    p.add_argument("--work", default="demo_training", help="folder for the data and the training checkpoint")
    p.add_argument("--steps", type=ints(1), default=3000)
    p.add_argument("--out", default=str(PACK_WEIGHTS / "fsth_demo_cpu128.safetensors"))
    p.add_argument("--export-only", metavar="CKPT", help="only export this training checkpoint")
    p.add_argument("--workers", type=ints(0, 256), default=1)


def run(args) -> int:
    from fsth_core.training import demo_recipe as recipe

    if args.export_only:
        print(f"wrote {recipe.export(args.export_only, args.out)}")
        return 0
    from fsth_core.data.synthetic import write_synthetic_dataset
    from fsth_core.training.meta import train

    work = Path(args.work)
    data = work / "synth128"
    write_synthetic_dataset(data, **recipe.SYNTH)
    ckpt = work / "demo_train.safetensors"
    train(recipe.train_options(str(data), str(ckpt), args.steps, resume=ckpt.is_file(), workers=args.workers))
    print(f"wrote {recipe.export(ckpt, args.out)}")
    return 0
