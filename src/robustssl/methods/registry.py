"""The pretraining methods: each method class, with its config class beside it in its module
(``config_class``), registered here once. The config union of ``PretrainConfig.method`` and the
name → class map both come from :data:`METHOD_CLASSES`, so adding a method is its module plus one
line here (docs/adding_a_method.md). A method defined outside the package (a plug-in, a test)
joins at run time with :func:`register_method`, which rebuilds both."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal, Union, get_args, get_origin

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
    """The ``method.name`` of a method class: its config's ``name``, a one-value ``Literal``.
    A TypeError naming the class and the fix when it has none (the union needs the literal)."""
    config = getattr(cls, "config_class", None)
    if not (isinstance(config, type) and issubclass(config, MethodConfigBase)):
        raise TypeError(
            f"{getattr(cls, '__name__', cls)} needs config_class, a MethodConfigBase subclass "
            "(its config, beside it in its module)"
        )
    field = config.model_fields["name"]
    name = field.default
    literal = get_origin(field.annotation) is Literal and get_args(field.annotation) == (name,)
    if not isinstance(name, str) or not name or not literal:
        raise TypeError(
            f"{config.__name__} (config_class of {cls.__name__}) needs a literal name, "
            "e.g. name: Literal['x'] = 'x'"
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


def _union(classes: tuple[type[PretrainMethod], ...]) -> Any:
    """The tagged union of the classes' configs (``name`` picks the member)."""
    return Union[tuple(cls.config_class for cls in classes)]  # noqa: UP007


if TYPE_CHECKING:
    MethodConfig = MethodConfigBase
else:  # the tagged union pydantic validates ``method`` against
    MethodConfig = Annotated[_union(METHOD_CLASSES), Field(discriminator="name")]


def register_method(cls: type[PretrainMethod]) -> type[PretrainMethod]:
    """Add a method defined outside :data:`METHOD_CLASSES` (a plug-in, a test): its name joins
    :data:`METHODS` and its config the union of ``PretrainConfig.method``. A ValueError when the
    name is taken, a TypeError when the config has no literal name. Returns ``cls`` (a decorator
    too); :func:`unregister_method` takes it out again."""
    if not (isinstance(cls, type) and issubclass(cls, PretrainMethod)):
        raise TypeError(f"register_method takes a PretrainMethod subclass, got {cls!r}")
    name = method_name(cls)
    if name in METHODS:
        raise ValueError(
            f"method name {name!r} is taken by {METHODS[name].__module__}."
            f"{METHODS[name].__name__}; give {cls.__name__}'s config another name"
        )
    METHODS[name] = cls
    _rebuild_pretrain_config()
    return cls


def unregister_method(name: str) -> None:
    """Remove a method added by :func:`register_method` (the built-in ones stay)."""
    if name not in METHODS or METHODS[name] in METHOD_CLASSES:
        raise ValueError(f"{name!r} is not a method added by register_method")
    del METHODS[name]
    _rebuild_pretrain_config()


def _rebuild_pretrain_config() -> None:
    """``PretrainConfig.method`` validated (and exported as schema) against every method now in
    :data:`METHODS`."""
    from robustssl.methods.config import PretrainConfig  # it imports this module

    PretrainConfig.model_fields["method"].annotation = _union(tuple(METHODS.values()))
    PretrainConfig.model_rebuild(force=True)


def build_method(
    cfg: MethodConfigBase, encoder: nn.Module, num_classes: int | None
) -> PretrainMethod:
    """The method ``cfg.name`` around ``encoder``; a ValueError when it needs labels and the
    dataset has none."""
    cls = METHODS[cfg.name]
    if cls.needs_labels and not num_classes:
        raise ValueError(f"method {cfg.name!r} needs a labelled dataset (num_classes unknown)")
    return cls.build(encoder, cfg, num_classes)
