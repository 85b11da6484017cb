"""Procedural synthetic talking heads: random cartoon identities, moving landmarks, a renderer.

Each frame is a deterministic function of (identity, 68 landmarks) — see
:func:`fsth_core.synthetic.render.render_frame` — so a talking-head model can learn to
reproduce it exactly, and the data set's landmarks are the true ones.

    idn = random_identity(np.random.default_rng(0))
    pts = identity_landmarks_sequence(idn, 32, np.random.default_rng(1), size=128)  # [32, 68, 2]
    frames = render_sequence(idn, pts, 128)                                          # [32, 128, 128, 3]
"""
from __future__ import annotations

import colorsys
import dataclasses
import os
from pathlib import Path

import numpy as np
from tqdm import tqdm

from fsth_core.data.store import DatasetWriter
from fsth_core.landmarks.face_template import ShapeParams, template
from fsth_core.synthetic import template as fm
from fsth_core.synthetic.photo_style import PhotoStyle, photographic
from fsth_core.synthetic.render import RGB, HeadParams, render_frame

__all__ = ["HeadParams", "random_identity", "synthetic_identity", "identity_landmarks_sequence",
           "neutral_landmarks", "render_frame", "render_sequence", "synthetic_portrait", "photographic_sequence",
           "write_synthetic_dataset"]

_SKIN = [(255, 224, 196), (241, 194, 160), (224, 172, 125), (198, 134, 90), (160, 100, 66), (110, 70, 45)]
_HAIR = [(25, 20, 18), (70, 45, 30), (120, 80, 45), (215, 180, 110), (170, 70, 35), (160, 160, 160),
         (60, 60, 140), (200, 90, 150)]
_EYES = [(90, 55, 30), (60, 110, 170), (70, 130, 80), (120, 125, 130), (140, 110, 50)]


def _colour(rng, base, jitter: float = 12) -> RGB:
    return tuple(int(np.clip(v + rng.normal(0, jitter), 0, 255)) for v in base)


def _random_hue(rng, sat: tuple[float, float], val: tuple[float, float]) -> RGB:
    r, g, b = colorsys.hsv_to_rgb(rng.uniform(), rng.uniform(*sat), rng.uniform(*val))
    return (int(r * 255), int(g * 255), int(b * 255))


def random_identity(rng: np.random.Generator) -> HeadParams:
    """Draw a random identity (face shape, colours, hair, clothes, accessories)."""
    shape = ShapeParams(
        face_width=rng.uniform(0.86, 1.1), face_length=rng.uniform(0.9, 1.12), jaw_square=rng.uniform(0, 1),
        eye_spacing=rng.uniform(-0.04, 0.05), eye_size=rng.uniform(0.85, 1.2), eye_height=rng.uniform(0.8, 1.25),
        brow_height=rng.uniform(-0.04, 0.06), brow_tilt=rng.uniform(-0.5, 0.8),
        nose_length=rng.uniform(0.85, 1.12), nose_width=rng.uniform(0.8, 1.35),
        mouth_width=rng.uniform(0.8, 1.2), lip_upper=rng.uniform(0.7, 1.4), lip_lower=rng.uniform(0.7, 1.4),
        mouth_y=rng.uniform(-0.03, 0.04))
    pts3d = template(shape)
    noise = rng.normal(0, 0.012, (68, 3)).astype(np.float32)
    noise[:, 2] = 0
    skin = _colour(rng, _SKIN[rng.integers(len(_SKIN))], 10)
    hair_style = int(rng.choice(3, p=[0.1, 0.5, 0.4]))
    pattern = int(rng.integers(3))
    shirt = _random_hue(rng, (0.3, 0.9), (0.3, 0.95))
    shirt2 = tuple(int(v) for v in np.clip(255 - np.asarray(shirt) * rng.uniform(0.3, 0.8), 0, 255))
    bg_top = _random_hue(rng, (0.05, 0.5), (0.45, 0.95))
    bg_bottom = _random_hue(rng, (0.05, 0.5), (0.3, 0.9))
    n_freckles = int(rng.integers(12, 30)) if rng.uniform() < 0.3 else 0
    sides = rng.choice([-1.0, 1.0], n_freckles)
    freckles = np.stack([sides * rng.uniform(0.35, 1.05, n_freckles),
                         rng.uniform(-0.45, 0.05, n_freckles)], 1) if n_freckles else np.zeros((0, 2))
    ang, rad = rng.uniform(0, 2 * np.pi, 24), np.sqrt(rng.uniform(0, 1, 24)) * 0.95
    dots = np.stack([rad * np.cos(ang), rad * np.sin(ang)], 1)
    return HeadParams(
        points3d=(pts3d + noise).astype(np.float32), base_scale=float(rng.uniform(0.92, 1.08)),
        skin=skin, hair=_colour(rng, _HAIR[rng.choice(len(_HAIR), p=[.22, .22, .14, .14, .1, .08, .05, .05])], 10),
        eye=_colour(rng, _EYES[rng.integers(len(_EYES))], 12),
        lips=tuple(int(v) for v in np.clip(np.asarray(skin) * [0.85, 0.55, 0.55] + [30, 0, 5], 0, 255)),
        shirt=shirt, shirt2=shirt2, bg_top=bg_top, bg_bottom=bg_bottom, bg_horizontal=bool(rng.uniform() < 0.3),
        hair_style=hair_style, hair_volume=float(rng.uniform(1.0, 1.22)), hairline=float(rng.uniform(0.35, 0.6)),
        fringe=int(rng.choice(3, p=[0.4, 0.3, 0.3])), fringe_side=float(rng.choice([-1.0, 1.0])),
        pattern=pattern, pattern_scale=float(rng.uniform(0.12, 0.25)), dots=dots, freckles=freckles,
        collar=bool(rng.uniform() < 0.5), blush=bool(rng.uniform() < 0.4),
        beard=int(rng.choice(3, p=[0.7, 0.12, 0.18])), glasses=bool(rng.uniform() < 0.2),
        glasses_colour=_random_hue(rng, (0.0, 0.8), (0.05, 0.6)),
        brow_thickness=float(rng.uniform(0.05, 0.11)), iris_size=float(rng.uniform(0.2, 0.28)),
        shoulders=float(rng.uniform(0.9, 1.15)), light=float(rng.uniform(-1, 1)))


def synthetic_identity(seed: int, index: int = 0) -> HeadParams:
    """The identity of video ``index`` in a data set written with ``seed``."""
    return random_identity(np.random.default_rng([seed, index, 0]))


def _smooth(rng: np.random.Generator, t: np.ndarray, period: float) -> np.ndarray:
    """A smooth random curve in [-1, 1]: a sum of three sinusoids with periods ~ ``period``."""
    f = rng.uniform(0.6, 1.8, 3) / period
    ph, a = rng.uniform(0, 2 * np.pi, 3), rng.uniform(0.5, 1.0, 3)
    z = (a[:, None] * np.sin(2 * np.pi * f[:, None] * t[None] + ph[:, None])).sum(0)
    return np.clip(z / np.sqrt((a ** 2).sum() / 2) / 1.6, -1, 1)


def _blinks(rng: np.random.Generator, t: np.ndarray) -> np.ndarray:
    out = np.zeros_like(t)
    te = rng.uniform(-5, min(len(t), 40))
    while te < len(t) + 5:
        out = np.maximum(out, np.clip(1.3 * (1 - np.abs(t - te) / 3.0), 0, 1))
        te += rng.uniform(25, 90)
    return out


def identity_landmarks_sequence(identity: HeadParams, frames: int, rng: np.random.Generator,
                                size: int = 256) -> np.ndarray:
    """Landmarks of a talking, moving head: float32 [frames, 68, 2] in pixels of a ``size`` image.

    Head yaw/pitch/roll, scale and translation wander smoothly; the mouth opens in syllables
    during talking spells; blinks every 1-4 s (at 25 fps); smile and brows drift.  Short
    sequences move faster so that even 8 frames show varied poses.
    """
    if frames < 1:
        raise ValueError(f"frames must be >= 1, got {frames}")
    t = np.arange(frames, dtype=np.float64)
    period = float(np.clip(frames, 16, 120))
    yaw = rng.uniform(12, 28) * _smooth(rng, t, period)
    pitch = rng.uniform(5, 12) * _smooth(rng, t, period)
    roll = rng.uniform(3, 10) * _smooth(rng, t, period)
    scale = 1 + 0.05 * _smooth(rng, t, period)
    tx, ty = 0.03 * _smooth(rng, t, period), 0.02 * _smooth(rng, t, period)
    talking = np.clip((_smooth(rng, t, period) - rng.uniform(-0.6, 0.1)) * 3, 0, 1)
    syll = np.abs(np.sin(2 * np.pi * rng.uniform(0.06, 0.12) * t + rng.uniform(0, 2 * np.pi)))
    mouth = np.clip(talking * syll * rng.uniform(0.6, 1.0) + 0.15 * _smooth(rng, t, 8.0) * talking, 0, 1)
    smile = rng.uniform(-0.1, 0.3) + 0.35 * _smooth(rng, t, period)
    brow = np.clip(0.5 * _smooth(rng, t, period), -0.3, 1)
    blink = _blinks(rng, t)
    out = np.empty((frames, 68, 2), np.float32)
    for i in range(frames):
        ex = fm.Expression(mouth_open=mouth[i], smile=smile[i], brow_raise=brow[i], blink=blink[i])
        pose = fm.Pose(yaw=yaw[i], pitch=pitch[i], roll=roll[i], scale=scale[i], tx=tx[i], ty=ty[i])
        out[i] = fm.project(fm.apply_expression(identity.points3d, ex), pose, size, identity.base_scale)
    return out


def neutral_landmarks(identity: HeadParams, size: int = 256, pose: fm.Pose = fm.Pose(),
                      expression: fm.Expression = fm.Expression()) -> np.ndarray:
    """Landmarks of ``identity`` in one pose/expression (default frontal, neutral): float32 [68, 2]."""
    return fm.project(fm.apply_expression(identity.points3d, expression), pose, size, identity.base_scale)


def render_sequence(identity: HeadParams, points: np.ndarray, size: int) -> np.ndarray:
    """Render ``identity`` driven by arbitrary landmarks [T, 68, 2] (pixels): uint8 [T, size, size, 3]."""
    pts = np.asarray(points, np.float32)
    if pts.ndim != 3 or pts.shape[1:] != (68, 2):
        raise ValueError(f"points must be [T, 68, 2], got {list(pts.shape)}")
    return np.stack([render_frame(identity, p, size) for p in pts])


def synthetic_portrait(seed: int = 0, size: int = 256, points: np.ndarray | None = None
                       ) -> tuple[np.ndarray, np.ndarray, HeadParams]:
    """A source image for tests and demos: (uint8 [S, S, 3] RGB, landmarks [68, 2], identity).

    ``points`` (pixels of a ``size`` image) drive the face; default: the identity's frontal pose.
    """
    idn = random_identity(np.random.default_rng([seed, 0x5eed]))
    pts = neutral_landmarks(idn, size) if points is None else np.asarray(points, np.float32)
    return render_frame(idn, pts, size), pts, idn


def photographic_sequence(identity: HeadParams, points: np.ndarray, size: int, rng: np.random.Generator
                          ) -> tuple[np.ndarray, np.ndarray]:
    """Frames of ``identity`` with one random photographic look (see photo_style.py):
    (uint8 [T,S,S,3], landmarks float32 [T,68,2] of those frames)."""
    style = PhotoStyle.random(rng)
    black = dataclasses.replace(identity, bg_top=(0, 0, 0), bg_bottom=(0, 0, 0))
    white = dataclasses.replace(identity, bg_top=(255, 255, 255), bg_bottom=(255, 255, 255))
    out = [photographic(render_frame(black, p, size), render_frame(white, p, size), p, style, rng)
           for p in np.asarray(points, np.float32)]
    return np.stack([f for f, _ in out]), np.stack([q for _, q in out])


def write_synthetic_dataset(out: str | os.PathLike, identities: int, frames: int, size: int, seed: int = 0,
                            progress: bool = True, quality: int = 95, photographic: float = 0.0) -> Path:
    """Write ``identities`` videos of ``frames`` frames at ``size`` px into training-set folder ``out``.

    ``photographic``: the fraction of videos drawn with a photographic look (photo textures and
    backgrounds, camera and JPEG defects; see photo_style.py) instead of flat cartoon colours.
    Video ``i`` (id ``synth_00000``...) depends only on (seed, i, photographic), so an interrupted
    run resumes where it stopped and skips finished videos.  Returns the folder.
    """
    if identities < 1 or frames < 1:
        raise ValueError(f"identities and frames must be >= 1, got {identities} and {frames}")
    with DatasetWriter(out, size, quality=quality) as writer:
        for i in tqdm(range(identities), desc="synth", unit="video", disable=not progress):
            photo = bool(np.random.default_rng([seed, i, 2]).uniform() < photographic)
            vid, source = f"synth_{i:05d}", f"synthetic seed={seed} identity={i} frames={frames}"
            if photo:
                source += " photographic"
            meta = writer.finished(vid)
            if meta is not None:
                if meta.get("source") != source:
                    raise ValueError(f"{out}: video {vid} was written with other settings "
                                     f"({meta.get('source')!r}); use a new folder")
                continue
            idn = synthetic_identity(seed, i)
            pts = identity_landmarks_sequence(idn, frames, np.random.default_rng([seed, i, 1]), size)
            if photo:
                imgs, pts = photographic_sequence(idn, pts, size, np.random.default_rng([seed, i, 3]))
                writer.write_video(vid, iter(imgs), pts, source=source)
            else:
                writer.write_video(vid, (render_frame(idn, p, size) for p in pts), pts, source=source)
    return Path(out)
