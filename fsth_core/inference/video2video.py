"""Video-to-video: re-animate the face *in* a video, frame by frame, at the video's resolution.

Person A's clip gives every output frame: A's own frame, A's per-frame head box (following the
head, smoothed over time) and landmarks.  The motion (person B's landmarks, or procedural motion)
is applied *relative*: B's change from its reference frame — expression and head pose — is added to
A's own pose and expression of that frame (fsth_core.landmarks.retarget, relative mode).  Each frame
is then warped (and, with a warp-guided model, painted in its paint region) at native resolution
and only its animated region replaces A's pixels (fsth_core.inference.compose).

    for frame, mask in reanimate_video(frames, points_a, motion_b, fps=25, size=128):
        ...
"""
from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator, Sequence

import numpy as np

from fsth_core.inference.animate import AnimateOptions, finetuned_person, progress_bar
from fsth_core.inference.compose import NATIVE, NATIVE_WARP, NativeCompositor, composition, native_region
from fsth_core.inference.finetune import finetune_recipe
from fsth_core.inference.pipeline import FrameGenerator, compute_identity, prepare_sources
from fsth_core.io.media import iter_frames, probe
from fsth_core.io.sinks import FrameSink, check_outputs
from fsth_core.landmarks.crop import head_crop_boxes
from fsth_core.landmarks.detect import LandmarkResult
from fsth_core.landmarks.diverse import diverse_frames
from fsth_core.landmarks.edit import edit_landmarks
from fsth_core.landmarks.face_box import boxes_for
from fsth_core.landmarks.given import given_points
from fsth_core.landmarks.motion import procedural_motion
from fsth_core.landmarks.retarget import retarget
from fsth_core.landmarks.track import extract_landmarks_from_path
from fsth_core.models.weights import load_model
from fsth_core.runtime.device import Execution
from fsth_core.warp.shots import Shot


def relative_targets(points: np.ndarray, motion: np.ndarray, reference: int = 0) -> np.ndarray:
    """A's landmarks [T,68,2] moved by the motion's change from its ``reference`` frame ([T,68,2], any
    coordinates) -> float32 [T,68,2] in A's pixels.  A motion shorter than the clip holds its last set."""
    pts = np.asarray(points, np.float32)
    mo = np.asarray(motion, np.float32)
    if pts.ndim != 3 or mo.ndim != 3 or len(mo) == 0:
        raise ValueError(f"expected landmark tracks [T,68,2], got {list(pts.shape)} and {list(mo.shape)}")
    ref = mo[reference]
    return np.stack([retarget(p, np.stack([ref, mo[min(t, len(mo) - 1)]]))[1] for t, p in enumerate(pts)])


def video_shots(frames: Iterable[np.ndarray], points: np.ndarray, count: int, fps: float = 25.0) -> list[Shot]:
    """Up to ``count`` frames of A's clip that show the face most differently (fsth_core.landmarks.diverse),
    prepared as shots: each frame's head region and its landmarks.  ``frames`` streamed, [T,68,2] points."""
    pts = np.asarray(points, np.float32)
    pick = set(diverse_frames(pts, count).tolist()) if count > 1 else set()
    shots, boxes = [], None
    for t, frame in enumerate(frames):
        if t > max(pick, default=-1):
            break
        if t not in pick:
            continue
        if boxes is None:
            boxes = head_crop_boxes(pts, frame.shape[:2], fps)
        r = native_region(boxes[t], frame.shape[:2])
        shots.append(Shot(np.ascontiguousarray(r.cut(frame)), pts[t] - np.float32([r.x0, r.y0]), NATIVE_WARP))
    return shots


def reanimate_video(frames: Iterable[np.ndarray], points: np.ndarray, motion: np.ndarray, size: int,
                    fps: float = 25.0, generator=None, reference: int = 0,
                    progress=None, shots: Sequence[Shot] = ()) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield (frame uint8 [H,W,3], animated-region mask float32 [H,W]) for each frame of A's clip.

    frames: A's frames (streamed); points: A's landmarks [T,68,2] (one set per frame, in frame pixels);
    motion: B's landmarks or procedural motion [T',68,2]; size: the model's crop side (the warp
    method: any, e.g. 256); generator: a warp-guided FrameGenerator (None: the mesh warp alone);
    shots: other frames of the clip (:func:`video_shots`): a region the frame does not show well (an open
    mouth in a frame where it is closed) comes from the nearest of them, as in ``animate``.
    """
    pts = np.asarray(points, np.float32)
    targets = relative_targets(pts, motion, reference)
    boxes, choosers = None, {}
    for t, frame in enumerate(frames):
        if t >= len(pts):
            break
        if boxes is None:
            boxes = head_crop_boxes(pts, frame.shape[:2], fps)
        box = boxes[t]
        src_pts, tgt = box.points_to_crop(pts[t], size), box.points_to_crop(targets[t], size)
        comp = NativeCompositor(frame, box, src_pts, size, shots=shots, choosers=choosers)
        paint = None
        if generator is not None:
            rgb, w = generator.paint(tgt[None], source=(box.apply(frame, size), src_pts))
            paint = (rgb[0], w[0])
        yield comp.frame(tgt, paint)
        if progress:
            progress(t + 1, len(pts))


def reanimate_clip(frames: np.ndarray, points: np.ndarray, motion: np.ndarray, model=None, fps: float = 25.0,
                   execution=None, batch: int = 8, warp_size: int = 256,
                   progress=None, shots: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """A whole clip in memory (the ComfyUI node's entry): frames uint8 [T,H,W,3], points [T,68,2],
    motion [T',68,2] -> (uint8 [T,H,W,3], masks float32 [T,H,W]).  ``model``: a warp-guided model
    (its identity comes from the clip's first frame) or None for the mesh warp alone; ``shots``: how many
    of the clip's own frames the warp may take a region from (:func:`video_shots`; 1: the frame alone)."""
    if len(frames) != len(points):
        raise ValueError(f"the clip has {len(frames)} frames but its landmarks {len(points)}: extract the "
                         "landmarks of this clip")
    gen, size = None, warp_size
    if model is not None:
        if composition(model.config) != NATIVE:  # a clip is composed at its own resolution, or not at all
            raise ValueError("video-to-video needs a warp-guided model (or the warp method)")
        size = model.config.image_size
        ident = compute_identity(model, prepare_sources(frames[:1], points[:1], size), execution)
        gen = FrameGenerator(model, ident, execution, batch=batch)
    extra = video_shots(frames, points, shots, fps)
    out = list(reanimate_video(frames, points, motion, size, fps, gen, progress=progress, shots=extra))
    return np.stack([f for f, _ in out]), np.stack([m for _, m in out])


def _clip_landmarks(clip, opt, progress: bool):
    """The clip's landmarks: tracked (from its face box, if given), or the user's .npz (one set per frame)."""
    if opt.source_landmarks is None:
        box = boxes_for(opt.face_boxes, 1, "source video")[0]
        return extract_landmarks_from_path(clip, rate=opt.fps, backend=opt.backend, smoothing=opt.smoothing,
                                           progress=progress, face_box=box)
    if opt.face_boxes is not None:
        raise ValueError("give the source video's landmarks or its face box, not both")
    info, res = probe(clip), LandmarkResult.load(opt.source_landmarks)
    expected = info.frames
    if info.kind == "video" and opt.fps and info.fps:
        expected = int(round(info.frames * opt.fps / info.fps))
    if expected and abs(len(res) - expected) > 1 + 0.01 * expected:
        raise ValueError(f"{opt.source_landmarks} holds {len(res)} frames of landmarks, {clip} has about {expected}: "
                         "give one set per frame (the landmarks command on the clip, at the same --fps)")
    res.points = given_points(opt.source_landmarks, [(info.height, info.width)] * len(res), [str(clip)] * len(res),
                              "frame")
    res.fps = res.fps or opt.fps or info.fps
    return res


def animate_clip(model_path, clip: str | os.PathLike, out: str | os.PathLike, driver: str | os.PathLike | None = None,
                 options=None, frames_dir: str | os.PathLike | None = None, progress: bool = True) -> dict:
    """The command line's ``animate --source-video``: re-animate the face in ``clip`` (a video or a folder of
    frames) with a driver's motion (relative) or procedural motion, streamed frame by frame to ``out``.
    Output fps and length are the clip's (``options.fps`` resamples it); ``options`` is an AnimateOptions."""
    opt = options or AnimateOptions()
    check_outputs(out, frames_dir, inputs=[model_path, clip, driver, opt.source_landmarks])
    ex = Execution.resolve(opt.device, opt.precision)
    track = _clip_landmarks(clip, opt, progress)
    fps = float(opt.fps or track.fps or 25.0)
    if driver is not None:
        motion = extract_landmarks_from_path(driver, rate=fps, backend=opt.backend, smoothing=opt.smoothing,
                                             progress=progress, face_box=opt.driver_face_box).points
    else:
        motion = procedural_motion(track.points[0], len(track), fps=fps, seed=opt.seed, intensity=opt.intensity)
    if opt.edit is not None:
        motion = edit_landmarks(motion, opt.edit)
    shots = video_shots(iter_frames(clip, fps=opt.fps), track.points, opt.shots, fps)
    summary = {"frames": len(track), "fps": fps, "out": str(out), "method": opt.method,
               "sources": 1 + len(shots)}
    gen, size = None, opt.warp_size
    if opt.method == "neural":
        if model_path is None:
            raise ValueError("the neural method needs --model (or use --method warp)")
        model = load_model(model_path)
        if composition(model.config) != NATIVE:
            raise ValueError(f"{model_path}: video-to-video needs a warp-guided model (or --method warp)")
        ex = Execution.resolve(opt.device, opt.precision, config=model.config)
        size = model.config.image_size
        first = next(iter_frames(clip, fps=opt.fps))
        sources = prepare_sources([first], track.points[:1], size)
        res = finetuned_person(model, sources, opt, ex, finetune_recipe(model_path), progress)
        if res.options.steps > 0:
            summary["finetune_steps"] = res.steps_done
        gen = FrameGenerator(res.model, res.identity, ex, batch=opt.batch)
    bar = progress_bar(len(track), "re-animating", progress)
    t0 = time.perf_counter()
    try:
        with FrameSink(out, fps, frames_dir, crf=opt.crf) as sink:
            for frame, _ in reanimate_video(iter_frames(clip, fps=opt.fps), track.points, motion, size, fps, gen,
                                            shots=shots):
                sink.write(frame)
                bar.update(1)
        summary["frames_per_s"] = sink.count / max(time.perf_counter() - t0, 1e-9)
    finally:
        bar.close()
    summary["written"] = sink.count
    return summary
