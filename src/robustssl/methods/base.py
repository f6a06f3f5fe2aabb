"""A pretraining method = views + encoder/heads + objective (+ an adversary, for the robust
methods). ARCHITECTURE.md "The one idea"; adding one: docs/adding_a_method.md."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from robustssl.data import ImageDataset
from robustssl.data.views import SimCLRViews
from robustssl.methods.common import MethodConfigBase
from robustssl.models import LinearClassifier, MLPClassifier, ProjectionHead


@dataclass
class MethodStep:
    """What one training step of a method returns.

    ``features`` are encoder features of one (augmented or clean) input with the batch's labels
    ``labels``, used by the online probe on ``features.detach()``.
    """

    loss: Tensor
    features: Tensor
    labels: Tensor
    logs: dict[str, Tensor] = field(default_factory=dict)


class PretrainMethod(nn.Module, ABC):
    """Holds the encoder and the method's heads; :meth:`step` computes the training loss.
    ``config_class`` is the method's config (its ``name`` tags the method); the registry
    (:mod:`robustssl.methods.registry`) lists the method classes."""

    needs_labels: ClassVar[bool] = False
    config_class: ClassVar[type[MethodConfigBase]]

    def __init__(self, encoder: nn.Module) -> None:
        super().__init__()
        self.encoder = encoder

    @classmethod
    def build(cls, encoder: nn.Module, cfg: Any, num_classes: int | None) -> PretrainMethod:
        """The method from its config; a method that needs the class count overrides this."""
        return cls(encoder, cfg)  # type: ignore[call-arg]

    @property
    def feature_dim(self) -> int:
        dim = self.encoder.feature_dim
        if not isinstance(dim, int):
            raise TypeError(f"encoder {type(self.encoder).__name__} has no int feature_dim")
        return dim

    def set_epoch(self, epoch: int, epochs: int) -> None:
        """Called at the start of every training epoch (0-indexed ``epoch`` of ``epochs``), also
        after a resume: a method with an epoch schedule (DynACL's views and loss weight) sets it
        here. Default: nothing."""

    @abstractmethod
    def step(self, x: Tensor, y: Tensor, generator: torch.Generator) -> MethodStep:
        """Loss on a batch x ∈ [0,1] (B, C, H, W) with labels y (−1 where unknown)."""

    @classmethod
    def check_ready(cls, cfg: Any, train: ImageDataset | None = None) -> None:
        """Called by ``pretrain()`` with the training set before the run directory is made:
        raise when an input the method needs (e.g. AdvCL's ClusterFit encoder run or pseudo-label
        file) is missing or does not fit ``train``. Default: nothing."""

    def prepare_data(self, train: ImageDataset, run_dir: Path) -> ImageDataset:
        """Called once by ``pretrain()`` before training: the data the loader draws from (AdvCL
        adds pseudo-label columns, cached in ``run_dir``). Default: ``train`` unchanged."""
        return train

    def export_encoder(self) -> nn.Module:
        """The encoder used downstream, saved as ``encoder.safetensors``: a plain Encoder (a
        multi-BN method returns one BN branch, e.g. ACL's adversarial one)."""
        return self.encoder


class ClassifierMethod(PretrainMethod):
    """A method with a classifier head over the dataset's classes (supervised training, SS-AT):
    built with the class count, which needs a labelled dataset."""

    needs_labels: ClassVar[bool] = True

    @classmethod
    def build(cls, encoder: nn.Module, cfg: Any, num_classes: int | None) -> PretrainMethod:
        return cls(encoder, cfg, int(num_classes or 0))  # type: ignore[call-arg]

    def classifier_head(self, num_classes: int, head: str, hidden_dim: int) -> nn.Module:
        """A linear head, or a 2-layer MLP of ``hidden_dim`` (``head: mlp``)."""
        if head == "linear":
            return LinearClassifier(self.feature_dim, num_classes)
        return MLPClassifier(self.feature_dim, num_classes, hidden_dim)


class ProjectedViewsMethod(PretrainMethod):
    """Joint-embedding methods: SimCLR views of each image → encoder → projection MLP."""

    def __init__(self, encoder: nn.Module, cfg: Any, last_bn: bool = False) -> None:
        super().__init__(encoder)
        self.cfg = cfg
        self.views = SimCLRViews(cfg.views)
        proj = cfg.projection
        self.projector = ProjectionHead(
            self.feature_dim,
            proj.hidden_dim,
            proj.out_dim,
            proj.num_layers,
            batch_norm=proj.batch_norm,
            last_bn=last_bn,
        )

    def embed_views(
        self, x: Tensor, n_views: int, generator: torch.Generator
    ) -> tuple[list[Tensor], Tensor]:
        """Projections of ``n_views`` views of x (one forward) and the first view's features."""
        views = self.views.views(x, n_views=n_views, generator=generator)
        features = self.encoder(torch.cat(views))
        return list(self.projector(features).chunk(n_views)), features[: x.shape[0]]
