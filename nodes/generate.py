"""Generation nodes: frames from an identity and landmarks, realism scores, paste-back."""
from __future__ import annotations

import json

import numpy as np

from fsth_core.landmarks.paste import paste_back
from fsth_core.pipeline import FrameGenerator, hires_guide, realism_scores
from fsth_core.warp import animate_warp

from ._checks import check_source_picture
from ._comfy import Progress, free_memory, to_image, to_uint8
from ._types import FSTHIdentity, FSTHLandmarks, FSTHModel

CATEGORY = "FSTH"
_MODEL_TIP = {"tooltip": "An FSTH model: the fine-tuned one from Few-Shot Finetune / Load Identity, or Load Model's."}
_IDENTITY_TIP = {"tooltip": "The person (Embedder, Few-Shot Finetune or Load Identity)."}
_MOTION_TIP = {"tooltip": "Target landmarks, one set per frame (Retarget Landmarks or Procedural Motion)."}


class Generator:
    DESCRIPTION = "Generates head crops (model size) of the person, one per landmark frame."
    CATEGORY = CATEGORY
    RETURN_TYPES = ("IMAGE",)
    RETURN_NAMES = ("frames",)
    FUNCTION = "generate"

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "model": ("FSTH_MODEL", _MODEL_TIP), "identity": ("FSTH_IDENTITY", _IDENTITY_TIP),
            "landmarks": ("FSTH_LANDMARKS", _MOTION_TIP),
            "method": (["neural", "warp"], {
                "default": "neural",
                "tooltip": "neural: the paper's generator; warp: training-free mesh warp of the identity's "
                           "source picture (ignores the model's weights)."}),
            "batch_size": ("INT", {"default": 8, "min": 1, "max": 256,
                                   "tooltip": "Frames generated at once (more = faster, more memory)."}),
        }, "optional": {
            "source_picture": ("IMAGE", {
                "tooltip": "Optional: the identity's source picture. With a warp-guided model the frames then "
                           "come out at the picture's own resolution (sharp, for Paste Back) instead of the "
                           "model's size; leave it unconnected for Realism Score."}),
        }}

    def generate(self, model: FSTHModel, identity: FSTHIdentity, landmarks: FSTHLandmarks, method: str,
                 batch_size: int, source_picture=None):
        identity.check_model(model)
        hires = None
        picture = to_uint8(source_picture, "source_picture")[0] if source_picture is not None else None
        if picture is not None:
            check_source_picture(picture, identity.identity, landmarks)
        if picture is not None and method == "neural" and model.model.config.warp_guided \
                and landmarks.crop is not None:  # motion made for that picture carries its head box
            hires = hires_guide(picture, landmarks.crop, identity.identity.source_points, model.size)
        points = landmarks.in_crop(model.size)
        bar = Progress(len(points))
        if method == "warp":
            ident = identity.identity
            frames = []
            for f in animate_warp(ident.source, ident.source_points, points, progress=False):
                frames.append(f)
                bar.update()
        else:
            gen = FrameGenerator(model.model, identity.identity, model.execution(), batch=int(batch_size),
                                 hires=hires)
            frames = list(gen.stream(points, total=len(points), progress=bar.callback))
            del gen
            free_memory()
        return (to_image(np.stack(frames)),)


class RealismScore:
    DESCRIPTION = ("The discriminator's realism score of each frame for this person; keeps the frames above "
                   "the threshold (when none passes, the single best frame is kept).")
    CATEGORY = CATEGORY
    RETURN_TYPES = ("IMAGE", "FSTH_LANDMARKS", "STRING")
    RETURN_NAMES = ("kept_frames", "kept_landmarks", "scores")
    FUNCTION = "score"

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "model": ("FSTH_MODEL", _MODEL_TIP), "identity": ("FSTH_IDENTITY", _IDENTITY_TIP),
            "frames": ("IMAGE", {"tooltip": "Generated head crops (Generator output, model size)."}),
            "landmarks": ("FSTH_LANDMARKS", {"tooltip": "The landmarks the frames were generated from."}),
            "threshold": ("FLOAT", {"default": 0.0, "min": -1000.0, "max": 1000.0, "step": 0.01,
                                    "tooltip": "Keep frames whose score is above this (the scale is the "
                                               "model's; see the scores output)."}),
        }}

    def score(self, model: FSTHModel, identity: FSTHIdentity, frames, landmarks: FSTHLandmarks, threshold: float):
        identity.check_model(model)
        imgs = to_uint8(frames, "frames")
        if imgs.shape[1:3] != (model.size, model.size) or len(imgs) != len(landmarks):
            raise ValueError(f"frames must be {len(landmarks)} crops of {model.size}x{model.size} (one per "
                             f"landmark frame), got {len(imgs)} of {imgs.shape[2]}x{imgs.shape[1]}")
        r = realism_scores(model.model, identity.identity, imgs, landmarks.in_crop(model.size), model.execution())
        keep = np.flatnonzero(r > threshold)
        if len(keep) == 0:
            keep = np.array([int(np.argmax(r))])
        lm = landmarks
        kept = type(lm)(lm.points[keep], lm.image_size, lm.found[keep], lm.interpolated[keep], lm.fps, lm.crop)
        text = json.dumps({"scores": [round(float(v), 4) for v in r], "kept": keep.tolist(),
                           "threshold": float(threshold)})
        return {"ui": {"text": [text]}, "result": (to_image(imgs[keep]), kept, text)}


class PasteBack:
    DESCRIPTION = "Blends generated head crops back into the source picture, where the identity's crop came from."
    CATEGORY = CATEGORY
    RETURN_TYPES = ("IMAGE",)
    RETURN_NAMES = ("images",)
    FUNCTION = "paste"

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "frames": ("IMAGE", {"tooltip": "Generated head crops (Generator output)."}),
            "background": ("IMAGE", {"tooltip": "The source picture (the first image of the batch is used)."}),
            "landmarks": ("FSTH_LANDMARKS", {"tooltip": "The source picture's landmarks (or the motion made "
                                                        "from them): they give the crop box."}),
            "feather": ("FLOAT", {"default": 0.1, "min": 0.0, "max": 0.5, "step": 0.01,
                                  "tooltip": "Edge softness, a fraction of the crop side (0 = hard edge)."}),
        }}

    def paste(self, frames, background, landmarks: FSTHLandmarks, feather: float):
        bg = to_uint8(background, "background")[0]
        box = landmarks.crop if landmarks.crop is not None else landmarks.source_box()
        if tuple(bg.shape[:2]) != tuple(box.image_size):
            raise ValueError(f"background is {bg.shape[1]}x{bg.shape[0]} but the landmarks belong to a "
                             f"{box.image_size[1]}x{box.image_size[0]} picture")
        crops = to_uint8(frames, "frames")
        bar = Progress(len(crops))
        out = np.empty((len(crops),) + bg.shape, np.uint8)
        for i, c in enumerate(crops):
            out[i] = paste_back(bg, c, box, float(feather))
            bar.update()
        return (to_image(out),)
