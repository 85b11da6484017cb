"""Shared fixtures for the landmark tests: real photos that ship with scikit-image, and clips made from them."""
from __future__ import annotations

import functools

import cv2
import numpy as np


@functools.cache
def astronaut() -> np.ndarray:
    """uint8 [512, 512, 3] RGB NASA portrait (public domain), one face."""
    from skimage import data

    img = data.astronaut()
    img.setflags(write=False)
    return img


@functools.cache
def dlib_detector():
    from fsth_core.landmarks.detect import get_detector

    return get_detector("dlib")


@functools.cache
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


def drawn_face(h: int = 240, w: int = 200, eye_y: float = -25, mouth_y: float = 48, eye_size: float = 1.0):
    """A face drawn with a few ellipses and lines on a flat background, which neither dlib's HOG nor its CNN
    detector finds (at any of their scales): uint8 [h, w, 3] RGB, its box (x, y, w, h: the head's
    ellipse, forehead to chin) and where its features are drawn {"eyes": [2, 2], "mouth": [2]} (x, y).
    ``eye_y``, ``mouth_y``: the eyes' and the mouth's height from the head's centre, in 1/200 of the
    picture's shorter side (the head is 164 high); ``eye_size`` scales the eyes."""
    img = np.full((h, w, 3), (120, 170, 220), np.uint8)
    s = min(h, w) / 200
    cx, cy = w / 2, h / 2

    def at(x, y):
        return int(round(cx + x * s)), int(round(cy + y * s))

    def px(v):
        return max(1, round(v * s))

    ink, t = (30, 30, 40), px(2)
    cv2.ellipse(img, at(0, 0), (px(62), px(82)), 0, 0, 360, (245, 215, 185), -1, cv2.LINE_AA)  # head
    cv2.ellipse(img, at(0, 0), (px(62), px(82)), 0, 0, 360, ink, t, cv2.LINE_AA)
    eyes = []
    e = eye_size
    for side in (-1, 1):  # tall cartoon eyes with a pupil
        cv2.ellipse(img, at(side * 30, eye_y), (px(8 * e), px(14 * e)), 0, 0, 360, (255, 255, 255), -1, cv2.LINE_AA)
        cv2.ellipse(img, at(side * 30, eye_y), (px(8 * e), px(14 * e)), 0, 0, 360, ink, t, cv2.LINE_AA)
        cv2.circle(img, at(side * 30, eye_y + 4 * e), px(4 * e), ink, -1, cv2.LINE_AA)
        eyes.append(at(side * 30, eye_y))
    cv2.line(img, at(0, eye_y + 15), at(0, (eye_y + mouth_y) / 2 + 8), ink, t, cv2.LINE_AA)  # nose
    cv2.ellipse(img, at(0, mouth_y), (px(30), px(6)), 0, 0, 360, (170, 50, 60), -1, cv2.LINE_AA)  # mouth
    x0, y0 = at(-62, -82)
    x1, y1 = at(62, 82)
    return img, (x0, y0, x1 - x0, y1 - y0), {"eyes": np.array(eyes, np.float32),
                                               "mouth": np.array(at(0, mouth_y), np.float32)}
