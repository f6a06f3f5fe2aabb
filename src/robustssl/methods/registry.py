"""Method name → class; ``build_method`` composes a method from its config and an encoder."""

from __future__ import annotations

from torch import nn

from robustssl.methods.barlow_twins import BarlowTwins
from robustssl.methods.base import PretrainMethod
from robustssl.methods.config import MethodConfig, SupervisedConfig
from robustssl.methods.pretext import Jigsaw, Rotation
from robustssl.methods.simclr import SimCLR, SupCon
from robustssl.methods.simsiam import SimSiam
from robustssl.methods.supervised import Supervised

METHODS: dict[str, type[PretrainMethod]] = {
    "simclr": SimCLR,
    "supcon": SupCon,
    "simsiam": SimSiam,
    "barlow_twins": BarlowTwins,
    "rotation": Rotation,
    "jigsaw": Jigsaw,
    "supervised": Supervised,
}


def build_method(cfg: MethodConfig, encoder: nn.Module, num_classes: int | None) -> PretrainMethod:
    cls = METHODS[cfg.name]
    if cls.needs_labels and not num_classes:
        raise ValueError(f"method {cfg.name!r} needs a labelled dataset (num_classes unknown)")
    if isinstance(cfg, SupervisedConfig):
        return Supervised(encoder, cfg, int(num_classes))
    return cls(encoder, cfg)
