"""DeACL's stage-2 student loss (Zhang et al., ECCV 2022, "Decoupled Adversarial Contrastive
Learning for Self-supervised Adversarial Robustness"): distil a frozen, non-robust SSL teacher t
into an adversarially trained student s,

    L = −(1/B) Σᵢ cos(s(xᵢ), t(xᵢ)) − γ · (1/B) Σᵢ cos(s(x′ᵢ), s(xᵢ)),

with x′ the PGD maximiser of −cos(s(x′), t(x)) (:func:`deacl_attack_loss`: the attack pushes the
student's features away from the teacher's clean ones).

Reference code pantheon5100/DeACL ``solo/methods/mocov2_distillation_AT.py``: the loss L233–235
(gradients flow through s(x) in both terms; the teacher output is not updated, it is no optimiser
parameter and receives no EMA update, L1115–1127 of ``base_for_adversarial_training.py``); the
attack L287–326 (uniform start in [−ε, ε], not clamped into the image box before the first step;
5 steps of 2/255 at ε = 8/255, signed gradient of the summed −cos; projection onto the ε-ball and
[0,1]; the student in eval mode during the attack, the teacher in eval mode throughout, L202);
defaults ``--epsilon 8 --step_size 2 --num_steps 5`` (L133–135) and γ = ``--trades_k 2`` (L138 and
``bash_files/DeACL_cifar10_resnet18.sh``; the constructor's default 3 is never used). The
features are the backbones' pooled outputs (``--projector_ablation remove``: the projector is the
identity, L85–86); the inputs are the "weak" view RandomCrop(32, padding 4) + flip
(``solo/utils/pretrain_dataloader_AdvTraining.py`` L126–129); clean and adversarial batches go
through the student in one forward (train-mode BN over both, L227–228). The student starts as a
copy of the teacher unless ``--student_scratch`` (``base_for_adversarial_training.py`` L940–944).
Stage 2 trains 100 epochs, SGD lr 0.5, warmup-cosine, weight decay 5e-4, batch 256 (the bash file);
the online linear classifier it adds to the loss sees detached features (a label-using monitor
that does not train the encoder, ``base_for_adversarial_training.py`` L423).
"""

from __future__ import annotations

import math

import torch.nn.functional as F
from torch import Tensor

DEACL_WEIGHT = 2.0  # γ, ``--trades_k 2`` in the reference (module docstring)


def _check_features(**tensors: Tensor) -> None:
    shapes = {name: tuple(t.shape) for name, t in tensors.items()}
    first = next(iter(shapes.values()))
    if len(first) != 2 or any(s != first for s in shapes.values()):
        raise ValueError(f"features must be (B, D) tensors of one shape, got {shapes}")


def deacl_loss(
    student_clean: Tensor,
    student_adv: Tensor,
    teacher_clean: Tensor,
    weight: float = DEACL_WEIGHT,
) -> Tensor:
    """−mean cos(s(x), t(x)) − ``weight``·mean cos(s(x′), s(x)); the teacher's features are
    detached (the teacher is frozen), the student's clean features get gradients from both
    terms as in the reference."""
    _check_features(
        student_clean=student_clean, student_adv=student_adv, teacher_clean=teacher_clean
    )
    if not math.isfinite(weight) or weight < 0:
        raise ValueError(f"weight (γ) must be a finite number ≥ 0, got {weight}")
    clean = F.cosine_similarity(student_clean, teacher_clean.detach(), dim=1).mean()
    adversarial = F.cosine_similarity(student_adv, student_clean, dim=1).mean()
    return -clean - weight * adversarial


def deacl_attack_loss(student_adv: Tensor, teacher_clean: Tensor) -> Tensor:
    """Per-sample (B,) −cos(s(x′), t(x)): what DeACL's PGD ascends on the student."""
    _check_features(student_adv=student_adv, teacher_clean=teacher_clean)
    return -F.cosine_similarity(student_adv, teacher_clean.detach(), dim=1)
