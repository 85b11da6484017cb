"""Head pose of 68-point landmarks, in 2-D: a face-local frame and a rough depth per point.

The face-local frame has the eye line horizontal, its origin at the centre of the nose and eyes, and
the distance between the eye centres as unit.  A head rotation turns the local points about a pivot
behind the face, using a rough depth per point (a half ellipsoid from the jaw's width, the nose in
front), and projects them back orthographically: a 2-D approximation with parallax (on a turn the
nose moves more than the jaw's edge, the far side foreshortens).

    local, frame = to_local(points)                 # [68, 2] face-local, and how to go back
    turned = frame.to_image(rotate(local, face_depth(local), yaw, pitch, roll))
    turned = turn_head(points, yaw_deg=10)          # the same in one call
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from fsth_core.face_layout import EYE_LEFT, EYE_RIGHT, EYES, JAW, MOUTH, NOSE, NOSE_BRIDGE, NOSTRILS

PIVOT_DEPTH = -0.8  # the head turns about a point this far behind the face (eye-distance units)


@dataclass(frozen=True)
class FaceFrame:
    """Centre [2], rotation [2, 2] (local -> image) and unit (eye distance, pixels) of one face."""

    centre: np.ndarray
    rot: np.ndarray
    unit: float

    def to_image(self, local: np.ndarray) -> np.ndarray:
        """Face-local points [..., 2] -> image pixels (float64)."""
        return (np.asarray(local, np.float64) * self.unit) @ self.rot.T + self.centre


def face_frame(points: np.ndarray) -> FaceFrame:
    """The face-local frame of landmarks [68, 2] (ValueError when the eyes coincide)."""
    pts = np.asarray(points, np.float64)
    le, re = pts[EYE_RIGHT].mean(axis=0), pts[EYE_LEFT].mean(axis=0)
    v = re - le
    unit = float(np.hypot(*v))
    if unit < 1e-6:
        raise ValueError("degenerate landmarks (the eyes coincide)")
    c, s = v / unit
    return FaceFrame(np.concatenate([pts[NOSE], pts[EYES]]).mean(axis=0), np.array([[c, -s], [s, c]]), unit)


def to_local(points: np.ndarray) -> tuple[np.ndarray, FaceFrame]:
    """Landmarks [68, 2] -> (face-local points float64 [68, 2], their frame)."""
    frame = face_frame(points)
    return (np.asarray(points, np.float64) - frame.centre) @ frame.rot / frame.unit, frame


def face_depth(local: np.ndarray) -> np.ndarray:
    """Rough depth (towards the camera, eye-distance units) of each face-local landmark [68]."""
    x = local[:, 0]
    rx = max(float(np.abs(local[JAW, 0]).max()) * 1.05, 1e-3)
    z = np.sqrt(np.clip(1.0 - (x / rx) ** 2, 0.0, 1.0)) * rx * 0.6
    z[NOSE_BRIDGE] += np.array([0.15, 0.3, 0.45, 0.6])  # nose bridge to tip
    z[NOSTRILS] += 0.35
    z[MOUTH] += 0.12
    return z


def rotate(local: np.ndarray, depth: np.ndarray, yaw: float, pitch: float, roll: float) -> np.ndarray:
    """Turn face-local points [68, 2] with ``depth`` [68] by yaw, pitch, roll (radians; yaw > 0 turns
    the face towards the picture's right, pitch > 0 tilts it up, roll > 0 turns it clockwise on screen)
    and project them back: float64 [68, 2]."""
    x, y, zz = local[:, 0], local[:, 1], depth - PIVOT_DEPTH
    cy, sy = math.cos(yaw), math.sin(yaw)
    x, zz = cy * x + sy * zz, -sy * x + cy * zz
    cp, sp = math.cos(pitch), math.sin(pitch)
    y = cp * y - sp * zz
    cr, sr = math.cos(roll), math.sin(roll)
    x, y = cr * x - sr * y, sr * x + cr * y
    return np.stack([x, y], axis=1)


def turn_head(points: np.ndarray, yaw_deg: float = 0.0, pitch_deg: float = 0.0, roll_deg: float = 0.0) -> np.ndarray:
    """Landmarks [68, 2] with the head turned by yaw / pitch / roll degrees -> float32 [68, 2]."""
    local, frame = to_local(points)
    out = rotate(local, face_depth(local), math.radians(yaw_deg), math.radians(pitch_deg), math.radians(roll_deg))
    return frame.to_image(out).astype(np.float32)
