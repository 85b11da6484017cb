"""The job's inputs as the stages' arrays: source pictures -> Sources (faces found, cropped at the model's
size); a driver video, a sound or procedural motion -> landmark sets [T,68,2] in the source crop's pixels.
"""
from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from fsth_core.inference.pipeline import prepare_sources
from fsth_core.inference.types import Sources
from fsth_core.io.media import load_image
from fsth_core.landmarks.audio import audio_motion, load_audio
from fsth_core.landmarks.crop import head_crop_box
from fsth_core.landmarks.face_box import FaceBox, boxes_for
from fsth_core.landmarks.given import given_points
from fsth_core.landmarks.motion import procedural_motion
from fsth_core.landmarks.retarget import retarget
from fsth_core.landmarks.track import extract_landmarks, extract_landmarks_from_path


def load_sources(paths: Sequence[str | os.PathLike], size: int, backend: str = "auto", face_boxes=None,
                 landmarks: str | os.PathLike | None = None, face: str | int = "largest") -> Sources:
    """Read 1-32 source images, find the face in each (``face``: the largest, or the N-th from the left; one
    clear error per bad file), crop.  A picture with several faces gets one line saying which is animated.
    ``face_boxes``: the face's box in every picture, or one per picture (see
    fsth_core.landmarks.face_box.boxes_for); ``landmarks``: a .npz of the pictures' landmarks, used instead of
    detecting them (landmarks/given.py)."""
    if not paths:
        raise ValueError("give at least one source image")
    if landmarks is not None and face_boxes is not None:
        raise ValueError("give the sources' landmarks or their face boxes, not both")
    images = [load_image(p) for p in paths]
    if landmarks is not None:
        return prepare_sources(images, given_points(landmarks, [i.shape[:2] for i in images], list(map(str, paths))),
                               size)
    points = []
    for img, p, box in zip(images, paths, boxes_for(face_boxes, len(paths))):
        res = extract_landmarks([img], backend=backend, face=face, progress=False, name=str(p), face_box=box)
        if res.faces > 1:
            which = "the largest" if face == "largest" else "as asked"
            print(f"note: {p}: {res.faces} faces; animating {which}, face {res.face_rank} from the left (0 = "
                  "leftmost; --face N picks another)")
        points.append(res.points[0])
    return prepare_sources(images, points, size)


def driver_motion(path: str | os.PathLike, sources: Sources, size: int, mode: str, backend: str = "auto",
                  smoothing: float = 0.3, progress: bool = True, fps: float | None = None,
                  face_box: FaceBox | None = None) -> tuple[np.ndarray, float, np.ndarray]:
    """Landmarks of a driving video, in the source crop's pixels -> ([T,68,2], fps, the driver's own
    landmarks [T,68,2] in its frames' pixels).  A video is sampled by its timestamps at ``fps`` (default:
    its average rate): the motion lasts as long.  ``face_box``: the driver's face in its first frame (it
    seeds the tracker)."""
    res = extract_landmarks_from_path(path, rate=fps, backend=backend, smoothing=smoothing, progress=progress,
                                      face_box=face_box)
    box = head_crop_box(res.points, res.image_size)
    drv = box.points_to_crop(res.points, size)
    return retarget(sources.points[0], drv, mode=mode), float(res.fps or 25.0), res.points


def procedural(sources: Sources, seconds: float, fps: float, seed: int, intensity: float) -> np.ndarray:
    """Procedural motion (blinks, speech, head turns) of the first source, ``seconds`` long at ``fps``."""
    frames = max(1, int(round(seconds * fps)))
    return procedural_motion(sources.points[0], frames, fps=fps, seed=seed, intensity=intensity)


def audio_driven(sources: Sources, audio: str | os.PathLike, fps: float, seed: int, intensity: float) -> np.ndarray:
    """Motion talking to a sound file (wav, mp3, the sound of a video): as long as the sound."""
    samples, rate = load_audio(audio)
    return audio_motion(sources.points[0], samples, rate, fps=fps, seed=seed, intensity=intensity)
