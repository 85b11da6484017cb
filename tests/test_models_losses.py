import logging

import pytest
import torch

from fsth_core.models.config import LossWeights, preset
from fsth_core.models.losses import ContentLoss, GeneratorLoss, discriminator_loss
from fsth_core.models.model import build_model
from fsth_core.models.vgg import VGG16_LAYOUT, VGG19_LAYOUT, make_features


def _step_tensors(m, b=2):
    s = m.config.image_size
    frames = torch.rand(b, 2, 3, s, s) * 2 - 1
    lms = torch.rand(b, 2, 3, s, s) * 2 - 1
    target, target_lm = torch.rand(b, 3, s, s) * 2 - 1, torch.rand(b, 3, s, s) * 2 - 1
    idx = torch.arange(b)
    return frames, lms, target, target_lm, idx


def _grads(module):
    return [p.grad for p in module.parameters() if p.requires_grad]


def test_generator_loss_trains_e_and_g_only():
    m = build_model(preset("tiny", num_videos=2), seed=0)
    frames, lms, target, target_lm, idx = _step_tensors(m)
    m.discriminator.requires_grad_(False)  # what the trainer does in the G step
    e = m.embedder.embed(frames, lms)
    fake = m.generator.generate(target_lm, e)
    r_fake, ff = m.discriminator(fake, target_lm, i=idx)
    _, fr = m.discriminator(target, target_lm, i=idx)
    out = GeneratorLoss(LossWeights(), match=True)(fake, target, r_fake, ff, fr,
                                                   w=m.discriminator.W[:, idx].t(), e=e)
    assert set(out.terms) == {"adversarial", "feature_matching", "match"}
    assert all(torch.isfinite(v) for v in out.terms.values()) and torch.isfinite(out.total)
    wt = LossWeights()
    expected = (out.terms["adversarial"] + wt.feature_matching * out.terms["feature_matching"]
                + wt.match * out.terms["match"])
    torch.testing.assert_close(out.total, expected)
    out.total.backward()
    assert all(g is not None and torch.isfinite(g).all() for g in _grads(m.embedder))
    assert all(g is not None for g in _grads(m.generator))
    assert any(g.abs().sum() > 0 for g in _grads(m.embedder))
    assert all(p.grad is None for p in m.discriminator.parameters())


def test_discriminator_loss_trains_d_only():
    m = build_model(preset("tiny", num_videos=2), seed=0)
    frames, lms, target, target_lm, idx = _step_tensors(m)
    with torch.no_grad():
        e = m.embedder.embed(frames, lms)
        fake = m.generator.generate(target_lm, e)
    r_real, _ = m.discriminator(target, target_lm, i=idx)
    r_fake, _ = m.discriminator(fake, target_lm, i=idx)
    out = discriminator_loss(r_real, r_fake, w=m.discriminator.video_columns(idx), e=e)
    assert set(out.terms) == {"real", "fake", "match"}
    out.total.backward()
    assert all(p.grad is None for p in m.embedder.parameters())
    assert all(p.grad is None for p in m.generator.parameters())
    grad = m.discriminator.video_w.grad  # W's rows, sparse: only the sampled videos'
    assert grad.is_sparse and grad.to_dense()[idx].abs().sum() > 0
    assert m.discriminator.blocks[0].conv1.parametrizations.weight.original.grad is not None


def test_hinge_values():
    out = discriminator_loss(torch.tensor([2.0, 0.5]), torch.tensor([-3.0, 0.0]))
    torch.testing.assert_close(out.terms["real"], torch.tensor(0.25))
    torch.testing.assert_close(out.terms["fake"], torch.tensor(0.5))


def test_ff_variant_has_no_match_term():
    m = build_model(preset("tiny"), seed=0)
    s = m.config.image_size
    x = torch.rand(1, 3, s, s)
    r, f = m.discriminator(x, x, i=torch.tensor([0]))
    out = GeneratorLoss(match=False)(x, x, r, f, f, w=torch.zeros(1, 128), e=torch.ones(1, 128))
    assert "match" not in out.terms


def _write_fake_vgg(tmp_path, layout, name):
    feats = make_features(layout, 10_000)
    state = {f"features.{k}": v for k, v in feats.state_dict().items()}
    if name == "vgg_face_dag":  # that port names its layers conv1_1 ... conv5_3
        convs = [i for i, layer in enumerate(feats) if isinstance(layer, torch.nn.Conv2d)]
        names = [f"conv{a}_{b}" for a, n in zip(range(1, 6), (2, 2, 3, 3, 3)) for b in range(1, n + 1)]
        state = {f"{nm}.{p}": feats[i].state_dict()[p] for i, nm in zip(convs, names) for p in ("weight", "bias")}
        state["fc8.weight"] = torch.zeros(2, 2)
    path = tmp_path / f"{name}.pth"
    torch.save(state, path)
    return path


def test_content_loss_off_with_one_clear_warning(caplog):
    with caplog.at_level(logging.WARNING, logger="fsth"):
        content = ContentLoss.from_installed()
    assert not content.active
    msgs = [r.getMessage() for r in caplog.records]
    assert len(msgs) == 1 and "content loss off" in msgs[0] and "convert-vgg" in msgs[0]


def test_convert_vgg_and_content_loss(tmp_path, monkeypatch):
    from fsth_core.cli import main

    v19 = _write_fake_vgg(tmp_path, VGG19_LAYOUT, "vgg19")
    vf = _write_fake_vgg(tmp_path, VGG16_LAYOUT, "vgg_face_dag")
    out = tmp_path / "weights"
    assert main(["convert-vgg", "--vgg19", str(v19), "--vggface", str(vf), "--out-dir", str(out)]) == 0
    content = ContentLoss.from_installed()
    assert content.vgg19 is not None and content.vggface is not None
    # input conventions: torchvision RGB 0-1 normalized; vgg_face_dag RGB 0-255 mean-subtracted
    white = torch.ones(1, 3, 4, 4)
    torch.testing.assert_close(content.vgg19.normalize(white)[0, :, 0, 0],
                               (1 - torch.tensor([0.485, 0.456, 0.406])) / torch.tensor([0.229, 0.224, 0.225]))
    torch.testing.assert_close(content.vggface.normalize(-white)[0, :, 0, 0],
                               -torch.tensor([129.186279296875, 104.76238250732422, 93.59396362304688]))
    a = torch.rand(1, 3, 32, 32, requires_grad=True)
    terms = content(a, torch.rand(1, 3, 32, 32))
    assert set(terms) == {"vgg19", "vggface"} and all(torch.isfinite(t) for t in terms.values())
    sum(terms.values()).backward()
    assert a.grad is not None and a.grad.abs().sum() > 0
    assert all(not p.requires_grad for p in content.parameters())
    same = content(a.detach(), a.detach())
    assert all(float(v) == 0 for v in same.values())


def test_caffe_convention_flips_to_bgr(tmp_path):
    from fsth_core.models.convert import convert_vgg
    from fsth_core.models.losses import load_vgg

    convert_vgg(_write_fake_vgg(tmp_path, VGG19_LAYOUT, "vgg19"), tmp_path / "weights" / "vgg19.safetensors",
                "vgg19", "caffe")
    net = load_vgg("vgg19")
    red = torch.tensor([1.0, -1.0, -1.0]).view(1, 3, 1, 1)  # pure red in [-1,1]
    torch.testing.assert_close(net.normalize(red)[0, :, 0, 0], torch.tensor([-103.939, -116.779, 255 - 123.68]))


def test_convert_rejects_non_state_dicts(tmp_path):
    from fsth_core.models.convert import convert_vgg

    bad = tmp_path / "model.pth"
    torch.save({"features.0.weight": torch.zeros(1)}, bad)
    with pytest.raises(ValueError, match="key 'features.0.bias' is missing"):
        convert_vgg(bad, tmp_path / "o.safetensors", "vgg19", "torchvision")


def test_feature_matching_sums_the_per_block_means():
    from fsth_core.models.losses import feature_matching

    fake = [torch.ones(2, 4, 8, 8), torch.ones(2, 8, 4, 4) * 3]
    real = [torch.zeros(2, 4, 8, 8), torch.zeros(2, 8, 4, 4)]
    assert feature_matching(fake, real).item() == pytest.approx(1.0 + 3.0)
