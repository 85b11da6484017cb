"""Warp-guided generation: the generator's extra input, shared by training and inference.

A warp-guided generator receives, besides the target landmark image, the source frame warped to
the target landmarks by the mesh warp and the warp's validity mask (7 input channels), so identity
and texture come from the warp and the network learns to fix what the warp gets wrong.

Models with ``paint_region`` also get the region where they may paint (8th channel): the target's
mouth and eyes, dilated, and pixels of the face the warp cannot explain (folded or strongly
stretched triangles).  Everywhere else their output *is* the warp (see ``Generator.paint_weight``),
so hair, background and skin keep the photo's own pixels whatever the network learned.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch

from fsth_core.face_layout import (
    BROWS,
    EYE_INNER_LEFT,
    EYE_INNER_RIGHT,
    EYE_OUTER_LEFT,
    EYE_OUTER_RIGHT,
    LIPS_OUTER,
    MOUTH_CORNERS,
)
from fsth_core.warp.shots import ShotWarper


@dataclass(frozen=True)
class PaintRegionOptions:
    """Sizes are fractions of the feature's width (mouth: corner to corner; eye: corner to corner)."""

    mouth_dilate: float = 0.18     # around the outer lip contour 48-59
    eye_dilate: float = 0.45       # around each eye contour: covers both lids
    feather: float = 0.08          # Gaussian sigma of the edge
    invalid_below: float = 0.35    # validity under this (inside the face) counts fully ...
    invalid_above: float = 0.75    # ... and above this not at all


def _width(points: np.ndarray, a: int, b: int) -> float:
    return max(float(np.hypot(*(points[b] - points[a]))), 1.0)


def _dilated_polygon(shape: tuple[int, int], poly: np.ndarray, dilate: float, sigma: float) -> np.ndarray:
    m = np.zeros(shape, np.uint8)
    cv2.fillPoly(m, [np.round(poly * 16).astype(np.int32)], 255, cv2.LINE_AA, 4)
    k = int(round(dilate))
    if k >= 1:
        m = cv2.dilate(m, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * k + 1, 2 * k + 1)))
    out = m.astype(np.float32) / 255.0
    return cv2.GaussianBlur(out, (0, 0), sigma) if sigma > 0.3 else out


def paint_region(points: np.ndarray, validity: np.ndarray,
                 options: PaintRegionOptions = PaintRegionOptions()) -> np.ndarray:
    """Where a generator may paint over the warp: float32 [H,W] in 0..1.

    points [68,2] target landmarks in the frame's pixels; validity float32 [H,W] the warp's.
    The union of the dilated mouth, the dilated eyes (with their lids) and, inside the face
    outline, the pixels whose validity is low (folded or stretched triangles).
    """
    p = np.asarray(points, np.float32)
    shape = validity.shape
    o = options
    mw = _width(p, *MOUTH_CORNERS)
    region = _dilated_polygon(shape, p[LIPS_OUTER], o.mouth_dilate * mw, o.feather * mw)
    for a, b in ((EYE_OUTER_RIGHT, EYE_INNER_RIGHT), (EYE_INNER_LEFT, EYE_OUTER_LEFT)):
        ew = _width(p, a, b)
        region = np.maximum(region, _dilated_polygon(shape, p[a:a + 6], o.eye_dilate * ew, o.feather * 2 * ew))
    face = np.zeros(shape, np.uint8)
    cv2.fillConvexPoly(face, np.round(cv2.convexHull(p[:BROWS.stop]) * 16).astype(np.int32).reshape(-1, 2), 1,
                       cv2.LINE_8, 4)
    bad = np.clip((o.invalid_above - validity) / (o.invalid_above - o.invalid_below), 0.0, 1.0)
    region = np.maximum(region, bad * face)
    region[region < 1.0 / 256] = 0.0  # the Gaussian's far tails: exactly no paint
    return region.astype(np.float32)


def guide_channels(landmark_image: torch.Tensor, warped: np.ndarray, validity: np.ndarray,
                   region: np.ndarray | None = None) -> torch.Tensor:
    """landmark_image [3,S,S] in [-1,1], warped uint8 [S,S,3], validity [S,S] in 0..1 (and the
    paint region [S,S] in 0..1) -> [7,S,S] (or [8,S,S])."""
    w = torch.from_numpy(np.ascontiguousarray(warped)).float().permute(2, 0, 1) / 127.5 - 1
    parts = [landmark_image.float(), w, _plane(validity)]
    if region is not None:
        parts.append(_plane(region))
    return torch.cat(parts, dim=0)


def _plane(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))[None] * 2 - 1


class WarpGuide:
    """Per-identity warper: ``inputs(landmark_images, target_points)`` -> generator input [B,7|8,S,S].

    ``extra``: more shots of the person ((picture uint8 [h,w,3], landmarks [68,2]) each): the warp then
    takes each region from the nearest shot (fsth_core.warp.shots), so the generator is guided by every
    picture the user gave."""

    def __init__(self, source: np.ndarray, source_points: np.ndarray, region: bool = False, extra=()):
        self.warper = ShotWarper([source, *(s for s, _ in extra)],
                                 [np.asarray(source_points, np.float32), *(p for _, p in extra)])
        self.region = region

    def inputs(self, landmark_images: torch.Tensor, target_points: np.ndarray) -> torch.Tensor:
        """landmark_images [B,3,S,S] in [-1,1], target_points [B,68,2] (crop pixels) -> [B,7|8,S,S]."""
        out = []
        for y, pts in zip(landmark_images, np.asarray(target_points, np.float32)):
            warped, valid = self.warper.warp(pts)
            out.append(guide_channels(y.cpu(), warped, valid, paint_region(pts, valid) if self.region else None))
        return torch.stack(out).to(landmark_images.device)


def region_of(gen_input: torch.Tensor) -> torch.Tensor:
    """The paint region [B,1,S,S] in 0..1 carried by a guide input [B,8,S,S]."""
    return ((gen_input[:, 7:8] + 1) * 0.5).clamp(0, 1)
