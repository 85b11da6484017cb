"""How the embedder and the discriminator pool (ModelConfig.embed_pooling, dis_pooling): the paper's global
sum pooling then ReLU against the alternatives, trained side by side on the same data, same seed and recipe.

    python bench/bench_pooling.py [--kinds max/relu_sum max/sum_relu sum_relu/sum_relu] [--lr 2e-4 4e-4]
        [--steps 800] [--eval-at 100 200 400 800] [--identities 60] [--held-out 10] [--preset tiny]
        [--threads N] [--json out.json]

A kind is EMBED/DIS: ``max/relu_sum`` is the pack's models before issue 22, ``sum_relu/sum_relu`` the paper,
``max/sum_relu`` the default now.

Data: a synthetic training set (half of it photographic, fsth_core.synthetic.heads) in a temporary folder,
``--held-out`` identities kept out of training.  Each pooling kind trains from the same initial weights
(a model of that kind built with ``--seed``) with the demo's recipe (batch 8, K = 4, ``--lr`` 2e-4 / 4e-4
(the paper's: 5e-5 2e-4), pixel L1 20, FT: with the embedding-match loss that collapsed the embedding once,
see docs/training.md).
At each ``--eval-at`` step, on the held-out identities (ê from their first 4 frames):

- ``e_norm``: mean ‖ê‖;
- ``dead``: the share of ê's components that are the same for every identity (ReLU zeros included): a
  component that carries nothing about the person;
- ``spread``: mean distance between two identities' ê over the mean ‖ê‖ (0: every person alike);
- ``own_l1`` / ``other_l1``: reconstruction L1 (0..1) of 8 later frames with the video's own identity /
  with another identity's (the gap: how much the identity matters to the generator).
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import numpy as np
import torch

from bench._common import add_json_arg, emit
from fsth_core.data.groups import split_videos
from fsth_core.data.store import TrainingSet
from fsth_core.inference.pipeline import FrameGenerator, compute_identity
from fsth_core.inference.types import Sources
from fsth_core.models.config import DIS_POOLINGS, EMBED_POOLINGS, preset
from fsth_core.models.model import build_model
from fsth_core.models.weights import load_model, save_model
from fsth_core.runtime.device import Execution
from fsth_core.synthetic.heads import write_synthetic_dataset
from fsth_core.training.meta import TrainOptions, train

SHOTS, EVAL_FRAMES = 4, 8


def evaluate(model, ts: TrainingSet, videos: list[int], ex: Execution) -> dict:
    model = model.eval()
    size = model.config.image_size
    idents = [compute_identity(model, Sources(ts.frames(v, np.arange(SHOTS)), ts.landmarks(v)[:SHOTS]), ex)
              for v in videos]
    e = torch.stack([i.embedding.float() for i in idents])  # [N, D]
    norm = e.norm(dim=1).mean().item()
    dead = float((e.std(dim=0) <= 1e-6 * max(norm, 1e-12)).float().mean())
    spread = torch.pdist(e).mean().item() / max(norm, 1e-12)
    own, other = [], []
    for j, v in enumerate(videos):
        idx = np.arange(SHOTS, min(SHOTS + EVAL_FRAMES, ts.num_frames(v)))
        real = ts.frames(v, idx).astype(np.float32)
        pts = ts.landmarks(v)[idx] * (size / ts.image_size)
        alien = dataclasses.replace(idents[j], embedding=idents[(j + 1) % len(videos)].embedding,
                                    psi=idents[(j + 1) % len(videos)].psi)
        for ident, acc in ((idents[j], own), (alien, other)):
            gen = np.stack(list(FrameGenerator(model, ident, ex, batch=8).stream(pts))).astype(np.float32)
            acc.append(float(np.abs(gen - real).mean() / 255))
    return {"e_norm": norm, "dead": dead, "spread": spread, "own_l1": float(np.median(own)),
            "other_l1": float(np.median(other))}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=800)
    ap.add_argument("--eval-at", type=int, nargs="+", default=[100, 200, 400, 800])
    ap.add_argument("--identities", type=int, default=60)
    ap.add_argument("--frames", type=int, default=16)
    ap.add_argument("--held-out", type=int, default=10)
    ap.add_argument("--preset", default="tiny")
    ap.add_argument("--kinds", nargs="+", default=["max/relu_sum", "max/sum_relu", "sum_relu/sum_relu"],
                    help="EMBED/DIS pooling pairs")
    ap.add_argument("--lr", type=float, nargs=2, default=[2e-4, 4e-4], metavar=("LR_G", "LR_D"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=None,
                    help="torch threads (on a CPU shared with other jobs, 1 avoids OpenMP's spinning)")
    add_json_arg(ap)
    args = ap.parse_args()
    kinds = [tuple(k.split("/")) for k in args.kinds]
    bad = [k for k in kinds if len(k) != 2 or k[0] not in EMBED_POOLINGS or k[1] not in DIS_POOLINGS]
    if bad:
        ap.error(f"a kind is EMBED/DIS with EMBED in {EMBED_POOLINGS} and DIS in {DIS_POOLINGS}, got {bad[0]}")
    if args.threads:
        torch.set_num_threads(args.threads)
    ex = Execution.resolve(args.device, "fp32")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        cfg = preset(args.preset)
        data = write_synthetic_dataset(tmp / "data", args.identities, args.frames, cfg.image_size, seed=7,
                                       progress=False, photographic=0.5)
        ts = TrainingSet(data)
        held = split_videos(ts.video_ids, args.held_out, args.seed).held_clips
        for embed, dis in kinds:
            pooling = f"{embed}/{dis}"
            config = dataclasses.replace(cfg, embed_pooling=embed, dis_pooling=dis)
            init = save_model(tmp / f"init_{embed}_{dis}.safetensors", build_model(config, seed=args.seed))
            out = tmp / f"{embed}_{dis}.safetensors"
            row = {"pooling": pooling, "step": 0, **evaluate(load_model(init), ts, held, ex)}
            rows.append(row)
            print(row, flush=True)
            for i, step in enumerate(s for s in sorted(args.eval_at) if s <= args.steps):
                opt = TrainOptions(data=str(data), out=str(out), steps=step, batch=8, k=4,
                                   lr_g=args.lr[0], lr_d=args.lr[1], pixel_l1=20.0, held_out=args.held_out,
                                   seed=args.seed,
                                   device=args.device, precision="fp32", workers=0, checkpoint_every=10 ** 9,
                                   init=str(init), resume=i > 0, content_loss=False)
                model = train(opt, progress=False)
                row = {"pooling": pooling, "step": step, **evaluate(model, ts, held, ex)}
                rows.append(row)
                print(row, flush=True)
    emit(rows, ["pooling", "step", "e_norm", "dead", "spread", "own_l1", "other_l1"], args,
         meta={"preset": args.preset, "identities": args.identities, "held_out": args.held_out, "seed": args.seed,
               "lr": args.lr})
    return 0


if __name__ == "__main__":
    sys.exit(main())
