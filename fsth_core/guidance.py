"""Warp-guided generation: the generator's extra input, shared by training and inference.

A warp-guided generator receives, besides the target landmark image, the source frame warped to
the target landmarks by the mesh warp and the warp's validity mask (7 input channels), so identity
and texture come from the warp and the network learns to fix what the warp gets wrong.
"""
from __future__ import annotations

import numpy as np
import torch

from fsth_core.warp.warp import MeshWarper


def guide_channels(landmark_image: torch.Tensor, warped: np.ndarray, validity: np.ndarray) -> torch.Tensor:
    """landmark_image [3,S,S] in [-1,1], warped uint8 [S,S,3], validity [S,S] in 0..1 -> [7,S,S]."""
    w = torch.from_numpy(np.ascontiguousarray(warped)).float().permute(2, 0, 1) / 127.5 - 1
    v = torch.from_numpy(np.ascontiguousarray(validity, dtype=np.float32))[None] * 2 - 1
    return torch.cat([landmark_image.float(), w, v], dim=0)


class WarpGuide:
    """Per-identity warper: ``inputs(landmark_images, target_points)`` -> generator input [B,7,S,S]."""

    def __init__(self, source: np.ndarray, source_points: np.ndarray):
        self.warper = MeshWarper(source, np.asarray(source_points, np.float32))

    def inputs(self, landmark_images: torch.Tensor, target_points: np.ndarray) -> torch.Tensor:
        """landmark_images [B,3,S,S] in [-1,1], target_points [B,68,2] (crop pixels) -> [B,7,S,S]."""
        out = []
        for y, pts in zip(landmark_images, np.asarray(target_points, np.float32)):
            warped, valid = self.warper.warp(pts)
            out.append(guide_channels(y.cpu(), warped, valid))
        return torch.stack(out).to(landmark_images.device)
