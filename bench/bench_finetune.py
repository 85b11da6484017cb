"""Fine-tuning speed: seconds per step at T = 1, 8, 32 shots.

    python bench/bench_finetune.py [--presets tiny cpu128] [--shots 1 8 32] [--steps 6] [--warmup 2]
        [--device auto] [--precision fp32] [--json out.json]

Sources: T frames of one synthetic identity (fsth_core.synthetic.heads) at the preset's size. A fresh
model per preset; each run does ``--warmup + --steps`` steps of fsth_core.inference.finetune.finetune and the
table gives the median duration of the steps after the warm-up ones (timed at the progress callback).
A step is one generator and one discriminator update on a batch of min(4, T) frames, so T beyond 4
changes the per-step cost only through the warp-guide/landmark inputs prepared once per run.
The content loss uses whatever VGG weights are installed (the column says which): without them the
steps skip the two VGG networks and are faster than the paper's.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import numpy as np

from bench._common import add_json_arg, emit
from fsth_core.inference.finetune import FinetuneOptions, default_steps, finetune
from fsth_core.inference.pipeline import compute_identity
from fsth_core.inference.types import Sources
from fsth_core.models.config import preset
from fsth_core.models.losses import ContentLoss
from fsth_core.models.model import build_model
from fsth_core.runtime.device import Execution
from fsth_core.synthetic.heads import identity_landmarks_sequence, render_sequence, synthetic_identity


def sources(t: int, size: int) -> Sources:
    idn = synthetic_identity(0, 0)
    pts = identity_landmarks_sequence(idn, t, np.random.default_rng(1), size)
    return Sources(render_sequence(idn, pts, size), pts.astype(np.float32))


def step_times(model, src: Sources, ex: Execution, content, steps: int, warmup: int) -> list[float]:
    identity = compute_identity(model, src, ex)
    stamps = [time.perf_counter()]
    finetune(model, identity, src, FinetuneOptions(steps=warmup + steps), ex,
             progress=lambda done, total: stamps.append(time.perf_counter()), content=content)
    return list(np.diff(stamps)[warmup:])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--presets", nargs="+", default=["tiny", "cpu128"])
    ap.add_argument("--shots", type=int, nargs="+", default=[1, 8, 32])
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--precision", default="fp32")
    add_json_arg(ap)
    args = ap.parse_args()
    ex = Execution.resolve(args.device, args.precision)
    content = ContentLoss.from_installed(ex.device)
    vgg = "+".join(n for n in ("vgg19", "vggface") if getattr(content, n) is not None) or "none"
    rows = []
    for name in args.presets:
        cfg = preset(name)
        model = build_model(cfg, seed=0)
        for t in args.shots:
            times = step_times(model, sources(t, cfg.image_size), ex, content, args.steps, args.warmup)
            med = statistics.median(times)
            rows.append({"device": ex.device.type, "preset": name, "T": t, "batch": min(4, t),
                         "s_per_step": med, "min_s": min(times), "steps_per_s": 1 / med,
                         "default_steps_s": default_steps(t) * med, "vgg": vgg})
    emit(rows, ["device", "preset", "T", "batch", "s_per_step", "min_s", "steps_per_s", "default_steps_s", "vgg"],
         args, {"steps": args.steps, "warmup": args.warmup, "precision": args.precision})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
