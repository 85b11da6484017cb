"""What training reads: the training videos (a seeded split), their K-shot episodes, and the loader.

Batches are step-indexed: the episodes of training step ``s`` depend only on (seed, s, rank).  That makes
``--resume`` exact (a resumed run sees the same batches as an uninterrupted one) and shards videos over
distributed ranks (each rank samples different videos).  Data workers never change a batch either.
"""
from __future__ import annotations

import logging
import os
import signal
from collections.abc import Iterator

import numpy as np
import torch
from torch.utils.data import DataLoader, Sampler

from fsth_core.data.episodes import EpisodeDataset
from fsth_core.data.groups import split_videos
from fsth_core.data.store import TrainingSet
from fsth_core.data.warp_episodes import WarpGuidedEpisodes
from fsth_core.models.config import ModelConfig

log = logging.getLogger("fsth")


class StepBatchSampler(Sampler):
    """Yields batches of ``(epoch, item)`` from ``start_step`` to ``end_step``.

    Each epoch is a seeded permutation of ``range(length)``; rank ``r`` of ``world`` takes every
    ``world``-th entry of the global stream, which is cut into batches of ``batch`` per rank.
    """

    def __init__(self, length: int, batch: int, seed: int, start_step: int, end_step: int,
                 rank: int = 0, world: int = 1):
        if length < 1 or batch < 1:
            raise ValueError("need at least one episode and a batch size >= 1")
        self.length, self.batch, self.seed = length, batch, seed
        self.start, self.end, self.rank, self.world = start_step, end_step, rank, world

    def __len__(self) -> int:
        return max(0, self.end - self.start)

    def _entry(self, g: int) -> tuple[int, int]:
        """Global stream position -> (epoch, item)."""
        epoch, pos = divmod(g, self.length)
        order = self._order(epoch)
        return epoch, int(order[pos])

    def _order(self, epoch: int) -> np.ndarray:
        if getattr(self, "_cached", (None,))[0] != epoch:
            self._cached = (epoch, np.random.default_rng([self.seed, epoch]).permutation(self.length))
        return self._cached[1]

    def batch_at(self, step: int) -> list[tuple[int, int]]:
        first = step * self.batch * self.world
        return [self._entry(first + j * self.world + self.rank) for j in range(self.batch)]

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        for step in range(self.start, self.end):
            yield self.batch_at(step)


def training_split(opt, ts=None, warn: bool = True):
    """(training set, its :class:`~fsth_core.data.groups.VideoSplit`): clips grouped into videos at
    ``opt.video_level``, ``opt.held_out`` speakers held out (a one-line warning when that split cannot be
    speaker-disjoint).  ``opt``: a TrainOptions."""
    ts = ts if ts is not None else TrainingSet(opt.data)
    split = split_videos(ts.video_ids, opt.held_out, opt.seed, opt.video_level)
    if split.warning and warn:
        log.warning("%s: %s", opt.data, split.warning)
    return ts, split


def episode_dataset(opt, config: ModelConfig, ts, split):
    """Episode dataset of the training videos (W column j: ``split.train[j]``) at the model's resolution,
    with the warp guide the model's config asks for."""
    ds = EpisodeDataset(ts, k=opt.k, videos=split.train, seed=opt.seed, image_size=config.image_size)
    if config.warp_guided:
        ds = WarpGuidedEpisodes(ds, region=config.paint_region)
    return ds


def collate(items: list[dict]) -> dict:
    """Episodes -> one batch: tensors stacked, numbers made a tensor."""
    out = {}
    for key in items[0]:
        vals = [it[key] for it in items]
        out[key] = torch.stack(vals) if isinstance(vals[0], torch.Tensor) else torch.tensor(vals)
    return out


def default_workers() -> int:
    """Data-loading processes per training process: min(4, its share of the CPUs - 1) (torchrun's
    LOCAL_WORLD_SIZE processes on one machine share its CPUs)."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    per_process = cpus // max(1, int(os.environ.get("LOCAL_WORLD_SIZE", "1")))
    return min(4, max(0, per_process - 1))


def episode_loader(ds, sampler: StepBatchSampler, workers: int | None = None, pin: bool = False,
                   prefetch: int = 2) -> DataLoader:
    """Batches of episodes from the prepared store: ``workers`` processes (None: :func:`default_workers`;
    0: in this process) each keep ``prefetch`` batches ready, pinned for an asynchronous copy to CUDA with
    ``pin``.  A batch depends only on (seed, step, rank), never on the workers (episodes.py)."""
    workers = default_workers() if workers is None else int(workers)
    return DataLoader(ds, batch_sampler=sampler, num_workers=workers, collate_fn=collate, pin_memory=pin,
                      persistent_workers=False, worker_init_fn=_data_worker if workers else None,
                      prefetch_factor=prefetch if workers else None)


def _data_worker(_: int) -> None:
    """A data worker: one torch thread (the workers are the parallelism; more threads each would fight
    the trainer's), and SIGINT/SIGTERM left to the main process, which checkpoints and stops them.
    (Not ``cv2.setNumThreads``: in a forked worker whose parent used OpenCV's thread pool it hangs.)"""
    torch.set_num_threads(1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
