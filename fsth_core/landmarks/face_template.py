"""The neutral 68-point face template (iBUG 300-W layout) and its placement in a face box.

The one home of the face's mean geometry: the synthetic heads (fsth_core/synthetic) give it per-identity
shapes, expressions and poses; ``in_box`` places it in a box a user drew round a face no detector finds.

Face units: x to the image right, y down, z towards the camera; the face is about 2 units
wide (jaw 0..16 spans x = -1..1), eyes at y = -0.35, nose tip at y = 0.25, chin at y = 1.05.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fsth_core.face_layout import (
    BROW_LEFT,
    BROW_RIGHT,
    CHIN,
    EYE_INNER_LEFT,
    EYE_INNER_RIGHT,
    EYE_LEFT,
    EYE_OUTER_LEFT,
    EYE_OUTER_RIGHT,
    EYE_RIGHT,
    EYES,
    JAW,
    LIPS_INNER,
    LIPS_OUTER,
    MOUTH,
    N_POINTS,
    NOSE_BRIDGE,
    NOSTRILS,
)

#: where ``in_box`` puts the eye corners in a box drawn round a face: this fraction of its height from the top
#: (the chin sits on the bottom edge, the jaw's ends on the sides)
BOX_EYES = 0.37
_EYE_CORNERS = [EYE_OUTER_RIGHT, EYE_INNER_RIGHT, EYE_INNER_LEFT, EYE_OUTER_LEFT]


@dataclass(frozen=True)
class ShapeParams:
    """Identity shape (1.0 / 0.0 = mean face)."""

    face_width: float = 1.0
    face_length: float = 1.0
    jaw_square: float = 0.0      # 0 = oval, 1 = square jaw
    eye_spacing: float = 0.0     # added to the eye centres' |x|
    eye_size: float = 1.0
    eye_height: float = 1.0      # eye opening
    brow_height: float = 0.0     # added to the brows' height above the eyes
    brow_tilt: float = 0.0       # outer brow end up (+) or down (-)
    nose_length: float = 1.0
    nose_width: float = 1.0
    mouth_width: float = 1.0
    lip_upper: float = 1.0
    lip_lower: float = 1.0
    mouth_y: float = 0.0


def _mirror(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    return [(-x, y) for x, y in points]


def template(p: ShapeParams = ShapeParams()) -> np.ndarray:
    """Neutral face of shape ``p``: float32 [68, 3] in face units."""
    pts = np.zeros((N_POINTS, 3), np.float32)
    # jaw 0-16: super-ellipse arc from the right-eye level round the chin to the left side
    d = 0.25
    th = (np.pi + d) - np.arange(17) * (np.pi + 2 * d) / 16
    c, s = np.cos(th), np.sin(th)
    e = 1.0 - 0.45 * p.jaw_square
    pts[JAW, 0] = p.face_width * np.sign(c) * np.abs(c) ** e
    pts[JAW, 1] = -0.1 + 1.15 * p.face_length * np.sign(s) * np.abs(s) ** e
    # brows 17-21 (image left), 22-26
    bx = np.linspace(-0.82, -0.16, 5)
    by = -0.6 - p.brow_height - 0.09 * np.sin(np.linspace(0.35, np.pi - 0.2, 5)) \
        - p.brow_tilt * np.linspace(1, 0, 5) * 0.08
    pts[BROW_RIGHT, :2] = np.stack([bx, by], 1)
    pts[BROW_LEFT, :2] = np.stack([-bx[::-1], by[::-1]], 1)
    # nose bridge 27-30 and base 31-35
    nl = p.nose_length
    pts[NOSE_BRIDGE, :2] = [(0, -0.36), (0, -0.36 + 0.2 * nl), (0, -0.36 + 0.4 * nl), (0, -0.36 + 0.6 * nl)]
    nb = -0.36 + 0.68 * nl
    nw = 0.2 * p.nose_width
    pts[NOSTRILS, :2] = [(-nw, nb - 0.02), (-nw / 2, nb + 0.02), (0, nb + 0.035), (nw / 2, nb + 0.02), (nw, nb - 0.02)]
    # eyes 36-41 (outer corner, upper lid, inner corner, lower lid), mirrored 42-47
    ex, w, hu, hl = -0.4 - p.eye_spacing, 0.18 * p.eye_size, 0.085 * p.eye_size * p.eye_height, \
        0.065 * p.eye_size * p.eye_height
    right = [(ex - w, -0.34), (ex - w / 3, -0.35 - hu), (ex + w / 3, -0.35 - hu), (ex + w, -0.34),
             (ex + w / 3, -0.35 + hl), (ex - w / 3, -0.35 + hl)]
    pts[EYE_RIGHT, :2] = right
    left = _mirror(right)  # mirrored order: outer, upper, upper, inner ... -> reorder to inner first
    pts[EYE_LEFT, :2] = [left[3], left[2], left[1], left[0], left[5], left[4]]
    # lips: outer 48-59, inner 60-67
    my, mw, lu, ll = 0.62 + p.mouth_y, 0.3 * p.mouth_width, 0.08 * p.lip_upper, 0.13 * p.lip_lower
    outer = [(-mw, my), (-0.66 * mw, my - 0.8 * lu), (-0.27 * mw, my - lu), (0, my - 0.85 * lu),
             (0.27 * mw, my - lu), (0.66 * mw, my - 0.8 * lu), (mw, my),
             (0.66 * mw, my + 0.7 * ll), (0.33 * mw, my + 0.95 * ll), (0, my + ll),
             (-0.33 * mw, my + 0.95 * ll), (-0.66 * mw, my + 0.7 * ll)]
    inner = [(-0.85 * mw, my), (-0.35 * mw, my - 0.012), (0, my - 0.01), (0.35 * mw, my - 0.012),
             (0.85 * mw, my), (0.35 * mw, my + 0.012), (0, my + 0.014), (-0.35 * mw, my + 0.012)]
    pts[LIPS_OUTER, :2] = outer
    pts[LIPS_INNER, :2] = inner
    # depth: a rounded face surface plus nose, lips and sunken eyes
    x = pts[:, 0]
    pts[:, 2] = 0.55 * (1 - 0.85 * np.clip(x, -1, 1) ** 2)
    pts[NOSE_BRIDGE, 2] += [0.05, 0.12, 0.2, 0.3]
    pts[NOSTRILS, 2] += [0.1, 0.14, 0.18, 0.14, 0.1]
    pts[EYES, 2] -= 0.05
    pts[MOUTH, 2] += 0.06
    return pts


def in_box(box) -> np.ndarray:
    """The neutral template fitted into ``box`` (x0, y0, x1, y1 pixels) as a person would place a face
    there: float32 [68, 2] pixels.  The jaw's ends touch the box's sides, the eye corners lie at
    BOX_EYES of its height and the chin on its bottom edge, so the mouth falls in the lower third (at
    about 81 %) and the brows at about a quarter; a narrow or wide box gives a narrow or wide face."""
    x0, y0, x1, y1 = (float(v) for v in box)
    pts = template()[:, :2].astype(np.float64)
    eye_y = float(pts[_EYE_CORNERS, 1].mean())
    chin_y = float(pts[CHIN, 1])
    sy = (1.0 - BOX_EYES) * (y1 - y0) / (chin_y - eye_y)   # pixels per face unit, vertically
    sx = (x1 - x0) / float(pts[JAW, 0].max() - pts[JAW, 0].min())
    out = np.empty_like(pts)
    out[:, 0] = (x0 + x1) / 2 + sx * (pts[:, 0] - float(pts[JAW, 0].mean()))
    out[:, 1] = y0 + BOX_EYES * (y1 - y0) + sy * (pts[:, 1] - eye_y)
    return out.astype(np.float32)
