"""Inference routes of the blocks (fsth_core/models/fast_ops.py) compute what the textbook ops compute, in
either memory format; training keeps the textbook ops."""
import pytest
import torch
import torch.nn.functional as F

from fsth_core.models.config import preset
from fsth_core.models.fast_ops import add_upsampled, instance_norm_affine, pooled_conv, textbook_ops, upsampled_conv
from fsth_core.models.model import build_model

CL = torch.channels_last


def _fmt(t, cl):
    return t.contiguous(memory_format=CL) if cl else t


@pytest.mark.parametrize("cl", [False, True])
def test_fused_convs_equal_the_textbook_order(cl):
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(6, 5, 3, padding=1)
    conv = conv.to(memory_format=CL) if cl else conv
    x = _fmt(torch.randn(2, 6, 8, 10), cl)
    with torch.no_grad():
        torch.testing.assert_close(pooled_conv(conv, x), F.avg_pool2d(conv(x), 2), atol=1e-5, rtol=1e-5)
        up = upsampled_conv(conv, x)
        torch.testing.assert_close(up, conv(F.interpolate(x, scale_factor=2.0, mode="nearest")), atol=1e-5, rtol=1e-5)
        assert up.is_contiguous(memory_format=CL if cl else torch.contiguous_format)
        s = torch.randn(2, 5, 8, 10)
        expected = up + F.interpolate(s, scale_factor=2.0, mode="nearest")
        torch.testing.assert_close(add_upsampled(up, s), expected)
        conv.weight.mul_(2)  # the derived kernels follow an in-place change of the weight
        torch.testing.assert_close(pooled_conv(conv, x), F.avg_pool2d(conv(x), 2), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("cl", [False, True])
def test_instance_norm_keeps_the_memory_format(cl):
    torch.manual_seed(0)
    x = _fmt(torch.randn(3, 4, 6, 6) * 3 + 1, cl)
    scale, bias = torch.randn(3, 4), torch.randn(3, 4)
    with torch.no_grad():
        out = instance_norm_affine(x, scale, bias, relu=True)
        ref = torch.relu(F.instance_norm(x.contiguous()) * scale[..., None, None] + bias[..., None, None])
        torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)
        assert out.is_contiguous(memory_format=CL if cl else torch.contiguous_format)
        sliced = _fmt(torch.randn(3, 5, 6, 6), cl)[:, :4]  # a channel slice: neither layout is dense
        ref = F.instance_norm(sliced.contiguous()) * scale[..., None, None] + bias[..., None, None]
        torch.testing.assert_close(instance_norm_affine(sliced, scale, bias), ref, atol=1e-5, rtol=1e-5)
        shared = instance_norm_affine(x, scale[:1], None)  # one identity for the batch, no bias
        torch.testing.assert_close(shared, F.instance_norm(x.contiguous()) * scale[:1, :, None, None],
                                   atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("cl", [False, True])
def test_generator_inference_equals_its_textbook_ops(cl):
    m = build_model(preset("tiny", warp_guided=True, paint_region=True), seed=0).fold()
    g = m.generator.to(memory_format=CL) if cl else m.generator
    y = _fmt(torch.rand(2, 8, 64, 64) * 2 - 1, cl)
    psi = g.project(torch.randn(2, m.config.embed_dim)).detach()
    with torch.no_grad():
        fast = g(y, psi)
        with textbook_ops():
            textbook = g(y, psi)
    torch.testing.assert_close(fast, textbook, atol=1e-4, rtol=1e-4)


def test_inference_runs_fewer_flops():
    from fsth_core.models.model import generator_gflops

    cfg = preset("tiny")
    assert generator_gflops(cfg, executed=True) < 0.8 * generator_gflops(cfg)  # the fused convs were taken


def test_training_runs_the_textbook_ops():
    m = build_model(preset("tiny"), seed=0).eval()  # eval: spectral norm's vectors stay put between the calls
    y = torch.rand(1, 3, 64, 64) * 2 - 1
    psi = m.generator.project(torch.randn(1, m.config.embed_dim))
    out = m.generator(y, psi)  # autograd on: the textbook ops
    with torch.no_grad(), textbook_ops():
        assert torch.equal(out.detach(), m.generator(y, psi))
    out.mean().backward()
    assert m.generator.down[0].conv2.parametrizations.weight.original.grad is not None
