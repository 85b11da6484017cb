"""Generation nodes: frames from an identity and landmarks, realism scores, paste-back."""
from __future__ import annotations

import json

from fsth_core.inference.compose import paste_frames
from fsth_core.inference.frames import frame_stream
from fsth_core.inference.pipeline import FrameGenerator, kept_indices, realism_scores
from fsth_core.options import METHODS

from ._comfy import (
    Progress,
    free_memory,
    image_batch,
    make_room,
    mask_batch,
    mask_to_numpy,
    to_image,
    to_image_mask_stream,
    to_uint8,
)
from ._types import FSTHIdentity, FSTHLandmarks, FSTHModel

CATEGORY = "FSTH"
_CHUNK = 16  # frames Paste Back converts and pastes at a time
_MODEL_TIP = {"tooltip": "An FSTH model: the fine-tuned one from Few-Shot Finetune / Load Identity, or Load Model's."}
_IDENTITY_TIP = {"tooltip": "The person (Embedder, Few-Shot Finetune or Load Identity)."}
_MOTION_TIP = {"tooltip": "Target landmarks, one set per frame (Retarget Landmarks or Procedural Motion)."}


class GenerateFrames:
    DESCRIPTION = ("Generates the person's frames, one per landmark frame: head crops at the model's size, or, "
                   "with source_picture, the picture's head region at its own resolution (for Paste Back).")
    CATEGORY = CATEGORY
    RETURN_TYPES = ("IMAGE", "MASK")
    RETURN_NAMES = ("frames", "mask")
    OUTPUT_TOOLTIPS = ("The generated frames.",
                       "Where each frame differs from the picture: 1 where it moves or is painted, 0 where the "
                       "picture's own pixels are kept (all ones for head crops).")
    SEARCH_ALIASES = ["talking head", "animate portrait", "face animation", "render face"]
    FUNCTION = "generate"

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "model": ("FSTH_MODEL", _MODEL_TIP), "identity": ("FSTH_IDENTITY", _IDENTITY_TIP),
            "landmarks": ("FSTH_LANDMARKS", _MOTION_TIP),
            "method": (list(METHODS), {
                "default": "neural",
                "tooltip": "neural: the paper's generator; warp: training-free mesh warp of the identity's "
                           "source picture (ignores the model's weights)."}),
            "batch_size": ("INT", {"default": 8, "min": 1, "max": 256,
                                   "tooltip": "Frames generated at once (more = faster, more memory)."}),
        }, "optional": {
            "source_picture": ("IMAGE", {
                "tooltip": "Optional: the identity's source picture. With the warp or a warp-guided model the "
                           "frames are then its head region at its own resolution, sharp, with every pixel that "
                           "does not move kept as it is (for Paste Back); leave it unconnected for Realism Score."}),
        }}

    def generate(self, model: FSTHModel, identity: FSTHIdentity, landmarks: FSTHLandmarks, method: str,
                 batch_size: int, source_picture=None):
        identity.check_model(model)
        points = landmarks.in_crop(model.size)
        picture = to_uint8(source_picture, "source_picture")[0] if source_picture is not None else None
        bar = Progress(len(points))
        gen = None
        if method == "neural":
            make_room(model.model.generator, int(batch_size), model.size)
            ex = model.execution()
            gen = FrameGenerator(model.inference_model(ex), identity.identity, ex, batch=int(batch_size))
        try:  # the stages animate runs, in threads; each frame goes straight into the output tensors
            return to_image_mask_stream(frame_stream(identity.identity, points, model.size, gen, picture,
                                                     landmarks.head_box(), bar.callback), len(points))
        finally:
            del gen
            free_memory()


class RealismScore:
    DESCRIPTION = ("The discriminator's realism score of each frame for this person; keeps the frames above "
                   "the threshold (when none passes, the single best frame is kept).")
    CATEGORY = CATEGORY
    RETURN_TYPES = ("IMAGE", "FSTH_LANDMARKS", "FLOAT", "INT")
    RETURN_NAMES = ("kept_frames", "kept_landmarks", "scores", "kept_count")
    OUTPUT_IS_LIST = (False, False, True, False)
    OUTPUT_TOOLTIPS = ("The frames scored above the threshold (at least the best one).",
                       "Their landmarks (for Paste Back).",
                       "The realism score of every input frame, in order (a list of FLOATs; the scale is the "
                       "model's).",
                       "How many frames were kept.")
    SEARCH_ALIASES = ["discriminator", "realism filter", "frame quality"]
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
        make_room(model.model.discriminator, 8, model.size)
        r = realism_scores(model.model, identity.identity, imgs, landmarks.in_crop(model.size),
                           model.execution(), progress=Progress(len(imgs)).callback)
        keep = kept_indices(r, float(threshold))
        lm = landmarks
        kept = type(lm)(lm.points[keep], lm.image_size, lm.found[keep], lm.interpolated[keep], lm.fps, lm.crop)
        scores = [round(float(v), 4) for v in r]
        text = json.dumps({"scores": scores, "kept": keep.tolist(), "threshold": float(threshold)})
        return {"ui": {"text": [text]}, "result": (to_image(imgs[keep]), kept, scores, len(keep))}


class PasteBack:
    DESCRIPTION = ("Puts generated frames back into the source picture: head-region frames from the Generator "
                   "with source_picture pixel for pixel, head crops resized into the crop box with a "
                   "feathered edge.")
    CATEGORY = CATEGORY
    RETURN_TYPES = ("IMAGE", "MASK")
    RETURN_NAMES = ("images", "mask")
    OUTPUT_TOOLTIPS = ("The whole pictures.", "The animated region of each picture (1 = changed).")
    SEARCH_ALIASES = ["paste back", "composite face", "uncrop"]
    FUNCTION = "paste"

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "frames": ("IMAGE", {"tooltip": "Generated frames (Generator output)."}),
            "background": ("IMAGE", {"tooltip": "The source picture (the first image of the batch is used)."}),
            "landmarks": ("FSTH_LANDMARKS", {"tooltip": "The source picture's landmarks (or the motion made "
                                                        "from them): they give the crop box."}),
            "feather": ("FLOAT", {"default": 0.1, "min": 0.0, "max": 0.5, "step": 0.01,
                                  "tooltip": "Edge softness for head crops, a fraction of the crop side "
                                             "(0 = hard edge); head-region frames need none."}),
        }, "optional": {
            "mask": ("MASK", {"tooltip": "The Generator's mask (the animated region of each frame)."}),
        }}

    def paste(self, frames, background, landmarks: FSTHLandmarks, feather: float, mask=None):
        bg = to_uint8(background, "background")[0]
        box = landmarks.crop if landmarks.crop is not None else landmarks.source_box()
        if tuple(bg.shape[:2]) != tuple(box.image_size):
            raise ValueError(f"background is {bg.shape[1]}x{bg.shape[0]} but the landmarks belong to a "
                             f"{box.image_size[1]}x{box.image_size[0]} picture")
        frames = image_batch(frames, "frames")
        mask = mask_batch(mask) if mask is not None else None
        if mask is not None and mask.shape != frames.shape[:3]:
            raise ValueError(f"mask is {list(mask.shape)} but the frames are {list(frames.shape[:3])}")
        bar = Progress(len(frames))

        def pasted():  # a chunk at a time: no uint8 copy of all the frames, the results go into the outputs
            for i in range(0, len(frames), _CHUNK):
                part = mask_to_numpy(mask[i:i + _CHUNK]) if mask is not None else None
                yield from zip(*paste_frames(bg, to_uint8(frames[i:i + _CHUNK], "frames"), box, float(feather), part))
                bar.callback(min(i + _CHUNK, len(frames)), len(frames))

        return to_image_mask_stream(pasted(), len(frames))
