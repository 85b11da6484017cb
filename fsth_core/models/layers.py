"""Building blocks: spectral-norm convolutions, BigGAN-style residual blocks, AdaIN, self-attention.

All convolutions are spectrally normalized (``torch.nn.utils.parametrizations.spectral_norm``);
:func:`fold_spectral_norm` bakes the normalization into plain weights for inference.
AdaIN layers take their scales and biases from a slice of ψ passed at call time, so the
blocks hold no per-identity state.

Inference (no autograd) takes faster routes to the same numbers, up to float rounding
(bench/bench_generator.py --profile): instance norms that keep the memory format (channels_last stays
channels_last: no copies around every norm) with the ReLU fused; a folded 3x3 conv followed by 2x2
average pooling runs as one stride-2 4x4 conv (2.25x fewer FLOPs); nearest 2x upsampling followed by a
folded 3x3 conv runs as four 2x2 convs on the small map (2.25x fewer FLOPs, no upsampled copy); the
nearest-upsampled skip is added in place; attention is two batched matmuls around a softmax.
Training keeps the textbook ops (its gradients are unchanged).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import spectral_norm

from fsth_core.models.fast_ops import add_upsampled, instance_norm_affine, pooled_conv, upsampled_conv, use_fast_path


def sn_conv(in_ch: int, out_ch: int, kernel: int = 3) -> nn.Conv2d:
    """A spectrally normalized ``kernel``×``kernel`` convolution with 'same' padding."""
    return spectral_norm(nn.Conv2d(in_ch, out_ch, kernel, padding=kernel // 2))


def fold_spectral_norm(module: nn.Module) -> nn.Module:
    """Replace every spectral-norm parametrization by its current normalized weight, in place.

    Puts ``module`` in eval mode first, so the stored power-iteration vectors are used as is
    and the outputs do not change.  Returns ``module``.
    """
    module.eval()
    for m in module.modules():
        if parametrize.is_parametrized(m, "weight"):
            # A deepcopy shares its parametrized class with the original and removal deletes the
            # class's property: give this module a class of its own first, so the original keeps working.
            cls = type(m)
            own = {k: v for k, v in vars(cls).items() if k not in ("__dict__", "__weakref__")}
            m.__class__ = type(cls.__name__, cls.__bases__, own)
            parametrize.remove_parametrizations(m, "weight", leave_parametrized=True)
    return module


def has_spectral_norm(module: nn.Module) -> bool:
    return any(parametrize.is_parametrized(m) for m in module.modules())


class AdaIN(nn.Module):
    """Instance normalization whose per-channel scale and bias come from ψ.

    ``offset`` is the start of this layer's slice of ψ (set by the generator); the slice
    holds ``channels`` scales then ``channels`` biases.  The scale is applied as ``1 + γ``
    so that ψ = 0 is the identity transform.
    """

    def __init__(self, channels: int):
        super().__init__()
        self.channels = channels
        self.offset = 0

    @property
    def num_params(self) -> int:
        return 2 * self.channels

    def forward(self, x: torch.Tensor, psi: torch.Tensor, relu: bool = False) -> torch.Tensor:
        """x [B,C,H,W], psi [B or 1, N] -> [B,C,H,W]; ``relu``: ReLU(AdaIN(x)) (fused in inference)."""
        p = psi[:, self.offset:self.offset + self.num_params].float()
        if use_fast_path(x) and x.dtype == torch.float32:  # memory format kept, affine and ReLU in one pass
            return instance_norm_affine(x, 1 + p[:, :self.channels], p[:, self.channels:], relu)
        out = self._norm(x, p)
        return (out.relu_() if use_fast_path(x) else F.relu(out)) if relu else out

    def _norm(self, x: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
        if p.shape[0] == 1 and x.dtype == torch.bfloat16 and x.device.type == "cpu" and not torch.is_grad_enabled():
            # CPU inference in bf16: the kernel takes bf16 in and fp32 affine, accumulates in fp32 and
            # rounds once, as the fp32 round trip does (equal up to 1 bf16 ulp), without the two copies:
            # 13x faster for this op, the cpu128 generator 13 % (bench/bench_animate.py)
            return F.instance_norm(x, weight=1 + p[0, :self.channels], bias=p[0, self.channels:], eps=1e-5)
        if p.shape[0] == 1:  # one identity for the whole batch: normalization and affine in one op
            return F.instance_norm(x.float(), weight=1 + p[0, :self.channels], bias=p[0, self.channels:],
                                   eps=1e-5).to(x.dtype)
        gamma = p[:, :self.channels, None, None]
        beta = p[:, self.channels:, None, None]
        return (F.instance_norm(x.float(), eps=1e-5) * (1 + gamma) + beta).to(x.dtype)


class SelfAttention(nn.Module):
    """SAGAN self-attention; keys and values are max-pooled 2× (as in BigGAN) to save memory."""

    def __init__(self, channels: int):
        super().__init__()
        self.query = sn_conv(channels, max(channels // 8, 1), 1)
        self.key = sn_conv(channels, max(channels // 8, 1), 1)
        self.value = sn_conv(channels, max(channels // 2, 1), 1)
        self.out = sn_conv(max(channels // 2, 1), channels, 1)
        self.gamma = nn.Parameter(torch.zeros(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x [B,C,H,W] -> [B,C,H,W]."""
        b, c, h, w = x.shape
        q = self.query(x).flatten(2).transpose(1, 2)                       # [B, HW, C/8]
        k = F.max_pool2d(self.key(x), 2).flatten(2).transpose(1, 2)        # [B, HW/4, C/8]
        v = F.max_pool2d(self.value(x), 2).flatten(2).transpose(1, 2)      # [B, HW/4, C/2]
        if use_fast_path(x):  # the plain math: no masking passes of the fused kernel's fallback
            o = torch.bmm(torch.bmm(q, k.transpose(1, 2)).softmax(-1), v)
            return torch.addcmul(x, self.out(o.transpose(1, 2).reshape(b, -1, h, w)), self.gamma)
        o = F.scaled_dot_product_attention(q[:, None], k[:, None], v[:, None], scale=1.0)[:, 0]
        o = o.transpose(1, 2).reshape(b, -1, h, w)
        return x + self.gamma * self.out(o)


class ResBlockDown(nn.Module):
    """BigGAN-style residual downsampling block (×1/2), optional instance norm.

    main: [IN] → ReLU → conv3 → [IN] → ReLU → conv3 → avgpool2;  skip: avgpool2 → conv1 (the same as
    conv1 → avgpool2, on a 4× smaller map).
    ``first`` drops the leading ReLU (the block sees raw images).
    """

    def __init__(self, in_ch: int, out_ch: int, norm: bool = False, first: bool = False):
        super().__init__()
        self.first = first
        self.norm1 = nn.InstanceNorm2d(in_ch, affine=True) if norm else nn.Identity()
        self.conv1 = sn_conv(in_ch, out_ch)
        self.norm2 = nn.InstanceNorm2d(out_ch, affine=True) if norm else nn.Identity()
        self.conv2 = sn_conv(out_ch, out_ch)
        self.skip = sn_conv(in_ch, out_ch, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x [B,Cin,H,W] -> [B,Cout,H/2,W/2]."""
        if use_fast_path(x):
            h = _norm_relu(self.norm1, x, relu=not self.first)
            h = pooled_conv(self.conv2, _norm_relu(self.norm2, self.conv1(h), relu=True))
            return _add(h, self.skip(F.avg_pool2d(x, 2)))
        h = self.norm1(x)
        h = h if self.first else F.relu(h)
        h = self.conv2(F.relu(self.norm2(self.conv1(h))))
        return F.avg_pool2d(h, 2) + self.skip(F.avg_pool2d(x, 2))  # a 1x1 conv commutes with pooling


def _add(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """a + b, in place in ``a`` (a fresh activation) when that keeps the result's dtype."""
    return a.add_(b) if torch.result_type(a, b) == a.dtype else a + b


def _norm_relu(norm: nn.Module, x: torch.Tensor, relu: bool) -> torch.Tensor:
    """Inference: ReLU(norm(x)) (``relu``) or norm(x) for an affine nn.InstanceNorm2d or nn.Identity, in
    x's memory format."""
    if isinstance(norm, nn.InstanceNorm2d) and x.dtype == torch.float32:
        return instance_norm_affine(x, None if norm.weight is None else norm.weight[None],
                                    None if norm.bias is None else norm.bias[None], relu, norm.eps)
    h = norm(x)
    return F.relu(h) if relu else h


class ResBlock(nn.Module):
    """Residual block at constant resolution, AdaIN (``adain=True``) or no normalization."""

    def __init__(self, channels: int, adain: bool = True):
        super().__init__()
        self.norm1 = AdaIN(channels) if adain else None
        self.conv1 = sn_conv(channels, channels)
        self.norm2 = AdaIN(channels) if adain else None
        self.conv2 = sn_conv(channels, channels)

    def forward(self, x: torch.Tensor, psi: torch.Tensor | None = None) -> torch.Tensor:
        """x [B,C,H,W] (psi [B|1,N] when AdaIN) -> [B,C,H,W]."""
        if use_fast_path(x) and self.norm1 is not None:
            h = self.conv1(self.norm1(x, psi, relu=True))
            return _add(self.conv2(self.norm2(h, psi, relu=True)), x)
        h = self.norm1(x, psi) if self.norm1 is not None else x
        h = self.conv1(F.relu(h))
        h = self.norm2(h, psi) if self.norm2 is not None else h
        return x + self.conv2(F.relu(h))


class ResBlockUp(nn.Module):
    """BigGAN-style residual upsampling block (×2) with AdaIN.

    main: AdaIN → ReLU → up2 → conv3 → AdaIN → ReLU → conv3;  skip: conv1 → up2 (the same as up2 → conv1).
    """

    def __init__(self, in_ch: int, out_ch: int):
        super().__init__()
        self.norm1 = AdaIN(in_ch)
        self.conv1 = sn_conv(in_ch, out_ch)
        self.norm2 = AdaIN(out_ch)
        self.conv2 = sn_conv(out_ch, out_ch)
        self.skip = sn_conv(in_ch, out_ch, 1)

    def forward(self, x: torch.Tensor, psi: torch.Tensor) -> torch.Tensor:
        """x [B,Cin,H,W], psi [B|1,N] -> [B,Cout,2H,2W]."""
        if use_fast_path(x):
            h = upsampled_conv(self.conv1, self.norm1(x, psi, relu=True))
            return add_upsampled(self.conv2(self.norm2(h, psi, relu=True)), self.skip(x))
        h = F.interpolate(F.relu(self.norm1(x, psi)), scale_factor=2.0, mode="nearest")
        h = self.conv2(F.relu(self.norm2(self.conv1(h), psi)))
        # a 1x1 conv commutes with nearest upsampling: convolve the 4x smaller map
        return h + F.interpolate(self.skip(x), scale_factor=2.0, mode="nearest")


def encoder_blocks(in_ch: int, channels: list[int], resolutions: list[int], attn_res: int,
                   norm: bool) -> nn.ModuleList:
    """Residual downsampling stack; self-attention after the block whose output is ``attn_res``."""
    blocks = nn.ModuleList()
    prev = in_ch
    for i, (ch, res) in enumerate(zip(channels, resolutions)):
        blocks.append(ResBlockDown(prev, ch, norm=norm, first=(i == 0)))
        if res == attn_res:
            blocks.append(SelfAttention(ch))
        prev = ch
    return blocks
