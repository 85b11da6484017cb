"""Generator G(y, ψ): landmark image → frame, with all AdaIN parameters from ψ = P·ê."""
from __future__ import annotations

import torch
from torch import nn

from fsth_core.models.fast_ops import use_fast_path
from fsth_core.models.layers import AdaIN, ResBlock, ResBlockUp, SelfAttention, encoder_blocks, sn_conv


class Generator(nn.Module):
    """Image-to-image network: residual down blocks (instance norm) with self-attention,
    AdaIN residual blocks at the bottleneck, AdaIN residual up blocks with self-attention,
    AdaIN → ReLU → conv → tanh.

    ψ depends only on the identity: compute it once with :meth:`project` and pass it to
    :meth:`forward` for every frame (a [1,N] ψ broadcasts over the batch).

    ``warp_blend`` (warp-guided generation): the input carries the warped source in channels
    3-5; the network also predicts a mask m and returns m·warped + (1 − m)·generated, so it can
    pass the warp's detail through untouched where the warp is right (the bottleneck cannot) and
    paint only where it is wrong.  m starts near 0.9.

    With ``in_channels`` >= 8 the 8th channel is the *paint region* R in [-1, 1] (see
    fsth_core/models/guidance.py): the output is ``warped + R·(1 − m)·(generated − warped)``, so outside R
    the warp passes through exactly, whatever the weights — painting is confined by construction.
    """

    def __init__(self, *, image_size: int, channels: list[int], res_blocks: int, embed_dim: int,
                 attn_down: int, attn_up: int, in_channels: int = 3, warp_blend: bool = False):
        super().__init__()
        if warp_blend and in_channels < 6:
            raise ValueError("warp_blend needs the warped source in input channels 3-5")
        self.warp_blend = warp_blend
        n = len(channels)
        self.image_size = image_size
        self.in_channels = in_channels
        down_res = [image_size // 2 ** (i + 1) for i in range(n)]
        self.down = encoder_blocks(in_channels, list(channels), down_res, attn_down, norm=True)
        bottleneck = channels[-1]
        self.res = nn.ModuleList(ResBlock(bottleneck) for _ in range(res_blocks))
        self.up = nn.ModuleList()
        prev, res = bottleneck, down_res[-1]
        for j in range(n):
            out = channels[n - 2 - j] if n - 2 - j >= 0 else channels[0]
            res *= 2
            self.up.append(ResBlockUp(prev, out))
            if res == attn_up:
                self.up.append(SelfAttention(out))
            prev = out
        self.out_norm = AdaIN(prev)
        self.out_conv = sn_conv(prev, 4 if warp_blend else 3)
        if warp_blend:
            with torch.no_grad():
                self.out_conv.bias[3] = 2.0
        offset = 0
        for m in self.modules():
            if isinstance(m, AdaIN):
                m.offset = offset
                offset += m.num_params
        self.num_adain_params = offset
        self.projection = nn.Parameter(torch.randn(offset, embed_dim) * 0.02)  # P

    def project(self, e: torch.Tensor) -> torch.Tensor:
        """ψ = P·ê: e [B,D] -> psi [B,N] (N = num_adain_params)."""
        return e @ self.projection.t()

    def forward(self, y: torch.Tensor, psi: torch.Tensor) -> torch.Tensor:
        """y landmark image [B,Cin,S,S] in [-1,1], psi [B|1,N] -> frame [B,3,S,S] in [-1,1]."""
        rgb, m = self.parts(y, psi)
        if m is None:
            return rgb
        return blend(y[:, 3:6].to(rgb.dtype), rgb, self.paint_weight(y, m))

    def paint_weight(self, y: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
        """How much of the generated image each pixel takes: (1 − m), times the paint region R
        when the input carries one (channel 7).  y [B,Cin,S,S], m [B,1,S,S] -> [B,1,S,S]."""
        p = 1 - m
        if self.in_channels >= 8:
            p = p * ((y[:, 7:8].to(m.dtype) + 1) * 0.5).clamp(0, 1)
        return p

    def parts(self, y: torch.Tensor, psi: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(generated rgb [B,3,S,S], blend mask m [B,1,S,S] or None without ``warp_blend``)."""
        h = y
        for block in self.down:
            h = block(h)
        for block in self.res:
            h = block(h, psi)
        for block in self.up:
            h = block(h) if isinstance(block, SelfAttention) else block(h, psi)
        out = self.out_conv(self.out_norm(h, psi, relu=True))
        if use_fast_path(out):  # channel slices of a channels_last map are strided: tanh would not vectorize
            out = out.contiguous()
        rgb = torch.tanh(out[:, :3])
        return rgb, (torch.sigmoid(out[:, 3:4]) if self.warp_blend else None)

    def generate(self, y: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
        """Convenience: G(y, ê) = forward(y, project(ê)); y [B,Cin,S,S], e [B|1,D]."""
        return self(y, self.project(e))


def blend(warped: torch.Tensor, generated: torch.Tensor, paint: torch.Tensor) -> torch.Tensor:
    """warped + paint·(generated − warped): where ``paint`` is 0 the warp passes through exactly.
    warped, generated [B,3,H,W]; paint [B,1,H,W] in [0, 1]."""
    return warped + paint * (generated - warped)
