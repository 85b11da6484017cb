"""What warping alone cannot produce for the eyes: closed eyelids (the mouth's inside: mouth_paint.py).

The lids are painted in a small region of interest around the target eye, in an eye-aligned frame
(u along the corner-to-corner axis, v perpendicular, pointing down the face), and blended in with a
feathered polygon mask. Colours come from the source face.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from fsth_core.face_layout import EYE_LEFT, EYE_RIGHT
from fsth_core.landmarks.geometry import face_down


def _smoothstep(x, lo: float, hi: float):
    t = np.clip((x - lo) / (hi - lo), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def smoothstep(x: float, lo: float, hi: float) -> float:
    """Scalar smooth ramp from 0 (x <= lo) to 1 (x >= hi)."""
    return float(_smoothstep(np.float64(x), lo, hi))


def polygon_median(image: np.ndarray, polygons: list[np.ndarray]) -> np.ndarray:
    """Median RGB [3] of the pixels inside the union of polygons (each float [K, 2])."""
    mask = np.zeros(image.shape[:2], np.uint8)
    for poly in polygons:
        cv2.fillPoly(mask, [np.round(poly).astype(np.int32)], 1)
    pix = image[mask.astype(bool)]
    if len(pix) == 0:
        return image.reshape(-1, 3).mean(0).astype(np.float32)
    return np.median(pix, axis=0).astype(np.float32)


@dataclass(frozen=True)
class FeatureColours:
    """Eyelid colours (float32 RGB, 0..255) sampled once from the source face."""
    lid_skin: tuple[np.ndarray, np.ndarray]   # right eye (36-41), left eye (42-47)
    lash: tuple[np.ndarray, np.ndarray]


def sample_colours(image: np.ndarray, pts: np.ndarray) -> FeatureColours:
    """Derive eyelid colours from the source image [H,W,3] and landmarks [68,2]."""
    lid, lash = [], []
    for o, brow in ((EYE_RIGHT.start, (17, 18, 20, 21)), (EYE_LEFT.start, (22, 23, 25, 26))):
        upper = pts[o:o + 4]       # lid contour, corner to corner, in the same order as the brow
        lower = pts[[o, o + 5, o + 4, o + 3]]
        width = float(np.hypot(*(pts[o + 3] - pts[o])))
        down = face_down(pts) * 0.3 * width
        # closed lids look like the skin around the eye: the band up to halfway to the brow
        # (often shadowed or made up) and, weighted more, the band under the lower lid
        above = polygon_median(image, [np.vstack([upper, (upper + 0.45 * (pts[list(brow)] - upper))[::-1]])])
        below = polygon_median(image, [np.vstack([lower, (lower + down)[::-1]])])
        colour = (0.35 * above + 0.65 * below).astype(np.float32)
        lid.append(colour)
        lash.append((colour * 0.4).astype(np.float32))
    return FeatureColours((lid[0], lid[1]), (lash[0], lash[1]))


def _roi(points: np.ndarray, pad: float, h: int, w: int) -> tuple[int, int, int, int]:
    x0 = int(max(np.floor(points[:, 0].min() - pad), 0))
    y0 = int(max(np.floor(points[:, 1].min() - pad), 0))
    x1 = int(min(np.ceil(points[:, 0].max() + pad) + 1, w))
    y1 = int(min(np.ceil(points[:, 1].max() + pad) + 1, h))
    return x0, y0, x1, y1


def _feathered_mask(poly: np.ndarray, x0: int, y0: int, shape: tuple[int, int], dilate: float,
                    sigma: float) -> np.ndarray:
    """Float32 mask 0..1 of a polygon in ROI coordinates: antialiased, dilated, Gaussian-feathered."""
    m = np.zeros(shape, np.uint8)
    fixed = np.round((poly - (x0, y0)) * 16).astype(np.int32)
    cv2.fillPoly(m, [fixed], 255, cv2.LINE_AA, 4)
    if dilate >= 1.0:
        k = int(round(dilate)) * 2 + 1
        m = cv2.dilate(m, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    mask = m.astype(np.float32) / 255.0
    if sigma > 0.3:
        mask = cv2.GaussianBlur(mask, (0, 0), sigma)
    return mask


def _axis_frame(a: np.ndarray, b: np.ndarray, xs: np.ndarray, ys: np.ndarray):
    """Coordinates (u, v) of pixels along axis a->b (u) and its downward normal (v), origin a."""
    d = b - a
    length = max(float(np.hypot(*d)), 1e-6)
    ux, uy = d / length
    dx, dy = xs - a[0], ys - a[1]
    return dx * ux + dy * uy, -dx * uy + dy * ux, (ux, uy), length


def curve_in_frame(points: np.ndarray, a: np.ndarray, axis: tuple[float, float], u: np.ndarray) -> np.ndarray:
    """Piecewise-linear v(u) of a contour [K,2] (ordered corner to corner) in the axis frame."""
    ux, uy = axis
    du, dv = points[:, 0] - a[0], points[:, 1] - a[1]
    cu, cv = du * ux + dv * uy, -du * uy + dv * ux
    order = np.argsort(cu)
    return np.interp(u, cu[order], cv[order]).astype(np.float32)


def fill_eye(image: np.ndarray, valid: np.ndarray, pts: np.ndarray, colours: FeatureColours, left: bool,
             strength: float) -> None:
    """Cover a closing eye with eyelid skin and a lash line, in place: image uint8 [H,W,3], valid float32
    [H,W] (lowered where painted), pts float32 [68,2] the target."""
    if strength <= 0.0:
        return
    h, w = valid.shape
    o = (EYE_LEFT if left else EYE_RIGHT).start
    eye = pts[o:o + 6]
    a, b = pts[o], pts[o + 3]
    width = max(float(np.hypot(*(b - a))), 1.0)
    pad = 0.25 * width + 2.0
    x0, y0, x1, y1 = _roi(eye, pad, h, w)
    if x1 <= x0 or y1 <= y0:
        return
    ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    u, v, axis, _ = _axis_frame(a, b, xs, ys)
    upper = curve_in_frame(pts[[o, o + 1, o + 2, o + 3]], a, axis, u)
    lower = curve_in_frame(pts[[o, o + 5, o + 4, o + 3]], a, axis, u)
    line = 0.35 * upper + 0.65 * lower                          # where the closed lids meet
    k = 1 if left else 0
    skin = colours.lid_skin[k][None, None, :]
    lash_w = max(0.035 * width, 0.5)
    lash = np.exp(-0.5 * ((v - line) / lash_w) ** 2)
    crease = 0.08 * np.exp(-0.5 * ((v - line + 0.18 * width) / (0.08 * width)) ** 2)
    patch = skin * (1.0 - crease[..., None]) + lash[..., None] * 0.7 * (colours.lash[k][None, None, :] - skin)
    alpha = strength * _feathered_mask(eye, x0, y0, xs.shape, 0.12 * width, 0.1 * width)
    region = image[y0:y1, x0:x1].astype(np.float32)
    image[y0:y1, x0:x1] = np.clip(region + alpha[..., None] * (patch - region) + 0.5, 0, 255).astype(np.uint8)
    valid[y0:y1, x0:x1] *= 1.0 - 0.8 * alpha
