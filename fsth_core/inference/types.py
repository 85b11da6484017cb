"""The types the inference stages pass along: a person's sources and identity, and a progress callback.

Kept apart from the stages (pipeline.py) so fine-tuning, person files and the nodes depend on the types
alone."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from fsth_core.landmarks.crop import CropTransform

Progress = Callable[[int, int], None]  # (done, total); may raise to cancel


@dataclass
class Sources:
    """T source crops of one person: crops uint8 [T,S,S,3], points float32 [T,68,2] in crop pixels,
    and per source the full image and the crop transform (for paste-back)."""

    crops: np.ndarray
    points: np.ndarray
    images: list[np.ndarray] = field(default_factory=list)
    transforms: list[CropTransform] = field(default_factory=list)


@dataclass
class Identity:
    """One person for one model: ê [D], ψ = P·ê [N], D's projection w = w0 + ê [D], the first
    source crop uint8 [S,S,3] with its landmarks [68,2] (the base of the mesh-warp guide), the model's
    config (JSON) it was made for, how many fine-tuning steps it had and from how many pictures (shots),
    and every picture's head region at its own resolution with its landmarks in its pixels (uint8
    [h,w,3], float32 [68,2]; the first is the base): the mesh warp takes each region of a frame from the
    nearest of them (empty: the source crop alone).
    A fine-tuned person's generator/discriminator weights are not here: finetune() returns them as
    a model (FinetuneResult.model), and person.py saves them beside the identity."""

    embedding: torch.Tensor
    psi: torch.Tensor
    w: torch.Tensor
    source: np.ndarray
    source_points: np.ndarray
    config_json: str
    finetune_steps: int = 0
    shots: int = 1
    pictures: tuple[tuple[np.ndarray, np.ndarray], ...] = ()

    def extra_shots(self) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
        """The shots after the first, (head region uint8 [h,w,3], landmarks [68,2]) each: what the mesh
        warp composes from besides its base."""
        return tuple(self.pictures[1:])
