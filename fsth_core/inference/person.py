"""A person file: one safetensors holding an identity (ê, ψ', w', the warp-guide source) and,
when fine-tuned, the fine-tuned generator and discriminator (without the training videos' W: the person's
w' is its projection) — fine-tune once, animate many times."""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import torch

from fsth_core.inference.types import Identity
from fsth_core.models.config import FORMAT_VERSION
from fsth_core.models.model import W_KEY, TalkingHeadModel, clone_model
from fsth_core.models.weights import WeightsError, config_from_meta, load_tensors, meta_int, save_tensors


def save_person(path: str | os.PathLike, identity: Identity, model: TalkingHeadModel | None = None) -> Path:
    """Write ``identity`` (and the fine-tuned ``model``'s G and D, if given)."""
    tensors = {"identity.embedding": identity.embedding, "identity.psi": identity.psi,
               "identity.w": identity.w, "identity.source": torch.from_numpy(np.ascontiguousarray(identity.source)),
               "identity.source_points": torch.from_numpy(np.asarray(identity.source_points, np.float32))}
    for k, (image, points) in enumerate(identity.pictures):  # every shot, for the warp (older files: none)
        tensors[f"identity.picture.{k}"] = torch.from_numpy(np.ascontiguousarray(image))
        tensors[f"identity.picture_points.{k}"] = torch.from_numpy(np.asarray(points, np.float32))
    if model is not None:
        if model.folded:
            raise ValueError("save the fine-tuned model before folding it for inference")
        for k, v in model.state_dict().items():
            if k.startswith(("generator.", "discriminator.")) and k != W_KEY:  # a person needs w', not W
                tensors[k] = v
    meta = {"kind": "person", "format": "fsth", "format_version": str(FORMAT_VERSION),
            "config": identity.config_json, "finetune_steps": str(identity.finetune_steps),
            "shots": str(identity.shots), "finetuned": json.dumps(model is not None)}
    return save_tensors(path, tensors, meta)


def _pictures(path: Path, tensors: dict) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """The shots' head regions and landmarks a person file holds (none in older files)."""
    out = []
    while f"identity.picture.{len(out)}" in tensors:
        k = len(out)
        image, points = tensors[f"identity.picture.{k}"], tensors.get(f"identity.picture_points.{k}")
        if image.dtype != torch.uint8 or image.ndim != 3 or image.shape[2] != 3 or points is None \
                or tuple(points.shape) != (68, 2):
            raise WeightsError(f"{path}: shot {k} is not a picture with 68 landmarks")
        out.append((image.numpy(), points.float().numpy()))
    return tuple(out)


def load_person(path: str | os.PathLike, base: TalkingHeadModel) -> tuple[TalkingHeadModel, Identity]:
    """Read a person file made for ``base``'s preset -> (model with the person's G and D, identity).

    ``base`` is not modified: a fine-tuned person gets a copy with its own weights.
    """
    path = Path(path)
    tensors, meta = load_tensors(path, kind="person")
    cfg = config_from_meta(path, meta)
    need = ("identity.embedding", "identity.psi", "identity.w", "identity.source", "identity.source_points")
    missing = [k for k in need if k not in tensors]
    if missing:
        raise WeightsError(f"{path}: not a complete person file ('{missing[0]}' is missing)")
    if cfg.with_videos(1) != base.config.with_videos(1):
        raise WeightsError(f"{path}: made for a '{cfg.name}' model, but the loaded model is '{base.config.name}'")
    ident = Identity(tensors["identity.embedding"].float(), tensors["identity.psi"].float(),
                     tensors["identity.w"].float(), tensors["identity.source"].numpy(),
                     tensors["identity.source_points"].numpy(), meta["config"],
                     meta_int(path, meta, "finetune_steps", 0), meta_int(path, meta, "shots", 1),
                     _pictures(path, tensors))
    nets = {k: v.float() for k, v in tensors.items()
            if k.startswith(("generator.", "discriminator.")) and k != W_KEY}  # older files also hold W
    if not nets:
        return base, ident
    model = clone_model(base, keep_w=False)
    own = model.state_dict()
    for k, v in nets.items():
        if k not in own or own[k].shape != v.shape:
            raise WeightsError(f"{path}: key '{k}' does not fit the '{base.config.name}' model")
    model.load_state_dict(nets, strict=False)
    return model, ident
