"""Video-to-video: re-animate the face in a clip (person A) with another motion (person B, procedural)."""
from __future__ import annotations

from fsth_core.inference.video2video import reanimate_clip
from fsth_core.options import METHODS

from ._comfy import Progress, free_memory, to_image, to_mask, to_uint8
from ._types import FSTHLandmarks, FSTHModel

CATEGORY = "FSTH"


class VideoToVideo:
    DESCRIPTION = ("Re-animates the face in a video: each output frame is the clip's own frame, its face moved by "
                   "the motion's change (relative to each frame's own pose and expression), composed at the "
                   "clip's resolution so everything that does not move keeps its pixels.")
    CATEGORY = CATEGORY
    SEARCH_ALIASES = ("video to video", "face reenactment", "reanimate video", "motion transfer", "talking head")
    RETURN_TYPES = ("IMAGE", "MASK")
    RETURN_NAMES = ("frames", "mask")
    OUTPUT_TOOLTIPS = ("The re-animated clip.", "The animated region of each frame (1 = changed).")
    FUNCTION = "reanimate"

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "model": ("FSTH_MODEL", {"tooltip": "A warp-guided FSTH model (used by the neural method)."}),
            "frames": ("IMAGE", {"tooltip": "The clip whose face is re-animated (person A)."}),
            "landmarks": ("FSTH_LANDMARKS", {"tooltip": "Landmark Extract of this clip (one set per frame)."}),
            "motion": ("FSTH_LANDMARKS", {"tooltip": "The motion: Landmark Extract of a driving video (person B) "
                                                     "or Procedural Motion. Its first frame is the reference."}),
            "method": (list(METHODS), {"default": "neural",
                                            "tooltip": "neural: the model paints mouth and eyes; warp: mesh warp."}),
        }}

    def reanimate(self, model: FSTHModel, frames, landmarks: FSTHLandmarks, motion: FSTHLandmarks, method: str):
        clip = to_uint8(frames, "frames")
        if tuple(clip.shape[1:3]) != tuple(landmarks.image_size):
            raise ValueError(f"frames are {clip.shape[2]}x{clip.shape[1]} but the landmarks belong to "
                             f"{landmarks.image_size[1]}x{landmarks.image_size[0]} frames")
        bar = Progress(len(clip))
        out, masks = reanimate_clip(clip, landmarks.points, motion.points,
                                    model.model if method == "neural" else None, landmarks.fps or 25.0,
                                    model.execution(), progress=bar.callback)
        free_memory()
        return (to_image(out), to_mask(masks))
