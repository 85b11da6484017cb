"""Training-free mesh-warp animator: piecewise-affine warp of one source crop to target landmarks,
with a synthesized mouth interior, closing eyelids and a validity mask (see docs/warp.md)."""
from .landmark_edits import close_eyes, eye_opening, mouth_opening, open_mouth
from .mesh import Mesh, MeshOptions, build_mesh
from .animator import MeshWarper, WarpOptions, animate_warp

__all__ = ["MeshWarper", "WarpOptions", "animate_warp", "Mesh", "MeshOptions", "build_mesh",
           "open_mouth", "close_eyes", "mouth_opening", "eye_opening"]
