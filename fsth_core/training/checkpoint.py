"""Training checkpoints: the model file plus a ``.train.safetensors`` file with optimizer state.

The model file stays a plain, loadable FSTH model; the train-state file holds each optimizer's
tensors (``<opt>.<param index>.<name>``), its param-group settings and the step, so
``--resume`` continues exactly where the checkpoint stopped.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from fsth_core.models.weights import WeightsError, load_tensors, meta_int, meta_json, save_tensors


def train_state_path(model_path: str | Path) -> Path:
    p = Path(model_path)
    return p.with_name(p.name.removesuffix(".safetensors") + ".train.safetensors")


def save_train_state(model_path: str | Path, step: int, optimizers: Mapping[str, torch.optim.Optimizer],
                     extra: Mapping[str, Any] | None = None) -> Path:
    tensors, groups = {}, {}
    for name, opt in optimizers.items():
        sd = opt.state_dict()
        groups[name] = sd["param_groups"]
        for idx, state in sd["state"].items():
            for key, value in state.items():
                t = value if isinstance(value, torch.Tensor) else torch.tensor(value)
                tensors[f"{name}.{idx}.{key}"] = t
    meta = {"kind": "train-state", "format_version": "1", "step": str(step),
            "param_groups": json.dumps(groups), "extra": json.dumps(dict(extra or {}))}
    return save_tensors(train_state_path(model_path), tensors, meta)


def load_train_state(model_path: str | Path, optimizers: Mapping[str, torch.optim.Optimizer]) -> tuple[int, dict]:
    """Restore optimizer states in place; returns (step, extra)."""
    path = train_state_path(model_path)
    if not path.is_file():
        raise WeightsError(f"{path}: no training state to resume from (was the run started with this --out?)")
    tensors, meta = load_tensors(path, kind="train-state")
    groups = meta_json(path, meta, "param_groups", kind=dict)
    step = meta_int(path, meta, "step")
    missing = [name for name in optimizers if name not in groups]
    if missing:
        raise WeightsError(f"{path}: no state for optimizer '{missing[0]}' (written by an older version of the "
                           f"trainer?); start a new run from its weights with --init {model_path}")
    for name, opt in optimizers.items():
        state: dict[int, dict] = {}
        prefix = f"{name}."
        try:
            for key, t in tensors.items():
                if key.startswith(prefix):
                    idx, field = key[len(prefix):].split(".", 1)
                    state.setdefault(int(idx), {})[field] = t
            opt.load_state_dict({"state": state, "param_groups": groups[name]})
        except (ValueError, KeyError, TypeError) as exc:
            raise WeightsError(f"{path}: the '{name}' optimizer state does not fit the model ({exc})") from None
    return step, meta_json(path, meta, "extra", {}) if meta.get("extra") else {}
