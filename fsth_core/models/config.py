"""Model presets as frozen dataclasses, stored in the weights' metadata.

A :class:`ModelConfig` fully describes the three networks' shapes.  Networks themselves
are config-free (keyword constructors); :func:`fsth_core.models.model.build_model` is the thin
adapter from a config to modules.
"""
from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

FORMAT_VERSION = 2  # 2: configs record embed_pooling and dis_pooling (issue 22), which older packs cannot read

#: how the embedder turns its last 4x4 feature map into ê: ``max`` (a global max, no ReLU) or ``sum_relu``
#: (the paper: global sum pooling, then ReLU; with the embedding-match loss it collapses ê to 0 within
#: 100 steps, measured by bench/bench_pooling.py, see docs/training.md, so ``max`` is the default)
EMBED_POOLINGS = ("max", "sum_relu")
#: how the discriminator turns its last feature map into v: ``sum_relu`` (the paper: global sum pooling, then
#: ReLU) or ``relu_sum`` (a ReLU, then the sum: this pack's models before issue 22)
DIS_POOLINGS = ("sum_relu", "relu_sum")
#: a config read from a file written before a field existed computes what that file always did
FILE_DEFAULTS = {"embed_pooling": "max", "dis_pooling": "relu_sum"}


@dataclass(frozen=True)
class ModelConfig:
    """Shapes of the embedder, generator and discriminator.

    Attributes:
        name: preset name (``paper``, ``small``, ``tiny``, or ``custom``).
        image_size: side of the square input/output frames in pixels.
        base_channels: channels after the first downsampling block.
        max_channels: cap on channels (the paper: 512).
        embed_dim: size of the identity embedding ê (the paper: 512).
        gen_bottleneck: side of the generator's bottleneck feature map.
        gen_res_blocks: residual blocks at the bottleneck (the paper: 4-5).
        attn_down: resolution of self-attention in the downsampling part (G, E and D).
        attn_up: resolution of self-attention in the generator's upsampling part.
        num_videos: columns of the discriminator's W (one per training video).
        warp_guided: the generator also receives the source warped to the target
            landmarks and the warp's validity mask (4 extra input channels).
        paint_region: (warp-guided only) the generator also receives the region where it may
            paint — dilated mouth and eyes, and pixels the warp cannot explain — as an 8th input
            channel, and its output equals the warp everywhere else (see guidance.py).
        embed_pooling / dis_pooling: how the embedder and the discriminator pool their last feature map
            (``EMBED_POOLINGS``, ``DIS_POOLINGS``; a file without them: ``FILE_DEFAULTS``).
    """

    name: str = "custom"
    image_size: int = 256
    base_channels: int = 64
    max_channels: int = 512
    embed_dim: int = 512
    gen_bottleneck: int = 16
    gen_res_blocks: int = 5
    attn_down: int = 32
    attn_up: int = 64
    num_videos: int = 1
    warp_guided: bool = False
    paint_region: bool = False
    embed_pooling: str = "max"
    dis_pooling: str = "sum_relu"

    def __post_init__(self) -> None:
        for f in ("image_size", "base_channels", "max_channels", "embed_dim", "gen_bottleneck"):
            v = getattr(self, f)
            if not isinstance(v, int) or v <= 0:
                raise ValueError(f"ModelConfig.{f} must be a positive int, got {v!r}")
        if self.image_size & (self.image_size - 1) or self.image_size < 16:
            raise ValueError(f"image_size must be a power of two >= 16, got {self.image_size}")
        if self.image_size % self.gen_bottleneck or self.gen_bottleneck < 4:
            raise ValueError("gen_bottleneck must divide image_size and be >= 4")
        if self.num_videos < 1:
            raise ValueError("num_videos must be >= 1")
        if self.gen_res_blocks < 0:
            raise ValueError("gen_res_blocks must be >= 0")
        if self.paint_region and not self.warp_guided:
            raise ValueError("paint_region needs warp_guided")
        if self.embed_pooling not in EMBED_POOLINGS:
            raise ValueError(f"embed_pooling must be one of {EMBED_POOLINGS}, got {self.embed_pooling!r}")
        if self.dis_pooling not in DIS_POOLINGS:
            raise ValueError(f"dis_pooling must be one of {DIS_POOLINGS}, got {self.dis_pooling!r}")

    # ---- derived shapes -------------------------------------------------------------
    @property
    def enc_levels(self) -> int:
        """Downsampling blocks of the embedder/discriminator (down to 4x4)."""
        return int(math.log2(self.image_size // 4))

    @property
    def gen_levels(self) -> int:
        """Downsampling (and upsampling) blocks of the generator."""
        return int(math.log2(self.image_size // self.gen_bottleneck))

    def channels(self, level: int) -> int:
        """Channels after downsampling block ``level`` (0-based)."""
        return min(self.base_channels * 2 ** level, self.max_channels)

    @property
    def gen_in_channels(self) -> int:
        return 3 + (4 if self.warp_guided else 0) + (1 if self.paint_region else 0)

    # ---- (de)serialization ----------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ModelConfig:
        """A config as stored in a file (one written before a field existed gets that field's old behaviour,
        ``FILE_DEFAULTS``)."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown model config keys: {', '.join(unknown)}")
        return cls(**{**FILE_DEFAULTS, **dict(d)})

    @classmethod
    def from_json(cls, s: str) -> ModelConfig:
        return cls.from_dict(json.loads(s))

    def with_videos(self, n: int) -> ModelConfig:
        return dataclasses.replace(self, num_videos=int(n))

    def workload(self):
        """What the measured default execution times for this size (fsth_core/runtime/tuning.py): a
        :class:`fsth_core.models.probe.GeneratorWorkload` (imported here: it builds networks)."""
        from fsth_core.models.probe import GeneratorWorkload

        return GeneratorWorkload(self)


PRESETS: dict[str, ModelConfig] = {
    # The paper: 256 px, channels 64 -> 512, embedding 512, attention at 32 (down) / 64 (up).
    "paper": ModelConfig(name="paper", image_size=256, base_channels=64, max_channels=512,
                         embed_dim=512, gen_bottleneck=16, gen_res_blocks=5, attn_down=32, attn_up=64),
    # Half resolution, half width.
    "small": ModelConfig(name="small", image_size=128, base_channels=32, max_channels=256,
                         embed_dim=512, gen_bottleneck=8, gen_res_blocks=4, attn_down=16, attn_up=32),
    # CPU work and tests.
    "tiny": ModelConfig(name="tiny", image_size=64, base_channels=16, max_channels=128,
                        embed_dim=128, gen_bottleneck=8, gen_res_blocks=2, attn_down=16, attn_up=32),
    # The bundled demo checkpoint: 128 px but narrow, trainable and fast on a CPU.
    "cpu128": ModelConfig(name="cpu128", image_size=128, base_channels=16, max_channels=128,
                          embed_dim=128, gen_bottleneck=8, gen_res_blocks=2, attn_down=16, attn_up=32),
}


def preset(name: str, **overrides: Any) -> ModelConfig:
    """Return the named preset, optionally with fields replaced (``preset('tiny', num_videos=10)``)."""
    try:
        cfg = PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown preset {name!r}; choose one of: {', '.join(PRESETS)}") from None
    return dataclasses.replace(cfg, **overrides) if overrides else cfg


@dataclass(frozen=True)
class LossWeights:
    """Weights of the loss terms (the paper's values)."""

    vgg19: float = 1e-2
    vggface: float = 2e-3
    adversarial: float = 1.0
    feature_matching: float = 10.0
    match: float = 80.0
    # Not in the paper (0 = off): a plain L1 on pixels, which helps short CPU runs without VGG weights.
    pixel_l1: float = 0.0

    def to_dict(self) -> dict[str, float]:
        return dataclasses.asdict(self)


__all__ = ["ModelConfig", "PRESETS", "preset", "LossWeights", "FORMAT_VERSION", "EMBED_POOLINGS",
           "DIS_POOLINGS", "FILE_DEFAULTS"]
