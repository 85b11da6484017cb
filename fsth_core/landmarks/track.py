"""Streaming landmark extraction: detect once, then track; re-detect only when tracking is lost.

Frames are consumed one at a time from any iterable and dropped at once, so a long video
is never held in memory; only the landmarks (68 x 2 floats a frame) are kept.  A face box given by
hand (fsth_core/landmarks/face_box.py) seeds the tracker: the face found in it, or the face template
fitted into it, which box_track.py then follows.
"""
from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np
from tqdm import tqdm

from fsth_core.io.media import as_rgb_uint8, iter_frames, probe
from fsth_core.landmarks.box_track import AlignmentTracker
from fsth_core.landmarks.detect import Face, LandmarkResult, choose_face, get_detector
from fsth_core.landmarks.face_box import HINT, TEMPLATE_BACKEND, FaceBox, box_iou, face_in_box
from fsth_core.landmarks.smooth import smooth_landmarks


@dataclass(frozen=True)
class TrackOptions:
    """Tracking thresholds: a fit is lost when the face's scale changes by more than
    ``max_scale_change`` (ratio) or its centre moves by more than ``max_shift`` face radii
    between frames, when the score drops under ``min_score``, or when a check every
    ``verify_every`` frames finds no face near the tracked box."""

    max_scale_change: float = 1.25
    max_shift: float = 0.6
    min_score: float = 0.2
    verify_every: int = 10
    verify_face_px: int = 110
    min_similarity: float = 0.6


def _frame_of(points: np.ndarray) -> tuple[np.ndarray, float]:
    """Centre [2] and RMS radius of [68, 2] landmarks."""
    c = points.mean(axis=0)
    r = float(np.sqrt(((points - c) ** 2).sum(axis=1).mean()))
    return c, max(r, 1e-3)


def _patch(image: np.ndarray, box: np.ndarray, size: int = 24) -> np.ndarray | None:
    """Normalized grey patch [size, size] of ``box`` (zero mean, unit norm), or None when flat/outside."""
    h, w = image.shape[:2]
    x0, y0 = int(max(0, np.floor(box[0]))), int(max(0, np.floor(box[1])))
    x1, y1 = int(min(w, np.ceil(box[2]))), int(min(h, np.ceil(box[3])))
    if x1 - x0 < 4 or y1 - y0 < 4:
        return None
    p = cv2.resize(image[y0:y1, x0:x1], (size, size), interpolation=cv2.INTER_AREA).astype(np.float32).mean(axis=2)
    p -= p.mean()
    n = float(np.linalg.norm(p))
    return p / n if n > 2.0 * size else None


class FaceTracker:
    """Per-frame landmarks of one face: ``step(image) -> Face | None``.

    After a detection, the detector's box is stored relative to the landmarks (centre and
    radius); on the next frame that box is placed on the previous landmarks and only the
    landmark fit runs.  A periodic check detects in a small region around the box.

    ``step(image, box)`` with a FaceBox takes the face in that box (seeding the track): the one a
    detector finds there, else the face template fitted into it, which is then followed by optical flow
    (``from_template`` counts those frames).  After a box, a re-detection prefers the face that overlaps
    the last known box.
    """

    def __init__(self, detector, face: str | int = "largest", track: bool = True,
                 options: TrackOptions = TrackOptions()):
        self.detector = detector
        self.face = face
        self.track = track
        self.opt = options
        self._prev: np.ndarray | None = None
        self._rel: np.ndarray | None = None  # box centre offset (2) and half sizes (2), in radii
        self._score = 0.0
        self._since_verify = 0
        self._tmpl: np.ndarray | None = None
        self._flow: AlignmentTracker | None = None
        self._last_box: np.ndarray | None = None  # set once a face box seeded the track
        self.detections = 0
        self.from_template = 0
        self.faces_seen = 0                        # the most faces one detection found
        self.first_pick: tuple[int, int] | None = None  # the first pick: (faces found, its place from the left)

    def reset(self) -> None:
        self._prev = self._flow = None

    def _anchor(self, face: Face, image: np.ndarray) -> None:
        c, r = _frame_of(face.points)
        b = face.box
        self._rel = np.array([((b[0] + b[2]) / 2 - c[0]) / r, ((b[1] + b[3]) / 2 - c[1]) / r,
                              (b[2] - b[0]) / 2 / r, (b[3] - b[1]) / 2 / r], np.float32)
        self._prev = face.points
        self._score = face.score
        self._since_verify = 0
        self._tmpl = _patch(image, face.box)

    def _box_from(self, points: np.ndarray) -> np.ndarray:
        c, r = _frame_of(points)
        cx, cy = c + self._rel[:2] * r
        hw, hh = self._rel[2:] * r
        return np.array([cx - hw, cy - hh, cx + hw, cy + hh], np.float32)

    def _plausible(self, pts: np.ndarray, score: float) -> bool:
        if not np.isfinite(pts).all() or score < self.opt.min_score:
            return False
        c0, r0 = _frame_of(self._prev)
        c1, r1 = _frame_of(pts)
        ratio = r1 / r0
        return (1 / self.opt.max_scale_change <= ratio <= self.opt.max_scale_change
                and float(np.hypot(*(c1 - c0))) <= self.opt.max_shift * r0)

    def _verify(self, image: np.ndarray, box: np.ndarray) -> Face | None:
        """Detect in a region around ``box`` (resized so the face is ~verify_face_px): a face there or None."""
        h, w = image.shape[:2]
        side = max(box[2] - box[0], box[3] - box[1])
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        x0, y0 = int(max(0, cx - side * 1.3)), int(max(0, cy - side * 1.3))
        x1, y1 = int(min(w, cx + side * 1.3)), int(min(h, cy + side * 1.3))
        if x1 - x0 < 8 or y1 - y0 < 8:
            return None
        roi = image[y0:y1, x0:x1]
        s = min(1.0, self.opt.verify_face_px / max(side, 1.0))
        if s < 0.95:
            roi = cv2.resize(roi, (max(1, round(roi.shape[1] * s)), max(1, round(roi.shape[0] * s))),
                             interpolation=cv2.INTER_AREA)
        else:
            s = 1.0
        sx, sy = roi.shape[1] / (x1 - x0), roi.shape[0] / (y1 - y0)
        best = None
        for b, sc in self.detector.detect_boxes(roi, detect_size=None):
            full = np.array([b[0] / sx + x0, b[1] / sy + y0, b[2] / sx + x0, b[3] / sy + y0], np.float32)
            iou = box_iou(full, box)
            if iou > 0.3 and (best is None or iou > best[0]):
                best = (iou, full, sc)
        if best is None:
            return None
        pts, _ = self.detector.fit(image, best[1])
        return Face(pts, best[2], best[1])

    def _from_box(self, image: np.ndarray, box: FaceBox, name: str) -> Face:
        face, templated = face_in_box(self.detector, image, box, name)
        self._last_box = face.box
        self._prev = self._flow = None
        if templated:
            self.from_template += 1
            if self.track:
                self._flow = AlignmentTracker(image, face.points, face.box)
        else:
            self._anchor(face, image)
        return face

    def _choose(self, faces: list[Face], image: np.ndarray) -> Face | None:
        if self._last_box is not None:  # seeded by a box: the face there, if it is still there
            near = [(box_iou(f.box, self._last_box), i) for i, f in enumerate(faces)]
            near = [(v, i) for v, i in near if v > 0.1]
            if near:
                return faces[max(near)[1]]
        return choose_face(faces, self.face, image.shape[:2])

    def step(self, image: np.ndarray, box: FaceBox | None = None, name: str = "the picture") -> Face | None:
        """Landmarks of the chosen face in uint8 RGB [H, W, 3] ``image``, or None when there is none.
        ``box``: the face is the one in this box (``name`` is the picture's, for its errors)."""
        if box is not None:
            return self._from_box(image, box, name)
        if self._flow is not None:
            moved = self._flow.step(image)
            if moved is not None:
                self.from_template += 1
                face = Face(moved[0], 0.0, moved[1])
            else:
                self._flow = face = None
        if self._flow is None:
            face = self._step(image)
        if face is not None and self._last_box is not None:
            self._last_box = face.box
        return face

    def _step(self, image: np.ndarray) -> Face | None:
        if self.track and self._prev is not None:
            box = self._box_from(self._prev)
            pts, score = self.detector.fit(image, box)
            if self._plausible(pts, score):
                self._since_verify += 1
                new_box = self._box_from(pts)
                tmpl = _patch(image, new_box)
                similar = (tmpl is not None and self._tmpl is not None
                           and float((tmpl * self._tmpl).sum()) >= self.opt.min_similarity)
                if similar and self._since_verify < self.opt.verify_every:
                    self._prev, self._tmpl = pts, tmpl
                    return Face(pts, score if getattr(self.detector, "fit_scores", False) else self._score, new_box)
                face = self._verify(image, box)
                if face is not None:
                    self._anchor(face, image)
                    return face
            self._prev = None
        self.detections += 1
        faces = self.detector.detect(image)
        face = self._choose(faces, image)
        self.faces_seen = max(self.faces_seen, len(faces))
        if face is not None and self.first_pick is None:
            self.first_pick = (len(faces), sum(float(f.box[0] + f.box[2]) < float(face.box[0] + face.box[2])
                                               for f in faces))
        if face is None:
            self._prev = None
            return None
        self._anchor(face, image)
        return face


def _fill_missing(values: np.ndarray, found: np.ndarray) -> np.ndarray:
    """Linear interpolation over frames where ``found`` is False (held constant at the ends)."""
    t = np.arange(len(found))
    idx = np.flatnonzero(found)
    flat = values.reshape(len(found), -1).astype(np.float64)
    out = flat.copy()
    for j in range(flat.shape[1]):
        out[~found, j] = np.interp(t[~found], idx, flat[idx, j])
    return out.reshape(values.shape).astype(np.float32)


def _box_of(face_box, i: int, track: bool) -> FaceBox | None:
    """The face box of frame ``i``: one box seeds a track (frame 0) or, untracked, holds for every frame."""
    if face_box is None or isinstance(face_box, FaceBox):
        return face_box if (i == 0 or not track) else None
    return face_box[i] if i < len(face_box) else None


def _frames_of(frames):
    if isinstance(frames, np.ndarray) and (frames.ndim == 2 or (frames.ndim == 3 and frames.shape[2] in (3, 4))):
        return [frames]  # one image, not a stack of frames
    return frames


def extract_landmarks(frames: Iterable, backend="auto", face: str | int = "largest", smoothing: float = 0.0,
                      track: bool = True, progress: bool = True, total: int | None = None, name: str = "input",
                      fps: float | None = None, device: str = "auto", options: TrackOptions = TrackOptions(),
                      face_box: FaceBox | Sequence[FaceBox | None] | None = None) -> LandmarkResult:
    """Landmarks of one face over a stream of frames.

    Args:
        frames: iterable of images (uint8/uint16/float, gray/RGB/RGBA; see ``as_rgb_uint8``),
            consumed one at a time; a single [H, W, C] image is accepted too.
        backend: "auto", "dlib", "face_alignment", or a detector object (see ``get_detector``).
        face: "largest" or n (the n-th face from the left, 0-based).
        smoothing: One-Euro smoothing strength, 0 (off) .. 1.
        track: track the face box from the previous frame's landmarks (False: detect every frame).
        total: frame count for the progress bar, if known.  name: the input's name, for errors.
        fps: frame rate (smoothing timescale; stored in the result).
        face_box: the face's box given by hand (see fsth_core.landmarks.face_box): one FaceBox for the
            first frame (it seeds the track; with ``track=False`` it is used in every frame), or one
            FaceBox or None per frame.  Where no detector finds the face in it, the face template is
            fitted into it, a line says so, and the result's ``backend`` is TEMPLATE_BACKEND.
    Returns:
        LandmarkResult with T entries; frames without a face are interpolated and marked.
    Raises:
        ValueError naming ``name`` when no frame has a face (saying how to give its box), a frame is
        not an image, or a face box lies outside its frame.
    """
    detector = get_detector(backend, device) if isinstance(backend, str) else backend
    tracker = FaceTracker(detector, face=face, track=track, options=options)
    pts, found, score, boxes = [], [], [], []
    size = None
    bar = tqdm(total=total, disable=not progress, desc=f"landmarks {os.path.basename(str(name))}", unit="frame")
    try:
        for i, frame in enumerate(_frames_of(frames)):
            img = as_rgb_uint8(frame, name=f"{name} frame {i}")
            if size is None:
                size = img.shape[:2]
            elif img.shape[:2] != size:
                tracker.reset()  # a folder of frames of mixed sizes: no tracking across a size change
            f = tracker.step(img, _box_of(face_box, i, track), f"{name}" + (f" frame {i}" if i else ""))
            del img
            found.append(f is not None)
            pts.append(f.points if f is not None else np.full((68, 2), np.nan, np.float32))
            score.append(f.score if f is not None else 0.0)
            boxes.append(f.box if f is not None else np.full(4, np.nan, np.float32))
            bar.update(1)
    finally:
        bar.close()
    if not found:
        raise ValueError(f"{name}: no frames")
    found = np.array(found, bool)
    if not found.any() and tracker.faces_seen and not isinstance(face, str):  # faces, but not that many
        n = tracker.faces_seen
        raise ValueError(f"{name}: face {face} (0 = leftmost) was asked for, but {n} face{'s' * (n > 1)} "
                         f"{'were' if n > 1 else 'was'} found; give 0" + (f"..{n - 1}" if n > 1 else "")
                         + " or 'largest'")
    if not found.any():
        raise ValueError(f"no face found in {name}" + (f" (none of its {len(found)} frames)" if len(found) > 1 else "")
                         + f": {HINT}")
    if tracker.from_template:
        print(f"note: the landmarks of {name} come from the face box (the face template fitted into it), not from a "
              "detector" + (f": {tracker.from_template} of {len(found)} frames" if len(found) > 1 else ""))
    points = np.stack(pts).astype(np.float32)
    box_arr = np.stack(boxes).astype(np.float32)
    if not found.all():
        points = _fill_missing(points, found)
        box_arr = _fill_missing(box_arr, found)
    if smoothing:
        points = smooth_landmarks(points, smoothing, fps or 25.0)
    name_of = TEMPLATE_BACKEND if tracker.from_template else getattr(detector, "name", str(backend))
    faces, rank = tracker.first_pick or (0, 0)
    return LandmarkResult(points, found, np.array(score, np.float32), box_arr, ~found,
                          (int(size[0]), int(size[1])), fps, name_of, faces, rank)


def extract_landmarks_from_path(path: str | os.PathLike, rate: float | None = None, **kwargs) -> LandmarkResult:
    """``extract_landmarks`` on an image, a folder of frames or a video file, streamed from disk.

    A video is read at a constant frame rate by its timestamps: ``rate`` if given, else its own
    average rate (see ``fsth_core.io.media.iter_frames``), which becomes the result's ``fps``; so
    T landmark frames last the video's real duration, also when its frame rate varies.
    """
    info = probe(path)
    if info.kind == "video" and rate:
        info = dataclasses.replace(info, frames=int(round(info.frames * rate / info.fps)) if info.fps else 0,
                                   fps=float(rate))
    kwargs.setdefault("total", info.frames or None)
    kwargs.setdefault("fps", info.fps)
    kwargs.setdefault("name", str(path))
    if info.kind == "image":
        kwargs["progress"] = False
    return extract_landmarks(iter_frames(path, fps=info.fps if info.kind == "video" else None), **kwargs)
