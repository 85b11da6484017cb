"""Training-free mesh-warp animator: piecewise-affine warp of one source crop to target landmarks,
with a synthesized mouth interior, closing eyelids and a validity mask (see docs/warp.md)."""
from .animator import MeshWarper, WarpOptions, animate_warp
from .mesh import Mesh, MeshOptions, build_mesh

__all__ = ["MeshWarper", "WarpOptions", "animate_warp", "Mesh", "MeshOptions", "build_mesh"]
