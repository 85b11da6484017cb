"""Frames per second of each landmark backend, with and without tracking, on a 256-px and a 720p clip.

The clips move a real photo (scikit-image's astronaut, public domain) across the frame.
Each configuration runs once as warm-up, then ``--repeats`` times; the median is reported.

    python bench/bench_landmarks.py [--frames 30] [--repeats 3] [--backends dlib,face_alignment]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fsth_core.landmarks.detect import face_alignment_missing, get_detector
from fsth_core.landmarks.track import extract_landmarks


def make_clip(frames: int, height: int, width: int) -> list[np.ndarray]:
    """The astronaut photo placed in a ``width`` x ``height`` frame, panning and zooming slowly."""
    from skimage import data  # dev dependency (requirements-dev.txt): the test picture

    img = data.astronaut()
    base = 0.9 * min(height, width) / 512
    out = []
    for i in range(frames):
        s = base * (1 + 0.004 * i)
        dx = (width - 512 * s) / 2 + 0.02 * width * np.sin(i / 5)
        dy = (height - 512 * s) / 2 + 0.01 * height * np.cos(i / 7)
        m = np.float32([[s, 0, dx], [0, s, dy]])
        out.append(cv2.warpAffine(img, m, (width, height), borderMode=cv2.BORDER_REFLECT))
    return out


def bench(detector, clip, track: bool, repeats: int) -> float:
    extract_landmarks(clip, backend=detector, track=track, progress=False)  # warm-up
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        extract_landmarks(clip, backend=detector, track=track, progress=False)
        times.append(time.perf_counter() - t)
    return len(clip) / statistics.median(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=30)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--backends", default="dlib,face_alignment")
    ap.add_argument("--device", default="auto")
    args = ap.parse_args()
    clips = {"256x256": make_clip(args.frames, 256, 256), "1280x720": make_clip(args.frames, 720, 1280)}
    print(f"{'backend':<16}{'clip':<11}{'tracking fps':>14}{'per-frame fps':>15}{'speed-up':>10}")
    for name in args.backends.split(","):
        if name == "face_alignment" and face_alignment_missing():
            print(f"{name:<16}skipped: {face_alignment_missing()}")
            continue
        det = get_detector(name, args.device)
        for clip_name, clip in clips.items():
            tracked = bench(det, clip, True, args.repeats)
            per_frame = bench(det, clip, False, args.repeats)
            print(f"{name:<16}{clip_name:<11}{tracked:>14.1f}{per_frame:>15.1f}{tracked / per_frame:>9.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
