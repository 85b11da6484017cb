import pytest
import torch

from fsth_core.device import Execution, pick_device, pick_dtype


def test_auto_picks_an_available_device():
    dev = pick_device("auto")
    assert dev.type in ("cuda", "mps", "cpu")
    if not torch.cuda.is_available():
        assert dev.type in ("mps", "cpu")


def test_precision_rules_on_cpu():
    cpu = torch.device("cpu")
    assert pick_dtype(cpu, "auto") == torch.float32
    assert pick_dtype(cpu, "bf16") == torch.bfloat16
    with pytest.raises(ValueError, match="fp16 is not supported on cpu"):
        pick_dtype(cpu, "fp16")
    with pytest.raises(ValueError, match="precision must be one of"):
        pick_dtype(cpu, "int8")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error on a machine without CUDA")
def test_unavailable_cuda_is_a_clear_error():
    with pytest.raises(ValueError, match="no CUDA GPU"):
        pick_device("cuda")


def test_execution_bf16_autocast_runs_a_conv():
    ex = Execution.resolve("cpu", "bf16")
    conv = ex.prepare_module(torch.nn.Conv2d(3, 4, 3))
    with ex.autocast():
        out = conv(ex.input(torch.rand(1, 3, 8, 8)))
    assert out.dtype == torch.bfloat16
    assert ex.channels_last
