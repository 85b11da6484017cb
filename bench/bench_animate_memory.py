"""Peak memory while animating a long driver: it must stay flat (streaming generation and writing).

    python bench/bench_animate_memory.py [--preset cpu128] [--frames 3000] [--marks 300 1000 3000]
        [--batch 8] [--device auto] [--precision auto] [--json out.json]

A fresh model of the preset (weights do not change memory or speed), one synthetic portrait as the
source, procedural talking motion of --frames frames from its landmarks, FrameGenerator.stream →
fsth_core.io.media.VideoWriter (H.264 mp4 in a temporary folder, deleted at the end). Prints the
process's peak RSS (getrusage) and current RSS (/proc/self/statm, Linux) when each mark is reached.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from bench._common import add_json_arg, emit, peak_rss_mb
from fsth_core.inference.pipeline import FrameGenerator, compute_identity
from fsth_core.inference.types import Sources
from fsth_core.io.media import VideoWriter
from fsth_core.landmarks.motion import procedural_motion
from fsth_core.models.config import preset
from fsth_core.models.model import build_model
from fsth_core.runtime.device import Execution
from fsth_core.synthetic.heads import synthetic_portrait


def current_rss_mb() -> float | None:
    """Resident memory now, in MiB (Linux /proc; None elsewhere)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2 ** 20
    except (OSError, ValueError, IndexError):
        return None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="cpu128")
    ap.add_argument("--frames", type=int, default=3000)
    ap.add_argument("--marks", type=int, nargs="+", default=[300, 1000, 3000])
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--precision", default="auto")
    add_json_arg(ap)
    args = ap.parse_args()

    ex = Execution.resolve(args.device, args.precision)
    cfg = preset(args.preset)
    model = build_model(cfg, seed=0)
    image, points, _ = synthetic_portrait(0, cfg.image_size)
    identity = compute_identity(model, Sources(image[None], points[None].astype("float32")), ex)
    gen = FrameGenerator(model, identity, ex, batch=args.batch)
    del model
    motion = procedural_motion(points, args.frames, fps=25.0, seed=0)  # [F,68,2] float32: 0.5 MB per 1000
    marks = sorted(m for m in args.marks if m <= args.frames)
    rows = [{"frames": 0, "peak_rss_mb": peak_rss_mb(), "rss_mb": current_rss_mb(), "seconds": 0.0}]
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="fsth_mem_") as tmp:
        out = os.path.join(tmp, "long.mp4")
        with VideoWriter(out, fps=25.0) as writer:
            for i, frame in enumerate(gen.stream(motion, total=len(motion)), 1):
                writer.write(frame)
                if marks and i == marks[0]:
                    marks.pop(0)
                    el = time.perf_counter() - t0
                    rows.append({"frames": i, "peak_rss_mb": peak_rss_mb(), "rss_mb": current_rss_mb(),
                                 "seconds": el, "frames_per_s": i / el})
        size_mb = os.path.getsize(out) / 2 ** 20
    emit(rows, ["frames", "peak_rss_mb", "rss_mb", "seconds", "frames_per_s"], args,
         {"preset": cfg.name, "device": str(ex.device), "precision": str(ex.dtype), "batch": args.batch,
          "mp4_mb": size_mb})
    print(f"preset {cfg.name}, {ex.device} {str(ex.dtype).replace('torch.', '')}, batch {args.batch}; "
          f"mp4 {size_mb:.1f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
