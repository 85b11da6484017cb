"""Explicit converters from PyTorch checkpoints to safetensors (the only place that reads .pth).

``torch.load(..., weights_only=True)`` refuses arbitrary pickled objects, so a malicious file
cannot run code; the tensors are then re-saved as safetensors with their input convention.
"""
from __future__ import annotations

import re
from pathlib import Path

import torch

from fsth_core.models.vgg import CONVENTIONS, VGG16_LAYOUT, VGG19_LAYOUT
from fsth_core.models.weights import save_tensors


def _read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    if path.is_dir():
        raise ValueError(f"{path}: is a folder, not a PyTorch checkpoint file")
    if not path.is_file():
        raise FileNotFoundError(f"{path}: file not found")
    with open(path, "rb") as f:
        head = f.read(4)
    if not (head.startswith(b"PK\x03\x04") or head[:1] == b"\x80"):  # torch.save writes a zip, or a pickle
        raise ValueError(f"{path}: not a PyTorch checkpoint (a .pth file is a zip or a pickle); give the VGG's "
                         ".pth state dict (vgg19-dcbb9e9d.pth, vgg_face_dag.pth)")
    try:
        obj = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unpickling refusal is a user-facing error
        first = (str(exc).strip().splitlines() or [""])[0]
        why = ("it holds pickled Python objects besides tensors, which are never loaded (they could run code)"
               if "weights only" in str(exc).lower() else f"{type(exc).__name__}: {first}")
        raise ValueError(f"{path}: not a plain PyTorch state dict ({why})"[:300]) from None
    if isinstance(obj, dict) and "state_dict" in obj and isinstance(obj["state_dict"], dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise ValueError(f"{path}: expected a dict of tensors (a state dict)")
    return obj


def _conv_indices(layout: list) -> list[int]:
    """Module indices of the convolutions in a torchvision-style ``features`` stack."""
    idx, i = [], 0
    for v in layout:
        if v == "M":
            i += 1
        else:
            idx.append(i)
            i += 2
    return idx


def _features_from(state: dict[str, torch.Tensor], layout: list, path: Path) -> dict[str, torch.Tensor]:
    convs = _conv_indices(layout)
    if any(k.startswith("features.") for k in state):  # torchvision layout
        out = {k: v for k, v in state.items() if k.startswith("features.")}
    else:  # vgg_face_dag layout: conv1_1.weight ... conv5_3.bias
        named = sorted({m.group(1, 2) for k in state if (m := re.match(r"conv(\d)_(\d)\.weight$", k))},
                       key=lambda t: (int(t[0]), int(t[1])))
        if len(named) != len(convs):
            raise ValueError(f"{path}: found {len(named)} convN_M layers, expected {len(convs)}")
        out = {}
        for (a, b), idx in zip(named, convs):
            out[f"features.{idx}.weight"] = state[f"conv{a}_{b}.weight"]
            out[f"features.{idx}.bias"] = state[f"conv{a}_{b}.bias"]
    want = {f"features.{i}.{p}" for i in convs for p in ("weight", "bias")}
    missing = sorted(want - set(out))
    if missing:
        raise ValueError(f"{path}: not a VGG of the expected depth: key '{missing[0]}' is missing")
    return {k: out[k].float().contiguous() for k in sorted(want)}


def convert_vgg(src: str | Path, dst: str | Path, which: str, convention: str) -> Path:
    """Convert a VGG19 (``which='vgg19'``) or VGGFace (``'vggface'``) state dict to safetensors."""
    src = Path(src)
    layout = VGG19_LAYOUT if which == "vgg19" else VGG16_LAYOUT
    if convention not in CONVENTIONS:
        raise ValueError(f"unknown input convention {convention!r}; one of {', '.join(CONVENTIONS)}")
    tensors = _features_from(_read_state_dict(src), layout, src)
    meta = {"kind": "vgg", "network": which, "convention": CONVENTIONS[convention].to_json(),
            "source": src.name}
    return save_tensors(dst, tensors, meta)
