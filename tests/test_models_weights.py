import pickle

import pytest
import torch

from fsth_core.models.config import preset
from fsth_core.models.model import build_model
from fsth_core.models.weights import WeightsError, load_model, model_info, save_model


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    path = tmp_path_factory.mktemp("w") / "tiny.safetensors"
    model = build_model(preset("tiny", num_videos=3), seed=0)
    save_model(path, model, description="unit test", training={"steps": 7})
    return path, model


def test_round_trip_is_bit_exact(saved):
    path, model = saved
    loaded = load_model(path)
    assert loaded.config == model.config
    a, b = model.state_dict(), loaded.state_dict()
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert all(k.startswith(("embedder.", "generator.", "discriminator.")) for k in a)


def test_metadata(saved):
    info = model_info(saved[0])
    assert info["preset"] == "tiny" and info["description"] == "unit test"
    assert info["training"] == {"steps": 7} and info["format_version"] == "2"
    assert info["parameters"] == saved[1].parameter_counts()


def test_half_precision_file_loads_as_fp32(tmp_path, saved):
    p = save_model(tmp_path / "h.safetensors", saved[1], half=True)
    assert p.stat().st_size < saved[0].stat().st_size * 0.6
    m = load_model(p)
    w = m.generator.projection
    assert w.dtype == torch.float32
    torch.testing.assert_close(w, saved[1].generator.projection, atol=1e-3, rtol=1e-3)


def test_other_preset_is_named(saved):
    with pytest.raises(WeightsError) as err:
        load_model(saved[0], expect="small")
    msg = str(err.value)
    assert str(saved[0]) in msg and "'tiny' model but a 'small' model was expected" in msg
    assert "key 'embedder.blocks.0" in msg


def test_truncated_file(tmp_path, saved):
    data = saved[0].read_bytes()
    bad = tmp_path / "cut.safetensors"
    bad.write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(WeightsError, match=r"cut.safetensors: truncated: tensor '[a-z]+\.") as err:
        load_model(bad)
    assert "\n" not in str(err.value)


def test_pickle_renamed_is_refused_without_unpickling(tmp_path):
    class Boom:
        def __reduce__(self):
            return (exec, ("raise SystemExit('unpickled!')",))

    bad = tmp_path / "evil.safetensors"
    bad.write_bytes(pickle.dumps(Boom()))
    with pytest.raises(WeightsError, match="evil.safetensors: is a pickle"):
        load_model(bad)
    zipped = tmp_path / "torch.safetensors"
    torch.save({"a": torch.zeros(2)}, zipped)
    with pytest.raises(WeightsError, match="torch.safetensors: is a pickle/zip"):
        load_model(zipped)


def test_garbage_and_missing(tmp_path):
    g = tmp_path / "g.safetensors"
    g.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00not json at all!")
    with pytest.raises(WeightsError, match="g.safetensors: not a safetensors file"):
        load_model(g)
    with pytest.raises(WeightsError, match="nope.safetensors: file not found"):
        load_model(tmp_path / "nope.safetensors")


def test_foreign_safetensors_without_fsth_metadata(tmp_path):
    from safetensors.torch import save_file

    p = tmp_path / "sd.safetensors"
    save_file({"model.diffusion.weight": torch.zeros(2)}, str(p))
    with pytest.raises(WeightsError, match="sd.safetensors: not an FSTH model file"):
        load_model(p)


def test_saving_is_atomic(tmp_path, saved, monkeypatch):
    import fsth_core.models.weights as w

    target = tmp_path / "m.safetensors"
    target.write_bytes(b"previous good file")

    def broken(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(w, "save_file", broken)
    with pytest.raises(KeyboardInterrupt):
        save_model(target, saved[1])
    assert target.read_bytes() == b"previous good file"
    assert [p.name for p in tmp_path.iterdir()] == ["m.safetensors"]


def test_bundled_checkpoint_keeps_w_in_the_file_layout(tmp_path):
    """D holds W as rows (a sparse embedding) but files keep discriminator.W [D, V]: the bundled file loads,
    its W is the file's, and a saved model writes the same key and layout back."""
    from pathlib import Path

    from safetensors.torch import load_file

    from fsth_core.models.weights import read_header

    bundled = Path(__file__).resolve().parents[1] / "weights" / "fsth_demo_cpu128.safetensors"
    model = load_model(bundled)
    w = load_file(str(bundled))["discriminator.W"].float()
    assert w.shape == (128, 380) and torch.equal(model.discriminator.W, w)
    assert model.discriminator.video_w.shape == (380, 128)
    out = save_model(tmp_path / "again.safetensors", model, half=True)
    assert read_header(out)[0]["discriminator.W"]["shape"] == [128, 380]
    assert torch.equal(load_file(str(out))["discriminator.W"], load_file(str(bundled))["discriminator.W"])
    assert not any("video_w" in k for k in read_header(out)[0])
