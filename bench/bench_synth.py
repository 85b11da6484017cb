"""Synthetic renderer and episode loading speed on one core.

    python bench/bench_synth.py [--repeats 5]

Prints frames/s of render_frame and episodes/s of EpisodeDataset (K = 8) per image size
(median over repeats after a warm-up).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from fsth_core.data.episodes import EpisodeDataset
from fsth_core.synthetic.heads import (
    identity_landmarks_sequence,
    render_frame,
    synthetic_identity,
    write_synthetic_dataset,
)


def _median_rate(fn, count: int, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return count / statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    cv2.setNumThreads(1)
    torch.set_num_threads(1)
    print(f"{'size':>5} {'render frames/s':>16} {'episodes/s (K=8)':>17} {'MB per 1000 frames':>19}")
    for size in (64, 128, 256):
        idns = [synthetic_identity(0, i) for i in range(4)]
        seqs = [identity_landmarks_sequence(d, 25, np.random.default_rng(i), size) for i, d in enumerate(idns)]

        def render(idns=idns, seqs=seqs, size=size):
            for d, pts in zip(idns, seqs):
                for p in pts:
                    render_frame(d, p, size)

        fps = _median_rate(render, 100, args.repeats)
        with tempfile.TemporaryDirectory() as tmp:
            write_synthetic_dataset(tmp, identities=8, frames=50, size=size, seed=0, progress=False)
            mb = sum(f.stat().st_size for f in Path(tmp).rglob("frames.bin")) / 400 / 1e3
            ds = EpisodeDataset(tmp, k=8)
            eps = _median_rate(lambda ds=ds: [ds[i] for i in range(len(ds))], len(ds), args.repeats)
        print(f"{size:>5} {fps:>16.0f} {eps:>17.0f} {mb:>19.1f}")


if __name__ == "__main__":
    main()
