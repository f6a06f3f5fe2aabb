"""AP-DPE: adversarial pretraining on an ensemble of pretext tasks with a diversity-promoting
penalty (Chen et al., "Adversarial Robustness: From Self-Supervised Pre-Training to Fine-Tuning",
CVPR 2020, §3.3; seed 001 Table 1's AP-DPE row; public code VITA-Group/Adv-SS-Pretraining
``pretraining/ensemble_pretrain.py`` and ``attack_algo_ensemble.py``).

A composition of our pieces: views (crop + flip) → one transformed batch per pretext task
(rotation, jigsaw) → one encoder and one head per task → the adversary perturbs every task's batch
(PGD on Σₜ ℓₜ(xₜ + δₜ) + λ·s·d, the tasks' losses per sample, in one joint attack as the
reference's ``PGD_attack_3module``) → the objective

    L = mean over tasks (and over clean / adversarial inputs) of ℓₜ + λ·s·mean_b d_b(x + δ),

where d_b is the log-det of the tasks' normalised input gradients of sample b
(:func:`robustssl.objectives.gradient_logdet`), trained through by double backprop, λ = 0.1 and
s = −1 (``penalty: diversity``) or +1 (``reference_code``: the public code adds +0.1·d, which
favours aligned gradients; see docs/fidelity.md). Each task's batch is its own forward (its own BN
batch statistics) as in the reference; the attack runs with BN in train mode (``bn_mode: train``;
the reference's running statistics are updated by its attack, ours are not).

Not built: the Selfie task (a transformer over patch features; the reference's third task).
Differences by design: one encoder with a head per task (the reference gives each task its own
ResNet ``layer4``); uniform random rotation / permutation labels (the reference balances the
rotation labels per batch and shows the unscrambled jigsaw image 10 % + 1/31 of the time).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import torch
from pydantic import Field, field_validator
from torch import Tensor, nn

from robustssl.attacks.adversary import PretrainAdversaryConfig
from robustssl.data.views import (
    JigsawPuzzle,
    RobustnessViewConfig,
    ViewConfig,
    build_views,
    random_rotation,
)
from robustssl.data.views.rotation import NUM_ROTATIONS
from robustssl.methods.adversary import perturb
from robustssl.methods.base import MethodStep, PretrainMethod
from robustssl.methods.common import MethodConfigBase
from robustssl.models import PretextHead
from robustssl.objectives import cross_entropy_loss, gradient_logdet

PretextTask = Literal["rotation", "jigsaw"]
DEFAULT_TASKS: tuple[PretextTask, ...] = ("rotation", "jigsaw")


def _ap_dpe_adversary() -> PretrainAdversaryConfig:
    """Adv-SS-Pretraining's ensemble_pretrain.py: L∞ ε = 8/255, 10 steps of 2/255 from a uniform
    random start, the model left in train mode (its PGD_attack_3module switches no mode)."""
    return PretrainAdversaryConfig(
        norm="Linf", eps=8 / 255, steps=10, step_size=2 / 255, bn_mode="train"
    )


def _crop_flip() -> RobustnessViewConfig:
    """RandomCrop(pad 4) + flip (the reference's train transform): the robustness-library view
    family with its colour jitter and rotation off."""
    return RobustnessViewConfig(
        family="robustness", brightness=0.0, contrast=0.0, saturation=0.0, degrees=0.0
    )


class APDPEConfig(MethodConfigBase):
    """AP-DPE (Chen et al., CVPR 2020; seed 001 Table 1's first row): adversarial pretraining on
    an ensemble of pretext ``tasks`` with the gradient-diversity term d (the log-det of the tasks'
    normalised input gradients; robustssl.objectives.diversity). Each task's transformed batch is
    perturbed (jointly) by PGD on Σₜ ℓₜ (+ λ·s·d with ``attack_penalty``); training minimises the
    mean of the clean (``clean_loss``) and adversarial task losses + λ·s·d at the adversarial
    inputs, λ = ``penalty_weight``. ``penalty: diversity`` is s = −1, so training spreads the
    tasks' gradients apart (the diversity the paper promotes); ``reference_code`` is s = +1, the
    sign the public ensemble_pretrain.py adds. The jigsaw defaults are ours (2×2, all 24
    permutations); the reference's CIFAR-10 puzzle is 4×4 with 30 random permutations + identity."""

    name: Literal["ap_dpe"] = "ap_dpe"
    tasks: list[PretextTask] = Field(default_factory=lambda: list(DEFAULT_TASKS))
    jigsaw_grid: int = Field(2, ge=2)
    jigsaw_permutations: int = Field(24, ge=2)
    jigsaw_seed: int = 0
    head_hidden_dim: int | None = None
    penalty_weight: float = Field(0.1, ge=0)
    penalty: Literal["diversity", "reference_code"] = "diversity"
    jitter: float = Field(1e-5, gt=0)
    attack_penalty: bool = True
    clean_loss: bool = True
    adversary: PretrainAdversaryConfig = Field(default_factory=_ap_dpe_adversary)
    views: ViewConfig | None = Field(default_factory=_crop_flip)

    @field_validator("tasks")
    @classmethod
    def _ensemble(cls, tasks: list[str]) -> list[str]:
        if len(tasks) < 2 or len(set(tasks)) != len(tasks):
            raise ValueError(
                f"tasks={tasks} must name at least 2 distinct pretext tasks, e.g. "
                "[rotation, jigsaw] (one task is adversarial rotation / jigsaw pretraining)"
            )
        return tasks

    @property
    def penalty_sign(self) -> float:
        return -1.0 if self.penalty == "diversity" else 1.0


class APDPE(PretrainMethod):
    config_class = APDPEConfig

    cfg: APDPEConfig

    def __init__(self, encoder: nn.Module, cfg: APDPEConfig) -> None:
        super().__init__(encoder)
        self.cfg = cfg
        self.views = build_views(cfg.views) if cfg.views is not None else None
        self.puzzle = JigsawPuzzle(cfg.jigsaw_grid, cfg.jigsaw_permutations, cfg.jigsaw_seed)
        classes = {"rotation": NUM_ROTATIONS, "jigsaw": self.puzzle.num_classes}
        self.heads = nn.ModuleDict(
            {t: PretextHead(self.feature_dim, classes[t], cfg.head_hidden_dim) for t in cfg.tasks}
        )

    def transform(self, task: str, x: Tensor, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        """(x_t, y_t) of one pretext task; row b of x_t is sample b."""
        if task == "rotation":
            return random_rotation(x, generator=generator)
        return self.puzzle(x, generator=generator)

    def task_losses(self, parts: list[Tensor], labels: list[Tensor]) -> tuple[list[Tensor], Tensor]:
        """Per-sample cross-entropy (B,) of each task's head at its own input (own forward), and
        the first task's encoder features."""
        losses, first = [], None
        for t, x, y in zip(self.cfg.tasks, parts, labels, strict=True):
            features = self.encoder(x)
            first = features if first is None else first
            losses.append(cross_entropy_loss(self.heads[t](features), y, reduction="none"))
        assert first is not None
        return losses, first

    def diversity(self, losses: list[Tensor], inputs: Tensor, create_graph: bool) -> Tensor:
        """(B,) d_b: log-det of the normalised input gradients ∇ₓₜ Σ_b ℓₜ (the reference takes
        them of the batch-mean loss; the normalisation removes the scale)."""
        total = torch.stack(losses).sum()
        (grad,) = torch.autograd.grad(total, inputs, create_graph=create_graph)
        return gradient_logdet(grad.chunk(len(losses)), self.cfg.jitter)

    def objective(self, labels: list[Tensor]) -> Callable[[Tensor], Tensor]:
        """The attack's loss over the concatenated task batches: per row (T·B,), Σₜ ℓₜ + λ·s·d of
        its sample divided by T, so the rows sum to the reference's objective."""
        n_tasks, cfg = len(self.cfg.tasks), self.cfg
        weight = cfg.penalty_weight * cfg.penalty_sign if cfg.attack_penalty else 0.0

        def loss(inputs: Tensor) -> Tensor:
            with torch.enable_grad():  # the last evaluation of PGD runs without gradients
                x = inputs if inputs.requires_grad else inputs.detach().requires_grad_(True)
                losses, _ = self.task_losses(list(x.chunk(n_tasks)), labels)
                value = torch.stack(losses).sum(0)
                if weight:
                    value = value + weight * self.diversity(losses, x, inputs.requires_grad)
            out = (value / n_tasks).repeat(n_tasks)
            return out if inputs.requires_grad else out.detach()

        return loss

    def step(self, x: Tensor, y: Tensor, generator: torch.Generator) -> MethodStep:
        cfg = self.cfg
        if self.views is not None:
            x = self.views(x, generator=generator)
        pairs = [self.transform(t, x, generator) for t in cfg.tasks]
        clean, labels = [p[0] for p in pairs], [p[1] for p in pairs]
        x_adv = perturb(self.objective(labels), torch.cat(clean), cfg.adversary, self, generator)
        x_adv.requires_grad_(True)
        adv_losses, features = self.task_losses(list(x_adv.chunk(len(cfg.tasks))), labels)
        d = self.diversity(adv_losses, x_adv, create_graph=True).mean()
        terms = [loss.mean() for loss in adv_losses]
        logs = {f"{t}_adv_loss": v.detach() for t, v in zip(cfg.tasks, terms, strict=True)}
        if cfg.clean_loss:
            clean_losses, features = self.task_losses(clean, labels)
            terms += [loss.mean() for loss in clean_losses]
        loss = torch.stack(terms).mean() + cfg.penalty_weight * cfg.penalty_sign * d
        logs["diversity_logdet"] = d.detach()
        keep = labels[0] == 0  # the probe sees unrotated / unscrambled images only
        return MethodStep(loss, features[keep], y[keep], logs)
