"""Nonsense numbers, unreadable drivers and paths of the wrong kind: one error line before any work; odd but valid
inputs (variable frame rate, EXIF rotation, frames of mixed sizes) give the right result.

The CLI runs in-process (``fsth_core.cli.main``) with tiny, generated inputs; fixtures are in conftest.py."""
from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import cv2
import imageio_ffmpeg
import numpy as np
import pytest
from _cli_helpers import PORTRAIT, WARP, assert_refused, cli, no_leftovers, snapshot
from PIL import Image, ImageOps

from fsth_core.io.media import iter_frames, load_image, probe
from fsth_core.landmarks.detect import LandmarkResult

ANIMATE = ["animate", "--method", "warp", "--source", PORTRAIT, "--motion", "talk"]


@pytest.mark.parametrize("args, needle", [
    (["--seconds", "inf"], "--seconds"), (["--seconds", "nan"], "--seconds"), (["--seconds", "-1"], "--seconds"),
    (["--seconds", "0"], "--seconds"), (["--seconds", "1e9"], "--seconds"), (["--fps", "0"], "--fps"),
    (["--fps", "inf"], "--fps"), (["--batch", "0"], "--batch"), (["--batch", "-1"], "--batch"),
    (["--finetune-steps", "-5"], "--finetune-steps"), (["--intensity", "1e6"], "--intensity"),
    (["--device", "foo"], "unknown device 'foo'"), (["--crf", "99"], "--crf"),
    (["--seconds", "3600", "--fps", "240"], "864,000 frames"),
])
def test_nonsense_numbers_for_animate_are_one_error_line(tmp_path, capsys, args, needle):
    out = tmp_path / "o.mp4"
    assert_refused(cli(capsys, *ANIMATE, "--out", out, *args), needle)
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("args, needle", [
    (["prepare", "VIDEOS", "OUT", "--size", "0"], "--size"),
    (["landmarks", PORTRAIT, "--fps", "-5"], "--fps"),
    (["landmarks", PORTRAIT, "--device", "foo"], "unknown device"),
    (["render-landmarks", "L.npz", "--out", "d", "--width", "-5"], "--width"),
    (["train", "--data", "D", "--out", "o.safetensors", "--batch", "0"], "--batch"),
    (["train", "--data", "D", "--out", "o.safetensors", "--device", "cuda:x"], "unknown device"),
    (["eval", "--data", "D", "--frames", "0"], "--frames"),
    (["init", "--preset", "tiny", "--out", "o.safetensors", "--videos", "0"], "--videos"),
])
def test_nonsense_numbers_for_other_commands_are_one_error_line(tmp_path, capsys, monkeypatch, args, needle):
    monkeypatch.chdir(tmp_path)
    assert_refused(cli(capsys, *args), needle)
    assert not list(tmp_path.iterdir())


def test_bad_out_places_are_one_error_line_before_any_work(work, capsys, monkeypatch):
    src = work / "portrait.jpg"
    (work / "folder.mp4").mkdir()
    before = snapshot(work)
    assert_refused(cli(capsys, *WARP, "--source", src, "--out", work / "folder.mp4"), "folder.mp4", "existing folder")
    assert_refused(cli(capsys, *WARP, "--source", src, "--out", work), str(work), "not empty")
    assert_refused(cli(capsys, *WARP, "--source", src, "--out", work / "notes.txt" / "o.mp4"), "notes.txt",
                   "is a file")
    assert_refused(cli(capsys, *WARP, "--source", src, "--out", work / "o.mp4", "--frames-dir",
                       work / "notes.txt" / "frames"), "notes.txt", "is a file")

    def read_only(*a, **k):
        raise PermissionError(13, "Permission denied")

    with monkeypatch.context() as m:  # a read-only folder (root ignores chmod, so it is simulated)
        m.setattr(tempfile, "mkstemp", read_only)
        line = assert_refused(cli(capsys, *WARP, "--source", src, "--out", work / "o.mp4"), "not writable")
        assert str(work) in line
    assert snapshot(work) == before and not no_leftovers(work)


def test_unreadable_drivers_are_one_error_line(work, capsys):
    audio = work / "audio.mp4"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-f", "lavfi", "-i", "sine=duration=0.5",
                    "-c:a", "aac", str(audio)], check=True)
    (work / "empty.mp4").write_bytes(b"")
    before = snapshot(work)
    for name in ("audio.mp4", "empty.mp4"):
        line = assert_refused(cli(capsys, "animate", "--method", "warp", "--source", work / "portrait.jpg", "--driver",
                                  work / name, "--out", work / "o.mp4"), name)
        assert "Error opening output" not in line
    assert snapshot(work) == before and not no_leftovers(work)


def _vfr_clip(path: Path) -> float:
    """A talking-head-like clip with a variable frame rate: 0.5 s at 10 fps, then 1 s at 30 fps."""
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-loop", "1", "-framerate", "30",
                    "-i", str(PORTRAIT), "-frames:v", "35", "-vf",
                    "scale=160:160,setpts='if(lt(N,5),N*0.1,0.5+(N-5)/30)/TB'", "-fps_mode", "vfr",
                    "-c:v", "libx264", "-pix_fmt", "yuv420p", str(path)], check=True)
    return 1.5


def test_variable_frame_rate_driver_keeps_its_duration(work, capsys):
    drv = work / "vfr.mp4"
    duration = _vfr_clip(drv)
    for fps in (None, "12"):
        out = work / f"o{fps}.mp4"
        rc, _, err = cli(capsys, "animate", "--quiet", "--method", "warp", "--source", work / "portrait.jpg",
                         "--driver", drv, "--out", out, *(["--fps", fps] if fps else []))
        assert rc == 0, err
        info = probe(out)
        frames = len(list(iter_frames(out)))
        assert abs(frames / info.fps - duration) <= 1.5 / info.fps, (frames, info)
        if fps:
            assert info.fps == pytest.approx(12, abs=0.01)


def test_exif_orientation_is_applied_where_images_enter(work, capsys):
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 255, (5, 8, 3), dtype=np.uint8)  # not square, not symmetric
    for orientation in range(1, 9):
        p = work / f"o{orientation}.png"
        exif = Image.Exif()
        exif[0x0112] = orientation
        Image.fromarray(pixels).save(p, exif=exif)
        want = np.asarray(ImageOps.exif_transpose(Image.open(p)).convert("RGB"))
        assert (load_image(p) == want).all(), orientation
    # a phone photo stored sideways (Orientation 6: turn 90 degrees clockwise to show it)
    upright = Image.open(PORTRAIT)
    exif = Image.Exif()
    exif[0x0112] = 6
    phone = work / "phone.jpg"
    upright.transpose(Image.Transpose.ROTATE_90).save(phone, quality=95, exif=exif)
    assert load_image(phone).shape == load_image(PORTRAIT).shape
    before = snapshot(work)
    rc, _, err = cli(capsys, *WARP, "--source", phone, "--out", work / "o.mp4")
    assert rc == 0, err
    assert snapshot(work).items() >= before.items()


def test_driver_folder_of_mixed_sizes_is_resized_to_the_first_frame(work, capsys):
    img = load_image(PORTRAIT)
    folder = work / "drv"
    folder.mkdir()
    for i, side in enumerate((200, 320, 260, 200)):  # the same head, stored at other sizes
        cv2.imwrite(str(folder / f"f{i}.png"), cv2.resize(img, (side, side))[:, :, ::-1])
    cv2.imwrite(str(folder / "f4.png"), cv2.resize(img, (300, 200))[:, :, ::-1])  # another aspect ratio
    frames = list(iter_frames(folder))
    assert {f.shape for f in frames} == {(200, 200, 3)}
    assert np.abs(frames[1].astype(int) - frames[0]).mean() < 6  # rescaled, not cropped or shifted
    rc, _, err = cli(capsys, "landmarks", "--quiet", folder, "--out", work / "drv.npz")
    assert rc == 0, err

    res = LandmarkResult.load(work / "drv.npz")
    assert res.found[:4].all() and res.image_size == (200, 200)
    jitter = np.abs(np.diff(res.points[:4], axis=0)).max()
    assert jitter < 4, jitter  # the head stays put: no jumpy video
    rc, _, err = cli(capsys, "animate", "--quiet", "--method", "warp", "--source", PORTRAIT, "--driver", folder,
                     "--out", work / "o.mp4")
    assert rc == 0 and probe(work / "o.mp4").frames == 5, err


def test_audio_without_a_sound_says_so(work, capsys):
    """Issue 22.12: 'cannot read audio (Error opening output files: Invalid argument)' before."""
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-f", "lavfi", "-i",
                    "color=c=gray:s=64x64:d=0.4", str(work / "silent.mp4")], check=True)
    before = snapshot(work)
    for name in ("portrait.jpg", "silent.mp4"):
        line = assert_refused(cli(capsys, "animate", "--quiet", "--method", "warp", "--source", work / "portrait.jpg",
                                  "--audio", work / name, "--out", work / "o.mp4"), name, "has no audio stream")
        assert "Invalid argument" not in line
    assert_refused(cli(capsys, "animate", "--quiet", "--method", "warp", "--source", work / "portrait.jpg",
                       "--audio", work / "notes.txt", "--out", work / "o.mp4"), "notes.txt", "cannot read audio",
                   "not a sound or video file")
    assert snapshot(work) == before and not no_leftovers(work)


def test_render_landmarks_of_a_picture_says_what_it_takes(work, capsys):
    """Issue 22.15: numpy's advice to load the file 'unsafely using allow_pickle' was printed."""
    before = snapshot(work)
    for name in ("portrait.jpg", "notes.txt"):
        line = assert_refused(cli(capsys, "render-landmarks", "--quiet", work / name, "--out", work / "lm"), name,
                              "not a landmark file", ".npz", "landmarks")
        assert "pickle" not in line.lower()
    assert snapshot(work) == before


def test_paths_of_the_wrong_kind_are_named(work, capsys, monkeypatch):
    """Issue 22.16: 'KeyError: 101', a raw '[Errno 17]', and 'not found' for a folder that exists."""
    empty = work / "empty"
    empty.mkdir()
    before = snapshot(work)
    line = assert_refused(cli(capsys, "convert-vgg", "--vgg19", work / "notes.txt", "--out-dir", work / "vgg"),
                          "notes.txt", "not a PyTorch checkpoint")
    assert "KeyError" not in line
    assert_refused(cli(capsys, "demo", "--out-dir", work / "notes.txt"), "notes.txt", "is a file, not a folder")
    assert_refused(cli(capsys, *WARP, "--source", empty, "--out", work / "o.mp4"), str(empty),
                   "is a folder, not an image file")
    assert_refused(cli(capsys, *WARP[:3], "neural", *WARP[4:], "--model", empty, "--source", work / "portrait.jpg",
                       "--out", work / "o.mp4"), str(empty), "is a folder, not a weights file")
    assert snapshot(work) == before and not no_leftovers(work)
