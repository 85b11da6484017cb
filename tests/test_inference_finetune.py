"""Few-shot fine-tuning, identities, person files, streaming generation and realism scores."""
import numpy as np
import pytest
import torch

from fsth_core.inference.finetune import FinetuneOptions, default_steps, finetune
from fsth_core.inference.person import load_person, save_person
from fsth_core.inference.pipeline import FrameGenerator, compute_identity, realism_scores
from fsth_core.inference.types import Sources
from fsth_core.models.config import preset
from fsth_core.models.model import build_model
from fsth_core.runtime.device import Execution
from fsth_core.synthetic.heads import identity_landmarks_sequence, render_sequence, synthetic_identity
from fsth_core.training.meta import state_digest

CPU = Execution.resolve("cpu", "fp32")


def _person(seed, frames=6, size=64):
    ident = synthetic_identity(seed)
    pts = identity_landmarks_sequence(ident, frames, np.random.default_rng(seed), size=size)
    return Sources(render_sequence(ident, pts, size), pts.astype(np.float32))


@pytest.fixture(scope="module", params=[False, True], ids=["plain", "warp-guided"])
def model(request):
    return build_model(preset("tiny", warp_guided=request.param), seed=0)


def test_default_steps_grow_with_shots():
    assert default_steps(1) == 125 and default_steps(32) == 230 and default_steps(64) == 230
    assert default_steps(1) < default_steps(8) < default_steps(32)


def test_finetune_trains_a_copy(model):
    before = state_digest(model)
    src = _person(1)
    ident = compute_identity(model, src, CPU)
    res = finetune(model, ident, src, FinetuneOptions(steps=3, lr_g=1e-3, lr_d=1e-3), CPU)
    assert res.steps_done == 3 and not res.interrupted and len(res.losses) == 3
    assert state_digest(model) == before                     # caller's model untouched
    assert state_digest(res.model) != before                 # the copy was trained
    assert not torch.equal(res.identity.psi, ident.psi)      # ψ' trained
    assert not torch.equal(res.identity.w, ident.w)          # w' trained
    assert res.identity.finetune_steps == 3 and res.identity.shots == 6
    assert all(np.isfinite(v) for d in res.losses for v in d.values())
    assert "G/match" not in res.losses[0]                   # no L_MCH while fine-tuning


def test_interrupted_finetune_keeps_the_state_reached(model):
    src = _person(2, frames=2)
    ident = compute_identity(model, src, CPU)
    seen = []

    def cancel_at_2(done, total):
        seen.append((done, total))
        if done == 2:
            raise KeyboardInterrupt

    res = finetune(model, ident, src, FinetuneOptions(steps=10), CPU, progress=cancel_at_2)
    assert res.interrupted and res.steps_done == 2 and seen == [(1, 10), (2, 10)]
    frames = list(FrameGenerator(res.model, res.identity, CPU).stream(src.points))
    assert len(frames) == 2 and frames[0].dtype == np.uint8

    class HostCancel(Exception):
        pass

    def host_cancel(done, total):
        raise HostCancel

    with pytest.raises(HostCancel):  # a host's Cancel propagates
        finetune(model, ident, src, FinetuneOptions(steps=10), CPU, progress=host_cancel)


def test_person_file_round_trip(model, tmp_path):
    src = _person(3, frames=3)
    ident = compute_identity(model, src, CPU)
    res = finetune(model, ident, src, FinetuneOptions(steps=2, lr_g=1e-3), CPU)
    path = save_person(tmp_path / "p.safetensors", res.identity, res.model)
    loaded_model, loaded = load_person(path, model)
    a = np.stack(list(FrameGenerator(res.model, res.identity, CPU).stream(src.points)))
    b = np.stack(list(FrameGenerator(loaded_model, loaded, CPU).stream(src.points)))
    assert np.array_equal(a, b)
    assert loaded.finetune_steps == 2 and loaded.shots == 3
    other = build_model(preset("small"))
    with pytest.raises(ValueError, match="made for a 'tiny' model"):
        load_person(path, other)


def test_streaming_generation_is_batched_and_lazy(model):
    src = _person(4, frames=2)
    ident = compute_identity(model, src, CPU)
    gen = FrameGenerator(model, ident, CPU, batch=4)
    pulled = []

    def points():
        for i in range(10):
            pulled.append(i)
            yield src.points[i % 2]

    stream = gen.stream(points(), total=10)
    first = next(stream)
    assert first.shape == (64, 64, 3) and len(pulled) == 4  # only one batch was read
    rest = list(stream)
    assert len(rest) == 9
    assert gen.model is not model and gen.model.folded and not model.folded


def test_realism_scores_are_the_discriminators_projection(model):
    from fsth_core.models.imaging import landmark_images, to_network
    from fsth_core.models.model import clone_model

    src = _person(5, frames=3)
    ident = compute_identity(model, src, CPU)
    r = realism_scores(model, ident, src.crops, src.points, CPU)
    assert r.shape == (3,) and np.isfinite(r).all()
    # the score is D's projection r = v(x, y)·w' + b with the person's w', computed here by hand
    d = clone_model(model).fold().discriminator
    with torch.no_grad():
        v, _ = d.features(to_network(src.crops), landmark_images(src.points, 64))
        expected = (v * ident.w).sum(1) + d.b
    np.testing.assert_allclose(r, expected.numpy(), rtol=1e-4, atol=1e-4)
    # it depends on the pictures: noise under the same landmarks scores differently
    noise = np.random.default_rng(0).integers(0, 256, src.crops.shape, dtype=np.uint8)
    assert np.abs(realism_scores(model, ident, noise, src.points, CPU) - r).min() > 1e-4


def test_finetune_options_follow_paper_then_recipe_then_caller():
    from fsth_core.inference.finetune import options_from_recipe

    assert options_from_recipe({}, 1).steps == 125 and options_from_recipe({}, 32).lr_g == 5e-5
    rec = {"steps": 0, "lr_g": 1e-4, "pixel_l1": 20.0, "unrelated": 1}
    o = options_from_recipe(rec, 8)
    assert (o.steps, o.lr_g, o.lr_d, o.pixel_l1) == (0, 1e-4, 2e-4, 20.0)
    o = options_from_recipe(rec, 8, steps=7, lr_g=None, seed=3)
    assert (o.steps, o.lr_g, o.seed) == (7, 1e-4, 3)


def test_augmented_pairs_teach_what_the_warp_gets_wrong():
    from fsth_core.inference.finetune_pairs import training_pairs
    from fsth_core.models.imaging import landmark_images

    m = build_model(preset("tiny", warp_guided=True, paint_region=True), seed=0)
    src = _person(4, frames=1)
    ident = compute_identity(m, src, CPU)
    frames, lms, g_in = training_pairs(src, ident, True, 5, 0, landmark_images)
    assert frames.shape == (6, 3, 64, 64) and lms.shape == (6, 3, 64, 64) and g_in.shape == (6, 8, 64, 64)
    # the real pair: the picture warped onto itself is (nearly) the picture; augmented guides are not
    assert (g_in[0, 3:6] - frames[0]).abs().mean() < 1e-3
    assert all((g_in[i, 3:6] - frames[i]).abs().mean() > 5e-3 for i in range(1, 6))
    assert all(torch.equal(lms[i], lms[0]) for i in range(1, 6))  # targets keep the picture's landmarks
    again = training_pairs(src, ident, True, 5, 0, landmark_images)
    assert torch.equal(again[2], g_in)  # deterministic for a seed
    res = finetune(m, ident, src, FinetuneOptions(steps=2, augment=5), CPU)
    assert res.steps_done == 2 and res.identity.shots == 1


def test_ff_model_refuses_fine_tuning():
    from fsth_core.inference.finetune import options_from_recipe, recipe_from_training

    ff = recipe_from_training({"variant": "ff", "finetune": {"steps": 40}})
    with pytest.raises(ValueError, match="FF variant"):
        options_from_recipe(ff, shots=1)
    assert options_from_recipe(ff, shots=1, steps=0).steps == 0  # no fine-tuning: usable as is
    assert options_from_recipe(recipe_from_training({"variant": "ft"}), shots=1).steps > 0


def test_fine_tuning_and_person_files_leave_w_out(tmp_path):
    """A person needs w0 and its own w', never the training videos' W (VoxCeleb2: ≈300 MB)."""
    from fsth_core.models.weights import load_tensors, read_header, save_tensors

    big = build_model(preset("tiny", num_videos=300), seed=0)
    src = _person(6, frames=2)
    ident = compute_identity(big, src, CPU)
    res = finetune(big, ident, src, FinetuneOptions(steps=1), CPU)
    assert res.model.discriminator.W.shape == (big.config.embed_dim, 1)  # not [D, 300]
    assert big.discriminator.W.shape == (big.config.embed_dim, 300)      # the caller's model keeps it
    path = save_person(tmp_path / "p.safetensors", res.identity, res.model)
    keys = read_header(path)[0]
    assert "discriminator.W" not in keys and "discriminator.w0" in keys and "generator.projection" in keys
    loaded, _ = load_person(path, big)
    assert loaded.discriminator.W.shape[1] == 1
    # a person file written before W was left out still loads (its W is ignored)
    tensors, meta = load_tensors(path, kind="person")
    tensors["discriminator.W"] = big.discriminator.W.detach().clone()
    old = save_tensors(tmp_path / "old.safetensors", tensors, meta)
    again, _ = load_person(old, big)
    assert state_digest(again) == state_digest(loaded)
    from fsth_core.inference.pipeline import inference_copy
    assert inference_copy(big, CPU).discriminator.W.shape[1] == 1


def test_finetuning_follows_d_steps_as_meta_learning_does(monkeypatch):
    """Issue 22.7: fine-tuning made one D step per G step whatever the model was meta-learned with."""
    from fsth_core.inference.finetune import options_from_recipe, recipe_from_training
    from fsth_core.options import D_STEPS
    from fsth_core.training.steps import AdversarialUpdate

    assert options_from_recipe(recipe_from_training({}), 1).d_steps == D_STEPS == 2  # the paper's
    assert options_from_recipe(recipe_from_training({"d_steps": 1}), 1).d_steps == 1  # as the model was trained
    assert options_from_recipe(recipe_from_training({"d_steps": 1, "finetune": {"d_steps": 3}}), 1).d_steps == 3
    assert options_from_recipe(recipe_from_training({"d_steps": 1}), 1, d_steps=2).d_steps == 2  # the caller's
    calls = {"gen": 0, "dis": 0}
    def counted(name):
        real = getattr(AdversarialUpdate, f"{name}_update")

        def update(self, *a, **k):
            calls[name] += 1
            return real(self, *a, **k)
        return update

    for name in calls:
        monkeypatch.setattr(AdversarialUpdate, f"{name}_update", counted(name))
    model = build_model(preset("tiny"), seed=0)
    src = _person(4, frames=2)
    finetune(model, compute_identity(model, src, CPU), src, FinetuneOptions(steps=2, d_steps=3), CPU)
    assert calls == {"gen": 2, "dis": 6}
