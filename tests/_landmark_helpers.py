"""Shared fixtures for the landmark tests: real photos that ship with scikit-image, and clips made from them."""
from __future__ import annotations

import functools

import cv2
import numpy as np


@functools.lru_cache(maxsize=None)
def astronaut() -> np.ndarray:
    """uint8 [512, 512, 3] RGB NASA portrait (public domain), one face."""
    from skimage import data

    img = data.astronaut()
    img.setflags(write=False)
    return img


@functools.lru_cache(maxsize=None)
def dlib_detector():
    from fsth_core.landmarks.detect import get_detector

    return get_detector("dlib")


@functools.lru_cache(maxsize=None)
def astronaut_points() -> np.ndarray:
    """The astronaut's 68 landmarks (dlib), float32 [68, 2]."""
    faces = dlib_detector().detect(astronaut())
    assert len(faces) == 1
    pts = faces[0].points
    pts.setflags(write=False)
    return pts


def moving_clip(n: int = 12, size: int = 256):
    """Yield ``n`` frames [size, size, 3]: the astronaut photo panned and slightly zoomed, frame by frame."""
    img = astronaut()
    base = size / 512
    for i in range(n):
        s = base * (1.0 + 0.01 * i)
        dx = size * 0.02 * np.sin(i / 2.0)
        dy = size * 0.006 * i
        m = np.float32([[s, 0, dx - (s - base) * 256], [0, s, dy - (s - base) * 200]])
        yield cv2.warpAffine(img, m, (size, size), flags=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR,
                             borderMode=cv2.BORDER_REFLECT)
