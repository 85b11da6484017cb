"""Edits of 68-point landmark sets: open the mouth, close the eyes, smile, widen the mouth, raise the brows.

Used to build the warp mesh's topology (on a face with open mouth and eyes, so the inner-lip and eye
polygons become their own triangles), as driving sequences in tests, benchmarks and demos, and as the
expression sliders (fsth_core/landmarks/edit.py; head turns are in fsth_core/landmarks/pose.py).
Every edit is measured in the face's own units (mouth width, eye distance), so it works at any scale
and rotation.  All functions take and return float32 [68, 2] (x, y) pixel arrays and never modify
their input.  The 68 points have no pupils: gaze cannot be edited.
"""
from __future__ import annotations

import numpy as np

# index -> weight of the downward jaw motion when the mouth opens (chin 8 moves fully)
_JAW_OPEN = {3: 0.1, 4: 0.3, 5: 0.55, 6: 0.75, 7: 0.9, 8: 1.0, 9: 0.9, 10: 0.75, 11: 0.55, 12: 0.3, 13: 0.1}
_LOWER_LIP_OPEN = {55: 0.8, 56: 0.95, 57: 1.0, 58: 0.95, 59: 0.8, 65: 0.92, 66: 1.0, 67: 0.92,
                   48: 0.35, 54: 0.35, 60: 0.4, 64: 0.4}
# eye: (upper lid index, lower lid index) pairs
_EYE_PAIRS = ((37, 41), (38, 40), (43, 47), (44, 46))
# mouth corners and their neighbours: index -> (side: -1 left / +1 right, weight along the lips, weight up)
_CORNERS = {48: (-1, 1.0, 1.0), 60: (-1, 0.9, 1.0), 54: (1, 1.0, 1.0), 64: (1, 0.9, 1.0),
            49: (-1, 0.45, 0.5), 59: (-1, 0.45, 0.6), 61: (-1, 0.3, 0.4), 67: (-1, 0.3, 0.4),
            53: (1, 0.45, 0.5), 55: (1, 0.45, 0.6), 63: (1, 0.3, 0.4), 65: (1, 0.3, 0.4),
            50: (-1, 0.15, 0.15), 58: (-1, 0.15, 0.2), 52: (1, 0.15, 0.15), 56: (1, 0.15, 0.2)}
_BROWS = {17: 0.8, 18: 0.95, 19: 1.0, 20: 1.0, 21: 0.9, 22: 0.9, 23: 1.0, 24: 1.0, 25: 0.95, 26: 0.8}
SMILE_SHIFT = 0.12   # corner travel (out and up) per unit of smile, in mouth widths
WIDEN_SHIFT = 0.10   # corner travel (out) per unit of widen_mouth, in mouth widths
BROW_SHIFT = 0.14    # brow travel per unit of raise_brows, in eye distances


def _as_points(points: np.ndarray, name: str = "points") -> np.ndarray:
    pts = np.array(points, dtype=np.float32)
    if pts.shape != (68, 2):
        raise ValueError(f"{name}: expected landmarks of shape [68, 2], got {list(pts.shape)}")
    if not np.all(np.isfinite(pts)):
        raise ValueError(f"{name}: landmarks contain NaN or infinite values")
    return pts


def face_down(points: np.ndarray) -> np.ndarray:
    """Unit vector [2] pointing from the eyes towards the mouth (the face's 'down')."""
    d = points[48:68].mean(0) - points[36:48].mean(0)
    n = float(np.hypot(*d))
    return (d / n).astype(np.float32) if n > 1e-6 else np.float32([0.0, 1.0])


def open_mouth(points: np.ndarray, amount: float) -> np.ndarray:
    """Drop the jaw and lower lip by ``amount`` × mouth width (0 = unchanged; negative closes).

    Args:
        points: float [68, 2].
        amount: opening as a fraction of the mouth-corner distance (0.3 ≈ wide open).
    Returns:
        float32 [68, 2].
    """
    pts = _as_points(points)
    width = float(np.hypot(*(pts[54] - pts[48])))
    shift = face_down(pts) * (amount * width)
    out = pts.copy()
    for table in (_JAW_OPEN, _LOWER_LIP_OPEN):
        for i, w in table.items():
            out[i] += w * shift
    return out


def close_eyes(points: np.ndarray, amount: float) -> np.ndarray:
    """Close both eyes by ``amount`` (0 = unchanged, 1 = closed, negative opens wider).

    The upper lid travels 80 % of the way, the lower lid 20 %, so they meet near the lower lid.
    Returns float32 [68, 2].
    """
    pts = _as_points(points)
    out = pts.copy()
    for up, lo in _EYE_PAIRS:
        gap = pts[lo] - pts[up]
        out[up] = pts[up] + 0.8 * amount * gap
        out[lo] = pts[lo] - 0.2 * amount * gap
    return out


def _move_corners(pts: np.ndarray, out_shift: float, up_shift: float) -> np.ndarray:
    """Mouth corners (and, less, their neighbours) out along the lips by ``out_shift`` and up by
    ``up_shift`` mouth widths."""
    across = pts[54] - pts[48]
    width = float(np.hypot(*across))
    across = across / max(width, 1e-6)
    up = -face_down(pts)
    out = pts.copy()
    for i, (side, w_out, w_up) in _CORNERS.items():
        out[i] += width * (side * w_out * out_shift * across + w_up * up_shift * up)
    return out


def smile(points: np.ndarray, amount: float) -> np.ndarray:
    """Pull the mouth corners out and up (1 ≈ a broad smile; negative pulls them down: a frown).
    Returns float32 [68, 2]."""
    return _move_corners(_as_points(points), SMILE_SHIFT * amount, SMILE_SHIFT * amount)


def widen_mouth(points: np.ndarray, amount: float) -> np.ndarray:
    """Stretch the lips sideways (1 ≈ the wide "ee"; negative rounds them: "oo").  Returns float32 [68, 2]."""
    return _move_corners(_as_points(points), WIDEN_SHIFT * amount, 0.0)


def raise_brows(points: np.ndarray, amount: float) -> np.ndarray:
    """Raise both eyebrows by ``amount`` × BROW_SHIFT eye distances (negative lowers them).
    Returns float32 [68, 2]."""
    pts = _as_points(points)
    shift = -face_down(pts) * (amount * BROW_SHIFT * inter_ocular(pts))
    out = pts.copy()
    for i, w in _BROWS.items():
        out[i] += w * shift
    return out


def mouth_opening(points: np.ndarray) -> float:
    """Inner-lip gap (mean of the three upper/lower pairs) divided by the inter-ocular distance."""
    gap = np.hypot(*(points[[61, 62, 63]] - points[[67, 66, 65]]).T).mean()
    return float(gap / max(inter_ocular(points), 1e-6))


def eye_opening(points: np.ndarray, left: bool) -> float:
    """Lid gap of one eye divided by its width (≈ 0.3 open, ≈ 0 closed). left = points 42-47."""
    o = 42 if left else 36
    gap = np.hypot(*(points[[o + 1, o + 2]] - points[[o + 5, o + 4]]).T).mean()
    width = float(np.hypot(*(points[o + 3] - points[o])))
    return float(gap / max(width, 1e-6))


def inter_ocular(points: np.ndarray) -> float:
    """Distance between the two eye centres in pixels."""
    return float(np.hypot(*(points[42:48].mean(0) - points[36:42].mean(0))))
