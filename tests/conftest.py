import os

import pytest
import torch

torch.set_num_threads(min(2, os.cpu_count() or 1))


@pytest.fixture(autouse=True, scope="session")
def _private_cache_dir(tmp_path_factory):
    """Tests (and the CLI processes they start) keep the measured executions (fsth_core/runtime/tuning.py) in
    a folder of their own, never in the user's cache; measured once per model size for the whole run."""
    old = os.environ.get("FSTH_CACHE_DIR")
    os.environ["FSTH_CACHE_DIR"] = str(tmp_path_factory.mktemp("fsth_cache"))
    yield
    if old is None:
        os.environ.pop("FSTH_CACHE_DIR", None)
    else:
        os.environ["FSTH_CACHE_DIR"] = old


@pytest.fixture(autouse=True)
def _isolated_weights_dir(tmp_path, monkeypatch):
    """Tests never see VGG files a developer converted into weights/ unless they put them there."""
    monkeypatch.setenv("FSTH_WEIGHTS_DIR", str(tmp_path / "weights"))
    import fsth_core.runtime.paths as paths
    monkeypatch.setattr(paths, "PACK_WEIGHTS", tmp_path / "no_pack_weights")
    yield
