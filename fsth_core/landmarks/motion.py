"""Procedural motion: animate one face's landmarks without a driving video.

From a single [68, 2] face, ``procedural_motion`` makes a [T, 68, 2] sequence with
blinks, speech-like mouth opening and closing (syllables grouped into phrases with
pauses), and gentle head turns, nods and tilts.  Work happens in a face-local frame
(eye line horizontal, unit = distance between the eye centres); head rotations use a
rough per-point depth so turns show parallax (the nose moves more than the jaw's edge);
see pose.py.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from fsth_core.face_layout import (
    INNER_CORNERS,
    JAW_DROP,
    JAW_NARROWING,
    LOWER_LIDS,
    LOWER_LIP_DROP,
    MOUTH_CORNERS,
    UPPER_LID_SHARE,
    UPPER_LIDS,
    UPPER_LIP_RAISE,
)
from fsth_core.landmarks.geometry import cap_opening, widen_mouth
from fsth_core.landmarks.pose import face_depth, rotate, to_local
from fsth_core.options import MAX_FRAMES

_UPPER_LIDS = np.array(UPPER_LIDS)
_LOWER_LIDS = np.array(LOWER_LIDS)
_LEFT_CORNERS = [MOUTH_CORNERS[0], INNER_CORNERS[0]]
_RIGHT_CORNERS = [MOUTH_CORNERS[1], INNER_CORNERS[1]]


@dataclass(frozen=True)
class MotionOptions:
    """Amplitudes at intensity 1: head yaw / pitch / roll (degrees), jaw drop (eye distances),
    mean seconds between blinks, syllables per second."""

    yaw_deg: float = 9.0
    pitch_deg: float = 5.0
    roll_deg: float = 3.0
    mouth_open: float = 0.32
    blink_interval: float = 3.5
    blink_duration: float = 0.22
    syllable_rate: float = 4.0


def _smooth_noise(rng: np.random.Generator, t: np.ndarray, freqs=(0.11, 0.19, 0.31)) -> np.ndarray:
    """Sum of slow sinusoids with random phases and jittered frequencies, scaled to about [-1, 1]."""
    out = np.zeros_like(t)
    for f in freqs:
        out += np.sin(2 * math.pi * f * rng.uniform(0.8, 1.25) * t + rng.uniform(0, 2 * math.pi))
    return out / len(freqs)


def _bump(t: np.ndarray, centre: float, width: float) -> np.ndarray:
    """Smooth raised-cosine bump of total ``width`` seconds, peak 1 at ``centre``."""
    u = np.clip((t - centre) / (width / 2), -1.0, 1.0)
    return 0.5 * (1 + np.cos(math.pi * u))


def _max_bump(out: np.ndarray, t: np.ndarray, centre: float, width: float, amp: float = 1.0) -> None:
    """``out = max(out, amp * bump)`` in place, only over the bump's support (t is sorted), so a
    long sequence costs time linear in its length."""
    i0, i1 = np.searchsorted(t, [centre - width / 2, centre + width / 2])
    if i1 > i0:
        np.maximum(out[i0:i1], amp * _bump(t[i0:i1], centre, width), out=out[i0:i1])


def blink_curve(rng: np.random.Generator, t: np.ndarray, opt: MotionOptions) -> np.ndarray:
    """Eye closure in [0, 1] per time step."""
    out = np.zeros_like(t)
    end = float(t[-1]) if len(t) else 0.0
    when = rng.uniform(0.3, 1.0) * opt.blink_interval
    while when < end + opt.blink_duration:
        _max_bump(out, t, when, opt.blink_duration)
        when += opt.blink_interval * rng.uniform(0.5, 1.5)
    return out


def speech_curves(rng: np.random.Generator, t: np.ndarray, opt: MotionOptions) -> tuple[np.ndarray, np.ndarray]:
    """(mouth opening in [0, 1], lip shape in [-1, 1]) per time step: syllables (~``syllable_rate``/s) in
    phrases of 1-3 s with pauses; each syllable has its own vowel, from rounded ("oo", < 0) to spread
    ("ee", > 0), which the lips take as the mouth opens for it."""
    out, shape = np.zeros_like(t), np.zeros_like(t)
    end = float(t[-1]) if len(t) else 0.0
    start = rng.uniform(0.0, 0.4)
    while start < end:
        stop = start + rng.uniform(1.0, 3.0)
        s = start
        while s < stop:
            width = rng.uniform(0.16, 0.26)
            amp, vowel = rng.uniform(0.3, 1.0), rng.uniform(-0.7, 0.9)
            centre = s + width / 2
            i0, i1 = np.searchsorted(t, [centre - width / 2, centre + width / 2])
            if i1 > i0:
                bump = amp * _bump(t[i0:i1], centre, width)
                wins = bump > out[i0:i1]
                shape[i0:i1] = np.where(wins, vowel * bump / amp, shape[i0:i1])
                out[i0:i1] = np.maximum(out[i0:i1], bump)
            s += rng.uniform(0.7, 1.3) / opt.syllable_rate
        start = stop + rng.uniform(0.3, 1.0)
    return out, shape


def _mouth_weights() -> tuple[np.ndarray, np.ndarray]:
    """Per-point downward (jaw drop, lower lip) and upward (upper lip) weights [68] each (layout.py)."""
    down = np.zeros(68)
    for table in (JAW_DROP, LOWER_LIP_DROP):
        down[list(table)] = list(table.values())
    up = np.zeros(68)
    up[list(UPPER_LIP_RAISE)] = list(UPPER_LIP_RAISE.values())
    return down, up


def procedural_motion(points: np.ndarray, frames: int, fps: float = 25.0, seed: int = 0, intensity: float = 1.0,
                      options: MotionOptions = MotionOptions(), mouth: np.ndarray | None = None,
                      width: np.ndarray | None = None) -> np.ndarray:
    """Animate one face's landmarks.

    Args:
        points: float [68, 2], the face (pixels).
        frames: sequence length T.  fps: frames per second (motion timescales are in seconds).
        seed: random seed (same seed, same motion).  intensity: 0 (still) .. ~2 (lively).
        mouth: optional [T] mouth opening in 0..1 (e.g. from a sound track, see audio.py) instead of
            the generated speech; blinks and head motion stay the same for a seed.
        width: optional [T] in -1..1: lips stretched (> 0) or rounded (< 0), see ``widen_mouth``.
    Returns:
        float32 [T, 68, 2]; frame poses and expressions vary smoothly around the input face.
    """
    pts = np.asarray(points, np.float64)
    if pts.shape != (68, 2) or not np.isfinite(pts).all():
        raise ValueError(f"procedural_motion: points must be finite [68, 2], got {list(np.shape(points))}")
    if not 1 <= int(frames) <= MAX_FRAMES:
        raise ValueError(f"procedural_motion: frames must be in 1..{MAX_FRAMES}, got {frames}")
    if not (math.isfinite(fps) and fps > 0 and math.isfinite(intensity) and intensity >= 0):
        raise ValueError(f"procedural_motion: fps must be > 0 and intensity >= 0 (finite), got {fps}, {intensity}")
    for name, curve in (("mouth", mouth), ("width", width)):
        if curve is not None and np.shape(curve) != (int(frames),):
            raise ValueError(f"procedural_motion: {name} must have one value per frame ({int(frames)}), "
                             f"got shape {list(np.shape(curve))}")
    rng = np.random.default_rng(seed)
    t = np.arange(int(frames)) / float(fps)
    try:
        local, frame = to_local(pts)  # [68, 2], eyes horizontal, eye distance 1
    except ValueError as e:
        raise ValueError(f"procedural_motion: {e}") from None
    z = face_depth(local)

    k = float(intensity)
    yaw = np.radians(options.yaw_deg) * k * _smooth_noise(rng, t)
    pitch = np.radians(options.pitch_deg) * k * _smooth_noise(rng, t, (0.13, 0.23, 0.37))
    roll = np.radians(options.roll_deg) * k * _smooth_noise(rng, t, (0.07, 0.17))
    blink = blink_curve(rng, t, options) * min(k, 1.0)
    if mouth is None:
        mouth, vowels = speech_curves(rng, t, options)
        width = vowels if width is None else width
    mouth = np.clip(mouth, 0.0, 1.0) * options.mouth_open * k
    width = np.zeros(len(t)) if width is None else np.clip(np.asarray(width, np.float64) * k, -1.0, 1.0)
    down, up = _mouth_weights()
    lid_gap = local[_LOWER_LIDS, 1] - local[_UPPER_LIDS, 1]

    out = np.empty((len(t), 68, 2), np.float32)
    for i in range(len(t)):
        p = local.copy()
        p[:, 1] += mouth[i] * down - mouth[i] * up
        p[_LEFT_CORNERS, 0] += JAW_NARROWING * 0.5 * mouth[i]  # a dropping jaw draws the corners in
        p[_RIGHT_CORNERS, 0] -= JAW_NARROWING * 0.5 * mouth[i]
        p[_UPPER_LIDS, 1] += blink[i] * UPPER_LID_SHARE * lid_gap
        p[_LOWER_LIDS, 1] -= blink[i] * (1.0 - UPPER_LID_SHARE) * lid_gap
        if width[i]:
            p = widen_mouth(p, width[i])
        out[i] = frame.to_image(rotate(p, z, yaw[i], pitch[i], roll[i]))
    return cap_opening(out, pts)
