"""Evaluation runs: a tiny random model and the mesh warp on a tiny synthetic set, the CLI, a video folder."""
import json

import cv2
import numpy as np
import pytest
import torch

from fsth_core.cli import main
from fsth_core.evaluation.protocol import METRICS, EvalOptions, evaluate, format_report
from fsth_core.models.config import preset
from fsth_core.models.model import build_model
from fsth_core.models.weights import save_model
from fsth_core.synthetic.heads import write_synthetic_dataset

PER_FRAME = ("l1", "psnr", "ssim", "csim", "akd", "realism")


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("evrun")
    data = write_synthetic_dataset(root / "ds", identities=2, frames=8, size=64, seed=0, progress=False)
    model = save_model(root / "m.safetensors", build_model(preset("tiny", num_videos=2), seed=0))
    return root, data, model


@pytest.fixture(scope="module")
def neural_report(setup):
    root, data, model = setup
    out = root / "report.json"
    rc = main(["eval", "--model", str(model), "--data", str(data), "--shots", "1", "2", "--finetune-steps", "0",
               "--videos", "all", "--frames", "3", "--out", str(out), "--quiet", "--device", "cpu"])
    assert rc == 0
    return json.loads(out.read_text())


def test_report_has_every_metric_per_t(neural_report):
    assert set(neural_report["results"]) == {"1", "2"}
    for r in neural_report["results"].values():
        assert r["videos"] == 2 and r["frames"] == 6 and r["skipped_videos"] == 0
        assert set(r["metrics"]) == set(METRICS)
        for name in PER_FRAME:
            m = r["metrics"][name]
            assert m["count"] + m["missing"] == 6, name
        for name in ("l1", "psnr", "ssim", "realism"):
            assert r["metrics"][name]["count"] == 6 and np.isfinite(r["metrics"][name]["mean"])
        assert 0 < r["metrics"]["l1"]["mean"] < 1 and -1 <= r["metrics"]["ssim"]["mean"] <= 1


def test_fid_lpips_unavailable_never_zero(neural_report):
    info = neural_report["metric_info"]
    for name in ("fid", "lpips"):
        for r in neural_report["results"].values():
            m = r["metrics"][name]
            if info[name]["available"]:
                assert "mean" in m
            else:
                assert m == {"available": False, "reason": info[name]["reason"]} and m["reason"]
                assert "mean" not in m and "value" not in m
    text = format_report(neural_report)
    assert "T = 1" in text and "T = 2" in text and "unavailable" in text


def test_warp_beats_random_model_and_finetune_steps(setup, neural_report):
    root, data, model = setup
    warp = evaluate(None, data, EvalOptions(shots=(1,), method="warp", all_videos=True, frames=3, size=64,
                                            device="cpu"), progress=False).as_report()
    r = warp["results"]["1"]
    assert r["metrics"]["realism"] == {"available": False, "reason": "needs a model (--model) for its discriminator"}
    assert r["metrics"]["l1"]["mean"] < 0.5 * neural_report["results"]["1"]["metrics"]["l1"]["mean"]
    assert r["metrics"]["psnr"]["mean"] > neural_report["results"]["1"]["metrics"]["psnr"]["mean"]
    # fine-tuning runs and is counted: one video, T = 1, two steps
    ft = evaluate(str(model), data, EvalOptions(shots=(1,), finetune_steps=2, all_videos=True, videos=1, frames=2,
                                                device="cpu"), progress=False).as_report()
    assert ft["results"]["1"]["finetune_steps_per_video"] == 2 and ft["finetune_steps"] == {"1": 2}
    assert ft["results"]["1"]["metrics"]["l1"]["count"] == 2


def test_folder_of_videos(tmp_path):
    """Any folder of videos: landmarks found on the fly (dlib on the astronaut photo, moving)."""
    from skimage import data as skdata

    from fsth_core.io.media import VideoWriter

    photo = skdata.astronaut()[:320, 80:400]
    folder = tmp_path / "videos"
    folder.mkdir()
    with VideoWriter(folder / "astro.mp4", fps=10) as w:
        for k in range(5):
            w.write(cv2.warpAffine(photo, np.float32([[1, 0, 2 * k], [0, 1, k]]), (320, 320),
                                   borderMode=cv2.BORDER_REPLICATE))
    (folder / "notes.txt").write_text("not a video")
    rep = evaluate(None, folder, EvalOptions(shots=(1,), method="warp", frames=2, size=64, backend="dlib"),
                   progress=False).as_report()
    assert rep["data"]["kind"] == "videos" and rep["data"]["ids"] == ["astro"]
    r = rep["results"]["1"]
    assert r["videos"] == 1 and r["frames"] == 2
    assert r["metrics"]["ssim"]["mean"] > 0.5  # a near-rigid shift: the warp reproduces it well


def test_cli_errors(setup, capsys):
    _, data, _ = setup
    assert main(["eval", "--data", str(data), "--videos", "all", "--quiet"]) == 2  # neural needs --model
    assert "--model" in capsys.readouterr().err
    assert main(["eval", "--data", str(data), "--method", "warp", "--quiet"]) == 2  # no held-out recorded
    assert "--held-out" in capsys.readouterr().err


def test_copy_source_baseline_is_reported_beside_each_method(neural_report):
    for r in neural_report["results"].values():
        copy = r["baseline_copy_source"]
        # every per-frame metric has its baseline (the mouth metrics where some target's mouth is open)
        mouth = {"mouth_l1", "mouth_ssim", "inner_mouth_l1"}
        assert {"l1", "psnr", "ssim", "csim", "akd"} <= set(copy) <= {"l1", "psnr", "ssim", "csim", "akd"} | mouth
        assert set(copy) & mouth == set(r["metrics"]) & mouth
        assert copy["l1"]["count"] == 6 and 0 < copy["l1"]["mean"] < 1
        # the random model is worse than copying the source, which the table shows side by side
        assert copy["l1"]["mean"] < r["metrics"]["l1"]["mean"]
    assert "copy source" in format_report(neural_report)


def test_eval_resolves_finetuning_like_animate(setup, tmp_path):
    """The checkpoint's fine-tuning recommendation applies when the caller gives no steps."""
    from fsth_core.inference.finetune import options_from_recipe
    from fsth_core.models.weights import load_model

    root, data, _ = setup
    recipe = {"steps": 3, "lr_g": 1e-4}
    path = save_model(tmp_path / "rec.safetensors", load_model(root / "m.safetensors"), training={"finetune": recipe})
    rep = evaluate(str(path), data, EvalOptions(shots=(1,), all_videos=True, videos=1, frames=1, device="cpu"),
                   progress=False)
    assert format_report(rep) == format_report(rep.as_report())
    rep = rep.as_report()
    assert rep["finetune_steps"] == {"1": options_from_recipe(recipe, 1).steps} == {"1": 3}
    assert rep["results"]["1"]["finetune_steps_per_video"] == 3
