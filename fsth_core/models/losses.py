"""The paper's losses, each returned by name together with the weighted total.

Generator step (E and G are optimized, D is frozen):
    L = 1e-2·L_VGG19 + 2e-3·L_VGGFace + L_ADV + 10·L_FM (+ 80·L_MCH in the FT variant)
        (+ an optional pixel L1, off by default, not in the paper)
Discriminator step (D only; fakes detached):
    L_D = relu(1 + r̂) + relu(1 − r)  (+ 80·L_MCH with ê detached, pulling W_i towards ê_i)
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from fsth_core.models.config import LossWeights
from fsth_core.models.vgg import (
    VGG16_LAYOUT,
    VGG19_LAYERS,
    VGG19_LAYOUT,
    VGGFACE_LAYERS,
    InputConvention,
    VGGFeatures,
    feature_l1,
)
from fsth_core.models.weights import load_tensors
from fsth_core.runtime.paths import find_weights, weights_dirs

log = logging.getLogger("fsth")
VGG_FILES = {"vgg19": "vgg19.safetensors", "vggface": "vggface.safetensors"}


@dataclass
class LossOutput:
    """Unweighted terms by name, and the weighted total to back-propagate."""

    terms: dict[str, torch.Tensor]
    total: torch.Tensor

    def scalars(self) -> dict[str, float]:
        out = {k: float(v.detach()) for k, v in self.terms.items()}
        out["total"] = float(self.total.detach())
        return out


def load_vgg(which: str, device: torch.device | str = "cpu") -> VGGFeatures | None:
    """The converted VGG19 / VGGFace feature net, or None when its file is not installed."""
    path = find_weights(VGG_FILES[which])
    if path is None:
        return None
    tensors, meta = load_tensors(path, kind="vgg")
    layout, layers = (VGG19_LAYOUT, VGG19_LAYERS) if which == "vgg19" else (VGG16_LAYOUT, VGGFACE_LAYERS)
    net = VGGFeatures(layout=layout, layers=layers, convention=InputConvention.from_json(meta["convention"]))
    state = {k: v.float() for k, v in tensors.items() if int(k.split(".")[1]) < len(net.features)}
    net.load_state_dict(state)
    return net.to(device)


class ContentLoss(nn.Module):
    """L1 over VGG19 and VGGFace activations; either network may be absent (term skipped)."""

    def __init__(self, vgg19: VGGFeatures | None, vggface: VGGFeatures | None):
        super().__init__()
        self.vgg19 = vgg19
        self.vggface = vggface

    @property
    def active(self) -> bool:
        return self.vgg19 is not None or self.vggface is not None

    @classmethod
    def from_installed(cls, device: torch.device | str = "cpu") -> ContentLoss:
        """Load whatever VGG files are installed; warn once, clearly, about the missing ones."""
        nets = {k: load_vgg(k, device) for k in VGG_FILES}
        missing = [VGG_FILES[k] for k, v in nets.items() if v is None]
        if missing:
            where = ", ".join(str(d) for d in weights_dirs())
            log.warning("content loss %s: %s not found (searched %s); make them with "
                        "`python -m fsth_core convert-vgg --vgg19 vgg19-dcbb9e9d.pth --vggface vgg_face_dag.pth` "
                        "— training goes on with the other terms",
                        "off" if len(missing) == 2 else "partly off", " and ".join(missing), where)
        return cls(nets["vgg19"], nets["vggface"])

    def forward(self, fake: torch.Tensor, real: torch.Tensor) -> dict[str, torch.Tensor]:
        """fake, real [B,3,S,S] in [-1,1] -> {'vgg19': ., 'vggface': .} for the installed nets."""
        out = {}
        if self.vgg19 is not None:
            out["vgg19"] = feature_l1(self.vgg19, fake.float(), real.float())
        if self.vggface is not None:
            out["vggface"] = feature_l1(self.vggface, fake.float(), real.float())
        return out


def feature_matching(fake_feats: list[torch.Tensor], real_feats: list[torch.Tensor]) -> torch.Tensor:
    """Sum over D's blocks of the mean L1 distance between fake and (detached) real activations
    (pix2pixHD's reduction, which the paper's weight 10 refers to and the public reimplementation uses)."""
    return sum(F.l1_loss(f.float(), r.detach().float()) for f, r in zip(fake_feats, real_feats))


def embedding_match(w: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
    """L_MCH = mean |W_i − ê_i| (per element); w, e [B,D].  The paper writes ‖W_i − ê_i‖₁; with its
    weight 80 a sum over 512 dimensions would dwarf every other term, so the mean is kept (as in the public
    reimplementation)."""
    return F.l1_loss(w, e)


class GeneratorLoss(nn.Module):
    """The embedder+generator objective. ``match=False`` is the paper's FF variant."""

    def __init__(self, weights: LossWeights = LossWeights(), content: ContentLoss | None = None,
                 match: bool = True):
        super().__init__()
        self.weights = weights
        self.content = content if content is not None else ContentLoss(None, None)
        self.match = match

    def forward(self, fake: torch.Tensor, real: torch.Tensor, r_fake: torch.Tensor,
                fake_feats: list[torch.Tensor], real_feats: list[torch.Tensor],
                w: torch.Tensor | None = None, e: torch.Tensor | None = None) -> LossOutput:
        """fake, real [B,3,S,S]; r_fake [B]; D activations; w = W_i [B,D] and e = ê_i [B,D] for L_MCH."""
        wt = self.weights
        terms = {f"content_{k}": v for k, v in self.content(fake, real).items()}
        if wt.pixel_l1 > 0:
            terms["pixel_l1"] = F.l1_loss(fake.float(), real.float())
        terms["adversarial"] = -r_fake.float().mean()
        terms["feature_matching"] = feature_matching(fake_feats, real_feats)
        if self.match and w is not None and e is not None:
            terms["match"] = embedding_match(w.detach(), e)
        scale = {"content_vgg19": wt.vgg19, "content_vggface": wt.vggface, "adversarial": wt.adversarial,
                 "feature_matching": wt.feature_matching, "match": wt.match, "pixel_l1": wt.pixel_l1}
        total = sum(scale[k] * v for k, v in terms.items())
        return LossOutput(terms, total)


def discriminator_loss(r_real: torch.Tensor, r_fake: torch.Tensor, weights: LossWeights = LossWeights(),
                       w: torch.Tensor | None = None, e: torch.Tensor | None = None) -> LossOutput:
    """Hinge loss on r_real, r_fake [B]; with w = W_i and e = ê_i also L_MCH (ê detached)."""
    terms = {"real": F.relu(1 - r_real.float()).mean(), "fake": F.relu(1 + r_fake.float()).mean()}
    total = terms["real"] + terms["fake"]
    if w is not None and e is not None:
        terms["match"] = embedding_match(w, e.detach())
        total = total + weights.match * terms["match"]
    return LossOutput(terms, total)
