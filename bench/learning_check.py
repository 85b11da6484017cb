"""Does meta-learning learn?  Reconstruction error on held-out synthetic identities.

Trains (unless --model exists) and then, for each held-out video and T in --shots, builds the
identity from its first T frames and generates 8 other frames from their landmarks.  Prints the
L1 error (0..1 units, median over videos) of: the trained model with the video's own identity,
the same model given another identity's embedding, the untrained model, and the mesh warp alone.

    python bench/learning_check.py --data DIR --model M.safetensors [--train-steps N] [--warp-guided]
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import cv2

from fsth_core.data.groups import split_videos
from fsth_core.data.store import TrainingSet
from fsth_core.inference.pipeline import FrameGenerator, compute_identity
from fsth_core.inference.types import Sources
from fsth_core.models.model import build_model
from fsth_core.models.weights import load_model
from fsth_core.runtime.device import Execution
from fsth_core.training.meta import TrainOptions, train
from fsth_core.warp import MeshWarper


def held_out_videos(ts: TrainingSet, n: int, seed: int) -> list[int]:
    """The clips of the speakers training held out (train --held-out N --seed S)."""
    return split_videos(ts.video_ids, n, seed).held_clips


def l1_for(model, identity, ts, video, t, n_eval, ex) -> float:
    idx = np.arange(t, min(t + n_eval, ts.num_frames(video)))
    real = ts.frames(video, idx)
    pts = ts.landmarks(video)[idx] * (model.config.image_size / ts.image_size)
    gen = np.stack(list(FrameGenerator(model, identity, ex, batch=8).stream(pts)))
    return float(np.abs(gen.astype(np.float32) - real.astype(np.float32)).mean() / 255)


def sources_of(ts, video, t, size) -> Sources:
    frames = ts.frames(video, np.arange(t))
    if size != ts.image_size:
        frames = np.stack([cv2.resize(f, (size, size), interpolation=cv2.INTER_AREA) for f in frames])
    return Sources(frames, ts.landmarks(video)[:t] * (size / ts.image_size))


def warp_l1(ts, video, t, n_eval) -> float:
    w = MeshWarper(ts.frames(video, [0])[0], ts.landmarks(video)[0])
    idx = np.arange(t, min(t + n_eval, ts.num_frames(video)))
    real = ts.frames(video, idx)
    gen = np.stack([w.warp(p)[0] for p in ts.landmarks(video)[idx]])
    return float(np.abs(gen.astype(np.float32) - real.astype(np.float32)).mean() / 255)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--preset", default="tiny")
    ap.add_argument("--train-steps", type=int, default=0, help="train first (0: use --model as is)")
    ap.add_argument("--warp-guided", action="store_true")
    ap.add_argument("--held-out", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--shots", type=int, nargs="+", default=[1, 8])
    ap.add_argument("--eval-frames", type=int, default=8)
    args = ap.parse_args()
    ex = Execution.resolve("cpu", "fp32")
    if args.train_steps:
        train(TrainOptions(data=args.data, out=args.model, preset=args.preset, steps=args.train_steps, batch=8,
                           k=4, lr_g=2e-4, lr_d=4e-4, pixel_l1=20.0, checkpoint_every=200, seed=args.seed,
                           held_out=args.held_out, warp_guided=args.warp_guided, workers=1, resume=True))
    model = load_model(args.model).eval()
    untrained = build_model(model.config, seed=12345).eval()
    ts = TrainingSet(args.data)
    videos = held_out_videos(ts, args.held_out, args.seed)
    rows = []
    for t in args.shots:
        own, other, fresh, warp = [], [], [], []
        idents = {}
        for v in videos:
            idents[v] = compute_identity(model, sources_of(ts, v, t, model.config.image_size), ex)
        for j, v in enumerate(videos):
            swap = videos[(j + 1) % len(videos)]
            own.append(l1_for(model, idents[v], ts, v, t, args.eval_frames, ex))
            # another identity's embedding (and ψ), but this video's own warp guide
            alien = dataclasses.replace(idents[v], embedding=idents[swap].embedding, psi=idents[swap].psi)
            other.append(l1_for(model, alien, ts, v, t, args.eval_frames, ex))
            fi = compute_identity(untrained, sources_of(ts, v, t, model.config.image_size), ex)
            fresh.append(l1_for(untrained, fi, ts, v, t, args.eval_frames, ex))
            warp.append(warp_l1(ts, v, t, args.eval_frames))
        rows.append((t, np.median(own), np.median(other), np.median(fresh), np.median(warp)))
    print(f"model {args.model} ({model.config.name}, warp_guided={model.config.warp_guided}), "
          f"{len(videos)} held-out videos, L1 in 0..1 (median over videos)")
    print(f"{'T':>3} {'own identity':>13} {'other identity':>15} {'untrained':>10} {'mesh warp':>10}")
    for t, a, b, c, d in rows:
        print(f"{t:>3} {a:>13.4f} {b:>15.4f} {c:>10.4f} {d:>10.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
