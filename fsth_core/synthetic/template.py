"""Expressions, pose and projection of the 3D-ish 68-point face template (iBUG 300-W layout), whose neutral
shape lives in fsth_core/landmarks/face_template.py (face units: see there).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fsth_core.face_layout import (
    BROW_RAISE,
    EYELID_PAIRS,
    INNER_CORNERS,
    JAW_DROP,
    LOWER_LIP_DROP,
    MOUTH_CORNERS,
    UPPER_LID_SHARE,
    UPPER_LIP_RAISE,
)

# Pixels per face unit is FACE_SCALE * image size; the template origin sits at (0.5, ORIGIN_Y) * size.
FACE_SCALE = 0.255
ORIGIN_Y = 0.47
ROTATION_CENTRE = np.array([0.0, 0.1, -0.7], np.float32)  # roughly the neck axis, behind the face


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
