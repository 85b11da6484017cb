"""ComfyUI nodes: a thin layer over fsth_core (validate, convert, call one function, return).

Imported only relatively (``from .nodes import ...``): ``nodes`` is also ComfyUI's own module.
"""
import importlib.util
import os
import sys


def _ensure_core_importable() -> None:
    """Inside ComfyUI the pack's root is not on sys.path: add it so ``import fsth_core`` works."""
    if importlib.util.find_spec("fsth_core") is None:
        sys.path.append(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


_ensure_core_importable()

from ._comfy import install_example_inputs, register_model_folders  # noqa: E402
from .generate import GenerateFrames, PasteBack, RealismScore  # noqa: E402
from .identity import EmbedPerson, FewShotFinetune, LoadIdentity, SaveIdentity  # noqa: E402
from .landmarks import (  # noqa: E402
    EditLandmarks,
    ExtractLandmarks,
    LoadLandmarks,
    ProceduralMotion,
    RenderLandmarks,
    RetargetLandmarks,
)
from .model import LoadModel  # noqa: E402
from .video import VideoToVideo  # noqa: E402

register_model_folders()
install_example_inputs()

# (node id, class, display name): the node ids are saved in users' workflow JSON files, so they never change;
# the Python class names say what a node does and may.
_NODES = [
    ("FSTH_LoadModel", LoadModel, "FSTH Load Talking Head Model"),
    ("FSTH_LandmarkExtract", ExtractLandmarks, "FSTH Face Landmark Extract"),
    ("FSTH_LoadLandmarks", LoadLandmarks, "FSTH Load Face Landmarks (.npz)"),
    ("FSTH_RenderLandmarks", RenderLandmarks, "FSTH Render Face Landmarks"),
    ("FSTH_RetargetLandmarks", RetargetLandmarks, "FSTH Retarget Face Landmarks"),
    ("FSTH_ProceduralMotion", ProceduralMotion, "FSTH Procedural Motion (lip sync)"),
    ("FSTH_EditLandmarks", EditLandmarks, "FSTH Edit Face Landmarks"),
    ("FSTH_Embedder", EmbedPerson, "FSTH Embedder (face identity)"),
    ("FSTH_FewShotFinetune", FewShotFinetune, "FSTH Few-Shot Finetune (portrait)"),
    ("FSTH_Generator", GenerateFrames, "FSTH Talking Head: Animate Portrait"),
    ("FSTH_RealismScore", RealismScore, "FSTH Realism Score"),
    ("FSTH_PasteBack", PasteBack, "FSTH Paste Back into Portrait"),
    ("FSTH_SaveIdentity", SaveIdentity, "FSTH Save Identity"),
    ("FSTH_LoadIdentity", LoadIdentity, "FSTH Load Identity"),
    ("FSTH_VideoToVideo", VideoToVideo, "FSTH Video to Video (animate face)"),
]

NODE_CLASS_MAPPINGS = {node_id: cls for node_id, cls, _ in _NODES}
NODE_DISPLAY_NAME_MAPPINGS = {node_id: name for node_id, _, name in _NODES}
__all__ = ["NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS"]
