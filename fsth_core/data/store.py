"""On-disk training set: one packed folder per video plus an ``index.json``.

Layout of a training set folder ``ROOT``::

    ROOT/index.json                 {"format": "fsth-trainset", "format_version": 1,
                                     "image_size": S, "videos": [{"id", "frames", "path", "source"}, ...]}
    ROOT/videos/<id>/frames.bin     the video's frames as concatenated JPEG files (RGB, S x S)
    ROOT/videos/<id>/offsets.npy    int64 [F + 1]: byte offset of frame i is offsets[i]..offsets[i+1]
    ROOT/videos/<id>/landmarks.npy  float32 [F, 68, 2]: (x, y) pixel coordinates in the S x S frame
    ROOT/videos/<id>/meta.json      {"id", "frames", "image_size", "source"}

A video is written into ``videos/<id>.partial/`` and renamed to ``videos/<id>/`` once complete,
so a finished video folder is always whole; an interrupted writer leaves only a ``.partial``
folder, which the next writer deletes.  ``index.json`` can be rebuilt from the finished video
folders at any time (:func:`rebuild_index`), which is how ``prepare``/``synth`` resume.
"""
from __future__ import annotations

import json
import os
import re
import shutil
from collections import OrderedDict
from collections.abc import Iterable
from pathlib import Path

import cv2
import numpy as np

from fsth_core.io.outpaths import atomic_file, check_folder_writable, refuse_inputs

FORMAT = "fsth-trainset"
FORMAT_VERSION = 1
JPEG_QUALITY = 95
_PARTIAL = ".partial"
_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$")


def check_video_id(video_id: str) -> str:
    """Return ``video_id`` if it is a safe folder name, else raise ValueError."""
    if not isinstance(video_id, str) or not _ID_RE.match(video_id) or video_id.endswith(_PARTIAL):
        raise ValueError(f"invalid video id {video_id!r}: use letters, digits, '_', '-', '.' (max 128)")
    return video_id


def encode_jpeg(frame: np.ndarray, quality: int = JPEG_QUALITY) -> bytes:
    """uint8 [H, W, 3] RGB -> JPEG bytes."""
    ok, buf = cv2.imencode(".jpg", np.ascontiguousarray(frame[..., ::-1]), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return buf.tobytes()


def decode_jpeg(data: bytes) -> np.ndarray | None:
    """JPEG bytes -> uint8 [H, W, 3] RGB, or None if the bytes do not decode."""
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    return None if img is None else img[..., ::-1]


# ---------------------------------------------------------------------------------------
# writing
# ---------------------------------------------------------------------------------------
class ClipWriter:
    """Streams one video's frames into ``videos/<id>.partial/``; :meth:`commit` publishes it."""

    def __init__(self, root: Path, video_id: str, image_size: int, source: str, quality: int):
        self.root, self.video_id, self.image_size = root, video_id, image_size
        self.source, self.quality = source, quality
        self.tmp = root / "videos" / (video_id + _PARTIAL)
        if self.tmp.exists():
            shutil.rmtree(self.tmp)
        self.tmp.mkdir(parents=True)
        self._bin = open(self.tmp / "frames.bin", "wb")
        self._offsets = [0]
        self._points: list[np.ndarray] = []

    def add(self, frame: np.ndarray, points: np.ndarray) -> None:
        """Append one frame (uint8 [S, S, 3] RGB) and its landmarks (float [68, 2] pixels)."""
        s = self.image_size
        if frame.shape != (s, s, 3) or frame.dtype != np.uint8:
            raise ValueError(f"video {self.video_id}: frame must be uint8 [{s}, {s}, 3], "
                             f"got {frame.dtype} {list(frame.shape)}")
        pts = np.asarray(points, np.float32)
        if pts.shape != (68, 2):
            raise ValueError(f"video {self.video_id}: landmarks must be [68, 2], got {list(pts.shape)}")
        data = encode_jpeg(frame, self.quality)
        self._bin.write(data)
        self._offsets.append(self._offsets[-1] + len(data))
        self._points.append(pts)

    def commit(self) -> dict:
        """Finish the video: write offsets/landmarks/meta and rename the folder into place."""
        self._bin.close()
        n = len(self._points)
        if n == 0:
            self.abort()
            raise ValueError(f"video {self.video_id}: no frames")
        np.save(self.tmp / "offsets.npy", np.asarray(self._offsets, np.int64))
        np.save(self.tmp / "landmarks.npy", np.stack(self._points).astype(np.float32))
        meta = {"id": self.video_id, "frames": n, "image_size": self.image_size, "source": self.source}
        (self.tmp / "meta.json").write_text(json.dumps(meta))
        final = self.root / "videos" / self.video_id
        if final.exists():
            shutil.rmtree(final)
        os.replace(self.tmp, final)
        return meta

    def abort(self) -> None:
        """Drop the partial video."""
        if not self._bin.closed:
            self._bin.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


class DatasetWriter:
    """Resumable writer of a training set folder.

    Opening a writer on an existing folder deletes leftover ``.partial`` videos and keeps the
    finished ones (:meth:`done` tells which); :meth:`close` (or leaving the ``with`` block)
    rewrites ``index.json``.  The index is also flushed every ``flush_every`` videos.
    """

    def __init__(self, root: str | os.PathLike, image_size: int, quality: int = JPEG_QUALITY,
                 flush_every: int = 50):
        if not isinstance(image_size, int) or image_size < 8:
            raise ValueError(f"image_size must be an int >= 8, got {image_size!r}")
        self.root = Path(root)
        self.image_size, self.quality, self.flush_every = image_size, quality, flush_every
        (self.root / "videos").mkdir(parents=True, exist_ok=True)
        index = self.root / "index.json"
        if index.exists():
            old = _read_json(index, "index.json")
            if old.get("image_size") != image_size:
                raise ValueError(f"{self.root}: existing training set has image_size "
                                 f"{old.get('image_size')}, not {image_size}")
        for p in (self.root / "videos").glob("*" + _PARTIAL):
            shutil.rmtree(p, ignore_errors=True)
        self._finished = {m["id"]: m for m in _scan_videos(self.root, image_size)}
        self._since_flush = 0

    def done(self, video_id: str) -> bool:
        """True if ``video_id`` is already written completely."""
        return video_id in self._finished

    def finished(self, video_id: str) -> dict | None:
        """The meta dict (id, frames, image_size, source) of a finished video, else None."""
        return self._finished.get(video_id)

    def open_video(self, video_id: str, source: str = "") -> ClipWriter:
        """Start writing one video (frame by frame); call ``commit()`` on the result."""
        return ClipWriter(self.root, check_video_id(video_id), self.image_size, source, self.quality)

    def write_video(self, video_id: str, frames: Iterable[np.ndarray], landmarks: np.ndarray,
                    source: str = "") -> dict:
        """Write a whole video: ``frames`` yields uint8 [S, S, 3] RGB, ``landmarks`` is [F, 68, 2]."""
        pts = np.asarray(landmarks, np.float32)
        if pts.ndim != 3 or pts.shape[1:] != (68, 2):
            raise ValueError(f"video {video_id}: landmarks must be [F, 68, 2], got {list(pts.shape)}")
        vw = self.open_video(video_id, source)
        try:
            n = 0
            for frame in frames:
                if n >= len(pts):
                    raise ValueError(f"video {video_id}: more frames than landmarks ({len(pts)})")
                vw.add(frame, pts[n])
                n += 1
            if n != len(pts):
                raise ValueError(f"video {video_id}: {n} frames but {len(pts)} landmark sets")
            meta = vw.commit()
        except BaseException:
            vw.abort()
            raise
        self.add_finished(meta)
        return meta

    def add_finished(self, meta: dict) -> None:
        """Record a committed video (done by :meth:`write_video`)."""
        self._finished[meta["id"]] = meta
        self._since_flush += 1
        if self._since_flush >= self.flush_every:
            self.flush()

    def flush(self) -> None:
        """Rewrite ``index.json`` from the videos finished so far."""
        _write_index(self.root, self.image_size, list(self._finished.values()))
        self._since_flush = 0

    def close(self) -> None:
        self.flush()

    def __enter__(self) -> DatasetWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def finished_videos(root: str | os.PathLike) -> list[str]:
    """Ids of the finished video folders of a training set (what is really on disk)."""
    folder = Path(root) / "videos"
    return [d.name for d in folder.iterdir() if (d / "meta.json").is_file()] if folder.is_dir() else []


def check_trainset_out(out: str | os.PathLike, source: str | os.PathLike | None = None) -> None:
    """``out`` may receive a training set: a new or empty folder, or a training set (resumed); never
    the ``source`` folder (the videos) nor a folder holding it, never a user's non-empty folder."""
    out = Path(out)
    if source is not None:
        refuse_inputs(out, [source], "OUT")
        if out.resolve() in Path(source).resolve().parents:
            raise ValueError(f"{out}: OUT holds the videos folder {source}; give a new or empty folder")
    if out.exists():
        if not out.is_dir():
            raise ValueError(f"{out}: OUT is a file, not a folder")
        if any(out.iterdir()) and not ((out / "index.json").is_file() or finished_videos(out)):
            raise ValueError(f"{out}: not empty and not a training set; give a new or empty folder "
                             "(or an earlier run's training set, to resume)")
    check_folder_writable(out, out)


def _read_json(path: Path, what: str) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: unreadable {what} ({exc})") from None


def _scan_videos(root: Path, image_size: int | None = None) -> list[dict]:
    metas = []
    for d in sorted((root / "videos").iterdir()) if (root / "videos").is_dir() else []:
        if d.name.endswith(_PARTIAL) or not (d / "meta.json").is_file():
            continue
        meta = _read_json(d / "meta.json", "video meta.json")
        if image_size is not None and meta.get("image_size") != image_size:
            raise ValueError(f"{d}: image_size {meta.get('image_size')} differs from {image_size}")
        metas.append(meta)
    return metas


def _write_index(root: Path, image_size: int, metas: list[dict]) -> None:
    videos = [{"id": m["id"], "frames": int(m["frames"]), "path": f"videos/{m['id']}",
               "source": m.get("source", "")} for m in sorted(metas, key=lambda m: m["id"])]
    index = {"format": FORMAT, "format_version": FORMAT_VERSION, "image_size": image_size, "videos": videos}
    with atomic_file(root / "index.json", "w") as f:
        f.write(json.dumps(index, indent=1))


def rebuild_index(root: str | os.PathLike) -> int:
    """Rewrite ``ROOT/index.json`` from the finished video folders; returns the number of videos."""
    root = Path(root)
    metas = _scan_videos(root)
    if not metas:
        raise ValueError(f"{root}: no finished videos under videos/")
    sizes = {m["image_size"] for m in metas}
    if len(sizes) != 1:
        raise ValueError(f"{root}: videos have mixed image sizes {sorted(sizes)}")
    _write_index(root, sizes.pop(), metas)
    return len(metas)


# ---------------------------------------------------------------------------------------
# reading
# ---------------------------------------------------------------------------------------
def _remember(cache: OrderedDict, key: int, value: np.ndarray, size: int) -> None:
    """Add to an LRU cache of at most ``size`` entries (the least recently used goes)."""
    cache[key] = value
    while len(cache) > size:
        cache.popitem(last=False)


class TrainingSet:
    """Read-only view of a training set folder (see the module docstring for the layout).

    Cheap to pickle into DataLoader workers: files are opened per read; per-video offsets and
    landmarks are cached after use, for the ``CACHED`` most recently used videos (a VoxCeleb2-sized set
    would otherwise fill each worker's memory with every clip's landmarks over an epoch).
    """

    CACHED = 1024

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        if not self.root.is_dir():
            raise FileNotFoundError(f"training set folder not found: {self.root}")
        index_path = self.root / "index.json"
        if not index_path.is_file():
            raise ValueError(f"{self.root}: no index.json (not a training set, or an interrupted "
                             "write: rerun the command or call fsth_core.data.store.rebuild_index)")
        index = _read_json(index_path, "index.json")
        if index.get("format") != FORMAT:
            raise ValueError(f"{index_path}: not an FSTH training set index")
        if index.get("format_version", 0) > FORMAT_VERSION:
            raise ValueError(f"{index_path}: format version {index['format_version']} is newer "
                             f"than this code ({FORMAT_VERSION})")
        self.image_size: int = int(index["image_size"])
        self.videos: list[dict] = list(index["videos"])
        if not self.videos:
            raise ValueError(f"{index_path}: the training set has no videos")
        self._offsets: OrderedDict[int, np.ndarray] = OrderedDict()
        self._landmarks: OrderedDict[int, np.ndarray] = OrderedDict()

    def __len__(self) -> int:
        return len(self.videos)

    def __repr__(self) -> str:
        return f"TrainingSet({str(self.root)!r}, videos={len(self)}, size={self.image_size})"

    @property
    def video_ids(self) -> list[str]:
        return [v["id"] for v in self.videos]

    def num_frames(self, video_idx: int) -> int:
        return int(self.videos[video_idx]["frames"])

    def _dir(self, video_idx: int) -> Path:
        return self.root / self.videos[video_idx]["path"]

    def _load(self, video_idx: int, name: str) -> np.ndarray:
        path = self._dir(video_idx) / name
        try:
            return np.load(path, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise ValueError(f"video {self.videos[video_idx]['id']}: missing or corrupt {name} "
                             f"({exc})") from None

    def offsets(self, video_idx: int) -> np.ndarray:
        """int64 [F + 1] byte offsets into ``frames.bin``."""
        if video_idx not in self._offsets:
            off = self._load(video_idx, "offsets.npy")
            if off.shape != (self.num_frames(video_idx) + 1,) or np.any(np.diff(off) <= 0):
                raise ValueError(f"video {self.videos[video_idx]['id']}: corrupt offsets.npy")
            _remember(self._offsets, video_idx, off, self.CACHED)
        self._offsets.move_to_end(video_idx)
        return self._offsets[video_idx]

    def landmarks(self, video_idx: int) -> np.ndarray:
        """float32 [F, 68, 2] landmarks of video ``video_idx`` in pixels."""
        if video_idx not in self._landmarks:
            pts = self._load(video_idx, "landmarks.npy")
            if pts.shape != (self.num_frames(video_idx), 68, 2):
                raise ValueError(f"video {self.videos[video_idx]['id']}: landmarks.npy has shape "
                                 f"{list(pts.shape)}, expected [{self.num_frames(video_idx)}, 68, 2]")
            _remember(self._landmarks, video_idx, pts.astype(np.float32, copy=False), self.CACHED)
        self._landmarks.move_to_end(video_idx)
        return self._landmarks[video_idx]

    def frames(self, video_idx: int, frame_indices: Iterable[int]) -> np.ndarray:
        """Decode frames of one video: uint8 [n, S, S, 3] RGB, in the order requested."""
        if not 0 <= video_idx < len(self):
            raise IndexError(f"video index {video_idx} out of range (0..{len(self) - 1})")
        idx = [int(i) for i in frame_indices]
        n_frames, vid, s = self.num_frames(video_idx), self.videos[video_idx]["id"], self.image_size
        off = self.offsets(video_idx)
        out = np.empty((len(idx), s, s, 3), np.uint8)
        path = self._dir(video_idx) / "frames.bin"
        try:
            f = open(path, "rb")
        except OSError as exc:
            raise ValueError(f"video {vid}: cannot open frames.bin ({exc})") from None
        with f:
            for j, i in enumerate(idx):
                if not 0 <= i < n_frames:
                    raise IndexError(f"video {vid}: frame {i} out of range (0..{n_frames - 1})")
                f.seek(int(off[i]))
                img = decode_jpeg(f.read(int(off[i + 1] - off[i])))
                if img is None or img.shape != (s, s, 3):
                    raise ValueError(f"video {vid}: frame {i} is corrupt")
                out[j] = img
        return out

    def split(self, held_out: int, seed: int = 0) -> tuple[list[int], list[int]]:
        """Random split of video indices into (train, held_out) lists, deterministic in ``seed``."""
        if not 0 <= held_out < len(self):
            raise ValueError(f"held_out must be in 0..{len(self) - 1} for {len(self)} videos, got {held_out}")
        perm = np.random.default_rng(seed).permutation(len(self))
        return sorted(perm[held_out:].tolist()), sorted(perm[:held_out].tolist())
