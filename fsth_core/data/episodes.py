"""Meta-learning episodes: K frames of one video for the embedder plus one target frame.

Item ``i`` of :class:`EpisodeDataset` is an episode of video ``videos[i % n]`` (a video: one or more
clips of the training set).  Frame
choice is a deterministic function of ``(seed, epoch, i)``.  The epoch comes either from
:meth:`EpisodeDataset.set_epoch` (with ``torch.utils.data.DistributedSampler`` or any sampler
of ints) or travels with the index when the dataset is indexed by ``(epoch, i)`` tuples, which
:class:`EpisodeSampler` yields — the robust choice with persistent DataLoader workers.
"""
from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from fsth_core.data.store import TrainingSet
from fsth_core.landmarks.render import draw_landmarks
from fsth_core.models.imaging import to_network


class EpisodeDataset(Dataset):
    """Episodes of ``k`` + 1 frames of one video from a :class:`TrainingSet`.

    A video is one clip of the training set or several (``videos``: the clips of each video, e.g. from
    :func:`fsth_core.data.groups.split_videos`); an episode draws its K + 1 frames from across the
    clips of its video.

    Args:
        train_set: the training set (or its folder).
        k: frames given to the embedder (the paper: 8).
        video_indices: clips of ``train_set`` to use, each its own video (default: all); or
        videos: per video, its clip indices (not both).
        seed: base seed of the frame choice.
        image_size: resize frames and landmarks to this side (default: the set's own size).
        episodes_per_video: items per video per epoch (an epoch has ``n * episodes_per_video`` items).

    An item is a dict: ``frames`` float [K, 3, S, S] and ``landmark_images`` [K, 3, S, S],
    ``target`` [3, S, S] and ``target_landmark_image`` [3, S, S], all in [-1, 1];
    ``target_landmarks`` float [68, 2] in pixels; ``clip_indices`` and ``frame_indices`` int64 [K + 1]
    (each frame's clip in the training set and its index in that clip; target last);
    ``video_index`` int: position of the video in ``videos`` (the discriminator's column).
    Videos shorter than K + 1 frames (all clips together) are sampled with replacement.
    """

    def __init__(self, train_set: TrainingSet | str, k: int = 8, video_indices: Sequence[int] | None = None,
                 seed: int = 0, image_size: int | None = None, episodes_per_video: int = 1,
                 videos: Sequence[Sequence[int]] | None = None):
        self.train_set = train_set if isinstance(train_set, TrainingSet) else TrainingSet(train_set)
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        if episodes_per_video < 1:
            raise ValueError(f"episodes_per_video must be >= 1, got {episodes_per_video}")
        if videos is not None and video_indices is not None:
            raise ValueError("give video_indices (one clip per video) or videos (clips per video), not both")
        self.k, self.seed, self.episodes_per_video = int(k), int(seed), int(episodes_per_video)
        n = len(self.train_set)
        if videos is None:
            clips = range(n) if video_indices is None else video_indices
            videos = [[int(c)] for c in clips]
        self.videos = [[int(c) for c in v] for v in videos]
        if not self.videos or not all(self.videos):
            raise ValueError("video_indices/videos is empty, or a video has no clips")
        bad = [c for v in self.videos for c in v if not 0 <= c < n]
        if bad:
            raise ValueError(f"video_indices/videos out of range for {n} clips: {bad[:5]}")
        # per video: the first frame of each clip in the video's frames (clips concatenated), and the total
        self._starts = [np.cumsum([0] + [self.train_set.num_frames(c) for c in v]) for v in self.videos]
        self.image_size = int(image_size or self.train_set.image_size)
        self.epoch = 0

    @property
    def num_videos(self) -> int:
        return len(self.videos)

    @property
    def clip_indices(self) -> list[int]:
        """All clips of the dataset's videos."""
        return [c for v in self.videos for c in v]

    def __len__(self) -> int:
        return self.num_videos * self.episodes_per_video

    def set_epoch(self, epoch: int) -> None:
        """Epoch used for items indexed by a plain int."""
        self.epoch = int(epoch)

    def choose_frames(self, epoch: int, item: int) -> np.ndarray:
        """int64 [K + 1] frames of episode ``item`` in ``epoch`` (target last), numbered over the video's
        clips in order (for a one-clip video: the clip's frame indices)."""
        n_frames = int(self._starts[item % self.num_videos][-1])
        rng = np.random.default_rng([self.seed, epoch, item])
        return rng.choice(n_frames, size=self.k + 1, replace=n_frames < self.k + 1).astype(np.int64)

    def locate(self, pos: int, chosen: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Frames numbered over video ``pos``'s clips -> (clip indices, frame indices in those clips)."""
        starts = self._starts[pos]
        j = np.searchsorted(starts, chosen, side="right") - 1
        return np.asarray(self.videos[pos], np.int64)[j], (chosen - starts[j]).astype(np.int64)

    def _read(self, clips: np.ndarray, frames: np.ndarray) -> np.ndarray:
        """uint8 [n, S0, S0, 3] frames (one read per clip), in the order given."""
        out = None
        for c in dict.fromkeys(clips.tolist()):
            sel = np.flatnonzero(clips == c)
            got = self.train_set.frames(c, frames[sel])
            if out is None:
                out = np.empty((len(clips),) + got.shape[1:], got.dtype)
            out[sel] = got
        return out

    def __getitem__(self, index: int | tuple[int, int]) -> dict:
        epoch, item = (int(index[0]), int(index[1])) if isinstance(index, (tuple, list)) else (self.epoch, int(index))
        if not 0 <= item < len(self):
            raise IndexError(f"episode {item} out of range (0..{len(self) - 1})")
        pos = item % self.num_videos
        clips, chosen = self.locate(pos, self.choose_frames(epoch, item))
        frames = self._read(clips, chosen)
        points = np.stack([self.train_set.landmarks(c)[f] for c, f in zip(clips.tolist(), chosen.tolist())])
        s = self.image_size
        if s != self.train_set.image_size:
            frames = np.stack([cv2.resize(f, (s, s), interpolation=cv2.INTER_AREA) for f in frames])
            points = points * (s / self.train_set.image_size)
        marks = np.stack([draw_landmarks(p, s) for p in points])
        imgs, lm = to_network(frames), to_network(marks)
        return {
            "frames": imgs[:-1], "landmark_images": lm[:-1],
            "target": imgs[-1], "target_landmark_image": lm[-1],
            "target_landmarks": torch.from_numpy(np.ascontiguousarray(points[-1], np.float32)),
            "clip_indices": torch.from_numpy(clips),
            "frame_indices": torch.from_numpy(chosen),
            "video_index": pos,
        }


class EpisodeSampler(Sampler):
    """Yields ``(epoch, item)`` for an :class:`EpisodeDataset`, sharded over ranks.

    Each epoch is a permutation of ``range(length)`` (seeded by ``seed`` and the epoch, or the
    identity order when ``shuffle`` is False); rank ``r`` of ``world_size`` takes every
    ``world_size``-th item, padded by wrapping around so all ranks get the same count (like
    ``DistributedSampler``).  Call :meth:`set_epoch` before each epoch.
    """

    def __init__(self, length: int, shuffle: bool = True, seed: int = 0, rank: int = 0,
                 world_size: int = 1, drop_last: bool = False):
        if length < 1:
            raise ValueError(f"length must be >= 1, got {length}")
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} not in 0..{world_size - 1}")
        self.length, self.shuffle, self.seed = int(length), shuffle, int(seed)
        self.rank, self.world_size, self.drop_last = rank, world_size, drop_last
        self.epoch = 0
        self.num_samples = (length // world_size if drop_last
                            else math.ceil(length / world_size))

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return self.num_samples

    def __iter__(self) -> Iterator[tuple[int, int]]:
        if self.shuffle:
            order = np.random.default_rng([self.seed, self.epoch]).permutation(self.length).tolist()
        else:
            order = list(range(self.length))
        total = self.num_samples * self.world_size
        order = (order * (total // self.length + 1))[:total]
        for item in order[self.rank:total:self.world_size]:
            yield (self.epoch, item)
