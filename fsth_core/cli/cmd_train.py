"""``train``: meta-learning on a prepared or synthetic training set (torchrun for several GPUs)."""
from __future__ import annotations

from pathlib import Path

NAME = "train"
HELP = "meta-learn embedder, generator and discriminator on a training set (see `prepare`, `synth`)"


def add_arguments(p) -> None:
    from fsth_core.cli.argtypes import SEED, device, floats, ints
    from fsth_core.models.config import PRESETS
    from fsth_core.options import D_STEPS, LR_D, LR_G, MAX_D_STEPS, PRECISIONS, VARIANTS

    p.add_argument("--data", required=True, metavar="DIR", help="training set folder (from prepare or synth)")
    p.add_argument("--out", required=True, metavar="CKPT.safetensors",
                   help="checkpoint (model) file, and CKPT.train.safetensors beside it (optimizer state); "
                        "an existing one is never replaced unless --resume continues it")
    p.add_argument("--preset", choices=sorted(PRESETS),
                   help="a fresh model's preset (default: tiny); with --init or --resume the file's own model "
                        "trains, and naming another preset is refused")
    p.add_argument("--steps", type=ints(1), default=1000, help="total steps (with --resume: the total to reach)")
    p.add_argument("--batch", type=ints(1, 4096), default=8, help="episodes per step per process")
    p.add_argument("--k", type=ints(1, 256), default=8, help="frames given to the embedder per episode (the paper: 8)")
    p.add_argument("--variant", default="ft", choices=VARIANTS,
                   help="ft: with the embedding-match loss, supports fine-tuning (default); ff: without")
    p.add_argument("--lr-g", type=floats(0, 1, low_open=True), default=LR_G,
                   help=f"learning rate of E and G (the paper: {LR_G:g})")
    p.add_argument("--lr-d", type=floats(0, 1, low_open=True), default=LR_D,
                   help=f"learning rate of D (the paper: {LR_D:g})")
    p.add_argument("--d-steps", type=ints(1, MAX_D_STEPS), default=D_STEPS,
                   help=f"discriminator updates per embedder+generator update (the paper: {D_STEPS}); fine-tuning "
                        "this model later follows it")
    p.add_argument("--pixel-l1", type=floats(0, 1e6), default=0.0,
                   help="weight of an extra pixel L1 term (not in the paper; helps without VGG weights)")
    p.add_argument("--no-content-loss", action="store_true",
                   help="train without the VGG content loss (the paper and small presets refuse to start "
                        "without the VGG files otherwise)")
    p.add_argument("--checkpoint-every", type=ints(1), default=500, metavar="N")
    p.add_argument("--seed", type=SEED, default=0)
    p.add_argument("--device", type=device, default="auto", help="auto, cpu, cuda, cuda:1, mps")
    p.add_argument("--precision", default="auto", choices=PRECISIONS)
    p.add_argument("--workers", type=ints(0, 256), default=None, metavar="N",
                   help="data-loading processes per training process, each prefetching batches (default: "
                        "min(4, CPUs per process - 1); 0: load in the training process)")
    p.add_argument("--held-out", type=ints(0), default=0, metavar="N",
                   help="keep N speakers (all their videos) out of training, for `eval` (a seeded split; with a "
                        "single speaker in the data: N videos, with a warning)")
    p.add_argument("--video-level", type=ints(1, 64), default=2, metavar="N",
                   help="leading folders of a clip's path under prepare's VIDEOS that name its video: clips of one "
                        "video share the discriminator's column W_i (VoxCeleb2 id/video/clip.mp4: 2, the default); "
                        "the first folder is the speaker")
    p.add_argument("--warp-guided", action="store_true", help="generator also sees the source warped to the target")
    p.add_argument("--init", metavar="FILE", help="start from this model instead of a fresh one")
    p.add_argument("--resume", action="store_true",
                   help="continue from --out's last checkpoint (needs --out and its .train.safetensors, and the "
                        "same data)")
    p.add_argument("--log-dir", metavar="DIR", help="TensorBoard logs (needs tensorboard installed)")
    p.add_argument("--no-progress", action="store_true")


def run(args) -> int:
    import logging

    from fsth_core.training.meta import TrainOptions, train

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.resume and not Path(args.out).is_file():
        raise ValueError(f"{args.out}: --resume: no such checkpoint (check --out; without --resume a new run "
                         "starts)")
    opt = TrainOptions(data=args.data, out=args.out, preset=args.preset, steps=args.steps, batch=args.batch,
                       k=args.k, variant=args.variant, lr_g=args.lr_g, lr_d=args.lr_d, d_steps=args.d_steps,
                       pixel_l1=args.pixel_l1,
                       checkpoint_every=args.checkpoint_every, seed=args.seed, device=args.device,
                       precision=args.precision, workers=args.workers, held_out=args.held_out,
                       video_level=args.video_level, warp_guided=args.warp_guided, init=args.init,
                       resume=args.resume, log_dir=args.log_dir,
                       content_loss=not args.no_content_loss)
    train(opt, progress=not args.no_progress)
    return 0
