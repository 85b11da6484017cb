"""``python -m fsth_core render-landmarks L.npz --size 256 --out DIR``: draw landmark images."""
from __future__ import annotations

from pathlib import Path

NAME = "render-landmarks"
HELP = "Draw the landmark images of a .npz landmark file (PNG frames in a folder, or an .mp4)."


def add_arguments(p) -> None:
    from fsth_core.cli.argtypes import FPS, ints

    p.add_argument("landmarks", help=".npz file written by the 'landmarks' command")
    p.add_argument("--size", type=ints(8, 8192), default=256, help="output side in pixels (default 256)")
    p.add_argument("--out", required=True,
                   help="a new or empty folder for PNG frames, or a video file (.mp4, .mov, .mkv, .webm, .gif)")
    p.add_argument("--frame", action="store_true",
                   help="draw in full-frame coordinates scaled to --size (default: the stable head crop)")
    p.add_argument("--width", type=ints(1, 64), default=None, help="line width in pixels (default: scales with --size)")
    p.add_argument("--fps", type=FPS, default=None, help="frame rate of an .mp4 output (default: the file's, or 25)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args) -> int:
    from tqdm import tqdm

    from fsth_core.landmarks.crop import head_crop_box
    from fsth_core.landmarks.detect import LandmarkResult
    from fsth_core.landmarks.render import draw_landmarks

    if args.size < 8:
        raise ValueError(f"--size must be at least 8, got {args.size}")
    res = LandmarkResult.load(args.landmarks)
    pts = res.points
    if args.frame:
        h, w = res.image_size if all(res.image_size) else (0, 0)
        if not h:
            hi = pts.reshape(-1, 2).max(0)
            w, h = float(hi[0]) + 1, float(hi[1]) + 1
        s = args.size / max(h, w)
        shape = (max(1, round(h * s)), max(1, round(w * s)))
        pts = (pts + 0.5) * s - 0.5
    else:
        crop = head_crop_box(pts, res.image_size)
        pts = crop.points_to_crop(pts, args.size)
        shape = (args.size, args.size)
    bar = tqdm(total=len(pts), disable=args.quiet, desc="render", unit="frame")
    try:
        with _sink(Path(args.out), Path(args.landmarks), args.fps or res.fps or 25.0) as sink:
            for p in pts:
                sink.write(draw_landmarks(p, shape, args.width))
                bar.update(1)
    finally:
        bar.close()
    print(f"{len(pts)} landmark image(s) -> {args.out}")
    return 0


def _sink(out: Path, landmarks: Path, fps: float):
    """A video writer for a video extension, else PNG frames frame_NNNNNN.png in a new or empty folder."""
    from fsth_core.io.media import VIDEO_EXTS, VideoWriter
    from fsth_core.io.outpaths import VIDEO_OUT_EXTS, OutputTarget, check_file_output, check_output
    from fsth_core.io.sinks import PngSequence

    if out.suffix.lower() in VIDEO_EXTS and out.suffix.lower() not in VIDEO_OUT_EXTS:
        raise ValueError(f"{out}: cannot write {out.suffix} videos; use {', '.join(VIDEO_OUT_EXTS)} or a folder")
    if out.suffix.lower() in VIDEO_OUT_EXTS:
        check_file_output(out, [landmarks])
        return VideoWriter(out, fps=fps)
    target = OutputTarget("folder", out, out, "frame_%06d.png")
    check_output(target, [landmarks])
    return PngSequence(target)
