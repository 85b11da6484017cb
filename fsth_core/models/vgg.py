"""VGG19 and VGGFace feature extractors for the content loss, and their input conventions.

The networks are plain ``nn.Sequential`` stacks in torchvision's ``features`` layout, so a
converted state dict maps index for index.  Each weight file records how its network expects
its input (channel order, 0-1 or 0-255 scale, mean, std): torchvision's VGG19 was trained on
RGB 0-1 normalized input, caffe-trained VGGs (VGGFace, caffe VGG19) on mean-subtracted 0-255
input — feeding the wrong convention is a classic mistake of public reimplementations.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

VGG19_LAYOUT = [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
                512, 512, 512, 512, "M"]
VGG16_LAYOUT = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]
# Module indices in `features` whose outputs the content loss compares (the paper's
# conv1,6,11,20,29 of VGG19 and conv1,6,11,18,25 of VGGFace: the ReLU after the first
# convolution of each stage).
VGG19_LAYERS = (1, 6, 11, 20, 29)
VGGFACE_LAYERS = (1, 6, 11, 18, 25)


@dataclass(frozen=True)
class InputConvention:
    channel_order: str  # "RGB" or "BGR"
    scale: float        # 1.0 (0-1 input) or 255.0
    mean: tuple[float, float, float]  # in the network's channel order, in `scale` units
    std: tuple[float, float, float]

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, s: str) -> InputConvention:
        d = json.loads(s)
        return cls(d["channel_order"], float(d["scale"]), tuple(d["mean"]), tuple(d["std"]))


CONVENTIONS = {
    "torchvision": InputConvention("RGB", 1.0, (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
    "caffe": InputConvention("BGR", 255.0, (103.939, 116.779, 123.68), (1.0, 1.0, 1.0)),
    # Albanie's vgg_face_dag port (from MatConvNet): RGB order, 0-255, mean subtracted.
    "vgg_face_dag": InputConvention("RGB", 255.0, (129.186279296875, 104.76238250732422, 93.59396362304688),
                                    (1.0, 1.0, 1.0)),
}


def make_features(layout: list, upto: int) -> nn.Sequential:
    """torchvision-style ``features`` stack, truncated after module index ``upto``."""
    layers: list[nn.Module] = []
    prev = 3
    for v in layout:
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(prev, v, 3, padding=1), nn.ReLU(inplace=False)]
            prev = v
    return nn.Sequential(*layers[:upto + 1])


class VGGFeatures(nn.Module):
    """Frozen VGG returning the activations at ``layers``; takes images in [-1,1] RGB."""

    def __init__(self, *, layout: list, layers: tuple[int, ...], convention: InputConvention):
        super().__init__()
        self.features = make_features(layout, max(layers))
        self.layers = tuple(layers)
        self.convention = convention
        c = convention
        order = [2, 1, 0] if c.channel_order == "BGR" else [0, 1, 2]
        self.register_buffer("order", torch.tensor(order), persistent=False)
        self.register_buffer("mean", torch.tensor(c.mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(c.std).view(1, 3, 1, 1), persistent=False)
        self.requires_grad_(False)
        self.eval()

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        """[-1,1] RGB [B,3,H,W] -> the network's input convention."""
        x = (x + 1) * 0.5 * self.convention.scale
        return (x[:, self.order] - self.mean) / self.std

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        h = self.normalize(x)
        out = []
        for i, layer in enumerate(self.features):
            h = layer(h)
            if i in self.layers:
                out.append(h)
        return out


def feature_l1(net: VGGFeatures, fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """Sum over layers of the mean L1 distance between activations (real side not differentiated)."""
    with torch.no_grad():
        target = net(real)
    return sum(F.l1_loss(a, b) for a, b in zip(net(fake), target))
