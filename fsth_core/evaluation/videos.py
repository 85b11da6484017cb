"""Held-out videos for evaluation: from a training-set folder, or from any folder of videos.

Every video is seen as an :class:`EvalVideo`: landmarks float32 [F,68,2] in the pixels of S×S head
crops, a mask of frames whose landmarks were found, and ``frames(indices)`` → uint8 [n,S,S,3] RGB crops.

- A training-set folder (``index.json``, made by ``synth`` or ``prepare``): the clips of the speakers
  training held out (:func:`fsth_core.data.groups.split_videos` with the same ``--held-out``, ``--seed``
  and ``--video-level``, by default the model's), or all clips.
- Any folder of videos (or frame folders), or one video file: landmarks are extracted on the fly
  (``extract_landmarks_from_path``), one stable head box per video, frames decoded in one streaming
  pass that keeps only the frames asked for.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from fsth_core.data.groups import group_clips, split_videos
from fsth_core.data.store import TrainingSet
from fsth_core.io.media import IMAGE_EXTS, VIDEO_EXTS, iter_frames, natural_key
from fsth_core.landmarks.crop import head_crop_box
from fsth_core.landmarks.track import extract_landmarks_from_path

log = logging.getLogger("fsth")

@dataclass
class EvalVideo:
    """One evaluation video at crop size S: ``points`` [F,68,2], ``usable`` bool [F]."""

    id: str
    points: np.ndarray
    usable: np.ndarray
    read: Callable[[Sequence[int]], np.ndarray]

    def frames(self, indices: Sequence[int]) -> np.ndarray:
        """uint8 [n,S,S,3] RGB crops of the frames ``indices`` (in that order)."""
        return self.read(indices)


@dataclass(frozen=True)
class VideoSet:
    """What ``open_videos`` found: a description (JSON-able), the number of videos, and a lazy iterator."""

    description: dict
    count: int
    videos: Callable[[], Iterator[EvalVideo]]


def _resize(frames: np.ndarray, size: int) -> np.ndarray:
    if frames.shape[1] == size:
        return frames
    interp = cv2.INTER_AREA if frames.shape[1] > size else cv2.INTER_LINEAR
    return np.stack([cv2.resize(f, (size, size), interpolation=interp) for f in frames])


def _model_split(model_training: dict | None) -> tuple[int | None, int | None]:
    t = model_training or {}
    held = t.get("held_out")
    return (int(held) if held else None), (int(t["seed"]) if "seed" in t else None)


def held_out_clips(ts, held_out: int, seed: int, level: int, legacy: bool = False) -> tuple[list[int], str, str | None]:
    """(clip indices, what was held out whole, a one-line warning or None) of the split training used.

    ``legacy``: the model was trained by an older version whose ``--held-out`` picked clips
    (``TrainingSet.split``); its numbers may then be on speakers it trained on, and the warning says so.
    """
    if not legacy:
        split = split_videos(ts.video_ids, held_out, seed, level)
        return split.held_clips, split.held_out_by, split.warning
    if not 0 < held_out < len(ts):
        raise ValueError(f"--held-out must be in 1..{len(ts) - 1} for the {len(ts)} clips, got {held_out}")
    speakers = group_clips(ts.video_ids, level)[2]
    warning = None
    if len(set(speakers)) < len(ts):  # some speaker has several clips: a clip split can leak speakers
        warning = ("held-out split is not speaker-disjoint: the model was trained by an older version whose "
                   "--held-out picked clips, so held-out clips can share speakers (and videos) with training")
    return ts.split(held_out, seed)[1], "clip", warning


def trainingset_videos(root: str | os.PathLike, size: int, held_out: int | None = None, seed: int | None = None,
                       use_all: bool = False, limit: int | None = None,
                       model_training: dict | None = None, video_level: int | None = None) -> VideoSet:
    """The clips of the held-out speakers of a training set, resized to ``size``.

    held_out/seed/video_level default to the model's training recipe (``model_training``: its
    ``held_out``, ``seed`` and ``video_level``); without a held-out count, ValueError asks for
    ``--held-out`` or ``--videos all``.  When the split cannot be speaker-disjoint (one speaker in the
    data, or a model from before speaker-level splits), one warning line is logged and recorded in the
    description (``split_warning``).
    """
    ts = TrainingSet(root)
    t = model_training or {}
    m_held, m_seed = _model_split(t)
    seed = seed if seed is not None else (m_seed if m_seed is not None else 0)
    level = int(video_level or t.get("video_level") or 2)
    by = warning = None
    if use_all:
        indices, held_out = list(range(len(ts))), None
    else:
        held_out = held_out if held_out is not None else m_held
        if not held_out:
            raise ValueError(f"{root}: which speakers are held out? The model records none: pass --held-out N "
                             "--seed S as used for training, or --videos all")
        indices, by, warning = held_out_clips(ts, held_out, seed, level, legacy=bool(m_held) and
                                              "held_out_by" not in t)
        if warning:
            log.warning("%s: %s", root, warning)
    if limit is not None:
        indices = indices[:limit]
    scale = size / ts.image_size

    def one(i: int) -> EvalVideo:
        pts = ts.landmarks(i) * np.float32(scale)
        usable = np.isfinite(pts).all(axis=(1, 2))
        return EvalVideo(ts.video_ids[i], pts.astype(np.float32), usable,
                         lambda idx, i=i: _resize(ts.frames(i, idx), size))

    desc = {"kind": "training-set", "root": str(root), "videos_total": len(ts), "held_out": held_out,
            "held_out_by": by, "video_level": level, "split_warning": warning,
            "split_seed": seed, "image_size": ts.image_size, "ids": [ts.video_ids[i] for i in indices]}
    return VideoSet(desc, len(indices), lambda: (one(i) for i in indices))


def video_files(path: str | os.PathLike) -> list[Path]:
    """Video files and frame folders in ``path`` (natural order), or ``[path]`` for one video."""
    p = Path(path)
    if p.is_file():
        return [p]
    if not p.is_dir():
        raise FileNotFoundError(f"evaluation data not found: {p}")
    out = [c for c in p.iterdir() if (c.is_file() and c.suffix.lower() in VIDEO_EXTS)
           or (c.is_dir() and any(f.suffix.lower() in IMAGE_EXTS for f in c.iterdir()))]
    if not out:
        raise ValueError(f"{p}: no videos (or folders of frames) in it, and no index.json (not a training set)")
    return sorted(out, key=natural_key)


def _read_crops(path: Path, transform, size: int, indices: Sequence[int]) -> np.ndarray:
    """One streaming pass over ``path`` keeping the crops of ``indices`` → uint8 [n,S,S,3]."""
    want = {int(i) for i in indices}
    got: dict[int, np.ndarray] = {}
    for k, frame in enumerate(iter_frames(path)):
        if k in want:
            got[k] = transform.apply(frame, size)
            if len(got) == len(want):
                break
    missing = want - set(got)
    if missing:
        raise ValueError(f"{path}: frame {min(missing)} could not be read")
    return np.stack([got[int(i)] for i in indices])


def folder_videos(path: str | os.PathLike, size: int, limit: int | None = None, backend: str = "auto",
                  progress: bool = False) -> VideoSet:
    """Videos of any folder: landmarks extracted per video when it is reached, head-cropped to ``size``."""
    files = video_files(path)
    if limit is not None:
        files = files[:limit]

    def one(f: Path) -> EvalVideo:
        res = extract_landmarks_from_path(f, backend=backend, progress=progress)
        box = head_crop_box(res.points, res.image_size)
        pts = box.points_to_crop(res.points, size).astype(np.float32)
        return EvalVideo(f.stem, pts, np.asarray(res.found, bool),
                         lambda idx: _read_crops(f, box, size, idx))

    desc = {"kind": "videos", "root": str(path), "videos_total": len(video_files(path)), "held_out": None,
            "split_seed": None, "image_size": size, "ids": [f.stem for f in files]}
    return VideoSet(desc, len(files), lambda: (one(f) for f in files))


def open_videos(data: str | os.PathLike, size: int, held_out: int | None = None, seed: int | None = None,
                use_all: bool = False, limit: int | None = None, backend: str = "auto",
                model_training: dict | None = None, progress: bool = False,
                video_level: int | None = None) -> VideoSet:
    """A training-set folder (has index.json) or any folder of videos / one video → VideoSet."""
    if (Path(data) / "index.json").is_file():
        return trainingset_videos(data, size, held_out, seed, use_all, limit, model_training, video_level)
    return folder_videos(data, size, limit, backend, progress)


def select_frames(usable: np.ndarray, shots: Sequence[int], frames: int) -> tuple[dict[int, np.ndarray | None],
                                                                                 np.ndarray]:
    """The protocol's frame choice for one video with ``usable`` bool [F] frames.

    Targets: ``min(frames, n-1)`` frames (n usable) spread evenly over the part after the source pool,
    the same for every T. Source pool: the first ``min(max(shots), n - targets)`` usable frames; T
    sources are spread evenly over it (T = 1: the first frame). A T larger than the pool gets None
    (the video is skipped for that T). Returns ({T: int indices [T] or None}, targets int [m]).
    """
    idx = np.flatnonzero(np.asarray(usable, bool))
    n = len(idx)
    if n < 2 or frames < 1:
        return {int(t): None for t in shots}, np.zeros(0, np.int64)
    n_tgt = min(int(frames), n - 1)
    pool = min(max(int(t) for t in shots), n - n_tgt)
    tail = idx[pool:]
    targets = tail[np.unique(np.linspace(0, len(tail) - 1, n_tgt).round().astype(np.int64))]
    sources = {int(t): (idx[np.linspace(0, pool - 1, int(t)).round().astype(np.int64)] if t <= pool else None)
               for t in shots}
    return sources, targets
