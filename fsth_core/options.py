"""Shared option values (no torch, no cv2): one home for choices the CLI, the nodes and the stages agree on.

The CLI's ``choices=`` and the nodes' COMBO lists come from here, so ``--help`` stays fast and a new
choice is added once.  The stages validate their inputs against the same tuples.
"""

from __future__ import annotations

import math

# Video file extensions every stage (prepare, eval, animate) reads; OpenCV/FFmpeg decodes all of them.
VIDEO_EXTS = (".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v", ".gif", ".mpg", ".mpeg", ".wmv")

# Adam betas of the paper (meta-learning and fine-tuning alike).
ADAM_BETAS = (0.5, 0.999)
# Learning rates of the paper: E and G, and D (meta-learning, and the fine-tuning default).
LR_G = 5e-5
LR_D = 2e-4
# D updates per E+G (or G) update, on the same fakes (the paper: two, following SAGAN's TTUR): meta-learning's
# --d-steps default, and fine-tuning's unless the checkpoint's recipe says how its model was meta-learned.
D_STEPS = 2
MAX_D_STEPS = 16

# How a frame is made: "neural" (the paper's generator) or "warp" (training-free mesh warp).
METHODS = ("neural", "warp")
# Landmark detectors: name -> what it is and needs (each is implemented in fsth_core/landmarks/detect.py, in its
# BACKEND_TABLE under the same name); "auto" takes the first of AUTO_BACKENDS that can run here (the last
# whatever).  The CLI's --backend help and the nodes' tooltip are built from this table (kept here, so --help
# imports neither cv2 nor dlib).
DETECTOR_NOTES = {
    "dlib": "HOG face detector + 68-point shape predictor, on the CPU, offline (needs dlib-bin)",
    "face_alignment": "S3FD + 2D-FAN, the tracker the paper used, on the device (needs `pip install "
                      "face-alignment`; its weights are downloaded once into torch's hub cache)",
}
AUTO_BACKENDS = ("face_alignment", "dlib")
BACKENDS = ("auto", *DETECTOR_NOTES)
BACKEND_HELP = ("auto = " + " if it can run here (installed, weights cached), else ".join(AUTO_BACKENDS) + "; "
                + "; ".join(f"{name} = {note}" for name, note in DETECTOR_NOTES.items()))
# Compute precisions: "auto" = bf16 on a GPU that has it; on a CPU the measured choice (fsth_core.runtime.device).
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
# Retargeting: "relative" moves the source's face by the driver's motion; "absolute" uses the driver's
# raw landmarks (the paper).  The first is the default.
RETARGET_MODES = ("relative", "absolute")
# Procedural motion of ``animate --motion``: "talk" (blinks, speech, head turns) or "still" (intensity 0).
MOTIONS = ("talk", "still")

# Fine-tuning defaults (the paper's stage 2), unless a checkpoint recommends others (its recipe).
FINETUNE_STEPS_ONE, FINETUNE_STEPS_MANY = 125, 230   # for T = 1 and for T >= 32 (the authors' advice)
FINETUNE_PIXEL_L1 = 0.0                               # optional extra term (not in the paper)


def default_finetune_steps(shots: int) -> int:
    """~125 steps for T = 1 growing to ~230 for T >= 32 (log-linear in T)."""
    t = max(1, int(shots))
    span = FINETUNE_STEPS_MANY - FINETUNE_STEPS_ONE
    return int(round(FINETUNE_STEPS_ONE + span * min(1.0, math.log2(t) / 5)))


FINETUNE_STEPS_HELP = f"~{FINETUNE_STEPS_ONE} for one image growing to ~{FINETUNE_STEPS_MANY} for 32"

def word_or_count(text: str, words: tuple[str, ...], least: int, what: str) -> str | int:
    """``text`` as one of ``words`` or an integer >= ``least`` (``what`` names it in the error): the parser of
    options such as ``--face largest|N`` and ``--videos all|N`` (the CLI's and the nodes').  One-line
    ValueError otherwise."""
    if text in words:
        return text
    try:
        n = int(text)
    except ValueError:
        raise ValueError(f"must be {' or '.join(repr(w) for w in words)} or {what}, got {text!r}") from None
    if n < least:
        raise ValueError(f"{what} must be >= {least}, got {n}")
    return n


FACE_WORDS, FACE_INDEX = ("largest",), "a face index (0 = leftmost)"  # which face of a picture: --face, the node's


# Meta-learning variants: "ft" (with the embedding-match loss, can be fine-tuned) or "ff" (without).
VARIANTS = ("ft", "ff")

# Limits the CLI, the nodes and the stages check (here so that --help imports neither torch nor cv2).
MAX_FPS = 240.0      # highest frame rate accepted or written; a video claiming more is read at DEFAULT_FPS
DEFAULT_FPS = 25.0   # frames of a folder, procedural motion, a video without a usable rate
CRF_RANGE = (0, 51)  # x264's scale (0 = visually lossless, 18 = default, 51 = worst); VP9 gets the same number
MAX_FRAMES = 270_000  # longest procedural motion: 3 hours at 25 fps (its landmarks alone take 147 MB)
MAX_BATCH = 1024           # frames generated at once
MAX_SHOTS = 32             # pictures of one person (source images, or frames picked from a clip)
MAX_FINETUNE_STEPS = 100_000
MAX_INTENSITY = 3.0        # procedural motion: 0 still, 1 natural, 2 lively
MAX_THREADS = 1024         # torch threads while generating

# A face box by hand (fsth_core/landmarks/face_box.py): the CLI's --face-box help and the node's face_mask tooltip.
FACE_BOX_HELP = ("for a face no detector finds (a painting, a cartoon, a drawing): the detectors search in the box at "
                 "a larger scale; where they still find nothing, the 68-point face template is fitted into it, so draw "
                 "it from the forehead to the chin, cheek to cheek")

# Expression-edit sliders: name -> (min, max, step, what it does); the CLI's --edit and the Edit Landmarks node.
SLIDERS = {
    "mouth": (-0.2, 0.6, 0.01, "Open the mouth (jaw drop, in mouth widths: 0.3 = wide open; negative presses "
                               "the lips together)."),
    "smile": (-1.0, 1.0, 0.05, "Pull the mouth corners out and up (1 = broad smile; negative = frown)."),
    "eyes": (-0.5, 1.0, 0.05, "Close the eyes (1 = closed, 0.5 = half; negative opens them wider)."),
    "brows": (-1.0, 1.0, 0.05, "Raise the eyebrows (1 = raised by 0.14 eye distances; negative lowers them)."),
    "yaw": (-30.0, 30.0, 0.5, "Turn the head left/right, degrees (positive: towards the picture's right)."),
    "pitch": (-25.0, 25.0, 0.5, "Tilt the head up/down, degrees (positive: up)."),
    "roll": (-30.0, 30.0, 0.5, "Tilt the head sideways, degrees (positive: clockwise on screen)."),
}
