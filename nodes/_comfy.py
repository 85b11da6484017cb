"""The ComfyUI side of the pack: IMAGE <-> uint8, devices, progress, model folders.

``comfy.*`` and ``folder_paths`` are imported lazily, so everything here also works (as a
no-op or with a plain default) outside ComfyUI, e.g. in the tests.
"""
from __future__ import annotations

import contextlib
import importlib
import logging
import os
from pathlib import Path

import numpy as np
import torch

from fsth_core.landmarks.audio import check_sound
from fsth_core.runtime.device import memory_estimate, pick_device
from fsth_core.runtime.paths import PACK_WEIGHTS, example_inputs, install_missing, register_weights_dir, weights_dirs

MODELS = "fsth"                  # models/fsth: model checkpoints
IDENTITIES = "fsth_identities"   # models/fsth_identities and output/fsth_identities: person files
INPUTS = "input"                 # ComfyUI's input folder: landmark files
EXTENSIONS = {".safetensors"}
INPUT_EXTENSIONS = {".npz"}


def _optional(name: str):
    """The module ``name`` when running inside ComfyUI, else None."""
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def folder_paths():
    return _optional("folder_paths")


def model_management():
    return _optional("comfy.model_management") if _optional("folder_paths") is not None else None


# ---- images -------------------------------------------------------------------------------
def image_batch(image: torch.Tensor, name: str = "image") -> torch.Tensor:
    """IMAGE [B,H,W,C] or [H,W,C] -> the same tensor as [B,H,W,C] (a view, no copy)."""
    if not isinstance(image, torch.Tensor) or image.dim() not in (3, 4):
        raise ValueError(f"{name}: expected an IMAGE [B,H,W,C], got {type(image).__name__} "
                         f"{list(getattr(image, 'shape', []))}")
    return image if image.dim() == 4 else image[None]


def to_uint8(image: torch.Tensor, name: str = "image") -> np.ndarray:
    """IMAGE float [B,H,W,C] in 0..1 (C = 1, 3 or 4) -> uint8 [B,H,W,3] RGB numpy."""
    t = image_batch(image, name)
    if t.shape[-1] == 1:
        t = t.expand(*t.shape[:-1], 3)
    elif t.shape[-1] == 4:
        t = t[..., :3]
    elif t.shape[-1] != 3:
        raise ValueError(f"{name}: expected 1, 3 or 4 channels last, got shape {list(image.shape)}")
    if t.shape[0] == 0:
        raise ValueError(f"{name}: the batch is empty")
    a = t.detach().float().cpu().numpy()  # a view of a CPU float32 IMAGE; NumPy: one thread, no torch pool
    scaled = np.multiply(a, np.float32(255.0), dtype=np.float32)
    np.clip(scaled, 0.0, 255.0, out=scaled)
    return np.rint(scaled, out=scaled).astype(np.uint8)


def iter_uint8(image: torch.Tensor, start: int = 0, stop: int | None = None, name: str = "image"):
    """Frames ``start``..``stop`` of an IMAGE batch as uint8 [H,W,3], converted one at a time (no uint8
    copy of a whole video is made)."""
    if isinstance(image, torch.Tensor) and image.dim() == 3:
        raise ValueError(f"{name}: expected an IMAGE batch [B,H,W,C], got a 3-D tensor {list(image.shape)}: one "
                         "picture without its batch dimension (a node upstream dropped it)")
    if not isinstance(image, torch.Tensor) or image.dim() != 4:
        to_uint8(image, name)  # raises the usual message
    for i in range(start, len(image) if stop is None else stop):
        yield to_uint8(image[i:i + 1], name)[0]


def to_image_stream(frames, count: int) -> torch.Tensor:
    """``count`` uint8 [H,W,3] frames from an iterable -> IMAGE float32 [count,H,W,3] in 0..1, filled frame by
    frame into one tensor on the intermediate device (no second full-size copy)."""
    out = None
    for i, f in enumerate(frames):
        t = torch.from_numpy(np.ascontiguousarray(f))
        if out is None:
            out = torch.empty((count,) + tuple(t.shape), dtype=torch.float32, device=intermediate_device())
        out[i] = t.to(out.device, torch.float32) / 255.0
    if out is None:
        raise ValueError("no frames")
    return out


def to_image_mask_stream(pairs, count: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``count`` (uint8 [H,W,3] frame, float [H,W] mask in 0..1) pairs from an iterable -> (IMAGE float32
    [count,H,W,3] in 0..1, MASK float32 [count,H,W]), each pair written into the two tensors as it comes
    (no list of frames, no second full-size copy; on the CPU by NumPy, one thread, into the tensors' memory)."""
    image = mask = None
    n = 0
    for i, (f, m) in enumerate(pairs):
        if image is None:
            dev = intermediate_device()
            image = torch.empty((count,) + tuple(np.shape(f)), dtype=torch.float32, device=dev)
            mask = torch.empty((count,) + tuple(np.shape(m)), dtype=torch.float32, device=dev)
            views = (image.numpy(), mask.numpy()) if dev.type == "cpu" else None
        if views is not None:
            np.divide(f, np.float32(255.0), out=views[0][i])
            np.clip(m, 0.0, 1.0, out=views[1][i])
        else:
            image[i] = torch.from_numpy(np.ascontiguousarray(f)).to(image.device, torch.float32) / 255.0
            mask[i] = torch.from_numpy(np.ascontiguousarray(m, np.float32)).to(mask.device).clamp(0, 1)
        n = i + 1
    if n != count:
        raise ValueError(f"expected {count} frames, got {n}")
    return image, mask


def to_image(frames) -> torch.Tensor:
    """uint8 [B,H,W,3] (array or list of [H,W,3]) -> IMAGE float32 [B,H,W,3] in 0..1 on the
    intermediate device."""
    arr = np.stack(list(frames)) if not isinstance(frames, np.ndarray) else frames
    if arr.ndim == 3:
        arr = arr[None]
    t = torch.from_numpy(np.ascontiguousarray(arr)).float() / 255.0
    return t.to(intermediate_device())


def to_mask(masks) -> torch.Tensor:
    """float [B,H,W] in 0..1 -> MASK float32 [B,H,W] on the intermediate device."""
    t = torch.from_numpy(np.ascontiguousarray(masks, dtype=np.float32)).clamp(0, 1)
    return (t if t.dim() == 3 else t[None]).to(intermediate_device())


def mask_batch(mask: torch.Tensor, name: str = "mask") -> torch.Tensor:
    """MASK [B,H,W] or [H,W] -> the same tensor as [B,H,W] (a view, no copy)."""
    if not isinstance(mask, torch.Tensor) or mask.dim() not in (2, 3):
        raise ValueError(f"{name}: expected a MASK [B,H,W], got {type(mask).__name__} "
                         f"{list(getattr(mask, 'shape', []))}")
    return mask if mask.dim() == 3 else mask[None]


def mask_to_numpy(mask: torch.Tensor, name: str = "mask") -> np.ndarray:
    """MASK [B,H,W] or [H,W] -> float32 numpy [B,H,W] in 0..1."""
    return mask_batch(mask, name).detach().float().cpu().clamp(0, 1).numpy()


def audio_to_numpy(audio, name: str = "audio") -> tuple[np.ndarray, int]:
    """ComfyUI AUDIO {"waveform": [B, C, N] tensor, "sample_rate": int} -> (mono float32 [N] of the first
    item, sample rate)."""
    wave = audio.get("waveform") if isinstance(audio, dict) else None
    rate = audio.get("sample_rate") if isinstance(audio, dict) else None
    if not isinstance(wave, torch.Tensor) or wave.dim() not in (2, 3) or rate is None:
        raise ValueError(f"{name}: expected ComfyUI AUDIO {{'waveform': [B, C, N], 'sample_rate': int}}, "
                         f"got {type(audio).__name__}"
                         + (f" with a waveform of shape {list(wave.shape)}" if isinstance(wave, torch.Tensor) else ""))
    if wave.numel() == 0:
        raise ValueError(f"{name}: the sound is empty (waveform {list(wave.shape)}: no samples)")
    w = wave[0] if wave.dim() == 3 else wave
    samples = w.detach().float().cpu().mean(dim=0).numpy()
    check_sound(samples, rate, name)  # a zero or odd sample rate, NaN samples: one line naming them
    return samples, int(rate)


# ---- devices ------------------------------------------------------------------------------
def torch_device() -> torch.device:
    """Compute device: ComfyUI's choice (respects --cpu), else fsth_core's automatic pick."""
    mm = model_management()
    if mm is not None:
        return mm.get_torch_device()
    return pick_device("auto")


def intermediate_device() -> torch.device:
    mm = model_management()
    return mm.intermediate_device() if mm is not None else torch.device("cpu")


def free_memory() -> None:
    mm = model_management()
    if mm is not None:
        mm.soft_empty_cache()


def make_room(module: torch.nn.Module, batch: int, image_size: int, training: bool = False) -> None:
    """Before a job on a GPU: ask ComfyUI to unload its models (a diffusion model, say) until the memory
    ``fsth_core.runtime.device.memory_estimate`` gives is free.  Nothing on the CPU or outside ComfyUI."""
    mm = model_management()
    device = torch_device()
    if mm is None or device.type == "cpu":
        return
    mm.free_memory(memory_estimate(module, batch, image_size, training), device)
    mm.soft_empty_cache()


def grad_enabled():
    """Autograd back on for training inside a node: ComfyUI runs nodes under torch.inference_mode()."""
    stack = contextlib.ExitStack()
    stack.enter_context(torch.inference_mode(False))
    stack.enter_context(torch.enable_grad())
    return stack


# ---- progress -----------------------------------------------------------------------------
class Progress:
    """comfy.utils.ProgressBar (whose hook raises on Cancel), a no-op outside ComfyUI.

    ``update(n)`` advances by n; ``callback(done, total)`` fits fsth_core's Progress signature and takes
    its total (so a bar made before the total is known, ``Progress(0)``, shows it from the first call).
    """

    def __init__(self, total: int):
        self.total = max(1, int(total))
        self.done = 0
        utils = _optional("comfy.utils") if folder_paths() is not None else None
        self._bar = utils.ProgressBar(self.total) if utils is not None else None

    def update(self, n: int = 1) -> None:
        self.callback(self.done + n, self.total)

    def callback(self, done: int, total: int) -> None:
        self.done, self.total = int(done), max(1, int(total))
        if self._bar is not None:
            self._bar.update_absolute(self.done, self.total)


# ---- model folders ------------------------------------------------------------------------
def register_model_folders() -> None:
    """models/fsth (first) and the pack's weights/ for models; models/fsth_identities and
    output/fsth_identities for person files.  Entries from extra_model_paths.yaml are kept."""
    fp = folder_paths()
    if fp is None:
        return
    out = os.path.join(fp.get_output_directory(), IDENTITIES)
    for name, default, extra in ((MODELS, os.path.join(fp.models_dir, MODELS), str(PACK_WEIGHTS)),
                                 (IDENTITIES, os.path.join(fp.models_dir, IDENTITIES), out)):
        fp.add_model_folder_path(name, default, is_default=True)
        fp.add_model_folder_path(name, extra)
        paths, exts = fp.folder_names_and_paths[name]
        fp.folder_names_and_paths[name] = (paths, set(exts) | EXTENSIONS)
    for p in fp.get_folder_paths(MODELS):
        if Path(p).resolve() != PACK_WEIGHTS.resolve():  # fsth_core searches its own weights/ last anyway
            register_weights_dir(p)


def install_example_inputs() -> list[Path]:
    """Copy the example workflows' input files into ComfyUI's input folder where missing, so the templates
    run on first open; a user's file of the same name is never replaced.  Never fails the pack's loading."""
    fp = folder_paths()
    if fp is None:
        return []
    try:
        return install_missing(example_inputs(), fp.get_input_directory())
    except OSError as e:
        logging.getLogger("fsth").warning("FSTH: could not copy the example inputs into %s: %s",
                                          fp.get_input_directory(), e)
        return []


def _scan(folders, exts=EXTENSIONS) -> list[str]:
    names = set()
    for d in folders:
        d = Path(d)
        if d.is_dir():
            names.update(str(p.relative_to(d)).replace(os.sep, "/") for p in d.rglob("*")
                         if p.suffix.lower() in exts and p.is_file())
    return sorted(names)


def list_files(kind: str = MODELS) -> list[str]:
    """File names for a combo: ComfyUI's folder list, else the files in ``kind``'s own folders."""
    fp = folder_paths()
    if fp is not None and kind != INPUTS:
        return list(fp.get_filename_list(kind))
    return _scan(_own_folders(kind), INPUT_EXTENSIONS if kind == INPUTS else EXTENSIONS)


def full_path(kind: str, name: str) -> Path:
    """The file ``name`` (as the combo lists it: relative to one of ``kind``'s folders); an absolute name or
    one that leads out of those folders ('..') is refused, as a name that is not there."""
    parts = Path(str(name).replace("\\", "/")).parts
    if not name or Path(name).is_absolute() or ".." in parts:
        raise ValueError(f"{name}: give a file in the {kind} folders by its name there "
                         f"({', '.join(map(str, folder_list(kind)))}); absolute paths and '..' are refused")
    fp = folder_paths()
    found = fp.get_full_path(kind, name) if fp is not None and kind != INPUTS else None
    if found is None:
        found = next((Path(d) / name for d in _own_folders(kind) if (Path(d) / name).is_file()), None)
    if found is None:
        raise ValueError(f"{name}: not found in the {kind} folders ({', '.join(map(str, folder_list(kind)))})")
    return Path(found)


def folder_list(kind: str) -> list[str]:
    fp = folder_paths()
    if fp is not None and kind != INPUTS and kind in fp.folder_names_and_paths:
        return fp.get_folder_paths(kind)
    return [str(d) for d in _own_folders(kind)]


def _own_folders(kind: str) -> list[Path]:
    """The folders of ``kind`` as fsth_core knows them (outside ComfyUI's lists): the weights folders, the
    person files' output folder, or the input folder."""
    if kind == MODELS:
        return list(weights_dirs())
    return [input_dir()] if kind == INPUTS else [identities_output_dir()]


def input_dir() -> Path:
    """ComfyUI's input folder (outside ComfyUI: $FSTH_INPUT_DIR or ./input)."""
    fp = folder_paths()
    return Path(fp.get_input_directory() if fp is not None else os.environ.get("FSTH_INPUT_DIR", "input"))


def identities_output_dir() -> Path:
    """Where Save Identity writes: ComfyUI's output/fsth_identities (outside ComfyUI:
    $FSTH_OUTPUT_DIR or ./output, then fsth_identities)."""
    fp = folder_paths()
    base = fp.get_output_directory() if fp is not None else os.environ.get("FSTH_OUTPUT_DIR", "output")
    return Path(base) / IDENTITIES
