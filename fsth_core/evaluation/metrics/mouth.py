"""Mouth metrics: the mouth of a generated frame against the real one, in the mouth's own frame.

Both frames are mapped by the same similarity into a canonical mouth patch: the real frame's outer
lip corners (48, 54) land on fixed points, so head position, size and in-plane rotation drop out and
what is compared is the mouth itself.  Inside the patch:

- ``mouth_l1``: mean absolute error (0..1) over the lips and the interior (the outer-lip polygon 48-59);
- ``mouth_ssim``: SSIM (11x11 Gaussian window, per RGB channel) averaged over the same region;
- ``inner_mouth_l1``: mean absolute error over the interior alone (the inner-lip polygon 60-67): teeth,
  tongue, cavity, which a warp cannot take from a closed source.

Only frames whose real mouth is open (inner-lip gap over ``OPEN_THRESHOLD`` of the inter-ocular distance)
are measured: a closed mouth has no interior, and a copy of a closed source would look perfect there.
"""
from __future__ import annotations

import cv2
import numpy as np

from fsth_core.face_layout import LIPS_INNER, LIPS_OUTER, MOUTH_CORNERS
from fsth_core.landmarks.geometry import mouth_opening

from .image import ssim_map

PATCH = (64, 96)                 # canonical mouth patch (h, w)
CORNERS = ((16.0, 30.0), (80.0, 30.0))  # where the outer lip corners 48 and 54 land
OPEN_THRESHOLD = 0.08            # inner-lip gap / inter-ocular distance above which a mouth counts as open
MOUTH_METRICS = ("mouth_l1", "mouth_ssim", "inner_mouth_l1")


def mouth_transform(points: np.ndarray) -> np.ndarray:
    """float64 [2,3]: frame pixels -> canonical patch pixels, from the outer lip corners of ``points`` [68,2]."""
    a, b = (complex(*np.asarray(points[i], np.float64)) for i in MOUTH_CORNERS)
    (pa, pb) = (complex(*c) for c in CORNERS)
    if abs(b - a) < 1e-6:
        raise ValueError("mouth_transform: the mouth corners coincide")
    s = (pb - pa) / (b - a)  # rotation and scale
    t = pa - s * a
    return np.array([[s.real, -s.imag, t.real], [s.imag, s.real, t.imag]])


def mouth_patch(frame: np.ndarray, transform: np.ndarray) -> np.ndarray:
    """uint8 [h,w,3] frame -> uint8 PATCH-sized mouth patch."""
    h, w = PATCH
    return cv2.warpAffine(frame, transform, (w, h), flags=cv2.INTER_AREA if transform[0, 0] ** 2 +
                          transform[1, 0] ** 2 < 1 else cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def mouth_masks(points: np.ndarray, transform: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(lips and interior, interior) bool [h,w] masks of ``points`` [68,2] in the patch."""
    p = np.asarray(points, np.float64) @ transform[:, :2].T + transform[:, 2]
    out = []
    for group in (LIPS_OUTER, LIPS_INNER):
        m = np.zeros(PATCH, np.uint8)
        cv2.fillPoly(m, [np.round(p[group] * 16).astype(np.int32)], 1, cv2.LINE_8, 4)
        out.append(m.astype(bool))
    return out[0], out[1]


def _masked_ssim(a: np.ndarray, b: np.ndarray, mask: np.ndarray) -> float:
    fa, fb = a.astype(np.float64) / 255.0, b.astype(np.float64) / 255.0
    r = 5  # the 11x11 window's half size: ssim_map keeps the valid region
    m = mask[r:-r, r:-r]
    if not m.any():
        return float("nan")
    return float(np.mean([ssim_map(fa[..., c], fb[..., c])[m].mean() for c in range(3)]))


def mouth_scores(real: np.ndarray, fake: np.ndarray, points: np.ndarray) -> dict[str, float]:
    """The three metrics for one frame pair (uint8 [h,w,3] each) and the real frame's landmarks [68,2]
    (NaN for all when the real mouth is closed)."""
    if mouth_opening(points) <= OPEN_THRESHOLD:
        return {k: float("nan") for k in MOUTH_METRICS}
    t = mouth_transform(points)
    pr, pf = mouth_patch(real, t), mouth_patch(fake, t)
    lips, inner = mouth_masks(points, t)
    diff = np.abs(pr.astype(np.float64) - pf.astype(np.float64)).mean(-1) / 255.0
    return {"mouth_l1": float(diff[lips].mean()) if lips.any() else float("nan"),
            "mouth_ssim": _masked_ssim(pr, pf, lips),
            "inner_mouth_l1": float(diff[inner].mean()) if inner.any() else float("nan")}


def mouth_metrics(real: np.ndarray, fake: np.ndarray, points: np.ndarray) -> dict[str, np.ndarray]:
    """Per-frame metrics of uint8 [N,h,w,3] pairs with the real landmarks [N,68,2] -> name -> float64 [N]
    (NaN where the real mouth is closed)."""
    rows = [mouth_scores(r, f, p) for r, f, p in zip(real, fake, points)]
    return {k: np.array([row[k] for row in rows], np.float64) for k in MOUTH_METRICS}


def is_open(points: np.ndarray) -> np.ndarray:
    """bool [N]: whose mouth is open enough to be measured, for landmarks [N,68,2]."""
    return np.array([mouth_opening(p) > OPEN_THRESHOLD for p in np.asarray(points)], bool)
