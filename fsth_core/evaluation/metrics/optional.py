"""Optional metrics that need pretrained networks: FID and LPIPS.

They run only when their code AND their weights are already on this machine (nothing is downloaded).
Otherwise they return ``MetricResult.unavailable(name, reason)``: reported as unavailable, never as 0.

- FID: needs the ``pytorch_fid`` package (its InceptionV3 uses torchvision) and its FID Inception weights
  file ``pt_inception-2015-12-05-6726825d.pth`` in torch hub's checkpoints folder
  (``torch.hub.get_dir()/checkpoints``, where pytorch_fid looks before it would download).
- LPIPS: needs the ``lpips`` package (which uses torchvision) and the AlexNet backbone checkpoint
  ``alexnet-owt-7be5be79.pth`` in the same checkpoints folder (lpips' own linear layers ship in its wheel).
"""
from __future__ import annotations

import os

import numpy as np
import torch
from scipy import linalg

from fsth_core.landmarks import dlib_models
from fsth_core.landmarks.dlib_models import DESCRIPTOR_FILE
from fsth_core.runtime.optional import hub_checkpoints_dir, package_missing

from .image import check_pair
from .result import MetricResult

FID_WEIGHTS_FILE = "pt_inception-2015-12-05-6726825d.pth"
LPIPS_BACKBONE_FILE = "alexnet-owt-7be5be79.pth"


def checkpoints_dir() -> str:
    """torch hub's checkpoints folder, where pytorch_fid and torchvision look for weights files."""
    return str(hub_checkpoints_dir())


def _status(modules: tuple[str, ...], weights: str, what: str) -> str | None:
    """None when ``modules`` import and the ``weights`` file is in :func:`checkpoints_dir`, else why not."""
    for mod in modules:
        if (why := package_missing(mod, load=True)) is not None:
            return why
    if not os.path.isfile(os.path.join(checkpoints_dir(), weights)):
        return f"{what} {weights} not found in {checkpoints_dir()}"
    return None


def fid_status() -> str | None:
    """None when FID can run here, else why not."""
    return _status(("pytorch_fid", "torchvision"), FID_WEIGHTS_FILE, "FID Inception weights")


def lpips_status() -> str | None:
    """None when LPIPS can run here, else why not."""
    return _status(("lpips", "torchvision"), LPIPS_BACKBONE_FILE, "LPIPS AlexNet backbone")


def available_metrics() -> dict[str, dict]:
    """{metric: {"available": bool, "reason": str}} for every metric this module knows."""
    out = {name: {"available": True, "reason": ""} for name in ("l1", "psnr", "ssim", "akd")}
    why = dlib_models.missing(DESCRIPTOR_FILE)
    out["csim"] = {"available": why is None, "reason": why or ""}
    for name, why in (("fid", fid_status()), ("lpips", lpips_status())):
        out[name] = {"available": why is None, "reason": why or ""}
    return out


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """Fréchet distance of two Gaussians: |mu1-mu2|² + tr(S1 + S2 - 2·sqrt(S1·S2))."""
    mu1, mu2 = np.atleast_1d(mu1).astype(np.float64), np.atleast_1d(mu2).astype(np.float64)
    s1, s2 = np.atleast_2d(sigma1).astype(np.float64), np.atleast_2d(sigma2).astype(np.float64)
    covmean = linalg.sqrtm(s1 @ s2)
    if not np.isfinite(covmean).all():
        eps = 1e-6 * np.eye(len(s1))
        covmean = linalg.sqrtm((s1 + eps) @ (s2 + eps))
    covmean = np.real(covmean)
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * np.trace(covmean))


def _to_tensor(images: np.ndarray):
    return torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float() / 255.0


def _fid_features(images: np.ndarray, batch: int = 32) -> np.ndarray:
    from pytorch_fid.inception import InceptionV3  # optional dependency (fid_status checked it)

    model = InceptionV3([InceptionV3.BLOCK_INDEX_BY_DIM[2048]]).eval()
    feats = []
    with torch.no_grad():
        for i in range(0, len(images), batch):
            feats.append(model(_to_tensor(images[i:i + batch]))[0].flatten(1).numpy())
    return np.concatenate(feats).astype(np.float64)


def _check_set(x: np.ndarray, name: str) -> None:
    if not isinstance(x, np.ndarray) or x.dtype != np.uint8 or x.ndim != 4 or x.shape[-1] != 3 or len(x) < 2:
        got = x.shape if isinstance(x, np.ndarray) else type(x).__name__
        raise ValueError(f"{name} must be a uint8 RGB batch [N,H,W,3] with N >= 2, got {got}")


def fid(real: np.ndarray, fake: np.ndarray) -> MetricResult:
    """FID between two sets of uint8 RGB frames [N,H,W,3] (N ≥ 2), or unavailable with the reason.

    (Meaningful only for thousands of frames; the paper's figures use its own test protocol.)
    """
    _check_set(real, "real")
    _check_set(fake, "fake")
    why = fid_status()
    if why is not None:
        return MetricResult.unavailable("fid", why)
    fr, ff = _fid_features(real), _fid_features(fake)
    d = frechet_distance(fr.mean(0), np.cov(fr, rowvar=False), ff.mean(0), np.cov(ff, rowvar=False))
    return MetricResult("fid", d, count=len(real))


def lpips(real: np.ndarray, fake: np.ndarray) -> MetricResult:
    """LPIPS (AlexNet) per frame of uint8 RGB [H,W,3] or [N,H,W,3] pairs, or unavailable with the reason."""
    if not check_pair(real, fake, ("real", "fake")):
        real, fake = real[None], fake[None]
    why = lpips_status()
    if why is not None:
        return MetricResult.unavailable("lpips", why)
    import lpips as lpips_pkg  # optional dependency (lpips_status checked it)

    model = lpips_pkg.LPIPS(net="alex", verbose=False).eval()
    with torch.no_grad():
        d = model(_to_tensor(real) * 2 - 1, _to_tensor(fake) * 2 - 1).flatten().numpy()
    return MetricResult.from_frames("lpips", d)
