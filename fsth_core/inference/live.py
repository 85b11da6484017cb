"""Live animate: a camera as the driver, and a preview window.

- :func:`open_camera` / :class:`LiveDriver`: a webcam (``--driver 0``) read in a thread, landmarks tracked
  and smoothed causally (:class:`LiveMotion`), frames skipped while the pipeline is busy.
- :class:`PreviewWindow`: the frames in an OpenCV window with the achieved fps (``--preview``).

The stages themselves run in threads as for any other driver (fsth_core.runtime.threads); a first Ctrl-C
ends a recording (fsth_core.runtime.signals.stop_requests).
"""
from __future__ import annotations

import collections
import contextlib
import os
import queue
import re
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from fsth_core.io.media import as_rgb_uint8
from fsth_core.landmarks.crop import head_crop_box
from fsth_core.landmarks.edit import edit_landmarks
from fsth_core.landmarks.retarget import retarget
from fsth_core.landmarks.smooth import OneEuroStream
from fsth_core.landmarks.track import FaceTracker
from fsth_core.options import MAX_FPS
from fsth_core.runtime.threads import END, ERROR, ITEM, POLL, Stopped, put_unless_stopped


def camera_index(driver) -> int | None:
    """The camera index a driver names (an int, or a string of digits that is no existing file), else None."""
    if isinstance(driver, bool):
        return None
    if isinstance(driver, int):
        return driver
    if isinstance(driver, str) and driver.strip().isdigit() and not Path(driver).exists():
        return int(driver)
    return None


def is_capture(obj) -> bool:
    """Whether ``obj`` reads frames like cv2.VideoCapture (``read() -> (ok, BGR frame)``)."""
    return callable(getattr(obj, "read", None)) and not isinstance(obj, (str, bytes, os.PathLike))


def open_camera(index: int):
    """An opened cv2.VideoCapture of camera ``index``; one-line ValueError when there is none."""
    level = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)  # OpenCV's own warnings: not ours to print
    try:
        cap = cv2.VideoCapture(int(index))
        ok = cap.isOpened()
    finally:
        cv2.utils.logging.setLogLevel(level)
    if not ok:
        cap.release()
        raise ValueError(f"camera {index}: cannot be opened (no camera with that index, it is in use, or OpenCV "
                         "cannot read cameras here); give a video file or folder of frames as --driver instead")
    return cap


def capture_fps(capture, default: float = 25.0) -> float:
    """The frame rate a capture reports (cv2.CAP_PROP_FPS), or ``default`` when it reports none usable."""
    try:
        fps = float(capture.get(cv2.CAP_PROP_FPS))
    except Exception:  # noqa: BLE001 - a capture without properties
        return default
    return fps if np.isfinite(fps) and 1.0 <= fps <= MAX_FPS else default


class LiveMotion:
    """Driver frames -> the source's landmarks, one frame at a time (a camera: later frames unknown).

    The driver's face is detected once and tracked (fsth_core.landmarks.track.FaceTracker), smoothed
    by the causal One-Euro filter (:class:`OneEuroStream`), put in the head box of the first frame
    with a face, and retargeted with that first frame as the reference (the expression and pose it
    shows map onto the source's).  Frames before the first face give None; frames where the face is
    lost repeat the last landmarks.  In ``relative`` mode the result does not depend on the head box.
    """

    def __init__(self, source_points: np.ndarray, size: int, detector, mode: str = "relative",
                 smoothing: float = 0.3, fps: float = 25.0, edit=None):
        self.source_points = np.asarray(source_points, np.float32)
        self.size, self.mode, self.edit = int(size), mode, edit
        self.tracker = FaceTracker(detector)
        self.smoother = OneEuroStream(smoothing, fps)
        self._box = self._ref = self._last = None

    def __call__(self, frame: np.ndarray) -> np.ndarray | None:
        face = self.tracker.step(frame)
        if face is None:
            return self._last
        pts = self.smoother(face.points)
        if self._box is None:
            self._box = head_crop_box(pts, frame.shape[:2])
        drv = self._box.points_to_crop(pts, self.size)
        if self._ref is None:
            self._ref = drv
        out = retarget(self.source_points, np.stack([self._ref, drv]), mode=self.mode)[1]
        if self.edit is not None:
            out = edit_landmarks(out, self.edit)
        self._last = out
        return out


class LiveDriver:
    """Reads a capture in a thread of its own and turns its frames into landmark sets (``motion``:
    a :class:`LiveMotion`).  While the consumer is busy (its queue of ``maxsize`` full), frames are
    skipped unread by the landmark stage: the result stays live instead of falling behind.  Iterating
    yields landmark sets; :attr:`skips` gets, for each one, how many camera frames were skipped before
    it (to hold the previous output frame that long, keeping the video's timing), and :attr:`trailing`
    those after the last one.  Ends at the end of
    the capture (``read`` fails), after ``max_frames`` frames read, or when the Event ``end`` is set
    (what was read is passed on); :meth:`close` stops it at once."""

    def __init__(self, capture, motion, maxsize: int = 1, max_frames: int | None = None,
                 end: threading.Event | None = None):
        self.capture, self.motion = capture, motion
        self.max_frames = max_frames
        self.end = end if end is not None else threading.Event()
        self.skips: collections.deque[int] = collections.deque()
        self.trailing = 0  # frames skipped after the last one passed on (known at the end)
        self.frames_read = self.frames_skipped = 0
        self._q: queue.Queue = queue.Queue(maxsize)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fsth-camera", daemon=True)
        self._started = False

    def _run(self) -> None:
        skipped, first = 0, True
        try:
            while not self._stop.is_set() and not self.end.is_set():
                if self.max_frames is not None and self.frames_read >= self.max_frames:
                    break
                ok, frame = self.capture.read()
                if not ok or frame is None:
                    break
                self.frames_read += 1
                if self._q.full():
                    skipped += 0 if first else 1
                    self.frames_skipped += 0 if first else 1
                    continue
                img = as_rgb_uint8(np.ascontiguousarray(frame[..., 2::-1]) if np.ndim(frame) == 3 else frame,
                                   name=f"camera frame {self.frames_read}")
                pts = self.motion(img)
                if pts is None:
                    continue  # no face yet: nothing to animate
                self._put((ITEM, (pts, 0 if first else skipped)))
                skipped, first = 0, False
            self._put((END, skipped))
        except Stopped:
            pass
        except BaseException as exc:  # noqa: BLE001
            with contextlib.suppress(Stopped):
                self._put((ERROR, exc))

    def _put(self, msg) -> None:
        put_unless_stopped(self._q, msg, self._stop)

    def __iter__(self) -> Iterator[np.ndarray]:
        if not self._started:
            self._started = True
            self._thread.start()
        while True:
            try:
                kind, value = self._q.get(timeout=POLL)
            except queue.Empty:
                if self._stop.is_set():
                    return
                continue
            if kind == END:
                self.trailing = value
                return
            if kind == ERROR:
                raise value
            pts, skipped = value
            self.skips.append(skipped)
            yield pts

    def close(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._started:
            self._thread.join(timeout)



# ---------------------------------------------------------------------------------------------- display

class RateMeter:
    """Frames per second over the last ``window`` seconds (for the overlay) and since the start."""

    def __init__(self, window: float = 1.0):
        self.window = window
        self._times: collections.deque[float] = collections.deque()
        self.count, self.start = 0, time.perf_counter()

    def tick(self) -> float:
        now = time.perf_counter()
        self.count += 1
        self._times.append(now)
        while len(self._times) > 2 and now - self._times[0] > self.window:
            self._times.popleft()
        span = self._times[-1] - self._times[0]
        return (len(self._times) - 1) / span if span > 0 else 0.0


def gui_support() -> str | None:
    """None when OpenCV can open windows here, else a one-line reason."""
    m = re.search(r"^\s*GUI:\s*(\S+)", cv2.getBuildInformation(), re.MULTILINE)
    if m is not None and m.group(1).upper() == "NONE":
        return ("--preview needs OpenCV with window support, and this one is built without it "
                "(opencv-python-headless): pip install opencv-python, or run without --preview")
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return "--preview needs a display, and none is set ($DISPLAY is empty): run without --preview"
    return None


class PreviewWindow:
    """An OpenCV window showing frames as they are made, with the achieved fps in a corner.  Opening it
    raises a one-line ValueError where there is no display or OpenCV has no window support.
    :meth:`show` returns False once the user pressed q or Esc or closed the window."""

    def __init__(self, title: str = "fsth animate (q: stop)"):
        reason = gui_support()
        if reason:
            raise ValueError(reason)
        self.title = title
        try:
            cv2.namedWindow(title, cv2.WINDOW_AUTOSIZE)
        except cv2.error as exc:
            msg = str(exc).strip().splitlines()[-1] if str(exc).strip() else "unknown OpenCV error"
            raise ValueError(f"--preview: cannot open a window ({msg})") from None
        self.meter = RateMeter()

    def show(self, frame: np.ndarray) -> bool:
        fps = self.meter.tick()
        bgr = np.ascontiguousarray(frame[..., ::-1])
        text = f"{fps:4.1f} fps"
        scale = max(0.4, bgr.shape[0] / 600)
        for colour, width in (((0, 0, 0), 3), ((255, 255, 255), 1)):
            cv2.putText(bgr, text, (8, int(24 * scale) + 4), cv2.FONT_HERSHEY_SIMPLEX, scale, colour, width,
                        cv2.LINE_AA)
        cv2.imshow(self.title, bgr)
        key = cv2.waitKey(1) & 0xFF
        if key in (ord("q"), 27):
            return False
        try:
            return cv2.getWindowProperty(self.title, cv2.WND_PROP_VISIBLE) >= 1
        except cv2.error:
            return False

    def close(self) -> None:
        with contextlib.suppress(cv2.error):
            cv2.destroyWindow(self.title)
            cv2.waitKey(1)
