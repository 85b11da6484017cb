"""Step-indexed batches: the episodes of training step ``s`` depend only on (seed, s, rank).

That makes ``--resume`` exact (a resumed run sees the same batches as an uninterrupted one)
and shards videos over distributed ranks (each rank samples different videos).
"""
from __future__ import annotations

from typing import Iterator

import numpy as np
from torch.utils.data import Sampler


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
