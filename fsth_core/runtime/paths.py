"""Where things are: weight files ($FSTH_WEIGHTS_DIR, folders registered by the host application such as
ComfyUI's models/fsth, then the pack's own weights/ folder), the bundled portrait and the example
workflows' input files, and how those are installed into a host's input folder."""
from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path

CORE = Path(__file__).resolve().parent.parent  # fsth_core/
PACK_ROOT = CORE.parent
PACK_WEIGHTS = PACK_ROOT / "weights"
PORTRAIT = CORE / "assets" / "portrait.jpg"  # NASA, public domain
EXAMPLE_INPUTS = PACK_ROOT / "example_workflows" / "inputs"
EXAMPLE_PORTRAIT = "fsth_portrait.jpg"  # the bundled portrait, under the name the templates use
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


def example_inputs() -> dict[str, Path]:
    """The files the example workflows load, by the name they use: the bundled portrait and every file in
    example_workflows/inputs/ (see its README.md for what each is and where it comes from)."""
    files = {EXAMPLE_PORTRAIT: PORTRAIT}
    if EXAMPLE_INPUTS.is_dir():
        files.update({p.name: p for p in sorted(EXAMPLE_INPUTS.iterdir())
                      if p.is_file() and p.name.startswith("fsth_")})
    return files


def install_missing(files: dict[str, Path], folder: str | os.PathLike) -> list[Path]:
    """Copy each ``name -> source`` file into ``folder`` unless a file of that name is already there (a
    user's file is never replaced, not even one that appears while copying).  Each copy goes to a
    temporary name and is linked into place, so a failure leaves no partial file; it has the permissions
    of any new file there (0644 under the usual umask), not a private temporary file's.  Returns the new
    files."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    done = []
    for name, src in files.items():
        dst = folder / name
        if dst.exists() or not Path(src).is_file():
            continue
        tmp = _new_file(folder, f".{name}.", ".partial")
        try:
            shutil.copyfile(src, tmp)
            try:
                os.link(tmp, dst)  # fails if dst exists: never overwrites
            except FileExistsError:
                continue
            except OSError:  # a file system without hard links
                if dst.exists():
                    continue
                os.replace(tmp, dst)
            done.append(dst)
        finally:
            Path(tmp).unlink(missing_ok=True)
    return done


def _new_file(folder: Path, prefix: str, suffix: str) -> Path:
    """Create a new, empty file with a unique name in ``folder``, mode 0666 less the umask (as an ordinary
    new file; tempfile.mkstemp would make it 0600)."""
    for _ in range(100):
        path = folder / f"{prefix}{secrets.token_hex(6)}{suffix}"
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            return path
        except FileExistsError:
            continue
    raise FileExistsError(f"{folder}: no free temporary name")
