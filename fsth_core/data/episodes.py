"""Meta-learning episodes: K frames of one video for the embedder plus one target frame.

Item ``i`` of :class:`EpisodeDataset` is an episode of video ``video_indices[i % n]``.  Frame
choice is a deterministic function of ``(seed, epoch, i)``.  The epoch comes either from
:meth:`EpisodeDataset.set_epoch` (with ``torch.utils.data.DistributedSampler`` or any sampler
of ints) or travels with the index when the dataset is indexed by ``(epoch, i)`` tuples, which
:class:`EpisodeSampler` yields — the robust choice with persistent DataLoader workers.
"""
from __future__ import annotations

import math
from typing import Iterator, Sequence

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from fsth_core.data.store import TrainingSet
from fsth_core.imaging import to_network
from fsth_core.landmarks.render import draw_landmarks


class EpisodeDataset(Dataset):
    """Episodes of ``k`` + 1 frames from a :class:`TrainingSet`.

    Args:
        train_set: the training set (or its folder).
        k: frames given to the embedder (the paper: 8).
        video_indices: videos of ``train_set`` to use (default: all), e.g. from ``split()``.
        seed: base seed of the frame choice.
        image_size: resize frames and landmarks to this side (default: the set's own size).
        episodes_per_video: items per video per epoch (an epoch has ``n * episodes_per_video`` items).

    An item is a dict: ``frames`` float [K, 3, S, S] and ``landmark_images`` [K, 3, S, S],
    ``target`` [3, S, S] and ``target_landmark_image`` [3, S, S], all in [-1, 1];
    ``target_landmarks`` float [68, 2] in pixels; ``frame_indices`` int64 [K + 1] (target last);
    ``video_index`` int: position of the video in ``video_indices`` (the discriminator's column).
    Videos shorter than K + 1 frames are sampled with replacement.
    """

    def __init__(self, train_set: TrainingSet | str, k: int = 8, video_indices: Sequence[int] | None = None,
                 seed: int = 0, image_size: int | None = None, episodes_per_video: int = 1):
        self.train_set = train_set if isinstance(train_set, TrainingSet) else TrainingSet(train_set)
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        if episodes_per_video < 1:
            raise ValueError(f"episodes_per_video must be >= 1, got {episodes_per_video}")
        self.k, self.seed, self.episodes_per_video = int(k), int(seed), int(episodes_per_video)
        n = len(self.train_set)
        self.video_indices = list(range(n)) if video_indices is None else [int(v) for v in video_indices]
        if not self.video_indices:
            raise ValueError("video_indices is empty")
        bad = [v for v in self.video_indices if not 0 <= v < n]
        if bad:
            raise ValueError(f"video_indices out of range for {n} videos: {bad[:5]}")
        self.image_size = int(image_size or self.train_set.image_size)
        self.epoch = 0

    @property
    def num_videos(self) -> int:
        return len(self.video_indices)

    def __len__(self) -> int:
        return self.num_videos * self.episodes_per_video

    def set_epoch(self, epoch: int) -> None:
        """Epoch used for items indexed by a plain int."""
        self.epoch = int(epoch)

    def choose_frames(self, epoch: int, item: int) -> np.ndarray:
        """int64 [K + 1] frame indices of episode ``item`` in ``epoch`` (target last)."""
        video = self.video_indices[item % self.num_videos]
        n_frames = self.train_set.num_frames(video)
        rng = np.random.default_rng([self.seed, epoch, item])
        return rng.choice(n_frames, size=self.k + 1, replace=n_frames < self.k + 1).astype(np.int64)

    def __getitem__(self, index: int | tuple[int, int]) -> dict:
        epoch, item = (int(index[0]), int(index[1])) if isinstance(index, (tuple, list)) else (self.epoch, int(index))
        if not 0 <= item < len(self):
            raise IndexError(f"episode {item} out of range (0..{len(self) - 1})")
        pos = item % self.num_videos
        video = self.video_indices[pos]
        chosen = self.choose_frames(epoch, item)
        frames = self.train_set.frames(video, chosen)
        points = self.train_set.landmarks(video)[chosen]
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
