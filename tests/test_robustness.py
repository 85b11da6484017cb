"""Odd and bad inputs, tried as a new user would (issue 11): for each, the exit code, exactly one
`error:` line naming the file, no traceback, no partial or temporary file left, inputs unchanged.

The CLI runs in-process (``fsth_core.cli.main``) with tiny, generated inputs; only the SIGTERM
case needs a subprocess.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pytest

from fsth_core.cli import main

ROOT = Path(__file__).resolve().parent.parent
PORTRAIT = ROOT / "fsth_core" / "assets" / "portrait.jpg"
WARP = ["animate", "--quiet", "--method", "warp", "--motion", "talk", "--seconds", "0.2", "--fps", "10"]


def snapshot(*roots) -> dict:
    """{path: (sha256, mode)} of every file and folder under ``roots`` (to compare before/after)."""
    out = {}
    for root in map(Path, roots):
        items = [root] + sorted(root.rglob("*")) if root.is_dir() else [root]
        for p in items:
            if p.is_file():
                out[str(p)] = (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mode)
            elif p.is_dir():
                out[str(p)] = ("dir", p.stat().st_mode)
    return out


def cli(capsys, *args) -> tuple[int, str, str]:
    capsys.readouterr()
    rc = main([str(a) for a in args])
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def assert_refused(result, *needles, rc: int = 2) -> str:
    """Exit ``rc``, exactly one line on stderr, starting 'error: ' and holding each needle, no traceback."""
    code, out, err = result
    assert code == rc, (code, out, err)
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in out + err
    for n in needles:
        assert str(n) in lines[0], (n, lines[0])
    return lines[0]


def no_leftovers(folder) -> list[str]:
    """Temporary or partial files the program may have left in ``folder`` (recursively)."""
    return [str(p) for p in Path(folder).rglob("*")
            if ".partial" in p.name or p.name.endswith(".tmp") or ".fsth-write-test" in p.name]


@pytest.fixture
def work(tmp_path):
    """A folder with a real portrait and a file of the user's."""
    (tmp_path / "portrait.jpg").write_bytes(PORTRAIT.read_bytes())
    (tmp_path / "notes.txt").write_text("the user's own file")
    return tmp_path


# ------------------------------------------------------------------ 1. --frames-dir never deletes
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
    from fsth_core.io import media
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


# ------------------------------------------------------------------ 2. safetensors detection
def _with_header_length(n: int) -> tuple[bytes, bool]:
    """(a valid safetensors file whose JSON header is exactly ``n`` bytes (padded with spaces, as the
    format allows), whether it holds the one small tensor 't': only when that fits)."""
    import json
    import struct

    for header, data in (({"t": {"dtype": "U8", "shape": [2], "data_offsets": [0, 2]},
                           "__metadata__": {"kind": "test"}}, b"\x01\x02"), ({}, b"")):
        text = json.dumps(header, separators=(",", ":")).encode()
        if len(text) <= n:
            return struct.pack("<Q", n) + text + b" " * (n - len(text)) + data, bool(header)
    return struct.pack("<Q", n) + b" " * n, False  # n < 2: no JSON object fits: not a safetensors file


def test_safetensors_detection_over_header_lengths_0_to_4096(tmp_path):
    """Property: a file with safetensors framing is read as safetensors whatever its first bytes
    (the header length) are; a pickle/zip is named as such only when that framing fails."""
    import io
    import pickle

    from safetensors.numpy import load_file

    from fsth_core.models.weights import WeightsError, parse_header, read_header

    pk = 0x4B50  # b"PK" read as a little-endian length
    first_bytes = set()
    for n in list(range(4097)) + [pk, pk + 0x10000]:
        blob, has_t = _with_header_length(n)
        first_bytes.add(blob[:1])
        if n < 2:
            with pytest.raises(WeightsError, match="not a safetensors file") as e:
                parse_header(io.BytesIO(blob), len(blob), "f.safetensors")
            assert "pickle" not in str(e.value)
            continue
        entries, meta = parse_header(io.BytesIO(blob), len(blob), "f.safetensors")
        assert ((entries["t"]["shape"], meta) == ([2], {"kind": "test"})) if has_t else (entries, meta) == ({}, {})
        if blob[:1] == b"\x80" or blob[:2] == b"PK" or n % 512 == 0:  # the real reader and safetensors agree
            path = tmp_path / f"h{n}.safetensors"
            path.write_bytes(blob)
            assert read_header(path)[0].keys() == entries.keys()
            assert {k: v.tolist() for k, v in load_file(str(path)).items()} == ({"t": [1, 2]} if has_t else {})
    assert {b"\x80", b"P"} <= first_bytes  # the lengths that were refused before are covered
    path = tmp_path / "f.safetensors"
    for blob in (pickle.dumps({"w": [1, 2, 3]}, protocol=4), b"PK\x03\x04" + bytes(60), b"\x80" + bytes(3)):
        path.write_bytes(blob)
        with pytest.raises(WeightsError, match="f.safetensors: is a pickle/zip"):
            read_header(path)


def test_model_whose_header_length_starts_like_a_pickle_loads(tmp_path, capsys):
    """A real model file whose 8-byte header length begins with 0x80 (the pickle magic byte)."""
    import struct

    from fsth_core.models.weights import load_model, save_model

    out = tmp_path / "m170.safetensors"
    assert cli(capsys, "init", "--preset", "tiny", "--videos", "170", "--out", out)[0] == 0
    model = load_model(out)
    save_model(tmp_path / "m.safetensors", model, description="")
    (n,) = struct.unpack("<Q", (tmp_path / "m.safetensors").read_bytes()[:8])
    # a description that long makes the (8-byte aligned) header length's low byte 0x80
    save_model(tmp_path / "m.safetensors", model, description="x" * ((0x80 - n) % 256))
    assert (tmp_path / "m.safetensors").read_bytes()[:1] == b"\x80"
    assert load_model(tmp_path / "m.safetensors").config.num_videos == 170


def _header_file(tmp_path, header: str, data: bytes = b"") -> Path:
    import struct

    raw = header.encode()
    p = tmp_path / "weights.safetensors"
    p.write_bytes(struct.pack("<Q", len(raw)) + raw + data)
    return p


@pytest.mark.parametrize("header, words", [
    ('{"__metadata__": 5}', "__metadata__"),
    ('{"__metadata__": {"kind": 5}}', "__metadata__"),
    ('{"t": {"dtype": "F32", "shape": [1e999], "data_offsets": [0, 4]}}', "malformed header entry for key 't'"),
    ('{"t": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}', "malformed header entry for key 't'"),
    ('{"t": {"dtype": "F32", "shape": [true], "data_offsets": [0, 4]}}', "malformed header entry for key 't'"),
    ('{"t": {"dtype": "F32", "shape": [1], "data_offsets": [4, 0]}}', "malformed header entry for key 't'"),
    ('{"t": {"dtype": "F99", "shape": [1], "data_offsets": [0, 4]}}', "malformed header entry for key 't'"),
    ('{"t": [1, 2]}', "malformed header entry for key 't'"),
    ('{"t": {"dtype": "F32", "shape": [' + "9" * 5000 + '], "data_offsets": [0, 4]}}', "not a safetensors"),
    ('{"t": ' + "[" * 100000 + "]" * 100000 + "}", "nests too deeply"),
    ('{"t": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}', "truncated"),
])
def test_malformed_weights_header_is_one_error_naming_the_file(tmp_path, capsys, header, words):
    p = _header_file(tmp_path, header, b"\0" * 4)
    before = snapshot(tmp_path)
    assert_refused(cli(capsys, "info", "--weights", p), "weights.safetensors", words)
    assert snapshot(tmp_path) == before


# ------------------------------------------------------------------ 3. training never overwrites
def test_train_never_overwrites_and_resume_is_checked(tmp_path, capsys, monkeypatch):
    from fsth_core.synthetic.heads import write_synthetic_dataset
    from fsth_core.training import meta

    data2, data3 = tmp_path / "two", tmp_path / "three"
    write_synthetic_dataset(data2, identities=2, frames=3, size=64, seed=0, progress=False)
    write_synthetic_dataset(data3, identities=3, frames=3, size=64, seed=0, progress=False)
    out = tmp_path / "run.safetensors"
    state = tmp_path / "run.train.safetensors"
    base = ["train", "--preset", "tiny", "--steps", "3", "--batch", "1", "--k", "1", "--workers", "0",
            "--device", "cpu", "--no-progress", "--out", out]

    def interrupt(self, batch):
        raise KeyboardInterrupt

    with monkeypatch.context() as m:  # interrupted (SIGTERM/Ctrl-C) without a progress bar: the hint is still given
        m.setattr(meta.MetaTrainer, "step", interrupt)
        rc, _, err = cli(capsys, *base, "--data", data2)
    assert rc == 130 and "checkpoint written to" in err and "continue with --resume" in err, err
    assert out.is_file() and state.is_file()
    before = snapshot(tmp_path)

    assert_refused(cli(capsys, *base, "--data", data2), out, "already exists", "--resume")
    assert_refused(cli(capsys, *base, "--data", data3, "--resume"), out, "trained on 2 videos", "3 training videos")
    typo = tmp_path / "rnu.safetensors"
    assert_refused(cli(capsys, *base[:-1], typo, "--data", data2, "--resume"), typo, "no such checkpoint")
    assert snapshot(tmp_path) == before and not typo.exists()

    state.rename(tmp_path / "kept.bin")
    assert_refused(cli(capsys, *base, "--data", data2, "--resume"), state, "missing", "--init")
    state.write_bytes(b"\0" * 100)
    assert_refused(cli(capsys, *base, "--data", data2, "--resume"), state, "not a safetensors file")
    assert snapshot(out)[str(out)] == before[str(out)] and not no_leftovers(tmp_path)


# ------------------------------------------------------------------ 4. outputs: never an input, the format asked for
@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    out = tmp_path_factory.mktemp("m") / "tiny.safetensors"
    assert main(["init", "--preset", "tiny", "--out", str(out)]) == 0
    return out


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
    import cv2

    from fsth_core.io.media import iter_frames, probe

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


# ------------------------------------------------------------------ one error line, not a traceback
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
    import tempfile

    def read_only(*a, **k):
        raise PermissionError(13, "Permission denied")

    with monkeypatch.context() as m:  # a read-only folder (root ignores chmod, so it is simulated)
        m.setattr(tempfile, "mkstemp", read_only)
        line = assert_refused(cli(capsys, *WARP, "--source", src, "--out", work / "o.mp4"), "not writable")
        assert str(work) in line
    assert snapshot(work) == before and not no_leftovers(work)


def test_unreadable_drivers_are_one_error_line(work, capsys):
    import subprocess

    import imageio_ffmpeg

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


# ------------------------------------------------------------------ wrong results without a word
def _vfr_clip(path: Path) -> float:
    """A talking-head-like clip with a variable frame rate: 0.5 s at 10 fps, then 1 s at 30 fps."""
    import subprocess

    import imageio_ffmpeg

    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-loop", "1", "-framerate", "30",
                    "-i", str(PORTRAIT), "-frames:v", "35", "-vf",
                    "scale=160:160,setpts='if(lt(N,5),N*0.1,0.5+(N-5)/30)/TB'", "-fps_mode", "vfr",
                    "-c:v", "libx264", "-pix_fmt", "yuv420p", str(path)], check=True)
    return 1.5


def test_variable_frame_rate_driver_keeps_its_duration(work, capsys):
    from fsth_core.io.media import iter_frames, probe

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


def test_sigterm_during_animate_leaves_nothing(work):
    import signal
    import subprocess
    import sys
    import time

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


# ------------------------------------------------------------------ 5. prepare keeps every video
def test_prepare_ids_are_unique_and_the_summary_counts_the_disk(work, capsys):
    import json

    import cv2

    from fsth_core.data.store import TrainingSet
    from fsth_core.io.media import VideoWriter, load_image

    img = cv2.resize(load_image(PORTRAIT), (160, 160))
    videos = work / "videos"
    (videos / "ß").mkdir(parents=True)
    for k, name in enumerate(["видео.mp4", "ß/映像.mp4", "a.mp4", "a.mov", "clip.mp4"]):
        with VideoWriter(videos / name, fps=10) as w:  # non-ASCII names (all 'video' before), a.mp4/a.mov
            for j in range(3):
                w.write(np.roll(img, j + k, axis=1))
    before = snapshot(videos)
    out = work / "set"
    rc, text, err = cli(capsys, "prepare", videos, out, "--size", "64", "--workers", "1", "--quiet")
    assert rc == 0, err
    ts = TrainingSet(out)
    sources = sorted(Path(v["source"]).relative_to(videos).as_posix() for v in ts.videos)
    assert sources == sorted(p.relative_to(videos).as_posix() for p in videos.rglob("*") if p.is_file())
    assert len(set(ts.video_ids)) == len(ts) == 5
    assert "5 videos written" in text and "holds 5 videos" in text
    assert len(json.loads((out / "index.json").read_text())["videos"]) == 5
    assert snapshot(videos) == before
    # a non-empty folder that is not a training set, or the videos folder itself, is refused
    (work / "other").mkdir()
    (work / "other" / "mine.txt").write_text("x")
    before = snapshot(work)
    assert_refused(cli(capsys, "prepare", "--quiet", videos, videos, "--size", "64"), "also an input")
    assert_refused(cli(capsys, "prepare", "--quiet", videos, work, "--size", "64"), "holds the videos folder")
    assert_refused(cli(capsys, "prepare", "--quiet", videos, work / "other", "--size", "64"), "not a training set")
    assert snapshot(work) == before


def test_exif_orientation_is_applied_where_images_enter(work, capsys):
    from PIL import Image, ImageOps

    from fsth_core.io.media import load_image

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


# ------------------------------------------------------------------ nodes
@pytest.fixture(scope="module")
def nodes():
    import cv2
    import torch
    from skimage import data
    from test_nodes_run import N, T

    from fsth_core.models.config import preset
    from fsth_core.models.model import build_model

    astronaut = cv2.resize(data.astronaut(), (128, 128), interpolation=cv2.INTER_AREA)
    picture = torch.from_numpy(astronaut).float()[None] / 255
    model = T.FSTHModel(build_model(preset("tiny", warp_guided=True), seed=0), "tiny", "fp32")
    lm = N["FSTH_LandmarkExtract"].extract(picture, "photos", "dlib", "largest", 0.0)[0]
    ident = N["FSTH_Embedder"].embed(model, picture, lm)[0]
    motion = N["FSTH_ProceduralMotion"].animate(lm, 2, 25.0, 1, 1.0)[0]
    return N, picture, model, lm, ident, motion


def test_landmark_extract_refuses_a_photo_without_a_face(nodes):
    import torch

    N, picture = nodes[:2]
    cat = torch.full_like(picture, 0.5)  # no face: its landmarks must not be copied from the other photo
    with pytest.raises(ValueError, match=r"no face found in photo 2 of 3 \(images\[1\]\)"):
        N["FSTH_LandmarkExtract"].extract(torch.cat([picture, cat, picture]), "photos", "dlib", "largest", 0.0)
    lm, _ = N["FSTH_LandmarkExtract"].extract(torch.cat([picture, cat, picture]), "video", "dlib", "largest", 0.0)
    assert lm.interpolated.tolist() == [False, True, False]  # a video frame without a face is filled in


def test_generator_checks_its_source_picture(nodes):
    import torch

    N, picture, model, lm, ident, motion = nodes
    frames, _ = N["FSTH_Generator"].generate(model, ident, motion, "neural", 2, source_picture=picture)
    assert frames.shape[0] == 2
    double = torch.nn.functional.interpolate(picture.permute(0, 3, 1, 2), scale_factor=2).permute(0, 2, 3, 1)
    with pytest.raises(ValueError, match="source_picture is 256x256 but the identity and its motion belong to a "
                                         "128x128 picture"):
        N["FSTH_Generator"].generate(model, ident, motion, "neural", 2, source_picture=double)
    other = picture.flip(1)  # same size, another picture
    with pytest.raises(ValueError, match="not the picture the identity was made from"):
        N["FSTH_Generator"].generate(model, ident, motion, "warp", 2, source_picture=other)


def test_driver_folder_of_mixed_sizes_is_resized_to_the_first_frame(work, capsys):
    import cv2

    from fsth_core.io.media import iter_frames, load_image, probe

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
    from fsth_core.landmarks.detect import LandmarkResult

    res = LandmarkResult.load(work / "drv.npz")
    assert res.found[:4].all() and res.image_size == (200, 200)
    jitter = np.abs(np.diff(res.points[:4], axis=0)).max()
    assert jitter < 4, jitter  # the head stays put: no jumpy video
    rc, _, err = cli(capsys, "animate", "--quiet", "--method", "warp", "--source", PORTRAIT, "--driver", folder,
                     "--out", work / "o.mp4")
    assert rc == 0 and probe(work / "o.mp4").frames == 5, err


@pytest.mark.parametrize("meta, words", [
    ({"kind": "model", "config": "[]"}, "'config' must be a JSON dict"),
    ({"kind": "model", "config": "{\"nope\": 1}"}, "invalid model config"),
    ({"kind": "model", "config": "{not json"}, "'config' is not valid JSON"),
    ({"kind": "model", "format_version": "abc", "config": "{}"}, "'format_version' must be an integer"),
    ({"kind": "model"}, "no model config"),
])
def test_bad_model_metadata_names_the_file(tmp_path, capsys, meta, words):
    import torch

    from fsth_core.models.weights import save_tensors

    p = save_tensors(tmp_path / "bad.safetensors", {"embedder.x": torch.zeros(1)}, meta)
    assert_refused(cli(capsys, "info", "--weights", p), "bad.safetensors", words)


def test_bad_person_metadata_names_the_file(work, capsys, tiny_model):
    import torch

    from fsth_core.models.weights import read_header, save_tensors

    config = read_header(tiny_model)[1]["config"]
    part = {"identity.embedding": torch.zeros(1)}
    full = {f"identity.{k}": torch.zeros(1) for k in ("embedding", "psi", "w", "source", "source_points")}
    for tensors, meta, words in ((part, {"kind": "person"}, "no model config"),
                                 (part, {"kind": "person", "config": config}, "'identity.psi' is missing"),
                                 (full, {"kind": "person", "config": config, "shots": "x"}, "'shots' must be")):
        p = save_tensors(work / "me.safetensors", tensors, meta)
        assert_refused(cli(capsys, "animate", "--quiet", "--model", tiny_model, "--source", work / "portrait.jpg",
                           "--person", p, "--motion", "talk", "--seconds", "0.2", "--out", work / "o.mp4"),
                       "me.safetensors", words)
    assert not (work / "o.mp4").exists() and not no_leftovers(work)


# ------------------------------------------------------------------ issue 12 item 5: no clear face refused
def _textured(h: int, w: int, seed: int = 0) -> np.ndarray:
    """A smooth, non-flat background (no face in it)."""
    import cv2

    rng = np.random.default_rng(seed)
    small = rng.integers(60, 200, (max(2, h // 200), max(2, w // 200), 3), dtype=np.uint8)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)


def test_small_face_in_a_large_photo_is_found(work, capsys):
    import cv2
    from skimage import data

    big = _textured(2000, 3000)
    head = cv2.resize(data.astronaut()[30:260, 150:380], (190, 190), interpolation=cv2.INTER_AREA)
    big[1200:1390, 700:890] = head  # the face is ~100 px wide: 21 px in the 640 px detection copy
    photo = work / "group.png"
    cv2.imwrite(str(photo), big[:, :, ::-1])
    rc, _, err = cli(capsys, "landmarks", "--quiet", photo, "--out", work / "g.npz")
    assert rc == 0, err
    from fsth_core.landmarks.detect import LandmarkResult

    pts = LandmarkResult.load(work / "g.npz").points[0]
    assert (pts[:, 0] > 700).all() and (pts[:, 0] < 890).all() and (pts[:, 1] > 1200).all() and (pts[:, 1] < 1390).all()


def test_tilted_face_is_found_by_the_cnn_and_faceless_input_keeps_its_message(work, capsys):
    import cv2
    from skimage import data

    tilted = cv2.warpAffine(data.astronaut(), cv2.getRotationMatrix2D((280, 150), 45, 1.0), (512, 512),
                            borderMode=cv2.BORDER_REFLECT)  # HOG misses a head tilted 45 degrees
    cv2.imwrite(str(work / "tilted.png"), tilted[:, :, ::-1])
    rc, _, err = cli(capsys, "landmarks", "--quiet", work / "tilted.png", "--out", work / "t.npz")
    assert rc == 0, err
    from fsth_core.landmarks.detect import LandmarkResult

    pts = LandmarkResult.load(work / "t.npz").points[0]
    assert 150 < pts[:, 0].mean() < 400 and 30 < pts[:, 1].mean() < 300  # on the head
    cv2.imwrite(str(work / "wall.png"), _textured(400, 600)[:, :, ::-1])
    for name in ("wall.png", "flat.png"):
        if name == "flat.png":
            cv2.imwrite(str(work / name), np.full((300, 300, 3), 128, np.uint8))
        assert_refused(cli(capsys, "landmarks", "--quiet", work / name, "--out", work / "x.npz"),
                       f"no face found in {work / name}")


def test_the_same_face_is_picked_largest_then_most_central():
    from fsth_core.landmarks.detect import Face, choose_face

    def face(x0, y0, side, score=1.0):
        return Face(np.zeros((68, 2), np.float32), score, np.array([x0, y0, x0 + side, y0 + side], np.float32))

    edge, centre, small = face(10, 10, 100, 2.0), face(460, 330, 95), face(470, 340, 40, 3.0)
    assert choose_face([edge, centre, small], "largest", (800, 1000)) is centre  # same size: the central one
    assert choose_face([edge, small], "largest", (800, 1000)) is edge  # clearly larger wins
    assert choose_face([centre, edge], "largest", (800, 1000)) is centre  # order does not matter


def test_synth_never_writes_into_a_users_folder(work, capsys):
    before = snapshot(work)
    assert_refused(cli(capsys, "synth", work, "--identities", "1", "--frames", "1", "--size", "16", "--no-progress"),
                   str(work), "not a training set")
    assert snapshot(work) == before


# ------------------------------------------------------------------ issue 22: data loss and crashes
NEURAL = ["animate", "--quiet", "--motion", "talk", "--fps", "10", "--no-finetune"]


def test_sigterm_during_animate_keeps_an_existing_person_file(work, tiny_model):
    """Issue 22.1: the person file follows the video's rule: put in place only when the whole run succeeds."""
    import signal
    import subprocess
    import sys
    import time

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
    from fsth_core.io import media

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
    from fsth_core.inference.person import load_person
    from fsth_core.models.weights import load_model

    a, b = (load_person(work / n, load_model(tiny_model))[1] for n in ("p.safetensors", "copy.safetensors"))
    assert all(torch_equal(getattr(a, k), getattr(b, k)) for k in ("embedding", "psi", "w"))
    assert_refused(cli(capsys, *WARP, "--source", work / "portrait.jpg", "--out", work / "w.mp4",
                       "--person-out", work / "q.safetensors"), "--person-out", "neural method")


def torch_equal(a, b) -> bool:
    import torch

    return bool(torch.equal(a, b))


def _only_the_cnn_finds(path: Path) -> np.ndarray:
    """The astronaut, blurred so the HOG detector misses her face at every scale it tries and the CNN
    finds it; HOG then finds it in the crop around the CNN's box (the refinement that crashed)."""
    import cv2
    from skimage import data

    img = cv2.GaussianBlur(data.astronaut(), (0, 0), 10 / 3)
    cv2.imwrite(str(path), img[:, :, ::-1])
    return img


def test_a_face_only_the_cnn_finds_gets_landmarks(work, capsys, monkeypatch):
    """Issue 22.2: the CNN fallback refined by HOG in a crop crashed ('truth value of an array')."""
    from skimage import data

    from fsth_core.landmarks import face_search
    from fsth_core.landmarks.detect import LandmarkResult, get_detector

    folder = work / "frames"
    folder.mkdir()
    img = _only_the_cnn_finds(folder / "f0.png")
    det = get_detector("dlib")
    assert not det.detect_boxes(img) and not face_search.larger_scales(det, img)  # the fast path misses it
    refined = []
    real = face_search.hog_in_crop
    monkeypatch.setattr(face_search, "hog_in_crop", lambda *a: refined.append(real(*a)) or refined[-1])
    rc, _, err = cli(capsys, "landmarks", "--quiet", "--backend", "dlib", folder, "--out", work / "L.npz")
    assert rc == 0, err
    assert refined and refined[0] is not None  # the refinement ran and found the face: the path that crashed
    sharp = get_detector("dlib").detect(data.astronaut())[0].points
    res = LandmarkResult.load(work / "L.npz")
    assert res.found.all() and np.abs(res.points[0] - sharp).mean() < 3  # the same face as in the sharp photo


def test_finetune_node_with_batch_size_0_is_one_clear_error(nodes):
    """Issue 22.3: batch_size=0 (reachable from the API) was an IndexError traceback."""
    from fsth_core.inference.finetune import FinetuneOptions

    N, picture, model, lm = nodes[:4]
    for bad in (0, -3):
        with pytest.raises(ValueError, match=rf"batch_size must be an integer in 1\.\.\d+, got {bad}"):
            N["FSTH_FewShotFinetune"].finetune(model, picture, lm, 1, bad, 0)
    for field, bad in (("batch", 0), ("steps", -1), ("lr_g", 0.0), ("lr_d", float("nan")), ("augment", -1)):
        with pytest.raises(ValueError, match=f"{field} must be"):  # every other caller of fine-tuning too
            FinetuneOptions(**{field: bad})


# ------------------------------------------------------------------ issue 22: training checks the model that trains
def test_train_checks_the_content_loss_of_the_model_that_trains(work, capsys):
    """Issue 22.5: the VGG refusal looked at --preset (default tiny), not at the --init/--resume file."""
    from fsth_core.synthetic.heads import write_synthetic_dataset
    from fsth_core.training.checkpoint import save_train_state

    data = write_synthetic_dataset(work / "data", identities=2, frames=3, size=64, seed=0, progress=False)
    small = work / "small.safetensors"
    assert cli(capsys, "init", "--preset", "small", "--out", small)[0] == 0
    save_train_state(work / "ckpt.safetensors", 0, {})  # a 'small' checkpoint to resume
    (work / "ckpt.safetensors").write_bytes(small.read_bytes())
    base = ["train", "--data", data, "--steps", "1", "--no-progress", "--workers", "0"]
    before = snapshot(work)
    assert_refused(cli(capsys, *base, "--init", small, "--out", work / "o.safetensors"),
                   f"{small}: a 'small' model needs the content loss", "--no-content-loss")
    ckpt = work / "ckpt.safetensors"
    assert_refused(cli(capsys, *base, "--resume", "--out", ckpt), f"{ckpt}: a 'small' model needs the content loss")
    assert_refused(cli(capsys, *base, "--preset", "tiny", "--init", small, "--out", work / "o.safetensors"),
                   str(small), "--preset tiny, but --init small.safetensors holds a 'small' model")
    assert snapshot(work) == before and not no_leftovers(work)


# ------------------------------------------------------------------ issue 22: messages that leave a user guessing
def test_audio_without_a_sound_says_so(work, capsys):
    """Issue 22.12: 'cannot read audio (Error opening output files: Invalid argument)' before."""
    import subprocess

    import imageio_ffmpeg

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


@pytest.mark.parametrize("out", ["o.mp4", "frames" + os.sep])
def test_a_full_disk_is_named_in_one_line(work, capsys, monkeypatch, out):
    """Issue 22.13: a full disk gave '[Errno 32] Broken pipe' and the ffmpeg command (video) or ENOSPC
    without a path (PNG frames).  The disk is simulated full after the first frame."""
    import errno
    import shutil

    import imageio_ffmpeg

    from fsth_core.io import outpaths, sinks

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


def test_face_index_beyond_the_faces_found_says_how_many(work, capsys):
    """Issue 22.14: 'no face found' where one face was found."""
    line = assert_refused(cli(capsys, "landmarks", "--quiet", work / "portrait.jpg", "--face", "1", "--out",
                              work / "L.npz"), "portrait.jpg", "face 1", "1 face was found", "give 0 or 'largest'")
    assert "no face found" not in line and not (work / "L.npz").exists()


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


def test_a_person_file_of_another_picture_is_refused(work, capsys, tiny_model):
    """Issue 22.17: the CLI accepted it silently; the Generator node refused it (the same check now)."""
    import cv2
    from skimage import data

    cv2.imwrite(str(work / "other.png"), data.camera())  # another person (the portrait is the astronaut)
    args = [*NEURAL, "--seconds", "0.2", "--model", tiny_model]
    assert cli(capsys, *args, "--source", work / "portrait.jpg", "--out", work / "a.mp4", "--person-out",
               work / "p.safetensors")[0] == 0
    before = snapshot(work)
    assert_refused(cli(capsys, *args, "--source", work / "other.png", "--person", work / "p.safetensors", "--out",
                       work / "b.mp4"), "other.png", "not the picture the identity was made from",
                   "p.safetensors was made from")
    assert snapshot(work) == before and not no_leftovers(work)
    rc, _, err = cli(capsys, *args, "--source", work / "portrait.jpg", "--person", work / "p.safetensors", "--out",
                     work / "b.mp4")
    assert rc == 0, err


def test_a_source_with_two_faces_says_which_is_animated(work, capsys):
    """Issue 22.18: one line names the face animated, and --face picks another."""
    import cv2
    from skimage import data

    head = data.astronaut()[40:240, 120:330]
    canvas = np.zeros((220, 420, 3), np.uint8)
    canvas[:143, :150] = cv2.resize(head, (150, 143), interpolation=cv2.INTER_AREA)  # smaller, on the left
    canvas[10:210, 200:410] = head
    cv2.imwrite(str(work / "two.png"), canvas[:, :, ::-1])
    outs = {}
    for face, words in ((None, "animating the largest, face 1 from the left"), ("0", "as asked, face 0 from")):
        out = work / f"o{face}.mp4"
        rc, stdout, err = cli(capsys, *WARP, "--source", work / "two.png", "--out", out,
                              *(["--face", face] if face else []))
        assert rc == 0, err
        notes = [ln for ln in stdout.splitlines() if ln.startswith("note:")]
        assert len(notes) == 1 and "two.png: 2 faces" in notes[0] and words in notes[0], stdout
        outs[face] = out.read_bytes()
    assert outs[None] != outs["0"]
    assert_refused(cli(capsys, *WARP, "--source", work / "two.png", "--face", "2", "--out", work / "x.mp4"),
                   "two.png", "2 faces were found", "give 0..1")


def test_nodes_name_the_real_problem(nodes, tmp_path, tiny_model):
    """Issue 22.19: a 3-D IMAGE, empty or broken AUDIO, a model path outside the model folders, fp16 on a CPU."""
    import shutil

    import torch

    N, picture, model, lm = nodes[:4]
    with pytest.raises(ValueError, match=r"images: expected an IMAGE batch \[B,H,W,C\], got a 3-D tensor "
                                         r"\[128, 128, 3\]: one picture without its batch dimension"):
        N["FSTH_LandmarkExtract"].extract(picture[0], "photos", "dlib", "largest", 0.0)
    wave = torch.rand(1, 1, 8000) * 0.2
    for audio, words in (({"waveform": wave[..., :0], "sample_rate": 16000}, "the sound is empty"),
                         ({"waveform": wave, "sample_rate": 0}, "the sample rate must be a positive whole number"),
                         ({"waveform": wave.clone().index_fill_(2, torch.tensor([5, 9]), float("nan")),
                           "sample_rate": 16000}, "2 of its 8000 samples are not numbers")):
        with pytest.raises(ValueError, match=f"audio: {words}"):
            N["FSTH_ProceduralMotion"].animate(lm, 2, 25.0, 1, 1.0, audio=audio)
    weights = tmp_path / "weights"  # the model folder of the tests (FSTH_WEIGHTS_DIR)
    weights.mkdir(exist_ok=True)
    shutil.copy(tiny_model, tmp_path / "outside.safetensors")
    with pytest.raises(ValueError, match=r"'\.\.' are refused"):
        N["FSTH_LoadModel"].load("../outside.safetensors", "auto")
    with pytest.raises(ValueError, match="absolute paths"):
        N["FSTH_LoadModel"].load(str(tmp_path / "outside.safetensors"), "auto")
    shutil.copy(tiny_model, weights / "tiny.safetensors")
    if not torch.cuda.is_available():  # what docs/nodes.md says: refused on a CPU, at Load Model
        with pytest.raises(ValueError, match="precision fp16 is not supported on cpu"):
            N["FSTH_LoadModel"].load("tiny.safetensors", "fp16")
    assert N["FSTH_LoadModel"].load("tiny.safetensors", "fp32")[0].precision == "fp32"
