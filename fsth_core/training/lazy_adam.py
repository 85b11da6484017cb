"""Adam for the discriminator's W: only the rows (videos) a step sampled are read or written.

W has one row per training video (VoxCeleb2: ≈145k × 512); a step samples a batch of them.  Its
gradient is sparse (an embedding lookup, :meth:`Discriminator.video_columns`), and :class:`LazyAdam`
updates only the rows it holds.  A touched row's moments first catch up the decay dense Adam would have
applied while the row had no gradient (m·β1^Δ, v·β2^Δ over the Δ skipped steps), so its m and v, and
its update at this step, are dense Adam's.  What dense Adam does and this does not: keep moving a row by
its decaying momentum on the steps after its video was sampled (with β1 = 0.5, about as far again as
the sampled step itself).  Rows without a gradient, their moments and their step stamps stay bit for bit.
"""
from __future__ import annotations

import torch


class LazyAdam(torch.optim.Optimizer):
    """Adam (torch's formula, no weight decay) on the rows of 2-D parameters that have a gradient.

    Gradients may be sparse COO (rows = ``indices()[0]``, as ``F.embedding(..., sparse=True)`` gives) or
    dense (then the rows with any non-zero entry).  State per parameter: ``step`` (int64, steps taken),
    ``exp_avg`` and ``exp_avg_sq`` (like the parameter), ``last`` (int64 [rows]: the step that last
    updated each row, 0 = never).
    """

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8):
        if lr <= 0 or eps <= 0 or not all(0 <= b < 1 for b in betas):
            raise ValueError(f"invalid LazyAdam settings: lr {lr}, betas {betas}, eps {eps}")
        super().__init__(params, {"lr": lr, "betas": tuple(betas), "eps": eps})

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    self._update(p, group)
        return loss

    def _update(self, p: torch.Tensor, group: dict) -> None:
        if p.dim() != 2:
            raise ValueError(f"LazyAdam updates rows of 2-D parameters, got shape {list(p.shape)}")
        g = p.grad
        if g.is_sparse:
            g = g.coalesce()
            rows, vals = g.indices()[0], g.values()
        else:
            rows = g.ne(0).any(dim=1).nonzero().squeeze(1)
            vals = g[rows]
        state = self.state[p]
        if not state:
            state["step"] = torch.zeros((), dtype=torch.int64)
            state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
            state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
            state["last"] = torch.zeros(p.shape[0], dtype=torch.int64, device=p.device)
        t = int(state["step"]) + 1
        state["step"].fill_(t)
        if rows.numel() == 0:
            return
        beta1, beta2 = group["betas"]
        gap = (t - 1 - state["last"][rows]).to(torch.float64)[:, None]  # steps the rows went without a gradient
        m = state["exp_avg"][rows] * torch.pow(beta1, gap).to(p.dtype)
        v = state["exp_avg_sq"][rows] * torch.pow(beta2, gap).to(p.dtype)
        m.lerp_(vals.to(p.dtype), 1 - beta1)
        v.mul_(beta2).addcmul_(vals, vals, value=1 - beta2)
        step_size = group["lr"] / (1 - beta1 ** t)
        denom = (v.sqrt() / (1 - beta2 ** t) ** 0.5).add_(group["eps"])  # torch Adam's order of operations
        p.index_copy_(0, rows, p[rows].addcdiv_(m, denom, value=-step_size))
        state["exp_avg"].index_copy_(0, rows, m)
        state["exp_avg_sq"].index_copy_(0, rows, v)
        state["last"].index_fill_(0, rows, t)

    def load_state_dict(self, state_dict: dict) -> None:
        """As torch's, but the int64 ``last`` stamps are not cast to the parameter's float dtype."""
        lasts = {k: s["last"] for k, s in state_dict["state"].items() if "last" in s}
        rest = {k: {f: v for f, v in s.items() if f != "last"} for k, s in state_dict["state"].items()}
        super().load_state_dict({**state_dict, "state": rest})
        params = [p for g in self.param_groups for p in g["params"]]
        for k, last in lasts.items():
            p = params[int(k)]
            self.state[p]["last"] = last.to(device=p.device, dtype=torch.int64)
            self.state[p]["step"] = self.state[p]["step"].to(torch.int64)
