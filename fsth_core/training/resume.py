"""What a training run starts from, and what ``--resume`` may change.

Before any work: the checkpoint and its training state must pair up (:func:`check_out`, :func:`check_pair`),
W's columns must be the videos the data give now (:func:`check_columns`), and the model that will train —
fresh, ``--init`` or resumed — decides the preset (:func:`model_preset`; ``--preset`` naming another is
refused).  On resume each option is compared with the checkpoint's recipe (:func:`resume_changes`):

- ``--variant`` is refused: FT and FF are different objectives (FT → FF drops the embedding-match loss
  half-way, and the model would still be called FT);
- the learning rates, ``--batch``, the number of processes, ``--k``, ``--d-steps``, ``--pixel-l1``,
  ``--seed``, ``--precision`` and the content loss (VGG files added or removed) may change: the new
  values apply (the optimizer state's old learning rates are replaced), one line says what changed, and
  the recipe in the checkpoint records each change with the step it took effect (``resumed``), so it says
  what ran.

The ``paper`` and ``small`` presets refuse to start without the content loss's VGG files
(:func:`require_content`), and :func:`starting_model` gives the model a run starts from.
"""
from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

from fsth_core.io.outpaths import check_file_output
from fsth_core.models.config import preset
from fsth_core.models.losses import VGG_FILES
from fsth_core.models.model import TalkingHeadModel, adapt_model, build_model
from fsth_core.models.weights import load_model, model_config_of, model_info, read_header
from fsth_core.runtime.paths import find_weights, weights_dirs
from fsth_core.training.checkpoint import train_state_path

log = logging.getLogger("fsth")

DEFAULT_PRESET = "tiny"  # a fresh model without --preset
# recipe key -> (how the option is spelled, what a change does besides the number itself)
ALLOWED_CHANGES = {
    "lr_g": ("--lr-g", ""), "lr_d": ("--lr-d", ""),
    "batch": ("--batch", "another episode stream and effective batch"),
    "world_size": ("processes", "another episode stream and effective batch"),
    "k": ("--k", "other episodes"), "seed": ("--seed", "another episode stream"),
    "d_steps": ("--d-steps", ""), "pixel_l1": ("--pixel-l1", ""), "precision": ("--precision", ""),
    "content_loss": ("content loss", "VGG files added or removed"),
}
KEPT = ("init",)  # how the run began: a resume without it keeps the recorded value


def check_out(opt) -> bool:
    """Refuse to overwrite a checkpoint: ``out`` (or its training state) existing without ``resume``,
    or a checkpoint without its readable training state with ``resume``.  Returns whether there is a
    checkpoint to resume (``resume`` with a missing ``out`` starts a new run here; the CLI refuses it).
    """
    out, state = Path(opt.out), train_state_path(opt.out)
    check_file_output(out, [opt.init, opt.data])
    if not opt.resume:
        for p in (out, state):
            if p.exists():
                raise ValueError(f"{p}: already exists; pass --resume to continue that training, "
                                 "or choose another --out")
        return False
    if not out.is_file():
        if state.exists():
            raise ValueError(f"{state}: training state without its model {out.name}; choose another --out")
        return False
    if not state.is_file():
        raise ValueError(f"{state}: missing, so {out} cannot be resumed (it holds the optimizer state); "
                         f"start a new run with another --out, or with --init {out} to begin from its weights")
    _, meta = read_header(state)
    if meta.get("kind") != "train-state":
        raise ValueError(f"{state}: not an FSTH training state (kind {meta.get('kind')!r})")
    read_header(out)
    return True


def check_pair(out: str, step: int, extra: dict) -> None:
    """The model file and its training state must come from the same checkpoint write."""
    training = model_info(out).get("training", {})
    mismatch = (extra.get("checkpoint_id") != training.get("checkpoint_id")
                or training.get("steps_done", step) != step)
    if mismatch:
        raise ValueError(f"{out}: the model (step {training.get('steps_done')}) and its training state (step "
                         f"{step}) come from different checkpoint writes (a crash between them?); start a new "
                         f"run with --init {out} and another --out")


def check_columns(opt, num_videos: int, old: dict, record: dict) -> None:
    """A resumed model's W columns (``num_videos``; ``old``: the checkpoint's ``w_columns``) must be the
    videos the data give now (``record``: count, then the clip grouping)."""
    same = num_videos == record["videos"] and old.get("digest", record["digest"]) == record["digest"]
    if same:
        return
    was = (f"{num_videos} videos ({old['clips']} clips grouped at --video-level {old['level']})" if old
           else f"{num_videos} videos")
    why = "" if num_videos != record["videos"] else " (as many, but other clips: the data or their grouping changed)"
    raise ValueError(f"{opt.out}: W has one column per training video and was trained on {was}, but {opt.data} "
                     f"gives {record['videos']} training videos ({record['clips']} clips at --video-level "
                     f"{record['level']}, --held-out {opt.held_out}){why}; resume with the same data, --held-out, "
                     f"--seed and --video-level, or start a new run with --init {opt.out} and another --out")


def model_file(opt, resuming: bool) -> str | None:
    """The file the model that will train comes from: the checkpoint (resume), ``--init``, or None (fresh)."""
    return opt.out if resuming else opt.init


def model_preset(opt, resuming: bool) -> str:
    """The preset of the model that will actually train (the file's own with ``--init``/``--resume``);
    ValueError when ``--preset`` or ``--warp-guided`` asks for another model than that file holds."""
    path = model_file(opt, resuming)
    if path is None:
        return opt.preset or DEFAULT_PRESET
    config = model_config_of(path)
    flag = "--resume" if resuming else "--init"
    if opt.preset is not None and opt.preset != config.name:
        raise ValueError(f"{path}: --preset {opt.preset}, but {flag} {Path(path).name} holds a '{config.name}' "
                         "model, which is what trains; leave --preset out (the model's own is used) or start "
                         f"a fresh {opt.preset} model without {flag}")
    if opt.warp_guided and not config.warp_guided:
        raise ValueError(f"{path}: --warp-guided, but {flag} {Path(path).name} holds a model without the warp "
                         f"guide, which is what trains; leave --warp-guided out or start a fresh model")
    return config.name


def check_variant(opt, old: dict) -> None:
    """Resume refuses another ``--variant`` than the checkpoint was meta-learned with."""
    was = old.get("variant", "ft")
    if opt.variant != was:
        what = ("drops the embedding-match loss (L_MCH) half-way" if was == "ft"
                else "adds the embedding-match loss (L_MCH) half-way")
        raise ValueError(f"{opt.out}: meta-learned as {was.upper()}; resuming with --variant {opt.variant} {what}, "
                         f"and the result would be neither; resume with --variant {was}, or start a new run "
                         f"with --init {opt.out} and another --out")


def resume_changes(old: dict, new: dict) -> dict[str, tuple]:
    """{recipe key: (checkpoint's value, new value)} of the options that differ (``ALLOWED_CHANGES``)."""
    return {k: (old[k], new[k]) for k in ALLOWED_CHANGES if k in old and k in new and old[k] != new[k]}


def describe_changes(out, step: int, changes: dict[str, tuple]) -> str:
    """The one line a resume with changed options prints."""
    def value(k, v):
        if k == "content_loss":
            return "+".join(v) or "off"
        return f"{v:g}" if isinstance(v, float) else str(v)

    parts = []
    for k, (a, b) in changes.items():
        flag, effect = ALLOWED_CHANGES[k]
        parts.append(f"{flag} {value(k, a)} -> {value(k, b)}" + (f" ({effect})" if effect else ""))
    return f"{out}: resuming at step {step} with changed options: {'; '.join(parts)}"


def resumed_recipe(old: dict, new: dict, step: int, changes: dict[str, tuple]) -> dict:
    """The recipe a resumed run records: the new values, what the run began with (``KEPT``), and every
    change so far with the step it took effect (``resumed``: [{"step": s, key: [old, new], ...}])."""
    rec = dict(new)
    for k in KEPT:
        if rec.get(k) is None and old.get(k) is not None:
            rec[k] = old[k]
    history = list(old.get("resumed", []))
    if changes:
        history.append({"step": step, **{k: [a, b] for k, (a, b) in changes.items()}})
    if history:
        rec["resumed"] = history
    return rec


def apply_learning_rates(optimizers: dict, lr_g: float, lr_d: float) -> None:
    """The rates asked for now, over those a loaded optimizer state holds (``gen``: E+G; the others: D)."""
    for name, opt in optimizers.items():
        for group in opt.param_groups:
            group["lr"] = lr_g if name == "gen" else lr_d


CONTENT_REQUIRED = ("paper", "small")  # presets that must not silently train without L_CNT


def require_content(opt, preset_name: str | None = None, source: str | None = None) -> None:
    """The ``paper`` and ``small`` presets refuse to start without both VGG files unless
    ``content_loss`` is off explicitly (a model the paper never trained, for days, otherwise).
    ``preset_name``: the preset of the model that will train (:func:`model_preset`: with ``--init`` or
    ``--resume`` the file's own, ``source``, which the message names); default ``opt.preset``."""
    name = preset_name or opt.preset or DEFAULT_PRESET
    if not opt.content_loss or name not in CONTENT_REQUIRED:
        return
    missing = [f for f in VGG_FILES.values() if find_weights(f) is None]
    if missing:
        what = f"{source}: a '{name}' model" if source else f"preset {name}"
        raise ValueError(f"{what} needs the content loss: place {' and '.join(missing)} in "
                         f"{weights_dirs()[-1]} (or FSTH_WEIGHTS_DIR; make them with `python -m fsth_core "
                         "convert-vgg --vgg19 vgg19-dcbb9e9d.pth --vggface vgg_face_dag.pth`), or pass "
                         "--no-content-loss to train without it")


def starting_model(opt, record: dict, old: dict | None) -> tuple[TalkingHeadModel, int]:
    """Fresh, ``--init`` or resumed (``old``: the checkpoint's training metadata) model with one W column
    per training video (``record``: :meth:`VideoSplit.record`); returns (model, start step: -1 for a
    resumed one, whose step its training state gives)."""
    num_videos = record["videos"]
    if old is not None:
        model = load_model(opt.out)
        check_columns(opt, model.config.num_videos, old.get("w_columns") or {}, record)
        return model, -1
    if opt.init:
        model = load_model(opt.init)
        config = model.config.with_videos(num_videos)  # new training videos: new W columns
        if config.warp_guided and opt.paint_region:  # an older warp-guided model gains the paint region
            config = dataclasses.replace(config, paint_region=True)
        return (model if config == model.config else adapt_model(model, config, seed=opt.seed)), 0
    config = dataclasses.replace(preset(opt.preset or DEFAULT_PRESET), num_videos=num_videos,
                                 warp_guided=opt.warp_guided,
                                 paint_region=opt.warp_guided and opt.paint_region)
    return build_model(config, seed=opt.seed), 0
