"""Inference-only routes to the blocks' numbers with less work (fsth_core/models/layers.py uses them).

Each function computes what the textbook op sequence computes, up to float rounding (the sums run in
another order): tests/test_models_fast_ops.py compares them.  They are taken only without autograd
(:func:`use_fast_path`); training keeps the textbook ops and their gradients.

- :func:`instance_norm_affine`: instance norm with a per-channel affine (and the ReLU in place) that
  keeps the input's memory format.  ``F.instance_norm`` reshapes to a contiguous batch norm, so under
  channels_last every norm cost two copies (out of channels_last and back into it for the next conv).
- :func:`pooled_conv`: a 3x3 conv followed by 2x2 average pooling equals one stride-2 4x4 conv whose
  kernel is the average of the 3x3 kernel at the four pooling offsets: 4 instead of 9 multiply-adds
  per input pixel and no full-resolution output.
- :func:`upsampled_conv`: nearest 2x upsampling followed by a 3x3 conv equals, for each of the four
  output phases, a 2x2 conv of the small map (the 3x3 taps that read the same source pixel summed):
  all four as one conv with 4x the output channels, interleaved into the output once.
- :func:`add_upsampled`: ``h + nearest_upsample(s)`` in place, without the upsampled copy of ``s``.

The derived kernels are made once per weight (cached on the conv, keyed by the weight's storage and
version); a spectral-norm weight is recomputed on every access anyway, so its kernels are derived per
call (an unfolded model takes the same route as its folded copy: folding changes no output).
"""
from __future__ import annotations

import contextlib
import contextvars

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize

# Which 3x3 taps (columns) land on each of a phase's two source taps (rows): phase 0 reads source offsets
# (-1, 0) with taps (0) and (1, 2); phase 1 reads (0, +1) with taps (0, 1) and (2).
_PHASE_TAPS = torch.tensor([[[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]],
                            [[1.0, 1.0, 0.0], [0.0, 0.0, 1.0]]])


_TEXTBOOK = contextvars.ContextVar("fsth_textbook_ops", default=False)


def use_fast_path(x: torch.Tensor) -> bool:
    """Whether the blocks may take the inference routes: no autograd recording, outside :func:`textbook_ops`,
    and not while torch.compile traces (the compiler fuses on its own; the routes' cached kernels and
    per-sample loops would only break its graph)."""
    if torch.compiler.is_compiling():
        return False
    return not torch.is_grad_enabled() and not _TEXTBOOK.get()


@contextlib.contextmanager
def textbook_ops():
    """The blocks' textbook ops inside the block, also without autograd (to count the model's FLOPs, or to
    time the routes against them); this thread only."""
    token = _TEXTBOOK.set(True)
    try:
        yield
    finally:
        _TEXTBOOK.reset(token)


def instance_norm_affine(x: torch.Tensor, scale: torch.Tensor | None, bias: torch.Tensor | None,
                         relu: bool = False, eps: float = 1e-5) -> torch.Tensor:
    """(x − mean) / sqrt(var + eps) · scale + bias over each sample's channel planes, ReLU'd with ``relu``.

    x [B,C,H,W] fp32 (any memory format, kept); scale, bias [B|1, C] (None: 1 and 0).  Contiguous with one
    scale for the batch: a group norm of one channel per group (the same statistics, 4x faster than the
    batch-norm route below there).  Otherwise each sample is a batch norm of one sample (its statistics
    are the instance's), run by torch's batch-norm kernel, which has a channels_last path, into its slice
    of the output.  Then the ReLU in place.
    """
    if not (x.is_contiguous() or x.is_contiguous(memory_format=torch.channels_last)):
        # a channel slice (a 7-channel model on the 8-channel warp input): dense first, in its own layout;
        # the batch-norm kernel writes its output slice as if laid out like its input
        x = x.contiguous(memory_format=torch.channels_last if x.stride(1) == 1 else torch.contiguous_format)
    shared = (scale is None or scale.shape[0] == 1) and (bias is None or bias.shape[0] == 1)
    if shared and x.is_contiguous():
        out = F.group_norm(x, x.shape[1], None if scale is None else scale[0], None if bias is None else bias[0], eps)
        return out.relu_() if relu else out
    out = torch.empty_like(x)
    stats = x.new_empty(2, x.shape[1])
    for i in range(x.shape[0]):
        w = None if scale is None else scale[i if scale.shape[0] > 1 else 0]
        b = None if bias is None else bias[i if bias.shape[0] > 1 else 0]
        torch.ops.aten.native_batch_norm.out(x[i:i + 1], w, b, None, None, True, 0.0, eps, out=out[i:i + 1],
                                             save_mean=stats[0], save_invstd=stats[1])
    return out.relu_() if relu else out


def _plain(conv: nn.Conv2d) -> bool:
    return (conv.kernel_size == (3, 3) and conv.padding == (1, 1)
            and conv.stride == (1, 1) and conv.dilation == (1, 1) and conv.groups == 1)


def _derived(conv: nn.Conv2d, name: str, make) -> torch.Tensor:
    """``make(weight)`` in the weight's memory format, cached on ``conv`` until the weight changes (its
    storage, version, dtype or format).  A spectral-norm weight (recomputed on every access) is derived
    anew on every call.  A weight made in inference mode (ComfyUI runs nodes so) has no version counter: it
    is known by its storage alone, so an in-place edit of it inside inference mode would go unseen."""
    w = conv.weight
    cl = w.is_contiguous(memory_format=torch.channels_last) and not w.is_contiguous()
    version = -1 if w.is_inference() else w._version
    key = None if parametrize.is_parametrized(conv) else (w.data_ptr(), version, w.dtype, w.device, cl)
    cached = conv.__dict__.get(name)
    if key is None or cached is None or cached[0] != key:
        with torch.no_grad():
            d = make(w.detach())
        d = d.contiguous(memory_format=torch.channels_last if cl else torch.contiguous_format)
        cached = (key, d)
        if key is not None:
            conv.__dict__[name] = cached
    return cached[1]


def _pool_kernel(w: torch.Tensor) -> torch.Tensor:
    """[O,I,3,3] -> [O,I,4,4]: the mean of the kernel placed at the four 2x2 pooling offsets."""
    return F.pad(w, (0, 1, 0, 1)).add(F.pad(w, (1, 0, 0, 1))).add(F.pad(w, (0, 1, 1, 0))).add(
        F.pad(w, (1, 0, 1, 0))).mul(0.25)


def _phase_kernels(w: torch.Tensor) -> torch.Tensor:
    """[O,I,3,3] -> [4·O,I,2,2], phase-major (channel (2a + c)·O + o is output phase (a, c) of channel o)."""
    taps = _PHASE_TAPS.to(w.device, w.dtype)
    k = torch.einsum("apk,cql,oikl->acoipq", taps, taps, w)
    return k.reshape(4 * w.shape[0], w.shape[1], 2, 2)


def pooled_conv(conv: nn.Conv2d, x: torch.Tensor) -> torch.Tensor:
    """avg_pool2d(conv(x), 2) for a 3x3 'same' conv: x [B,I,H,W] (H, W even) -> [B,O,H/2,W/2]."""
    if not _plain(conv) or x.shape[-2] % 2 or x.shape[-1] % 2:
        return F.avg_pool2d(conv(x), 2)
    return F.conv2d(x, _derived(conv, "_fsth_pooled", _pool_kernel), conv.bias, stride=2, padding=1)


def upsampled_conv(conv: nn.Conv2d, x: torch.Tensor) -> torch.Tensor:
    """conv(nearest_upsample_2x(x)) for a 3x3 'same' conv: x [B,I,H,W] -> [B,O,2H,2W], in x's memory format."""
    if not _plain(conv):
        return conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))
    b, _, h, w = x.shape
    o = conv.out_channels
    bias = None if conv.bias is None else conv.bias.repeat(4)
    z = F.conv2d(x, _derived(conv, "_fsth_phases", _phase_kernels), bias, padding=1)  # [B,4O,H+1,W+1]
    fmt = torch.channels_last if x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous() \
        else torch.contiguous_format
    out = torch.empty(b, o, 2 * h, 2 * w, dtype=z.dtype, device=z.device, memory_format=fmt)
    phases = out.unflatten(2, (h, 2)).unflatten(4, (w, 2))  # views [B,O,H,2,W,2]
    for a in (0, 1):
        for c in (0, 1):
            k = 2 * a + c
            phases[:, :, :, a, :, c].copy_(z[:, k * o:(k + 1) * o, a:a + h, c:c + w])
    return out


def add_upsampled(h: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    """h + nearest_upsample_2x(s), in place in h: h [B,C,2H,2W], s [B,C,H,W] -> h."""
    hh, ww = s.shape[-2:]
    if torch.result_type(h, s) != h.dtype:
        return h + F.interpolate(s, scale_factor=2.0, mode="nearest")
    h.unflatten(2, (hh, 2)).unflatten(4, (ww, 2)).add_(s[:, :, :, None, :, None])
    return h
