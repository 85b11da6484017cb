"""Shared media I/O: images, folders of frames and video files, streamed.

Images returned here are numpy uint8 [H, W, 3] RGB.  Videos are decoded one frame at a
time (imageio-ffmpeg's bundled ffmpeg), so a long video is never held whole in memory.
"""
from __future__ import annotations

import math
import os
import re
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import imageio_ffmpeg
import numpy as np
from PIL import Image

from fsth_core.io.outpaths import disk_full, disk_full_error, publish, write_error
from fsth_core.options import CRF_RANGE, DEFAULT_FPS, MAX_FPS, VIDEO_EXTS
from fsth_core.runtime.signals import deferred

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


def as_rgb_uint8(img, name: str = "image") -> np.ndarray:
    """Normalize an image to uint8 [H, W, 3] RGB.

    Accepts numpy arrays or PIL images: grayscale [H, W] or [H, W, 1], RGB [H, W, 3], RGBA
    [H, W, 4] (composited over black), uint8, uint16 (16-bit: scaled by 255/65535), bool,
    other integers with values in 0..255, and floats in [0, 1].  Raises ValueError naming
    ``name`` for anything else (empty, wrong shape, out-of-range or non-finite values).
    """
    if not isinstance(img, np.ndarray):
        try:
            img = np.asarray(img)
        except Exception as exc:
            raise ValueError(f"{name}: cannot be read as an image ({type(img).__name__})") from exc
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[:, :, 0]
    if img.ndim not in (2, 3) or (img.ndim == 3 and img.shape[2] not in (3, 4)):
        raise ValueError(f"{name}: expected an image [H, W], [H, W, 3] or [H, W, 4], got shape {list(img.shape)}")
    if img.shape[0] == 0 or img.shape[1] == 0:
        raise ValueError(f"{name}: image is empty (shape {list(img.shape)})")
    img = _to_unit_range(img, name)  # float32 in [0, 1] or uint8
    if img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=2)
    elif img.shape[2] == 4:
        f = img.astype(np.float32) / 255.0 if img.dtype == np.uint8 else img
        img = f[:, :, :3] * f[:, :, 3:]
    if img.dtype != np.uint8:
        img = np.clip(np.round(img * 255.0), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(img)


def _to_unit_range(img: np.ndarray, name: str) -> np.ndarray:
    """uint8 stays uint8; everything else becomes float32 in [0, 1]."""
    if img.dtype == np.uint8:
        return img
    if img.dtype == np.bool_:
        return img.astype(np.float32)
    if img.dtype == np.uint16:
        return img.astype(np.float32) / 65535.0
    if np.issubdtype(img.dtype, np.integer):
        lo, hi = int(img.min()), int(img.max())
        if lo < 0 or hi > 255:
            raise ValueError(f"{name}: integer image values must be in 0..255 (or use uint16), got {lo}..{hi}")
        return img.astype(np.float32) / 255.0
    if np.issubdtype(img.dtype, np.floating):
        img = img.astype(np.float32)
        if not np.isfinite(img).all():
            raise ValueError(f"{name}: image contains NaN or infinite values")
        lo, hi = float(img.min()), float(img.max())
        if lo < -0.01 or hi > 1.01:
            raise ValueError(f"{name}: float image values must be in [0, 1], got {lo:.3g}..{hi:.3g}")
        return np.clip(img, 0.0, 1.0)
    raise ValueError(f"{name}: unsupported image dtype {img.dtype}")


#: EXIF orientation -> how to turn the stored pixels upright (as PIL.ImageOps.exif_transpose does)
_EXIF_UPRIGHT = {
    2: lambda a: a[:, ::-1], 3: lambda a: a[::-1, ::-1], 4: lambda a: a[::-1],
    5: lambda a: a.swapaxes(0, 1), 6: lambda a: np.rot90(a, -1), 7: lambda a: a[::-1, ::-1].swapaxes(0, 1),
    8: lambda a: np.rot90(a, 1),
}


def exif_orientation(path: str | os.PathLike) -> int:
    """The EXIF Orientation tag of an image file (1 = upright, also when there is none)."""
    try:
        with Image.open(path) as im:
            value = im.getexif().get(0x0112, 1)
    except Exception:  # noqa: BLE001 - no or unreadable EXIF: the pixels are taken as stored
        return 1
    return value if value in _EXIF_UPRIGHT else 1


def load_image(path: str | os.PathLike) -> np.ndarray:
    """Read an image file (8/16-bit, gray/RGB/RGBA) -> uint8 [H, W, 3] RGB, turned upright by its
    EXIF orientation (a phone photo stored sideways comes out as it is shown)."""
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{path}: is a folder, not an image file (give the image files themselves)")
    if not path.is_file():
        raise FileNotFoundError(f"image not found: {path}")
    data = np.fromfile(str(path), dtype=np.uint8)  # works with non-ASCII paths, unlike cv2.imread
    img = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if img is None:
        raise ValueError(f"{path}: not a readable image")
    if img.ndim == 3 and img.shape[2] == 3:
        img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    elif img.ndim == 3 and img.shape[2] == 4:
        img = cv2.cvtColor(img, cv2.COLOR_BGRA2RGBA)
    img = as_rgb_uint8(img, name=str(path))
    turn = _EXIF_UPRIGHT.get(exif_orientation(path))
    return np.ascontiguousarray(turn(img)) if turn else img


def natural_key(p: Path):
    """Sort key of a file name with its numbers compared as numbers (frame2 before frame10)."""
    return [int(s) if s.isdigit() else s.lower() for s in re.split(r"(\d+)", p.name)]


def list_images(folder: str | os.PathLike) -> list[Path]:
    """Image files in ``folder``, in natural order (frame2 before frame10)."""
    files = [p for p in Path(folder).iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTS]
    return sorted(files, key=natural_key)


def media_kind(path: str | os.PathLike) -> str:
    """``"image"``, ``"folder"`` or ``"video"``; raises for missing or unknown inputs."""
    p = Path(path)
    if p.is_dir():
        return "folder"
    if not p.exists():
        raise FileNotFoundError(f"input not found: {p}")
    ext = p.suffix.lower()
    if ext in IMAGE_EXTS:
        return "image"
    if ext in VIDEO_EXTS:
        return "video"
    raise ValueError(f"{p}: unknown media type {ext!r} (images: {', '.join(IMAGE_EXTS)}; "
                     f"videos: {', '.join(VIDEO_EXTS)})")


@dataclass(frozen=True)
class MediaInfo:
    """What ``probe`` finds: ``frames`` is exact for images/folders, estimated for videos."""

    kind: str
    frames: int
    fps: float | None
    width: int
    height: int


def probe(path: str | os.PathLike) -> MediaInfo:
    """Frame count, fps and size of an image, a folder of frames or a video, without decoding it all."""
    kind = media_kind(path)
    if kind == "image":
        h, w = load_image(path).shape[:2]
        return MediaInfo(kind, 1, None, w, h)
    if kind == "folder":
        files = list_images(path)
        if not files:
            raise ValueError(f"{path}: folder contains no images ({', '.join(IMAGE_EXTS)})")
        h, w = load_image(files[0]).shape[:2]
        return MediaInfo(kind, len(files), None, w, h)
    gen, meta = _open_video(path)
    gen.close()
    w, h = meta["size"]
    fps = float(meta.get("fps") or 0)
    if not (math.isfinite(fps) and 0 < fps <= MAX_FPS):  # none, or a container's time base (e.g. "1k tbr")
        fps = DEFAULT_FPS
    duration = float(meta.get("duration") or 0)
    frames = int(round(duration * fps)) if fps and duration else 0
    return MediaInfo(kind, frames, fps, int(w), int(h))


def _open_video(path, fps: float | None = None):
    """(frame generator, meta dict) for a video; ValueError with ffmpeg's reason when it cannot be read.

    With ``fps`` the frames are resampled by their timestamps to that constant rate (ffmpeg's fps
    filter: frames dropped or repeated), so a variable-frame-rate video keeps its real duration.
    """
    params = ["-vf", f"fps={fps!r}"] if fps else []
    gen = imageio_ffmpeg.read_frames(str(path), pix_fmt="rgb24", output_params=params)
    try:
        meta = next(gen)
    except Exception as exc:
        gen.close()
        raise ValueError(f"{path}: cannot read video ({_ffmpeg_reason(str(exc))})") from exc
    if not meta.get("size") or not all(meta["size"]):
        gen.close()
        raise ValueError(f"{path}: no video stream (an audio-only file?)")
    return gen, meta


def _ffmpeg_reason(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith(" ")]
    if any("does not contain any stream" in ln or "matches no streams" in ln for ln in lines):
        return "it has no video stream"
    return next((ln for ln in reversed(lines) if "rror" in ln or "nvalid" in ln), lines[0] if lines else "")


def iter_frames(path: str | os.PathLike, fps: float | None = None) -> Iterator[np.ndarray]:
    """Yield uint8 [H, W, 3] RGB frames of an image, a folder of images or a video, one at a time.

    A video's frames come at a constant rate by their timestamps: ``fps`` if given, else the
    video's own average rate (what ``probe`` reports), so T frames always last T / fps seconds,
    also for variable-frame-rate videos.  A folder's frames all get the first frame's size.
    """
    kind = media_kind(path)
    if kind == "image":
        yield load_image(path)
        return
    if kind == "folder":
        files = list_images(path)
        if not files:
            raise ValueError(f"{path}: folder contains no images ({', '.join(IMAGE_EXTS)})")
        size = None
        for f in files:
            img = load_image(f)
            if size is None:
                size = img.shape[1], img.shape[0]
            elif (img.shape[1], img.shape[0]) != size:
                img = fit_to(img, size)
            yield img
        return
    gen, meta = _open_video(path, fps or probe(path).fps)
    try:
        w, h = meta["size"]
        for buf in gen:
            yield np.frombuffer(buf, dtype=np.uint8).reshape(h, w, 3).copy()
    finally:
        gen.close()


def fit_to(img: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``img`` scaled to cover ``size`` (w, h) keeping its aspect ratio, centre-cropped to it."""
    w, h = size
    s = max(w / img.shape[1], h / img.shape[0])
    nw, nh = max(w, round(img.shape[1] * s)), max(h, round(img.shape[0] * s))
    interp = cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR
    img = cv2.resize(img, (nw, nh), interpolation=interp)
    x0, y0 = (nw - w) // 2, (nh - h) // 2
    return np.ascontiguousarray(img[y0:y0 + h, x0:x0 + w])


#: output codec by container: (ffmpeg codec, pixel format, extra output options); "{crf}" is filled in
_VIDEO_CODECS = {
    ".mp4": ("libx264", "yuv420p", ["-crf", "{crf}"]),
    ".mov": ("libx264", "yuv420p", ["-crf", "{crf}"]),
    ".mkv": ("libx264", "yuv420p", ["-crf", "{crf}"]),
    ".webm": ("libvpx-vp9", "yuv420p", ["-crf", "{crf}", "-b:v", "0", "-row-mt", "1", "-cpu-used", "4"]),
    ".gif": ("gif", "pal8", ["-vf", "split[a][b];[a]palettegen=stats_mode=diff[p];[b][p]paletteuse"]),
}


class VideoWriter:
    """Write uint8 RGB frames to a video file; the container follows the extension (.mp4, .mov and
    .mkv: H.264; .webm: VP9; .gif), ``quality`` is the CRF (0 best .. 51 worst; ignored for gif).

    Frames go to a temporary file in the destination folder that is renamed onto ``path``
    when the ``with`` block ends normally and deleted when it raises.  Odd frame sizes are
    padded by one pixel (4:2:0 video needs even sizes).

        with VideoWriter("out.mp4", fps=25) as w:
            for frame in frames:
                w.write(frame)
    """

    def __init__(self, path: str | os.PathLike, fps: float = 25.0, quality: int = 18):
        if not (math.isfinite(fps) and fps > 0):
            raise ValueError(f"fps must be a positive number, got {fps}")
        self.path = Path(path)
        self.ext = self.path.suffix.lower()
        if self.ext not in _VIDEO_CODECS:
            raise ValueError(f"{self.path}: cannot write {self.ext or 'a file without extension'} "
                             f"(video formats: {', '.join(_VIDEO_CODECS)})")
        if isinstance(quality, bool) or int(quality) != quality or not CRF_RANGE[0] <= quality <= CRF_RANGE[1]:
            raise ValueError(f"crf must be an integer in {CRF_RANGE[0]}..{CRF_RANGE[1]}, got {quality}")
        self.fps = float(fps)
        self.crf = int(quality)
        self._tmp: Path | None = None
        self._created: list[Path] = []
        self._gen = None
        self._size: tuple[int, int] | None = None
        self.frames = 0

    def __enter__(self) -> VideoWriter:
        missing = [p for p in [self.path.parent, *self.path.parent.parents] if not p.exists()]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._created = missing  # removed again (if still empty) when no video comes out
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.stem}.", suffix=".partial" + self.ext, dir=self.path.parent)
        os.close(fd)
        self._tmp = Path(tmp)
        return self

    def write(self, frame) -> None:
        """Append one frame (anything ``as_rgb_uint8`` accepts; all frames the same size)."""
        if self._tmp is None:
            raise RuntimeError("VideoWriter.write called outside its 'with' block")
        img = as_rgb_uint8(frame, name=f"frame {self.frames}")
        h, w = img.shape[:2]
        if self._gen is None:
            self._size = (w, h)
            ew, eh = w + (w % 2), h + (h % 2)
            codec, pix_fmt, params = _VIDEO_CODECS[self.ext]
            with deferred():  # Ctrl-C/SIGTERM while ffmpeg starts would leave it running, writing our file
                self._gen = imageio_ffmpeg.write_frames(
                    str(self._tmp), (ew, eh), fps=self.fps, codec=codec, pix_fmt_in="rgb24",
                    pix_fmt_out=pix_fmt, quality=None, macro_block_size=1,
                    # ffmpeg writes to our stderr; its lines would break the one-line error (a failure is
                    # diagnosed below); FSTH_DEBUG shows them
                    ffmpeg_log_level="error" if os.environ.get("FSTH_DEBUG") else "quiet",
                    output_params=[a.format(crf=self.crf) for a in params])
                self._gen.send(None)
        elif (w, h) != self._size:
            raise ValueError(f"frame {self.frames}: size {w}x{h} differs from the first frame's "
                             f"{self._size[0]}x{self._size[1]}")
        if w % 2 or h % 2:
            img = np.pad(img, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")
        try:
            self._gen.send(np.ascontiguousarray(img))
        except OSError as exc:  # ffmpeg stopped (imageio-ffmpeg's "Broken pipe" with the command line)
            raise write_error(self.path, OSError(exc.errno, "the video encoder (ffmpeg) stopped")) from None
        self.frames += 1

    def __exit__(self, exc_type, exc, tb) -> None:
        gen, self._gen = self._gen, None
        tmp, self._tmp = self._tmp, None
        try:
            if gen is not None:
                gen.close()
        except BaseException:  # Ctrl-C while ffmpeg finishes the file too: no partial file is left
            if exc_type is None:
                tmp.unlink(missing_ok=True)
                raise
        if exc_type is None and self.frames and disk_full(tmp.parent) and not _readable_video(tmp):
            tmp.unlink(missing_ok=True)  # ffmpeg ran out of space finishing the file (it does not say so)
            self._remove_created()
            raise disk_full_error(self.path)
        if exc_type is not None or self.frames == 0:
            tmp.unlink(missing_ok=True)
            self._remove_created()
            if exc_type is None:
                raise ValueError(f"{self.path}: no frames were written")
            return
        publish(tmp, self.path)

    def _remove_created(self) -> None:
        for d in self._created:
            try:
                d.rmdir()
            except OSError:
                break


def _readable_video(path: Path) -> bool:
    """Whether ffmpeg can decode ``path``'s first frame (a file whose trailer was never written cannot)."""
    r = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-v", "error", "-i", str(path), "-frames:v", "1",
                        "-f", "null", "-"], capture_output=True)
    return r.returncode == 0


def mux_audio(video: str | os.PathLike, audio: str | os.PathLike, out: str | os.PathLike) -> Path:
    """``video``'s picture (copied, not re-encoded) with the sound of ``audio`` (any file ffmpeg reads: wav,
    mp3, the sound of an mp4; AAC in the result) -> ``out``.  Written to a temporary file in the destination
    folder and renamed into place: a failure leaves nothing behind.  ``out`` may be ``video`` itself."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.stem}.", suffix=".partial.mp4", dir=out.parent)
    os.close(fd)
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-y", "-v", "error", "-i", str(video), "-i", str(audio),
           "-map", "0:v:0", "-map", "1:a:0", "-c:v", "copy", "-c:a", "aac", "-b:a", "128k",
           "-movflags", "+faststart", tmp]
    try:
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0 and ("No space left" in r.stderr or disk_full(out.parent)):
            raise disk_full_error(out)
        if r.returncode != 0:
            lines = [ln.strip() for ln in r.stderr.splitlines() if ln.strip()]
            raise ValueError(f"{audio}: cannot add its sound to the video ({lines[-1] if lines else 'ffmpeg failed'})")
        publish(tmp, out)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return out


def stream_durations(path: str | os.PathLike) -> dict[str, float]:
    """Duration in seconds of each kind of stream ("video", "audio") of a media file, read by decoding it
    with the bundled ffmpeg (exact, unlike container headers)."""
    out = {}
    for kind, sel in (("video", "v:0"), ("audio", "a:0")):
        r = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-v", "info", "-i", str(path), "-map", sel,
                            "-f", "null", "-"], capture_output=True, text=True)
        times = re.findall(r"time=(\d+):(\d+):([\d.]+)", r.stderr)
        if r.returncode == 0 and times:
            h, m, s = times[-1]
            out[kind] = int(h) * 3600 + int(m) * 60 + float(s)
    return out
