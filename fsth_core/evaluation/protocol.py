"""Self-reenactment evaluation (the paper's protocol) on held-out videos.

For each held-out video and each T: T frames give the identity (and the fine-tuning), the landmarks
of other frames of the same video drive the generator, and the generated frames are compared with
the real ones (frame choice: :func:`fsth_core.evaluation.videos.select_frames`; the targets are the same
for every T). Metrics per frame: L1, PSNR, SSIM, CSIM, AKD, the discriminator's realism score, LPIPS
(when its weights are present); per T: FID (when its weights are present). Unavailable metrics are
reported as unavailable with the reason, never as 0.

    result = evaluate("model.safetensors", "data/held_out", EvalOptions(shots=(1, 8)))
    print(format_report(result))        # result.as_report(): the JSON-able report
"""
from __future__ import annotations

import math
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields

import numpy as np
from tqdm import tqdm

from fsth_core.evaluation.metrics import FaceEmbedder, MetricAccumulator, akd, cosine, fid, l1, lpips, psnr, ssim
from fsth_core.evaluation.metrics.mouth import is_open, mouth_metrics
from fsth_core.evaluation.metrics.optional import fid_status, lpips_status
from fsth_core.evaluation.videos import EvalVideo, open_videos, select_frames
from fsth_core.inference.finetune import FinetuneOptions, options_from_recipe, personalize, recipe_from_training
from fsth_core.inference.pipeline import FrameGenerator, inference_copy, realism_scores
from fsth_core.inference.types import Sources
from fsth_core.models.losses import ContentLoss
from fsth_core.models.weights import load_model, model_info
from fsth_core.options import METHODS
from fsth_core.runtime.device import Execution
from fsth_core.warp.shots import ShotWarper

# name -> (description, better)
METRICS = {
    "l1": ("mean absolute pixel error, 0..1", "lower"),
    "psnr": ("peak signal-to-noise ratio, dB (peak 1)", "higher"),
    "ssim": ("structural similarity (Wang et al. 2004)", "higher"),
    "csim": ("cosine similarity of dlib ResNet face descriptors of real and generated frames", "higher"),
    "akd": ("mean 68-point landmark distance / inter-ocular distance (dlib predictor on both)", "lower"),
    "mouth_l1": ("mouth (lips and interior) mean absolute error, 0..1, shape-aligned, open-mouth frames", "lower"),
    "mouth_ssim": ("mouth (lips and interior) SSIM, shape-aligned, open-mouth frames", "higher"),
    "inner_mouth_l1": ("mouth interior (teeth, tongue, cavity) mean absolute error, 0..1, open-mouth frames",
                       "lower"),
    "realism": ("discriminator realism score r = v·w' + b of the generated frames", "higher"),
    "lpips": ("LPIPS (AlexNet) perceptual distance", "lower"),
    "fid": ("Fréchet Inception distance between the real and generated frames of each T", "lower"),
}


@dataclass(frozen=True)
class EvalOptions:
    shots: tuple[int, ...] = (1, 8, 32)
    finetune_steps: int | None = None  # None: fsth_core.inference.finetune.default_steps(T); 0: feed-forward
    method: str = "neural"             # "neural" (the model) or "warp" (training-free mesh warp)
    held_out: int | None = None        # held-out speakers; None: the model's training recipe; see eval_videos
    video_level: int | None = None     # clip grouping of the split; None: the model's recipe, else 2
    seed: int | None = None            # split seed (None: the model's training seed, else 0); fine-tune seed
    all_videos: bool = False           # evaluate every video of a training set, not the held-out part
    videos: int | None = None          # at most this many videos
    frames: int = 16                   # target frames per video
    size: int = 256                    # crop size for --method warp without a model
    device: str = "auto"
    precision: str = "fp32"
    batch: int = 8
    backend: str = "auto"              # landmark backend for a plain folder of videos

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {self.method!r}")
        if not self.shots or any(int(t) < 1 or int(t) > 256 for t in self.shots):
            raise ValueError(f"shots must be T values in 1..256, got {self.shots}")
        if self.frames < 1:
            raise ValueError(f"frames must be >= 1, got {self.frames}")
        if self.finetune_steps is not None and self.finetune_steps < 0:
            raise ValueError(f"finetune_steps must be >= 0, got {self.finetune_steps}")


def face_box(points: np.ndarray, size: int) -> tuple[int, int, int, int]:
    """Square (left, top, right, bottom) around landmarks [68,2], clipped to the S×S crop."""
    lo, hi = points.min(0), points.max(0)
    c, side = (lo + hi) / 2, float(max(hi - lo)) * 1.1
    left, top = max(0, int(round(c[0] - side / 2))), max(0, int(round(c[1] - side / 2)))
    right, bottom = min(size - 1, int(round(c[0] + side / 2))), min(size - 1, int(round(c[1] + side / 2)))
    return left, top, max(right, left + 1), max(bottom, top + 1)


class FaceProbe:
    """dlib descriptors and 68 landmarks of frames inside given boxes (the same box for real and fake,
    taken from the real frame's landmarks, so tiny crops where dlib's detector fails still count)."""

    def __init__(self):
        self.emb = FaceEmbedder()

    def describe(self, frames: np.ndarray, boxes: Sequence) -> tuple[list, np.ndarray]:
        """frames uint8 [n,S,S,3] → (descriptors [128] or None, landmarks float32 [n,68,2] NaN if none)."""
        descs, pts = [], np.full((len(frames), 68, 2), np.nan, np.float32)
        for i, (f, box) in enumerate(zip(frames, boxes)):
            descs.append(self.emb.embed(f, box))
            p = self.emb.landmarks68(f, box)
            if p is not None:
                pts[i] = p
        return descs, pts


def _csim(real: list, fake: list) -> np.ndarray:
    return np.array([np.nan if r is None or f is None else cosine(r, f) for r, f in zip(real, fake)])


class Reenactor:
    """Generated frames for one (sources, target landmarks): the neural model or the mesh warp."""

    def __init__(self, model, options: EvalOptions, ex: Execution, progress: bool = False,
                 recipe: dict | None = None):
        self.model, self.opt, self.ex = model, options, ex
        self.recipe = dict(recipe or {})  # the checkpoint's fine-tuning recommendation
        self.plain = inference_copy(model, ex) if model is not None else None
        self.content = None
        self.progress = progress

    def finetune_options(self, t: int) -> FinetuneOptions:
        """Resolved exactly as animate and the nodes do: paper < checkpoint recommendation < caller."""
        return options_from_recipe(self.recipe, t, steps=self.opt.finetune_steps, seed=self.opt.seed or 0)

    def steps(self, t: int) -> int:
        return self.finetune_options(t).steps if self.opt.method == "neural" else 0

    def __call__(self, sources: Sources, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray | None, int]:
        """sources (crops [T,S,S,3], points [T,68,2]), targets [n,68,2] → (fake uint8 [n,S,S,3],
        realism float [n] or None, fine-tuning steps done)."""
        if self.model is None:  # warp without a model: no realism
            return self._warp(sources, targets), None, 0
        steps = self.steps(len(sources.crops))
        if steps > 0 and self.content is None:  # loaded once for every video and T
            self.content = ContentLoss.from_installed(self.ex.device)
        res = personalize(self.model, sources, self.recipe, self.ex, content=self.content, steps=steps,
                          seed=self.opt.seed or 0)
        model, identity = res.model, res.identity
        gen_model = res.model if steps > 0 else self.plain
        if self.opt.method == "warp":
            fake = self._warp(sources, targets)
        else:
            fake = np.stack(list(FrameGenerator(gen_model, identity, self.ex, self.opt.batch).stream(targets)))
        return fake, realism_scores(model, identity, fake, targets, self.ex, self.opt.batch), res.steps_done

    def _warp(self, sources: Sources, targets: np.ndarray) -> np.ndarray:
        """Every shot, each region from the source nearest the target, the targets streamed in order as
        in ``animate`` (and as the neural method's warp guide sees them)."""
        warper = ShotWarper(list(sources.crops), list(sources.points))
        return np.stack([warper.warp(p)[0] for p in targets])


def _load_model(model, method: str):
    """(model or None, description dict, training recipe dict)."""
    if model is None:
        if method == "neural":
            raise ValueError("the neural method needs --model (or use --method warp)")
        return None, {"file": None}, {}
    if isinstance(model, (str, os.PathLike)):
        info = model_info(model)
        return load_model(model), {"file": str(model), "preset": info["preset"],
                                   "description": info["description"]}, info["training"]
    return model, {"file": None, "preset": model.config.name}, {}


def _optional_status() -> dict[str, str | None]:
    return {"fid": fid_status(), "lpips": lpips_status()}


class _PerShot:
    """Accumulated results of one T."""

    def __init__(self):
        self.acc = MetricAccumulator()
        self.copy = MetricAccumulator()  # baseline: the first source frame, copied to every target
        self.videos = self.skipped = self.frames = self.steps = 0
        self.seconds = 0.0
        self.real: list[np.ndarray] = []
        self.fake: list[np.ndarray] = []


def _score(video: EvalVideo, probe: FaceProbe, shots: dict, sources: dict, targets: np.ndarray,
           gen: Reenactor, status: dict, size: int, bar) -> None:
    needed = sorted(set(targets.tolist()).union(*[set(s.tolist()) for s in sources.values() if s is not None]))
    crops = dict(zip(needed, video.frames(needed)))
    real, real_pts = np.stack([crops[i] for i in targets]), video.points[targets]
    boxes = [face_box(p, size) for p in real_pts]
    real_desc, real_lm = probe.describe(real, boxes)
    for t, src in sources.items():
        r = shots[t]
        if src is None:
            r.skipped += 1
            bar.update(1)
            continue
        t0 = time.perf_counter()
        fake, realism, done = gen(Sources(np.stack([crops[i] for i in src]), video.points[src]), real_pts)
        _add_frame_metrics(r.acc, probe, real, real_desc, real_lm, fake, boxes, real_pts)
        _add_frame_metrics(r.copy, probe, real, real_desc, real_lm, np.repeat(crops[src[0]][None], len(real), 0),
                           boxes, real_pts)
        if realism is not None:
            r.acc.add("realism", realism)
        if status["lpips"] is None:
            r.acc.add_result(lpips(real, fake))
        if status["fid"] is None:
            r.real.append(real)
            r.fake.append(fake)
        r.videos, r.frames, r.steps = r.videos + 1, r.frames + len(fake), r.steps + done
        r.seconds += time.perf_counter() - t0
        bar.update(1)


def _add_frame_metrics(acc, probe: FaceProbe, real, real_desc, real_lm, fake, boxes, points) -> None:
    fake_desc, fake_lm = probe.describe(fake, boxes)
    acc.add("l1", l1(real, fake))
    acc.add("psnr", psnr(real, fake))
    acc.add("ssim", ssim(real, fake))
    acc.add("csim", _csim(real_desc, fake_desc))
    acc.add_result(akd(real_lm, fake_lm, np.isfinite(real_lm).all((1, 2)), np.isfinite(fake_lm).all((1, 2))))
    opened = is_open(points)  # mouth metrics: open-mouth targets only (a closed mouth has no interior)
    for name, values in mouth_metrics(real[opened], fake[opened], points[opened]).items():
        acc.add(name, values)


def _summaries(shots: dict, status: dict, has_realism: bool, realism_why: str) -> dict:
    out = {}
    for t, r in shots.items():
        for name in ("lpips", "fid"):
            if status[name] is not None:
                r.acc.mark_unavailable(name, status[name])
        if status["fid"] is None:
            if r.frames >= 2:
                r.acc.add_result(fid(np.concatenate(r.real), np.concatenate(r.fake)))
            else:
                r.acc.mark_unavailable("fid", "fewer than 2 generated frames")
        if not has_realism:
            r.acc.mark_unavailable("realism", realism_why)
        summary = r.acc.summary()
        copy = r.copy.summary()
        out[str(t)] = {"videos": r.videos, "skipped_videos": r.skipped, "frames": r.frames,
                       "baseline_copy_source": {m: copy[m] for m in METRICS if m in copy},
                       "finetune_steps_per_video": (r.steps / r.videos) if r.videos else None,
                       "seconds_per_video": (r.seconds / r.videos) if r.videos else None,
                       "metrics": {m: summary[m] for m in METRICS if m in summary}}
    return out


@dataclass(frozen=True)
class EvalResult:
    """What ``evaluate`` measured; ``as_report()`` is the JSON report (format ``fsth-eval`` version 1)."""
    protocol: str
    method: str
    model: dict                      # file, preset, description
    data: dict                       # what was read (kind, ids, split)
    image_size: int
    device: str
    precision: str
    options: dict                    # the EvalOptions, shots sorted
    finetune_steps: dict[str, int]   # T -> fine-tuning steps per video
    metric_info: dict                # metric -> description, better, available, reason
    results: dict                    # T -> videos, frames, metrics (mean/std/count/missing), copy baseline
    seconds: float

    def as_report(self) -> dict:
        return {"format": "fsth-eval", "format_version": 1, **{f.name: getattr(self, f.name) for f in fields(self)}}


def evaluate(model, data: str | os.PathLike, options: EvalOptions = EvalOptions(),
             progress: bool = True) -> EvalResult:
    """Run the protocol. model: a model file, a TalkingHeadModel, or None (``method="warp"`` only).
    data: a training-set folder, any folder of videos, or one video."""
    t_start = time.perf_counter()
    model, model_desc, training = _load_model(model, options.method)
    ex = Execution.resolve(options.device, options.precision, config=None if model is None else model.config)
    size = model.config.image_size if model is not None else options.size
    vs = open_videos(data, size, options.held_out, options.seed, options.all_videos, options.videos,
                     options.backend, training, progress=False, video_level=options.video_level)
    shots_t = tuple(sorted({int(t) for t in options.shots}))
    shots = {t: _PerShot() for t in shots_t}
    status = _optional_status()
    gen, probe = Reenactor(model, options, ex, recipe=recipe_from_training(training)), FaceProbe()
    bar = tqdm(total=vs.count * len(shots_t), desc="eval", unit="run", disable=not progress, dynamic_ncols=True)
    try:
        for video in vs.videos():
            sources, targets = select_frames(video.usable, shots_t, options.frames)
            if len(targets) == 0:
                for r in shots.values():
                    r.skipped += 1
                bar.update(len(shots_t))
                continue
            _score(video, probe, shots, sources, targets, gen, status, size, bar)
    finally:
        bar.close()
    opts = asdict(options)
    opts["shots"] = list(shots_t)
    return EvalResult(
        protocol="self-reenactment: T frames of a held-out video give the identity (and fine-tuning), "
                 "the landmarks of other frames of the same video drive the generator",
        method=options.method, model=model_desc, data=vs.description, image_size=size,
        device=str(ex.device), precision=str(ex.dtype).replace("torch.", ""), options=opts,
        finetune_steps={str(t): gen.steps(t) for t in shots_t},
        metric_info={m: {"description": d, "better": b, "available": status.get(m) is None,
                         "reason": status.get(m) or ""} for m, (d, b) in METRICS.items()},
        results=_summaries(shots, status, model is not None, "needs a model (--model) for its discriminator"),
        seconds=time.perf_counter() - t_start,
    )


def _fmt(v) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    return f"{v:.4f}" if abs(v) < 1000 else f"{v:.1f}"


def format_report(report: EvalResult | dict) -> str:
    """One text table per T: metric, mean, std, count, missing (or 'unavailable: reason').  ``report``:
    an EvalResult, or its report as read back from JSON."""
    if isinstance(report, EvalResult):
        report = report.as_report()
    lines = []
    for t, r in report["results"].items():
        lines.append(f"T = {t}: {r['videos']} videos, {r['frames']} frames, {r['skipped_videos']} skipped"
                     + (f", {r['finetune_steps_per_video']:.0f} fine-tuning steps" if r["videos"] else ""))
        lines.append(f"  {'metric':<8} {'mean':>10} {'std':>10} {'n':>6} {'missing':>7}  {'copy source':>11}  better")
        copy = r.get("baseline_copy_source", {})
        for name, s in r["metrics"].items():
            if s.get("available") is False:
                lines.append(f"  {name:<8} unavailable: {s['reason']}")
                continue
            base = _fmt(copy[name]["mean"]) if name in copy and copy[name].get("available", True) else "-"
            lines.append(f"  {name:<8} {_fmt(s['mean']):>10} {_fmt(s['std']):>10} {s['count']:>6} "
                         f"{s['missing']:>7}  {base:>11}  {METRICS[name][1]}")
    return "\n".join(lines)
