"""Load Model: an FSTH checkpoint from models/fsth (or extra_model_paths.yaml's fsth entries, or
the pack's weights/ folder) with a compute precision."""
from __future__ import annotations

import os

from fsth_core.inference.finetune import finetune_recipe
from fsth_core.models.weights import load_model
from fsth_core.options import PRECISIONS

from ._comfy import MODELS, folder_list, full_path, list_files
from ._types import FSTHModel

CATEGORY = "FSTH"


class LoadModel:
    DESCRIPTION = "Loads an FSTH talking-head checkpoint (.safetensors; its preset is read from the file)."
    CATEGORY = CATEGORY
    RETURN_TYPES = ("FSTH_MODEL",)
    RETURN_NAMES = ("model",)
    OUTPUT_TOOLTIPS = ("The talking-head model (embedder, generator, discriminator) with its compute precision.",)
    SEARCH_ALIASES = ["talking head model", "portrait animation model", "load fsth"]
    FUNCTION = "load"

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "model_name": (list_files(MODELS), {
                "tooltip": "Checkpoint in ComfyUI's models/fsth folder (or an fsth entry of "
                           "extra_model_paths.yaml, or the pack's weights/ folder)."}),
            "precision": (list(PRECISIONS), {
                "default": "auto",
                "tooltip": "Compute precision: auto = bf16/fp16 on a GPU; on a CPU the precision and memory format "
                           "measured fastest for this model's size (once per CPU, then cached; bf16 only where "
                           "the CPU computes it natively and faster); fine-tuning stays fp32 on a CPU. "
                           "fp16 runs on GPUs only."}),
        }}

    @classmethod
    def IS_CHANGED(cls, model_name, precision):
        try:
            return f"{os.path.getmtime(full_path(MODELS, model_name))}:{precision}"
        except ValueError:
            return ""

    def load(self, model_name: str, precision: str):
        if not model_name:
            raise ValueError("no FSTH model found: put a .safetensors checkpoint in one of "
                             + ", ".join(folder_list(MODELS)))
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
        path = full_path(MODELS, model_name)
        model = load_model(path)
        recipe = finetune_recipe(path)
        loaded = FSTHModel(model, os.path.splitext(os.path.basename(model_name))[0], precision, recipe)
        loaded.execution()  # a precision this device cannot run (fp16 on a CPU) is refused here, in one line
        return (loaded,)
