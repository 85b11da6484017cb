"""Expression editing: slider values applied to one pose or to every frame of a landmark track.

    edit = ExpressionEdit(mouth=0.3, smile=0.5, yaw=10)          # or ExpressionEdit.parse("mouth=0.3,yaw=10")
    posed = edit_landmarks(points, edit)                         # [68, 2] or [T, 68, 2], same shape

The edits are the landmark edits of fsth_core/landmarks/geometry.py (mouth, smile, eyes, brows) and
the head turn of fsth_core/landmarks/pose.py (yaw, pitch, roll: a 2-D approximation with a rough depth
per point).  On a track every frame gets the same offsets on top of its own motion.  The 68 points
have no pupils, so there is no gaze slider.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import numpy as np

from fsth_core.landmarks.geometry import cap_opening, close_eyes, open_mouth, raise_brows, smile
from fsth_core.landmarks.pose import turn_head
from fsth_core.options import SLIDERS


@dataclass(frozen=True)
class ExpressionEdit:
    """Slider values (see SLIDERS); all zero = no change."""

    mouth: float = 0.0
    smile: float = 0.0
    eyes: float = 0.0
    brows: float = 0.0
    yaw: float = 0.0
    pitch: float = 0.0
    roll: float = 0.0

    def __post_init__(self) -> None:
        for f in fields(self):
            lo, hi = SLIDERS[f.name][:2]
            v = getattr(self, f.name)
            try:
                v = float(v)
            except (TypeError, ValueError):
                raise ValueError(f"expression edit {f.name}={v!r} is not a number") from None
            if not (np.isfinite(v) and lo <= v <= hi):
                raise ValueError(f"expression edit {f.name}={v:g} is outside {lo:g}..{hi:g}")
            object.__setattr__(self, f.name, v)

    @property
    def is_identity(self) -> bool:
        return not any(asdict(self).values())

    @classmethod
    def parse(cls, text: str) -> ExpressionEdit:
        """``"mouth=0.3,smile=0.5,yaw=10"`` -> ExpressionEdit (ValueError naming what is wrong)."""
        values = {}
        for item in filter(None, (p.strip() for p in str(text).split(","))):
            name, sep, value = item.partition("=")
            name = name.strip()
            if not sep or name not in SLIDERS:
                raise ValueError(f"expression edit {item!r}: expected NAME=VALUE with NAME one of "
                                 f"{', '.join(SLIDERS)}")
            try:
                values[name] = float(value)
            except ValueError:
                raise ValueError(f"expression edit {item!r}: {value.strip()!r} is not a number") from None
        return cls(**values)


def _edit_pose(points: np.ndarray, e: ExpressionEdit) -> np.ndarray:
    p = points
    if e.mouth:
        p = open_mouth(p, e.mouth)
    if e.smile:
        p = smile(p, e.smile)
    if e.eyes:
        p = close_eyes(p, e.eyes)
    if e.brows:
        p = raise_brows(p, e.brows)
    p = cap_opening(p, points)  # within the openings of real speech, whatever the picture already has
    if e.yaw or e.pitch or e.roll:
        p = turn_head(p, e.yaw, e.pitch, e.roll)
    return np.asarray(p, np.float32)


def edit_landmarks(points: np.ndarray, edit: ExpressionEdit) -> np.ndarray:
    """Apply ``edit`` to one pose [68, 2] or to every frame of a track [T, 68, 2] -> float32, same shape.
    The input is not modified."""
    pts = np.asarray(points, np.float32)
    if pts.shape[-2:] != (68, 2) or pts.ndim not in (2, 3):
        raise ValueError(f"edit_landmarks: expected [68, 2] or [T, 68, 2] landmarks, got {list(pts.shape)}")
    if edit.is_identity:
        return pts.copy()
    if pts.ndim == 2:
        return _edit_pose(pts, edit)
    return np.stack([_edit_pose(p, edit) for p in pts])
