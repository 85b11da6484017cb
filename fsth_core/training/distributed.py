"""Data-parallel helpers over torch.distributed (NCCL on GPUs, Gloo on CPU).

Launched by ``torchrun``: each rank samples different videos, gradients are averaged with one
all-reduce per parameter group after every backward, so all weights (W included) stay identical.
W's gradient is sparse (the rows of the sampled videos): the ranks all-gather those rows instead of
all-reducing W whole.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world > 1


def init_from_env(device_type: str) -> DistInfo:
    """Join the process group torchrun set up (no-op for a single process)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device_type == "cuda" else "gloo")
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if device_type == "cuda":
        torch.cuda.set_device(local)
    return DistInfo(dist.get_rank(), dist.get_world_size(), local)


def broadcast_module(module: torch.nn.Module) -> None:
    """Copy rank 0's parameters and buffers to every rank."""
    if dist.is_initialized() and dist.get_world_size() > 1:
        for t in list(module.parameters()) + list(module.buffers()):
            dist.broadcast(t.data, src=0)


def all_reduce_grads(params: list[torch.nn.Parameter]) -> None:
    """Average gradients over ranks: dense ones in one flattened all-reduce, sparse ones (W's sampled
    rows) by gathering every rank's rows (:func:`all_reduce_sparse`)."""
    if not (dist.is_initialized() and dist.get_world_size() > 1):
        return
    for p in params:
        if p.grad is not None and p.grad.is_sparse:
            p.grad = all_reduce_sparse(p.grad)
    grads = [p.grad for p in params if p.grad is not None and not p.grad.is_sparse]
    if not grads:
        return
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    flat /= dist.get_world_size()
    offset = 0
    for g in grads:
        n = g.numel()
        g.copy_(flat[offset:offset + n].view_as(g))
        offset += n


def all_reduce_sparse(grad: torch.Tensor) -> torch.Tensor:
    """The mean over ranks of a sparse COO row gradient (indices [1, n], values [n, D]): every rank
    gathers all ranks' rows, in rank order, and coalesces them the same way, so all get the same sum."""
    world = dist.get_world_size()
    g = grad.coalesce()
    idx, vals = g.indices()[0], g.values()
    count = torch.tensor([idx.numel()], device=idx.device)
    counts = [torch.zeros_like(count) for _ in range(world)]
    dist.all_gather(counts, count)
    n = [int(c) for c in counts]
    size = max(n)
    pad_i = torch.zeros(size, dtype=idx.dtype, device=idx.device)
    pad_v = torch.zeros((size,) + tuple(vals.shape[1:]), dtype=vals.dtype, device=vals.device)
    pad_i[:len(idx)], pad_v[:len(idx)] = idx, vals
    all_i, all_v = [torch.empty_like(pad_i) for _ in range(world)], [torch.empty_like(pad_v) for _ in range(world)]
    dist.all_gather(all_i, pad_i)
    dist.all_gather(all_v, pad_v)
    rows = torch.cat([t[:k] for t, k in zip(all_i, n)])
    values = torch.cat([t[:k] for t, k in zip(all_v, n)]) / world
    return torch.sparse_coo_tensor(rows[None], values, g.shape, check_invariants=False).coalesce()


def barrier() -> None:
    if dist.is_initialized() and dist.get_world_size() > 1:
        dist.barrier()

