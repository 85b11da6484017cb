"""The main job: 1-32 images of a person + a motion source -> a video of that person.

``animate`` checks its inputs and outputs before any work, then runs the numbered stages of ``_animate``:
1. sources (detect, crop) → 2. motion (a driver video retargeted, a sound, procedural) → 3. the person
(embed, fine-tune: fsth_core.inference.finetune.personalize) → 4. where the frames go → 5. the frames, made
in stages and composed as fsth_core.inference.compose decides, written as they come (atomic; no partial
file left) → 6. the sound muxed in.
Generation runs pipelined by default (fsth_core.runtime.threads: the generator's inputs, the network and
the composition each in a thread of their own, the same frames as one after the other); a camera
as the driver animates live (fsth_core.inference.live), and a preview window shows the frames as they are
made.
"""
from __future__ import annotations

import contextlib
import dataclasses
import os
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from fsth_core.inference.animate_checks import check_options
from fsth_core.inference.clip_shots import clip_sources
from fsth_core.inference.compose import Canvas, composed_frames
from fsth_core.inference.finetune import FinetuneResult, finetune_recipe, personalize
from fsth_core.inference.frames import check_picture
from fsth_core.inference.inputs import audio_driven, driver_motion, load_sources, procedural
from fsth_core.inference.live import (
    LiveDriver,
    LiveMotion,
    PreviewWindow,
    camera_index,
    capture_fps,
    is_capture,
    open_camera,
)
from fsth_core.inference.person import load_person, save_person
from fsth_core.inference.pipeline import FrameGenerator, RealismScorer, hold_unrealistic
from fsth_core.inference.types import Sources
from fsth_core.io.media import iter_frames, mux_audio
from fsth_core.io.outpaths import deferred_output
from fsth_core.io.sinks import FrameSink, check_outputs  # FrameSink re-exported: where frames go
from fsth_core.landmarks.detect import get_detector
from fsth_core.landmarks.edit import ExpressionEdit, edit_landmarks
from fsth_core.landmarks.face_box import FaceBox
from fsth_core.models.weights import load_model
from fsth_core.options import MAX_SHOTS, METHODS, RETARGET_MODES
from fsth_core.runtime.device import Execution
from fsth_core.runtime.signals import stop_requests
from fsth_core.runtime.threads import Pipeline, generation_threads, torch_threads

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
    finetune_d_steps: int | None = None  # D updates per G update (None: the model's meta-learning --d-steps)
    retarget: str = "relative"        # "relative" or "absolute" (the paper)
    paste_back: bool = True           # the whole picture at its own resolution (False: head crops)
    fps: float | None = None          # default: the driver's fps, or 25 for procedural motion
    seconds: float = 4.0              # procedural motion length
    intensity: float = 1.0
    seed: int = 0
    smoothing: float = 0.3            # driver landmark smoothing (0 = off)
    batch: int = 8
    backend: str = "auto"
    face: str | int = "largest"       # which face of each source picture: the largest, or the N-th from the left
    device: str = "auto"
    precision: str = "auto"
    warp_size: int = 256              # crop size of the mesh-warp method
    shots: int = MAX_SHOTS            # frames picked from a source clip (source_clip)
    driver_mouth: bool = False        # a driver video's own mouth interior (teeth, tongue) in every frame
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


def progress_bar(total: int | None, desc: str, enabled: bool, unit: str = "frame"):
    """The command line's progress bar (tqdm; ``enabled`` False: none shown)."""
    return tqdm(total=total, desc=desc, unit=unit, disable=not enabled, dynamic_ncols=True)


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
    if live and (options.min_realism is not None or audio is not None or options.driver_face_box is not None
                 or options.driver_mouth):
        raise ValueError("a camera driver works without --min-realism, --audio, --driver-face-box and "
                         "--driver-mouth")
    if options.driver_mouth and driver is None:
        raise ValueError("--driver-mouth takes the mouth of a driver video: give --driver")
    if options.method == "neural" and model_path is None:
        raise ValueError("the neural method needs --model (or use --method warp)")
    if options.method != "neural" and (person_in is not None or person_out is not None):
        raise ValueError("--person and --person-out work with the neural method (a person is the model's)")
    window = PreviewWindow() if preview is True else (preview or None)
    capture = open_camera(cam) if cam is not None else (driver if live else None)
    try:  # the person file is put in place only when the video is: an interrupted run leaves no trace
        with deferred_output(person_out) as person_tmp:
            res = _animate(model_path, source_paths, out, driver, capture, options, frames_dir, person_in,
                           person_tmp, progress, audio, window, t_start, source_clip)
        return dataclasses.replace(res, person=str(person_out)) if res.person else res
    finally:
        if window is not None and preview is True:
            window.close()
        if cam is not None:
            capture.release()


def _animate(model_path, source_paths, out, driver, capture, options: AnimateOptions, frames_dir, person_in,
             person_out, progress: bool, audio, window, t_start: float, source_clip=None) -> AnimateResult:
    # 1. the model and the pictures of the person, their faces found and cropped at the model's size
    model = load_model(model_path) if options.method == "neural" else None
    ex = Execution.resolve(options.device, options.precision, config=None if model is None else model.config,
                           threads=options.threads or generation_threads(options.pipeline))
    size = model.config.image_size if model is not None else options.warp_size
    if source_clip is not None:
        sources = clip_sources(source_clip, size, options.shots, options.backend, progress)
    else:
        sources = load_sources(source_paths, size, options.backend, options.face_boxes, options.source_landmarks,
                               options.face)
    # 2. the motion: a driver video retargeted onto the source, a sound, or procedural (a camera's: step 5)
    live = capture is not None
    if live:
        options = dataclasses.replace(options, batch=1)  # live: one frame at a time, the lowest latency
    points, fps, mouths, landmarks_s = _motion(sources, size, driver, capture, audio, options, progress)
    # 3. the person: loaded (--person), or embedded and fine-tuned as the checkpoint recommends
    identity, info = None, {}
    if model is not None:
        model, identity, info = _person(model, sources, options, ex, person_in, person_out, progress,
                                        finetune_recipe(model_path), str(source_paths[0]))
    # 4. where the frames go: the video (without its sound first, when one is muxed in at step 6), the frames
    if audio is not None and Path(out).suffix.lower() not in AUDIO_OUT_EXTS:
        print(f"note: the sound is not added: {Path(out).suffix or 'PNG frames'} cannot carry it "
              f"(use {', '.join(AUDIO_OUT_EXTS)})")
        audio_out = None
    else:
        audio_out = audio
    video = out if audio_out is None else _sibling_temp(out, ".silent.mp4")
    # 5. the frames, made in stages (composed as fsth_core.inference.compose decides) and written as they come
    pipe = Pipeline(options.pipeline, maxsize=1 if live else 2)
    threads = options.threads or generation_threads(options.pipeline)
    driver_stage = None
    bar = progress_bar(None if live else len(points), "animating live" if live else "generating", progress)
    try:
        with torch_threads(threads), stop_requests() if live else contextlib.nullcontext() as stop, pipe:
            try:
                if live:  # Ctrl-C ends the camera's stream: the frames on their way are finished and written
                    motion = LiveMotion(sources.points[0], size, get_detector(options.backend), options.retarget,
                                        options.smoothing, fps, options.edit)
                    points = driver_stage = LiveDriver(capture, motion, end=stop)
                frames = _frames(model, identity, sources, points, options, ex, pipe, mouths)
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
        # 6. the sound, muxed into the video
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


def _motion(sources: Sources, size: int, driver, capture, audio, options: AnimateOptions, progress: bool):
    """Step 2 -> (landmark sets [T,68,2] in crop pixels, or None for a camera, read live; fps; the driver's
    (frame, landmarks) pairs for --driver-mouth, or None; seconds spent tracking the driver)."""
    landmarks_s, mouths = 0.0, None
    if capture is not None:
        fps = options.fps or capture_fps(capture)
        points = None
    elif driver is not None:
        t = time.perf_counter()
        points, fps, own = driver_motion(driver, sources, size, options.retarget, options.backend,
                                         options.smoothing, progress, fps=options.fps,
                                         face_box=options.driver_face_box)
        landmarks_s = time.perf_counter() - t
        if options.driver_mouth:  # the driver's frames again, streamed beside the motion, for their mouths
            mouths = zip(iter_frames(driver, fps=options.fps), own)
        fps = options.fps or fps
    elif audio is not None:
        fps = options.fps or 25.0
        points = audio_driven(sources, audio, fps, options.seed, options.intensity)
    else:
        fps = options.fps or 25.0
        points = procedural(sources, options.seconds, fps, options.seed, options.intensity)
    if options.edit is not None and points is not None:
        points = edit_landmarks(points, options.edit)
    return points, fps, mouths, landmarks_s


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


def finetuned_person(model, sources: Sources, options: AnimateOptions, ex: Execution, recipe: dict,
                     progress: bool = True) -> FinetuneResult:
    """The person (fsth_core.inference.finetune.personalize) with the command line's fine-tuning options, a
    progress bar, and a line when Ctrl-C stops fine-tuning early (the state reached is used)."""
    bar = None

    def start(opts) -> None:
        nonlocal bar
        bar = progress_bar(opts.steps, "fine-tuning", progress, unit="step")

    try:
        res = personalize(model, sources, recipe, ex, lambda done, total: bar.update(done - bar.n), on_start=start,
                          steps=options.finetune_steps, lr_g=options.finetune_lr_g, lr_d=options.finetune_lr_d,
                          pixel_l1=options.finetune_pixel_l1, d_steps=options.finetune_d_steps, seed=options.seed)
    finally:
        if bar is not None:
            bar.close()
    if res.interrupted:
        print(f"fine-tuning interrupted after {res.steps_done} steps: animating with that state")
    return res


def _person(model, sources: Sources, options: AnimateOptions, ex: Execution, person_in, person_out,
            progress: bool, recipe: dict, sources_name: str = "the source"):
    """Step 3: the person for this job: loaded, or embedded and (when asked) fine-tuned -> (model, identity,
    summary entries); written to ``person_out`` when given (a loaded person too: a copy)."""
    info: dict = {}
    if person_in is not None:
        base = model
        model, identity = load_person(person_in, model)
        check_picture(sources.images[0], sources.transforms[0], identity, name=f"{sources_name}: --source",
                      hint=f"give the picture {person_in} was made from with --source")
        if person_out is not None:
            save_person(person_out, identity, None if model is base else model)
    else:
        res = finetuned_person(model, sources, options, ex, recipe, progress)
        model, identity = res.model, res.identity
        if res.options.steps > 0:
            info["finetune_steps"] = res.steps_done
        if person_out is not None:
            save_person(person_out, identity, model if info.get("finetune_steps") else None)
    if person_out is not None:
        info["person"] = str(person_out)
    return model, identity, info


def _frames(model, identity, sources: Sources, points: Iterable[np.ndarray], options: AnimateOptions,
            ex: Execution, pipe: Pipeline, mouths=None) -> Iterator[tuple[np.ndarray, bool]]:
    """(frame, held) pairs: the whole picture at its own resolution, or head crops without paste-back,
    composed as fsth_core.inference.compose decides (the mesh warp and warp-guided models at the picture's
    resolution, the paper's plain generator pasted back resized).  held is True where --min-realism
    replaced the frame by the last kept one; the caller counts them.  ``pipe``: the stages in threads of
    their own, each a step ahead of the next (the frames are the same)."""
    gen = FrameGenerator(model, identity, ex, batch=options.batch) if model is not None else None
    realism = model is not None and options.min_realism is not None
    room = pipe.maxsize * options.batch if realism else None  # the realism stage takes frames in batches
    frames = (f for f, _ in composed_frames(pipe, Canvas.of_sources(sources), points, sources.crops.shape[1], gen,
                                            options.paste_back, mouths=mouths, compose_room=room))
    if not realism:
        return ((f, False) for f in frames)
    tf, size = sources.transforms[0], gen.size
    to_model = (lambda f: tf.apply(f, size)) if options.paste_back else None  # what D scores
    scorer = RealismScorer(model, identity, ex, options.batch)
    return pipe.stage(hold_unrealistic(frames, points, scorer, options.min_realism, to_model), "realism")
