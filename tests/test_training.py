"""Meta-learning: exact resume, distributed consistency, step-indexed sampling, checkpoints."""
import dataclasses
import os
import socket

import pytest
import torch
import torch.multiprocessing as mp

from fsth_core.models.model import build_model
from fsth_core.models.weights import load_model, model_info
from fsth_core.synthetic.heads import write_synthetic_dataset
from fsth_core.training.checkpoint import train_state_path
from fsth_core.training.meta import TrainOptions, state_digest, train
from fsth_core.training.sampling import StepBatchSampler


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("synth") / "set"
    write_synthetic_dataset(root, identities=6, frames=8, size=64, seed=3, progress=False)
    return root


def _opts(data, out, **kw):
    base = dict(data=str(data), out=str(out), preset="tiny", steps=4, batch=2, k=2, workers=0,
                checkpoint_every=2, seed=5, device="cpu", precision="fp32", lr_g=1e-3, lr_d=1e-3, pixel_l1=10.0)
    base.update(kw)
    return TrainOptions(**base)


def test_checkpoint_is_a_loadable_model_with_its_recipe(dataset, tmp_path):
    out = tmp_path / "m.safetensors"
    train(_opts(dataset, out, steps=2), progress=False)
    model = load_model(out)
    assert model.config.name == "tiny" and model.config.num_videos == 6
    info = model_info(out)
    assert info["training"]["steps_done"] == 2 and info["training"]["pixel_l1"] == 10.0
    assert "meta-learned (FT)" in info["description"]
    assert train_state_path(out).is_file()


def test_killed_and_resumed_run_ends_with_the_same_weights(dataset, tmp_path):
    straight = train(_opts(dataset, tmp_path / "a.safetensors"), progress=False)

    def kill_at_3(step, scalars):
        if step == 3:
            raise KeyboardInterrupt

    out = tmp_path / "b.safetensors"
    with pytest.raises(KeyboardInterrupt):
        train(_opts(dataset, out), progress=False, on_step=kill_at_3)
    assert model_info(out)["training"]["steps_done"] == 3  # checkpoint written on interruption
    resumed = train(_opts(dataset, out, resume=True), progress=False)
    assert state_digest(resumed) == state_digest(straight)
    assert state_digest(load_model(out)) == state_digest(load_model(tmp_path / "a.safetensors"))


def test_ranks_sample_different_videos_and_steps_are_reproducible():
    a = StepBatchSampler(10, 3, seed=1, start_step=0, end_step=5, rank=0, world=2)
    b = StepBatchSampler(10, 3, seed=1, start_step=0, end_step=5, rank=1, world=2)
    for s in range(5):
        assert not set(a.batch_at(s)) & set(b.batch_at(s))
    late = StepBatchSampler(10, 3, seed=1, start_step=3, end_step=5, rank=0, world=2)
    assert list(late) == [a.batch_at(3), a.batch_at(4)]


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rank_main(rank, world, port, data, out, result_dir):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), WORLD_SIZE=str(world),
                      RANK=str(rank), LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    model = train(_opts(data, out, steps=2, d_steps=1, checkpoint_every=100), progress=False)
    (result_dir / f"rank{rank}.txt").write_text(state_digest(model))
    import torch.distributed as dist
    dist.destroy_process_group()


def _relative_gap(a: dict, b: dict, start: dict) -> float:
    """‖a − b‖ over ‖b − start‖ across all floating tensors (how far apart two runs ended, relative to how
    far they moved)."""
    keys = [k for k, v in b.items() if v.is_floating_point()]
    gap = sum(((a[k] - b[k]) ** 2).sum().item() for k in keys)
    moved = sum(((b[k] - start[k]) ** 2).sum().item() for k in keys)
    return (gap / moved) ** 0.5


def test_two_processes_of_batch_2_train_as_one_process_of_batch_4(dataset, tmp_path, caplog):
    """2 gloo ranks x 2 episodes see the episodes 1 process x 4 sees (StepBatchSampler); averaging their
    gradients (W's sparse rows gathered) must give that process's update.  Adam hides a gradient's scale
    from the weights, so the optimizer moments are compared too: W's gradient on the wrong columns, or
    scaled (by 7, or summed instead of averaged), fails here.  (Gradients of exactly-invariant parameters
    — biases before an instance norm — are rounding noise that Adam's first steps turn into ±lr: the
    weights are compared as a whole.)"""
    import logging

    from safetensors.torch import load_file

    out = tmp_path / "ddp.safetensors"
    mp.spawn(_rank_main, args=(2, _free_port(), str(dataset), str(out), tmp_path), nprocs=2, join=True)
    d0, d1 = (tmp_path / "rank0.txt").read_text(), (tmp_path / "rank1.txt").read_text()
    assert d0 == d1  # the ranks agree bit for bit
    ddp = load_model(out)
    assert state_digest(ddp) == d0  # rank 0 wrote the checkpoint
    single_out = tmp_path / "single.safetensors"
    single = train(_opts(dataset, single_out, steps=2, batch=4, d_steps=1, checkpoint_every=100), progress=False)
    start = build_model(ddp.config, seed=5).state_dict()  # the runs' common start (--seed 5)
    assert _relative_gap(ddp.state_dict(), single.state_dict(), start) < 0.1  # measured 0.017
    w, w1, w0 = ddp.discriminator.W.detach(), single.discriminator.W.detach(), start["discriminator.W"]
    assert (w1 - w0).abs().amax(dim=0).gt(0).sum() >= 4  # the sampled columns moved
    torch.testing.assert_close(w, w1, rtol=0, atol=1e-3 * (w1 - w0).abs().max().item())  # measured 5e-5
    a, b = load_file(str(train_state_path(out))), load_file(str(train_state_path(single_out)))
    assert torch.equal(a["dis_w.0.last"], b["dis_w.0.last"]) and torch.equal(a["dis_w.0.step"], b["dis_w.0.step"])
    for group, limit in (("gen.", 2e-2), ("dis.", 1e-2), ("dis_w.", 1e-2)):  # Adam's moments: the gradients
        for moment in ("exp_avg", "exp_avg_sq"):                            # with their scale
            keys = [k for k in b if k.startswith(group) and k.endswith("." + moment)]
            gap = _relative_gap({k: a[k] for k in keys}, {k: b[k] for k in keys}, {k: 0 * b[k] for k in keys})
            assert gap < limit, (group, moment, gap)  # measured: gen 0.2 %, dis 0.03 %, dis_w 0.007 %
    with caplog.at_level(logging.WARNING, logger="fsth"):  # resumed by one process: said in one line
        train(_opts(dataset, out, steps=3, d_steps=1, resume=True, checkpoint_every=100), progress=False)
    assert any("processes 2 -> 1 (another episode stream" in r.getMessage() for r in caplog.records)
    assert model_info(out)["training"]["resumed"] == [{"step": 2, "world_size": [2, 1]}]


def test_bad_data_folder_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="training set folder not found: .*nothing"):
        train(_opts(tmp_path / "nothing", tmp_path / "m.safetensors"), progress=False)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="empty"):
        train(_opts(tmp_path / "empty", tmp_path / "m.safetensors"), progress=False)


def test_embedder_stays_informative_under_the_match_loss(dataset, tmp_path):
    """Regression: with a ReLU before the max pooling, L_MCH drove every embedding to exactly 0."""
    import numpy as np

    from fsth_core.data.store import TrainingSet
    from fsth_core.inference.pipeline import compute_identity
    from fsth_core.inference.types import Sources

    model = train(_opts(dataset, tmp_path / "m.safetensors", steps=6, lr_g=5e-3, lr_d=5e-3), progress=False)
    ts = TrainingSet(dataset)
    embs = [compute_identity(model, Sources(ts.frames(v, np.arange(3)), ts.landmarks(v)[:3])).embedding
            for v in range(3)]
    assert all(e.abs().max() > 0 for e in embs)
    assert (embs[0] - embs[1]).abs().max() > 1e-4 and (embs[1] - embs[2]).abs().max() > 1e-4


def test_paper_preset_refuses_to_train_without_vgg(tmp_path, monkeypatch):
    from fsth_core.training import resume

    monkeypatch.setattr(resume, "find_weights", lambda name: None)
    opt = TrainOptions(data=str(tmp_path), out=str(tmp_path / "m.safetensors"), preset="paper")
    with pytest.raises(ValueError, match="vgg19.safetensors.*--no-content-loss"):
        resume.require_content(opt)
    resume.require_content(dataclasses.replace(opt, content_loss=False))  # explicit opt-out starts
    resume.require_content(dataclasses.replace(opt, preset="tiny"))       # tiny keeps working


@pytest.mark.parametrize("d_steps", [1, 2])
def test_d_steps_updates_the_discriminator_that_many_times_per_step(dataset, tmp_path, d_steps):
    from fsth_core.models.config import preset
    from fsth_core.models.model import build_model
    from fsth_core.runtime.device import Execution
    from fsth_core.training.meta import MetaTrainer

    opt = _opts(dataset, tmp_path / "m.safetensors", d_steps=d_steps)
    model = build_model(dataclasses.replace(preset("tiny"), num_videos=6), seed=0)
    trainer = MetaTrainer(model, opt, Execution.resolve("cpu", "fp32", training=True))
    counts = {"gen": 0, "dis": 0}
    trainer.g_opt.register_step_post_hook(lambda *a: counts.__setitem__("gen", counts["gen"] + 1))
    trainer.d_opt.register_step_post_hook(lambda *a: counts.__setitem__("dis", counts["dis"] + 1))
    s = model.config.image_size
    batch = {"frames": torch.rand(2, 2, 3, s, s) * 2 - 1, "landmark_images": torch.rand(2, 2, 3, s, s),
             "target": torch.rand(2, 3, s, s) * 2 - 1, "target_landmark_image": torch.rand(2, 3, s, s),
             "video_index": torch.tensor([0, 3])}
    trainer.step(batch)
    assert counts == {"gen": 1, "dis": d_steps}


def test_checkpoints_log_embedding_and_w_norms(dataset, tmp_path, caplog):
    import logging

    with caplog.at_level(logging.INFO, logger="fsth"):
        train(_opts(dataset, tmp_path / "m.safetensors", steps=2), progress=False)
    line = next(r.getMessage() for r in caplog.records if "emb/w_norm_mean" in r.getMessage())
    assert "emb/e_norm" in line and "emb/w_norm_min" in line and "emb/w_norm_max" in line


def test_resume_refuses_a_model_and_state_from_different_writes(dataset, tmp_path):
    import shutil

    a, b = tmp_path / "a.safetensors", tmp_path / "b.safetensors"
    train(_opts(dataset, a, steps=2), progress=False)
    train(_opts(dataset, b, steps=4), progress=False)
    shutil.copy(train_state_path(b), train_state_path(a))  # as if the model write never happened
    with pytest.raises(ValueError, match="different checkpoint writes"):
        train(_opts(dataset, a, steps=6, resume=True), progress=False)


def test_cli_resume_without_a_checkpoint_is_an_error(dataset, tmp_path, capsys):
    from fsth_core.cli import main

    rc = main(["train", "--data", str(dataset), "--out", str(tmp_path / "none.safetensors"), "--resume",
               "--steps", "2", "--no-progress"])
    assert rc != 0 and "no such checkpoint" in capsys.readouterr().err


@pytest.fixture(scope="module")
def vox(tmp_path_factory):
    from _trainset_helpers import voxceleb_shaped

    return voxceleb_shaped(tmp_path_factory.mktemp("vox") / "set", speakers=3, videos=2, clips=2, frames=4, size=64)


def test_w_has_one_column_per_video_and_the_checkpoint_records_the_grouping(vox, tmp_path, capsys):
    from fsth_core.cli import main

    out = tmp_path / "m.safetensors"
    model = train(_opts(vox, out, steps=2, held_out=1), progress=False)
    assert model.config.num_videos == 4  # 3 speakers x 2 videos of 2 clips; one speaker held out whole
    training = model_info(out)["training"]
    assert training["w_columns"]["videos"] == 4 and training["w_columns"]["clips"] == 8
    assert training["w_columns"]["level"] == training["video_level"] == 2
    assert training["held_out_by"] == "speaker" and "4 videos from 8 clips" in training["data"]
    assert main(["info", "--weights", str(out)]) == 0
    assert "x 4: one column per training video (8 clips grouped at --video-level 2)" in capsys.readouterr().out
    assert train(_opts(vox, tmp_path / "v1.safetensors", steps=1, video_level=1),
                 progress=False).config.num_videos == 3  # one video per speaker folder


def test_resume_on_data_giving_other_videos_is_one_clear_error(vox, dataset, tmp_path):
    out = tmp_path / "m.safetensors"
    train(_opts(vox, out, steps=2), progress=False)
    with pytest.raises(ValueError, match="trained on 6 videos \\(12 clips grouped at --video-level 2\\).* gives 3 "
                                         "training videos \\(12 clips at --video-level 1"):
        train(_opts(vox, out, steps=4, resume=True, video_level=1), progress=False)
    with pytest.raises(ValueError, match="as many, but other clips"):  # 6 videos of one clip each
        train(_opts(dataset, out, steps=4, resume=True), progress=False)


def _random_batch(size, videos, seed=0):
    g = torch.Generator().manual_seed(seed)
    n = len(videos)
    return {"frames": torch.rand(n, 2, 3, size, size, generator=g) * 2 - 1,
            "landmark_images": torch.rand(n, 2, 3, size, size, generator=g),
            "target": torch.rand(n, 3, size, size, generator=g) * 2 - 1,
            "target_landmark_image": torch.rand(n, 3, size, size, generator=g), "video_index": torch.tensor(videos)}


def test_lazy_adam_is_dense_adam_on_touched_rows_and_leaves_the_others_bit_for_bit():
    from fsth_core.options import ADAM_BETAS
    from fsth_core.training.lazy_adam import LazyAdam

    init = torch.randn(6, 4, generator=torch.Generator().manual_seed(0))
    lazy_p, dense_p = torch.nn.Parameter(init.clone()), torch.nn.Parameter(init.clone())
    lazy = LazyAdam([lazy_p], lr=1e-2, betas=ADAM_BETAS)
    dense = torch.optim.Adam([dense_p], lr=1e-2, betas=ADAM_BETAS, foreach=False)
    for step, rows in enumerate(([0, 3], [1], [0, 2, 2], [3])):
        idx = torch.tensor(rows)
        # row 2 twice: summed
        lazy_p.grad = torch.sparse_coo_tensor(idx[None], torch.randn(len(rows), 4), (6, 4), check_invariants=True)
        dense_p.grad = lazy_p.grad.to_dense()
        before = lazy_p.detach().clone()
        state = {k: v.clone() for k, v in lazy.state[lazy_p].items()}
        dense_before = dense_p.detach().clone()
        lazy.step()
        dense.step()
        touched = sorted(set(rows))
        others = [r for r in range(6) if r not in touched]
        assert torch.equal(lazy_p.detach()[others], before[others])
        for key in ("exp_avg", "exp_avg_sq", "last") if state else ():
            assert torch.equal(lazy.state[lazy_p][key][others], state[key][others])
        assert lazy.state[lazy_p]["last"][touched].tolist() == [step + 1] * len(touched)
        # touched rows: dense Adam's moments (its zero-gradient decay caught up) and dense Adam's update
        for key in ("exp_avg", "exp_avg_sq"):
            torch.testing.assert_close(lazy.state[lazy_p][key][touched], dense.state[dense_p][key][touched])
        torch.testing.assert_close(lazy_p.detach()[touched] - before[touched],
                                   dense_p.detach()[touched] - dense_before[touched])
        if step == 0:  # from the same start: the same numbers, bit for bit
            assert torch.equal(lazy_p.detach(), dense_p.detach())


def test_a_meta_step_updates_only_the_sampled_columns_of_w(dataset, tmp_path):
    from fsth_core.models.config import preset
    from fsth_core.models.model import build_model
    from fsth_core.options import ADAM_BETAS
    from fsth_core.runtime.device import Execution
    from fsth_core.training.meta import MetaTrainer

    ex = Execution.resolve("cpu", "fp32", training=True)
    opt = _opts(dataset, tmp_path / "m.safetensors", d_steps=1)
    model = build_model(dataclasses.replace(preset("tiny"), num_videos=6), seed=0)
    trainer = MetaTrainer(model, opt, ex)
    d, s = model.discriminator, model.config.image_size
    w0 = d.W.detach().clone()
    trainer.step(_random_batch(s, [0, 3]))
    w1 = d.W.detach().clone()
    assert torch.equal(w1[:, [1, 2, 4, 5]], w0[:, [1, 2, 4, 5]])
    assert not torch.equal(w1[:, 0], w0[:, 0]) and not torch.equal(w1[:, 3], w0[:, 3])
    state1 = {k: v.clone() for k, v in trainer.w_opt.state[d.video_w].items()}
    trainer.step(_random_batch(s, [1, 3], seed=1))
    w2, state2 = d.W.detach(), trainer.w_opt.state[d.video_w]
    assert torch.equal(w2[:, 0], w1[:, 0]) and torch.equal(w2[:, [2, 4, 5]], w0[:, [2, 4, 5]])
    assert not torch.equal(w2[:, 1], w1[:, 1]) and not torch.equal(w2[:, 3], w1[:, 3])
    for key in ("exp_avg", "exp_avg_sq", "last"):
        assert torch.equal(state2[key][[0, 2, 4, 5]], state1[key][[0, 2, 4, 5]])
    # the same first step with W dense (its full gradient, torch's Adam) gives the same W
    ref = build_model(dataclasses.replace(preset("tiny"), num_videos=6), seed=0)
    dense = MetaTrainer(ref, opt, ex)
    ref.discriminator.sparse_w = False
    dense.w_opt = torch.optim.Adam([ref.discriminator.video_w], lr=opt.lr_d, betas=ADAM_BETAS, foreach=False)
    dense.update.dis_opt = (dense.d_opt, dense.w_opt)
    dense.step(_random_batch(s, [0, 3]))
    torch.testing.assert_close(ref.discriminator.W, w1)
    assert torch.equal(ref.discriminator.W.detach()[:, [1, 2, 4, 5]], w0[:, [1, 2, 4, 5]])


def test_loader_workers_do_not_change_the_batches(vox):
    """Episodes from worker processes (prefetching) are the batches the training process would load itself."""
    from fsth_core.models.config import preset
    from fsth_core.training.sampling import default_workers, episode_dataset, episode_loader, training_split

    opt = _opts(vox, "unused", batch=3)
    ts, split = training_split(opt)
    ds = episode_dataset(opt, preset("tiny"), ts, split)
    runs = []
    for workers in (0, 2):
        sampler = StepBatchSampler(len(ds), opt.batch, opt.seed, 1, 4)
        runs.append(list(episode_loader(ds, sampler, workers)))
    assert len(runs[0]) == len(runs[1]) == 3
    for a, b in zip(*runs):
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert 0 <= default_workers() <= 4


def test_steps_report_the_time_waiting_for_data(dataset, tmp_path):
    seen = []
    train(_opts(dataset, tmp_path / "m.safetensors", steps=2, workers=1), progress=False,
          on_step=lambda step, scalars: seen.append(scalars))
    assert all(s["time/data_s"] >= 0 and s["time/step_s"] > 0 for s in seen) and len(seen) == 2


def test_a_train_state_from_before_the_sparse_w_says_so(dataset, tmp_path):
    from fsth_core.models.config import preset
    from fsth_core.models.model import build_model
    from fsth_core.models.weights import WeightsError
    from fsth_core.runtime.device import Execution
    from fsth_core.training.checkpoint import load_train_state, save_train_state
    from fsth_core.training.meta import MetaTrainer

    opt = _opts(dataset, tmp_path / "m.safetensors")
    trainer = MetaTrainer(build_model(dataclasses.replace(preset("tiny"), num_videos=6), seed=0), opt,
                          Execution.resolve("cpu", "fp32", training=True))
    save_train_state(opt.out, 3, {"gen": trainer.g_opt, "dis": trainer.d_opt})  # W was in "dis" then
    with pytest.raises(WeightsError, match="no state for optimizer 'dis_w' .*older version.*--init"):
        load_train_state(opt.out, trainer.optimizers)
