"""The pack's custom socket types: FSTH_MODEL, FSTH_LANDMARKS, FSTH_IDENTITY.

All three are immutable wrappers; nodes make new ones instead of changing what they receive.
"""
from __future__ import annotations

import weakref
from dataclasses import dataclass, field

import numpy as np

from fsth_core.inference.pipeline import inference_copy
from fsth_core.inference.types import Identity
from fsth_core.landmarks.crop import CropTransform, head_crop_box
from fsth_core.models.config import ModelConfig
from fsth_core.models.model import TalkingHeadModel
from fsth_core.runtime.device import Execution

from ._comfy import torch_device

# model -> {channels_last: its folded inference copy on the CPU}; an entry lives as long as its model
_CPU_COPIES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


@dataclass(frozen=True, eq=False)
class FSTHModel:
    """FSTH_MODEL: a TalkingHeadModel (never modified by a node), its compute precision, a display
    name, the fine-tuning recipe stored in the checkpoint, and how many fine-tuning steps it had."""

    model: TalkingHeadModel
    name: str = "model"
    precision: str = "auto"
    recipe: dict = field(default_factory=dict)
    finetune_steps: int = 0

    @property
    def size(self) -> int:
        return int(self.model.config.image_size)

    def execution(self):
        """fsth_core Execution on ComfyUI's compute device with this model's precision."""
        return Execution.resolve(torch_device(), self.precision, config=self.model.config)

    def inference_model(self, execution) -> TalkingHeadModel:
        """The folded eval copy generation runs (fsth_core.inference.pipeline.inference_copy; the model itself
        is never changed).  On the CPU it is made once per model and kept while the model is, so running
        the Generator again (another motion) starts at once, as ``animate`` does after its set-up; on a GPU
        a new one each time, so no device memory stays held between runs."""
        if execution.device.type != "cpu":
            return inference_copy(self.model, execution)
        copies = _CPU_COPIES.setdefault(self.model, {})
        if execution.channels_last not in copies:
            copies[execution.channels_last] = inference_copy(self.model, execution)
        return copies[execution.channels_last]


@dataclass(frozen=True, eq=False)
class FSTHLandmarks:
    """FSTH_LANDMARKS: points float32 [T,68,2] in pixels of frames of ``image_size`` (h, w); found
    and interpolated bool [T]; fps or None; ``crop``: the head box (in those pixels) of the source
    face these landmarks were retargeted onto, or None (then the box is computed from the points)."""

    points: np.ndarray
    image_size: tuple[int, int]
    found: np.ndarray
    interpolated: np.ndarray
    fps: float | None = None
    crop: CropTransform | None = None

    def __post_init__(self) -> None:
        p = self.points
        if p.ndim != 3 or p.shape[1:] != (68, 2) or len(p) == 0:
            raise ValueError(f"landmarks must be [T,68,2], got {list(p.shape)}")

    def __len__(self) -> int:
        return int(self.points.shape[0])

    @classmethod
    def of(cls, points: np.ndarray, image_size, fps=None, crop=None) -> FSTHLandmarks:
        p = np.asarray(points, np.float32)
        t = len(p)
        return cls(p, (int(image_size[0]), int(image_size[1])), np.ones(t, bool), np.zeros(t, bool), fps, crop)

    def head_box(self) -> CropTransform:
        """The head box these points are cropped with: ``crop`` if set, else one stable box over
        all frames (as fsth_core.inference.pipeline.prepare_sources does for a single image)."""
        return self.crop if self.crop is not None else head_crop_box(self.points, self.image_size)

    def source_box(self) -> CropTransform:
        """The head box of the first frame (the crop fsth_core.inference.pipeline.prepare_sources makes)."""
        return head_crop_box(self.points[0], self.image_size)

    def in_crop(self, size: int) -> np.ndarray:
        """[T,68,2] in the pixels of a ``size`` head crop (the generator's coordinates)."""
        return self.head_box().points_to_crop(self.points, size)


@dataclass(frozen=True, eq=False)
class FSTHIdentity:
    """FSTH_IDENTITY: fsth_core Identity (ê, ψ, w, the warp-guide source crop) and a name."""

    identity: Identity
    name: str = "identity"

    def check_model(self, m: FSTHModel) -> None:
        cfg = ModelConfig.from_json(self.identity.config_json)
        if cfg.with_videos(1) != m.model.config.with_videos(1):
            raise ValueError(f"identity '{self.name}' was made with a '{cfg.name}' model, "
                             f"but the model input is '{m.model.config.name}' ({m.name})")
