import os

import cv2
import numpy as np
import pytest

from fsth_core.io import media
from fsth_core.io.media import VideoWriter, as_rgb_uint8, iter_frames, load_image, probe


def test_gray_and_single_channel_become_rgb():
    g = np.arange(12, dtype=np.uint8).reshape(3, 4)
    for img in (g, g[:, :, None]):
        out = as_rgb_uint8(img)
        assert out.shape == (3, 4, 3) and out.dtype == np.uint8
        assert (out[:, :, 0] == g).all() and (out[:, :, 2] == g).all()


def test_rgba_is_composited_over_black():
    img = np.zeros((2, 2, 4), np.uint8)
    img[..., :3] = 200
    img[0, 0, 3] = 255
    img[0, 1, 3] = 0
    img[1, :, 3] = 128
    out = as_rgb_uint8(img)
    assert (out[0, 0] == 200).all() and (out[0, 1] == 0).all()
    assert abs(int(out[1, 0, 0]) - 100) <= 1


def test_16bit_and_float_and_bool_scale_to_8bit():
    u16 = (np.arange(6, dtype=np.uint16).reshape(2, 3) * 257 * 50)
    assert (as_rgb_uint8(u16)[:, :, 1] == np.arange(6).reshape(2, 3) * 50).all()
    f = np.array([[0.0, 0.5, 1.0]], np.float32)
    assert as_rgb_uint8(f)[0, :, 0].tolist() == [0, 128, 255]
    assert as_rgb_uint8(np.array([[True, False]]))[0, :, 0].tolist() == [255, 0]


def test_one_pixel_image_is_fine():
    assert as_rgb_uint8(np.full((1, 1, 3), 7, np.uint8)).shape == (1, 1, 3)


@pytest.mark.parametrize("img, words", [
    (np.zeros((0, 5, 3), np.uint8), "empty"),
    (np.zeros((4, 4, 2), np.uint8), "shape"),
    (np.zeros((2, 2, 2, 3), np.uint8), "shape"),
    (np.full((2, 2), 255.0, np.float32), "[0, 1]"),
    (np.full((2, 2), np.nan, np.float32), "NaN"),
    (np.full((2, 2), 300, np.int32), "0..255"),
    (np.zeros((2, 2), np.complex64), "dtype"),
])
def test_bad_images_raise_one_clear_error_naming_the_input(img, words):
    with pytest.raises(ValueError) as e:
        as_rgb_uint8(img, name="my_input")
    assert "my_input" in str(e.value) and words in str(e.value)


def test_load_image_16bit_gray_rgba_and_errors(tmp_path):
    g16 = (np.arange(20 * 30, dtype=np.uint16).reshape(20, 30) * 100)
    cv2.imwrite(str(tmp_path / "g16.png"), g16)
    out = load_image(tmp_path / "g16.png")
    assert out.shape == (20, 30, 3)
    assert np.abs(out[:, :, 0].astype(int) - np.round(g16 / 257.0)).max() <= 1
    rgba = np.zeros((5, 6, 4), np.uint8)
    rgba[..., 2] = 255  # BGR(A) red channel in OpenCV order
    rgba[..., 3] = 255
    cv2.imwrite(str(tmp_path / "a.png"), rgba)
    assert load_image(tmp_path / "a.png")[0, 0].tolist() == [255, 0, 0]
    with pytest.raises(FileNotFoundError):
        load_image(tmp_path / "missing.png")
    (tmp_path / "junk.png").write_bytes(b"not an image")
    with pytest.raises(ValueError, match="junk.png"):
        load_image(tmp_path / "junk.png")


def test_folder_frames_come_in_natural_order(tmp_path):
    for i in (10, 2, 1):
        cv2.imwrite(str(tmp_path / f"frame{i}.png"), np.full((4, 4, 3), i, np.uint8))
    (tmp_path / "notes.txt").write_text("ignored")
    assert [int(f[0, 0, 0]) for f in iter_frames(tmp_path)] == [1, 2, 10]
    info = probe(tmp_path)
    assert (info.kind, info.frames, info.width, info.height) == ("folder", 3, 4, 4)


def test_unknown_input_kinds(tmp_path):
    with pytest.raises(FileNotFoundError):
        media.media_kind(tmp_path / "nope.mp4")
    (tmp_path / "x.xyz").write_text("?")
    with pytest.raises(ValueError, match="unknown media type"):
        list(iter_frames(tmp_path / "x.xyz"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no images"):
        list(iter_frames(tmp_path / "empty"))


def test_video_round_trip_with_odd_size(tmp_path):
    colours = [(250, 10, 10), (10, 250, 10), (10, 10, 250), (128, 128, 128), (0, 0, 0)]
    path = tmp_path / "v.mp4"
    with VideoWriter(path, fps=10) as w:
        for c in colours:
            w.write(np.full((47, 63, 3), c, np.uint8))
    assert path.is_file()
    assert not [p for p in os.listdir(tmp_path) if "partial" in p]
    info = probe(path)
    assert info.kind == "video" and info.fps == pytest.approx(10.0) and (info.width, info.height) == (64, 48)
    assert abs(info.frames - len(colours)) <= 1
    frames = list(iter_frames(path))
    assert len(frames) == len(colours)
    for f, c in zip(frames, colours):
        assert np.abs(f[5:40, 5:55].reshape(-1, 3).mean(0) - np.array(c)).max() < 12


def test_video_writer_leaves_nothing_on_error(tmp_path):
    path = tmp_path / "bad.mp4"
    with pytest.raises(RuntimeError):
        with VideoWriter(path, fps=5) as w:
            w.write(np.zeros((16, 16, 3), np.uint8))
            raise RuntimeError("boom")
    assert os.listdir(tmp_path) == []
    with pytest.raises(ValueError, match="differs"):
        with VideoWriter(path, fps=5) as w:
            w.write(np.zeros((16, 16, 3), np.uint8))
            w.write(np.zeros((8, 16, 3), np.uint8))
    assert os.listdir(tmp_path) == []


def test_unreadable_video_is_one_clear_error(tmp_path):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"this is not a video")
    for fn in (probe, lambda p: list(iter_frames(p))):
        with pytest.raises(ValueError, match="broken.mp4: cannot read video"):
            fn(bad)
