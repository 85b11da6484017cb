import os

import pytest
import torch

torch.set_num_threads(min(2, os.cpu_count() or 1))


@pytest.fixture(autouse=True)
def _isolated_weights_dir(tmp_path, monkeypatch):
    """Tests never see VGG files a developer converted into weights/ unless they put them there."""
    monkeypatch.setenv("FSTH_WEIGHTS_DIR", str(tmp_path / "weights"))
    import fsth_core.runtime.paths as paths
    monkeypatch.setattr(paths, "PACK_WEIGHTS", tmp_path / "no_pack_weights")
    yield
