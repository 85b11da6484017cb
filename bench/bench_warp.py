"""Speed of the mesh-warp animator on one CPU thread (cv2 and torch limited to 1 thread).

    python bench/bench_warp.py [--sizes 128 256 512] [--frames 60] [--repeats 5]

Source: skimage's astronaut photo cropped around the face, landmarks from dlib's 68-point model;
driving sequence: mouth opening/closing, a blink and head motion. Prints median frames/s per size.
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import cv2
import numpy as np

from fsth_core.landmarks.geometry import close_eyes, open_mouth
from fsth_core.warp import MeshWarper


def astronaut_face() -> tuple[np.ndarray, np.ndarray]:
    """(uint8 [512,512,3] RGB photo, float32 [68,2] landmarks) via dlib."""
    import dlib  # with skimage below: this benchmark's own test picture only
    import skimage.data  # dev dependency (requirements-dev.txt): imported where a test picture is needed
    root = importlib.util.find_spec("face_recognition_models").submodule_search_locations[0]
    image = skimage.data.astronaut()
    rect = max(dlib.get_frontal_face_detector()(image, 1), key=lambda r: r.area())
    shape = dlib.shape_predictor(root + "/models/shape_predictor_68_face_landmarks.dat")(image, rect)
    return image, np.array([[p.x, p.y] for p in shape.parts()], np.float32)


def crop(image: np.ndarray, pts: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    centre = (pts.min(0) + pts.max(0)) / 2
    scale = size / (2.0 * float((pts.max(0) - pts.min(0)).max()))
    m = np.float32([[scale, 0, size / 2 - centre[0] * scale], [0, scale, size / 2 - centre[1] * scale]])
    out = cv2.warpAffine(image, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return out, (pts @ m[:, :2].T + m[:, 2]).astype(np.float32)


def driving(pts: np.ndarray, frames: int) -> list[np.ndarray]:
    """Talking-like sequence: mouth 0..0.3 open, a blink every 20 frames, small head sway."""
    out, c = [], pts.mean(0)
    for i in range(frames):
        t = i / frames * 2 * np.pi
        p = open_mouth(pts, 0.15 * (1 - np.cos(3 * t)))
        p = close_eyes(p, max(0.0, 1 - abs(i % 20 - 10) / 3))
        th = 0.08 * np.sin(t)
        rot = np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]], np.float32)
        out.append(((p - c) @ rot.T + c + np.float32([4 * np.sin(t), 2 * np.cos(t)])).astype(np.float32))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[128, 256, 512])
    ap.add_argument("--frames", type=int, default=60)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    cv2.setNumThreads(1)
    try:
        import torch  # not needed to time the warp itself
        torch.set_num_threads(1)
    except ImportError:
        pass
    image, pts = astronaut_face()
    print(f"{'size':>6} {'frames/s':>10} {'ms/frame':>10} {'setup ms':>10}")
    for size in args.sizes:
        src, sp = crop(image, pts, size)
        t0 = time.perf_counter()
        warper = MeshWarper(src, sp)
        setup = (time.perf_counter() - t0) * 1000
        seq = driving(sp, args.frames)
        for p in seq[:10]:  # warm-up
            warper.warp(p)
        rates = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            for p in seq:
                warper.warp(p)
            rates.append(len(seq) / (time.perf_counter() - t0))
        fps = statistics.median(rates)
        print(f"{size:>6} {fps:>10.1f} {1000 / fps:>10.2f} {setup:>10.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
