"""Cartoon-head renderer: one image as a deterministic function of (identity, 68 landmarks).

The identity is a :class:`HeadParams` (its colours and styles; heads.py draws random ones).

Everything except the identity's colours and styles is derived from the landmarks: the face
outline, forehead, hair, neck, shoulders, eyes, nose and mouth.  Drawn with antialiased cv2
polygons on a canvas ``supersample`` times larger, then area-downsampled.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from fsth_core.face_layout import (
    BROW_LEFT,
    BROW_RIGHT,
    BROWS,
    EYE_LEFT,
    EYE_RIGHT,
    JAW,
    LIPS_INNER,
    LIPS_OUTER,
    NOSE_BRIDGE,
    NOSTRILS,
)

RGB = tuple[int, int, int]


@dataclass(frozen=True, eq=False)
class HeadParams:
    """Appearance and face shape of one synthetic person (colours are RGB).  Not to be confused with
    fsth_core.inference.pipeline.Identity, a real person's embedding for the generator."""

    points3d: np.ndarray = field(repr=False)  # float32 [68, 3] neutral face, face units
    base_scale: float
    skin: RGB
    hair: RGB
    eye: RGB
    lips: RGB
    shirt: RGB
    shirt2: RGB
    bg_top: RGB
    bg_bottom: RGB
    bg_horizontal: bool
    hair_style: int        # 0 bald, 1 short, 2 long
    hair_volume: float
    hairline: float        # height of the hairline above the brows, face units
    fringe: int            # 0 none, 1 straight bangs, 2 side-swept
    fringe_side: float     # -1 / +1
    pattern: int           # shirt: 0 plain, 1 stripes, 2 dots
    pattern_scale: float
    dots: np.ndarray = field(repr=False)      # [N, 2] positions in the shirt's unit disk
    freckles: np.ndarray = field(repr=False)  # [N, 2] positions in the nose frame
    collar: bool = False
    blush: bool = False
    beard: int = 0         # 0 none, 1 moustache, 2 moustache and beard
    glasses: bool = False
    glasses_colour: RGB = (30, 30, 30)
    brow_thickness: float = 0.08
    iris_size: float = 0.24
    shoulders: float = 1.0
    light: float = 0.0


_SHIFT = 3  # fixed-point bits for cv2 drawing
_AA = cv2.LINE_AA
_MEAN_FACE_HEIGHT = 1.41  # |P27 - P8| of the mean template, face units
_MEAN_FACE_WIDTH = 2.0    # |P16 - P0|


def _fx(p) -> np.ndarray:
    return np.round(np.asarray(p, np.float64) * (1 << _SHIFT)).astype(np.int32)


def _c(rgb, k: float = 1.0) -> tuple[int, int, int]:
    return tuple(int(min(255, max(0, round(v * k)))) for v in rgb)


def _mix(a, b, t: float) -> tuple[int, int, int]:
    return tuple(int(round(x * (1 - t) + y * t)) for x, y in zip(a, b))


def _poly(img, pts, colour) -> None:
    cv2.fillPoly(img, [_fx(pts).reshape(-1, 1, 2)], colour, _AA, _SHIFT)


def _line(img, pts, colour, width: float, closed: bool = False) -> None:
    cv2.polylines(img, [_fx(pts).reshape(-1, 1, 2)], closed, colour, max(1, int(round(width))), _AA, _SHIFT)


def _ellipse(img, centre, axes, angle: float, colour, thickness: float = -1) -> None:
    ax = _fx(np.maximum(np.asarray(axes, np.float64), 0.5))
    th = -1 if thickness < 0 else max(1, int(round(thickness)))
    cv2.ellipse(img, tuple(int(v) for v in _fx(centre)), (int(ax[0]), int(ax[1])), float(angle), 0, 360,
                colour, th, _AA, _SHIFT)


def _clipped(img, poly: np.ndarray, draw) -> None:
    """Run ``draw(layer, origin)`` on a copy of the region around ``poly`` and keep it only inside ``poly``."""
    h, w = img.shape[:2]
    x0, y0 = np.floor(poly.min(0)).astype(int) - 2
    x1, y1 = np.ceil(poly.max(0)).astype(int) + 3
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return
    roi = img[y0:y1, x0:x1]
    origin = np.array([x0, y0], np.float64)
    mask = np.zeros(roi.shape[:2], np.uint8)
    _poly(mask, poly - origin, 255)
    if not mask.any():
        return
    layer = roi.copy()
    draw(layer, origin)
    a = mask[..., None].astype(np.float32) / 255.0
    roi[:] = (roi * (1 - a) + layer * a + 0.5).astype(np.uint8)


def _background(idn: HeadParams, n: int) -> np.ndarray:
    t = np.linspace(0.0, 1.0, n, dtype=np.float32)[:, None]
    ramp = (np.asarray(idn.bg_top, np.float32) * (1 - t) + np.asarray(idn.bg_bottom, np.float32) * t + 0.5)
    ramp = ramp.astype(np.uint8)
    if idn.bg_horizontal:
        return np.ascontiguousarray(np.broadcast_to(ramp[None, :, :], (n, n, 3)))
    return np.ascontiguousarray(np.broadcast_to(ramp[:, None, :], (n, n, 3)))


def default_supersample(size: int) -> int:
    """Canvas factor used by :func:`render_frame` when not given."""
    return 4 if size <= 64 else 2 if size <= 256 else 1


def render_frame(identity: HeadParams, points: np.ndarray, size: int, supersample: int | None = None) -> np.ndarray:
    """Draw ``identity`` with landmarks ``points`` (float [68, 2], pixels of a ``size`` image).

    Returns uint8 [size, size, 3] RGB; the same inputs always give the same bytes.
    """
    pts = np.asarray(points, np.float64)
    if pts.shape != (68, 2):
        raise ValueError(f"points must be [68, 2], got {list(pts.shape)}")
    ss = int(supersample or default_supersample(size))
    n = size * ss
    P = pts * ss + (ss - 1) / 2.0
    img = _background(identity, n)
    _draw_head(img, identity, P, n)
    if ss > 1:
        img = cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA)
    return img


def _draw_head(img: np.ndarray, idn: HeadParams, P: np.ndarray, n: int) -> None:
    chin, bridge = P[8], P[27]
    fh = float(np.linalg.norm(bridge - chin)) + 1e-6
    up = (bridge - chin) / fh
    right = np.array([-up[1], up[0]])
    u = 0.5 * (fh / _MEAN_FACE_HEIGHT + float(np.linalg.norm(P[16] - P[0])) / _MEAN_FACE_WIDTH)
    roll = float(np.degrees(np.arctan2(right[1], right[0])))
    down = np.array([0.0, 1.0])
    skin = idn.skin
    lit = idn.light  # -1: light from the image left, +1: from the right

    # forehead dome over the brows, temples beside them
    t = np.linspace(-1, 1, 10)
    dome = np.sqrt(1 - 0.85 * t ** 2)
    brows = P[BROWS]
    temple_l, temple_r = P[0] + up * 0.4 * u, P[16] + up * 0.4 * u
    forehead = brows + up[None] * (u * (0.5 + 0.45 * dome))[:, None]
    face = np.concatenate([P[JAW], temple_r[None], forehead[::-1], temple_l[None]])

    # hair behind the head
    hair_c = bridge + up * 0.55 * u
    hax = np.array([1.18, 1.22]) * u * idn.hair_volume
    if idn.hair_style > 0:
        back = _c(idn.hair, 0.8)
        _ellipse(img, hair_c, hax, roll, back)
        if idn.hair_style == 2:
            drop = down * (chin[1] - hair_c[1] + 0.7 * u)
            _poly(img, [hair_c + right * hax[0], hair_c + right * hax[0] * 1.08 + drop,
                        hair_c - right * hax[0] * 1.08 + drop, hair_c - right * hax[0]], back)

    # neck, shoulders and shirt
    body_x = 0.5 * chin[0] + 0.25 * n
    nl, nr = P[5] + (P[11] - P[5]) * 0.14, P[11] - (P[11] - P[5]) * 0.14
    neck_bottom = chin[1] + 1.0 * u
    half = 0.5 * abs(nr[0] - nl[0]) * 1.05
    _poly(img, [nl, nr, (body_x + half, neck_bottom), (body_x - half, neck_bottom)], _c(skin, 0.8))
    _ellipse(img, chin + down * 0.02 * u, (0.42 * u, 0.16 * u), roll, _c(skin, 0.72))
    shirt_top = chin[1] + 0.5 * u
    sax = np.array([2.0 * idn.shoulders, 1.5]) * u
    sc = np.array([body_x, shirt_top + sax[1]])
    _ellipse(img, sc, sax, 0.0, idn.shirt)
    if idn.pattern == 1:  # concentric stripes
        gap = idn.pattern_scale * u
        k = 1
        while sax[1] - k * gap > 0.3 * sax[1]:
            _ellipse(img, sc, sax - k * gap, 0.0, idn.shirt2, thickness=0.45 * gap)
            k += 1
    elif idn.pattern == 2:  # dots
        for du, dv in idn.dots:
            _ellipse(img, sc + np.array([du * sax[0], dv * sax[1]]), (0.06 * u, 0.06 * u), 0, idn.shirt2)
    if idn.collar:
        _poly(img, [(body_x - 0.35 * u, shirt_top - 0.02 * u), (body_x + 0.35 * u, shirt_top - 0.02 * u),
                    (body_x, shirt_top + 0.45 * u)], _c(skin, 0.8))

    # ears, then the face in three shading levels
    for a, b, sgn in ((1, 2, -1), (15, 14, 1)):
        ec = P[a] * 0.6 + P[b] * 0.4 + right * sgn * 0.05 * u
        _ellipse(img, ec, (0.14 * u, 0.26 * u), roll, _c(skin, 0.88))
        _ellipse(img, ec + right * sgn * 0.02 * u, (0.06 * u, 0.15 * u), roll, _c(skin, 0.72))
    centre = P[29] + right * lit * 0.15 * u
    for k, shade in ((1.0, 0.84), (0.93, 0.93), (0.8, 1.0)):
        _poly(img, centre + (face - centre) * k, _c(skin, shade))

    # cheeks and freckles, in a frame attached to the nose
    ex, ey = (P[45] - P[36]) / 2, (P[8] - P[27]) / _MEAN_FACE_HEIGHT
    if idn.blush:
        for cx in (-0.75, 0.75):
            _ellipse(img, P[30] + cx * ex - 0.05 * ey, (0.2 * u, 0.12 * u), roll, _mix(skin, (225, 95, 95), 0.22))
    for a, b in idn.freckles:
        _ellipse(img, P[30] + a * ex + b * ey, (0.025 * u, 0.025 * u), 0, _c(skin, 0.72))
    if idn.beard == 2:
        _poly(img, np.concatenate([P[3:14], P[54:60] + 0.06 * ey, P[48:49] + 0.06 * ey]), _c(idn.hair, 0.85))

    # nose
    _line(img, P[NOSE_BRIDGE] - right * lit * 0.08 * u, _c(skin, 0.82), 0.06 * u)
    _line(img, P[NOSTRILS], _c(skin, 0.7), 0.04 * u)
    for i in (32, 34):
        _ellipse(img, P[i] + up * 0.02 * u, (0.05 * u, 0.03 * u), roll, _c(skin, 0.5))
    _ellipse(img, P[30] + up * 0.05 * u + right * lit * 0.03 * u, (0.05 * u, 0.04 * u), roll, _c(skin, 1.07))

    _draw_mouth(img, idn, P, u, up, roll)
    if idn.beard >= 1:
        top = P[49:54] - 0.12 * ey
        _poly(img, np.concatenate([P[48:49] - 0.01 * ey, top, P[54:55] - 0.01 * ey, P[53:48:-1] - 0.02 * ey]),
              _c(idn.hair, 0.85))
    for idx in (EYE_RIGHT, EYE_LEFT):
        _draw_eye(img, idn, P[idx], u, skin)
    brow_col = _c(idn.hair, 0.7)
    _line(img, P[BROW_RIGHT], brow_col, idn.brow_thickness * u)
    _line(img, P[BROW_LEFT], brow_col, idn.brow_thickness * u)

    # hair over the forehead: from the face top down to the hairline
    if idn.hair_style > 0:
        if idn.fringe == 1:
            zig = np.where(np.arange(10) % 2 == 0, 0.0, 0.07)
            line = 0.18 + zig + 0.05 * (1 - dome)
        elif idn.fringe == 2:
            line = 0.12 + 0.5 * (t * idn.fringe_side + 1) / 2
        else:
            line = idn.hairline + 0.1 * (1 - dome) * 2
        cap_top = brows + up[None] * (u * (0.65 + 0.5 * dome))[:, None]
        hairline = brows + up[None] * (u * line)[:, None]
        side_l = P[0] + up * 0.25 * u - right * 0.03 * u
        side_r = P[16] + up * 0.25 * u + right * 0.03 * u
        _poly(img, np.concatenate([side_r[None], cap_top[::-1], side_l[None], hairline]), idn.hair)
    if idn.glasses:
        _draw_glasses(img, idn, P, u, roll)


def _draw_eye(img, idn: HeadParams, E: np.ndarray, u: float, skin) -> None:
    c = E.mean(0)
    ew = float(np.linalg.norm(E[3] - E[0]))
    r = idn.iris_size * ew

    def draw(layer, origin):
        layer[:] = (245, 244, 238)
        p = c - origin
        _ellipse(layer, p, (r, r), 0, idn.eye)
        _ellipse(layer, p, (0.45 * r, 0.45 * r), 0, (20, 16, 16))
        _ellipse(layer, p + (-0.35 * r, -0.35 * r), (0.22 * r, 0.22 * r), 0, (250, 250, 250))

    _clipped(img, E, draw)
    _line(img, E[0:4], (45, 32, 30), 0.05 * u)
    _line(img, np.concatenate([E[3:6], E[0:1]]), _c(skin, 0.72), 0.02 * u)


def _draw_mouth(img, idn: HeadParams, P: np.ndarray, u: float, up, roll: float) -> None:
    _poly(img, P[LIPS_OUTER], idn.lips)
    inner = P[LIPS_INNER]
    _poly(img, inner, (70, 24, 30))
    if float(np.linalg.norm(P[66] - P[62])) > 0.04 * u:
        teeth = np.concatenate([P[61:64], P[63:60:-1] - up * 0.1 * u])

        def draw(layer, origin):
            _poly(layer, teeth - origin, (238, 236, 224))

        _clipped(img, inner, draw)
    _line(img, np.concatenate([P[60:68], P[60:61]]), _c(idn.lips, 0.6), 0.03 * u)
    _ellipse(img, (P[57] + P[66]) / 2, (0.07 * u, 0.025 * u), roll, _c(idn.lips, 1.15))


def _draw_glasses(img, idn: HeadParams, P: np.ndarray, u: float, roll: float) -> None:
    cl, cr = P[EYE_RIGHT].mean(0), P[EYE_LEFT].mean(0)
    ax = (0.3 * u, 0.22 * u)
    w = 0.045 * u
    for c in (cl, cr):
        _ellipse(img, c, ax, roll, idn.glasses_colour, thickness=w)
    d = (cr - cl) / (np.linalg.norm(cr - cl) + 1e-6)
    _line(img, [cl + d * ax[0], cr - d * ax[0]], idn.glasses_colour, w)
    _line(img, [cl - d * ax[0], P[0] + (P[1] - P[0]) * 0.0 + d * 0.05 * u], idn.glasses_colour, w)
    _line(img, [cr + d * ax[0], P[16] - d * 0.05 * u], idn.glasses_colour, w)
