import pytest
import torch

from fsth_core.runtime.device import Execution, pick_device, pick_dtype


def test_auto_picks_an_available_device():
    dev = pick_device("auto")
    assert dev.type in ("cuda", "mps", "cpu")
    if not torch.cuda.is_available():
        assert dev.type in ("mps", "cpu")


def test_precision_rules_on_cpu(monkeypatch):
    import fsth_core.runtime.device as d

    cpu = torch.device("cpu")
    for native, inference in ((True, torch.bfloat16), (False, torch.float32)):
        monkeypatch.setattr(d, "cpu_native_bf16", lambda native=native: native)
        assert pick_dtype(cpu, "auto") == inference       # bf16 only where the CPU computes it natively
        assert pick_dtype(cpu, "auto", training=True) == torch.float32
        ex = Execution.resolve("cpu", "auto")
        assert ex.dtype == inference and ex.training().dtype == torch.float32
        assert ex.channels_last == (inference == torch.float32)  # the faster format per dtype
    assert Execution.resolve("cpu", "bf16").training().dtype == torch.bfloat16  # asked for: kept
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
    assert not ex.channels_last  # bf16 on a CPU runs faster contiguous (bench/bench_generator.py)


def test_every_stage_defaults_to_the_same_execution():
    import numpy as np

    from fsth_core.inference.pipeline import FrameGenerator, RealismScorer, compute_identity
    from fsth_core.inference.types import Sources
    from fsth_core.models.config import preset
    from fsth_core.models.model import build_model
    from fsth_core.runtime.device import default_execution

    model = build_model(preset("tiny"), seed=0)
    rng = np.random.default_rng(0)
    src = Sources(rng.integers(0, 256, (1, 64, 64, 3), np.uint8), rng.uniform(16, 48, (1, 68, 2)).astype(np.float32))
    ident = compute_identity(model, src)
    ex = default_execution(model.config)
    assert FrameGenerator(model, ident).ex == RealismScorer(model, ident).ex == ex
    assert ex == Execution.resolve("auto", "auto", config=model.config)
    if ex.device.type == "cpu":
        assert "measured" in ex.reason  # the model's size was measured on this CPU (fsth_core/runtime/tuning.py)
