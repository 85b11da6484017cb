"""Evaluation metrics for generated talking-head frames.

Images are numpy uint8 RGB, one frame [H,W,3] or a batch [N,H,W,3].

- image.py:    l1, mse, psnr, ssim (pixel metrics; float per image, array [N] per batch)
- face.py:     FaceEmbedder, csim (identity), detect_landmarks, akd (landmark distance) → MetricResult
- optional.py: fid, lpips (only with local weights; else MetricResult "unavailable: <reason>"),
               available_metrics()
- result.py:   MetricResult, MetricAccumulator (streaming mean/std/count/missing → JSON-able dict)
"""
from .face import FaceEmbedder, akd, cosine, csim, default_embedder, detect_landmarks, face_models_dir
from .image import PSNR_CAP_DB, l1, mse, psnr, ssim, ssim_map
from .optional import available_metrics, fid, frechet_distance, lpips
from .result import MetricAccumulator, MetricResult

__all__ = [
    "PSNR_CAP_DB", "l1", "mse", "psnr", "ssim", "ssim_map",
    "FaceEmbedder", "default_embedder", "face_models_dir", "csim", "cosine", "detect_landmarks", "akd",
    "available_metrics", "fid", "lpips", "frechet_distance",
    "MetricResult", "MetricAccumulator",
]
