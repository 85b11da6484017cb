"""Does few-shot fine-tuning help, and does the realism score recognize the person?

Two kinds of held-out people:
- ``--data DIR``: held-out videos of a training set: T frames (T in --shots) give the identity; the
  last --eval-frames frames are generated from their landmarks.
- ``--photos``: public-domain portraits (bench/_portraits.py).  The photo's head crop is the
  target; the T sources are copies of it re-warped from other expressions and poses (a seed apart
  from any the fine-tuning augmentation draws), so the target is never seen.

Prints L1 (0..1) over the whole frame and inside the paint region (mouth, eyes, where the warp
fails: where a warp-guided generator acts), for copying the first source, the mesh warp alone,
the feed-forward result and after fine-tuning (each --augment value); with --data also the
fraction of (own frame, other person's frame) pairs the fine-tuned discriminator ranks right.

    python bench/finetune_check.py --model M.safetensors --data DIR --held-out 20 --videos 5 --shots 1 8
    python bench/finetune_check.py --model M.safetensors --photos --shots 1 8 --augment 0 16
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._portraits import portraits
from fsth_core.data.groups import split_videos
from fsth_core.data.store import TrainingSet
from fsth_core.inference.finetune import FinetuneOptions, default_steps, finetune
from fsth_core.inference.finetune_pairs import perturb
from fsth_core.inference.pipeline import FrameGenerator, compute_identity, prepare_sources, realism_scores
from fsth_core.inference.types import Sources
from fsth_core.landmarks.track import extract_landmarks
from fsth_core.models.guidance import paint_region
from fsth_core.models.weights import load_model
from fsth_core.runtime.device import Execution
from fsth_core.warp import MeshWarper


def errors(frames, real, regions) -> tuple[float, float]:
    d = np.abs(frames.astype(np.float32) - real.astype(np.float32)).mean(-1) / 255
    return float(d.mean()), float((d * regions).sum() / max(regions.sum(), 1e-6))


def people_from_data(args, size):
    ts = TrainingSet(args.data)
    if ts.image_size != size:
        raise SystemExit("use a training set at the model's resolution")
    n_eval = args.eval_frames
    for v in split_videos(ts.video_ids, args.held_out, args.seed).held_clips[:args.videos]:
        n = ts.num_frames(v)
        tgt = np.arange(n - n_eval, n)
        yield f"video {v}", (lambda t, v=v: Sources(ts.frames(v, np.arange(t)), ts.landmarks(v)[:t])), \
            ts.frames(v, tgt), ts.landmarks(v)[tgt]


def people_from_photos(args, size):
    for name, img in portraits().items():
        pts = extract_landmarks([img], progress=False, name=name).points[0]
        src = prepare_sources([img], [pts], size)
        crop, p = src.crops[0], src.points[0]
        rng = np.random.default_rng([args.seed, 0xE7A1])  # never the augmentation's stream
        moved = [perturb(p, size, rng) for _ in range(max(args.shots))]
        warper = MeshWarper(crop, p)
        pseudo = np.stack([warper.warp(m)[0] for m in moved])
        targets = np.stack(moved)
        yield name, (lambda t, a=pseudo, b=targets: Sources(a[:t], b[:t])), crop[None], p[None]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--data")
    ap.add_argument("--photos", action="store_true")
    ap.add_argument("--held-out", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--videos", type=int, default=5)
    ap.add_argument("--shots", type=int, nargs="+", default=[1, 8])
    ap.add_argument("--eval-frames", type=int, default=8)
    ap.add_argument("--steps", type=int, default=None, help="fine-tuning steps (default: grows with T)")
    ap.add_argument("--lr", type=float, nargs=2, default=(5e-5, 2e-4))
    ap.add_argument("--pixel-l1", type=float, default=20.0)
    ap.add_argument("--augment", type=int, nargs="+", default=[0], help="augmented pairs per source to compare")
    args = ap.parse_args()
    ex = Execution.resolve("cpu", "fp32")
    model = load_model(args.model)
    size = model.config.image_size
    people = list(people_from_photos(args, size) if args.photos else people_from_data(args, size))
    print(f"{args.model}: {len(people)} held-out people ({'photos' if args.photos else args.data})")
    head = f"{'T':>3} {'steps':>5} {'copy':>13} {'warp':>13} {'feed-forward':>13} " + \
        " ".join(f"{'tuned aug=' + str(a):>13}" for a in args.augment) + f" {'AUC':>6} {'s/person':>8}"
    print(head + "\n" + " " * 10 + "(each: L1 whole / L1 in the paint region)")
    for t in args.shots:
        steps = args.steps if args.steps is not None else default_steps(t)
        cols = {k: [] for k in ["copy", "warp", "ff"] + [f"a{a}" for a in args.augment]}
        auc, secs = [], []
        for _, sources_of, real, pts in people:
            t0 = time.time()
            src = sources_of(t)
            ident = compute_identity(model, src, ex)
            warper = MeshWarper(ident.source, ident.source_points)
            warps = [warper.warp(p) for p in pts]
            regions = np.stack([paint_region(p, v) for p, (_, v) in zip(pts, warps)])
            cols["copy"].append(errors(np.repeat(src.crops[:1], len(real), 0), real, regions))
            cols["warp"].append(errors(np.stack([w for w, _ in warps]), real, regions))
            cols["ff"].append(errors(np.stack(list(FrameGenerator(model, ident, ex).stream(pts))), real, regions))
            for a in args.augment:
                res = finetune(model, ident, src, FinetuneOptions(steps=steps, lr_g=args.lr[0], lr_d=args.lr[1],
                                                                  pixel_l1=args.pixel_l1, augment=a), ex)
                gen = np.stack(list(FrameGenerator(res.model, res.identity, ex).stream(pts)))
                cols[f"a{a}"].append(errors(gen, real, regions))
            if not args.photos:
                own = realism_scores(res.model, res.identity, real, pts, ex)
                others = np.concatenate([realism_scores(res.model, res.identity, r, p, ex)
                                         for _, _, r, p in people if r is not real])
                auc.append(float((own[:, None] > others[None, :]).mean()))
            secs.append(time.time() - t0)
        cells = [f"{np.mean([c[0] for c in v]):.4f}/{np.mean([c[1] for c in v]):.3f}" for v in cols.values()]
        print(f"{t:>3} {steps:>5} " + " ".join(f"{c:>13}" for c in cells)
              + f" {np.mean(auc) if auc else float('nan'):>6.3f} {np.mean(secs):>8.1f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
