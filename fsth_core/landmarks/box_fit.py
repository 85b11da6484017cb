"""Fitting the face template to the eyes and mouth drawn inside a face box (a face no detector finds).

Faces in paintings, cartoons and drawings keep no canon: big eyes set low, a forehead hidden by hair, a
mouth near the chin.  The template placed by proportion alone (face_template.in_box) would blink and
talk a cheek away from them, so its parts are moved to the picture's own features:

* the picture's **ink** inside the box: dark details smaller than a fifth of the face (eyes, pupils, brows,
  nostrils, lips, pen strokes), found by a black-hat filter (closing minus the picture), blurred;
* the template's **parts** drawn the same way (brows, eyes, nose, lips; not the jaw, which is the box);
* the parts' placement (eye line, eye spacing, size and opening, mouth height and size) that makes the two
  most alike (normalized cross-correlation, less a prior that keeps each part near its place by proportion),
  searched on a grid a few parameters at a time, twice.

The fit is kept when it is clearly better than the placement by proportion (by FIT_MARGIN) and
correlates at least MIN_CORRELATION; otherwise the proportions stand (a flat box, a face without clear
features).  It moves whole parts, so the
template stays a face: eyes level and mirrored, the nose between the eyes and the mouth.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, replace

import cv2
import numpy as np

from fsth_core.face_layout import (
    BROW_LEFT,
    BROW_RIGHT,
    EYE_LEFT,
    EYE_RIGHT,
    LIPS_INNER,
    LIPS_OUTER,
    MOUTH,
    NOSE,
    NOSE_BRIDGE,
    NOSTRILS,
)
from fsth_core.landmarks.face_template import BOX_EYES, in_box

WORK_W = 80              # px: the box's width while fitting
MIN_CORRELATION = 0.1
FIT_MARGIN = 0.05

_UNIT = in_box((0.0, 0.0, 1.0, 1.0)).astype(np.float64)  # the template in box units (0..1)
_MOUTH_Y = float(_UNIT[MOUTH, 1].mean())
_EYE_SEP = float(_UNIT[EYE_LEFT, 0].mean() - _UNIT[EYE_RIGHT, 0].mean())


@dataclass(frozen=True)
class Placement:
    """Where the parts go, in box units: the eye line's height, the eye centres' distance, the eyes' size
    (1 = the template's) and their opening (height / width against the template's), the mouth centre's
    height and the mouth's size."""

    eye_y: float = BOX_EYES
    eye_sep: float = _EYE_SEP
    eye_scale: float = 1.0
    eye_open: float = 1.0
    mouth_y: float = _MOUTH_Y
    mouth_scale: float = 1.0


GRID = {"eye_y": np.linspace(0.16, 0.56, 17), "eye_sep": np.linspace(0.28, 0.62, 8),
        "eye_scale": (0.8, 1.0, 1.3, 1.7, 2.2), "eye_open": (1.0, 1.6, 2.4),
        "mouth_y": np.linspace(0.5, 0.92, 22), "mouth_scale": (0.7, 1.0, 1.3, 1.7)}
_STEPS = (("eye_y", "eye_scale", "eye_open"), ("eye_sep",), ("mouth_y", "mouth_scale"))
#: the prior: how far each part may stray from its place by proportion (one unit of PRIOR_WEIGHT each);
#: sizes are compared on a log scale
PRIOR = {"eye_y": 0.08, "eye_sep": 0.1, "eye_scale": 0.4, "eye_open": 0.5, "mouth_y": 0.045, "mouth_scale": 0.35}
PRIOR_WEIGHT = 0.02
_LOG = ("eye_scale", "eye_open", "mouth_scale")


def place(p: Placement) -> np.ndarray:
    """The template's 68 points [68, 2] in box units with its parts moved to placement ``p``."""
    pts = _UNIT.copy()
    for eye, brow, side in ((EYE_RIGHT, BROW_RIGHT, -1), (EYE_LEFT, BROW_LEFT, 1)):
        c = pts[eye].mean(0)
        target = np.array([0.5 + side * p.eye_sep / 2, p.eye_y])
        pts[eye] = target + (pts[eye] - c) * p.eye_scale * np.array([1.0, p.eye_open])
        brow_c = pts[brow].mean(0)
        lift = (c[1] - brow_c[1]) * (0.5 + 0.5 * p.eye_scale * p.eye_open)  # bigger eyes push the brow up
        pts[brow] = pts[brow] - brow_c + target - np.array([0.0, lift])
        pts[brow, 0] = target[0] + (pts[brow, 0] - target[0]) * min(1.3, max(1.0, p.eye_scale))
    m = pts[MOUTH].mean(0)
    pts[MOUTH] = np.array([0.5, p.mouth_y]) + (pts[MOUTH] - m) * p.mouth_scale
    # the nose keeps its share of the way from the eye line to the mouth
    share = (_UNIT[NOSE, 1] - BOX_EYES) / (_MOUTH_Y - BOX_EYES)
    pts[NOSE, 1] = p.eye_y + share * (p.mouth_y - p.eye_y)
    return pts


def _ink(image: np.ndarray, box: np.ndarray) -> np.ndarray | None:
    """Dark details of the box's region, float32 [h, WORK_W], zero mean, unit norm (None: flat)."""
    x0, y0, x1, y1 = (float(v) for v in box)
    h = max(8, int(round(WORK_W * (y1 - y0) / (x1 - x0))))
    m = np.array([[WORK_W / (x1 - x0), 0, -x0 * WORK_W / (x1 - x0)], [0, h / (y1 - y0), -y0 * h / (y1 - y0)]])
    grey = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2GRAY)
    if (x1 - x0) > WORK_W:  # shrinking: average first (no aliasing of thin strokes)
        grey = cv2.GaussianBlur(grey, (0, 0), 0.4 * (x1 - x0) / WORK_W)
    crop = cv2.warpAffine(grey, m, (WORK_W, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    k = int(WORK_W / 5) | 1
    ink = cv2.morphologyEx(crop, cv2.MORPH_BLACKHAT, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    return _normalized(cv2.GaussianBlur(ink.astype(np.float32), (0, 0), 1.5))


def _normalized(a: np.ndarray) -> np.ndarray | None:
    a = a - a.mean()
    n = float(np.linalg.norm(a))
    return a / n if n > 1e-6 else None


def _drawn(pts: np.ndarray, shape: tuple[int, int]) -> np.ndarray | None:
    """The template's parts drawn like the picture's ink, float32 ``shape``, zero mean, unit norm."""
    h, w = shape
    canvas = np.zeros(shape, np.float32)
    px = np.round(pts * [w, h] * 16).astype(np.int32)  # 4 bits of sub-pixel precision
    for group in (EYE_RIGHT, EYE_LEFT, LIPS_OUTER):
        cv2.fillPoly(canvas, [px[group]], 0.5, cv2.LINE_AA, 4)
    for group, closed, weight in ((BROW_RIGHT, False, 1.0), (BROW_LEFT, False, 1.0), (NOSE_BRIDGE, False, 0.5),
                                  (NOSTRILS, False, 1.0), (EYE_RIGHT, True, 1.0), (EYE_LEFT, True, 1.0),
                                  (LIPS_OUTER, True, 1.0), (LIPS_INNER, True, 1.0)):
        cv2.polylines(canvas, [px[group]], closed, weight, 2, cv2.LINE_AA, 4)
    return _normalized(cv2.GaussianBlur(canvas, (0, 0), 1.5))


def _score(p: Placement, ink: np.ndarray) -> float:
    """Correlation of the parts drawn at ``p`` with the picture's ink, less the prior's penalty."""
    t = _drawn(place(p), ink.shape)
    if t is None:
        return -1.0
    base = Placement()
    penalty = sum(((np.log(getattr(p, k) / getattr(base, k)) if k in _LOG else getattr(p, k) - getattr(base, k))
                   / sigma) ** 2 for k, sigma in PRIOR.items())
    return float((t * ink).sum()) - PRIOR_WEIGHT * penalty


def _valid(p: Placement) -> bool:
    return p.mouth_y - p.eye_y >= 0.22 and p.eye_sep > 0.2 * p.eye_scale + 0.1


def fit_template(image: np.ndarray, box) -> tuple[np.ndarray, bool]:
    """The face template in ``box`` (x0, y0, x1, y1) of uint8 RGB ``image`` with its eyes and mouth on the
    picture's own -> (float32 [68, 2] pixels, True when fitted; False: placed by proportion, in_box)."""
    box = np.asarray(box, np.float64)
    ink = _ink(image, box)
    best, fitted = Placement(), False
    if ink is not None:
        base = best_score = _score(best, ink)
        for names in _STEPS * 2:
            for values in itertools.product(*(GRID[n] for n in names)):
                p = replace(best, **dict(zip(names, (float(v) for v in values))))
                if _valid(p):
                    s = _score(p, ink)
                    if s > best_score:
                        best, best_score = p, s
        fitted = best_score >= MIN_CORRELATION and best_score >= base + FIT_MARGIN
    if not fitted:
        return in_box(box), False
    unit = place(best)
    size = box[2:] - box[:2]
    return (box[:2] + unit * size).astype(np.float32), True
