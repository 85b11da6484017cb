"""Embedder E(x, y): frame ⊕ landmark image → identity embedding ê."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from fsth_core.models.layers import encoder_blocks


class Embedder(nn.Module):
    """Residual downsampling blocks down to 4×4, then global pooling.

    Keyword constructor; the last block has ``embed_dim`` channels, so the pooled
    feature is the embedding itself.  ``pooling``: ``max`` (a global max of the block's output, no ReLU)
    or ``sum_relu`` (the paper: global sum pooling, then ReLU).  With a ReLU, the embedding-match loss
    pulls components towards W's small or negative entries until they are 0 for every input, and such dead
    components never recover: measured (docs/training.md), ê is 0 for every identity within 100 steps.
    """

    def __init__(self, *, image_size: int, channels: list[int], embed_dim: int, attn_res: int,
                 in_channels: int = 6, pooling: str = "max"):
        super().__init__()
        self.pooling = pooling
        resolutions = [image_size // 2 ** (i + 1) for i in range(len(channels))]
        if resolutions[-1] != 4:
            raise ValueError("the embedder must reach 4x4: one channel entry per halving")
        self.embed_dim = embed_dim
        self.blocks = encoder_blocks(in_channels, channels[:-1] + [embed_dim], resolutions,
                                     attn_res, norm=False)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """x frames [B,3,S,S], y landmark images [B,3,S,S] (both in [-1,1]) -> [B,D]."""
        h = torch.cat([x, y], dim=1)
        for block in self.blocks:
            h = block(h)
        return h.amax(dim=(2, 3)) if self.pooling == "max" else F.relu(h.sum(dim=(2, 3)))

    def embed(self, frames: torch.Tensor, landmark_images: torch.Tensor) -> torch.Tensor:
        """K-shot embedding: frames, landmark_images [B,K,3,S,S] -> mean over K, [B,D]."""
        b, k = frames.shape[:2]
        e = self(frames.flatten(0, 1), landmark_images.flatten(0, 1))
        return e.view(b, k, -1).mean(dim=1)
