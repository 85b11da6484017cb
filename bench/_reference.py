"""The public reimplementation's generator (vincent-thevenin/Realistic-Neural-Talking-Head-Models), timed
beside ours when the user points ``--reference`` at a checkout of it. Its source is never committed here
and nothing is downloaded: without the folder the reference rows are simply absent.

Importing the folder runs its Python code (``network/model.py`` and ``network/blocks.py``), as running its
own scripts would; pass only a checkout you trust.
"""
from __future__ import annotations

import importlib
import os
import sys

import torch

REPO = "vincent-thevenin/Realistic-Neural-Talking-Head-Models"


def load_reference_generator(folder: str, image_size: int) -> torch.nn.Module:
    """Its Generator(in_height=image_size) with random weights, in its own eval mode (spectral norm as
    ``torch.nn.utils.spectral_norm`` computes it per call). Raises FileNotFoundError with what to pass."""
    model_py = os.path.join(folder, "network", "model.py")
    if not os.path.isfile(model_py):
        raise FileNotFoundError(f"--reference {folder}: no network/model.py there; pass a checkout of {REPO}")
    sys.path.insert(0, os.path.abspath(folder))
    try:
        module = importlib.import_module("network.model")
    finally:
        sys.path.pop(0)
    torch.manual_seed(0)
    return module.Generator(image_size).eval().requires_grad_(False)


def reference_call(gen: torch.nn.Module, batch: int, image_size: int):
    """A zero-argument callable running its forward: y (B, 3, S, S) in [0, 1], e (B, 512, 1)."""
    y = torch.rand(batch, 3, image_size, image_size)
    e = torch.randn(batch, 512, 1) * 0.1

    def call():
        with torch.inference_mode():
            return gen(y, e)
    return call
