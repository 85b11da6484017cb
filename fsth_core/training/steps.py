"""One adversarial update pair, shared by meta-learning and few-shot fine-tuning.

Both stages alternate an E+G (or G only) update and a D update with the same losses; they
differ in where ψ and the discriminator's projection vector come from:
meta-learning: ψ = P·E(frames), projection W_i + w0;  fine-tuning: trainable ψ' and w'.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from fsth_core.models.discriminator import Discriminator
from fsth_core.models.losses import GeneratorLoss, LossOutput, discriminator_loss


@dataclass
class StepResult:
    gen: LossOutput
    dis: LossOutput
    fake: torch.Tensor  # [B,3,S,S] generated frames (detached)

    def scalars(self) -> dict[str, float]:
        out = {f"G/{k}": v for k, v in self.gen.scalars().items()}
        out.update({f"D/{k}": v for k, v in self.dis.scalars().items()})
        return out


Optimizers = torch.optim.Optimizer | Sequence[torch.optim.Optimizer]


def _all(opt: Optimizers) -> tuple[torch.optim.Optimizer, ...]:
    return tuple(opt) if isinstance(opt, (list, tuple)) else (opt,)


class AdversarialUpdate:
    """Alternating generator/discriminator updates.

    Args:
        discriminator: D (its parameters are only changed by ``dis_opt``).
        gen_params / dis_params: what each optimizer trains.
        gen_opt / dis_opt: the optimizers (or a sequence of them, stepped together: meta-learning
            updates W's rows with its own, see lazy_adam.py).
        gen_loss: the generator objective.
        autocast: context factory for the forward passes (mixed precision).
        reduce_grads: called after each backward (distributed all-reduce), or None.
        fp16_device: for fp16, the device type ("cuda", "cpu", ...): the E+G and the D update then each
            scale their loss with a GradScaler of their own (their losses differ in size; an overflow in
            one does not shrink the other's scale), and the optimizers of one update step together or, when
            any of their gradients is not finite, all skip the step (W never moves while the rest of D
            skips).  None: no loss scaling.
    """

    def __init__(self, *, discriminator: Discriminator, gen_params: Sequence[nn.Parameter],
                 dis_params: Sequence[nn.Parameter], gen_opt: Optimizers, dis_opt: Optimizers,
                 gen_loss: GeneratorLoss, autocast: Callable,
                 reduce_grads: Callable | None = None, fp16_device: str | None = None):
        self.d = discriminator
        self.gen_params, self.dis_params = list(gen_params), list(dis_params)
        self.gen_opt, self.dis_opt = _all(gen_opt), _all(dis_opt)
        self.gen_loss = gen_loss
        self.autocast = autocast
        self.reduce_grads = reduce_grads
        self.scalers: dict[str, torch.amp.GradScaler] = (
            {"gen": torch.amp.GradScaler(fp16_device), "dis": torch.amp.GradScaler(fp16_device)}
            if fp16_device else {})
        self.skipped = {"gen": 0, "dis": 0}  # fp16 steps skipped for a non-finite gradient

    def _apply(self, loss: torch.Tensor, opts: tuple[torch.optim.Optimizer, ...], params: list, which: str) -> None:
        for opt in opts:
            opt.zero_grad(set_to_none=True)
        scaler = self.scalers.get(which)
        (scaler.scale(loss) if scaler else loss).backward()
        if self.reduce_grads is not None:
            self.reduce_grads(params)
        if scaler is None:
            for opt in opts:
                opt.step()
            return
        for opt in opts:
            scaler.unscale_(opt)
        if _finite([p.grad for p in params if p.grad is not None]):
            for opt in opts:
                scaler.step(opt)  # finite: each steps (its own inf check agrees)
        else:
            self.skipped[which] += 1  # all skip together; update() lowers the scale
        scaler.update()

    def gen_update(self, render: Callable[[], torch.Tensor], real: torch.Tensor, y: torch.Tensor,
                   proj: Callable[[], torch.Tensor], match: Callable[[], tuple] | None = None
                   ) -> tuple[LossOutput, torch.Tensor]:
        """E+G step.  ``render()`` -> fake [B,3,S,S]; ``proj()`` -> D's projection [B|1,D];
        ``match()`` -> (W_i, ê_i) for L_MCH.  D is frozen during this step."""
        self.d.requires_grad_(False)
        try:
            with self.autocast():
                fake = render()
                w = proj()
                r_fake, fake_feats = self.d(fake, y, w=w)
                with torch.no_grad():
                    _, real_feats = self.d(real, y, w=w)
                wi, ei = match() if match is not None else (None, None)
                out = self.gen_loss(fake, real, r_fake, fake_feats, real_feats, w=wi, e=ei)
            self._apply(out.total, self.gen_opt, self.gen_params, "gen")
        finally:
            self.d.requires_grad_(True)
        return out, fake.detach()

    def dis_update(self, fake: torch.Tensor, real: torch.Tensor, y: torch.Tensor,
                   proj: Callable[[], torch.Tensor], match: Callable[[], tuple] | None = None) -> LossOutput:
        """D step on detached fakes; with ``match`` also pulls W_i towards (detached) ê_i."""
        with self.autocast():
            w = proj()
            r_real, _ = self.d(real, y, w=w)
            r_fake, _ = self.d(fake.detach(), y, w=w)
            wi, ei = match() if match is not None else (None, None)
            out = discriminator_loss(r_real, r_fake, self.gen_loss.weights, w=wi, e=ei)
        self._apply(out.total, self.dis_opt, self.dis_params, "dis")
        return out

    def scaler_state(self) -> dict | None:
        """fp16: each GradScaler's state (scale, growth tracker) for a checkpoint; None without."""
        if not self.scalers:
            return None
        return {name: {k: (v.item() if isinstance(v, torch.Tensor) else v) for k, v in sc.state_dict().items()}
                for name, sc in self.scalers.items()}

    def load_scaler_state(self, state: dict | None) -> None:
        """Restore :meth:`scaler_state` (a checkpoint from before the two scalers holds one state: both get it)."""
        if not self.scalers or not state:
            return
        for name, sc in self.scalers.items():
            sc.load_state_dict(state[name] if name in state else state)


def _finite(grads: list[torch.Tensor]) -> bool:
    """Whether every gradient (dense, or a sparse one's values) is finite: one sync for all of them."""
    if not grads:
        return True
    vals = [g.coalesce().values() if g.is_sparse else g for g in grads]
    return bool(torch.stack([torch.isfinite(v).all() for v in vals]).all())
