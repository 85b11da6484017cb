"""A 3D-ish 68-point face template (iBUG 300-W layout), expressions, pose and projection.

Face units: x to the image right, y down, z towards the camera; the face is about 2 units
wide (jaw 0..16 spans x = -1..1), eyes at y = -0.35, nose tip at y = 0.25, chin at y = 1.05.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fsth_core.face_layout import (BROW_LEFT, BROW_RAISE, BROW_RIGHT, EYE_LEFT, EYE_RIGHT, EYELID_PAIRS, EYES,
                                   INNER_CORNERS, JAW, JAW_DROP, LIPS_INNER, LIPS_OUTER, LOWER_LIP_DROP, MOUTH,
                                   MOUTH_CORNERS, N_POINTS, NOSE_BRIDGE, NOSTRILS, UPPER_LID_SHARE,
                                   UPPER_LIP_RAISE)

# Pixels per face unit is FACE_SCALE * image size; the template origin sits at (0.5, ORIGIN_Y) * size.
FACE_SCALE = 0.255
ORIGIN_Y = 0.47
ROTATION_CENTRE = np.array([0.0, 0.1, -0.7], np.float32)  # roughly the neck axis, behind the face


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


@dataclass(frozen=True)
class Expression:
    """Per-frame expression: mouth opening / smile / brow raise / blink, each about 0..1."""

    mouth_open: float = 0.0
    smile: float = 0.0
    brow_raise: float = 0.0
    blink: float = 0.0


@dataclass(frozen=True)
class Pose:
    """Head pose in degrees, scale factor and translation (fractions of the image size)."""

    yaw: float = 0.0
    pitch: float = 0.0
    roll: float = 0.0
    scale: float = 1.0
    tx: float = 0.0
    ty: float = 0.0


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


def _weights(table: dict[int, float]) -> tuple[list[int], np.ndarray]:
    return list(table), np.array(list(table.values()), np.float32)


_JAW_DROP, _LOWER_LIP_DROP, _UPPER_LIP_RAISE, _BROW_RAISE = map(
    _weights, (JAW_DROP, LOWER_LIP_DROP, UPPER_LIP_RAISE, BROW_RAISE))
_CORNERS = list(MOUTH_CORNERS + INNER_CORNERS)


def apply_expression(pts: np.ndarray, ex: Expression) -> np.ndarray:
    """Move template points [68, 3] for an expression; returns a new array.  Which points move and by
    what share is the landmark layout's (fsth_core/face_layout.py); amplitudes are in face units."""
    out = pts.copy()
    m = float(np.clip(ex.mouth_open, 0, 1))
    for (idx, w), amp in ((_JAW_DROP, 0.22), (_LOWER_LIP_DROP, 0.28), (_UPPER_LIP_RAISE, -0.17)):
        out[idx, 1] += amp * m * w
    out[_CORNERS, 0] *= 1 - 0.1 * m
    sm = float(ex.smile)
    out[_CORNERS, 1] -= 0.06 * sm
    out[_CORNERS, 0] *= 1 + 0.12 * sm
    out[_BROW_RAISE[0], 1] -= 0.07 * float(ex.brow_raise) * _BROW_RAISE[1]
    b = float(np.clip(ex.blink, 0, 1))
    for u, lo in EYELID_PAIRS:  # upper lid point, the lower one below it
        gap = out[lo, 1] - out[u, 1]
        out[u, 1] += b * UPPER_LID_SHARE * gap
        out[lo, 1] -= b * (1.0 - UPPER_LID_SHARE) * gap
    return out


def pose_matrix(pose: Pose) -> np.ndarray:
    """3x3 rotation (roll @ pitch @ yaw) in face units."""
    y, p, r = np.deg2rad([pose.yaw, pose.pitch, pose.roll])
    ry = np.array([[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]])
    rx = np.array([[1, 0, 0], [0, np.cos(p), -np.sin(p)], [0, np.sin(p), np.cos(p)]])
    rz = np.array([[np.cos(r), -np.sin(r), 0], [np.sin(r), np.cos(r), 0], [0, 0, 1]])
    return (rz @ rx @ ry).astype(np.float32)


def project(pts: np.ndarray, pose: Pose, size: int, base_scale: float = 1.0) -> np.ndarray:
    """Rotate face points [68, 3] about the neck axis and project orthographically to pixels [68, 2]."""
    rot = pose_matrix(pose)
    q = (pts - ROTATION_CENTRE) @ rot.T + ROTATION_CENTRE
    unit = FACE_SCALE * size * base_scale * pose.scale
    x = size * (0.5 + pose.tx) + unit * q[:, 0]
    y = size * (ORIGIN_Y + pose.ty) + unit * q[:, 1]
    return np.stack([x, y], 1).astype(np.float32)
