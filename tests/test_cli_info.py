"""``info --videos``: W's size, its training state and the checkpoint size for a count of training videos."""
import json

from fsth_core.__main__ import main


def _info(capsys, *argv):
    assert main(["info", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_videos_scales_w_and_its_training_state(capsys):
    one = _info(capsys, "--preset", "tiny", "--videos", "1")
    many = _info(capsys, "--preset", "tiny", "--videos", "1000")
    dim = one["config"]["embed_dim"]
    assert many["parameters"]["discriminator"] - one["parameters"]["discriminator"] == dim * 999
    mem = many["training_memory"]
    assert mem["w_parameters"] == dim * 1000 and mem["w_bytes"] == 4 * dim * 1000
    assert mem["w_adam_bytes"] == 2 * mem["w_bytes"] + 8 * 1000  # two moments, and a step stamp per video
    assert mem["w_grad_bytes_per_episode"] == 4 * dim  # sparse: the sampled video's row only
    assert mem["checkpoint_bytes"] == 12 * sum(many["parameters"].values()) + 8 * 1000
    assert mem["inference_bytes"] == 4 * (sum(many["parameters"].values()) - dim * 1000)


def test_videos_with_weights_is_an_error(capsys, tmp_path):
    assert main(["info", "--weights", str(tmp_path / "x.safetensors"), "--videos", "5"]) == 2
    assert capsys.readouterr().out.startswith("error:")
