"""Per-sample attack objectives: closures ``x_adv -> loss (B,)`` (or ``(loss, success)``) that an
attack maximises, bound to per-sample tensors (labels, targets) so the attack can restrict them to
the samples it is still working on.

Classifier losses follow the official AutoAttack code (REFERENCE_FACTS.md): cross-entropy, DLR
(Croce & Hein 2020) and targeted DLR. Any differentiable per-sample loss works, e.g. a contrastive
or pretext loss, or a weighted sum as in seed 003 Algorithm 1 lines 6–8.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch.nn.functional as F
from torch import Tensor, nn

ObjectiveValue = Tensor | tuple[Tensor, Tensor]


@dataclass(frozen=True)
class SampleObjective:
    """``fn(x_adv, *per_sample) -> loss (B,)`` or ``(loss (B,), success (B,) bool)``.

    ``per_sample`` tensors share the batch's first dimension; ``subset(idx)`` restricts them.
    """

    fn: Callable[..., ObjectiveValue]
    per_sample: tuple[Tensor, ...] = ()

    def __call__(self, x_adv: Tensor) -> ObjectiveValue:
        return self.fn(x_adv, *self.per_sample)

    def subset(self, idx: Tensor) -> SampleObjective:
        return SampleObjective(self.fn, tuple(t[idx] for t in self.per_sample))


def split_value(value: ObjectiveValue) -> tuple[Tensor, Tensor | None]:
    """(loss, success or None) from an objective's return value, with shape checks."""
    loss, success = value if isinstance(value, tuple) else (value, None)
    if loss.dim() != 1:
        raise ValueError(
            f"an attack objective must return one loss per sample (shape (B,)), got shape "
            f"{tuple(loss.shape)}; use reduction='none'"
        )
    return loss, success


def dlr_loss(logits: Tensor, y: Tensor) -> Tensor:
    """−(z_y − max_{i≠y} z_i) / (z_π1 − z_π3 + 1e-12) (Croce & Hein 2020; needs ≥ 3 classes)."""
    top = logits.sort(dim=1, descending=True).values
    z_y = logits.gather(1, y[:, None])[:, 0]
    other = logits.scatter(1, y[:, None], float("-inf")).amax(1)
    return -(z_y - other) / (top[:, 0] - top[:, 2] + 1e-12)


def dlr_targeted_loss(logits: Tensor, y: Tensor, target: Tensor) -> Tensor:
    """−(z_y − z_t) / (z_π1 − ½(z_π3 + z_π4) + 1e-12) (Croce & Hein 2020; needs ≥ 4 classes)."""
    top = logits.sort(dim=1, descending=True).values
    z_y = logits.gather(1, y[:, None])[:, 0]
    z_t = logits.gather(1, target[:, None])[:, 0]
    return -(z_y - z_t) / (top[:, 0] - 0.5 * (top[:, 2] + top[:, 3]) + 1e-12)


def margin_loss(logits: Tensor, y: Tensor) -> Tensor:
    """max_{i≠y} z_i − z_y: positive exactly when the sample is misclassified."""
    z_y = logits.gather(1, y[:, None])[:, 0]
    return logits.scatter(1, y[:, None], float("-inf")).amax(1) - z_y


def misclassified(logits: Tensor, y: Tensor) -> Tensor:
    return logits.argmax(1) != y


def classifier_objective(
    model: nn.Module, loss: str, y: Tensor, target: Tensor | None = None
) -> SampleObjective:
    """The objective for a logits model: ``loss`` in "ce", "dlr", "margin" (untargeted: success is
    misclassification) or, with ``target``, "ce" (−CE to the target class; success is reaching it)
    and "dlr" (targeted DLR; success is misclassification, as in AutoAttack's APGD-T)."""
    if target is None:
        fns = {"ce": _ce, "dlr": _dlr, "margin": _margin}
        if loss not in fns:
            raise ValueError(f"loss must be one of {', '.join(fns)}, got {loss!r}")
        return SampleObjective(_ModelBound(model, fns[loss]), (y,))
    fns_t = {"ce": _ce_targeted, "dlr": _dlr_targeted}
    if loss not in fns_t:
        raise ValueError(f"a targeted loss must be one of {', '.join(fns_t)}, got {loss!r}")
    return SampleObjective(_ModelBound(model, fns_t[loss]), (y, target))


@dataclass(frozen=True)
class _ModelBound:
    """``fn(model(x_adv), *per_sample)``: a logits loss as an input-space objective."""

    model: nn.Module
    fn: Callable[..., ObjectiveValue]

    def __call__(self, x_adv: Tensor, *per_sample: Tensor) -> ObjectiveValue:
        return self.fn(self.model(x_adv), *per_sample)


def _ce(logits: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    return F.cross_entropy(logits, y, reduction="none"), misclassified(logits, y)


def _dlr(logits: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    return dlr_loss(logits, y), misclassified(logits, y)


def _margin(logits: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    return margin_loss(logits, y), misclassified(logits, y)


def _ce_targeted(logits: Tensor, y: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
    return -F.cross_entropy(logits, target, reduction="none"), logits.argmax(1) == target


def _dlr_targeted(logits: Tensor, y: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
    return dlr_targeted_loss(logits, y, target), misclassified(logits, y)
