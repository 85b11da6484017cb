"""Native-resolution composition and the generator's paint region (what a user sees on a real photo)."""
import dataclasses

import cv2
import numpy as np
import pytest
import torch
from _landmark_helpers import astronaut, astronaut_points

from fsth_core.inference.compose import NativeCompositor, native_region, paste_back, paste_frames
from fsth_core.inference.pipeline import FrameGenerator, compute_identity, prepare_sources
from fsth_core.landmarks.geometry import open_mouth
from fsth_core.landmarks.motion import procedural_motion
from fsth_core.models.config import preset
from fsth_core.models.guidance import WarpGuide, paint_region
from fsth_core.models.model import adapt_model, build_model
from fsth_core.runtime.device import Execution
from fsth_core.warp import MeshWarper

CPU = Execution.resolve("cpu", "fp32")


def _band_pass_var(img, where):
    g = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(np.float32)
    return float((cv2.GaussianBlur(g, (0, 0), 0.7) - cv2.GaussianBlur(g, (0, 0), 1.6))[where].var())


@pytest.fixture(scope="module")
def photo():
    img, pts = astronaut(), astronaut_points()
    src = prepare_sources([img], [pts], 64)
    motion = procedural_motion(src.points[0], 12, fps=25.0, seed=1, intensity=1.5)
    motion[6] = open_mouth(motion[6], 0.3)
    return img, src, motion


def test_native_warp_keeps_every_still_pixel_and_the_photo_detail(photo):
    img, src, motion = photo
    comp = NativeCompositor(img, src.transforms[0], src.points[0], 64)
    r = comp.region
    assert r.shape[0] > 64 * 2  # the region is at the photo's own scale, not the model's
    legacy = MeshWarper(src.crops[0], src.points[0])
    head = np.zeros(img.shape[:2], bool)
    head[r.y0:r.y1, r.x0:r.x1] = True
    base = _band_pass_var(img, head)
    for p in motion[::3]:
        frame, mask = comp.frame(p)
        assert frame.shape == img.shape and mask.shape == img.shape[:2]
        assert np.array_equal(frame[mask == 0], img[mask == 0])     # untouched where nothing moves
        assert mask[:r.y0].max() == 0 and mask[:, :r.x0].max() == 0  # nothing outside the head box
        assert _band_pass_var(frame, head) / base > 0.95
        resized = paste_back(img, legacy.warp(p)[0], src.transforms[0])  # the warp at the model's size
        assert _band_pass_var(resized, head) / base < 0.8                # the check can tell
    assert comp.frame(motion[6])[1].max() == 1.0 and not np.array_equal(comp.frame(motion[6])[0], img)


def test_still_target_changes_nothing(photo):
    img, src, _ = photo
    frame, mask = NativeCompositor(img, src.transforms[0], src.points[0], 64).frame(src.points[0])
    assert np.array_equal(frame, img) and mask.max() == 0


def test_paint_region_covers_mouth_and_eyes_only(photo):
    _, src, motion = photo
    p = motion[6]
    valid = np.ones((64, 64), np.float32)
    r = paint_region(p, valid)
    mouth = np.round(p[48:68].mean(0)).astype(int)
    eye = np.round(p[36:42].mean(0)).astype(int)
    assert r[mouth[1], mouth[0]] > 0.99 and r[eye[1], eye[0]] > 0.99
    assert r[2, 2] == 0 and r[60, 32] == 0 and (r > 0).mean() < 0.25   # corners, neck: no paint
    valid[:, :] = 0.0  # the warp explains nothing: the face may be painted, the background still not
    r = paint_region(p, valid)
    nose = np.round(p[30]).astype(int)
    assert r[nose[1], nose[0]] == 1.0 and r[2, 2] == 0


def test_generator_with_paint_region_passes_the_warp_through_outside_it():
    torch.manual_seed(0)
    g = build_model(preset("tiny", warp_guided=True, paint_region=True), seed=0).generator.eval()
    assert g.in_channels == 8
    y = torch.rand(2, 8, 64, 64) * 2 - 1
    y[:, 7] = -1.0  # region 0 everywhere ...
    y[:, 7, 20:30, 20:30] = 1.0  # ... but a square
    with torch.no_grad():
        out = g(y, torch.randn(1, g.num_adain_params))
    outside = torch.ones(64, 64, dtype=torch.bool)
    outside[20:30, 20:30] = False
    assert torch.equal(out[:, :, outside], y[:, 3:6][:, :, outside])
    assert not torch.equal(out[:, :, 20:30, 20:30], y[:, 3:6, 20:30, 20:30])


@pytest.mark.parametrize("paint_channel", [False, True], ids=["7-channel", "paint-region"])
def test_frame_generator_paints_only_in_the_region_on_a_photo(photo, paint_channel):
    img, src, motion = photo
    m = build_model(preset("tiny", warp_guided=True, paint_region=paint_channel), seed=0)
    with torch.no_grad():
        m.generator.out_conv.bias[3] = -60.0  # an untrained net that would repaint everything
    ident = compute_identity(m, src, CPU)
    gen = FrameGenerator(m, ident, CPU, batch=4)
    frames = gen.render(motion[:4])
    guide = WarpGuide(ident.source, ident.source_points, region=True)
    for f, p in zip(frames, motion[:4]):
        warped, valid = guide.warper.warp(p)
        outside = paint_region(p, valid) == 0
        assert np.array_equal(f[outside], warped[outside])
    rgb, w = gen.paint(motion[6:7])
    comp = NativeCompositor(img, src.transforms[0], src.points[0], 64)
    with_paint, mask = comp.frame(motion[6], (rgb[0], w[0]))
    warp_only, _ = comp.frame(motion[6])
    assert np.array_equal(with_paint[mask == 0], img[mask == 0])
    far = cv2.resize((w[0] == 0).astype(np.uint8), comp.region.shape[::-1], interpolation=cv2.INTER_NEAREST)
    k = int(4 * comp.region.shape[0] / 64) | 1  # cubic upsampling reaches 2 model pixels
    far = cv2.erode(far, np.ones((k, k), np.uint8)) > 0
    region_paint, region_warp = comp.region.cut(with_paint), comp.region.cut(warp_only)
    assert np.array_equal(region_paint[far], region_warp[far])         # no paint away from the region
    assert np.abs(region_paint.astype(int) - region_warp).max() > 40  # and it does paint inside it


def test_paste_frames_places_region_frames_pixel_for_pixel(photo):
    img, src, motion = photo
    comp = NativeCompositor(img, src.transforms[0], src.points[0], 64)
    part, moved = comp.region_frame(motion[6])
    full, mask = paste_frames(img, part[None], src.transforms[0], masks=moved[None])
    assert np.array_equal(full[0], comp.frame(motion[6])[0]) and np.array_equal(mask[0], comp.frame(motion[6])[1])
    crops, masks = paste_frames(img, src.crops[:1], src.transforms[0], feather=0.1)  # a head crop: resized
    r = native_region(src.transforms[0], img.shape[:2])
    assert masks[0, r.y0 + r.shape[0] // 2, r.x0 + r.shape[1] // 2] == 1.0 and masks[0, 0, 0] == 0


def test_adapted_model_computes_what_the_old_one_did():
    old = build_model(preset("tiny", warp_guided=True, num_videos=3), seed=1).eval()
    new = adapt_model(old, dataclasses.replace(old.config, paint_region=True, num_videos=5), seed=2).eval()
    y = torch.rand(2, 7, 64, 64) * 2 - 1
    psi = torch.randn(1, old.generator.num_adain_params)
    with torch.no_grad():
        a = old.generator.parts(y, psi)
        b = new.generator.parts(torch.cat([y, torch.ones(2, 1, 64, 64)], 1), psi)
    # The new input channel has zero weights; an 8-channel convolution may sum in another order than a
    # 7-channel one (oneDNN picks kernels by shape), so equal up to float rounding, not bit for bit.
    for old_part, new_part in zip(a, b):
        assert (old_part - new_part).abs().max() < 1e-4  # a wrong weight would differ by ~0.1
    assert new.discriminator.W.shape[1] == 5
    new_e = new.embedder.state_dict()
    assert all(torch.equal(v, new_e[k]) for k, v in old.embedder.state_dict().items())
