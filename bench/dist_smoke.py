"""Data-parallel smoke test: meta-learning in several processes with W's sparse gradient, then a check that
every rank ends with the same weights.  Run it under torchrun (bench/gpu_smoke.sh does):

    torchrun --standalone --nproc_per_node 2 bench/dist_smoke.py --data SYNTH_FOLDER [--preset tiny]
        [--steps 20] [--batch 2] [--k 2] [--device auto] [--out model.safetensors]

Each rank runs fsth_core.training.meta.train itself (NCCL between GPUs, Gloo on CPUs: its
fsth_core.training.distributed), its own videos each step; W's gradient holds only the rows of the
sampled videos and the ranks all-gather those rows.  Rank 0 prints one table, a row per rank: device,
backend, steps/s after the first step, whether W's gradient was sparse, how many of W's rows moved, and
the SHA-256 of all weights; then ``ranks agree`` (exit 0) or ``ranks DIFFER`` (exit 1).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import torch
import torch.distributed as dist

from bench._common import print_table
from fsth_core.models.losses import VGG_FILES
from fsth_core.models.model import build_model
from fsth_core.runtime.paths import find_weights
from fsth_core.training.meta import TrainOptions, state_digest, train


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="a training-set folder (python -m fsth_core synth OUT writes one)")
    ap.add_argument("--preset", default="tiny")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--batch", type=int, default=2, help="episodes per step and rank")
    ap.add_argument("--k", type=int, default=2)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--out", default=None, help="model file rank 0 writes (default: a temporary one)")
    args = ap.parse_args()
    if int(os.environ.get("WORLD_SIZE", "1")) < 2:
        print("dist_smoke: run me under torchrun with 2 or more processes (torchrun --nproc_per_node 2 ...)")
        return 2
    content = all(find_weights(f) is not None for f in VGG_FILES.values())
    stamps: list[float] = []
    with tempfile.TemporaryDirectory(prefix="fsth_dist_") as tmp:
        out = args.out or os.path.join(tmp, f"rank{os.environ.get('RANK', '0')}.safetensors")
        opt = TrainOptions(data=args.data, out=out, preset=args.preset, steps=args.steps, batch=args.batch, k=args.k,
                           device=args.device, checkpoint_every=10 ** 9, content_loss=content, workers=0, seed=0)
        model = train(opt, progress=False, on_step=lambda step, s: stamps.append(time.perf_counter()))
    d = model.discriminator
    fresh = build_model(model.config, seed=0).discriminator.video_w.detach()
    moved = int((d.video_w.detach().cpu() != fresh).any(1).sum())
    steps = [b - a for a, b in zip(stamps, stamps[1:])]
    row = {"rank": dist.get_rank(), "device": str(next(model.parameters()).device), "backend": dist.get_backend(),
           "steps": len(stamps), "steps_per_s": 1 / statistics.median(steps) if steps else float("nan"),
           "sparse_w": bool(d.sparse_w), "w_rows_moved": f"{moved}/{d.num_videos}", "content": content,
           "digest": state_digest(model)[:16]}
    rows: list = [None] * dist.get_world_size()
    dist.all_gather_object(rows, row)
    agree = len({r["digest"] for r in rows}) == 1
    if dist.get_rank() == 0:
        print_table(rows, ["rank", "device", "backend", "steps", "steps_per_s", "sparse_w", "w_rows_moved", "content",
                           "digest"])
        print(f"{'ranks agree' if agree else 'ranks DIFFER'}: {len(rows)} processes, preset {args.preset}, "
              f"{args.steps} steps of {args.batch} episodes per rank, torch {torch.__version__}")
    dist.barrier()
    dist.destroy_process_group()
    return 0 if agree else 1


if __name__ == "__main__":
    raise SystemExit(main())
