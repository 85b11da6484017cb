"""``prepare``: a tree of videos (VoxCeleb2's id/video/clip.mp4, or any folder) -> a training set.

Per video: landmarks (streamed, tracked), one stable head-crop box over the clip, then the frames
cropped at the preset's size and written with their landmarks.  Videos are processed by a pool
of workers; each is written to a ``.partial`` folder and published when complete, so an
interrupted run resumes without redoing finished videos.  Skipped videos are summarized.
"""
from __future__ import annotations

import hashlib
import os
import re
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from fsth_core.data.store import ClipWriter, DatasetWriter, check_trainset_out, finished_videos
from fsth_core.io.media import iter_frames
from fsth_core.landmarks.crop import head_crop_box
from fsth_core.landmarks.track import extract_landmarks
from fsth_core.options import VIDEO_EXTS


@dataclass(frozen=True)
class PrepareOptions:
    size: int = 256
    max_frames: int = 0          # 0: all frames
    frame_step: int = 1          # keep every n-th frame
    min_found: float = 0.5       # skip a video when fewer frames than this have a detected face
    backend: str = "dlib"
    smoothing: float = 0.0
    workers: int = 2
    quality: int = 95

    def __post_init__(self) -> None:
        checks = [("size", self.size, 16, 2048), ("max_frames", self.max_frames, 0, None),
                  ("frame_step", self.frame_step, 1, None), ("workers", self.workers, 0, 256),
                  ("quality", self.quality, 1, 100)]
        for name, v, lo, hi in checks:
            if isinstance(v, bool) or not isinstance(v, int) or v < lo or (hi is not None and v > hi):
                raise ValueError(f"{name} must be an integer in {lo}..{hi if hi is not None else ''}, got {v!r}")
        if not 0.0 <= self.min_found <= 1.0:
            raise ValueError(f"min_found must be in [0, 1], got {self.min_found!r}")


@dataclass
class PrepareSummary:
    written: list[str] = field(default_factory=list)
    already_done: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # video id -> reason
    on_disk: int = 0  # videos in the training set after the run, counted from its folder

    def lines(self) -> list[str]:
        out = [f"{len(self.written)} videos written, {len(self.already_done)} already done, "
               f"{len(self.skipped)} skipped; the training set holds {self.on_disk} videos"]
        out += [f"  skipped {vid}: {why}" for vid, why in sorted(self.skipped.items())]
        return out


def _slug(rel: Path) -> str:
    joined = "__".join(rel.with_suffix("").parts)
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", joined).strip("._-")[:100] or "video"


def find_videos(root: str | os.PathLike) -> list[tuple[str, Path]]:
    """(video id, path) for every video file under ``root``.

    The id joins the relative path's parts (``id001/vidA/00001.mp4`` -> ``id001__vidA__00001``).
    When that is not the exact path (other characters than ASCII letters, digits, ``_.-``) or two
    videos would get the same id (``a.mp4`` and ``a.mov``; ids differing only in case), each of
    them gets ``-`` and a short hash of its relative path appended: ids are unique, and the
    training set's index records each video's source path.
    """
    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"{root}: not a folder of videos")
    found = [p for p in sorted(root.rglob("*")) if p.suffix.lower() in VIDEO_EXTS and p.is_file()]
    if not found:
        raise ValueError(f"{root}: no video files ({', '.join(sorted(VIDEO_EXTS))}) found")
    rels = [p.relative_to(root) for p in found]
    slugs = [_slug(r) for r in rels]
    count = Counter(s.lower() for s in slugs)
    out = []
    for p, rel, slug in zip(found, rels, slugs):
        exact = slug == "__".join(rel.with_suffix("").parts)
        if not exact or count[slug.lower()] > 1:
            slug += "-" + hashlib.sha1(rel.as_posix().encode("utf-8", "surrogateescape")).hexdigest()[:8]
        out.append((slug, p))
    return out


def _keep(i: int, opt: PrepareOptions) -> bool:
    return i % opt.frame_step == 0 and (not opt.max_frames or i // opt.frame_step < opt.max_frames)


def prepare_video(root: str, video_id: str, path: str, opt: PrepareOptions) -> tuple[str, dict | None, str]:
    """Worker: one video -> (id, meta or None, reason when skipped)."""
    try:
        kept = (f for i, f in enumerate(iter_frames(path)) if _keep(i, opt))
        res = extract_landmarks(kept, backend=opt.backend, smoothing=opt.smoothing, progress=False, name=path)
    except (ValueError, OSError, RuntimeError) as exc:
        return video_id, None, str(exc).splitlines()[0][:200]
    found = float(np.mean(res.found))
    if found < opt.min_found:
        return video_id, None, f"a face in only {found:.0%} of the frames"
    box = head_crop_box(res.points, res.image_size)
    pts = box.points_to_crop(res.points, opt.size)
    vw = ClipWriter(Path(root), video_id, opt.size, str(path), opt.quality)
    try:
        n = 0
        for i, frame in enumerate(iter_frames(path)):
            if not _keep(i, opt):
                continue
            if n >= len(pts):
                break
            vw.add(box.apply(np.ascontiguousarray(frame[..., :3]), opt.size), pts[n])
            n += 1
        return video_id, vw.commit(), ""
    except BaseException:
        vw.abort()
        raise


def prepare(videos: str | os.PathLike, out: str | os.PathLike, options: PrepareOptions = PrepareOptions(),
            progress: bool = True) -> PrepareSummary:
    """Turn every video under ``videos`` into the training set ``out`` (resumable)."""
    todo = find_videos(videos)
    check_trainset_out(out, videos)
    summary = PrepareSummary()
    with DatasetWriter(out, options.size, quality=options.quality) as writer:
        pending = []
        for vid, p in todo:
            (summary.already_done.append(vid) if writer.done(vid) else pending.append((vid, p)))
        bar = tqdm(total=len(todo), initial=len(summary.already_done), desc="prepare", unit="video",
                   disable=not progress, dynamic_ncols=True)
        try:
            if options.workers <= 1:
                results = (prepare_video(str(out), v, str(p), options) for v, p in pending)
                for r in results:
                    _record(r, writer, summary, bar)
            else:
                with ProcessPoolExecutor(options.workers) as pool:
                    futs = [pool.submit(prepare_video, str(out), v, str(p), options) for v, p in pending]
                    for f in as_completed(futs):
                        _record(f.result(), writer, summary, bar)
        finally:
            bar.close()
    summary.on_disk = len(finished_videos(Path(out)))
    return summary


def _record(result: tuple[str, dict | None, str], writer: DatasetWriter, summary: PrepareSummary, bar) -> None:
    vid, meta, why = result
    if meta is None:
        summary.skipped[vid] = why
    else:
        writer.add_finished(meta)
        summary.written.append(vid)
    bar.update(1)
