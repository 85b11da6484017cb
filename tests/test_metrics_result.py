"""MetricResult, MetricAccumulator and the optional (network-based) metrics."""
import json
import math

import numpy as np
import pytest

from fsth_core.evaluation.metrics import (
    MetricAccumulator,
    MetricResult,
    available_metrics,
    fid,
    frechet_distance,
    lpips,
    optional,
)


def test_accumulator_streams_mean_std_and_missing():
    rng = np.random.default_rng(0)
    values = rng.normal(3.0, 2.0, size=1000)
    acc = MetricAccumulator()
    for chunk in np.array_split(values, 7):
        acc.add("psnr", chunk)
    acc.add("psnr", float("nan"))
    acc.add("csim", [0.5, np.nan, 0.7])
    s = acc.summary()
    assert s["psnr"]["count"] == 1000 and s["psnr"]["missing"] == 1
    assert s["psnr"]["mean"] == pytest.approx(values.mean(), rel=1e-12)
    assert s["psnr"]["std"] == pytest.approx(values.std(), rel=1e-9)
    assert s["psnr"]["min"] == values.min() and s["psnr"]["max"] == values.max()
    assert s["csim"] == {"mean": pytest.approx(0.6), "std": pytest.approx(0.1), "min": 0.5, "max": 0.7,
                         "count": 2, "missing": 1}
    json.dumps(s, allow_nan=False)  # JSON-able, no NaN


def test_accumulator_all_missing_reports_none_not_zero():
    acc = MetricAccumulator()
    acc.add("csim", [np.nan, np.nan])
    s = acc.summary()["csim"]
    assert s["mean"] is None and s["count"] == 0 and s["missing"] == 2


def test_result_from_frames_and_dict():
    r = MetricResult.from_frames("akd", [0.1, np.nan, 0.3])
    assert r.value == pytest.approx(0.2) and r.count == 2 and r.missing == 1
    assert r.to_dict() == {"name": "akd", "available": True, "value": pytest.approx(0.2), "count": 2,
                           "missing": 1}
    assert "missing=1" in str(r)


def test_fid_and_lpips_unavailable_here_are_not_zero():
    status = available_metrics()
    imgs = np.zeros((2, 32, 32, 3), np.uint8)
    for name, fn in (("fid", fid), ("lpips", lpips)):
        res = fn(imgs, imgs)
        assert status[name]["available"] is False, "this test assumes no FID/LPIPS weights on the test machine"
        assert res.available is False and math.isnan(res.value) and res.reason == status[name]["reason"]
        assert str(res).startswith(f"{name}: unavailable: ") and res.reason
        acc = MetricAccumulator()
        acc.add_result(res)
        assert acc.summary()[name] == {"available": False, "reason": res.reason}
        assert "value" not in res.to_dict()


def test_available_metrics_lists_builtin_ones():
    status = available_metrics()
    for name in ("l1", "psnr", "ssim", "akd", "csim"):
        assert status[name]["available"], status[name]


def test_missing_weights_reason_names_the_file(monkeypatch, tmp_path):
    monkeypatch.setattr(optional, "package_missing", lambda module, load=False: None)  # pretend the packages import
    monkeypatch.setattr(optional, "checkpoints_dir", lambda: str(tmp_path))
    assert optional.FID_WEIGHTS_FILE in optional.fid_status()
    assert optional.LPIPS_BACKBONE_FILE in optional.lpips_status()
    (tmp_path / optional.FID_WEIGHTS_FILE).write_bytes(b"")
    assert optional.fid_status() is None


def test_fid_rejects_bad_sets():
    with pytest.raises(ValueError, match="N >= 2"):
        fid(np.zeros((1, 8, 8, 3), np.uint8), np.zeros((1, 8, 8, 3), np.uint8))


def test_frechet_distance_closed_form():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(4, 4))
    cov = a @ a.T + np.eye(4)
    mu = rng.normal(size=4)
    assert frechet_distance(mu, cov, mu, cov) == pytest.approx(0.0, abs=1e-8)
    # diagonal covariances: |dmu|^2 + sum (sqrt(s1) - sqrt(s2))^2
    s1, s2 = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 9.0])
    d = frechet_distance(np.zeros(3), np.diag(s1), np.ones(3), np.diag(s2))
    assert d == pytest.approx(3.0 + np.sum((np.sqrt(s1) - np.sqrt(s2)) ** 2))
