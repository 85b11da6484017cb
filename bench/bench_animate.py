"""End-to-end speed of ``animate`` with a driver video: ms per frame of each stage and frames/s, for the
code as it was before the pipeline, the sequential path and the pipelined one, side by side in one run.

    python bench/bench_animate.py [--driver CLIP] [--size 256] [--seconds 8] [--repeats 3]
        [--variants before sequential sequential-1t pipelined pipelined-2t] [--busy N] [--model M]
        [--json out.json]

The job is ``animate --source fsth_core/assets/portrait.jpg --driver CLIP --model
weights/fsth_demo_cpu128.safetensors --out OUT.mp4`` (the bundled model: 128 px, warp-guided, pasted
back into the 320x320 portrait).  Without ``--driver`` the driver is made with the project's own tools:
the bundled portrait animated with procedural talking motion (head turns, blinks, speech) by the mesh
warp, resized to ``--size`` and written as an H.264 mp4.

Variants (interleaved, ``--repeats`` rounds after one warm-up run; medians):
  before          how animate ran before it was pipelined: one stage after another, torch's default
                  threads, and AdaIN's instance norm through an fp32 copy under bf16 (the old code,
                  patched in for this variant)
  sequential      AnimateOptions(pipeline=False): one stage after another, torch's default threads
  sequential-1t   the same with 1 torch thread (separates the thread count from the pipelining)
  pipelined       the default: inputs / network / composition in threads, the calling thread writes;
                  torch threads = CPUs - 1
  pipelined-2t    the same with 2 torch threads (not run unless asked)

Stages are timed by wrapping the functions that do them (wall time inside each call, per frame):
decode (reading the driver's frames), landmarks (FaceTracker.step: detect once, then track), motion
(smoothing, head box, retargeting: the rest of the landmark pass), inputs (FrameGenerator.inputs:
landmark images, the mesh warp at 128 px, the paint region), network (FrameGenerator.outputs),
composition (NativeCompositor.region_frame + paste: the warp at the picture's resolution and the
blend), encode (FrameSink.write: frames piped to ffmpeg, and closing the file); ffmpeg's own CPU time
(x264 in its own process) is the ``encoder CPU`` row.  In the pipelined variant the stages overlap, so
their times add up to more than the end-to-end time: the longest one bounds the frame rate.

``--busy N`` runs N busy-looping processes alongside, as another job on the machine would.

Also printed: the largest pixel difference between the variants' decoded videos, and the driver's landmark
tracking against per-frame detection on the same clip (mean/max distance, and the jitter of each: the mean
frame-to-frame second difference of the points, in pixels).
"""
from __future__ import annotations

import argparse
import contextlib
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import numpy as np  # noqa: E402

from bench._common import add_json_arg, emit  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PORTRAIT = ROOT / "fsth_core" / "assets" / "portrait.jpg"
MODEL = ROOT / "weights" / "fsth_demo_cpu128.safetensors"
STAGES = ("decode", "landmarks", "motion", "inputs", "network", "composition", "encode", "encoder CPU")
VARIANTS = {
    "before": dict(pipeline=False, threads=None),
    "sequential": dict(pipeline=False, threads=None),
    "sequential-1t": dict(pipeline=False, threads=1),
    "pipelined": dict(pipeline=True, threads=None),
    "pipelined-2t": dict(pipeline=True, threads=2),
}


def make_driver(path: Path, size: int, seconds: float, fps: float = 25.0) -> Path:
    """The bundled portrait, mesh-warped with procedural talking motion, resized to size x size -> mp4."""
    import cv2

    from fsth_core.inference.animate import AnimateOptions, animate
    from fsth_core.io.media import VideoWriter, iter_frames

    with tempfile.TemporaryDirectory(prefix="fsth_drv_") as tmp:
        frames = Path(tmp) / "frames/"
        animate(None, [PORTRAIT], str(frames) + "/", options=AnimateOptions(method="warp", seconds=seconds, fps=fps),
                progress=False)
        with VideoWriter(path, fps=fps, quality=16) as w:
            for f in iter_frames(frames):
                w.write(cv2.resize(f, (size, size), interpolation=cv2.INTER_AREA))
    return path


class StageClock:
    """Wall time spent inside wrapped functions, per stage (patched onto the classes for one run)."""

    def __init__(self):
        self.seconds = dict.fromkeys(STAGES, 0.0)
        self._patches: list = []

    def _wrap(self, owner, name: str, stage: str) -> None:
        import inspect

        static = isinstance(inspect.getattr_static(owner, name), staticmethod)
        fn = getattr(owner, name)
        clock = self

        def timed(*args, **kwargs):
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                clock.seconds[stage] += time.perf_counter() - t

        setattr(owner, name, staticmethod(timed) if static else timed)
        self._patches.append((owner, name, staticmethod(fn) if static else fn))

    def _wrap_iter(self, owner, name: str, stage: str) -> None:
        fn = getattr(owner, name)
        clock = self

        def timed(*args, **kwargs):
            it = iter(fn(*args, **kwargs))
            while True:
                t = time.perf_counter()
                try:
                    item = next(it)
                except StopIteration:
                    return
                finally:
                    clock.seconds[stage] += time.perf_counter() - t
                yield item

        setattr(owner, name, timed)
        self._patches.append((owner, name, fn))

    @contextlib.contextmanager
    def installed(self):
        import fsth_core.inference.animate as animate_mod
        import fsth_core.io.media as media
        from fsth_core.inference.compose import NativeCompositor
        from fsth_core.inference.pipeline import FrameGenerator
        from fsth_core.io.sinks import FrameSink
        from fsth_core.landmarks.track import FaceTracker

        self._wrap_iter(media, "iter_frames", "decode")
        self._wrap(FaceTracker, "step", "landmarks")
        self._wrap(animate_mod, "driver_motion", "motion")  # the whole landmark pass; decode + landmarks subtracted
        self._wrap(FrameGenerator, "inputs", "inputs")
        self._wrap(FrameGenerator, "outputs", "network")
        self._wrap(FrameGenerator, "_paints", "network")
        self._wrap(NativeCompositor, "region_frame", "composition")
        self._wrap(NativeCompositor, "paste", "composition")
        self._wrap(FrameSink, "write", "encode")
        self._wrap(FrameSink, "__exit__", "encode")
        try:
            yield self
        finally:
            for owner, name, fn in reversed(self._patches):
                setattr(owner, name, fn)
            self._patches.clear()
        self.seconds["motion"] -= self.seconds["decode"] + self.seconds["landmarks"]


@contextlib.contextmanager
def old_adain():
    """AdaIN as it was: instance norm on an fp32 copy, the result cast back (what "before" runs)."""
    import torch.nn.functional as F

    from fsth_core.models.layers import AdaIN

    def forward(self, x, psi):
        p = psi[:, self.offset:self.offset + self.num_params].float()
        if p.shape[0] == 1:
            return F.instance_norm(x.float(), weight=1 + p[0, :self.channels], bias=p[0, self.channels:],
                                   eps=1e-5).to(x.dtype)
        gamma, beta = p[:, :self.channels, None, None], p[:, self.channels:, None, None]
        return (F.instance_norm(x.float(), eps=1e-5) * (1 + gamma) + beta).to(x.dtype)

    new = AdaIN.forward
    AdaIN.forward = forward
    try:
        yield
    finally:
        AdaIN.forward = new


@contextlib.contextmanager
def busy_processes(n: int):
    """``n`` child processes spinning on a CPU each while the block runs (ended, by their ids, after it)."""
    import subprocess

    procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]
    try:
        yield
    finally:
        for p in procs:
            p.kill()
            p.wait()


def run_once(variant: str, driver: Path, model: Path, out: Path) -> dict:
    from fsth_core.inference.animate import AnimateOptions, animate

    clock = StageClock()
    cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    with clock.installed(), old_adain() if variant == "before" else contextlib.nullcontext():
        r = animate(model, [PORTRAIT], out, driver=driver, options=AnimateOptions(**VARIANTS[variant]),
                    progress=False)
    wall = time.perf_counter() - t
    cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    clock.seconds["encoder CPU"] = (cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime)
    ms = {k: 1000 * v / r.frames for k, v in clock.seconds.items()}
    return {"stages_ms": ms, "frames": r.frames, "frames_per_s": r.frames_per_s, "setup_s": r.setup_s,
            "wall_s": wall}


def tracking_check(driver: Path) -> dict:
    """The driver's landmarks tracked (animate's way) vs detected on every frame."""
    from fsth_core.landmarks.detect import get_detector
    from fsth_core.landmarks.track import extract_landmarks_from_path

    det = get_detector("dlib")
    t0 = time.perf_counter()
    tracked = extract_landmarks_from_path(driver, backend=det, progress=False)
    t1 = time.perf_counter()
    per_frame = extract_landmarks_from_path(driver, backend=det, track=False, progress=False)
    t2 = time.perf_counter()
    d = np.linalg.norm(tracked.points - per_frame.points, axis=-1)

    def jitter(p):
        return float(np.linalg.norm(p[2:] - 2 * p[1:-1] + p[:-2], axis=-1).mean()) if len(p) > 2 else 0.0

    return {"mean_px": float(d.mean()), "max_px": float(d.max()), "jitter_tracked_px": jitter(tracked.points),
            "jitter_per_frame_px": jitter(per_frame.points), "tracked_ms": 1000 * (t1 - t0) / len(d),
            "per_frame_ms": 1000 * (t2 - t1) / len(d), "frames": len(d)}


def max_difference(a: Path, b: Path) -> int:
    from fsth_core.io.media import iter_frames

    worst = 0
    for fa, fb in zip(iter_frames(a), iter_frames(b)):
        worst = max(worst, int(np.abs(fa.astype(np.int16) - fb).max()))
    return worst


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--driver", type=Path, help="driver video (default: made from the bundled portrait)")
    ap.add_argument("--size", type=int, default=256, help="side of the made driver (default 256)")
    ap.add_argument("--seconds", type=float, default=8.0, help="length of the made driver (default 8 s, 200 frames)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--variants", nargs="+", default=["before", "sequential", "sequential-1t", "pipelined"],
                    choices=list(VARIANTS))
    ap.add_argument("--model", type=Path, default=MODEL)
    ap.add_argument("--busy", type=int, default=0, metavar="N",
                    help="N busy-looping processes run alongside (another job on the machine), default 0")
    add_json_arg(ap)
    args = ap.parse_args()

    import torch

    from fsth_core.runtime.threads import cpu_count
    from fsth_core.io.media import probe

    with tempfile.TemporaryDirectory(prefix="fsth_bench_animate_") as tmp, busy_processes(args.busy):
        tmp = Path(tmp)
        driver = args.driver or make_driver(tmp / "driver.mp4", args.size, args.seconds)
        info = probe(driver)
        outs = {v: tmp / f"{v}.mp4" for v in args.variants}
        run_once(args.variants[-1], driver, args.model, tmp / "warmup.mp4")  # dlib, torch, ffmpeg warm
        runs: dict[str, list[dict]] = {v: [] for v in args.variants}
        for _ in range(args.repeats):
            for v in args.variants:
                runs[v].append(run_once(v, driver, args.model, outs[v]))
        base = args.variants[0]
        diffs = {v: max_difference(outs[base], outs[v]) for v in args.variants[1:]}
        track = tracking_check(driver)

    def med(v, key, stage=None):
        vals = [r["stages_ms"][stage] if stage else r[key] for r in runs[v]]
        return statistics.median(vals)

    rows = [{"stage": s, **{f"{v} ms/frame": med(v, None, s) for v in args.variants}} for s in STAGES]
    rows.append({"stage": "end to end", **{f"{v} ms/frame": 1000 / med(v, "frames_per_s") for v in args.variants}})
    rows.append({"stage": "frames/s end to end", **{f"{v} ms/frame": med(v, "frames_per_s") for v in args.variants}})
    rows.append({"stage": "set-up s (model, sources, identity)",
                 **{f"{v} ms/frame": med(v, "setup_s") for v in args.variants}})
    meta = {"driver": f"{info.width}x{info.height}, {info.frames} frames at {info.fps:g} fps",
            "cpus": cpu_count(), "torch_threads_default": torch.get_num_threads(), "repeats": args.repeats,
            "max_pixel_difference_vs_" + base: diffs, "tracking_vs_per_frame_detection": track,
            "busy_processes": args.busy, "load_average": os.getloadavg()}
    emit(rows, ["stage", *[f"{v} ms/frame" for v in args.variants]], args, meta)
    print(f"driver {meta['driver']}; {meta['cpus']} CPUs, torch threads by default {meta['torch_threads_default']}; "
          f"median of {args.repeats} rounds; {args.busy} busy processes alongside; load average {', '.join(f'{x:.1f}' for x in meta['load_average'])}")
    for v, d in diffs.items():
        print(f"largest pixel difference, {v} vs {base} (decoded mp4s): {d}")
    print(f"driver landmarks, tracked vs detected on every frame ({track['frames']} frames): mean "
          f"{track['mean_px']:.2f} px, max {track['max_px']:.2f} px; jitter (mean |second difference|) tracked "
          f"{track['jitter_tracked_px']:.3f} px, per-frame {track['jitter_per_frame_px']:.3f} px; "
          f"{track['tracked_ms']:.1f} vs {track['per_frame_ms']:.1f} ms/frame")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
