"""Landmark images as the paper's public implementations draw them.

Polylines on black, one colour per face part (RGB): jaw green, eyebrows orange, nose blue,
eyes red, outer lip purple, inner lip pink; eyes and lips closed; antialiased lines whose
width scales with the image size.
"""
from __future__ import annotations

import cv2
import numpy as np

from fsth_core import face_layout as layout

# part name (layout.PARTS) -> RGB colour
COLOURS: dict[str, tuple[int, int, int]] = {
    "jaw": (0, 255, 0), "brow_right": (255, 165, 0), "brow_left": (255, 165, 0),
    "nose_bridge": (0, 0, 255), "nostrils": (0, 0, 255), "eye_right": (255, 0, 0), "eye_left": (255, 0, 0),
    "lips_outer": (128, 0, 128), "lips_inner": (255, 192, 203),
}
# (first index, last index inclusive, closed, RGB colour) in drawing order
PARTS: tuple[tuple[int, int, bool, tuple[int, int, int]], ...] = tuple(
    (group.start, group.stop - 1, closed, COLOURS[name]) for name, group, closed in layout.PARTS)


def line_width(size: int) -> int:
    """Line width in pixels for a ``size``-pixel image (2 px at 256)."""
    return max(1, int(round(size / 128)))


def draw_landmarks(points: np.ndarray, size: int | tuple[int, int], width: int | None = None) -> np.ndarray:
    """Draw one face's landmarks.

    Args:
        points: float [68, 2] (x, y) pixel coordinates in the output image.
        size: output side, or (height, width).
    Returns:
        uint8 [H, W, 3] RGB image.
    """
    pts = np.asarray(points, dtype=np.float32)
    if pts.shape != (68, 2):
        raise ValueError(f"expected landmarks of shape [68, 2], got {list(pts.shape)}")
    if not np.isfinite(pts).all():
        raise ValueError("landmarks contain NaN or infinite values")
    h, w = (int(size), int(size)) if np.isscalar(size) else (int(size[0]), int(size[1]))
    if h < 1 or w < 1:
        raise ValueError(f"landmark image size must be positive, got {size}")
    # far-away points would overflow OpenCV's fixed-point coordinates: clamp to a margin around the image
    pts = np.clip(pts, -4.0 * max(h, w), 5.0 * max(h, w))
    img = np.zeros((h, w, 3), np.uint8)
    lw = width or line_width(min(h, w))
    shift = 4  # sub-pixel precision
    fixed = np.round(pts * (1 << shift)).astype(np.int32)
    for a, b, closed, colour in PARTS:
        cv2.polylines(img, [fixed[a:b + 1].reshape(-1, 1, 2)], closed, colour, lw, cv2.LINE_AA, shift)
    return img


def draw_landmarks_batch(points: np.ndarray, size: int | tuple[int, int], width: int | None = None) -> np.ndarray:
    """[T, 68, 2] -> uint8 [T, H, W, 3] (``size``: side, or (height, width))."""
    pts = np.asarray(points, dtype=np.float32)
    if pts.ndim != 3 or pts.shape[1:] != (68, 2):
        raise ValueError(f"expected landmarks of shape [T, 68, 2], got {list(pts.shape)}")
    h, w = (int(size), int(size)) if np.isscalar(size) else (int(size[0]), int(size[1]))
    out = np.empty((len(pts), h, w, 3), np.uint8)
    for i, p in enumerate(pts):
        out[i] = draw_landmarks(p, (h, w), width)
    return out
