"""Method name → class; ``build_method`` composes a method from its config and an encoder."""

from __future__ import annotations

from torch import nn

from robustssl.methods.acl import ACL
from robustssl.methods.adv_simclr import AdversarialSimCLR
from robustssl.methods.advcl import AdvCL
from robustssl.methods.ap_dpe import APDPE
from robustssl.methods.barlow_twins import BarlowTwins
from robustssl.methods.base import PretrainMethod
from robustssl.methods.config import MethodConfig, SSATConfig, SupervisedConfig
from robustssl.methods.layerwise_simclr import LayerwiseSimCLR
from robustssl.methods.pretext import Jigsaw, Rotation
from robustssl.methods.rocl import RoCL
from robustssl.methods.simclr import SimCLR, SupCon
from robustssl.methods.simsiam import SimSiam
from robustssl.methods.ss_at import SSAT
from robustssl.methods.supervised import Supervised

METHODS: dict[str, type[PretrainMethod]] = {
    "simclr": SimCLR,
    "supcon": SupCon,
    "simsiam": SimSiam,
    "barlow_twins": BarlowTwins,
    "rotation": Rotation,
    "jigsaw": Jigsaw,
    "supervised": Supervised,
    "layerwise_simclr": LayerwiseSimCLR,
    "ss_at": SSAT,
    "adv_simclr": AdversarialSimCLR,
    "acl": ACL,
    "rocl": RoCL,
    "advcl": AdvCL,
    "ap_dpe": APDPE,
}


def build_method(cfg: MethodConfig, encoder: nn.Module, num_classes: int | None) -> PretrainMethod:
    cls = METHODS[cfg.name]
    if cls.needs_labels and not num_classes:
        raise ValueError(f"method {cfg.name!r} needs a labelled dataset (num_classes unknown)")
    if isinstance(cfg, SupervisedConfig | SSATConfig):
        assert num_classes is not None  # both need labels (checked above)
        # The classes' constructors differ; type[PretrainMethod] knows only the base's.
        return cls(encoder, cfg, int(num_classes))  # type: ignore[call-arg]
    return cls(encoder, cfg)  # type: ignore[call-arg]
