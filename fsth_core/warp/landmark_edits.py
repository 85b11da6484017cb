"""Synthetic edits of 68-point landmark sets: open the mouth, close the eyes.

Used to build the warp mesh's topology (on a face with open mouth and eyes, so the inner-lip and eye
polygons become their own triangles), and as driving sequences in tests, benchmarks and demos.
All functions take and return float32 [68, 2] (x, y) pixel arrays and never modify their input.
"""
from __future__ import annotations

import numpy as np

# index -> weight of the downward jaw motion when the mouth opens (chin 8 moves fully)
_JAW_OPEN = {3: 0.1, 4: 0.3, 5: 0.55, 6: 0.75, 7: 0.9, 8: 1.0, 9: 0.9, 10: 0.75, 11: 0.55, 12: 0.3, 13: 0.1}
_LOWER_LIP_OPEN = {55: 0.8, 56: 0.95, 57: 1.0, 58: 0.95, 59: 0.8, 65: 0.92, 66: 1.0, 67: 0.92,
                   48: 0.35, 54: 0.35, 60: 0.4, 64: 0.4}
# eye: (upper lid index, lower lid index) pairs
_EYE_PAIRS = ((37, 41), (38, 40), (43, 47), (44, 46))


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
