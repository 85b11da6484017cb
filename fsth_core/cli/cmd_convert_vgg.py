"""``convert-vgg``: make the content loss's VGG19 / VGGFace safetensors from PyTorch checkpoints."""
from __future__ import annotations

from pathlib import Path

NAME = "convert-vgg"
HELP = "convert torchvision's vgg19 and the VGGFace port (vgg_face_dag) to safetensors for the content loss"


def add_arguments(p) -> None:
    from fsth_core.runtime.paths import PACK_WEIGHTS

    p.add_argument("--vgg19", metavar="PTH", help="torchvision vgg19 state dict (vgg19-dcbb9e9d.pth)")
    p.add_argument("--vgg19-convention", default="torchvision", choices=["torchvision", "caffe"],
                   help="input convention the VGG19 was trained with (torchvision: RGB 0-1 normalized; "
                        "caffe: BGR 0-255 mean-subtracted)")
    p.add_argument("--vggface", metavar="PTH", help="VGGFace PyTorch port state dict (vgg_face_dag.pth)")
    p.add_argument("--vggface-convention", default="vgg_face_dag", choices=["vgg_face_dag", "caffe"])
    p.add_argument("--out-dir", default=str(PACK_WEIGHTS), help="where to write (default: the pack's weights/)")


def run(args) -> int:
    from fsth_core.cli import CLIError
    from fsth_core.models.convert import convert_vgg
    from fsth_core.models.losses import VGG_FILES

    if not args.vgg19 and not args.vggface:
        raise CLIError("give --vgg19 and/or --vggface")
    for which, src, conv in (("vgg19", args.vgg19, args.vgg19_convention),
                             ("vggface", args.vggface, args.vggface_convention)):
        if src:
            out = convert_vgg(src, Path(args.out_dir) / VGG_FILES[which], which, conv)
            print(f"wrote {out} ({which}, {conv} input convention)")
    return 0
