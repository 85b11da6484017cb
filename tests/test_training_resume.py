"""Resume with changed options (issue 22: 4-6), fp16 steps and their GradScalers (9, 11)."""
import dataclasses
import logging
import math

import pytest
import torch

from fsth_core.models.config import preset
from fsth_core.models.model import build_model
from fsth_core.models.weights import model_info, read_header
from fsth_core.runtime.device import Execution
from fsth_core.synthetic.heads import write_synthetic_dataset
from fsth_core.training.checkpoint import train_state_path
from fsth_core.training.meta import MetaTrainer, TrainOptions, train


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("synth") / "set"
    write_synthetic_dataset(root, identities=4, frames=6, size=64, seed=3, progress=False)
    return root


def _opts(data, out, **kw):
    base = dict(data=str(data), out=str(out), preset="tiny", steps=2, batch=2, k=2, workers=0, d_steps=1,
                checkpoint_every=100, seed=5, device="cpu", precision="fp32", lr_g=1e-3, lr_d=1e-3, pixel_l1=10.0)
    base.update(kw)
    return TrainOptions(**base)


def _state_lrs(out) -> dict:
    import json

    groups = json.loads(read_header(train_state_path(out))[1]["param_groups"])
    return {name: g[0]["lr"] for name, g in groups.items()}


def _warnings(caplog) -> list[str]:
    """Warning lines about the run (not the content loss being off: no VGG files in tests)."""
    return [r.getMessage() for r in caplog.records
            if r.levelno >= logging.WARNING and not r.getMessage().startswith("content loss off")]


@pytest.fixture(scope="module")
def checkpoint(dataset, tmp_path_factory):
    """A 2-step checkpoint (lr 1e-3, batch 2, K 2, 1 D step), copied afresh for each test."""
    out = tmp_path_factory.mktemp("ckpt") / "m.safetensors"
    train(_opts(dataset, out), progress=False)
    return out


@pytest.fixture
def ckpt(checkpoint, tmp_path):
    import shutil

    out = tmp_path / "m.safetensors"
    shutil.copy(checkpoint, out)
    shutil.copy(train_state_path(checkpoint), train_state_path(out))
    return out


def test_resume_applies_new_learning_rates_says_so_and_records_them(dataset, ckpt, caplog):
    """Issue 22.4: the optimizer state's old rates used to win while the recipe claimed the new ones."""
    assert _state_lrs(ckpt) == {"gen": 1e-3, "dis": 1e-3, "dis_w": 1e-3}
    with caplog.at_level(logging.INFO, logger="fsth"):
        train(_opts(dataset, ckpt, steps=3, resume=True, lr_g=2.5e-4, lr_d=5e-4), progress=False)
    lines = _warnings(caplog)
    assert len(lines) == 1, lines
    assert "resuming at step 2" in lines[0] and "--lr-g 0.001 -> 0.00025" in lines[0]
    assert "--lr-d 0.001 -> 0.0005" in lines[0]
    assert _state_lrs(ckpt) == {"gen": 2.5e-4, "dis": 5e-4, "dis_w": 5e-4}  # what the optimizers ran with
    training = model_info(ckpt)["training"]
    assert (training["lr_g"], training["lr_d"]) == (2.5e-4, 5e-4)
    assert training["resumed"] == [{"step": 2, "lr_g": [1e-3, 2.5e-4], "lr_d": [1e-3, 5e-4]}]
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="fsth"):  # unchanged: no line, the history is kept
        train(_opts(dataset, ckpt, steps=4, resume=True, lr_g=2.5e-4, lr_d=5e-4), progress=False)
    assert not _warnings(caplog)
    assert model_info(ckpt)["training"]["resumed"] == training["resumed"]


def test_new_learning_rates_change_the_updates(dataset, ckpt, tmp_path):
    """The new rate is used, not only written down: from the same checkpoint, a step at another rate ends
    elsewhere (the old code stepped both at the state's 1e-3)."""
    import shutil

    other = tmp_path / "o.safetensors"
    shutil.copy(ckpt, other)
    shutil.copy(train_state_path(ckpt), train_state_path(other))
    same = train(_opts(dataset, ckpt, steps=3, resume=True), progress=False)
    slower = train(_opts(dataset, other, steps=3, resume=True, lr_g=1e-6, lr_d=1e-6), progress=False)
    moved = {k: (v - slower.state_dict()[k]).abs().max().item() for k, v in same.state_dict().items()
             if k.startswith("generator.") and v.is_floating_point()}
    assert max(moved.values()) > 1e-4


def test_resume_with_other_batch_k_d_steps_and_seed_says_each_in_one_line(dataset, ckpt, caplog):
    """Issue 22.6: each change that alters the episode stream or the losses is named."""
    with caplog.at_level(logging.INFO, logger="fsth"):
        train(_opts(dataset, ckpt, steps=3, resume=True, batch=3, k=3, d_steps=2, seed=6), progress=False)
    lines = _warnings(caplog)
    assert len(lines) == 1, lines
    for words in ("--batch 2 -> 3 (another episode stream", "--k 2 -> 3", "--d-steps 1 -> 2", "--seed 5 -> 6"):
        assert words in lines[0], (words, lines[0])
    training = model_info(ckpt)["training"]
    assert (training["batch"], training["k"], training["d_steps"], training["seed"]) == (3, 3, 2, 6)
    assert training["resumed"] == [{"step": 2, "batch": [2, 3], "k": [2, 3], "seed": [5, 6], "d_steps": [1, 2]}]


@pytest.mark.parametrize("variant", ["ff"])
def test_resume_refuses_another_variant_and_leaves_the_checkpoint(dataset, ckpt, variant):
    before = {p: p.read_bytes() for p in (ckpt, train_state_path(ckpt))}
    with pytest.raises(ValueError, match="meta-learned as FT; resuming with --variant ff drops the "
                                         "embedding-match loss .*--variant ft.*--init"):
        train(_opts(dataset, ckpt, steps=3, resume=True, variant=variant), progress=False)
    assert {p: p.read_bytes() for p in before} == before


def test_the_recipe_says_which_model_trained(dataset, ckpt, tmp_path):
    """Issue 22.5: --init/--resume train the file's model; the recipe names its preset and guide."""
    with pytest.raises(ValueError, match="--preset small, but --resume m.safetensors holds a 'tiny' model"):
        train(_opts(dataset, ckpt, steps=3, resume=True, preset="small"), progress=False)
    with pytest.raises(ValueError, match="--warp-guided, but --init m.safetensors holds a model without"):
        train(_opts(dataset, tmp_path / "n.safetensors", init=str(ckpt), warp_guided=True), progress=False)
    train(_opts(dataset, ckpt, steps=3, resume=True, preset=None), progress=False)
    training = model_info(ckpt)["training"]
    assert training["preset"] == "tiny" and training["warp_guided"] is False and training["dis_pooling"] == "sum_relu"


# ------------------------------------------------------------------ fp16 (issue 22.9 and 22.11)
FP16_CPU = Execution(torch.device("cpu"), torch.float16, False)  # CPU autocast runs fp16 (slowly)


def _trainer(tmp_path, ex=FP16_CPU, videos=4):
    model = build_model(dataclasses.replace(preset("tiny"), num_videos=videos), seed=0)
    return MetaTrainer(model, _opts("unused", tmp_path / "m.safetensors"), ex), model


def _batch(size=64, videos=(0, 3), seed=0):
    g = torch.Generator().manual_seed(seed)
    n = len(videos)
    return {"frames": torch.rand(n, 2, 3, size, size, generator=g) * 2 - 1,
            "landmark_images": torch.rand(n, 2, 3, size, size, generator=g),
            "target": torch.rand(n, 3, size, size, generator=g) * 2 - 1,
            "target_landmark_image": torch.rand(n, 3, size, size, generator=g), "video_index": torch.tensor(videos)}


def _set_scale(scaler, value: float) -> None:
    scaler.scale(torch.ones(()))  # starts its state
    scaler.update(value)


def _snap(module):
    return {k: v.detach().clone() for k, v in module.named_parameters()}


def _changed(before, module) -> set[str]:
    return {k for k, v in module.named_parameters() if not torch.equal(v.detach(), before[k])}


def test_fp16_step_with_an_overflow_in_d_skips_all_of_d_and_w_together(tmp_path):
    """Issue 22.9: G and D each have their own GradScaler; D's optimizers (its weights, W's sampled
    columns) step together or not at all; an overflow in D leaves G's scale alone."""
    trainer, model = _trainer(tmp_path)
    for sc in trainer.update.scalers.values():
        _set_scale(sc, 2.0 ** 8)  # a scale this loss does not overflow at
    d = model.discriminator
    g0, d0 = _snap(model.generator), _snap(d)
    trainer.step(_batch())  # a normal fp16 step: G, D and W's sampled columns move
    assert trainer.update.skipped == {"gen": 0, "dis": 0}
    assert _changed(g0, model.generator) and "video_w" in _changed(d0, d) and len(_changed(d0, d)) > 3
    scales = {k: sc.get_scale() for k, sc in trainer.update.scalers.items()}
    weight = next(p for n, p in d.named_parameters() if n.startswith("blocks.0") and p.dim() == 4)
    hook = weight.register_hook(lambda grad: grad * math.inf)  # one D weight overflows (D steps only)
    g1, d1 = _snap(model.generator), _snap(d)
    trainer.step(_batch(seed=1))
    hook.remove()
    assert trainer.update.skipped == {"gen": 0, "dis": 1}
    assert _changed(g1, model.generator)           # G stepped
    assert not _changed(d1, d)                      # no part of D moved: not W either
    assert trainer.update.scalers["dis"].get_scale() == scales["dis"] / 2
    assert trainer.update.scalers["gen"].get_scale() == scales["gen"]


def test_fp16_scaler_states_round_trip_and_an_old_single_state_loads(tmp_path):
    from fsth_core.training.checkpoint import load_train_state, save_train_state

    trainer, _ = _trainer(tmp_path)
    _set_scale(trainer.update.scalers["gen"], 512.0)
    _set_scale(trainer.update.scalers["dis"], 64.0)
    save_train_state(tmp_path / "m.safetensors", 7, trainer.optimizers, {"grad_scaler": trainer.scaler_state()})
    fresh, _ = _trainer(tmp_path)
    _, extra = load_train_state(tmp_path / "m.safetensors", fresh.optimizers)
    fresh.load_scaler_state(extra["grad_scaler"])
    assert {k: s.get_scale() for k, s in fresh.update.scalers.items()} == {"gen": 512.0, "dis": 64.0}
    old = {k: v for k, v in extra["grad_scaler"]["dis"].items()}  # a checkpoint from before: one scaler
    fresh.load_scaler_state(old)
    assert {k: s.get_scale() for k, s in fresh.update.scalers.items()} == {"gen": 64.0, "dis": 64.0}
    fp32, _ = _trainer(tmp_path, Execution.resolve("cpu", "fp32", training=True))
    assert fp32.scaler_state() is None and not fp32.update.scalers
