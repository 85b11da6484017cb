"""Projection discriminator D(x, y, i) with one embedding column per training video.

W [D, V] is held as its transpose, ``video_w`` [V, D] (row i = W_i), and looked up as an embedding with a
sparse gradient: a step's gradient and optimizer update touch only the columns of the videos it sampled
(see fsth_core/training/lazy_adam.py).  Files keep the paper's layout: the state dict holds
``W`` [D, V] as before.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from fsth_core.models.layers import ResBlock, encoder_blocks


class Discriminator(nn.Module):
    """Residual down blocks without normalization, one extra residual block, global sum pooling and
    ReLU to v(x, y) (``pooling`` ``relu_sum``: the ReLU before the sum, as the pack's older models);
    realism r = v·(W_i + w0) + b.
    """

    def __init__(self, *, image_size: int, channels: list[int], embed_dim: int, attn_res: int,
                 num_videos: int, in_channels: int = 6, pooling: str = "sum_relu"):
        super().__init__()
        self.pooling = pooling
        resolutions = [image_size // 2 ** (i + 1) for i in range(len(channels))]
        if resolutions[-1] != 4:
            raise ValueError("the discriminator must reach 4x4: one channel entry per halving")
        self.blocks = encoder_blocks(in_channels, channels[:-1] + [embed_dim], resolutions,
                                     attn_res, norm=False)
        self.extra = ResBlock(embed_dim, adain=False)
        self.video_w = nn.Parameter((torch.randn(embed_dim, num_videos) * 0.02).t().contiguous())
        self.w0 = nn.Parameter(torch.zeros(embed_dim))
        self.b = nn.Parameter(torch.zeros(()))
        self.sparse_w = True  # sparse gradients of W's rows (False: dense, for devices without sparse tensors)

    @property
    def num_videos(self) -> int:
        return self.video_w.shape[0]

    @property
    def W(self) -> torch.Tensor:
        """W [D, V] (a view of ``video_w``; column i belongs to training video i)."""
        return self.video_w.t()

    def video_columns(self, i: torch.Tensor) -> torch.Tensor:
        """W_i of video indices ``i`` [B] -> [B, D]; only these rows get a gradient (sparse)."""
        return F.embedding(i, self.video_w, sparse=self.sparse_w)

    def _save_to_state_dict(self, destination, prefix, keep_vars):
        super()._save_to_state_dict(destination, prefix, keep_vars)
        rows = destination.pop(prefix + "video_w")
        destination[prefix + "W"] = (rows if keep_vars else rows.detach()).t()

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        if prefix + "W" in state_dict:  # the file layout, W [D, V]
            state_dict[prefix + "video_w"] = state_dict.pop(prefix + "W").t()
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def features(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """x, y [B,3,S,S] -> (v [B,D], activations of every block for feature matching)."""
        h = torch.cat([x, y], dim=1)
        feats = []
        for block in self.blocks:
            h = block(h)
            feats.append(h)
        h = self.extra(h)
        feats.append(h)
        v = F.relu(h).sum(dim=(2, 3)) if self.pooling == "relu_sum" else F.relu(h.sum(dim=(2, 3)))
        return v, feats

    def forward(self, x: torch.Tensor, y: torch.Tensor, i: torch.Tensor | None = None,
                w: torch.Tensor | None = None) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Realism of frames x [B,3,S,S] given landmark images y [B,3,S,S].

        The projection vector is W_i + w0 for video indices ``i`` [B] (meta-learning), or an
        explicit ``w`` [D] or [B,D] (fine-tuning: w' = w0 + ê).  Returns (r [B], features).
        """
        v, feats = self.features(x, y)
        if w is None:
            if i is None:
                raise ValueError("give video indices i or a projection vector w")
            w = self.video_columns(i) + self.w0
        r = (v * w.to(v.dtype)).sum(dim=1) + self.b
        return r, feats
