"""Where generated frames go: a video file and/or a numbered PNG sequence, with nothing of ours
left behind on error and nothing of the user's ever deleted or replaced.

- A video is written to a temporary file in its folder and renamed into place at the end
  (fsth_core.io.media.VideoWriter).
- PNG frames go into a new or empty folder (or by a pattern, next to files that do not match
  it); each frame is written under a temporary name and renamed, so a frame file is always
  whole.  On error, the frames written so far are removed again, and the folders created for
  them (only those).
"""
from __future__ import annotations

import contextlib
import os
from pathlib import Path

import cv2
import numpy as np

from fsth_core.io.media import VideoWriter, as_rgb_uint8
from fsth_core.io.outpaths import (
    OutputError,
    OutputTarget,
    atomic_file,
    check_file_output,
    check_output,
    output_target,
    refuse_inputs,
    same_path,
    write_error,
)
from fsth_core.runtime.signals import check_terminated


class PngSequence:
    """Numbered PNG frames of ``target`` (a "folder" or "pattern" OutputTarget)."""

    def __init__(self, target: OutputTarget, flag: str = "--out"):
        if not target.frames:
            raise ValueError(f"{target.path}: not a PNG sequence target")
        self.target, self.flag = target, flag
        self.written: list[Path] = []
        self._created: list[Path] = []
        self.count = 0

    def __enter__(self) -> PngSequence:
        check_output(self.target, flag=self.flag)  # again: the folder may have changed since the first check
        missing, p = [], self.target.folder.absolute()
        while not p.exists():
            missing.append(p)
            p = p.parent
        for d in reversed(missing):
            d.mkdir()
            self._created.append(d)
        return self

    def write(self, frame: np.ndarray) -> None:
        img = as_rgb_uint8(frame, name=f"frame {self.count}")
        ok, buf = cv2.imencode(".png", np.ascontiguousarray(img[:, :, ::-1]))
        if not ok:
            raise ValueError(f"{self.target.path}: PNG encoding of frame {self.count} failed")
        dest = self.target.frame_path(self.count)
        if dest.exists():
            raise ValueError(f"{dest}: appeared while writing; nothing existing is replaced")
        try:
            with atomic_file(dest) as f:
                f.write(buf.tobytes())
        except OSError as exc:  # a full disk: say so, and where
            raise write_error(dest, exc) from None
        self.written.append(dest)
        self.count += 1

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            if self.count == 0:
                self._undo()
                raise ValueError(f"{self.target.path}: no frames were written")
            return
        self._undo()

    def _undo(self) -> None:
        for p in self.written:
            p.unlink(missing_ok=True)
        for d in reversed(self._created):
            with contextlib.suppress(OSError):
                d.rmdir()  # only if still empty


class FrameSink:
    """The frames of one job to ``out`` (a video file or a PNG sequence, see
    fsth_core.io.outpaths.output_target) and optionally also to ``frames_dir`` (PNGs in a new or
    empty folder); ``crf`` is the video quality (0 = best; ignored for PNGs)."""

    def __init__(self, out: str | os.PathLike, fps: float, frames_dir: str | os.PathLike | None = None,
                 crf: int | None = None):
        self.target = output_target(out)
        self.fps, self.crf = fps, crf
        self.frames_dir = Path(frames_dir) if frames_dir is not None else None
        self._stack: contextlib.ExitStack | None = None
        self._writers: list = []
        self.count = 0

    def __enter__(self) -> FrameSink:
        stack = contextlib.ExitStack()
        try:  # the main output is entered last, so it closes first: if that fails, the PNGs are undone
            if self.frames_dir is not None:
                extra = OutputTarget("folder", self.frames_dir, self.frames_dir)
                self._writers.append(stack.enter_context(PngSequence(extra, "--frames-dir")))
            if self.target.kind == "video":
                kw = {} if self.crf is None else {"quality": self.crf}
                self._writers.append(stack.enter_context(VideoWriter(self.target.path, fps=self.fps, **kw)))
            else:
                self._writers.append(stack.enter_context(PngSequence(self.target)))
        except BaseException:
            stack.close()
            raise
        self._stack = stack
        return self

    def write(self, frame: np.ndarray) -> None:
        check_terminated()  # a SIGTERM whose KeyboardInterrupt Python dropped (see fsth_core.runtime.signals)
        for w in self._writers:
            w.write(frame)
        self.count += 1

    def __exit__(self, exc_type, exc, tb) -> bool:
        stack, self._stack = self._stack, None
        return bool(stack.__exit__(exc_type, exc, tb))


def check_outputs(out: str | os.PathLike, frames_dir: str | os.PathLike | None = None, inputs=(),
                  files: dict | None = None) -> OutputTarget:
    """Before any work: ``out`` (see output_target), ``frames_dir`` (new or empty folder) and other
    output ``files`` ({flag: path or None}) are usable, none is an input and no two are the same."""
    inputs = [p for p in inputs if p is not None]
    refuse_inputs(out, inputs, "--out")
    target = output_target(out)
    check_output(target, inputs)
    named = [("--out", target.folder if target.frames else target.path)]
    if frames_dir is not None:
        check_output(OutputTarget("folder", Path(frames_dir), Path(frames_dir)), inputs, "--frames-dir")
        named.append(("--frames-dir", Path(frames_dir)))
        if target.kind == "folder":
            a, b = Path(frames_dir).resolve(), target.folder.resolve()
            if a in b.parents or b in a.parents:
                raise OutputError(f"{frames_dir}: --frames-dir and the --out folder {target.folder} are nested; "
                                  "give separate folders")
    for flag, path in (files or {}).items():
        if path is not None:
            check_file_output(path, inputs, flag)
            named.append((flag, Path(path)))
    for i, (fa, a) in enumerate(named):
        for fb, b in named[i + 1:]:
            if same_path(a, b):
                raise OutputError(f"{b}: {fa} and {fb} name the same path; give each its own")
    return target
