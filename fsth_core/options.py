"""Shared option values (no torch, no cv2): one home for choices the CLI and the stages agree on."""

from __future__ import annotations

# Video file extensions every stage (prepare, eval, animate) reads; OpenCV/FFmpeg decodes all of them.
VIDEO_EXTS = (".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v", ".gif", ".mpg", ".mpeg", ".wmv")

# Adam betas of the paper (meta-learning and fine-tuning alike).
ADAM_BETAS = (0.5, 0.999)
