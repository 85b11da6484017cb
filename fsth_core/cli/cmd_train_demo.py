"""``train-demo``: rebuild the bundled demo checkpoint from scratch (synthetic data, CPU; two stages)."""
from __future__ import annotations

from pathlib import Path

NAME = "train-demo"
HELP = "make the synthetic data and train/export the bundled demo checkpoint (two stages, resumable)"


def add_arguments(p) -> None:
    from fsth_core.cli.argtypes import ints
    from fsth_core.runtime.paths import PACK_WEIGHTS

    p.add_argument("--work", default="demo_training", help="folder for the data and the training checkpoints")
    p.add_argument("--steps", type=ints(1), default=1500, help="steps of stage 2 (photographic heads)")
    p.add_argument("--stage1", metavar="CKPT", help="use this stage-1 checkpoint instead of training stage 1")
    p.add_argument("--out", default=str(PACK_WEIGHTS / "fsth_demo_cpu128.safetensors"))
    p.add_argument("--export-only", metavar="CKPT", help="only export this training checkpoint")
    p.add_argument("--workers", type=ints(0, 256), default=1)


def run(args) -> int:
    from fsth_core.synthetic.heads import write_synthetic_dataset
    from fsth_core.training import demo_recipe as recipe
    from fsth_core.training.meta import train

    if args.export_only:
        print(f"wrote {recipe.export(args.export_only, args.out, args.stage1 or '')}")
        return 0
    work = Path(args.work)
    stage1 = args.stage1
    if stage1 is None:
        data = work / "synth128"
        write_synthetic_dataset(data, **recipe.SYNTH)
        stage1 = str(work / "demo_stage1.safetensors")
        train(recipe.train_options(str(data), stage1, recipe.STAGE1_STEPS, resume=Path(stage1).is_file(),
                                   workers=args.workers))
    photo = work / "synth128_photo"
    write_synthetic_dataset(photo, **recipe.SYNTH_PHOTO)
    ckpt = work / "demo_train.safetensors"
    train(recipe.photo_options(str(photo), str(ckpt), stage1, args.steps, resume=ckpt.is_file(),
                               workers=args.workers))
    print(f"wrote {recipe.export(ckpt, args.out, stage1)}")
    return 0
