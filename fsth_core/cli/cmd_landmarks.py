"""``python -m fsth_core landmarks INPUT --out L.npz``: 68-point landmarks of an image, folder or video."""
from __future__ import annotations

from pathlib import Path

NAME = "landmarks"
HELP = "Detect 68-point face landmarks in an image, a folder of frames or a video; write them to a .npz file."


def add_arguments(p) -> None:
    from fsth_core.cli.argtypes import FPS, device, face_box, face_rule, floats
    from fsth_core.options import BACKEND_HELP, BACKENDS, FACE_BOX_HELP

    p.add_argument("input", help="an image, a folder of images or a video file")
    p.add_argument("--out", help="output .npz (default: INPUT's name + .landmarks.npz, next to it)")
    p.add_argument("--backend", default="auto", choices=BACKENDS,
                   help="landmark detector: " + BACKEND_HELP)
    p.add_argument("--device", type=device, default="auto",
                   help="device of a landmark detector that runs on one: auto, cpu, cuda, mps")
    p.add_argument("--face", type=face_rule, default="largest",
                   help="which face: 'largest' or N, the N-th from the left (0-based)")
    p.add_argument("--face-box", type=face_box, metavar="X,Y,W,H",
                   help="the face's box: X,Y its top-left corner, W,H its size, in pixels of the picture (of a "
                        "video's first frame, where it seeds the tracker), " + FACE_BOX_HELP)
    p.add_argument("--smoothing", type=floats(0, 1), default=0.0,
                   help="temporal smoothing strength 0 (off) .. 1")
    p.add_argument("--no-track", action="store_true", help="detect in every frame instead of tracking")
    p.add_argument("--fps", type=FPS, default=None,
                   help="frame rate of a folder of frames; a video is resampled to it by its timestamps "
                        "(default: the video's average rate)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args) -> int:
    from fsth_core.io.media import media_kind
    from fsth_core.io.outpaths import check_file_output
    from fsth_core.landmarks.track import extract_landmarks_from_path

    src = Path(args.input)
    media_kind(src)  # a missing or unknown input fails before anything else
    out = Path(args.out) if args.out else src.parent / (src.stem + ".landmarks.npz")
    if out.suffix != ".npz":
        raise ValueError(f"{out}: --out must end in .npz")
    check_file_output(out, [src])
    kwargs = dict(backend=args.backend, device=args.device, face=args.face, smoothing=args.smoothing,
                  track=not args.no_track, progress=not args.quiet, face_box=args.face_box)
    if args.fps:
        kwargs["fps"] = kwargs["rate"] = args.fps
    res = extract_landmarks_from_path(src, **kwargs)
    out.parent.mkdir(parents=True, exist_ok=True)
    res.save(out)
    n, missing = len(res), int(res.interpolated.sum())
    extra = f", {missing} without a face (interpolated)" if missing else ""
    print(f"{n} frame(s), backend {res.backend}{extra} -> {out}")
    return 0
