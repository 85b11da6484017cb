"""The nodes, called as ComfyUI calls them with bad inputs: one clear ValueError naming the real problem.

The CLI runs in-process (``fsth_core.cli.main``) with tiny, generated inputs; fixtures are in conftest.py."""
from __future__ import annotations

import shutil

import pytest
import torch

from fsth_core.inference.finetune import FinetuneOptions


def test_landmark_extract_refuses_a_photo_without_a_face(nodes):

    N, picture = nodes[:2]
    cat = torch.full_like(picture, 0.5)  # no face: its landmarks must not be copied from the other photo
    with pytest.raises(ValueError, match=r"no face found in photo 2 of 3 \(images\[1\]\)"):
        N["FSTH_LandmarkExtract"].extract(torch.cat([picture, cat, picture]), "photos", "dlib", "largest", 0.0)
    lm, _ = N["FSTH_LandmarkExtract"].extract(torch.cat([picture, cat, picture]), "video", "dlib", "largest", 0.0)
    assert lm.interpolated.tolist() == [False, True, False]  # a video frame without a face is filled in


def test_generator_checks_its_source_picture(nodes):
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


def test_finetune_node_with_batch_size_0_is_one_clear_error(nodes):
    """Issue 22.3: batch_size=0 (reachable from the API) was an IndexError traceback."""
    N, picture, model, lm = nodes[:4]
    for bad in (0, -3):
        with pytest.raises(ValueError, match=rf"batch_size must be an integer in 1\.\.\d+, got {bad}"):
            N["FSTH_FewShotFinetune"].finetune(model, picture, lm, 1, bad, 0)
    for field, bad in (("batch", 0), ("steps", -1), ("lr_g", 0.0), ("lr_d", float("nan")), ("augment", -1)):
        with pytest.raises(ValueError, match=f"{field} must be"):  # every other caller of fine-tuning too
            FinetuneOptions(**{field: bad})


def test_nodes_name_the_real_problem(nodes, tmp_path, tiny_model):
    """Issue 22.19: a 3-D IMAGE, empty or broken AUDIO, a model path outside the model folders, fp16 on a CPU."""
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
