"""The three networks of one model, built from a :class:`ModelConfig` (the thin config adapter)."""
from __future__ import annotations

import contextlib

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from fsth_core.models.config import ModelConfig
from fsth_core.models.discriminator import Discriminator
from fsth_core.models.embedder import Embedder
from fsth_core.models.fast_ops import textbook_ops
from fsth_core.models.generator import Generator
from fsth_core.models.layers import fold_spectral_norm, has_spectral_norm


class TalkingHeadModel(nn.Module):
    """Embedder, generator and discriminator; state-dict keys are prefixed ``embedder.``,
    ``generator.`` and ``discriminator.``.
    """

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        enc = [config.channels(i) for i in range(config.enc_levels)]
        self.embedder = Embedder(image_size=config.image_size, channels=enc, embed_dim=config.embed_dim,
                                 attn_res=config.attn_down, pooling=config.embed_pooling)
        self.generator = generator_for(config)
        self.discriminator = Discriminator(image_size=config.image_size, channels=enc,
                                           embed_dim=config.embed_dim, attn_res=config.attn_down,
                                           num_videos=config.num_videos, pooling=config.dis_pooling)

    def parameter_counts(self) -> dict[str, int]:
        return {name: sum(p.numel() for p in getattr(self, name).parameters())
                for name in ("embedder", "generator", "discriminator")}

    @property
    def folded(self) -> bool:
        return not has_spectral_norm(self)

    def fold(self) -> TalkingHeadModel:
        """Fold spectral norm into plain weights (inference only; eval mode). Returns self."""
        fold_spectral_norm(self)
        return self


def generator_for(config: ModelConfig) -> Generator:
    """The generator of ``config``'s shape (fresh weights): the one mapping from a config to its arguments."""
    return Generator(image_size=config.image_size, channels=[config.channels(i) for i in range(config.gen_levels)],
                     res_blocks=config.gen_res_blocks, embed_dim=config.embed_dim, attn_down=config.attn_down,
                     attn_up=config.attn_up, in_channels=config.gen_in_channels, warp_blend=config.warp_guided)


W_KEY = "discriminator.W"  # the training videos' columns: meta-learning only


def clone_model(model: TalkingHeadModel, keep_w: bool = True) -> TalkingHeadModel:
    """An independent CPU copy (same weights, train mode).

    ``keep_w=False``: without the discriminator's W (one column per training video; VoxCeleb2: ≈300 MB),
    which one person never uses — fine-tuning and inference project with w0 + ê.  The copy's config has
    one video and its single column is zero.

    Use this instead of ``copy.deepcopy``: parametrized (spectral-norm) modules share their
    generated classes with a deep copy, so folding the copy would break the original.
    """
    if model.folded:
        raise ValueError("cannot clone a folded (inference-only) model")
    twin = TalkingHeadModel(model.config if keep_w else model.config.with_videos(1))
    state = {k: v.detach().cpu() for k, v in model.state_dict().items() if keep_w or k != W_KEY}
    if not keep_w:
        state[W_KEY] = torch.zeros(model.config.embed_dim, 1)
    twin.load_state_dict(state)
    return twin


def adapt_model(model: TalkingHeadModel, config: ModelConfig, seed: int | None = None) -> TalkingHeadModel:
    """A model of ``config`` that starts from ``model``'s weights (warm start for a new recipe).

    Tensors of the same shape are copied; the discriminator's W (one column per training video)
    stays fresh when the number of videos differs; generator input weights that gained channels
    (e.g. the paint region of ``paint_region``) get zeros for them, so the adapted network computes
    what the old one did until training uses the new input.
    """
    fresh = build_model(config, seed=seed)
    state = fresh.state_dict()
    for key, value in model.state_dict().items():
        if key not in state:
            continue
        target = state[key]
        if value.shape == target.shape:
            state[key] = value.clone()
        elif key.startswith("generator.down.0.") and value.dim() == target.dim():
            state[key] = _extended(value, target, zero_new=key.endswith("weight.original"))
    fresh.load_state_dict(state)
    return fresh


def _extended(value: torch.Tensor, fresh: torch.Tensor, zero_new: bool) -> torch.Tensor:
    """``value`` in the leading part of ``fresh`` (input-channel growth: conv weights [O, I, k, k]
    along I, norm parameters [I], spectral norm's flattened v [I·k·k]); the new part keeps its fresh
    initialization, or zeros with ``zero_new`` (conv weights: the new input starts switched off)."""
    out = torch.zeros_like(fresh) if zero_new else fresh.clone()
    out[tuple(slice(0, n) for n in value.shape)] = value
    return out


def build_model(config: ModelConfig, seed: int | None = None) -> TalkingHeadModel:
    """A freshly initialized model (deterministic when ``seed`` is given)."""
    if seed is None:
        return TalkingHeadModel(config)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return TalkingHeadModel(config)


def generator_gflops(config: ModelConfig, executed: bool = False, generator: Generator | None = None,
                     side: int | None = None) -> float:
    """GFLOPs (2 × multiply-adds) per generated frame at batch 1, ψ precomputed: the model's own (its
    textbook ops), or with ``executed`` what inference runs (fsth_core/models/fast_ops.py: fewer).
    ``generator``: one of ``config``'s shape to run (default: a fresh one); ``side``: of the input
    (default: the model's size)."""

    g = generator if generator is not None else fold_spectral_norm(generator_for(config))
    side = side or config.image_size
    y = torch.zeros(1, config.gen_in_channels, side, side)
    psi = torch.zeros(1, g.num_adain_params)
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), contextlib.nullcontext() if executed else textbook_ops(), counter:
        g(y, psi)
    return counter.get_total_flops() / 1e9
