"""``python -m fsth_core render-landmarks L.npz --size 256 --out DIR``: draw landmark images."""
from __future__ import annotations

from pathlib import Path

NAME = "render-landmarks"
HELP = "Draw the landmark images of a .npz landmark file (PNG frames in a folder, or an .mp4)."


def add_arguments(p) -> None:
    p.add_argument("landmarks", help=".npz file written by the 'landmarks' command")
    p.add_argument("--size", type=int, default=256, help="output side in pixels (default 256)")
    p.add_argument("--out", required=True, help="output folder for PNG frames, or a .mp4 file")
    p.add_argument("--frame", action="store_true",
                   help="draw in full-frame coordinates scaled to --size (default: the stable head crop)")
    p.add_argument("--width", type=int, default=None, help="line width in pixels (default: scales with --size)")
    p.add_argument("--fps", type=float, default=None, help="frame rate of an .mp4 output (default: the file's, or 25)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args) -> int:
    import cv2
    import numpy as np
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
    out = Path(args.out)
    bar = tqdm(total=len(pts), disable=args.quiet, desc="render", unit="frame")
    if out.suffix.lower() == ".mp4":
        from fsth_core.media import VideoWriter

        with VideoWriter(out, fps=args.fps or res.fps or 25.0) as writer:
            for p in pts:
                writer.write(draw_landmarks(p, shape, args.width))
                bar.update(1)
    else:
        out.mkdir(parents=True, exist_ok=True)
        for i, p in enumerate(pts):
            img = draw_landmarks(p, shape, args.width)
            if not cv2.imwrite(str(out / f"frame_{i:06d}.png"), np.ascontiguousarray(img[:, :, ::-1])):
                raise ValueError(f"cannot write {out / f'frame_{i:06d}.png'}")
            bar.update(1)
    bar.close()
    print(f"{len(pts)} landmark image(s) -> {out}")
    return 0
