"""Training and data commands: never overwrite a run, check resume and the model that actually trains, keep every video,
never write into a user's folder.

The CLI runs in-process (``fsth_core.cli.main``) with tiny, generated inputs; fixtures are in conftest.py."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
from _cli_helpers import PORTRAIT, assert_refused, cli, no_leftovers, snapshot

from fsth_core.data.store import TrainingSet
from fsth_core.io.media import VideoWriter, load_image
from fsth_core.synthetic.heads import write_synthetic_dataset
from fsth_core.training import meta
from fsth_core.training.checkpoint import save_train_state


def test_train_never_overwrites_and_resume_is_checked(tmp_path, capsys, monkeypatch):

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


def test_prepare_ids_are_unique_and_the_summary_counts_the_disk(work, capsys):
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


def test_synth_never_writes_into_a_users_folder(work, capsys):
    before = snapshot(work)
    assert_refused(cli(capsys, "synth", work, "--identities", "1", "--frames", "1", "--size", "16", "--no-progress"),
                   str(work), "not a training set")
    assert snapshot(work) == before


def test_train_checks_the_content_loss_of_the_model_that_trains(work, capsys):
    """Issue 22.5: the VGG refusal looked at --preset (default tiny), not at the --init/--resume file."""
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
