"""Pick a few frames of a clip that show the person's face in as many different ways as possible.

Every frame's landmarks are brought onto the clip's typical face (a similarity on the points that barely
move with expression: nose, eye corners, jaw ends), and what is left (expression and pose) becomes a
feature vector: the mouth weighted most (its interior is what the shots are for), then the eyes and brows,
then the pose.  The first pick is the most typical frame (the base: the picture the video is made of);
each next pick is the frame farthest from all picks so far (farthest-point sampling), so open and closed
mouths, smiles, blinks and head turns all end up among the shots.
"""
from __future__ import annotations

import numpy as np

from fsth_core.face_layout import BROWS, EYES, LIPS_INNER, MOUTH, STABLE

_STABLE = np.array(STABLE)
# (points, weight) of the feature vector
_PARTS = ((np.r_[MOUTH, LIPS_INNER], 1.5), (np.r_[EYES, BROWS], 1.0), (_STABLE, 0.7))


def _align(points: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """points [F,68,2] moved onto ref [68,2] by a least-squares similarity each (fitted on the stable points)."""
    p = points[:, _STABLE].astype(np.float64)
    r = ref[_STABLE].astype(np.float64)
    zp = p[..., 0] + 1j * p[..., 1]
    zr = r[:, 0] + 1j * r[:, 1]
    pm, rm = zp.mean(1, keepdims=True), zr.mean()
    a = (np.conj(zp - pm) * (zr - rm)).sum(1, keepdims=True) / np.maximum((np.abs(zp - pm) ** 2).sum(1, keepdims=True),
                                                                         1e-12)
    z = points[..., 0] + 1j * points[..., 1]
    out = a * (z - pm) + rm
    return np.stack([out.real, out.imag], -1)


def shape_features(points: np.ndarray) -> np.ndarray:
    """float64 [F, D]: each frame's expression and pose relative to the clip's typical face, in inter-ocular
    distances, weighted by part (see the module docstring)."""
    pts = np.asarray(points, np.float64)
    ref = np.median(_align(pts, pts[0]), axis=0)
    ref = np.median(_align(pts, ref), axis=0)  # once more, so the first frame does not bias the reference
    iod = max(float(np.hypot(*(ref[42:48].mean(0) - ref[36:42].mean(0)))), 1e-6)
    resid = (_align(pts, ref) - ref) / iod
    return np.concatenate([w * resid[:, idx].reshape(len(pts), -1) / np.sqrt(len(idx)) for idx, w in _PARTS], 1)


def diverse_frames(points: np.ndarray, n: int, usable: np.ndarray | None = None) -> np.ndarray:
    """Indices int64 [min(n, usable frames)] of frames to use as shots, the most typical first.

    points [F,68,2]; usable bool [F] (frames whose face was found; default all)."""
    pts = np.asarray(points, np.float64)
    if pts.ndim != 3 or pts.shape[1:] != (68, 2):
        raise ValueError(f"diverse_frames: expected landmarks [F, 68, 2], got {list(pts.shape)}")
    idx = np.flatnonzero(np.ones(len(pts), bool) if usable is None else np.asarray(usable, bool))
    if len(idx) == 0 or n < 1:
        return np.zeros(0, np.int64)
    f = shape_features(pts[idx])
    first = int(np.argmin(np.linalg.norm(f - np.median(f, axis=0), axis=1)))
    chosen = [first]
    dist = np.linalg.norm(f - f[first], axis=1)
    while len(chosen) < min(n, len(idx)):
        nxt = int(np.argmax(dist))
        if dist[nxt] <= 0.0:
            break  # the rest are duplicates of picked frames
        chosen.append(nxt)
        dist = np.minimum(dist, np.linalg.norm(f - f[nxt], axis=1))
    return idx[np.array(chosen)]
