"""The generator probe the measured default execution times (fsth_core/runtime/tuning.py): a model size's
typical inference call, in both memory formats: one whole frame (a strip of a frame ranks the memory formats
differently at the bottleneck: measured on the paper preset at 2 threads, a 32- or 64-row strip picked the format
that is 10 % slower on the frame).

:class:`GeneratorWorkload` is what ``ModelConfig.workload()`` returns; the runtime layer times it without
importing the networks.
"""
from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Callable

import torch

from fsth_core.models.fast_ops import textbook_ops
from fsth_core.models.layers import fold_spectral_norm
from fsth_core.models.model import generator_for

PROBE_GFLOP = 64.0  # one probe call at most: every preset's whole frame (paper: 61 GFLOP, textbook ops)


class GeneratorWorkload:
    """A generator of the config's shape (fresh seeded weights, spectral norm folded, ψ fixed), batch 1, on
    :meth:`rows` rows of the landmark image at the model's full width: the whole frame for every preset
    (a larger model would be probed on a strip, every layer at its real width and channels)."""

    def __init__(self, config):
        self.config = config
        shape = {k: v for k, v in config.to_dict().items() if k not in ("name", "num_videos")}
        # the model's shape (without its name and training-video count): the cache's key for it
        self.key = f"{config.name}@{hashlib.sha1(json.dumps(shape, sort_keys=True).encode()).hexdigest()[:10]}"
        self.description = f"{config.name} generator"

    def runners(self) -> dict[bool, Callable[[], torch.Tensor]]:
        """{channels_last: a call of the probe -> its output [1,3,rows,size]} (run them inside the caller's
        inference mode and autocast).  Builds the networks: up to ~2 s for the paper preset."""
        cfg = self.config
        # ordinary tensors even when the caller runs in inference mode (as ComfyUI does): the probe runs its
        # weights as a prepared model's, whose derived kernels the blocks cache (fast_ops.py)
        with torch.inference_mode(False), torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            gen = fold_spectral_norm(generator_for(cfg)).requires_grad_(False)
            gen_cl = copy.deepcopy(gen).to(memory_format=torch.channels_last)
        rows, size = self.rows(gen), cfg.image_size
        g = torch.Generator().manual_seed(0)
        y = torch.rand(1, cfg.gen_in_channels, rows, size, generator=g) * 2 - 1
        psi = torch.randn(1, gen.num_adain_params, generator=g) * 0.05
        y_cl = y.contiguous(memory_format=torch.channels_last)
        self.description = (f"{cfg.name} generator on {rows}x{size} pixels (the model's {size}x{size}: every layer "
                            f"at its width), batch 1")
        return {False: lambda: gen(y, psi), True: lambda: gen_cl(y_cl, psi)}

    def rows(self, generator) -> int:
        """The model's size, halved while one call of ``generator`` on rows x size pixels is over
        :data:`PROBE_GFLOP` (its convolutions' FLOPs, counted on the smallest strip and scaled), down to two
        rows at the bottleneck (one row makes some kernels take other paths)."""
        cfg = self.config
        size, smallest = cfg.image_size, 2 * (cfg.image_size // cfg.gen_bottleneck)
        per_row = conv_gflops(generator, cfg.gen_in_channels, smallest, size) / smallest
        rows = size
        while rows // 2 >= smallest and per_row * rows > PROBE_GFLOP:
            rows //= 2
        return rows


def conv_gflops(generator, in_channels: int, rows: int, cols: int) -> float:
    """GFLOPs of ``generator``'s convolutions (textbook ops) on one input of rows x cols pixels (forward
    hooks; the few attention matmuls left out)."""
    flops = []

    def hook(m, args, out):
        flops.append(2 * out.numel() * args[0].shape[1] // m.groups * m.kernel_size[0] * m.kernel_size[1])

    hooks = [m.register_forward_hook(hook) for m in generator.modules() if isinstance(m, torch.nn.Conv2d)]
    try:
        with torch.no_grad(), textbook_ops():
            generator(torch.zeros(1, in_channels, rows, cols), torch.zeros(1, generator.num_adain_params))
    finally:
        for h in hooks:
            h.remove()
    return sum(flops) / 1e9
