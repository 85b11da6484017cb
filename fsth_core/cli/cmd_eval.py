"""``eval``: the paper's self-reenactment protocol on held-out videos; a table per T and a JSON report."""
from __future__ import annotations

from fsth_core.options import BACKEND_HELP, BACKENDS, MAX_BATCH, MAX_FINETUNE_STEPS, METHODS, PRECISIONS

NAME = "eval"
HELP = "self-reenactment evaluation (L1, PSNR, SSIM, CSIM, AKD, realism, FID/LPIPS) on held-out videos"


def add_arguments(p) -> None:
    from fsth_core.cli.argtypes import SEED, device, ints, word_or_count

    p.add_argument("--model", metavar="M.safetensors", help="model to evaluate (optional for --method warp)")
    p.add_argument("--data", required=True, metavar="DIR",
                   help="training-set folder (from prepare/synth), any folder of videos, or one video")
    p.add_argument("--shots", type=ints(1, 1024), nargs="+", default=[1, 8, 32], metavar="T", help="few-shot T values")
    p.add_argument("--finetune-steps", type=ints(0, MAX_FINETUNE_STEPS), metavar="N",
                   help="fine-tuning steps per video and T (default: grows with T; 0: feed-forward)")
    p.add_argument("--method", default="neural", choices=METHODS,
                   help="neural: the model's generator; warp: training-free mesh warp of the first source")
    p.add_argument("--held-out", type=ints(0), metavar="N",
                   help="training set: evaluate the clips of the N speakers training held out, the same split "
                        "(default: the model's recorded --held-out)")
    p.add_argument("--seed", type=SEED, help="split seed, as given to training (default: the model's, else 0)")
    p.add_argument("--video-level", type=ints(1, 64), metavar="N",
                   help="training set: clip grouping of the split, as given to training (default: the model's, "
                        "else 2)")
    p.add_argument("--videos", type=word_or_count(("all",), 1, "a number of videos"), metavar="N|all",
                   help="at most N videos; 'all' = every video of a training set (not only held-out ones)")
    p.add_argument("--frames", type=ints(1, 100_000), default=16, help="target frames per video (default 16)")
    p.add_argument("--size", type=ints(16, 2048), default=256, help="crop size for --method warp without --model")
    p.add_argument("--out", metavar="REPORT.json", help="write the report as JSON")
    p.add_argument("--backend", default="auto", choices=BACKENDS,
                   help="landmark backend for a plain folder of videos: " + BACKEND_HELP)
    p.add_argument("--device", type=device, default="auto")
    p.add_argument("--precision", default="fp32", choices=PRECISIONS)
    p.add_argument("--batch", type=ints(1, MAX_BATCH), default=8)
    p.add_argument("--quiet", action="store_true")


def run(args) -> int:
    import json

    from fsth_core.evaluation.protocol import EvalOptions, evaluate, format_report
    from fsth_core.io.outpaths import atomic_file, check_file_output

    if args.out:
        check_file_output(args.out, [args.model, args.data])
    videos = args.videos
    opt = EvalOptions(shots=tuple(args.shots), finetune_steps=args.finetune_steps, method=args.method,
                      held_out=args.held_out, seed=args.seed, video_level=args.video_level,
                      all_videos=videos == "all",
                      videos=None if videos in (None, "all") else videos, frames=args.frames, size=args.size,
                      device=args.device, precision=args.precision, batch=args.batch, backend=args.backend)
    result = evaluate(args.model, args.data, opt, progress=not args.quiet)
    print(format_report(result))
    if args.out:
        with atomic_file(args.out, "w") as f:
            json.dump(result.as_report(), f, indent=2)
        print(f"wrote {args.out}")
    return 0
