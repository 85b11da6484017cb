"""Identity nodes: embed a person, few-shot fine-tune, save and load person files."""
from __future__ import annotations

import os
import re

from fsth_core.evaluation.metrics.face import check_one_person
from fsth_core.inference.animate_checks import check_integer
from fsth_core.inference.clip_shots import select_shots
from fsth_core.inference.finetune import personalize
from fsth_core.inference.person import load_person, save_person
from fsth_core.inference.pipeline import compute_identity, prepare_sources
from fsth_core.inference.types import Sources
from fsth_core.options import FINETUNE_STEPS_HELP, MAX_BATCH, MAX_SHOTS

from ._comfy import (
    IDENTITIES,
    Progress,
    full_path,
    grad_enabled,
    identities_output_dir,
    list_files,
    make_room,
    to_uint8,
)
from ._types import FSTHIdentity, FSTHLandmarks, FSTHModel

CATEGORY = "FSTH"
_MODEL_TIP = {"tooltip": "An FSTH model (Load Model)."}
_IMAGES_TIP = {"tooltip": "1-32 full pictures of one person (cropped internally around the face), or the frames "
                          "of a clip of them (max_shots are picked). Pictures of several people are refused (dlib "
                          "face descriptors)."}
_LANDMARKS_TIP = {"tooltip": "Landmarks of these pictures (Landmark Extract, input_kind = photos)."}
_SHOTS_TIP = {"default": MAX_SHOTS, "min": 1, "max": MAX_SHOTS,
              "tooltip": "With more pictures than this (the frames of a clip of the person), this many are "
                         "picked by their landmarks: the most typical one first, then those that show the face "
                         "most differently (open mouth, smile, blink, head turn). Each region of every frame is "
                         "then taken from the picture nearest in shape and pose."}


def sources_of(model: FSTHModel, images, landmarks: FSTHLandmarks, max_shots: int | None = None) -> Sources:
    """Full IMAGE batch + its landmarks -> head crops at the model's size (at most ``max_shots`` pictures:
    a clip's frames are picked by their landmarks, as different from each other as possible)."""
    imgs = to_uint8(images, "images")
    if len(imgs) != len(landmarks):
        raise ValueError(f"images has {len(imgs)} pictures but landmarks has {len(landmarks)} frames")
    if tuple(imgs.shape[1:3]) != tuple(landmarks.image_size):
        raise ValueError(f"images are {imgs.shape[2]}x{imgs.shape[1]} but the landmarks were found on "
                         f"{landmarks.image_size[1]}x{landmarks.image_size[0]} pictures")
    pics, points = select_shots(list(imgs), landmarks.points, MAX_SHOTS if max_shots is None else int(max_shots),
                                landmarks.found)
    check_one_person(pics, points)
    return prepare_sources(pics, points, model.size)


class EmbedPerson:
    DESCRIPTION = "Computes a person's identity (embedding ê, AdaIN parameters ψ) from pictures, no training."
    CATEGORY = CATEGORY
    RETURN_TYPES = ("FSTH_IDENTITY",)
    RETURN_NAMES = ("identity",)
    OUTPUT_TOOLTIPS = ("The person's identity for this model: embedding and AdaIN parameters.",)
    SEARCH_ALIASES = ["identity", "face embedding", "few-shot"]
    FUNCTION = "embed"

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"model": ("FSTH_MODEL", _MODEL_TIP), "images": ("IMAGE", _IMAGES_TIP),
                             "landmarks": ("FSTH_LANDMARKS", _LANDMARKS_TIP)},
                "optional": {"max_shots": ("INT", _SHOTS_TIP)}}

    def embed(self, model: FSTHModel, images, landmarks: FSTHLandmarks, max_shots: int | None = None):
        ident = compute_identity(model.model, sources_of(model, images, landmarks, max_shots), model.execution())
        return (FSTHIdentity(ident, f"{model.name} x{ident.shots}"),)


class FewShotFinetune:
    DESCRIPTION = ("Fine-tunes a copy of the model on a few pictures of one person (the paper's stage 2). "
                   "Returns the fine-tuned model and the person's identity; the input model is unchanged.")
    CATEGORY = CATEGORY
    RETURN_TYPES = ("FSTH_MODEL", "FSTH_IDENTITY")
    RETURN_NAMES = ("model", "identity")
    OUTPUT_TOOLTIPS = ("A fine-tuned copy of the model (the input model is unchanged).",
                       "The person's identity for that model.")
    SEARCH_ALIASES = ["fine-tune", "finetune", "personalize", "train on a person"]
    FUNCTION = "finetune"

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "model": ("FSTH_MODEL", _MODEL_TIP), "images": ("IMAGE", _IMAGES_TIP),
            "landmarks": ("FSTH_LANDMARKS", _LANDMARKS_TIP),
            "steps": ("INT", {"default": -1, "min": -1, "max": 10000,
                              "tooltip": "Fine-tuning steps: -1 = the checkpoint's recipe, else "
                                         f"{FINETUNE_STEPS_HELP}; 0 = no fine-tuning (embedding only)."}),
            "batch_size": ("INT", {"default": 4, "min": 1, "max": 64,
                                   "tooltip": "Pictures per step (drawn from the given ones)."}),
            "seed": ("INT", {"default": 0, "min": 0, "max": 2 ** 31 - 1, "control_after_generate": True,
                             "tooltip": "Seed of the order in which pictures are drawn."}),
        }, "optional": {"max_shots": ("INT", _SHOTS_TIP)}}

    def finetune(self, model: FSTHModel, images, landmarks: FSTHLandmarks, steps: int, batch_size: int, seed: int,
                 max_shots: int | None = None):
        check_integer("batch_size", batch_size, 1, MAX_BATCH)  # the API reaches past the widget's range
        sources = sources_of(model, images, landmarks, max_shots)
        with grad_enabled():
            res = personalize(model.model, sources, model.recipe, model.execution(), Progress(0).callback,
                              on_start=lambda o: make_room(model.model, o.batch, model.size, training=True),
                              steps=int(steps) if steps >= 0 else None, batch=int(batch_size), seed=int(seed))
        if res.options.steps == 0:
            return model, FSTHIdentity(res.identity, f"{model.name} x{res.identity.shots}")
        tuned = FSTHModel(res.model, f"{model.name}+ft{res.steps_done}", model.precision, model.recipe,
                          model.finetune_steps + res.steps_done)
        return tuned, FSTHIdentity(res.identity, tuned.name)


def _next_path(prefix: str):
    if not prefix or re.search(r"[\\/]|\.\.", prefix):
        raise ValueError(f"filename_prefix must be a plain name (no folders), got {prefix!r}")
    folder = identities_output_dir()
    folder.mkdir(parents=True, exist_ok=True)
    taken = [int(m.group(1)) for f in os.listdir(folder)
             if (m := re.fullmatch(re.escape(prefix) + r"_(\d+)\.safetensors", f))]
    return folder / f"{prefix}_{max(taken, default=0) + 1:05d}.safetensors"


class SaveIdentity:
    DESCRIPTION = ("Saves a person file (identity, plus the fine-tuned weights when a fine-tuned model is "
                   "connected) to output/fsth_identities: fine-tune once, animate many times.")
    CATEGORY = CATEGORY
    RETURN_TYPES = ()
    SEARCH_ALIASES = ["save person", "save face"]
    FUNCTION = "save"
    OUTPUT_NODE = True

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "identity": ("FSTH_IDENTITY", {"tooltip": "The identity to save."}),
            "filename_prefix": ("STRING", {"default": "person",
                                           "tooltip": "File name prefix; a counter and .safetensors are added."}),
        }, "optional": {
            "model": ("FSTH_MODEL", {"tooltip": "The fine-tuned model (Few-Shot Finetune's model output): "
                                                "its weights are stored with the identity."}),
        }}

    def save(self, identity: FSTHIdentity, filename_prefix: str, model: FSTHModel | None = None):
        tuned = model.model if model is not None and model.finetune_steps > 0 else None
        if tuned is not None:
            identity.check_model(model)
        path = save_person(_next_path(filename_prefix), identity.identity, tuned)
        return {"ui": {"text": [path.name]}}


class LoadIdentity:
    DESCRIPTION = "Loads a person file saved by Save Identity (with its fine-tuned weights, if stored)."
    CATEGORY = CATEGORY
    RETURN_TYPES = ("FSTH_MODEL", "FSTH_IDENTITY")
    RETURN_NAMES = ("model", "identity")
    OUTPUT_TOOLTIPS = ("The model, with the person's fine-tuned weights when the file has them.",
                       "The person's identity.")
    SEARCH_ALIASES = ["load person", "load face"]
    FUNCTION = "load"

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "model": ("FSTH_MODEL", {"tooltip": "The base model the person file was made with (same preset)."}),
            "identity_file": (list_files(IDENTITIES), {
                "tooltip": "Person file in models/fsth_identities or output/fsth_identities."}),
        }}

    @classmethod
    def IS_CHANGED(cls, model, identity_file):
        try:
            return str(os.path.getmtime(full_path(IDENTITIES, identity_file)))
        except ValueError:
            return ""

    def load(self, model: FSTHModel, identity_file: str):
        m, ident = load_person(full_path(IDENTITIES, identity_file), model.model)
        name = os.path.splitext(os.path.basename(identity_file))[0]
        if m is not model.model:
            model = FSTHModel(m, f"{model.name}+{name}", model.precision, model.recipe, ident.finetune_steps)
        return model, FSTHIdentity(ident, name)
