"""The main job: 1-32 images of a person + a motion source -> a video of that person.

Stages: load sources (detect, crop) → motion (driver video retargeted, or procedural) →
identity (embed, fine-tune) → generate (streaming) → write mp4 (atomic; no partial file left).
Generation runs pipelined by default (fsth_core.inference.realtime: the generator's inputs, the network and
the composition each in a thread of their own, the same frames as one after the other); a camera
as the driver animates live, and a preview window shows the frames as they are made.
"""
from __future__ import annotations

import contextlib
import dataclasses
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import cv2
import numpy as np
from tqdm import tqdm

from fsth_core.inference.animate_checks import check_options
from fsth_core.inference.clip_shots import clip_sources
from fsth_core.inference.compose import NativeCompositor, shot_regions
from fsth_core.inference.finetune import finetune, finetune_recipe, options_from_recipe
from fsth_core.inference.person import load_person, save_person
from fsth_core.inference.pipeline import FrameGenerator, RealismScorer, compute_identity, prepare_sources
from fsth_core.inference.realtime import (LiveDriver, LiveMotion, Pipeline, PreviewWindow, camera_index, capture_fps,
                                          generation_threads, is_capture, mapped, open_camera, stop_requests,
                                          torch_threads)
from fsth_core.inference.types import Sources
from fsth_core.io.media import load_image, mux_audio
from fsth_core.io.sinks import FrameSink, check_outputs  # FrameSink re-exported: where frames go
from fsth_core.landmarks.audio import audio_motion, load_audio
from fsth_core.landmarks.crop import head_crop_box
from fsth_core.landmarks.edit import ExpressionEdit, edit_landmarks
from fsth_core.landmarks.face_box import FaceBox, boxes_for
from fsth_core.landmarks.given import given_points
from fsth_core.landmarks.motion import procedural_motion
from fsth_core.landmarks.paste import paste_back
from fsth_core.landmarks.retarget import retarget
from fsth_core.landmarks.track import extract_landmarks, extract_landmarks_from_path
from fsth_core.models.weights import load_model
from fsth_core.options import MAX_SHOTS, METHODS, RETARGET_MODES
from fsth_core.runtime.device import Execution
from fsth_core.warp.shots import ShotWarper

AUDIO_OUT_EXTS = (".mp4", ".mov", ".mkv")  # containers the sound (AAC) is muxed into


@dataclass(frozen=True)
class AnimateOptions:
    method: str = "neural"            # "neural" (the paper) or "warp" (training-free mesh warp)
    # Fine-tuning; None: the checkpoint's recommendation (its metadata), else the paper's
    # defaults (fsth_core.options: steps growing with T, the paper's lr, no pixel L1).  0 steps: feed-forward.
    finetune_steps: int | None = None
    finetune_lr_g: float | None = None
    finetune_lr_d: float | None = None
    finetune_pixel_l1: float | None = None
    retarget: str = "relative"        # "relative" or "absolute" (the paper)
    paste_back: bool = True           # the whole picture at its own resolution (False: head crops)
    fps: float | None = None          # default: the driver's fps, or 25 for procedural motion
    seconds: float = 4.0              # procedural motion length
    intensity: float = 1.0
    seed: int = 0
    smoothing: float = 0.3            # driver landmark smoothing (0 = off)
    batch: int = 8
    backend: str = "auto"
    device: str = "auto"
    precision: str = "auto"
    warp_size: int = 256              # crop size of the mesh-warp method
    shots: int = MAX_SHOTS            # frames picked from a source clip (source_clip)
    min_realism: float | None = None  # frames D scores below this are replaced by the last kept frame
    crf: int = 18                     # video quality of the output (x264 CRF: 0 best .. 51 worst)
    edit: ExpressionEdit | None = None  # expression edit applied to every frame of the motion
    pipeline: bool = True             # stages in threads (the same frames); False: one after another
    threads: int | None = None        # torch threads while generating; None: all CPUs but one when
                                      # pipelined (one is left to the other stages and the encoder)
    # where no detector finds a face (fsth_core/landmarks/face_box.py): its box in each source picture (one
    # for all, or one per picture) or in a source video's first frame, and in the driver video's first frame
    face_boxes: tuple[FaceBox, ...] | None = None
    driver_face_box: FaceBox | None = None
    source_landmarks: str | None = None  # a .npz of the sources' landmarks, given instead of detected

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {self.method!r}")
        if self.retarget not in RETARGET_MODES:
            raise ValueError(f"retarget must be one of {RETARGET_MODES}, got {self.retarget!r}")
        check_options(self)


@dataclass(frozen=True)
class AnimateResult:
    """What ``animate`` did: where the video went, how many frames, and how fast."""
    out: str
    method: str
    frames: int                      # frames of the motion
    written: int                     # frames written (fewer when interrupted)
    fps: float                       # frame rate of the video
    sources: int                     # pictures of the person
    frames_per_s: float              # achieved, end to end: the driver's landmarks, generation, paste-back, encoding
    finetune_steps: int | None = None
    held_frames: int | None = None   # frames --min-realism replaced (None: not asked)
    person: str | None = None
    audio: str | None = None
    setup_s: float | None = None     # before the first frame: model, sources, identity, fine-tuning
    camera: bool | None = None       # the driver was a camera (live)
    skipped: int | None = None       # camera frames skipped while the pipeline was busy (their time held)
    stopped: bool | None = None      # ended early by the user (q/Esc in the preview, Ctrl-C with a camera)

    def as_summary(self) -> dict:
        """A plain dict (the entries that are set), as printed by the command line."""
        return {k: v for k, v in self.__dict__.items() if v is not None}


def load_sources(paths: Sequence[str | os.PathLike], size: int, backend: str = "auto", face_boxes=None,
                 landmarks: str | os.PathLike | None = None) -> Sources:
    """Read 1-32 source images, find the face in each (one clear error per bad file), crop.  ``face_boxes``:
    the face's box in every picture, or one per picture (see fsth_core.landmarks.face_box.boxes_for);
    ``landmarks``: a .npz of the pictures' landmarks, used instead of detecting them (landmarks/given.py)."""
    if not paths:
        raise ValueError("give at least one source image")
    if landmarks is not None and face_boxes is not None:
        raise ValueError("give the sources' landmarks or their face boxes, not both")
    images = [load_image(p) for p in paths]
    if landmarks is not None:
        return prepare_sources(images, given_points(landmarks, [i.shape[:2] for i in images], list(map(str, paths))),
                               size)
    points = [extract_landmarks([img], backend=backend, progress=False, name=str(p), face_box=box).points[0]
              for img, p, box in zip(images, paths, boxes_for(face_boxes, len(paths)))]
    return prepare_sources(images, points, size)


def driver_motion(path: str | os.PathLike, sources: Sources, size: int, mode: str, backend: str = "auto",
                  smoothing: float = 0.3, progress: bool = True, fps: float | None = None,
                  face_box: FaceBox | None = None) -> tuple[np.ndarray, float]:
    """Landmarks of a driving video, in the source crop's pixels -> ([T,68,2], fps).  A video is
    sampled by its timestamps at ``fps`` (default: its average rate): the motion lasts as long.
    ``face_box``: the driver's face in its first frame (it seeds the tracker)."""
    res = extract_landmarks_from_path(path, rate=fps, backend=backend, smoothing=smoothing, progress=progress,
                                      face_box=face_box)
    box = head_crop_box(res.points, res.image_size)
    drv = box.points_to_crop(res.points, size)
    return retarget(sources.points[0], drv, mode=mode), float(res.fps or 25.0)


def procedural(sources: Sources, seconds: float, fps: float, seed: int, intensity: float) -> np.ndarray:

    frames = max(1, int(round(seconds * fps)))
    return procedural_motion(sources.points[0], frames, fps=fps, seed=seed, intensity=intensity)


def audio_driven(sources: Sources, audio: str | os.PathLike, fps: float, seed: int, intensity: float) -> np.ndarray:
    """Motion talking to a sound file (wav, mp3, the sound of a video): as long as the sound."""
    samples, rate = load_audio(audio)
    return audio_motion(sources.points[0], samples, rate, fps=fps, seed=seed, intensity=intensity)


def _bar(total: int | None, desc: str, enabled: bool):
    return tqdm(total=total, desc=desc, unit="frame", disable=not enabled, dynamic_ncols=True)


def animate(model_path: str | os.PathLike | None, source_paths: Sequence[str | os.PathLike], out: str | os.PathLike,
            driver=None, options: AnimateOptions = AnimateOptions(),
            frames_dir: str | os.PathLike | None = None, person_in: str | os.PathLike | None = None,
            person_out: str | os.PathLike | None = None, progress: bool = True,
            audio: str | os.PathLike | None = None, preview=False,
            source_clip: str | os.PathLike | None = None) -> AnimateResult:
    """Run the whole job; returns what it did (frames, fps, output paths, fine-tuning steps).  With ``audio``
    (and no driver) the motion talks to that sound, and the sound is muxed into the video.

    ``driver``: a video or folder of frames; or a camera, live: its index (an int, or a string of digits
    that names no file) or an object that reads like cv2.VideoCapture (``read() -> (ok, BGR frame)``).
    A live recording runs until the camera ends, q/Esc in the preview or Ctrl-C, and the video of what
    was recorded is written whole (a second Ctrl-C aborts and leaves nothing).  ``preview``: True for
    an OpenCV window showing the frames with the achieved fps (a one-line ValueError where there is no
    display), or an object with ``show(frame) -> bool`` (False: stop) and ``close()``.  ``source_clip``: a
    video (or folder of frames) of the person instead of ``source_paths``: up to ``options.shots`` diverse
    frames of it are the sources (fsth_core.inference.clip_shots), the most typical one animated."""
    t_start = time.perf_counter()
    cam = camera_index(driver)
    live = cam is not None or is_capture(driver)
    check_outputs(out, frames_dir, inputs=[model_path, *source_paths, source_clip, None if live else driver,
                                           person_in, audio, options.source_landmarks],
                  files={"--person-out": person_out})
    if live and (options.min_realism is not None or audio is not None or options.driver_face_box is not None):
        raise ValueError("a camera driver works without --min-realism, --audio and --driver-face-box")
    if options.method == "neural" and model_path is None:
        raise ValueError("the neural method needs --model (or use --method warp)")
    window = PreviewWindow() if preview is True else (preview or None)
    capture = open_camera(cam) if cam is not None else (driver if live else None)
    try:
        return _animate(model_path, source_paths, out, driver, capture, options, frames_dir, person_in,
                        person_out, progress, audio, window, t_start, source_clip)
    finally:
        if window is not None and preview is True:
            window.close()
        if cam is not None:
            capture.release()


def _animate(model_path, source_paths, out, driver, capture, options: AnimateOptions, frames_dir, person_in,
             person_out, progress: bool, audio, window, t_start: float, source_clip=None) -> AnimateResult:
    model = load_model(model_path) if options.method == "neural" else None
    ex = Execution.resolve(options.device, options.precision, config=None if model is None else model.config,
                           threads=options.threads or generation_threads(options.pipeline))
    size = model.config.image_size if model is not None else options.warp_size
    if source_clip is not None:
        sources = clip_sources(source_clip, size, options.shots, options.backend, progress)
    else:
        sources = load_sources(source_paths, size, options.backend, options.face_boxes, options.source_landmarks)
    landmarks_s, live = 0.0, capture is not None
    if live:
        fps = options.fps or capture_fps(capture)
        options = dataclasses.replace(options, batch=1)  # live: one frame at a time, the lowest latency
        points = None
    elif driver is not None:
        t = time.perf_counter()
        points, fps = driver_motion(driver, sources, size, options.retarget, options.backend,
                                    options.smoothing, progress, fps=options.fps, face_box=options.driver_face_box)
        landmarks_s = time.perf_counter() - t
        fps = options.fps or fps
    elif audio is not None:
        fps = options.fps or 25.0
        points = audio_driven(sources, audio, fps, options.seed, options.intensity)
    else:
        fps = options.fps or 25.0
        points = procedural(sources, options.seconds, fps, options.seed, options.intensity)
    if options.edit is not None and points is not None:
        points = edit_landmarks(points, options.edit)
    info: dict = {}
    if model is not None:
        model, identity, info = _identity(model, sources, options, ex, person_in, person_out, progress,
                                          finetune_recipe(model_path))
    if audio is not None and Path(out).suffix.lower() not in AUDIO_OUT_EXTS:
        print(f"note: the sound is not added: {Path(out).suffix or 'PNG frames'} cannot carry it "
              f"(use {', '.join(AUDIO_OUT_EXTS)})")
        audio_out = None
    else:
        audio_out = audio
    video = out if audio_out is None else _sibling_temp(out, ".silent.mp4")
    pipe = Pipeline(options.pipeline, maxsize=1 if live else 2)
    threads = options.threads or generation_threads(options.pipeline)
    driver_stage = None
    bar = _bar(None if live else len(points), "animating live" if live else "generating", progress)
    try:
        with torch_threads(threads), stop_requests() if live else contextlib.nullcontext() as stop, pipe:
            try:
                if live:  # Ctrl-C ends the camera's stream: the frames on their way are finished and written
                    from fsth_core.landmarks.detect import get_detector

                    motion = LiveMotion(sources.points[0], size, get_detector(options.backend), options.retarget,
                                        options.smoothing, fps, options.edit)
                    points = driver_stage = LiveDriver(capture, motion, end=stop)
                if model is not None:
                    frames = _neural_frames(model, identity, sources, points, options, ex, pipe)
                else:
                    frames = _warp_frames(sources, points, options, pipe)
                setup_s = time.perf_counter() - t_start - landmarks_s
                t0 = time.perf_counter()
                with FrameSink(video, fps, frames_dir, crf=options.crf) as sink:
                    generated, held, stopped = _write(frames, sink, bar, window, driver_stage)
                    if live and not generated:
                        raise ValueError(f"{_camera_name(driver)}: no face was seen, nothing was recorded")
                stopped = stopped or (live and stop.is_set())
            finally:
                if driver_stage is not None:
                    driver_stage.close()
        frames_per_s = generated / max(time.perf_counter() - t0 + landmarks_s, 1e-9)
        if audio_out is not None:
            mux_audio(video, audio_out, out)
    finally:
        bar.close()
        if audio_out is not None:
            Path(video).unlink(missing_ok=True)
    return AnimateResult(out=str(out), method=options.method, frames=generated if live else int(len(points)),
                         written=sink.count, fps=fps, sources=len(sources.crops), frames_per_s=frames_per_s,
                         finetune_steps=info.get("finetune_steps"), person=info.get("person"),
                         held_frames=held if options.min_realism is not None and model is not None else None,
                         audio=None if audio_out is None else str(audio_out), setup_s=setup_s,
                         camera=True if live else None,
                         skipped=driver_stage.frames_skipped if live else None, stopped=stopped or None)


def _camera_name(driver) -> str:
    return f"camera {driver}" if camera_index(driver) is not None else "the camera"


def _write(frames, sink: FrameSink, bar, window, live: LiveDriver | None) -> tuple[int, int, bool]:
    """Write (and show) the frames -> (frames generated, frames held by --min-realism, stopped early).
    ``live``: the camera's frames skipped while the pipeline was busy hold the previous frame, so the
    video keeps the camera's timing."""
    generated = held = 0
    last = None
    for f, was_held in frames:
        skipped = live.skips.popleft() if live is not None else 0
        for _ in range(skipped if last is not None else 0):
            sink.write(last)
        sink.write(f)
        last = f
        generated += 1
        held += was_held
        bar.update(1)
        if window is not None and not window.show(f):
            return generated, held, True
    for _ in range(live.trailing if live is not None and last is not None else 0):
        sink.write(last)
    return generated, held, False


def _sibling_temp(out: str | os.PathLike, suffix: str) -> Path:
    """A new, unique temporary file name next to ``out`` (hidden, removed by the caller)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.stem}.", suffix=suffix, dir=out.parent)
    os.close(fd)
    return Path(tmp)


def _identity(model, sources: Sources, options: AnimateOptions, ex: Execution, person_in, person_out,
              progress: bool, recipe: dict):
    """The person for this job: loaded, or embedded and (when asked) fine-tuned -> (model, identity,
    summary entries)."""
    info: dict = {}
    if person_in is not None:
        model, identity = load_person(person_in, model)
    else:
        identity = compute_identity(model, sources, ex)
        opts = options_from_recipe(recipe, len(sources.crops), steps=options.finetune_steps,
                                   lr_g=options.finetune_lr_g, lr_d=options.finetune_lr_d,
                                   pixel_l1=options.finetune_pixel_l1, seed=options.seed)
        if opts.steps > 0:
            bar = _bar(opts.steps, "fine-tuning", progress)
            bar.unit = "step"
            try:
                res = finetune(model, identity, sources, opts, ex, lambda done, total: bar.update(done - bar.n))
            finally:
                bar.close()
            if res.interrupted:
                print(f"fine-tuning interrupted after {res.steps_done} steps: animating with that state")
            model, identity = res.model, res.identity
            info["finetune_steps"] = res.steps_done
        if person_out is not None:
            save_person(person_out, identity, model if info.get("finetune_steps") else None)
    if person_out is not None:
        info["person"] = str(person_out)
    return model, identity, info


def _compositor(sources: Sources, size: int):
    """The picture's compositor, with every source as a shot (each region from the nearest)."""
    return NativeCompositor(sources.images[0], sources.transforms[0], sources.points[0], size,
                            shots=shot_regions(sources)[1:])


def _warp_frames(sources: Sources, points: Iterable[np.ndarray], options: AnimateOptions,
                 pipe: Pipeline | None = None) -> Iterator[tuple[np.ndarray, bool]]:
    """The mesh warp alone, as (frame, held=False) pairs: the whole picture at its own resolution, or
    (no paste-back) head crops.  ``pipe``: the warp runs in a thread of its own."""
    pipe = pipe or Pipeline(enabled=False)
    if not options.paste_back:
        warper = ShotWarper(list(sources.crops), list(sources.points))
        frames = mapped(lambda p: warper.warp(p)[0], points)
    else:
        comp = _compositor(sources, sources.crops.shape[1])
        frames = mapped(lambda p: comp.paste(comp.region_frame(p)[0])[0], points)
    return ((f, False) for f in pipe.stage(frames, "warp"))


def _neural_frames(model, identity, sources: Sources, points: Iterable[np.ndarray], options: AnimateOptions,
                   ex: Execution, pipe: Pipeline | None = None) -> Iterator[tuple[np.ndarray, bool]]:
    """Generated frames: with paste-back, warp-guided models compose at the picture's resolution
    (the generator paints only its paint region) and the paper's plain generator is pasted back
    resized; without, head crops at the model's size.  (frame, held) pairs: held is True where
    --min-realism replaced the frame by the last kept one; the caller counts them.

    ``pipe``: the stages run in threads of their own — the generator's inputs (landmark images, the
    mesh warp at the model's size, the paint region), the network, the composition, the realism
    score — each a step ahead of the next; the frames are the same."""
    pipe = pipe or Pipeline(enabled=False)
    gen = FrameGenerator(model, identity, ex, batch=options.batch)
    tf, size = sources.transforms[0], gen.size
    warp_paste = options.paste_back and gen.warp_guided
    room = pipe.maxsize * options.batch  # a stage that works in batches is a batch ahead
    composed = room if options.min_realism is not None else None  # the realism stage takes frames in batches
    outs = pipe.stage(gen.batch_outputs(pipe.stage(gen.batch_inputs(points), "inputs"), parts=warp_paste,
                                        with_points=True), "generate", maxsize=room)
    if warp_paste:
        comp = _compositor(sources, size)
        frames = pipe.stage(mapped(lambda pp: comp.paste(comp.region_frame(*pp)[0])[0], outs), "compose", composed)
    elif options.paste_back:
        frames = pipe.stage(mapped(lambda pp: paste_back(sources.images[0], pp[1], tf), outs), "compose", composed)
    else:
        frames = (f for _, f in outs)
    to_model = (lambda f: tf.apply(f, size)) if options.paste_back else None  # noqa: E731 - what D scores
    if options.min_realism is None:
        return ((f, False) for f in frames)
    scorer = RealismScorer(model, identity, ex, options.batch)
    return pipe.stage(_hold_unrealistic(frames, points, scorer, options.min_realism, to_model), "realism")


def _hold_unrealistic(frames: Iterable[np.ndarray], points: np.ndarray, scorer, threshold: float,
                      to_model=None) -> Iterator[tuple[np.ndarray, bool]]:
    """(frame, held) pairs: frames whose realism is below ``threshold`` are replaced by the last kept
    one (timing is kept).  Frames are scored in batches of the scorer's size as they stream by,
    after ``to_model`` (a full picture -> its head crop at the model's size) when given."""
    def small(f: np.ndarray) -> np.ndarray:
        if to_model is not None:
            return to_model(f)
        s = scorer.size
        return f if f.shape[0] == s else cv2.resize(f, (s, s), interpolation=cv2.INTER_AREA)

    last = None
    pairs = zip(frames, points)
    while True:
        chunk = [pair for _, pair in zip(range(scorer.batch), pairs)]
        if not chunk:
            return
        scores = scorer(np.stack([small(f) for f, _ in chunk]), np.stack([p for _, p in chunk]))
        for (f, _), r in zip(chunk, scores):
            held = r < threshold and last is not None
            if not held:
                last = f
            yield last, held
