"""The pretraining methods: each method class, with its config class beside it in its module
(``config_class``), registered here once. The config union of ``PretrainConfig.method`` and the
name → class map both come from :data:`METHOD_CLASSES`, so adding a method is its module plus one
line here (docs/adding_a_method.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Union

from pydantic import Field
from torch import nn

from robustssl.methods.acl import ACL
from robustssl.methods.adv_simclr import AdversarialSimCLR
from robustssl.methods.advcl import AdvCL
from robustssl.methods.ap_dpe import APDPE
from robustssl.methods.barlow_twins import BarlowTwins
from robustssl.methods.base import PretrainMethod
from robustssl.methods.common import MethodConfigBase
from robustssl.methods.deacl import DeACL
from robustssl.methods.dynacl import DynACL
from robustssl.methods.dynacl_pp import DynACLPP
from robustssl.methods.layerwise_simclr import LayerwiseSimCLR
from robustssl.methods.pretext import Jigsaw, Rotation
from robustssl.methods.rocl import RoCL
from robustssl.methods.simclr import SimCLR, SupCon
from robustssl.methods.simsiam import SimSiam
from robustssl.methods.ss_at import SSAT
from robustssl.methods.supervised import Supervised

METHOD_CLASSES: tuple[type[PretrainMethod], ...] = (
    SimCLR,
    SupCon,
    SimSiam,
    BarlowTwins,
    Rotation,
    Jigsaw,
    Supervised,
    LayerwiseSimCLR,
    SSAT,
    AdversarialSimCLR,
    ACL,
    RoCL,
    AdvCL,
    APDPE,
    DeACL,
    DynACL,
    DynACLPP,
)


def method_name(cls: type[PretrainMethod]) -> str:
    """The ``method.name`` of a method class: the default of its config's ``name``."""
    name = cls.config_class.model_fields["name"].default
    if not isinstance(name, str) or not name:
        raise TypeError(
            f"{cls.__name__}.config_class needs a literal name, e.g. name: Literal['x']"
        )
    return name


def _methods(classes: tuple[type[PretrainMethod], ...]) -> dict[str, type[PretrainMethod]]:
    methods: dict[str, type[PretrainMethod]] = {}
    for cls in classes:
        name = method_name(cls)
        if name in methods:
            raise TypeError(f"method name {name!r} is registered twice ({cls.__name__})")
        methods[name] = cls
    return methods


METHODS: dict[str, type[PretrainMethod]] = _methods(METHOD_CLASSES)

if TYPE_CHECKING:
    MethodConfig = MethodConfigBase
else:  # the tagged union pydantic validates ``method`` against (``name`` picks the member)
    MethodConfig = Annotated[
        Union[tuple(cls.config_class for cls in METHOD_CLASSES)],  # noqa: UP007
        Field(discriminator="name"),
    ]


def build_method(
    cfg: MethodConfigBase, encoder: nn.Module, num_classes: int | None
) -> PretrainMethod:
    """The method ``cfg.name`` around ``encoder``; a ValueError when it needs labels and the
    dataset has none."""
    cls = METHODS[cfg.name]
    if cls.needs_labels and not num_classes:
        raise ValueError(f"method {cfg.name!r} needs a labelled dataset (num_classes unknown)")
    return cls.build(encoder, cfg, num_classes)
