"""Temporal smoothing of landmark jitter: a One-Euro filter run forwards and backwards.

The One-Euro filter (Casiez et al. 2012) is a low-pass filter whose cut-off rises with
speed: still faces lose their jitter, fast motion keeps little lag.  Running it forwards
then backwards over a finished sequence cancels most of the remaining lag.  Points are
normalized by the face size first, so one ``strength`` means the same on any resolution.
"""
from __future__ import annotations

import math

import numpy as np


def one_euro_params(strength: float) -> tuple[float, float]:
    """(min_cutoff Hz, beta) for ``strength`` in (0, 1]: 0.01 -> ~8 Hz, 1 -> 0.4 Hz."""
    min_cutoff = 8.0 * (0.4 / 8.0) ** float(strength)
    return min_cutoff, 1.0


def _alpha(cutoff, dt: float):
    tau = 1.0 / (2.0 * math.pi * cutoff)
    return 1.0 / (1.0 + tau / dt)


def one_euro(x: np.ndarray, fps: float, min_cutoff: float, beta: float, d_cutoff: float = 1.0) -> np.ndarray:
    """Causal One-Euro filter along axis 0 of ``x`` [T, ...] (every element independently)."""
    x = np.asarray(x, np.float64)
    out = np.empty_like(x)
    if len(x) == 0:
        return out
    dt = 1.0 / fps
    a_d = _alpha(d_cutoff, dt)
    prev = x[0].copy()
    dprev = np.zeros_like(prev)
    out[0] = prev
    for t in range(1, len(x)):
        dx = (x[t] - prev) / dt
        dprev = a_d * dx + (1 - a_d) * dprev
        a = _alpha(min_cutoff + beta * np.abs(dprev), dt)
        prev = a * x[t] + (1 - a) * prev
        out[t] = prev
    return out


def face_scale(points: np.ndarray) -> float:
    """Median face size (pixels) of [T, 68, 2] landmarks: the diagonal of their box."""
    p = np.asarray(points, np.float64)
    ext = p.max(axis=-2) - p.min(axis=-2)
    s = float(np.median(np.hypot(ext[..., 0], ext[..., 1])))
    return s if s > 1e-6 else 1.0


def smooth_landmarks(points: np.ndarray, strength: float, fps: float = 25.0) -> np.ndarray:
    """Smooth landmark jitter over time.

    Args:
        points: float [T, 68, 2] pixels.
        strength: 0 (off: the input comes back unchanged) .. 1 (strongest).
        fps: frame rate of the sequence (the filter works in Hz).
    Returns:
        float32 [T, 68, 2].
    """
    pts = np.asarray(points, np.float32)
    if not 0.0 <= float(strength) <= 1.0:
        raise ValueError(f"smoothing strength must be in [0, 1], got {strength}")
    if pts.ndim != 3 or pts.shape[1:] != (68, 2):
        raise ValueError(f"expected landmarks [T, 68, 2], got {list(pts.shape)}")
    if strength == 0 or len(pts) < 3:
        return pts.copy()
    fps = float(fps) if fps and fps > 0 else 25.0
    scale = face_scale(pts)
    origin = pts.reshape(-1, 2).mean(axis=0)
    x = (pts - origin) / scale
    min_cutoff, beta = one_euro_params(strength)
    fwd = one_euro(x, fps, min_cutoff, beta)
    both = one_euro(fwd[::-1], fps, min_cutoff, beta)[::-1]
    return (both * scale + origin).astype(np.float32)


class OneEuroStream:
    """The causal One-Euro filter of :func:`smooth_landmarks`, one frame at a time, for live input
    (a camera) where later frames are not known yet: the forward pass only (some lag on fast motion,
    which the offline backward pass removes), points normalized by the first frame's face size.

        f = OneEuroStream(0.3, fps=30)
        smoothed = f(points)   # [68, 2] -> float32 [68, 2], frame after frame
    """

    def __init__(self, strength: float, fps: float = 25.0):
        if not 0.0 <= float(strength) <= 1.0:
            raise ValueError(f"smoothing strength must be in [0, 1], got {strength}")
        self.strength = float(strength)
        self.dt = 1.0 / (float(fps) if fps and fps > 0 else 25.0)
        self.min_cutoff, self.beta = one_euro_params(strength) if strength else (0.0, 0.0)
        self.a_d = _alpha(1.0, self.dt)
        self._scale = self._origin = self._prev = self._dprev = None

    def __call__(self, points: np.ndarray) -> np.ndarray:
        pts = np.asarray(points, np.float32)
        if pts.shape != (68, 2):
            raise ValueError(f"expected landmarks [68, 2], got {list(pts.shape)}")
        if self.strength == 0:
            return pts.copy()
        if self._prev is None:
            self._scale = face_scale(pts[None])
            self._origin = pts.mean(axis=0)
            self._prev = (pts - self._origin) / self._scale
            self._prev = self._prev.astype(np.float64)
            self._dprev = np.zeros_like(self._prev)
            return pts.copy()
        x = ((pts - self._origin) / self._scale).astype(np.float64)
        dx = (x - self._prev) / self.dt
        self._dprev = self.a_d * dx + (1 - self.a_d) * self._dprev
        a = _alpha(self.min_cutoff + self.beta * np.abs(self._dprev), self.dt)
        self._prev = a * x + (1 - a) * self._prev
        return (self._prev * self._scale + self._origin).astype(np.float32)
