"""Checks on output paths, made before any work starts, so a bad ``--out`` fails in a second
with one clear line instead of a traceback after minutes of work.

The rules (see DESIGN.md, "never touch a path you did not create"):
- an output is never one of the inputs;
- a file output's folder must exist or be creatable, and be writable; the output itself must not
  be a folder;
- a folder output (a PNG sequence) must be missing or empty: nothing already in it is ever
  deleted or overwritten.
"""
from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

#: containers ``--out`` can write, by extension (the codec is chosen in fsth_core.io.media)
VIDEO_OUT_EXTS = (".mp4", ".mov", ".mkv", ".webm", ".gif")
_PATTERN = re.compile(r"%(0?\d*)d")


class OutputError(ValueError):
    """An output path that cannot be used; the message names it."""


def same_path(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """Whether ``a`` and ``b`` name the same file (hard links and symlinks included)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return Path(a).resolve() == Path(b).resolve()


def refuse_inputs(out: str | os.PathLike | None, inputs: Iterable[str | os.PathLike | None], flag: str) -> None:
    """Raise when the output ``out`` (given as ``flag``) is one of ``inputs`` (None entries ignored)."""
    if out is None:
        return
    for inp in inputs:
        if inp is not None and same_path(out, inp):
            raise OutputError(f"{out}: {flag} is also an input ({inp}); choose another output name")


def _nearest_existing(path: Path) -> Path:
    p = path.absolute()
    while not p.exists() and p != p.parent:
        p = p.parent
    return p


def check_folder_writable(folder: str | os.PathLike, name: str | os.PathLike) -> None:
    """``folder`` (which may not exist yet) can hold new files; errors name ``name``."""
    base = _nearest_existing(Path(folder))
    if not base.is_dir():
        raise OutputError(f"{name}: cannot create it: {base} is a file, not a folder")
    if base != Path(folder).absolute():
        if not os.access(base, os.W_OK | os.X_OK):
            raise OutputError(f"{name}: cannot create folder {folder}: {base} is not writable")
        return
    try:
        fd, probe = tempfile.mkstemp(prefix=".fsth-write-test.", dir=base)
    except OSError as exc:
        raise OutputError(f"{name}: folder {base} is not writable ({exc.strerror or exc})") from None
    os.close(fd)
    os.unlink(probe)


def check_file_output(path: str | os.PathLike, inputs: Iterable = (), flag: str = "--out") -> Path:
    """A file about to be written (atomically, by rename): not an input, not a folder, writable folder."""
    path = Path(path)
    refuse_inputs(path, inputs, flag)
    if path.is_dir():
        raise OutputError(f"{path}: {flag} is an existing folder, not a file name")
    if path.exists() and not path.is_file():
        raise OutputError(f"{path}: {flag} exists and is not a regular file")
    check_folder_writable(path.parent, path)
    return path


def check_new_folder(folder: str | os.PathLike, flag: str) -> Path:
    """A folder that will receive new files: missing (created later) or empty; never a file."""
    folder = Path(folder)
    if folder.exists():
        if not folder.is_dir():
            raise OutputError(f"{folder}: {flag} is a file, not a folder")
        if any(folder.iterdir()):
            raise OutputError(f"{folder}: {flag} is not empty; give a new or empty folder "
                              "(nothing in an existing folder is ever replaced)")
    check_folder_writable(folder, folder)
    return folder


@dataclass(frozen=True)
class OutputTarget:
    """What an ``--out`` path asks for: ``kind`` is "video" (``path`` a file of a VIDEO_OUT_EXTS
    container), "folder" (numbered PNGs in a new or empty folder) or "pattern" (PNGs named by a
    printf pattern such as ``f_%05d.png`` in ``folder``)."""

    kind: str
    path: Path
    folder: Path | None = None
    pattern: str = "%06d.png"

    @property
    def frames(self) -> bool:
        return self.kind != "video"

    def frame_path(self, i: int) -> Path:
        return self.folder / (self.pattern % i)


def _split_pattern(name: str) -> tuple[str, str] | None:
    """(text before, text after) the one %d / %0Nd of a pattern, with %% unescaped; None if not one."""
    parts = re.split(r"(%%|%0?\d*d|%)", name)
    convs = [i for i, t in enumerate(parts) if t.startswith("%") and t != "%%"]
    if len(convs) != 1 or parts[convs[0]] == "%":
        return None
    k = convs[0]
    join = lambda ts: "".join("%" if t == "%%" else t for t in ts)  # noqa: E731
    return join(parts[:k]), join(parts[k + 1:])


def output_target(out: str | os.PathLike, flag: str = "--out") -> OutputTarget:
    """Interpret ``out``: a video file by its extension, a folder (ends in '/' or is an existing
    folder) for PNG frames, or a pattern like ``frames/f_%05d.png``; anything else raises OutputError."""
    text = os.fspath(out)
    path = Path(text)
    ext = path.suffix.lower()
    if path.is_dir() and ext in VIDEO_OUT_EXTS and not text.endswith(("/", os.sep)):
        raise OutputError(f"{out}: {flag} is an existing folder, not a file name")
    if text.endswith(("/", os.sep)) or path.is_dir():
        return OutputTarget("folder", path, path)
    if ext == ".png" and "%" in path.name:
        if _split_pattern(path.name) is None:
            raise OutputError(f"{out}: a PNG pattern needs exactly one frame number such as %05d "
                              "(write a literal % as %%)")
        return OutputTarget("pattern", path, path.parent, path.name)
    if ext in VIDEO_OUT_EXTS:
        return OutputTarget("video", path)
    hint = (f"use {', '.join(VIDEO_OUT_EXTS)}, a folder ending in / (PNG frames) "
            "or a pattern like frames/f_%05d.png")
    if ext == ".png":
        raise OutputError(f"{out}: {flag} is one .png but a video has many frames; {hint}")
    if not ext:
        raise OutputError(f"{out}: {flag} has no extension; {hint}")
    raise OutputError(f"{out}: unknown output format {ext!r}; {hint}")


def check_output(target: OutputTarget, inputs: Iterable = (), flag: str = "--out") -> None:
    """Everything about ``target`` that can be checked before work starts (see the module doc);
    a pattern target must not match any file already in its folder."""
    inputs = list(inputs)
    if target.kind == "video":
        check_file_output(target.path, inputs, flag)
        return
    refuse_inputs(target.folder, inputs, flag)
    if target.kind == "folder":
        check_new_folder(target.folder, flag)
        return
    if target.folder.exists() and not target.folder.is_dir():
        raise OutputError(f"{target.path}: {flag}: {target.folder} is a file, not a folder")
    if target.folder.is_dir():
        before, after = _split_pattern(target.pattern)
        regex = re.compile(re.escape(before) + r"-?\d+" + re.escape(after) + r"\Z")
        taken = sorted(p.name for p in target.folder.iterdir() if regex.match(p.name))
        if taken:
            raise OutputError(f"{target.path}: {flag}: {target.folder} already holds {taken[0]}; "
                              "nothing existing is ever replaced: choose another name or folder")
    check_folder_writable(target.folder, target.path)


FULL_DISK_BYTES = 1 << 20  # a folder with less free space than this is on a full disk


def disk_full(folder: str | os.PathLike) -> bool:
    """Whether ``folder``'s disk has (next to) no space left."""
    try:
        return shutil.disk_usage(folder).free < FULL_DISK_BYTES
    except OSError:
        return False


def disk_full_error(path: str | os.PathLike) -> OutputError:
    """The one line for an output that ran out of disk space (names the file and its folder)."""
    folder = Path(path).absolute().parent
    return OutputError(f"{path}: the disk is full (no space left in {folder}); nothing was kept: free some space "
                       "or write the output elsewhere")


def write_error(path: str | os.PathLike, exc: OSError) -> OutputError:
    """An OSError while writing ``path`` as one line naming it (a full disk said so)."""
    if exc.errno == errno.ENOSPC or disk_full(Path(path).absolute().parent):
        return disk_full_error(path)
    return OutputError(f"{path}: cannot write it ({exc.strerror or exc})")


def publish(tmp: str | os.PathLike, path: str | os.PathLike) -> Path:
    """Rename a finished temporary file onto ``path`` (atomic within a folder), with the permissions a
    new file gets (mkstemp makes it owner-only)."""
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(tmp, 0o666 & ~mask)
    os.replace(tmp, path)
    return Path(path)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = ".partial") -> Iterator[Path]:
    """``with atomic_path(p) as tmp: write(tmp)``: the one atomic-write helper.  ``tmp`` is a new hidden
    file in p's folder (name ending in ``suffix``, e.g. an extension a writer needs); it is renamed onto
    ``p`` when the block ends normally; on error it is removed and ``p`` is untouched."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        publish(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


@contextlib.contextmanager
def deferred_output(path: str | os.PathLike | None) -> Iterator[Path | None]:
    """``with deferred_output(p) as tmp: job(tmp)``: a file a longer job writes on its way (a person file
    made before the video), put in place only when the whole job succeeds.  ``tmp`` is a new hidden name in
    p's folder (made when missing); the job may write it or not.  When the block ends normally and ``tmp``
    was written, it is renamed onto ``p``; on error (Ctrl-C and SIGTERM included) it is removed, and so are
    the folders made for it: ``p`` stays as it was, and a new ``p`` does not appear.  None: yields None."""
    if path is None:
        yield None
        return
    path = Path(path)
    created = [p for p in [path.parent, *path.parent.parents] if not p.exists()]
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    os.close(fd)
    tmp, published = Path(tmp), False
    try:
        yield tmp
        if tmp.stat().st_size > 0:  # written by the job (a file it writes is never empty)
            publish(tmp, path)
            published = True
    finally:
        tmp.unlink(missing_ok=True)
        if not published:
            for d in created:  # innermost first; only if still empty
                with contextlib.suppress(OSError):
                    d.rmdir()


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike, mode: str = "wb"):
    """``with atomic_file(p) as f: ...``: ``atomic_path`` with the temporary file open for writing."""
    with atomic_path(path) as tmp, open(tmp, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as f:
        yield f
