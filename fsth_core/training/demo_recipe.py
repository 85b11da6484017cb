"""The recipe of the bundled demo checkpoint (weights/fsth_demo_cpu128.safetensors).

Two stages, both on a CPU, the ``cpu128`` preset with warp-guided generation:

1. **Cartoon heads** (``SYNTH``, ``TRAIN``): synthetic talking heads with flat colours; the
   generator learns to blend the mesh warp and to paint mouth interiors and eyelids.
2. **Photographic heads** (``SYNTH_PHOTO``, ``TRAIN_PHOTO``): started from stage 1 with the paint
   region added (the generator may paint only in the dilated mouth and eyes and where the warp
   fails; everywhere else its output *is* the warp), on synthetic heads most of which carry real
   photographic texture, backgrounds and camera defects (fsth_core/synthetic/photo_style.py).

The shipped file is fp16 with the recommended fine-tuning settings in its metadata.
"""
from __future__ import annotations

import json
from pathlib import Path

from fsth_core.models.weights import load_model, model_info, save_model
from fsth_core.training.meta import TrainOptions

SYNTH = {"identities": 400, "frames": 32, "size": 128, "seed": 7}
TRAIN = {"preset": "cpu128", "warp_guided": True, "paint_region": False, "batch": 8, "k": 4, "lr_g": 2e-4,
         "lr_d": 4e-4, "d_steps": 1, "pixel_l1": 20.0, "held_out": 20, "seed": 0,
         "checkpoint_every": 100}  # d_steps 1: how the bundled checkpoint was trained
STAGE1_STEPS = 2320
SYNTH_PHOTO = {"identities": 400, "frames": 32, "size": 128, "seed": 11, "photographic": 0.75}
TRAIN_PHOTO = {**TRAIN, "paint_region": True, "seed": 1}
# Fine-tuning recommendation.  Measured with bench/finetune_check.py on 4 held-out photographic heads (stage 2
# data, seed 1): at T = 1 the L1 is 0.0454 whole / 0.030 in the paint region for the warp, the feed-forward
# result and after 60 fine-tuning steps with 0 or 16 augmented pairs alike — the stage-2 generator's paint
# weight is 0 (its blend mask saturates at "keep the warp", so fine-tuning gets no gradient through it).
# Fine-tuning therefore cannot help this checkpoint and the recommendation is the feed-forward result.
FINETUNE = {"steps": 0, "lr_g": 5e-5, "lr_d": 2e-4, "pixel_l1": 20.0, "augment": 16}


def train_options(data: str, out: str, steps: int, resume: bool = True, workers: int = 1) -> TrainOptions:
    """Stage 1."""
    return TrainOptions(data=data, out=out, steps=steps, resume=resume, workers=workers, **TRAIN)


def photo_options(data: str, out: str, init: str, steps: int, resume: bool = True,
                  workers: int = 1) -> TrainOptions:
    """Stage 2, from stage 1's checkpoint ``init``."""
    return TrainOptions(data=data, out=out, steps=steps, resume=resume, workers=workers, init=init,
                        **TRAIN_PHOTO)


def export(checkpoint: str | Path, dst: str | Path, stage1: str = "") -> Path:
    """fp16 copy of a training checkpoint with the recipe and fine-tuning recommendation in its metadata."""
    info = model_info(checkpoint)
    training = dict(info["training"])
    training["finetune"] = FINETUNE
    training["synthetic_data"] = SYNTH_PHOTO
    training["stage1"] = {"synthetic_data": SYNTH, "train": TRAIN, "steps": STAGE1_STEPS,
                          **({"checkpoint": stage1} if stage1 else {})}
    desc = info["description"] + "; fp16 export of the demo recipe (fsth_core/training/demo_recipe.py)"
    return save_model(dst, load_model(checkpoint), description=desc, training=training, half=True)


def describe() -> str:
    return json.dumps({"stage1": {"synth": SYNTH, "train": TRAIN, "steps": STAGE1_STEPS},
                       "stage2": {"synth": SYNTH_PHOTO, "train": TRAIN_PHOTO}, "finetune": FINETUNE}, indent=2)
