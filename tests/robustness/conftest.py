"""Fixtures of the robustness tests: a user's folder, a tiny model file, the nodes with a real face."""
from __future__ import annotations

import cv2
import pytest
import torch
from _cli_helpers import PORTRAIT
from skimage import data
from test_nodes_run import N, T

from fsth_core.cli import main
from fsth_core.models.config import preset
from fsth_core.models.model import build_model


@pytest.fixture
def work(tmp_path):
    """A folder with a real portrait and a file of the user's."""
    (tmp_path / "portrait.jpg").write_bytes(PORTRAIT.read_bytes())
    (tmp_path / "notes.txt").write_text("the user's own file")
    return tmp_path


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    """A tiny model file (read only by the tests)."""
    out = tmp_path_factory.mktemp("m") / "tiny.safetensors"
    assert main(["init", "--preset", "tiny", "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="session")
def nodes():
    """(node table, the astronaut as an IMAGE, a warp-guided tiny model, her landmarks, identity, 2 s of motion)."""
    astronaut = cv2.resize(data.astronaut(), (128, 128), interpolation=cv2.INTER_AREA)
    picture = torch.from_numpy(astronaut).float()[None] / 255
    model = T.FSTHModel(build_model(preset("tiny", warp_guided=True), seed=0), "tiny", "fp32")
    lm = N["FSTH_LandmarkExtract"].extract(picture, "photos", "dlib", "largest", 0.0)[0]
    ident = N["FSTH_Embedder"].embed(model, picture, lm)[0]
    motion = N["FSTH_ProceduralMotion"].animate(lm, 2, 25.0, 1, 1.0)[0]
    return N, picture, model, lm, ident, motion
