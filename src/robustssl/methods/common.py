"""Config pieces every pretraining method shares: the base of a method's config and the
projection head's section. Each method's own config lives beside the method (its module), and
:mod:`robustssl.methods.registry` registers the two together."""

from __future__ import annotations

from pydantic import Field

from robustssl.data.views import SimCLRViewConfig
from robustssl.utils.config import StrictConfig


class MethodConfigBase(StrictConfig):
    """The ``method`` section of a pretraining config: ``name`` (a literal in each subclass) tags
    the method; the registry builds the tagged union of every registered method's config."""

    name: str


class ProjectionConfig(StrictConfig):
    hidden_dim: int = Field(512, gt=0)
    out_dim: int = Field(128, gt=0)
    num_layers: int = Field(2, ge=1)
    batch_norm: bool = True


def supervised_views() -> SimCLRViewConfig:
    """Crop + flip only: the usual supervised augmentation, expressed in the SimCLR view config.
    ``views: {family: robustness}`` is the robustness library's (seed 003's) augmentation."""
    return SimCLRViewConfig(crop_scale=(0.5, 1.0), jitter_p=0.0, grayscale_p=0.0)
