"""Mouth quality on real talking clips: does every shot of the person make the mouth better?

    python bench/mouth_quality.py [--data ../shared/data/talking] [--shots 1 8 32] [--size 256]
                                  [--model weights/fsth_demo_cpu128.safetensors] [--videos N] [--out-dir DIR]
                                  [--json F]

Self-reenactment as in ``eval`` (``fsth_core.evaluation``): per clip, the sources come from its first part
(T frames spread over the first 32), every later frame is a target: its landmarks drive the mesh warp
(``--method warp``, absolute landmarks), and the generated mouth is compared with the real one in the
mouth's own shape-aligned frame (``fsth_core.evaluation.metrics.mouth``), over the frames whose real mouth
is open.  Printed beside the method:

- ``copy``: the first source frame copied (the mouth as the picture has it);
- ``T=1`` (the base source's warp alone), ``T=8``, ``T=32``: every shot, each region from the nearest;
- with ``--model``: ``neural T=...`` beside them, the (warp-guided) model's frames, feed-forward, at the
  model's crop size (the warp rows then run at that size too);
- ``nearest real``: the real frame of the source part (all 32) whose mouth shape is nearest the target's,
  copied, its mouth in its own shape-aligned frame: what real pixels of the person can give.

The clips are ``../shared/data/talking/`` (see its README: one person, MIT licensed, never committed);
without them the script says so and exits 0.  ``--out-dir`` writes, per clip, a sheet of the mouths
(real | copy | T=1 | T=8 | T=32) at the frame with the widest opening, 3x, for looking at.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import cv2
import numpy as np

from bench._common import add_json_arg, emit
from fsth_core.evaluation.metrics.mouth import MOUTH_METRICS, is_open, mouth_metrics, mouth_patch, mouth_transform
from fsth_core.evaluation.protocol import EvalOptions, Reenactor
from fsth_core.evaluation.videos import open_videos, select_frames
from fsth_core.inference.types import Sources
from fsth_core.models.weights import load_model
from fsth_core.runtime.device import Execution
from fsth_core.warp.shots import distances

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "talking"
POOL = 32


def nearest_real(pool_pts: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Index into the pool of the frame whose mouth is nearest each target's: int [n]."""
    return np.array([int(np.argmin(distances(pool_pts, t, 0.0)["mouth"])) for t in targets])


def _sheet(rows: list[np.ndarray], path: Path) -> None:
    sheet = np.concatenate([np.pad(r, ((2, 2), (2, 2), (0, 0)), constant_values=255) for r in rows], 1)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(cv2.resize(sheet, None, fx=3, fy=3, interpolation=cv2.INTER_NEAREST),
                                        cv2.COLOR_RGB2BGR))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(DEFAULT_DATA), help="folder of talking clips")
    ap.add_argument("--shots", type=int, nargs="+", default=[1, 8, 32])
    ap.add_argument("--size", type=int, default=256, help="crop size")
    ap.add_argument("--videos", type=int, default=None, help="at most N clips")
    ap.add_argument("--model", default=None, help="also the neural method of this model (feed-forward)")
    ap.add_argument("--out-dir", default=None, help="write mouth sheets here")
    add_json_arg(ap)
    args = ap.parse_args()
    if not Path(args.data).is_dir():
        print(f"skipped: no talking clips at {args.data} (see ../shared/data/talking/README.md)")
        return 0
    t0 = time.perf_counter()
    shots = sorted(set(args.shots))
    ex = Execution.resolve("cpu", "fp32")
    model = load_model(args.model) if args.model else None
    size = model.config.image_size if model is not None else args.size
    vs = open_videos(args.data, size, limit=args.videos, use_all=True)  # a training set: every clip
    gen = Reenactor(None, EvalOptions(method="warp", shots=tuple(shots), size=size), ex)
    neural = Reenactor(model, EvalOptions(shots=tuple(shots), finetune_steps=0, precision="fp32"), ex) \
        if model is not None else None
    acc: dict[str, dict[str, list]] = {}
    n_open = 0
    for video in vs.videos():
        after = int(np.count_nonzero(video.usable)) - POOL  # every frame after the pool is a target
        if after < 1:
            continue
        sources, targets = select_frames(video.usable, [*shots, POOL], after)
        pool, srcs = sources[POOL], {t: sources[t] for t in shots}
        tpts = video.points[targets]
        opened = is_open(tpts)
        if not opened.any():
            continue
        targets, tpts = targets[opened], tpts[opened]
        n_open += len(targets)
        frames = dict(zip(*[list(x) for x in (np.concatenate([targets, pool]),
                                               video.frames(np.concatenate([targets, pool])))]))
        real = np.stack([frames[i] for i in targets])
        rows = {"copy": np.repeat(frames[pool[0]][None], len(targets), 0)}
        for t in shots:
            crops = np.stack([frames[i] for i in srcs[t]])
            rows[f"T={t}"] = gen(Sources(crops, video.points[srcs[t]]), tpts)[0]
            if neural is not None:
                rows[f"neural T={t}"] = neural(Sources(crops, video.points[srcs[t]]), tpts)[0]
        for name, fake in rows.items():
            for m, v in mouth_metrics(real, fake, tpts).items():
                acc.setdefault(name, {}).setdefault(m, []).extend(v.tolist())
        near = pool[nearest_real(video.points[pool], tpts)]
        for i, j in enumerate(near):  # the real mouth, each in its own shape-aligned frame
            a = mouth_patch(real[i], mouth_transform(tpts[i]))
            b = mouth_patch(frames[j], mouth_transform(video.points[j]))
            for m, v in mouth_metrics(a[None], b[None], _patch_points(tpts[i])[None]).items():
                acc.setdefault("nearest real", {}).setdefault(m, []).extend(v.tolist())
        if args.out_dir:
            w = int(np.argmax([np.hypot(*(p[66] - p[62])) for p in tpts]))
            t = mouth_transform(tpts[w])
            _sheet([mouth_patch(real[w], t)] + [mouth_patch(rows[k][w], t) for k in rows],
                   Path(args.out_dir) / f"{video.id}_mouth.png")
    table = []
    for name, ms in acc.items():
        row = {"method": name, "frames": len(ms["mouth_l1"])}
        for m in MOUTH_METRICS:
            v = np.asarray(ms[m], np.float64)
            row[m] = float(np.nanmean(v)) if np.isfinite(v).any() else float("nan")
        table.append(row)
    emit(table, ["method", "frames", *MOUTH_METRICS], args,
         meta={"data": str(args.data), "size": size, "model": args.model, "open_targets": n_open,
               "seconds": round(time.perf_counter() - t0, 1)})
    return 0


def _patch_points(points: np.ndarray) -> np.ndarray:
    """Landmarks [68,2] moved into their own mouth patch (for the masks of a patch compared as a frame)."""
    t = mouth_transform(points)
    return (points @ t[:, :2].T + t[:, 2]).astype(np.float32)


if __name__ == "__main__":
    sys.exit(main())
