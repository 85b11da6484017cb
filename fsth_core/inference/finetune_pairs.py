"""Training pairs for few-shot fine-tuning, with augmented pairs for warp-guided models.

One picture gives one real pair (the picture warped onto itself), which teaches a warp-guided
generator only to pass its input through.  An *augmented pair* makes the picture the target and,
as the generator's guide, a copy of it re-warped from perturbed landmarks (mouth opened or
closed, eyes closed or opened, head slightly turned, scaled and shifted), in a random colour
cast.  Warping that copy back to the picture's landmarks shows the generator what the mesh warp
gets wrong *on this person*: squeezed lips and teeth, smeared lids, stretched skin — with the true
pixels as the answer.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from fsth_core.landmarks.geometry import close_eyes, open_mouth
from fsth_core.models.guidance import WarpGuide
from fsth_core.models.imaging import to_network
from fsth_core.warp import MeshWarper


@dataclass(frozen=True)
class PerturbOptions:
    """Ranges of the landmark perturbations and colour casts of augmented pairs."""

    mouth: tuple[float, float] = (-0.12, 0.3)   # open_mouth amount (negative closes)
    eyes: tuple[float, float] = (-0.3, 0.9)     # close_eyes amount (negative opens)
    rotate_deg: float = 4.0
    scale: float = 0.04
    shift: float = 0.02                         # × crop side
    gain: float = 0.08                          # per-channel colour gain range (±)


def perturb(points: np.ndarray, size: int, rng: np.random.Generator,
            options: PerturbOptions = PerturbOptions()) -> np.ndarray:
    """Landmarks [68,2] of a slightly different expression and pose (crop pixels of side ``size``)."""
    o = options
    p = close_eyes(open_mouth(points, rng.uniform(*o.mouth)), rng.uniform(*o.eyes))
    a = np.radians(rng.uniform(-o.rotate_deg, o.rotate_deg))
    s = 1.0 + rng.uniform(-o.scale, o.scale)
    m = s * np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    c = p[27:36].mean(0)
    return ((p - c) @ m.T + c + rng.uniform(-o.shift, o.shift, 2) * size).astype(np.float32)


def augmented_pairs(crops: np.ndarray, points: np.ndarray, count: int, seed: int = 0,
                    options: PerturbOptions = PerturbOptions()):
    """``count`` augmented pairs per source: yields (target crop uint8 [S,S,3], its landmarks [68,2],
    pseudo-source uint8 [S,S,3], the pseudo-source's landmarks [68,2])."""
    rng = np.random.default_rng([seed, 0xA06])
    size = crops.shape[1]
    for crop, pts in zip(crops, np.asarray(points, np.float32)):
        for _ in range(count):
            gain = 1.0 + rng.uniform(-options.gain, options.gain, 3)
            target = np.clip(crop.astype(np.float32) * gain + 0.5, 0, 255).astype(np.uint8)
            moved = perturb(pts, size, rng, options)
            pseudo = MeshWarper(target, pts).warp(moved)[0]
            yield target, pts, pseudo, moved


def training_pairs(sources, identity, region: bool, augment: int, seed: int, landmark_images):
    """(targets [N,3,S,S], landmark images [N,3,S,S], generator inputs [N,C,S,S]) in [-1,1].

    Pairs: each source with the first source warped to it, then ``augment`` augmented pairs per
    source (warp-guided models only; ``region``: models with the paint-region channel).
    """
    size = sources.crops.shape[1]
    frames = to_network(sources.crops)
    lms = landmark_images(sources.points, size)
    g_in = WarpGuide(identity.source, identity.source_points, region=region).inputs(lms, sources.points)
    if augment <= 0:
        return frames, lms, g_in
    extra_f, extra_l, extra_g = [], [], []
    for target, pts, pseudo, moved in augmented_pairs(sources.crops, sources.points, augment, seed):
        y = landmark_images(pts[None], size)
        extra_f.append(to_network(target[None]))
        extra_l.append(y)
        extra_g.append(WarpGuide(pseudo, moved, region=region).inputs(y, pts[None]))
    return (torch.cat([frames] + extra_f), torch.cat([lms] + extra_l), torch.cat([g_in] + extra_g))
