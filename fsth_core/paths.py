"""Where weight files are looked up: $FSTH_WEIGHTS_DIR, folders registered by the host
application (ComfyUI's models/fsth), then the pack's own weights/ folder."""
from __future__ import annotations

import os
from pathlib import Path

PACK_WEIGHTS = Path(__file__).resolve().parent.parent / "weights"
_extra_dirs: list[Path] = []


def register_weights_dir(path: str | os.PathLike) -> None:
    """Add a folder to search (the ComfyUI layer registers models/fsth and extra_model_paths)."""
    p = Path(path)
    if p not in _extra_dirs:
        _extra_dirs.append(p)


def weights_dirs() -> list[Path]:
    env = [Path(p) for p in os.environ.get("FSTH_WEIGHTS_DIR", "").split(os.pathsep) if p]
    return env + list(_extra_dirs) + [PACK_WEIGHTS]


def find_weights(filename: str) -> Path | None:
    """First existing ``filename`` in :func:`weights_dirs`, or None."""
    for d in weights_dirs():
        p = d / filename
        if p.is_file():
            return p
    return None
