"""Shots from a clip of the person: up to 32 frames that show the face in as many ways as possible.

    sources = clip_sources("me_talking.mp4", size=256)      # Sources, the most typical frame first

The clip's landmarks are tracked (a long clip is sampled at a lower rate, so at most ``ANALYSED`` frames
are looked at), the frames are chosen by their landmarks (fsth_core.landmarks.diverse: the most typical
frame, then farthest-point sampling over expression and pose), and only those frames are kept.
"""
from __future__ import annotations

import os

import numpy as np

from fsth_core.inference.pipeline import prepare_sources
from fsth_core.inference.types import Sources
from fsth_core.io.media import iter_frames, probe
from fsth_core.landmarks.diverse import diverse_frames
from fsth_core.landmarks.track import extract_landmarks_from_path
from fsth_core.options import MAX_SHOTS

ANALYSED = 600  # frames whose landmarks are looked at, at most (a longer clip is sampled at a lower rate)


def clip_shots(path: str | os.PathLike, shots: int = MAX_SHOTS, backend: str = "auto",
               progress: bool = True) -> tuple[list[np.ndarray], np.ndarray]:
    """(frames uint8 [H,W,3] each, landmarks float32 [n,68,2]) of up to ``shots`` diverse frames of a
    video or a folder of frames, the most typical first."""
    if not 1 <= int(shots) <= MAX_SHOTS:
        raise ValueError(f"shots must be in 1..{MAX_SHOTS}, got {shots}")
    info = probe(path)
    rate = None
    if info.kind == "video" and info.fps and info.frames > ANALYSED:
        rate = info.fps * ANALYSED / info.frames
    res = extract_landmarks_from_path(path, rate=rate, backend=backend, progress=progress)
    usable = np.asarray(res.found, bool) & ~np.asarray(res.interpolated, bool)
    pick = diverse_frames(res.points, int(shots), usable)
    if len(pick) == 0:
        raise ValueError(f"{path}: no frame with a face")
    wanted = {int(i): k for k, i in enumerate(pick)}
    frames: list[np.ndarray | None] = [None] * len(pick)
    for i, frame in enumerate(iter_frames(path, fps=res.fps if info.kind == "video" else None)):
        if i in wanted:
            frames[wanted[i]] = frame
        if i >= max(wanted):
            break
    if any(f is None for f in frames):
        raise ValueError(f"{path}: the clip ended before its frame {max(wanted)} (read it again, or convert it)")
    return frames, res.points[pick].astype(np.float32)


def select_shots(images, points: np.ndarray, shots: int = MAX_SHOTS, usable: np.ndarray | None = None
                 ) -> tuple[list[np.ndarray], np.ndarray]:
    """The pictures to use when more than ``shots`` are given (a clip's frames): the most typical one and
    the most different from it and each other, by their landmarks [N,68,2] -> (pictures, landmarks)."""
    pts = np.asarray(points, np.float32)
    if len(images) <= shots and (usable is None or np.all(usable)):
        return list(images), pts
    pick = diverse_frames(pts, int(shots), usable)
    if len(pick) == 0:
        raise ValueError("no picture with a face")
    return [images[int(i)] for i in pick], pts[pick]


def clip_sources(path: str | os.PathLike, size: int, shots: int = MAX_SHOTS, backend: str = "auto",
                 progress: bool = True) -> Sources:
    """Sources (head crops at ``size``, the full frames for paste-back) from a clip's diverse frames."""
    frames, points = clip_shots(path, shots, backend, progress)
    return prepare_sources(frames, points, size)
