"""Weights on disk: safetensors only, with the preset config and a format version in the metadata.

The loader validates a file's header itself before reading tensors, so a wrong file fails with
one clear message naming the file and the first bad key; nothing is ever unpickled.  Writes are
atomic (temporary file, then rename): an interrupted save never leaves a half file behind.
"""
from __future__ import annotations

import json
import os
import struct
from collections.abc import Mapping
from pathlib import Path
from typing import Any, BinaryIO

import torch
from safetensors.torch import load_file, save_file

from fsth_core.io.outpaths import atomic_path
from fsth_core.models.config import FORMAT_VERSION, ModelConfig, preset
from fsth_core.models.model import TalkingHeadModel, build_model

MODEL_PREFIXES = ("embedder.", "generator.", "discriminator.")
_DTYPE_BYTES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1,
                "U8": 1, "BOOL": 1}


class WeightsError(ValueError):
    """A weights file that cannot be used; the message names the file and the problem."""


def _fail(path: Path, msg: str) -> WeightsError:
    return WeightsError(f"{path}: {msg}")


_MAX_HEADER = 100_000_000   # bytes of JSON header we are willing to parse


def _parse_header(path: Path, head: bytes, f, size: int) -> dict | None:
    """The JSON object after the 8-byte length, or None when the framing is not safetensors'."""
    if len(head) < 8:
        return None
    (n,) = struct.unpack("<Q", head)
    if n < 2 or n > size - 8 or n > _MAX_HEADER:
        return None
    text = f.read(n)
    if len(text) != n or text[:1] != b"{":
        return None
    try:
        header = json.loads(text)
    except RecursionError:
        raise _fail(path, "not a usable safetensors file (its JSON header nests too deeply)") from None
    except (UnicodeDecodeError, ValueError):  # ValueError: bad JSON, or an integer too long to convert
        return None
    return header if isinstance(header, dict) else None


def _pickle_or_zip(head: bytes) -> bool:
    return head[:1] == b"\x80" or head[:2] == b"PK"


def _check_entry(path: Path, key: str, info, data_size: int) -> int:
    """Validate one tensor entry (dtype, shape, offsets); returns its start offset."""
    bad = _fail(path, f"malformed header entry for key '{key}'")
    if not isinstance(info, dict) or info.get("dtype") not in _DTYPE_BYTES:
        raise bad
    shape, offsets = info.get("shape"), info.get("data_offsets")
    if not isinstance(shape, list) or len(shape) > 16 or not isinstance(offsets, list) or len(offsets) != 2:
        raise bad
    ints = shape + offsets
    if not all(type(v) is int and 0 <= v < 2 ** 62 for v in ints):  # no floats (1e999), bools, negatives
        raise bad
    start, end = offsets
    numel = 1
    for d in shape:
        numel *= d
    expected = numel * _DTYPE_BYTES[info["dtype"]]
    if end < start:
        raise bad
    if end > data_size:
        raise _fail(path, f"truncated: tensor '{key}' ends at byte {end} of the data but the file "
                          f"holds only {data_size} data bytes")
    if end - start != expected:
        raise _fail(path, f"corrupt: tensor '{key}' has {end - start} bytes, its shape needs {expected}")
    return start


def read_header(path: str | os.PathLike) -> tuple[dict[str, dict], dict[str, str]]:
    """Validate a safetensors file's framing without loading tensors.

    The format is an 8-byte little-endian length N, then N bytes of a JSON object, then the data.
    Only when that framing does not hold is the file checked for pickle/zip magic, to say it is a
    PyTorch checkpoint (those first bytes are the length in a safetensors file, so any byte value
    can start one).  Every header value is checked (metadata a dict of strings, shapes and offsets
    non-negative integers that fit the file).

    Returns (tensor entries by key, metadata).  Raises WeightsError naming the file.
    """
    path = Path(path)
    if path.is_dir():
        raise _fail(path, "is a folder, not a weights file (give the .safetensors file itself)")
    if not path.is_file():
        raise _fail(path, "file not found")
    try:
        with open(path, "rb") as f:
            return parse_header(f, path.stat().st_size, path)
    except OSError as exc:
        raise _fail(path, f"cannot read it ({exc.strerror or exc})") from None


def parse_header(f: BinaryIO, size: int, path: str | os.PathLike) -> tuple[dict[str, dict], dict[str, str]]:
    """:func:`read_header` on an open binary file ``f`` of ``size`` bytes (errors name ``path``)."""
    path = Path(path)
    head = f.read(8)
    header = _parse_header(path, head, f, size)
    if header is None:
        if _pickle_or_zip(head):
            raise _fail(path, "is a pickle/zip (PyTorch .pt/.pth) checkpoint, not safetensors; "
                              "it is never unpickled here — convert it with an explicit converter")
        if len(head) < 8:
            raise _fail(path, f"not a safetensors file ({size} bytes, too short for a header)")
        raise _fail(path, "not a safetensors file (no JSON header of the length its first 8 bytes give)")
    meta = header.pop("__metadata__", None)
    if meta is None:
        meta = {}
    if not isinstance(meta, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in meta.items()):
        raise _fail(path, "malformed header: '__metadata__' must map strings to strings")
    data_size = size - 8 - struct.unpack("<Q", head)[0]
    starts = {key: _check_entry(path, key, info, data_size) for key, info in header.items()}
    entries = sorted(header.items(), key=lambda kv: starts[kv[0]])
    return dict(entries), dict(meta)


def _load_file(path: Path) -> dict[str, torch.Tensor]:
    """safetensors' own loader, its errors turned into one WeightsError naming the file."""
    try:
        return load_file(str(path))
    except Exception as exc:  # noqa: BLE001 - SafetensorError and friends: one line naming the file
        why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise _fail(path, f"cannot be loaded ({why})") from None


def save_tensors(path: str | os.PathLike, tensors: Mapping[str, torch.Tensor], metadata: Mapping[str, Any]) -> Path:
    """Atomically write ``tensors`` with string ``metadata`` (non-strings are JSON-encoded)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {k: v if isinstance(v, str) else json.dumps(v) for k, v in metadata.items()}
    data = {k: t.detach().contiguous().cpu() for k, t in tensors.items()}
    with atomic_path(path) as tmp:
        save_file(data, str(tmp), metadata=meta)
    return path


def load_tensors(path: str | os.PathLike, kind: str | None = None) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Validated load of a file written by :func:`save_tensors` (``kind`` checked if given)."""
    _, meta = read_header(path)
    if kind is not None and meta.get("kind") != kind:
        found = meta.get("kind") or "no FSTH metadata"
        raise _fail(Path(path), f"expected an FSTH {kind} file, found {found}")
    _check_version(Path(path), meta)
    return _load_file(Path(path)), meta


def _check_version(path: Path, meta: Mapping[str, str]) -> None:
    v = meta.get("format_version")
    if v is not None and meta_int(path, meta, "format_version") > FORMAT_VERSION:
        raise _fail(path, f"format version {v} is newer than this pack supports ({FORMAT_VERSION}); update the pack")


def meta_json(path: str | os.PathLike, meta: Mapping[str, str], key: str, default: Any = None,
              kind: type | None = None) -> Any:
    """The JSON value of metadata ``key`` (``default`` when absent); WeightsError naming the file when
    it is not JSON (or not of type ``kind``)."""
    if key not in meta:
        if default is None and kind is not None:
            raise _fail(Path(path), f"metadata '{key}' is missing")
        return default
    try:
        value = json.loads(meta[key])
    except (ValueError, RecursionError):
        raise _fail(Path(path), f"metadata '{key}' is not valid JSON") from None
    if kind is not None and not isinstance(value, kind):
        raise _fail(Path(path), f"metadata '{key}' must be a JSON {kind.__name__}")
    return value


def meta_int(path: str | os.PathLike, meta: Mapping[str, str], key: str, default: int | None = None) -> int:
    """Integer metadata ``key``; WeightsError naming the file when it is missing (no default) or not an integer."""
    if key not in meta and default is not None:
        return default
    try:
        return int(meta[key])
    except KeyError:
        raise _fail(Path(path), f"metadata '{key}' is missing") from None
    except ValueError:
        raise _fail(Path(path), f"metadata '{key}' must be an integer, got {meta[key][:40]!r}") from None


def config_from_meta(path: str | os.PathLike, meta: Mapping[str, str]) -> ModelConfig:
    """The model config stored in a file's metadata; WeightsError naming the file when it is unusable."""
    if "config" not in meta:
        raise _fail(Path(path), "no model config in its metadata")
    try:
        return ModelConfig.from_dict(meta_json(path, meta, "config", kind=dict))
    except WeightsError:
        raise
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise _fail(Path(path), f"invalid model config in metadata: {exc}") from None


def save_model(path: str | os.PathLike, model: TalkingHeadModel, description: str = "",
               training: Mapping[str, Any] | None = None, half: bool = False) -> Path:
    """Write one model file: keys prefixed by network, config/version/description in the metadata.

    ``half`` stores floating tensors as fp16 (the shipped checkpoint); loading returns fp32.
    """
    if model.folded:
        raise ValueError("cannot save a model whose spectral norm was folded (inference-only)")
    state = model.state_dict()
    if half:
        state = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
    meta = {"kind": "model", "format": "fsth", "format_version": str(FORMAT_VERSION),
            "config": model.config.to_json(), "description": description,
            "training": json.dumps(dict(training or {}), sort_keys=True)}
    return save_tensors(path, state, meta)


def model_config_of(path: str | os.PathLike) -> ModelConfig:
    """The preset config stored in a model file's metadata."""
    path = Path(path)
    _, meta = read_header(path)
    if meta.get("kind") != "model" or "config" not in meta:
        raise _fail(path, "not an FSTH model file (no model config in its metadata)")
    _check_version(path, meta)
    return config_from_meta(path, meta)


def _first_mismatch(entries: Mapping[str, dict], expected: Mapping[str, torch.Tensor]) -> str | None:
    for key, t in expected.items():
        if key not in entries:
            return f"key '{key}' is missing from the file"
        if list(entries[key]["shape"]) != list(t.shape):
            return f"key '{key}' has shape {list(entries[key]['shape'])} in the file, {list(t.shape)} expected"
    extra = [k for k in entries if k not in expected]
    if extra:
        return f"unexpected key '{extra[0]}'"
    return None


def load_model(path: str | os.PathLike, expect: ModelConfig | str | None = None) -> TalkingHeadModel:
    """Load a model file onto the CPU in fp32 (train mode, spectral norm not folded).

    ``expect`` (a config or preset name) makes a file of another preset fail clearly.
    """
    path = Path(path)
    entries, _ = read_header(path)
    config = model_config_of(path)
    if expect is not None:
        want = preset(expect) if isinstance(expect, str) else expect
        want = want.with_videos(config.num_videos)
        if want != config:
            ref = build_model(want).state_dict()
            why = _first_mismatch(entries, ref) or "its config differs"
            raise _fail(path, f"is a '{config.name}' model but a '{want.name}' model was expected: {why}")
    model = build_model(config)
    state = model.state_dict()
    bad = [k for k in entries if not k.startswith(MODEL_PREFIXES)]
    if bad:
        raise _fail(path, f"key '{bad[0]}' does not belong to a network ({', '.join(MODEL_PREFIXES)})")
    why = _first_mismatch(entries, state)
    if why:
        raise _fail(path, f"does not match its own '{config.name}' config: {why}")
    tensors = _load_file(path)
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in tensors.items()})
    return model


def model_info(path: str | os.PathLike) -> dict[str, Any]:
    """Preset, parameter counts, description and training recipe of a model file (no tensors loaded)."""
    entries, meta = read_header(path)
    config = model_config_of(path)
    counts: dict[str, int] = {p.rstrip("."): 0 for p in MODEL_PREFIXES}
    for key, info in entries.items():
        if "._u" in key or "._v" in key:  # spectral-norm power-iteration buffers
            continue
        n = 1
        for d in info["shape"]:
            n *= int(d)
        counts[key.split(".", 1)[0]] = counts.get(key.split(".", 1)[0], 0) + n
    return {"file": str(path), "preset": config.name, "config": config.to_dict(), "parameters": counts,
            "format_version": meta.get("format_version"), "description": meta.get("description", ""),
            "training": meta_json(path, meta, "training", {}) if meta.get("training") else {}}
