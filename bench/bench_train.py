"""Meta-learning speed, and the input pipeline's share of each step.

    python bench/bench_train.py [--presets tiny] [--workers 0 2] [--steps 12] [--warmup 3] [--batch 4]
        [--k 4] [--device auto] [--precision auto] [--json out.json]

Data: a small synthetic training set (fsth_core.synthetic.heads, as ``python -m fsth_core synth`` writes
it) at each preset's size, in a temporary folder. Each run is fsth_core.training.meta.train itself, for
``--warmup + --steps`` steps with ``--workers`` data-loading processes; every step reports the seconds it
waited for its batch (``time/data_s``) and computed (``time/step_s``, up to the losses' values, so the
device has finished). Over the steps after the warm-up the table gives: steps/s (1 / median of wait +
compute), the median wait and compute in ms, the loader's share of a step (median wait / median wait +
compute), and what bounds the step: ``loader`` when the training process waits for data more than 10 % of
a step, else ``compute``. The ``paper`` preset is added when CUDA is present (``--presets`` overrides).
Without the VGG files the content loss is off (the ``content`` column says so): the step is then
cheaper than the paper's and the loader's share is an upper bound.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import torch

from bench._common import add_json_arg, emit
from fsth_core.models.config import preset
from fsth_core.models.losses import VGG_FILES
from fsth_core.runtime.device import Execution
from fsth_core.runtime.paths import find_weights
from fsth_core.synthetic.heads import write_synthetic_dataset
from fsth_core.training.meta import TrainOptions, train

LOADER_BOUND = 0.10  # the training process waits for data more than this share of a step


def run(data: Path, out: Path, name: str, workers: int, args, content: bool) -> dict:
    """One training run; per-step (wait, compute) seconds after the warm-up."""
    times: list[tuple[float, float]] = []
    opt = TrainOptions(data=str(data), out=str(out), preset=name, steps=args.warmup + args.steps, batch=args.batch,
                       k=args.k, workers=workers, device=args.device, precision=args.precision,
                       checkpoint_every=10 ** 9, content_loss=content, seed=0)
    train(opt, progress=False, on_step=lambda step, s: times.append((s["time/data_s"], s["time/step_s"])))
    wait = [w for w, _ in times[args.warmup:]]
    compute = [c for _, c in times[args.warmup:]]
    total = statistics.median(w + c for w, c in zip(wait, compute))
    share = statistics.median(wait) / total
    return {"steps_per_s": 1 / total, "wait_ms": 1e3 * statistics.median(wait),
            "compute_ms": 1e3 * statistics.median(compute), "loader_share": share,
            "bound_by": "loader" if share > LOADER_BOUND else "compute"}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--presets", nargs="+", default=None, help="default: tiny, and paper on CUDA")
    ap.add_argument("--workers", type=int, nargs="+", default=[0, 2])
    ap.add_argument("--steps", type=int, default=12, help="timed steps per run")
    ap.add_argument("--warmup", type=int, default=3, help="untimed steps first (worker start-up, allocator)")
    ap.add_argument("--batch", type=int, default=4, help="episodes per step")
    ap.add_argument("--k", type=int, default=4, help="frames per episode for the embedder")
    ap.add_argument("--identities", type=int, default=16, help="videos in the synthetic training set")
    ap.add_argument("--frames", type=int, default=16, help="frames per synthetic video")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--precision", default="auto")
    add_json_arg(ap)
    args = ap.parse_args()
    ex = Execution.resolve(args.device, args.precision, training=True)
    presets = args.presets or (["tiny", "paper"] if ex.device.type == "cuda" else ["tiny"])
    content = all(find_weights(f) is not None for f in VGG_FILES.values())
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in presets:
            size = preset(name).image_size
            data = write_synthetic_dataset(Path(tmp) / f"synth{size}", args.identities, args.frames, size, seed=0,
                                           progress=False)
            for workers in args.workers:
                res = run(data, Path(tmp) / f"{name}_w{workers}.safetensors", name, workers, args, content)
                rows.append({"preset": name, "device": str(ex.device), "precision": str(ex.dtype).replace("torch.", ""),
                             "batch": args.batch, "k": args.k, "content": "on" if content else "off",
                             "workers": workers, **res})
    emit(rows, ["preset", "device", "precision", "batch", "k", "content", "workers", "steps_per_s", "wait_ms",
                "compute_ms", "loader_share", "bound_by"], args,
         meta={"steps": args.steps, "warmup": args.warmup, "cpus": os.cpu_count(),
               "torch_threads": torch.get_num_threads(), "loader_bound_above": LOADER_BOUND})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
