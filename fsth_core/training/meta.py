"""Meta-learning (the paper's stage 1): K-shot episodes over many videos.

``train(options)`` is the whole loop: data, model, optimizers, alternating updates,
checkpoints (every N steps, at the end and on interruption), exact resume, logging,
and data-parallel training under torchrun.  What a run starts from and what ``--resume`` may change is
checked in resume.py, the data it reads (split, episodes, loader) come from sampling.py, the checkpoint
files are checkpoint.py's.
"""
from __future__ import annotations

import dataclasses
import hashlib
import logging
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import torch
from tqdm import tqdm

from fsth_core.models.config import LossWeights, ModelConfig
from fsth_core.models.losses import ContentLoss, GeneratorLoss
from fsth_core.models.model import TalkingHeadModel
from fsth_core.models.weights import model_info, save_model
from fsth_core.options import ADAM_BETAS, D_STEPS, LR_D, LR_G, VARIANTS
from fsth_core.runtime.device import Execution
from fsth_core.runtime.signals import sigterm_as_interrupt
from fsth_core.training import distributed as dist_util
from fsth_core.training.checkpoint import load_train_state, save_train_state
from fsth_core.training.lazy_adam import LazyAdam
from fsth_core.training.resume import (
    apply_learning_rates,
    check_out,
    check_pair,
    check_variant,
    describe_changes,
    model_file,
    model_preset,
    require_content,
    resume_changes,
    resumed_recipe,
    starting_model,
)
from fsth_core.training.sampling import StepBatchSampler, episode_dataset, episode_loader, training_split
from fsth_core.training.steps import AdversarialUpdate, StepResult

log = logging.getLogger("fsth")


@dataclass(frozen=True)
class TrainOptions:
    data: str
    out: str
    preset: str | None = None      # a fresh model's preset (None: tiny); --init/--resume train the file's own
    steps: int = 1000
    batch: int = 8
    k: int = 8
    variant: str = "ft"            # "ft" (with L_MCH, can be fine-tuned) or "ff"
    lr_g: float = LR_G             # E and G (the paper)
    lr_d: float = LR_D             # D (the paper)
    d_steps: int = D_STEPS         # D updates per E+G update (the paper: two, following SAGAN's TTUR)
    pixel_l1: float = 0.0          # optional extra term (not in the paper)
    checkpoint_every: int = 500
    seed: int = 0
    device: str = "auto"
    precision: str = "auto"
    workers: int | None = None     # data-loading processes; None: default_workers()
    held_out: int = 0              # speakers kept out of training, whole (a seeded split; data/groups.py)
    video_level: int = 2           # leading folders of a clip's path that name its video (VoxCeleb2 id/video/clip)
    warp_guided: bool = False
    paint_region: bool = True      # warp-guided: paint only in mouth, eyes and where the warp fails
    init: str | None = None        # start from this model file instead of a fresh one
    resume: bool = False
    log_dir: str | None = None
    image_every: int = 200
    content_loss: bool = True      # False: train without L_CNT (only allowed explicitly; see require_content)

    def __post_init__(self) -> None:
        if self.variant not in VARIANTS:
            raise ValueError(f"variant must be one of {VARIANTS}, got {self.variant!r}")
        if self.steps < 1 or self.batch < 1 or self.k < 1 or self.d_steps < 1 or self.video_level < 1:
            raise ValueError("steps, batch, k, d_steps and video_level must be >= 1")


def recipe(opt: TrainOptions, config: ModelConfig, data_summary: str) -> dict:
    """What the run does, for the checkpoint's metadata: the options, with the model's own preset, warp
    guide and pooling (with ``--init``/``--resume`` the file's, whatever the options say)."""
    d = dataclasses.asdict(opt)
    for k in ("out", "resume", "log_dir", "device", "workers", "image_every", "checkpoint_every"):
        d.pop(k)
    d["data"] = data_summary
    d.update(preset=config.name, warp_guided=config.warp_guided, paint_region=config.paint_region,
             embed_pooling=config.embed_pooling, dis_pooling=config.dis_pooling)
    return d


class MetaTrainer:
    """Holds the model, optimizers and the update rule; ``step(batch)`` does one E+G update and
    ``opt.d_steps`` D updates (on the same detached fakes)."""

    def __init__(self, model: TalkingHeadModel, opt: TrainOptions, execution: Execution,
                 content: ContentLoss | None = None):
        self.model, self.opt, self.ex = model, opt, execution
        d = model.discriminator
        self.gen_params = list(model.embedder.parameters()) + list(model.generator.parameters())
        self.dis_params = [p for p in d.parameters() if p is not d.video_w]
        self.g_opt = torch.optim.Adam(self.gen_params, lr=opt.lr_g, betas=ADAM_BETAS)
        self.d_opt = torch.optim.Adam(self.dis_params, lr=opt.lr_d, betas=ADAM_BETAS)
        # W: a sparse gradient of the sampled rows, and an Adam that touches only those (lazy_adam.py)
        d.sparse_w = execution.device.type in ("cpu", "cuda")  # elsewhere dense gradients, same update
        self.w_opt = LazyAdam([d.video_w], lr=opt.lr_d, betas=ADAM_BETAS)
        self.last_e: torch.Tensor | None = None  # the last step's ê [B,D] (detached), for embedding_stats
        weights = LossWeights(pixel_l1=opt.pixel_l1)
        self.update = AdversarialUpdate(
            discriminator=d, gen_params=self.gen_params, dis_params=self.dis_params + [d.video_w],
            gen_opt=self.g_opt, dis_opt=(self.d_opt, self.w_opt),
            gen_loss=GeneratorLoss(weights, content, match=opt.variant == "ft"),
            autocast=execution.autocast, reduce_grads=dist_util.all_reduce_grads,
            fp16_device=execution.device.type if execution.dtype == torch.float16 else None)

    def embedding_stats(self) -> dict[str, float]:
        """‖ê‖ of the last step's embeddings and W's column norms (mean/min/max), to catch embedding
        collapse (ê or W shrinking to zero, or a few columns running away) early."""
        with torch.no_grad():
            cols = self.model.discriminator.W.detach().float().norm(dim=0)
            out = {"emb/w_norm_mean": cols.mean().item(), "emb/w_norm_min": cols.min().item(),
                   "emb/w_norm_max": cols.max().item()}
            if self.last_e is not None:
                out["emb/e_norm"] = self.last_e.float().norm(dim=1).mean().item()
        return out

    def scaler_state(self) -> dict | None:
        """fp16: the GradScalers' states (scale, growth tracker) for the checkpoint; None without."""
        return self.update.scaler_state()

    def load_scaler_state(self, state: dict | None) -> None:
        self.update.load_scaler_state(state)

    @property
    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"gen": self.g_opt, "dis": self.d_opt, "dis_w": self.w_opt}

    def step(self, batch: dict) -> StepResult:
        """batch: frames/landmark_images [B,K,3,S,S], target/target_landmark_image [B,3,S,S],
        video_index [B] (and gen_input [B,Cin,S,S] for warp-guided models)."""
        m, ex = self.model, self.ex
        frames, lms = ex.input(batch["frames"]), ex.input(batch["landmark_images"])
        real, y = ex.input(batch["target"]), ex.input(batch["target_landmark_image"])
        g_in = ex.input(batch["gen_input"]) if "gen_input" in batch else y
        idx = batch["video_index"].to(ex.device)
        d = m.discriminator
        cache: dict = {}

        def render():
            cache["e"] = m.embedder.embed(frames, lms)
            return m.generator.generate(g_in, cache["e"])

        def proj():
            return d.video_columns(idx) + d.w0

        def match():
            return d.video_columns(idx), cache["e"]

        use_match = match if self.opt.variant == "ft" else None
        gen, fake = self.update.gen_update(render, real, y, proj, use_match)
        for _ in range(self.opt.d_steps):
            dis = self.update.dis_update(fake, real, y, proj, use_match)
        self.last_e = cache["e"].detach()
        return StepResult(gen, dis, fake)


def state_digest(model: torch.nn.Module) -> str:
    """SHA-256 of all parameters and buffers (to compare ranks or runs)."""
    h = hashlib.sha256()
    for k, v in sorted(model.state_dict().items()):
        h.update(k.encode())
        h.update(v.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def train(opt: TrainOptions, progress: bool = True,
          on_step: Callable[[int, dict], None] | None = None) -> TalkingHeadModel:
    """Run meta-learning; returns the trained model (also written to ``opt.out``).

    ``on_step(step, scalars)`` is called after every step (raise KeyboardInterrupt from it to
    stop: the current state is checkpointed first, as on Ctrl-C).
    """
    ex = Execution.resolve(opt.device, opt.precision, training=True)
    dist = dist_util.init_from_env(ex.device.type)
    if dist.enabled and ex.device.type == "cuda":
        ex = dataclasses.replace(ex, device=torch.device("cuda", dist.local_rank))
    resuming = check_out(opt)
    old = model_info(opt.out).get("training", {}) if resuming else None
    if old is not None:
        check_variant(opt, old)
    require_content(opt, model_preset(opt, resuming), model_file(opt, resuming))
    ts, split = training_split(opt, warn=dist.is_main)
    columns = split.record(ts.video_ids)
    model, start = starting_model(opt, columns, old)
    ds = episode_dataset(opt, model.config, ts, split)
    model = ex.prepare_module(model).train()
    dist_util.broadcast_module(model)
    content = ContentLoss.from_installed(ex.device) if opt.content_loss else None
    trainer = MetaTrainer(model, opt, ex, content)
    if start < 0:
        start, extra = load_train_state(opt.out, trainer.optimizers)
        check_pair(opt.out, start, extra)
        trainer.load_scaler_state(extra.get("grad_scaler"))
        apply_learning_rates(trainer.optimizers, opt.lr_g, opt.lr_d)  # the state holds the rates it ran with
        log.info("resuming %s at step %d", opt.out, start)
    summary = (f"{opt.data} ({columns['videos']} videos from {columns['clips']} clips, "
               f"{sum(ts.num_frames(c) for c in split.train_clips)} frames)")
    rec = recipe(opt, model.config, summary)
    rec["w_columns"] = columns  # how clips map to W's columns (resume checks it; `info` shows it)
    if opt.held_out:
        rec["held_out_by"] = split.held_out_by  # eval repeats this split (older models: a clip-level one)
    rec["content_loss"] = [k for k in ("vgg19", "vggface") if content and getattr(content, k) is not None]
    if old is not None:  # what changed since the checkpoint: one line, and the recipe records it
        changes = resume_changes(old, {**rec, "world_size": dist.world})
        rec = resumed_recipe(old, rec, start, changes)
        if changes and dist.is_main:
            log.warning("%s", describe_changes(opt.out, start, changes))
    sampler = StepBatchSampler(len(ds), opt.batch, opt.seed, start, opt.steps, dist.rank, dist.world)
    loader = episode_loader(ds, sampler, opt.workers, pin=ex.device.type == "cuda")
    writer = _tensorboard(opt.log_dir) if dist.is_main and opt.log_dir else None
    bar = _bar(start, opt.steps, progress and dist.is_main)
    step = start

    def checkpoint() -> None:
        if dist.is_main:
            log.info("step %d: %s", step, ", ".join(f"{k} {v:.4g}" for k, v in trainer.embedding_stats().items()))
            desc = (f"meta-learned ({opt.variant.upper()}) for {step} steps on {summary}, "
                    f"batch {opt.batch}x{dist.world}, K={opt.k}")
            nonce = uuid.uuid4().hex  # in both files: a crash between the two writes cannot pair them
            save_train_state(opt.out, step, trainer.optimizers, {"recipe": rec, "checkpoint_id": nonce,
                                                                  "grad_scaler": trainer.scaler_state(),
                                                                  "w_column_videos": split.train_names})
            save_model(opt.out, model, description=desc,
                       training={**rec, "steps_done": step, "world_size": dist.world, "checkpoint_id": nonce})
        dist_util.barrier()

    with sigterm_as_interrupt():  # SIGTERM checkpoints like Ctrl-C
        try:
            t0 = time.time()
            t_wait = time.perf_counter()
            for batch in loader:
                t_got = time.perf_counter()
                result = trainer.step(batch)
                step += 1
                scalars = {**result.scalars(), **trainer.embedding_stats()}  # .item(): waits for the device
                # seconds this step waited for its batch (the input pipeline) and computed
                scalars["time/data_s"], scalars["time/step_s"] = t_got - t_wait, time.perf_counter() - t_got
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix({k.replace("adversarial", "adv").replace("pixel_l1", "l1"): f"{v:.3f}"
                                     for k, v in scalars.items()
                                     if k.endswith(("total", "adversarial", "pixel_l1", "match"))}, refresh=False)
                if writer is not None:
                    for k, v in scalars.items():
                        writer.add_scalar(k, v, step)
                    if step % opt.image_every == 0 or step == opt.steps:
                        writer.add_image("landmarks|generated|target", _grid(batch, result.fake), step)
                if step % opt.checkpoint_every == 0 and step < opt.steps:
                    checkpoint()
                if on_step is not None:
                    on_step(step, scalars)
                t_wait = time.perf_counter()
            checkpoint()
            if dist.is_main:
                log.info("trained %d steps in %.0f s -> %s", step - start, time.time() - t0, opt.out)
        except KeyboardInterrupt:
            checkpoint()
            if dist.is_main:
                msg = f"interrupted at step {step}: checkpoint written to {opt.out}; continue with --resume"
                bar.write(msg) if bar is not None else print(msg, file=sys.stderr)
            raise
        finally:
            if bar is not None:
                bar.close()
            if writer is not None:
                writer.close()
    return model


def _bar(start: int, total: int, enabled: bool):
    if not enabled:
        return None
    return tqdm(total=total, initial=start, desc="meta-learning", unit="step", dynamic_ncols=True)


def _tensorboard(log_dir: str):
    try:
        from torch.utils.tensorboard import SummaryWriter  # optional dependency (pip install tensorboard)
    except ImportError:
        log.warning("tensorboard is not installed: no TensorBoard logs (pip install tensorboard)")
        return None
    return SummaryWriter(log_dir)


def _grid(batch: dict, fake: torch.Tensor, rows: int = 4) -> torch.Tensor:
    """[3, rows*S, 3*S] image in 0..1: landmarks | generated | target per row."""
    n = min(rows, fake.shape[0])
    cols = [batch["target_landmark_image"][:n].cpu(), fake[:n].float().cpu(), batch["target"][:n].cpu()]
    grid = torch.cat([torch.cat(list(c), dim=1) for c in cols], dim=2)
    return ((grid + 1) / 2).clamp(0, 1)
