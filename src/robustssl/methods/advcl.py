"""AdvCL: adversarial contrastive learning with robustness-aware views and pseudo-supervision
(seed 001 §4; reference facts in ../shared/REFERENCE_FACTS.md and issue 6).

Views (Table 4 sets via ``view_set``): τ₁(x), τ₂(x) strong SimCLR views of the image; the "original"
view x (the image, or its weak crop+flip as in the reference code) from which come the adversarial
view x+δ (eq. 7: δ maximises the multi-view NT-Xent of x+δ against the other views) and the
frequency views x_l, x_h (eq. 8; x_h is not clamped); ``adv_aug1/2`` are the eq. 6 alternatives
τᵢ(x)+δᵢ (all adversarial views of a set are perturbed jointly). Loss: the multi-view NT-Xent
over the set (eq. 9) + λ·the mean over K of the cross-entropy of head_K(f(x+δ_ce)) on the K-cluster
pseudo-labels (eq. 10, ensemble version), where δ_ce maximises that cross-entropy. With
``base_temperature`` set the contrastive term is multiplied by τ/base_temperature, the reference
SupConLoss's balance (τ/0.07 = 7.14 at τ = 0.5; losses.py of LijieFan/AdvCL). The attacks ascend the
two terms on separate inputs with sign steps, so the scale changes training, not the attacks.

BN sets as in the reference code: ``normal`` (clean views), ``pgd`` (contrastive adversarial
views; the branch used downstream, :meth:`AdvCL.export_encoder`) and ``pgd_ce`` (the pseudo-label
adversarial example); the projector has one BN. Each view is forwarded on its own (its own batch
statistics), as the reference does. The attacks run with BN in train mode (``adversary.bn_mode``;
running statistics are not updated by the attack here, while the reference's are).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Literal

import torch
import torch.nn.functional as F
from pydantic import Field, field_validator
from torch import Tensor, nn

from robustssl.attacks.adversary import PretrainAdversaryConfig
from robustssl.data import ImageDataset
from robustssl.data.views import (
    SimCLRViewConfig,
    SimCLRViews,
    frequency_split,
)
from robustssl.data.views.translate import random_translate_flip
from robustssl.methods.adversary import perturb
from robustssl.methods.base import MethodStep, PretrainMethod
from robustssl.methods.clusterfit import ClusterFitConfig, check_source, pseudo_labels
from robustssl.methods.common import MethodConfigBase, ProjectionConfig
from robustssl.methods.contrastive_adversary import as_attacked, sample_losses
from robustssl.methods.distributed import gather_with_grad
from robustssl.methods.pseudo_labelled import PseudoLabelledDataset
from robustssl.models import (
    LinearClassifier,
    ProjectionHead,
    bn_branch,
    convert_to_multi_bn,
    extract_bn_branch,
    set_bn_branch,
)
from robustssl.objectives import multiview_ntxent_loss
from robustssl.utils.config import StrictConfig

AdvCLView = Literal["aug1", "aug2", "adv", "adv_aug1", "adv_aug2", "lfc", "hfc"]


ADVCL_ADVERSARIAL_VIEWS: tuple[str, ...] = ("adv", "adv_aug1", "adv_aug2")
ADVCL_DEFAULT_VIEWS: tuple[AdvCLView, ...] = ("adv", "aug1", "aug2", "hfc")  # Table 4, last row


class OriginalViewConfig(StrictConfig):
    """AdvCL's "original" view x, from which x+δ and the frequency views are built: the image
    itself (``identity``) or its weak crop+flip (``crop_flip``: RandomCrop with ``padding`` +
    flip, the reference code's ``train_transform_org``)."""

    kind: Literal["identity", "crop_flip"] = "identity"
    padding: int = Field(4, ge=0)
    hflip_p: float = Field(0.5, ge=0, le=1)


class AdvCLConfig(MethodConfigBase):
    """AdvCL (seed 001 §4): ``view_set`` from Table 4 (``adv`` = x+δ of the original view maximising
    the contrastive loss over the other views, eq. 7; ``adv_aug1/2`` = τᵢ(x)+δᵢ, eq. 6;
    ``lfc``/``hfc`` = frequency components of x, eq. 8), the multi-view loss (eq. 9) and the
    optional ClusterFit regulariser (eq. 10). ``views`` configures τ₁, τ₂ (SimCLR views, as in the
    other methods). BN sets normal / pgd (/ pgd_ce)."""

    name: Literal["advcl"] = "advcl"
    temperature: float = Field(0.5, gt=0)
    view_set: list[AdvCLView] = Field(default_factory=lambda: list(ADVCL_DEFAULT_VIEWS))
    radius: float = Field(8.0, ge=0)  # eq. 8: r = 8 on 32×32 images
    radius_inclusive: bool = False  # the reference code's strict d < r (the paper writes d ≤ r)
    original: OriginalViewConfig = OriginalViewConfig()
    views: SimCLRViewConfig = SimCLRViewConfig(crop_scale=(0.2, 1.0))  # τ₁, τ₂
    projection: ProjectionConfig = ProjectionConfig(hidden_dim=512, out_dim=128, num_layers=2)
    adversary: PretrainAdversaryConfig = Field(
        default_factory=lambda: PretrainAdversaryConfig(
            norm="Linf", eps=8 / 255, steps=5, step_size=2 / 255, bn_mode="train"
        )
    )
    clusterfit: ClusterFitConfig | None = None
    # The reference's SupConLoss(temperature=τ) keeps base_temperature = 0.07, so its contrastive
    # term is τ/0.07 (7.14 at τ = 0.5) × eq. 9 while λ stays 0.2 (REFERENCE_FACTS.md). A number
    # here multiplies the contrastive term by temperature/base_temperature (0.07 = the reference's
    # balance); None = no scale (eq. 9 as the paper writes it).
    base_temperature: float | None = Field(None, gt=0)

    @property
    def contrastive_scale(self) -> float:
        """τ/base_temperature, or 1 without a base temperature."""
        if self.base_temperature is None:
            return 1.0
        return self.temperature / self.base_temperature

    @field_validator("view_set")
    @classmethod
    def _view_set(cls, views: list[str]) -> list[str]:
        if len(set(views)) != len(views) or len(views) < 2:
            raise ValueError(f"view_set={views} must name at least 2 distinct views")
        if not any(v in ADVCL_ADVERSARIAL_VIEWS for v in views):
            raise ValueError(
                f"view_set={views} has no adversarial view; add one of "
                f"{list(ADVCL_ADVERSARIAL_VIEWS)} (without one this is multi-view SimCLR: use "
                "method.name=simclr)"
            )
        return views


NORMAL, PGD, PGD_CE = "normal", "pgd", "pgd_ce"
_SOURCE = {"adv": "original", "adv_aug1": "aug1", "adv_aug2": "aug2"}


class AdvCL(PretrainMethod):
    config_class = AdvCLConfig

    cfg: AdvCLConfig

    def __init__(self, encoder: nn.Module, cfg: AdvCLConfig) -> None:
        super().__init__(encoder)
        self.cfg = cfg
        self.augment = SimCLRViews(cfg.views)
        p = cfg.projection
        self.projector = ProjectionHead(
            self.feature_dim, p.hidden_dim, p.out_dim, p.num_layers, batch_norm=p.batch_norm
        )
        ks = cfg.clusterfit.ks if cfg.clusterfit is not None else []
        self.heads = nn.ModuleList(LinearClassifier(self.feature_dim, k) for k in ks)
        convert_to_multi_bn(self.encoder, (NORMAL, PGD, PGD_CE) if ks else (NORMAL, PGD))
        set_bn_branch(self.encoder, PGD)  # outside a step (monitor, probe): the downstream branch
        self.adversarial = [v for v in cfg.view_set if v in ADVCL_ADVERSARIAL_VIEWS]
        self.clean = [v for v in cfg.view_set if v not in ADVCL_ADVERSARIAL_VIEWS]

    # --- views -----------------------------------------------------------------------------
    def original(self, x: Tensor, generator: torch.Generator) -> Tensor:
        o = self.cfg.original
        if o.kind == "identity":
            return x
        return random_translate_flip(x, o.padding, o.hflip_p, generator)

    def make_views(self, x: Tensor, generator: torch.Generator) -> dict[str, Tensor]:
        """Every unperturbed image the view set needs: ``original``, ``aug1``, ``aug2``,
        ``lfc``, ``hfc`` (only those used)."""
        names = set(self.cfg.view_set)
        out = {"original": self.original(x, generator)}
        if names & {"aug1", "aug2", "adv_aug1", "adv_aug2"}:
            out["aug1"], out["aug2"] = self.augment.views(x, n_views=2, generator=generator)
        if names & {"lfc", "hfc"}:
            out["lfc"], out["hfc"] = frequency_split(
                out["original"], self.cfg.radius, self.cfg.radius_inclusive
            )
        return out

    def adversarial_sources(self, views: dict[str, Tensor]) -> Tensor:
        """The images the adversarial views perturb, concatenated in view-set order."""
        return torch.cat([views[_SOURCE[v]] for v in self.adversarial])

    # --- forward pieces --------------------------------------------------------------------
    def embed(self, x: Tensor, branch: str) -> tuple[Tensor, Tensor]:
        """(projection, encoder features) of x through BN set ``branch``."""
        with bn_branch(self.encoder, branch):
            h = self.encoder(x)
        return self.projector(h), h

    def pseudo_logits(self, x: Tensor) -> list[Tensor]:
        with bn_branch(self.encoder, PGD_CE):
            h = self.encoder(x)
        return [head(h) for head in self.heads]

    def pseudo_label_loss(self, x: Tensor, labels: Tensor, reduction: str = "mean") -> Tensor:
        """Cross-entropy on the pseudo-labels averaged over the K heads (eq. 10 ensemble)."""
        losses = [
            F.cross_entropy(logits, labels[:, i], reduction=reduction)
            for i, logits in enumerate(self.pseudo_logits(x))
        ]
        return torch.stack(losses).mean(0)

    # --- the two adversaries ---------------------------------------------------------------
    def contrastive_objective(self, views: dict[str, Tensor]) -> Callable[[Tensor], Tensor]:
        """Closure over the concatenated adversarial views: per-sample multi-view NT-Xent against
        the clean views of the set (embedded once, as the attack sees them)."""
        with as_attacked(self, self.cfg.adversary):
            clean = [self.embed(views[v], NORMAL)[0] for v in self.clean]
        n_adv = len(self.adversarial)

        def loss(x_adv: Tensor) -> Tensor:
            z_adv = [self.embed(part, PGD)[0] for part in x_adv.chunk(n_adv)]
            return sample_losses([*z_adv, *clean], self.cfg.temperature).repeat(n_adv)

        return loss

    def pseudo_label_objective(self, labels: Tensor) -> Callable[[Tensor], Tensor]:
        return lambda x_adv: self.pseudo_label_loss(x_adv, labels, reduction="none")

    # --- training --------------------------------------------------------------------------
    def contrastive_loss(self, z: list[Tensor]) -> tuple[Tensor, Tensor]:
        """(training term, eq. 9 value) of the view set's projections ``z`` (gathered across
        processes): the m-view NT-Xent and that times the balance scale τ/base_temperature."""
        eq9 = multiview_ntxent_loss([gather_with_grad(v) for v in z], self.cfg.temperature)
        return self.cfg.contrastive_scale * eq9, eq9

    def split_labels(self, y: Tensor) -> tuple[Tensor, Tensor | None]:
        """(dataset labels, pseudo-labels (B, n_K) or None) from the batch's label columns."""
        if not len(self.heads):
            return (y[:, 0] if y.ndim == 2 else y), None
        if y.ndim != 2 or y.shape[1] != 1 + len(self.heads):
            raise ValueError(
                f"AdvCL with clusterfit needs label columns (B, {1 + len(self.heads)}) = (label, "
                f"pseudo-labels per K), got {tuple(y.shape)}; train it with pretrain(), which "
                "wraps the data through AdvCL.prepare_data"
            )
        return y[:, 0], y[:, 1:]

    def step(self, x: Tensor, y: Tensor, generator: torch.Generator) -> MethodStep:
        labels, pseudo = self.split_labels(y)
        views = self.make_views(x, generator)
        adv_cfg = self.cfg.adversary
        objective = self.contrastive_objective(views)
        x_adv = perturb(objective, self.adversarial_sources(views), adv_cfg, self, generator)
        adv_parts = [self.embed(part, PGD) for part in x_adv.chunk(len(self.adversarial))]
        z = [z for z, _ in adv_parts] + [self.embed(views[v], NORMAL)[0] for v in self.clean]
        loss, contrastive = self.contrastive_loss(z)
        logs = {"loss_contrastive": contrastive.detach()}  # eq. 9, before the balance scale
        if pseudo is not None:
            ce_objective = self.pseudo_label_objective(pseudo)
            x_ce = perturb(ce_objective, views["original"], adv_cfg, self, generator)
            ce = self.pseudo_label_loss(x_ce, pseudo)
            loss = loss + self.cfg.clusterfit.weight * ce  # type: ignore[union-attr]
            logs["loss_pseudo"] = ce.detach()
        return MethodStep(loss, adv_parts[0][1], labels, logs)

    @classmethod
    def check_ready(cls, cfg: AdvCLConfig, train: ImageDataset | None = None) -> None:
        """The ClusterFit encoder run must load strictly, or the external pseudo-labels read and
        fit the training set, before anything is written."""
        if cfg.clusterfit is not None:
            check_source(cfg.clusterfit, len(train) if train is not None else None)

    def prepare_data(self, train: ImageDataset, run_dir: Path) -> ImageDataset:
        """With ClusterFit: the training set with its pseudo-labels as extra label columns
        (computed once, cached in ``run_dir``)."""
        if self.cfg.clusterfit is None:
            return train
        return PseudoLabelledDataset(train, pseudo_labels(self.cfg.clusterfit, train, run_dir))

    def export_encoder(self) -> nn.Module:
        """The encoder used downstream: the ``pgd`` BN set as a plain Encoder."""
        return extract_bn_branch(self.encoder, PGD)
