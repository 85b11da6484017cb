"""``prepare``: turn a tree of videos into a training set (head crops + landmarks)."""
from __future__ import annotations

NAME = "prepare"
HELP = "turn a tree of videos (VoxCeleb2 layout or any folder) into a training set"


def add_arguments(p) -> None:
    from fsth_core.cli.argtypes import ints
    from fsth_core.models.config import PRESETS
    from fsth_core.options import BACKEND_HELP, BACKENDS

    p.add_argument("videos", metavar="VIDEOS", help="folder of videos (searched recursively)")
    p.add_argument("out", metavar="OUT", help="training set folder (resumes if it exists)")
    p.add_argument("--preset", default="paper", choices=sorted(PRESETS), help="crop size = the preset's resolution")
    p.add_argument("--size", type=ints(16, 2048), help="crop size, 16-2048 (overrides --preset)")
    p.add_argument("--max-frames", type=ints(0), default=0, help="frames kept per video (0: all)")
    p.add_argument("--frame-step", type=ints(1), default=1, help="keep every n-th frame")
    p.add_argument("--backend", default="dlib", choices=BACKENDS,
                   help="landmark detector (default dlib): " + BACKEND_HELP)
    p.add_argument("--workers", type=ints(0, 256), default=2, help="worker processes (0 or 1: none)")
    p.add_argument("--quiet", action="store_true")


def run(args) -> int:
    from fsth_core.data.prepare import PrepareOptions, prepare
    from fsth_core.models.config import preset

    opt = PrepareOptions(size=args.size if args.size is not None else preset(args.preset).image_size,
                         max_frames=args.max_frames, frame_step=args.frame_step, backend=args.backend,
                         workers=args.workers)
    summary = prepare(args.videos, args.out, opt, progress=not args.quiet)
    print("\n".join(summary.lines()))
    return 0 if summary.written or summary.already_done else 1
