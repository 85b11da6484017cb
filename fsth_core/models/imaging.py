"""Image tensors in the networks' convention: RGB, channels first, values in [-1, 1]."""
from __future__ import annotations

import numpy as np
import torch

from fsth_core.landmarks.render import draw_landmarks


def to_network(images: np.ndarray) -> torch.Tensor:
    """uint8 [..., H, W, 3] -> float32 [..., 3, H, W] in [-1, 1]."""
    t = torch.from_numpy(np.ascontiguousarray(images)).float()
    return t.movedim(-1, -3).div_(127.5).sub_(1.0)


def from_network(t: torch.Tensor) -> np.ndarray:
    """[..., 3, H, W] in [-1, 1] -> uint8 [..., H, W, 3]."""
    return ((t.detach().float().cpu().movedim(-3, -1) + 1) * 127.5).round().clamp(0, 255).to(torch.uint8).numpy()


def landmark_images(points: np.ndarray, size: int) -> torch.Tensor:
    """[B,68,2] crop pixels -> [B,3,S,S] in [-1,1]."""
    return to_network(np.stack([draw_landmarks(p, size) for p in points]))
