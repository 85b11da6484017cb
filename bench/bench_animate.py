"""End-to-end speed of ``animate`` with the bundled model on a 512-pixel portrait, for one source picture
(T=1) and eight (T=8): frames/s and where the time goes, stage by stage.

    python bench/bench_animate.py [--source PICTURE] [--source-clip CLIP] [--shots 1 8] [--driver CLIP]
        [--size 256] [--seconds 8] [--repeats 3] [--modes pipelined sequential] [--model M] [--busy N]
        [--json out.json]

The job is ``animate --source P [P2 ...] --driver CLIP --model weights/fsth_demo_cpu128.safetensors --out
OUT.mp4`` (128 px, warp-guided, composed at the picture's resolution).  The portrait: ``--source``, else
the NASA portrait of Eileen Collins (scikit-image's ``data.astronaut()``, 512x512, public domain).  T=8:
that picture and seven variants of it (shifted, scaled, turned a little, lighter or darker: the sources
animate composes from; ``--source-clip`` takes ``--shots``-many diverse frames of a video instead, e.g.
/work/shared/data/talking/franck_0.mp4).  Without ``--driver`` the driver is the bundled portrait animated
with procedural talking motion by the mesh warp, ``--size`` pixels, ``--seconds`` long.

Modes (interleaved with the T values, ``--repeats`` rounds after one warm-up run; medians):
  pipelined   the default: the generator's inputs, the network and the composition in threads, the
              calling thread writes; torch on all CPUs but one
  sequential  AnimateOptions(pipeline=False): one stage after another, torch's own threads

Stages are timed by wrapping the functions that do them, per frame: decode (reading the driver), landmarks
(FaceTracker.step), motion (smoothing, head box, retargeting), inputs (FrameGenerator.inputs: landmark
images, the mesh warp at 128 px, the paint region), network (FrameGenerator.outputs and the paint parts),
composition (NativeCompositor.region_frame + paste: the warp at the picture's resolution and the blend),
encode (FrameSink.write: frames to ffmpeg); ``ffmpeg`` is the CPU of ffmpeg itself (other processes: x264
encoding the output, and decoding the driver).
Each stage has two figures: CPU ms (the CPU time of the thread that ran it; on a busy machine the time it
waited for a CPU is not in it) and wall ms.  The landmark pass (decode, landmarks, motion) runs before
generation; inputs, network and composition overlap when pipelined.

Printed besides: frames/s end to end (wall: what this run achieved on this machine, as loaded as it
was), the slowest stage of the overlapped ones and how many times the next one it is ("holds the others up
by"), and what 2 idle cores would give from the CPU figures: 1 / (landmark pass + max(slowest overlapped
stage, overlapped CPU / 2)).  ``--busy N`` runs N busy-looping processes alongside.
"""
from __future__ import annotations

import argparse
import contextlib
import inspect
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import cv2
import numpy as np
import torch

import fsth_core.inference.animate as animate_mod
import fsth_core.io.media as media
from bench._common import add_json_arg, cpu_description, emit, load_note
from fsth_core.inference.animate import AnimateOptions, animate
from fsth_core.inference.compose import NativeCompositor
from fsth_core.inference.pipeline import FrameGenerator
from fsth_core.io.media import VideoWriter, iter_frames, load_image, probe
from fsth_core.io.sinks import FrameSink
from fsth_core.landmarks.track import FaceTracker
from fsth_core.runtime.threads import cpu_count

ROOT = Path(__file__).resolve().parents[1]
PORTRAIT = ROOT / "fsth_core" / "assets" / "portrait.jpg"
MODEL = ROOT / "weights" / "fsth_demo_cpu128.safetensors"
STAGES = ("decode", "landmarks", "motion", "inputs", "network", "composition", "encode", "ffmpeg")
LANDMARK_PASS = ("decode", "landmarks", "motion")
OVERLAPPED = ("inputs", "network", "composition", "encode", "ffmpeg")
MODES = {"pipelined": dict(pipeline=True), "sequential": dict(pipeline=False)}


def make_driver(path: Path, size: int, seconds: float, fps: float = 25.0) -> Path:
    """The bundled portrait, mesh-warped with procedural talking motion, resized to size x size -> mp4."""
    with tempfile.TemporaryDirectory(prefix="fsth_drv_") as tmp:
        frames = Path(tmp) / "frames/"
        animate(None, [PORTRAIT], str(frames) + "/", options=AnimateOptions(method="warp", seconds=seconds, fps=fps),
                progress=False)
        with VideoWriter(path, fps=fps, quality=16) as w:
            for f in iter_frames(frames):
                w.write(cv2.resize(f, (size, size), interpolation=cv2.INTER_AREA))
    return path


def portrait_sources(folder: Path, picture: Path | None, shots: int) -> list[Path]:
    """The portrait (512 px) and shots - 1 variants of it, written as PNGs into ``folder``."""
    if picture is not None:
        img = load_image(picture)
    else:
        import skimage.data  # dev dependency (requirements-dev.txt): the default test picture only

        img = skimage.data.astronaut()
    h, w = img.shape[:2]
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(shots):
        if i == 0:
            v = img
        else:  # a little shifted, scaled and turned, lighter or darker: another photo of the same sitting
            m = cv2.getRotationMatrix2D((w / 2, h / 2), rng.uniform(-6, 6), rng.uniform(0.94, 1.06))
            m[:, 2] += rng.uniform(-0.04, 0.04, 2) * (w, h)
            v = cv2.warpAffine(img, m, (w, h), borderMode=cv2.BORDER_REFLECT)
            v = np.clip(v.astype(np.float32) * rng.uniform(0.9, 1.1), 0, 255).astype(np.uint8)
        p = folder / f"source_{i}.png"
        cv2.imwrite(str(p), cv2.cvtColor(v, cv2.COLOR_RGB2BGR))
        paths.append(p)
    return paths


class StageClock:
    """Wall and thread-CPU time spent inside wrapped functions, per stage (patched onto the classes for
    one run, removed after)."""

    def __init__(self):
        self.wall = dict.fromkeys(STAGES, 0.0)
        self.cpu = dict.fromkeys(STAGES, 0.0)
        self._patches: list = []
        self._in_pass = threading.local()  # decode and landmarks count inside the driver's landmark pass only
                                           # (not the sources' detection during the set-up)

    def _add(self, stage: str, w0: float, c0: float) -> None:
        if stage in ("decode", "landmarks") and not getattr(self._in_pass, "on", False):
            return
        self.wall[stage] += time.perf_counter() - w0
        self.cpu[stage] += time.thread_time() - c0

    def _wrap(self, owner, name: str, stage: str) -> None:
        static = isinstance(inspect.getattr_static(owner, name), staticmethod)
        fn = getattr(owner, name)
        clock = self

        def timed(*args, **kwargs):
            w0, c0 = time.perf_counter(), time.thread_time()
            if stage == "motion":
                clock._in_pass.on = True
            try:
                return fn(*args, **kwargs)
            finally:
                clock._in_pass.on = False if stage == "motion" else getattr(clock._in_pass, "on", False)
                clock._add(stage, w0, c0)

        setattr(owner, name, staticmethod(timed) if static else timed)
        self._patches.append((owner, name, staticmethod(fn) if static else fn))

    def _wrap_iter(self, owner, name: str, stage: str) -> None:
        fn = getattr(owner, name)
        clock = self

        def timed(*args, **kwargs):
            it = iter(fn(*args, **kwargs))
            while True:
                w0, c0 = time.perf_counter(), time.thread_time()
                try:
                    item = next(it)
                except StopIteration:
                    return
                finally:
                    clock._add(stage, w0, c0)
                yield item

        setattr(owner, name, timed)
        self._patches.append((owner, name, fn))

    @contextlib.contextmanager
    def installed(self):
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
        for d in (self.wall, self.cpu):
            d["motion"] -= d["decode"] + d["landmarks"]


@contextlib.contextmanager
def busy_processes(n: int):
    """``n`` child processes spinning on a CPU each while the block runs (ended, by their ids, after it)."""
    procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]
    try:
        yield
    finally:
        for p in procs:
            p.kill()
            p.wait()


def run_once(mode: str, sources, driver: Path, model: Path, out: Path, clip: bool, shots: int) -> dict:

    clock = StageClock()
    ch0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    opts = AnimateOptions(**MODES[mode], **({"shots": shots} if clip else {}))
    with clock.installed():
        r = animate(model, [] if clip else sources, out, driver=driver, options=opts, progress=False,
                    **({"source_clip": sources} if clip else {}))
    wall = time.perf_counter() - t
    ch1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    clock.cpu["ffmpeg"] = (ch1.ru_utime + ch1.ru_stime) - (ch0.ru_utime + ch0.ru_stime)
    n = r.frames
    return {"cpu_ms": {k: 1000 * v / n for k, v in clock.cpu.items()},
            "wall_ms": {k: 1000 * v / n for k, v in clock.wall.items()}, "frames": n, "sources": r.sources,
            "frames_per_s": r.frames_per_s, "setup_s": r.setup_s, "wall_s": wall}


def summary(runs: list[dict]) -> dict:
    """Medians over the rounds, the slowest overlapped stage and the projection for 2 idle cores."""
    cpu = {s: statistics.median(r["cpu_ms"][s] for r in runs) for s in STAGES}
    wall = {s: statistics.median(r["wall_ms"][s] for r in runs) for s in STAGES}
    over = sorted(((cpu[s], s) for s in OVERLAPPED), reverse=True)
    landmark = sum(cpu[s] for s in LANDMARK_PASS)
    overlapped = sum(cpu[s] for s in OVERLAPPED)
    projected = 1000 / (landmark + max(over[0][0], overlapped / 2))
    return {"cpu_ms": cpu, "wall_ms": wall, "frames_per_s": statistics.median(r["frames_per_s"] for r in runs),
            "setup_s": statistics.median(r["setup_s"] for r in runs), "slowest": over[0][1],
            "holds_up_by": over[0][0] / max(over[1][0], 1e-9), "projected_fps_2_idle_cores": projected,
            "total_cpu_ms": landmark + overlapped, "sources": runs[0]["sources"], "frames": runs[0]["frames"]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", type=Path, help="the portrait (default: scikit-image's astronaut, 512x512)")
    ap.add_argument("--source-clip", type=Path, help="for T > 1: diverse frames of this video instead of variants")
    ap.add_argument("--shots", type=int, nargs="+", default=[1, 8], help="source counts T (default 1 8)")
    ap.add_argument("--driver", type=Path, help="driver video (default: made from the bundled portrait)")
    ap.add_argument("--size", type=int, default=256, help="side of the made driver (default 256)")
    ap.add_argument("--seconds", type=float, default=8.0, help="length of the made driver (default 8 s, 200 frames)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--modes", nargs="+", default=["pipelined"], choices=list(MODES))
    ap.add_argument("--model", type=Path, default=MODEL)
    ap.add_argument("--busy", type=int, default=0, metavar="N",
                    help="N busy-looping processes run alongside (another job on the machine), default 0")
    add_json_arg(ap)
    args = ap.parse_args()



    with tempfile.TemporaryDirectory(prefix="fsth_bench_animate_") as tmp, busy_processes(args.busy):
        tmp = Path(tmp)
        driver = args.driver or make_driver(tmp / "driver.mp4", args.size, args.seconds)
        info = probe(driver)
        jobs = {}
        for t in args.shots:
            clip = args.source_clip is not None and t > 1
            srcs = args.source_clip if clip else portrait_sources(tmp / f"t{t}", args.source, t)
            for mode in args.modes:
                jobs[f"T={t} {mode}"] = (mode, srcs, clip, t)
        first = next(iter(jobs.values()))
        run_once(first[0], first[1], driver, args.model, tmp / "warmup.mp4", first[2], first[3])  # caches warm
        runs: dict[str, list[dict]] = {k: [] for k in jobs}
        for _ in range(args.repeats):
            for k, (mode, srcs, clip, t) in jobs.items():
                runs[k].append(run_once(mode, srcs, driver, args.model, tmp / "out.mp4", clip, t))
    sums = {k: summary(v) for k, v in runs.items()}
    rows = []
    for s in STAGES:
        row = {"stage": s + (" (landmark pass)" if s in LANDMARK_PASS else "")}
        for k, m in sums.items():
            total = m["total_cpu_ms"]
            row[f"{k} CPU ms"] = m["cpu_ms"][s]
            row[f"{k} share"] = f"{100 * m['cpu_ms'][s] / total:.0f} %"
            row[f"{k} wall ms"] = m["wall_ms"][s]
        rows.append(row)
    rows.append({"stage": "total CPU per frame", **{f"{k} CPU ms": m["total_cpu_ms"] for k, m in sums.items()}})
    meta = {"cpu": cpu_description(), "load": load_note(), "cpus": cpu_count(),
            "torch_threads_default": torch.get_num_threads(), "repeats": args.repeats, "busy_processes": args.busy,
            "driver": f"{info.width}x{info.height}, {info.frames} frames at {info.fps:g} fps",
            "summary": {k: {kk: v for kk, v in m.items() if kk not in ("cpu_ms", "wall_ms")} for k, m in sums.items()}}
    cols = ["stage"] + [f"{k} {c}" for k in sums for c in ("CPU ms", "share", "wall ms")]
    emit(rows, cols, args, meta)
    print(f"{meta['cpu']}; {meta['cpus']} CPUs; {meta['load']}; driver {meta['driver']}; median of {args.repeats} "
          f"rounds; {args.busy} busy processes alongside")
    for k, m in sums.items():
        print(f"{k}: {m['sources']} source(s), {m['frames_per_s']:.1f} frames/s end to end here (set-up "
              f"{m['setup_s']:.1f} s); slowest overlapped stage {m['slowest']} "
              f"({m['cpu_ms'][m['slowest']]:.1f} CPU ms, "
              f"{m['holds_up_by']:.1f}x the next); 2 idle cores: {m['projected_fps_2_idle_cores']:.0f} frames/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
