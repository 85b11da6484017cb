import dataclasses

import pytest
import torch

from fsth_core.models.config import PRESETS, ModelConfig, preset
from fsth_core.models.layers import AdaIN
from fsth_core.models.model import build_model


@pytest.fixture(scope="module")
def tiny():
    return build_model(preset("tiny", num_videos=5), seed=0).eval()


@pytest.mark.parametrize("name", ["tiny", "small", "paper"])
@pytest.mark.parametrize("k", [1, 3])
def test_shapes_every_preset(name, k):
    cfg = preset(name, num_videos=4)
    m = build_model(cfg, seed=0).eval()
    s, d = cfg.image_size, cfg.embed_dim
    frames = torch.rand(1, k, 3, s, s) * 2 - 1
    lms = torch.rand(1, k, 3, s, s) * 2 - 1
    with torch.no_grad():
        e = m.embedder.embed(frames, lms)
        assert e.shape == (1, d)
        psi = m.generator.project(e)
        assert psi.shape == (1, m.generator.num_adain_params)
        out = m.generator(lms[:, 0], psi)
        assert out.shape == (1, 3, s, s)
        assert out.abs().max() <= 1
        r, feats = m.discriminator(out, lms[:, 0], i=torch.tensor([3]))
    assert r.shape == (1,)
    assert feats[-1].shape == (1, d, 4, 4)


def test_kshot_embedding_is_mean_over_frames(tiny):
    s = tiny.config.image_size
    x, y = torch.rand(4, 3, s, s), torch.rand(4, 3, s, s)
    with torch.no_grad():
        single = tiny.embedder(x, y)
        kshot = tiny.embedder.embed(x[None], y[None])
    torch.testing.assert_close(kshot[0], single.mean(0))


def test_projection_size_equals_adain_parameters(tiny):
    g = tiny.generator
    n = sum(2 * m.channels for m in g.modules() if isinstance(m, AdaIN))
    assert g.num_adain_params == n
    assert g.projection.shape == (n, tiny.config.embed_dim)
    offsets = sorted((m.offset, m.num_params) for m in g.modules() if isinstance(m, AdaIN))
    assert offsets[0][0] == 0
    assert all(a + n == b for (a, n), (b, _) in zip(offsets, offsets[1:]))  # slices tile ψ exactly


def test_psi_computed_once_gives_the_same_frames(tiny):
    tiny.eval()
    s = tiny.config.image_size
    e = torch.randn(1, tiny.config.embed_dim).abs()
    ys = torch.rand(6, 3, s, s) * 2 - 1
    with torch.no_grad():
        psi = tiny.generator.project(e)
        once = torch.cat([tiny.generator(y[None], psi) for y in ys])       # ψ once, reused per frame
        recomputed = torch.cat([tiny.generator.generate(y[None], e) for y in ys])
        batched = tiny.generator(ys, psi)                                  # ψ broadcast over 6 frames
    assert torch.equal(once, recomputed)
    torch.testing.assert_close(batched, recomputed, atol=1e-4, rtol=1e-4)  # batch-size conv algorithms
    other = tiny.generator.generate(ys, e * 3 + 1)
    assert (other - batched).abs().max() > 1e-3  # ψ does change the frames


def test_spectral_norm_on_all_convolutions(tiny):
    for name, mod in tiny.named_modules():
        if isinstance(mod, torch.nn.Conv2d):
            assert hasattr(mod, "parametrizations"), name


def test_folding_spectral_norm_keeps_outputs():
    m = build_model(preset("tiny", num_videos=2), seed=1)
    s = m.config.image_size
    x, y = torch.rand(2, 3, s, s) * 2 - 1, torch.rand(2, 3, s, s) * 2 - 1
    m.train()
    m.generator(y, m.generator.project(torch.rand(2, m.config.embed_dim)))  # a training step moves u, v
    m.eval()
    with torch.no_grad():
        e = m.embedder(x, y)
        before = (e, m.generator.generate(y, e), m.discriminator(x, y, i=torch.tensor([0, 1]))[0])
        m.fold()
        assert m.folded
        after = (m.embedder(x, y), m.generator.generate(y, e), m.discriminator(x, y, i=torch.tensor([0, 1]))[0])
    for a, b in zip(before, after):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


def test_discriminator_projection_uses_video_column(tiny):
    s = tiny.config.image_size
    x, y = torch.rand(1, 3, s, s), torch.rand(1, 3, s, s)
    with torch.no_grad():
        tiny.discriminator.W[:, 2] += 1.0
        r0, _ = tiny.discriminator(x, y, i=torch.tensor([0]))
        r2, _ = tiny.discriminator(x, y, i=torch.tensor([2]))
        v, _ = tiny.discriminator.features(x, y)
        w = tiny.discriminator.W[:, 2] + tiny.discriminator.w0
        r_explicit, _ = tiny.discriminator(x, y, w=w)
    assert not torch.allclose(r0, r2)
    torch.testing.assert_close(r_explicit, r2)
    torch.testing.assert_close(r2, (v * w).sum(1) + tiny.discriminator.b)
    # each sample of a batch uses its own video's column: r_i = v·(W[:, i] + w0) + b, by hand
    with torch.no_grad():
        d = tiny.discriminator
        r_batch, _ = d(x.repeat(2, 1, 1, 1), y.repeat(2, 1, 1, 1), i=torch.tensor([0, 2]))
        by_hand = torch.stack([(v[0] * (d.W[:, k] + d.w0)).sum() + d.b for k in (0, 2)]).reshape(r_batch.shape)
    torch.testing.assert_close(r_batch, by_hand)
    torch.testing.assert_close(r0, by_hand[:1])


def test_config_round_trip_and_validation():
    for cfg in PRESETS.values():
        assert ModelConfig.from_json(cfg.to_json()) == cfg
    with pytest.raises(ValueError, match="unknown preset"):
        preset("huge")
    with pytest.raises(ValueError, match="power of two"):
        ModelConfig(image_size=100)
    with pytest.raises(ValueError, match="unknown model config keys: bogus"):
        ModelConfig.from_dict({**PRESETS["tiny"].to_dict(), "bogus": 1})
    with pytest.raises(dataclasses.FrozenInstanceError):
        PRESETS["tiny"].image_size = 8


def test_paper_preset_matches_the_paper():
    cfg = preset("paper")
    m = build_model(cfg)
    assert (cfg.image_size, cfg.embed_dim, cfg.channels(0), cfg.max_channels) == (256, 512, 64, 512)
    from fsth_core.models.layers import SelfAttention
    # attention at 32x32 in the downsampling part, 64x64 in the upsampling part
    g = m.generator
    seen, res = [], cfg.image_size
    for b in g.down:
        if isinstance(b, SelfAttention):
            seen.append(("down", res))
        else:
            res //= 2
    for b in g.up:
        if isinstance(b, SelfAttention):
            seen.append(("up", res))
        else:
            res *= 2
    assert seen == [("down", 32), ("up", 64)]


def test_warp_guided_generator_can_pass_the_warp_through():
    m = build_model(preset("tiny", warp_guided=True), seed=0).eval()
    g = m.generator
    s = m.config.image_size
    y = torch.rand(2, 7, s, s) * 2 - 1
    psi = g.project(torch.randn(1, m.config.embed_dim))
    with torch.no_grad():
        out = g(y, psi)
        assert out.shape == (2, 3, s, s) and out.abs().max() <= 1
        g.out_conv.bias[3] = 60.0  # mask fully on the warp
        torch.testing.assert_close(g(y, psi), y[:, 3:6], atol=1e-5, rtol=0)
        g.out_conv.bias[3] = -60.0  # fully generated
        assert (g(y, psi) - y[:, 3:6]).abs().mean() > 0.1


def test_fast_block_paths_compute_the_paper_blocks():
    """Pooling before the 1x1 skip conv, upsampling after it, and the fused AdaIN for one identity give
    what the blocks' textbook order gives."""
    import torch.nn.functional as F

    from fsth_core.models.layers import AdaIN, ResBlockDown, ResBlockUp

    torch.manual_seed(0)
    x = torch.randn(2, 8, 16, 16)
    down = ResBlockDown(8, 12, norm=True).eval()
    with torch.no_grad():
        h = down.conv2(F.relu(down.norm2(down.conv1(F.relu(down.norm1(x))))))
        textbook = F.avg_pool2d(h, 2) + F.avg_pool2d(down.skip(x), 2)
        torch.testing.assert_close(down(x), textbook, atol=1e-5, rtol=1e-5)
    up = ResBlockUp(8, 6).eval()
    n = sum(m.num_params for m in up.modules() if isinstance(m, AdaIN))
    offset = 0
    for m in up.modules():
        if isinstance(m, AdaIN):
            m.offset, offset = offset, offset + m.num_params
    psi = torch.randn(1, n) * 0.3
    with torch.no_grad():
        h = F.interpolate(F.relu(up.norm1(x, psi.expand(2, -1))), scale_factor=2.0, mode="nearest")
        h = up.conv2(F.relu(up.norm2(up.conv1(h), psi.expand(2, -1))))
        textbook = h + up.skip(F.interpolate(x, scale_factor=2.0, mode="nearest"))
        torch.testing.assert_close(up(x, psi), textbook, atol=1e-5, rtol=1e-5)  # psi [1,N]: fused AdaIN


def _last_maps(net, x, y):
    """The last feature map a network pools (E: its last block; D: after its extra block)."""
    h = torch.cat([x, y], dim=1)
    for block in net.blocks:
        h = block(h)
    return net.extra(h) if hasattr(net, "extra") else h


def test_pooling_is_in_the_config_and_old_files_keep_theirs():
    """Issue 22.8: D pools as the paper does (global sum, then ReLU); E keeps a max without ReLU (the paper's
    sum-then-ReLU collapses ê under L_MCH: docs/training.md); a file from before computes what it did."""
    from pathlib import Path

    from fsth_core.models.config import FILE_DEFAULTS
    from fsth_core.models.weights import load_model

    fresh = preset("tiny")
    assert (fresh.embed_pooling, fresh.dis_pooling) == ("max", "sum_relu")
    old = {k: v for k, v in fresh.to_dict().items() if k not in FILE_DEFAULTS}
    assert ModelConfig.from_dict(old).dis_pooling == "relu_sum" and ModelConfig.from_dict(old).embed_pooling == "max"
    assert ModelConfig.from_json(fresh.to_json()) == fresh
    with pytest.raises(ValueError, match="dis_pooling must be one of"):
        dataclasses.replace(fresh, dis_pooling="mean")
    bundled = load_model(Path(__file__).resolve().parents[1] / "weights" / "fsth_demo_cpu128.safetensors").eval()
    assert (bundled.config.embed_pooling, bundled.config.dis_pooling) == ("max", "relu_sum")
    g = torch.Generator().manual_seed(0)
    for model, e_pool, d_pool in ((bundled, "max", "relu_sum"),
                                  (build_model(preset("tiny"), seed=0).eval(), "max", "sum_relu"),
                                  (build_model(preset("tiny", embed_pooling="sum_relu"), seed=0).eval(),
                                   "sum_relu", "sum_relu")):
        s = model.config.image_size
        x, y = torch.rand(2, 3, s, s, generator=g) * 2 - 1, torch.rand(2, 3, s, s, generator=g) * 2 - 1
        with torch.no_grad():
            he, hd = _last_maps(model.embedder, x, y), _last_maps(model.discriminator, x, y)
            e_want = he.amax(dim=(2, 3)) if e_pool == "max" else torch.relu(he.sum(dim=(2, 3)))
            d_want = torch.relu(hd).sum(dim=(2, 3)) if d_pool == "relu_sum" else torch.relu(hd.sum(dim=(2, 3)))
            assert torch.equal(model.embedder(x, y), e_want)
            assert torch.equal(model.discriminator.features(x, y)[0], d_want)
        assert not torch.equal(torch.relu(hd).sum(dim=(2, 3)), torch.relu(hd.sum(dim=(2, 3))))  # they differ
