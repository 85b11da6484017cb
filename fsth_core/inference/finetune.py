"""Few-shot fine-tuning (the paper's stage 2) on the T images of one person, and the personalize step.

:func:`personalize` is how the command line, the nodes and the evaluation make a person for a model: the
identity embedded from the pictures, the fine-tuning options resolved from the checkpoint's recipe
(:func:`options_from_recipe`: the paper's defaults in fsth_core/options.py < the checkpoint's
recommendation < the caller's), then :func:`finetune` when they ask for steps.

Start from the meta-learned G and D (without W: a person needs only w0), set ψ' = P·ê and w' = w0 + ê,
then train G (with ψ') and D (with w') on the T frames with the content, adversarial and feature-matching losses (no
L_MCH).  Works on a copy: the caller's model is never changed.  Ctrl-C (KeyboardInterrupt or
InterruptedError, e.g. raised by the progress callback) stops and returns the state reached,
marked ``interrupted``; any other exception from the callback (a host's Cancel) propagates.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch
from torch import nn

from fsth_core.inference.animate_checks import check_finetune_options
from fsth_core.inference.finetune_pairs import training_pairs
from fsth_core.inference.pipeline import compute_identity
from fsth_core.inference.types import Identity, Progress, Sources
from fsth_core.models.config import LossWeights
from fsth_core.models.imaging import landmark_images, to_network
from fsth_core.models.losses import ContentLoss, GeneratorLoss
from fsth_core.models.model import TalkingHeadModel, clone_model
from fsth_core.models.weights import model_info
from fsth_core.options import ADAM_BETAS, D_STEPS, FINETUNE_PIXEL_L1, LR_D, LR_G, default_finetune_steps
from fsth_core.runtime.device import Execution, default_execution
from fsth_core.training.steps import AdversarialUpdate

default_steps = default_finetune_steps  # ~125 steps for T = 1 growing to ~230 for T >= 32 (fsth_core.options)


@dataclass(frozen=True)
class FinetuneOptions:
    steps: int | None = None     # None: default_steps(T)
    batch: int = 4
    lr_g: float = LR_G           # the paper's meta-learning rates
    lr_d: float = LR_D
    pixel_l1: float = FINETUNE_PIXEL_L1  # optional extra term (not in the paper)
    augment: int = 0             # warp-guided models: augmented pairs per source (finetune_pairs.py)
    seed: int = 0
    d_steps: int = D_STEPS       # D updates per G update, as in meta-learning (the recipe: the model's own)

    def __post_init__(self) -> None:
        check_finetune_options(self)  # one clear ValueError (batch 0 was an IndexError deep in the loop)


def recipe_from_training(training: dict) -> dict:
    """A model file's ``training`` metadata -> the fine-tuning recipe: its stored recommendation plus
    the meta-learning ``variant`` (``ft``, or ``ff`` for a model trained without L_MCH) and, unless the
    recommendation says otherwise, the ``d_steps`` it was meta-learned with."""
    meta_d = {"d_steps": training["d_steps"]} if "d_steps" in training else {}
    return {**meta_d, **dict(training.get("finetune", {})), "variant": training.get("variant", "ft")}


def finetune_recipe(model_path) -> dict:
    """The fine-tuning recipe of a model file (reads its metadata only): see ``recipe_from_training``."""
    return recipe_from_training(model_info(model_path).get("training", {}))


def options_from_recipe(recipe: dict, shots: int, **overrides) -> FinetuneOptions:
    """Fine-tuning options: the paper's defaults, then a checkpoint's stored recommendation
    (``steps``, ``lr_g``, ``lr_d``, ``pixel_l1``, ``augment``, ``d_steps``), then the caller's non-None
    ``overrides``.
    Refuses fine-tuning steps for an FF model (no embedding-match term: the paper cannot fine-tune it)."""
    base = FinetuneOptions()
    opts = {"steps": default_steps(shots), "lr_g": base.lr_g, "lr_d": base.lr_d, "pixel_l1": base.pixel_l1,
            "augment": base.augment, "d_steps": base.d_steps}
    opts.update({k: v for k, v in recipe.items() if k in opts})
    opts.update({k: v for k, v in overrides.items() if v is not None})
    opts["steps"], opts["augment"], opts["d_steps"] = int(opts["steps"]), int(opts["augment"]), int(opts["d_steps"])
    if recipe.get("variant") == "ff" and opts["steps"] > 0:
        raise ValueError("this model is the FF variant (meta-learned without the embedding-match loss), so "
                         "its W does not match ê and the paper's fine-tuning does not apply; use 0 fine-tuning "
                         "steps, or a model trained with --variant ft")
    return FinetuneOptions(**opts)


@dataclass
class FinetuneResult:
    model: TalkingHeadModel      # the fine-tuned copy (personalize without steps: the model itself)
    identity: Identity           # with ψ' and w'
    steps_done: int
    interrupted: bool
    losses: list[dict]
    options: FinetuneOptions | None = None  # what personalize resolved (None: finetune called directly)


class _Person(nn.Module):
    """Trainable ψ' and w' next to the copied G and D."""

    def __init__(self, psi: torch.Tensor, w: torch.Tensor):
        super().__init__()
        self.psi = nn.Parameter(psi.clone()[None])
        self.w = nn.Parameter(w.clone())


def finetune(model: TalkingHeadModel, identity: Identity, sources: Sources,
             options: FinetuneOptions = FinetuneOptions(), execution: Execution | None = None,
             progress: Progress | None = None, content: ContentLoss | None = None) -> FinetuneResult:
    """Fine-tune a copy of ``model`` on ``sources`` (crops [T,S,S,3], points [T,68,2])."""
    ex = (execution or default_execution(model.config)).training()
    shots = len(sources.crops)
    steps = options.steps if options.steps is not None else default_steps(shots)
    m = ex.prepare_module(clone_model(model, keep_w=False).train())  # one person: w', never W
    m.embedder.requires_grad_(False)
    person = _Person(identity.psi, identity.w).to(ex.device)
    gen_params = list(m.generator.parameters()) + [person.psi]
    dis_params = [p for p in m.discriminator.parameters() if p is not m.discriminator.video_w] + [person.w]
    g_opt = torch.optim.Adam(gen_params, lr=options.lr_g, betas=ADAM_BETAS)
    d_opt = torch.optim.Adam(dis_params, lr=options.lr_d, betas=ADAM_BETAS)
    content = content if content is not None else ContentLoss.from_installed(ex.device)
    update = AdversarialUpdate(discriminator=m.discriminator, gen_params=gen_params, dis_params=dis_params,
                               gen_opt=g_opt, dis_opt=d_opt,
                               gen_loss=GeneratorLoss(LossWeights(pixel_l1=options.pixel_l1), content, match=False),
                               autocast=ex.autocast,
                               fp16_device=ex.device.type if ex.dtype == torch.float16 else None)
    if m.config.warp_guided:  # the first source warped to each source, plus augmented pairs
        frames, lms, g_in = training_pairs(sources, identity, m.config.paint_region, options.augment,
                                           options.seed, landmark_images)
    else:
        frames = to_network(sources.crops)
        lms = g_in = landmark_images(sources.points, m.config.image_size)
    t = len(frames)  # training pairs
    rng = np.random.default_rng(options.seed)
    losses, done, interrupted = [], 0, False
    try:
        for step in range(steps):
            idx = torch.from_numpy(rng.choice(t, size=min(options.batch, t), replace=t < options.batch))
            real, y, gi = (ex.input(v[idx]) for v in (frames, lms, g_in))
            gen, fake = update.gen_update(lambda gi=gi: m.generator(gi, person.psi), real, y, lambda: person.w)
            for _ in range(options.d_steps):  # as meta-learning does (its --d-steps)
                dis = update.dis_update(fake, real, y, lambda: person.w)
            done = step + 1
            losses.append({**{f"G/{k}": v for k, v in gen.scalars().items()},
                           **{f"D/{k}": v for k, v in dis.scalars().items()}})
            if progress:
                progress(done, steps)
    except (KeyboardInterrupt, InterruptedError):  # other exceptions (a host's Cancel) propagate
        interrupted = True
    m.eval()
    out = replace(identity, psi=person.psi.detach()[0].cpu(), w=person.w.detach().cpu(),
                  finetune_steps=identity.finetune_steps + done, shots=shots)
    return FinetuneResult(m.cpu(), out, done, interrupted, losses)


def personalize(model: TalkingHeadModel, sources: Sources, recipe: dict | None = None,
                execution: Execution | None = None, progress: Progress | None = None, *,
                content: ContentLoss | None = None, on_start=None, **overrides) -> FinetuneResult:
    """The person for ``model`` from ``sources``: the identity (ê, ψ, w: ``compute_identity``), then, when the
    options ask for steps, fine-tuning (:func:`finetune`) -> its result, with the options it ran with.

    The options are resolved by :func:`options_from_recipe` from ``recipe`` (the checkpoint's: see
    :func:`finetune_recipe`) and the non-None ``overrides`` (``steps``, ``lr_g``, ``lr_d``, ``pixel_l1``,
    ``d_steps``, ``batch``, ``seed``, ``augment``).  ``on_start(options)`` is called just before
    fine-tuning starts (a progress bar, room on a GPU); ``progress`` and ``content`` are passed to
    :func:`finetune`.  Without steps the result holds ``model`` itself and the embedded identity.
    """
    identity = compute_identity(model, sources, execution)
    opts = options_from_recipe(recipe or {}, len(sources.crops), **overrides)
    if opts.steps == 0:
        return FinetuneResult(model, identity, 0, False, [], opts)
    if on_start is not None:
        on_start(opts)
    return replace(finetune(model, identity, sources, opts, execution, progress, content), options=opts)
