"""DeACL (Zhang et al., ECCV 2022, "Decoupled Adversarial Contrastive Learning for Self-supervised
Adversarial Robustness"): stage 2 of a two-stage recipe. Stage 1 is any of our SSL methods (the
teacher, a finished pretraining run); here a student encoder is trained adversarially to match the
frozen teacher's features:

    L = −mean cos(s(x), t(x)) − γ·mean cos(s(x′), s(x)),

x the weak view (random crop with padding + flip), x′ the PGD maximiser of −cos(s(x′), t(x)) on
the student (:mod:`robustssl.objectives.deacl`, whose docstring has the reference code's lines).

Reference code pantheon5100/DeACL (``solo/methods/mocov2_distillation_AT.py``,
``base_for_adversarial_training.py``, ``bash_files/DeACL_cifar10_resnet18.sh``): γ = 2
(``--trades_k``); PGD-5 at 8/255, step 2/255, student in eval mode during the attack; features =
the backbones' pooled outputs (no projector); the student starts as a copy of the teacher
(``student_init: random`` = ``--student_scratch``); the teacher in eval mode, without gradients,
never in the optimiser; clean and adversarial inputs through the student in one forward; 100
epochs of SGD lr 0.5, batch 256. The teacher is ``method.teacher``: a run directory, or
``"@pretrain:<entry>"`` in a study file.
"""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import Field, model_validator
from torch import Tensor, nn

from robustssl.attacks.adversary import PretrainAdversaryConfig
from robustssl.data import ImageDataset
from robustssl.data.views.translate import random_translate_flip
from robustssl.methods.advcl import OriginalViewConfig
from robustssl.methods.adversary import perturb
from robustssl.methods.base import MethodStep, PretrainMethod
from robustssl.methods.common import MethodConfigBase
from robustssl.methods.init_from import load_run_encoder
from robustssl.models import load_state_strict
from robustssl.objectives.deacl import DEACL_WEIGHT, deacl_attack_loss, deacl_loss

TEACHER_KEY = "method.teacher"


def _deacl_adversary() -> PretrainAdversaryConfig:
    """DeACL's attack: L∞ 8/255, 5 steps of 2/255, random start, student in eval mode."""
    return PretrainAdversaryConfig(
        norm="Linf", eps=8 / 255, steps=5, step_size=2 / 255, bn_mode="eval"
    )


class DeACLConfig(MethodConfigBase):
    """DeACL stage 2: ``teacher`` (a finished pretraining run directory, or ``"@pretrain:<entry>"``
    in a study file), the student's start (``student_init``: a copy of the teacher, the
    reference, or ``random``), γ = ``weight``, the weak ``views`` (crop with padding + flip) and
    the ``adversary`` on the student."""

    name: Literal["deacl"] = "deacl"
    teacher: str | None = Field(None, min_length=1)
    student_init: Literal["teacher", "random"] = "teacher"
    weight: float = Field(DEACL_WEIGHT, ge=0, allow_inf_nan=False)
    views: OriginalViewConfig = OriginalViewConfig(kind="crop_flip")
    adversary: PretrainAdversaryConfig = Field(default_factory=_deacl_adversary)

    @model_validator(mode="after")
    def _needs_teacher(self) -> DeACLConfig:
        if self.teacher is None:
            raise ValueError(
                "deacl needs a teacher: set method.teacher to the run directory of a finished "
                "SSL pretraining run (stage 1, e.g. method.teacher=runs/simclr_fashion_mnist), "
                "or to '@pretrain:<entry>' in a study file"
            )
        return self


class DeACL(PretrainMethod):
    """A student encoder distilled adversarially from a frozen teacher encoder."""

    config_class = DeACLConfig

    cfg: DeACLConfig

    def __init__(self, encoder: nn.Module, cfg: DeACLConfig) -> None:
        super().__init__(encoder)
        self.cfg = cfg
        assert cfg.teacher is not None  # DeACLConfig._needs_teacher
        teacher = load_run_encoder(cfg.teacher, TEACHER_KEY)
        if teacher.feature_dim != self.feature_dim:
            raise ValueError(
                f"{TEACHER_KEY}={cfg.teacher!r} gives {teacher.feature_dim}-d features but the "
                f"student (model.backbone) {self.feature_dim}-d; the cosine terms need one "
                "dimension: use the teacher's backbone"
            )
        if cfg.student_init == "teacher":
            try:
                load_state_strict(self.encoder, teacher.state_dict(), cfg.teacher)
            except (RuntimeError, ValueError) as err:
                raise ValueError(
                    f"method.student_init=teacher copies the teacher into the student, but "
                    f"their architectures differ ({err}); use the teacher's model.backbone and "
                    "backbone_kwargs, or method.student_init=random"
                ) from None
        for p in teacher.parameters():
            p.requires_grad_(False)
        self.teacher = teacher.eval()

    def train(self, mode: bool = True) -> DeACL:
        """The student follows ``mode``; the teacher stays in eval mode."""
        super().train(mode)
        self.teacher.eval()
        return self

    @classmethod
    def check_ready(cls, cfg: DeACLConfig, train: ImageDataset | None = None) -> None:
        """The teacher run loads strictly and takes the training data's channels."""
        assert cfg.teacher is not None
        teacher = load_run_encoder(cfg.teacher, TEACHER_KEY)
        if train is not None and teacher.in_channels != train.image_shape[0]:
            raise ValueError(
                f"{TEACHER_KEY}={cfg.teacher!r} takes {teacher.in_channels}-channel images but "
                f"the training data has {train.image_shape[0]}; use a teacher pretrained on "
                "this dataset"
            )

    def weak_view(self, x: Tensor, generator: torch.Generator) -> Tensor:
        v = self.cfg.views
        if v.kind == "identity":
            return x
        return random_translate_flip(x, v.padding, v.hflip_p, generator)

    @torch.no_grad()
    def teacher_features(self, x: Tensor) -> Tensor:
        return self.teacher(x)

    def step(self, x: Tensor, y: Tensor, generator: torch.Generator) -> MethodStep:
        view = self.weak_view(x, generator)
        target = self.teacher_features(view)
        x_adv = perturb(
            lambda xa: deacl_attack_loss(self.encoder(xa), target),
            view,
            self.cfg.adversary,
            self,
            generator,
        )
        # clean and adversarial inputs through the student in one forward, as the reference
        clean, adv = self.encoder(torch.cat([view, x_adv])).chunk(2)
        loss = deacl_loss(clean, adv, target, self.cfg.weight)
        with torch.no_grad():
            cos = torch.nn.functional.cosine_similarity
            logs = {"cos_teacher": cos(clean, target).mean(), "cos_adv": cos(adv, clean).mean()}
        return MethodStep(loss, clean, y, logs)
