"""Outputs and the user's files: nothing deleted or replaced, nothing partial left, every output the format its name
says; an interrupted or failed run leaves what was there (issues 11 and 22).

The CLI runs in-process (``fsth_core.cli.main``) with tiny, generated inputs; fixtures are in conftest.py."""
from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import sys
import time

import cv2
import imageio_ffmpeg
import pytest
from _cli_helpers import NEURAL, ROOT, WARP, assert_refused, cli, no_leftovers, snapshot, torch_equal

from fsth_core.inference.person import load_person
from fsth_core.io import media, outpaths, sinks
from fsth_core.io.media import iter_frames, probe
from fsth_core.models.weights import load_model


@pytest.mark.parametrize("which", ["cwd", "out_folder", "a_file"])
def test_frames_dir_that_holds_files_is_refused_and_left_alone(work, capsys, monkeypatch, which):
    monkeypatch.chdir(work)
    (work / "old.mp4").write_bytes(b"an earlier result")
    frames_dir = {"cwd": ".", "out_folder": str(work), "a_file": "notes.txt"}[which]
    before = snapshot(work)
    line = assert_refused(cli(capsys, *WARP, "--source", "portrait.jpg", "--out", "old.mp4",
                              "--frames-dir", frames_dir), "--frames-dir", frames_dir)
    assert ("not empty" in line) if which != "a_file" else ("is a file" in line)
    assert snapshot(work) == before


def test_frames_dir_new_folder_gets_frames_with_normal_permissions(work, capsys):
    frames = work / "new" / "frames"
    rc, out, err = cli(capsys, *WARP, "--source", work / "portrait.jpg", "--out", work / "o.mp4",
                       "--frames-dir", frames)
    assert rc == 0, err
    assert sorted(p.name for p in frames.iterdir()) == [f"{i:06d}.png" for i in range(2)]
    umask = os.umask(0)
    os.umask(umask)
    assert (frames.stat().st_mode & 0o777) == (0o777 & ~umask)
    assert (work / "o.mp4").is_file() and not no_leftovers(work)


def test_frames_dir_is_undone_when_the_job_fails_midway(work, capsys, monkeypatch):
    real = media.VideoWriter.write

    def fail_on_second(self, frame):
        if self.frames == 1:
            raise ValueError("disk full (simulated)")
        real(self, frame)

    monkeypatch.setattr(media.VideoWriter, "write", fail_on_second)
    empty = work / "empty"
    empty.mkdir()
    before = snapshot(work)
    assert_refused(cli(capsys, *WARP, "--source", work / "portrait.jpg", "--out", work / "o.mp4",
                       "--frames-dir", empty), "disk full")
    assert snapshot(work) == before and not no_leftovers(work)
    assert_refused(cli(capsys, *WARP, "--source", work / "portrait.jpg", "--out", work / "o.mp4",
                       "--frames-dir", work / "made" / "here"), "disk full")
    assert_refused(cli(capsys, *WARP, "--source", work / "portrait.jpg", "--out", work / "new" / "dir" / "o.mp4"),
                   "disk full")
    assert snapshot(work) == before  # folders it created are removed again


def test_outputs_that_are_inputs_are_refused(work, capsys, tiny_model):
    src = work / "portrait.jpg"
    before = snapshot(work, tiny_model)
    assert_refused(cli(capsys, *WARP, "--source", src, "--out", src), src, "also an input")
    assert_refused(cli(capsys, *WARP[:3], "neural", *WARP[4:], "--model", tiny_model, "--source", src,
                       "--out", work / "o.mp4", "--person-out", tiny_model),
                   tiny_model, "--person-out", "also an input")
    assert_refused(cli(capsys, *WARP, "--source", src, "--out", work / "same.mp4", "--person-out", work / "same.mp4"),
                   "same.mp4", "same path")
    assert_refused(cli(capsys, *WARP, "--source", src, "--out", str(work / "seq") + "/", "--frames-dir",
                       work / "seq" / "more"), "nested")
    assert_refused(cli(capsys, "init", "--preset", "tiny", "--out", tiny_model), tiny_model, "already exists")
    assert snapshot(work, tiny_model) == before and not no_leftovers(work)


@pytest.mark.parametrize("name, words", [("x.avi", "unknown output format '.avi'"), ("x", "no extension"),
                                         ("x.png", "one .png"), ("f_%d_%d.png", "exactly one frame number")])
def test_unknown_output_formats_are_refused(work, capsys, name, words):
    before = snapshot(work)
    assert_refused(cli(capsys, *WARP, "--source", work / "portrait.jpg", "--out", work / name), name, words)
    assert snapshot(work) == before


def test_each_output_format_is_what_its_name_says(work, capsys):
    src = work / "portrait.jpg"
    magic = {"a.mp4": b"ftypisom", "a.mov": b"ftypqt", "a.webm": b"\x1a\x45\xdf\xa3", "a.gif": b"GIF89a",
             "a.mkv": b"\x1a\x45\xdf\xa3"}
    for name, head in magic.items():
        rc, _, err = cli(capsys, *WARP, "--source", src, "--out", work / name)
        assert rc == 0, err
        assert head in (work / name).read_bytes()[:16], name
        assert probe(work / name).width == 320 and len(list(iter_frames(work / name))) == 2, name
    # lossless PNG frames: a folder (ending in /) or a pattern, identical to --frames-dir's
    rc, _, err = cli(capsys, *WARP, "--source", src, "--out", str(work / "seq") + "/", "--frames-dir", work / "also")
    assert rc == 0, err
    rc, _, err = cli(capsys, *WARP, "--source", src, "--out", work / "pat" / "f_%03d.png")
    assert rc == 0, err
    assert sorted(p.name for p in (work / "pat").iterdir()) == ["f_000.png", "f_001.png"]
    for i in range(2):
        a = cv2.imread(str(work / "seq" / f"{i:06d}.png"))
        assert (a == cv2.imread(str(work / "also" / f"{i:06d}.png"))).all()
        assert (a == cv2.imread(str(work / "pat" / f"f_{i:03d}.png"))).all()
    # a pattern never replaces a file it could name
    before = snapshot(work)
    assert_refused(cli(capsys, *WARP, "--source", src, "--out", work / "pat" / "f_%03d.png"), "f_000.png",
                   "already holds")
    assert snapshot(work) == before and not no_leftovers(work)


def test_crf_sets_video_quality(work, capsys):
    src = work / "portrait.jpg"
    sizes = {}
    for crf in ("0", "40"):
        out = work / f"c{crf}.mp4"
        assert cli(capsys, *WARP, "--source", src, "--crf", crf, "--out", out)[0] == 0
        sizes[crf] = out.stat().st_size
    assert sizes["0"] > 3 * sizes["40"], sizes


def test_landmark_outputs_are_checked(work, capsys):
    src = work / "portrait.jpg"
    (work / "L.npz").mkdir()
    before = snapshot(work)
    assert_refused(cli(capsys, "landmarks", "--quiet", src, "--out", work / "L.npz"), "L.npz", "existing folder")
    assert cli(capsys, "landmarks", "--quiet", src, "--out", work / "p.npz")[0] == 0
    lm = work / "p.npz"
    before = snapshot(work)
    assert_refused(cli(capsys, "render-landmarks", "--quiet", lm, "--out", lm), "p.npz", "also an input")
    assert_refused(cli(capsys, "render-landmarks", "--quiet", lm, "--out", work), "not empty")
    assert_refused(cli(capsys, "render-landmarks", "--quiet", lm, "--out", work / "r.avi"), "r.avi", "cannot write")
    assert snapshot(work) == before and not no_leftovers(work)


def test_sigterm_during_animate_leaves_nothing(work):
    before = snapshot(work)
    cmd = [sys.executable, "-m", "fsth_core", *map(str, WARP[:-4]), "--seconds", "60", "--source",
           work / "portrait.jpg", "--out", work / "o.mp4", "--frames-dir", work / "frames"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while not list((work / "frames").glob("*.png")) and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)  # wait until frames are being written
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, (out, err)
    assert "interrupted" in err and "Traceback" not in err
    assert snapshot(work) == before and not no_leftovers(work)


def test_sigterm_during_animate_keeps_an_existing_person_file(work, tiny_model):
    """Issue 22.1: the person file follows the video's rule: put in place only when the whole run succeeds."""
    person = work / "person.safetensors"
    person.write_bytes(b"the user's earlier person file")
    before = snapshot(work)
    cmd = [sys.executable, "-m", "fsth_core", *NEURAL, "--seconds", "600", "--model", tiny_model, "--source",
           work / "portrait.jpg", "--out", work / "o.mp4", "--frames-dir", work / "frames", "--person-out", person]
    proc = subprocess.Popen(list(map(str, cmd)), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while not list((work / "frames").glob("*.png")) and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)  # wait until frames are being written: the person was made by now
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, (out, err)
    assert "interrupted" in err and "Traceback" not in err
    assert snapshot(work) == before and not no_leftovers(work)


def test_failed_animate_leaves_no_new_person_file(work, capsys, monkeypatch, tiny_model):
    def interrupt(self, frame):
        raise KeyboardInterrupt

    args = [*NEURAL, "--seconds", "0.3", "--model", tiny_model, "--source", work / "portrait.jpg"]
    before = snapshot(work)
    with monkeypatch.context() as m:
        m.setattr(media.VideoWriter, "write", interrupt)
        rc, _, err = cli(capsys, *args, "--out", work / "o.mp4", "--person-out", work / "new" / "p.safetensors")
        assert rc == 130 and "interrupted" in err
    assert snapshot(work) == before and not no_leftovers(work)  # no file, no folder made for it
    # the whole run succeeds: the person is in place, with the normal permissions, and it loads
    rc, out, err = cli(capsys, *args, "--out", work / "o.mp4", "--person-out", work / "p.safetensors")
    assert rc == 0, err
    umask = os.umask(0)
    os.umask(umask)
    assert ((work / "p.safetensors").stat().st_mode & 0o777) == (0o666 & ~umask) and not no_leftovers(work)
    # a saved person given with --person-out is copied (it was reported but never written)
    rc, _, err = cli(capsys, *args, "--out", work / "o2.mp4", "--person", work / "p.safetensors",
                     "--person-out", work / "copy.safetensors")
    assert rc == 0, err

    a, b = (load_person(work / n, load_model(tiny_model))[1] for n in ("p.safetensors", "copy.safetensors"))
    assert all(torch_equal(getattr(a, k), getattr(b, k)) for k in ("embedding", "psi", "w"))
    assert_refused(cli(capsys, *WARP, "--source", work / "portrait.jpg", "--out", work / "w.mp4",
                       "--person-out", work / "q.safetensors"), "--person-out", "neural method")


@pytest.mark.parametrize("out", ["o.mp4", "frames" + os.sep])
def test_a_full_disk_is_named_in_one_line(work, capsys, monkeypatch, out):
    """Issue 22.13: a full disk gave '[Errno 32] Broken pipe' and the ffmpeg command (video) or ENOSPC
    without a path (PNG frames).  The disk is simulated full after the first frame."""
    real_writer, real_atomic = imageio_ffmpeg.write_frames, sinks.atomic_file
    state = {"frames": 0}

    def full_after_one(*a, **k):
        gen = real_writer(*a, **k)

        def wrapped():
            gen.send(None)  # ffmpeg starts
            try:
                while True:
                    frame = yield
                    if state["frames"]:
                        raise OSError("[Errno 32] Broken pipe\n\nFFMPEG COMMAND:\nffmpeg ...")
                    gen.send(frame)
                    state["frames"] += 1
            finally:
                gen.close()  # ffmpeg ends (as when its pipe breaks)
        return wrapped()

    def atomic_full(path, mode="wb"):
        if state["frames"]:
            raise OSError(errno.ENOSPC, "No space left on device")
        state["frames"] += 1
        return real_atomic(path, mode)

    monkeypatch.setattr(imageio_ffmpeg, "write_frames", full_after_one)
    monkeypatch.setattr(sinks, "atomic_file", atomic_full)
    usage = shutil.disk_usage(work)
    monkeypatch.setattr(outpaths.shutil, "disk_usage", lambda p: usage._replace(free=0) if state["frames"] else usage)
    before = snapshot(work)
    line = assert_refused(cli(capsys, *WARP, "--source", work / "portrait.jpg", "--out", str(work) + os.sep + out),
                          "disk is full")
    assert str(work) in line and ("o.mp4" in line if out == "o.mp4" else "000001.png" in line)
    assert "Broken pipe" not in line and "FFMPEG" not in line
    assert snapshot(work) == before and not no_leftovers(work)
