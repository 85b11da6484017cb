"""Following a face no detector finds from frame to frame (its landmarks came from a face box).

A detector's landmark fit cannot follow such a face, so its points move as a whole: the face's region in
the first frame (the box, grown by ``margin``, at ``work_px`` on its longer side) is aligned to every
later frame by ECC (OpenCV's enhanced-correlation image alignment, an affine motion, started from the
previous frame's), and that motion carries the first frame's points.  Aligning to the first frame, not
to the previous one, lets no error pile up.  A frame whose alignment fails, whose correlation drops
under ``min_correlation`` or whose scale jumps is lost.  The face keeps the first frame's expression: a
video's head motion is followed, its expression is not (no detector reads it).
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class AlignmentOptions:
    """The face's region is aligned at ``work_px`` (its longer side, never enlarged), grown by ``margin`` of
    that side; ``iterations`` of ECC per frame."""

    work_px: int = 128
    margin: float = 0.15
    min_correlation: float = 0.6
    max_scale_change: float = 1.25
    iterations: int = 60


def _gray(image: np.ndarray, f: float) -> np.ndarray:
    g = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2GRAY)
    size = (max(1, round(g.shape[1] * f)), max(1, round(g.shape[0] * f)))
    return cv2.resize(g, size, interpolation=cv2.INTER_AREA).astype(np.float32)


class AlignmentTracker:
    """``step(image) -> (points [68, 2], box [4]) | None`` (None: lost) for a face first seen in
    ``image`` with ``points`` and ``box`` (x0, y0, x1, y1)."""

    def __init__(self, image: np.ndarray, points: np.ndarray, box: np.ndarray,
                 options: AlignmentOptions = AlignmentOptions()):
        self.opt = options
        box = np.asarray(box, np.float64)
        side = float(max(box[2] - box[0], box[3] - box[1]))
        self._f = min(1.0, options.work_px / side)
        g = _gray(image, self._f)
        m = options.margin * side * self._f
        b = box * self._f
        x0, y0 = int(max(0, np.floor(b[0] - m))), int(max(0, np.floor(b[1] - m)))
        x1, y1 = int(min(g.shape[1], np.ceil(b[2] + m))), int(min(g.shape[0], np.ceil(b[3] + m)))
        self._ref = np.ascontiguousarray(g[y0:y1, x0:x1])
        self._origin = np.array([x0, y0], np.float64)
        self._shape = image.shape[:2]
        self._warp = np.array([[1, 0, x0], [0, 1, y0]], np.float32)  # reference pixel -> working-frame pixel
        self._points0 = np.asarray(points, np.float64) * self._f - self._origin
        self._box0 = box * self._f - np.tile(self._origin, 2)
        self._scale = 1.0

    def _map(self, warp: np.ndarray, xy: np.ndarray) -> np.ndarray:
        return (xy @ warp[:, :2].T.astype(np.float64) + warp[:, 2]) / self._f

    def step(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        if image.shape[:2] != self._shape or min(self._ref.shape) < 8:
            return None
        warp = self._warp.copy()
        criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, self.opt.iterations, 1e-4)
        try:
            cc, warp = cv2.findTransformECC(self._ref, _gray(image, self._f), warp, cv2.MOTION_AFFINE, criteria,
                                            None, 5)
        except cv2.error:  # did not converge: the face is gone or changed too much
            return None
        scale = float(np.sqrt(abs(np.linalg.det(warp[:, :2]))))
        if cc < self.opt.min_correlation or not (1 / self.opt.max_scale_change <= scale / self._scale
                                                 <= self.opt.max_scale_change):
            return None
        self._warp, self._scale = warp, scale
        centre = self._map(warp, (self._box0[:2] + self._box0[2:]) / 2)
        half = scale * (self._box0[2:] - self._box0[:2]) / 2 / self._f  # the box stays upright
        box = np.concatenate([centre - half, centre + half]).astype(np.float32)
        return self._map(warp, self._points0).astype(np.float32), box
