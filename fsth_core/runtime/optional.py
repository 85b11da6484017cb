"""Optional dependencies: is a package installed (and does it import), where torch hub keeps the weights it
downloads, which of a set of weight files are missing.  The one check behind the face_alignment landmark
backend, dlib's model files and the FID and LPIPS metrics: each says in one line what is missing, and
nothing is ever downloaded here.
"""
from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Iterable
from pathlib import Path

import torch


def package_missing(module: str, load: bool = False) -> str | None:
    """None when ``module`` is installed (``load``: and imports without error), else why not (one line)."""
    if importlib.util.find_spec(module) is None:
        return f"package '{module}' is not installed"
    if load:
        try:
            importlib.import_module(module)
        except Exception as e:  # noqa: BLE001 - any import failure is the reason
            return f"package '{module}' fails to import ({type(e).__name__}: {str(e)[:120]})"
    return None


def package_dir(name: str) -> Path | None:
    """The folder of installed package ``name``, found without importing it (None: not installed)."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def hub_checkpoints_dir() -> Path:
    """torch hub's checkpoints folder (``torch.hub.get_dir()/checkpoints``), where face_alignment, pytorch_fid
    and torchvision look for their weights before they would download them."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def files_missing(folder: str | Path, names: Iterable[str]) -> list[str]:
    """The ``names`` that are no file in ``folder``."""
    return [n for n in names if not (Path(folder) / n).is_file()]
