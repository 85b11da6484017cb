"""Does few-shot fine-tuning help, and does the realism score recognize the person?

On held-out videos of a training set: T frames (T in --shots) give the identity; the same
--eval-frames later frames are generated from their landmarks.  Prints the L1 error (0..1) of
the feed-forward result and after fine-tuning, and the fraction of (own frame, other person's
frame) pairs that the fine-tuned discriminator ranks the right way round (realism AUC).

    python bench/finetune_check.py --data DIR --model M.safetensors --held-out 20 --videos 5
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fsth_core.data.store import TrainingSet  # noqa: E402
from fsth_core.device import Execution  # noqa: E402
from fsth_core.finetune import FinetuneOptions, default_steps, finetune  # noqa: E402
from fsth_core.pipeline import FrameGenerator, Sources, compute_identity, realism_scores  # noqa: E402
from fsth_core.weights import load_model  # noqa: E402


def l1(model, ident, real, pts, ex) -> float:
    gen = np.stack(list(FrameGenerator(model, ident, ex).stream(pts)))
    return float(np.abs(gen.astype(np.float32) - real.astype(np.float32)).mean() / 255)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--held-out", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--videos", type=int, default=5)
    ap.add_argument("--shots", type=int, nargs="+", default=[1, 8, 32])
    ap.add_argument("--eval-frames", type=int, default=8)
    ap.add_argument("--steps", type=int, default=None, help="fine-tuning steps (default: grows with T)")
    ap.add_argument("--lr", type=float, nargs=2, default=(2e-4, 4e-4))
    ap.add_argument("--pixel-l1", type=float, default=20.0)
    args = ap.parse_args()
    ex = Execution.resolve("cpu", "fp32")
    model = load_model(args.model)
    ts = TrainingSet(args.data)
    videos = ts.split(args.held_out, seed=args.seed)[1][:args.videos]
    n = ts.num_frames(videos[0])
    tgt = np.arange(n - args.eval_frames, n)
    scale = model.config.image_size / ts.image_size
    if scale != 1:
        raise SystemExit("use a training set at the model's resolution")
    real = {v: ts.frames(v, tgt) for v in videos}
    pts = {v: ts.landmarks(v)[tgt] for v in videos}
    print(f"{args.model}: {len(videos)} held-out videos of {args.data}, targets = last {args.eval_frames} frames")
    print(f"{'T':>3} {'steps':>6} {'L1 feed-forward':>16} {'L1 fine-tuned':>14} {'realism AUC':>12} {'s/video':>8}")
    for t in args.shots:
        ff, ft, auc, secs = [], [], [], []
        steps = args.steps if args.steps is not None else default_steps(t)
        for v in videos:
            t0 = time.time()
            src = Sources(ts.frames(v, np.arange(t)), ts.landmarks(v)[:t])
            ident = compute_identity(model, src, ex)
            ff.append(l1(model, ident, real[v], pts[v], ex))
            res = finetune(model, ident, src, FinetuneOptions(steps=steps, lr_g=args.lr[0], lr_d=args.lr[1],
                                                              pixel_l1=args.pixel_l1), ex)
            ft.append(l1(res.model, res.identity, real[v], pts[v], ex))
            own = realism_scores(res.model, res.identity, real[v], pts[v], ex)
            others = np.concatenate([realism_scores(res.model, res.identity, real[o], pts[o], ex)
                                     for o in videos if o != v])
            auc.append(float((own[:, None] > others[None, :]).mean()))
            secs.append(time.time() - t0)
        print(f"{t:>3} {steps:>6} {np.mean(ff):>16.4f} {np.mean(ft):>14.4f} {np.mean(auc):>12.3f} "
              f"{np.mean(secs):>8.1f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
