"""Geometry of 68-point landmark sets: measures (inter-ocular distance, mouth and eye openings, the face's
"down") and edits (open the mouth, close the eyes, smile, widen the mouth, raise the brows, keep an opening
within real speech).

Used to build the warp mesh's topology (on a face with open mouth and eyes, so the inner-lip and eye
polygons become their own triangles), as driving sequences in tests, benchmarks and demos, and as the
expression sliders (fsth_core/landmarks/edit.py; head turns are in fsth_core/landmarks/pose.py).
Every edit is measured in the face's own units (mouth width, eye distance), so it works at any scale
and rotation.  All functions take and return float32 [68, 2] (x, y) pixel arrays and never modify
their input.  The 68 points have no pupils: gaze cannot be edited.
"""
from __future__ import annotations

import numpy as np

from fsth_core.face_layout import (
    BROW_RAISE,
    CORNER_PULL,
    EYE_LEFT,
    EYE_RIGHT,
    EYELID_PAIRS,
    EYES,
    INNER_LIP_PAIRS,
    JAW_DROP,
    JAW_NARROWING,
    LOWER_LIP_DROP,
    MAX_MOUTH_OPENING,
    MOUTH,
    MOUTH_CORNERS,
    MOUTH_OPENING_KNEE,
    UPPER_LID_SHARE,
)

SMILE_SHIFT = 0.12   # corner travel (out and up) per unit of smile, in mouth widths
WIDEN_SHIFT = 0.10   # corner travel (out) per unit of widen_mouth, in mouth widths
BROW_SHIFT = 0.14    # brow travel per unit of raise_brows, in eye distances


def as_points(points: np.ndarray, name: str = "points") -> np.ndarray:
    pts = np.array(points, dtype=np.float32)
    if pts.shape != (68, 2):
        raise ValueError(f"{name}: expected landmarks of shape [68, 2], got {list(pts.shape)}")
    if not np.all(np.isfinite(pts)):
        raise ValueError(f"{name}: landmarks contain NaN or infinite values")
    return pts


def _mouth_width(points: np.ndarray) -> float:
    return float(np.hypot(*(points[MOUTH_CORNERS[1]] - points[MOUTH_CORNERS[0]])))


def face_down(points: np.ndarray) -> np.ndarray:
    """Unit vector [2] pointing from the eyes towards the mouth (the face's 'down')."""
    d = points[MOUTH].mean(0) - points[EYES].mean(0)
    n = float(np.hypot(*d))
    return (d / n).astype(np.float32) if n > 1e-6 else np.float32([0.0, 1.0])


def _drop_jaw(pts: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """The jaw and the lower lip moved by ``shift`` [2] (pixels), each point by its weight."""
    out = pts.copy()
    for table in (JAW_DROP, LOWER_LIP_DROP):
        for i, w in table.items():
            out[i] += w * shift
    return out


def open_mouth(points: np.ndarray, amount: float) -> np.ndarray:
    """Drop the jaw and lower lip by ``amount`` × mouth width (0 = unchanged; negative closes); the corners
    come in a little as the jaw drops (JAW_NARROWING).

    Args:
        points: float [68, 2].
        amount: opening as a fraction of the mouth-corner distance (0.3 ≈ wide open).
    Returns:
        float32 [68, 2].
    """
    pts = as_points(points)
    width = _mouth_width(pts)
    out = _drop_jaw(pts, face_down(pts) * (amount * width))
    return _move_corners(out, -JAW_NARROWING * max(float(amount), 0.0), 0.0) if amount > 0 else out


def cap_opening(points: np.ndarray, reference: np.ndarray | None = None, limit: float = MAX_MOUTH_OPENING,
                knee: float = MOUTH_OPENING_KNEE) -> np.ndarray:
    """Keep the mouth within the openings of real speech: an inner-lip gap over ``knee`` (inter-ocular
    distances) is brought softly towards ``limit`` (never past it) by raising the jaw and lower lip.
    ``reference`` [68, 2]: the face the motion was made for; a mouth it already opens wider than ``knee``
    may stay as open as it is there (a wide-open picture is not closed), but opens no further.
    points [68, 2] or [T, 68, 2] -> float32, same shape; the input is not modified."""
    if reference is not None:
        own = mouth_opening(as_points(reference, "reference"))
        knee, limit = max(knee, own), max(limit, own + 0.02)
    pts = np.asarray(points, np.float32)
    if pts.ndim == 3:
        return np.stack([cap_opening(p, None, limit, knee) for p in pts]) if len(pts) else pts.copy()
    pts = as_points(pts)
    out = pts
    for _ in range(2):  # the gap is not exactly linear in the jaw's travel: a second pass settles it
        o = mouth_opening(out)
        if o <= knee:
            break
        soft = knee + (limit - knee) * np.tanh((o - knee) / (limit - knee))
        lower = float(np.mean([LOWER_LIP_DROP[lo] for _, lo in INNER_LIP_PAIRS]))
        out = _drop_jaw(out, -face_down(out) * ((o - soft) * inter_ocular(out) / lower))
    return out


def close_eyes(points: np.ndarray, amount: float) -> np.ndarray:
    """Close both eyes by ``amount`` (0 = unchanged, 1 = closed, negative opens wider).

    The upper lid travels UPPER_LID_SHARE (80 %) of the way, the lower lid the rest, so they meet near
    the lower lid.
    Returns float32 [68, 2].
    """
    pts = as_points(points)
    out = pts.copy()
    for up, lo in EYELID_PAIRS:
        gap = pts[lo] - pts[up]
        out[up] = pts[up] + UPPER_LID_SHARE * amount * gap
        out[lo] = pts[lo] - (1.0 - UPPER_LID_SHARE) * amount * gap
    return out


def _move_corners(pts: np.ndarray, out_shift: float, up_shift: float) -> np.ndarray:
    """Mouth corners (and, less, their neighbours) out along the lips by ``out_shift`` and up by
    ``up_shift`` mouth widths."""
    across = pts[MOUTH_CORNERS[1]] - pts[MOUTH_CORNERS[0]]
    width = float(np.hypot(*across))
    across = across / max(width, 1e-6)
    up = -face_down(pts)
    out = pts.copy()
    for i, (side, w_out, w_up) in CORNER_PULL.items():
        out[i] += width * (side * w_out * out_shift * across + w_up * up_shift * up)
    return out


def smile(points: np.ndarray, amount: float) -> np.ndarray:
    """Pull the mouth corners out and up (1 ≈ a broad smile; negative pulls them down: a frown).
    Returns float32 [68, 2]."""
    return _move_corners(as_points(points), SMILE_SHIFT * amount, SMILE_SHIFT * amount)


def widen_mouth(points: np.ndarray, amount: float) -> np.ndarray:
    """Stretch the lips sideways (1 ≈ the wide "ee"; negative rounds them: "oo").  Returns float32 [68, 2]."""
    return _move_corners(as_points(points), WIDEN_SHIFT * amount, 0.0)


def raise_brows(points: np.ndarray, amount: float) -> np.ndarray:
    """Raise both eyebrows by ``amount`` × BROW_SHIFT eye distances (negative lowers them).
    Returns float32 [68, 2]."""
    pts = as_points(points)
    shift = -face_down(pts) * (amount * BROW_SHIFT * inter_ocular(pts))
    out = pts.copy()
    for i, w in BROW_RAISE.items():
        out[i] += w * shift
    return out


def mouth_opening(points: np.ndarray) -> float:
    """Inner-lip gap (mean of the three upper/lower pairs) divided by the inter-ocular distance."""
    up, lo = zip(*INNER_LIP_PAIRS)
    gap = np.hypot(*(points[list(up)] - points[list(lo)]).T).mean()
    return float(gap / max(inter_ocular(points), 1e-6))


def eye_opening(points: np.ndarray, left: bool) -> float:
    """Lid gap of one eye divided by its width (≈ 0.3 open, ≈ 0 closed). left = points 42-47."""
    o = (EYE_LEFT if left else EYE_RIGHT).start
    gap = np.hypot(*(points[[o + 1, o + 2]] - points[[o + 5, o + 4]]).T).mean()
    width = float(np.hypot(*(points[o + 3] - points[o])))
    return float(gap / max(width, 1e-6))


def inter_ocular(points: np.ndarray) -> float:
    """Distance between the two eye centres in pixels."""
    return float(np.hypot(*(points[EYE_LEFT].mean(0) - points[EYE_RIGHT].mean(0))))
