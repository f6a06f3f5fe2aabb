"""Catastrophic overfitting: a single-step-trained model that resists FGSM but not PGD.

Wong, Rice & Kolter (2020, "Fast is better than free", §5) saw FGSM adversarial training suddenly
lose all PGD robustness within an epoch while its accuracy under FGSM stayed high; Andriushchenko
& Flammarion (2020) and de Jorge et al. (2022) tie it to the loss becoming locally non-linear, so
the single gradient at x no longer points to the worst case in the ball: a form of gradient
masking (:mod:`robustssl.attacks.diagnostics`). Two checks, each returning a
:class:`~robustssl.attacks.diagnostics.Finding`:

- :func:`check_catastrophic_overfitting` — one model, one held-out batch: FGSM robust accuracy
  far above PGD robust accuracy.
- :class:`OverfittingMonitor` — across epochs: PGD robust accuracy on a fixed held-out batch falls
  by more than ``max_drop`` from one epoch to the next. This is the reference's early stop
  (locuslab/fast_adversarial ``CIFAR10/train_fgsm.py`` L130–140: PGD-5, α = 2/255, 1 restart at
  ε = 8/255 on the first training batch after every epoch; training stops when the robust accuracy
  falls by more than 0.2 and the previous epoch's weights are kept). It also fires when the
  accuracy falls below ``min_ratio`` × the best so far (by at least ``min_drop``): a collapse spread
  over several epochs from a low level, as FGSM training on Fashion-MNIST at ε = 0.2 shows
  (PGD-5 accuracy 14 %, 8 %, 1 % in epochs 1–3), never drops by 0.2 at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from torch import Tensor, nn

from robustssl.attacks.checks import check_batch
from robustssl.attacks.diagnostics import Finding
from robustssl.attacks.mode import ModelMode, clean_correct
from robustssl.attacks.pgd import FGSM, PGD
from robustssl.attacks.step_size import pgd_step_size
from robustssl.attacks.threat import canonical_norm

CODE = "catastrophic_overfitting"
FIX = (
    "Fix: keep the weights of the last epoch before the collapse (OverfittingMonitor.best_epoch), "
    "and train with N-FGSM (noise 2ε, step ε, no projection), FGSM-RS with a smaller step "
    "(α ≤ ε) or a multi-step PGD adversary."
)


def pgd_robust(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    norm: str,
    eps: float,
    *,
    steps: int,
    restarts: int = 1,
    seed: int = 0,
    model_mode: ModelMode = "eval",
) -> Tensor:
    """(B,) bool: correct on x and under PGD-``steps`` (step size by the ``auto`` rule: ε/4 in
    L∞, the reference's 2/255 at 8/255; random start; ``restarts``)."""
    correct = clean_correct(model, x, y, model_mode)
    attack = PGD(
        model,
        norm,
        eps,
        steps=steps,
        step_size=pgd_step_size(canonical_norm(norm), eps, steps),
        restarts=restarts,
        seed=seed,
        model_mode=model_mode,
    )
    return correct & ~attack.run(x, y, active=correct).success


def check_catastrophic_overfitting(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    norm: str = "Linf",
    eps: float = 8 / 255,
    *,
    steps: int = 10,
    restarts: int = 1,
    max_gap: float = 0.3,
    seed: int = 0,
    model_mode: ModelMode = "eval",
) -> Finding:
    """FGSM (one step of ε from x) against PGD-``steps`` on a held-out batch: a gap in robust
    accuracy above ``max_gap`` (a share of the points) is the signature of catastrophic
    overfitting. A plain CE-trained small CNN shows gaps up to ≈ 0.17 (synthetic templates, ε up
    to 0.02), a PGD-trained one a few points; collapsed FGSM training shows ≥ 0.5 (Wong et al.
    2020, Fig. 3: FGSM accuracy stays high while PGD accuracy falls to 0)."""
    check_batch(model, x, y)
    if not 0.0 <= max_gap < 1.0:
        raise ValueError(f"max_gap must be a share in [0, 1), got {max_gap}")
    correct = clean_correct(model, x, y, model_mode)
    fgsm = FGSM(model, norm, eps, model_mode=model_mode)
    fgsm_robust = correct & ~fgsm.run(x, y, active=correct).success
    pgd = pgd_robust(
        model, x, y, norm, eps, steps=steps, restarts=restarts, seed=seed, model_mode=model_mode
    )
    n = len(y)
    fgsm_acc, pgd_acc = int(fgsm_robust.sum()) / n, int(pgd.sum()) / n
    gap = fgsm_acc - pgd_acc
    seen = (
        f"at ε = {eps:g} ({norm}) on {n} held-out points, FGSM leaves {fgsm_acc:.1%} robust "
        f"accuracy and PGD-{steps} ({restarts} restart(s), seed {seed}) {pgd_acc:.1%}, a gap of "
        f"{gap * 100:.1f} pp"
    )
    if gap <= max_gap:
        return Finding(CODE, "info", f"{seen}; it fires above {max_gap * 100:g} pp.", gap)
    message = (
        f"{seen}: the model resists the single gradient step but not the multi-step attack, the "
        f"signature of catastrophic overfitting (the loss is no longer locally linear). {FIX}"
    )
    return Finding(CODE, "warning", message, gap)


@dataclass
class OverfittingMonitor:
    """PGD robust accuracy on one fixed held-out batch after every epoch. :meth:`update` fires
    when it falls by more than ``max_drop`` (absolute share) from the previous epoch (the
    reference's early stop: PGD-5, 0.2; module docstring) or, unless ``min_ratio`` is None, below
    ``min_ratio`` × the best accuracy so far and by at least ``min_drop`` (ours: it also catches a
    collapse spread over epochs). ``min_ratio=None`` is the reference's rule alone. The attack's
    seed is fixed, so a change comes from the model, not from the random start."""

    x: Tensor
    y: Tensor
    norm: str = "Linf"
    eps: float = 8 / 255
    steps: int = 5
    max_drop: float = 0.2
    min_ratio: float | None = 0.5
    min_drop: float = 0.05
    seed: int = 0
    model_mode: ModelMode = "eval"
    history: list[tuple[int, float]] = field(default_factory=list)
    collapsed_at: int | None = None

    def __post_init__(self) -> None:
        if not 0.0 < self.max_drop <= 1.0:
            raise ValueError(f"max_drop must be a share in (0, 1], got {self.max_drop}")
        if self.min_ratio is not None and not 0.0 < self.min_ratio < 1.0:
            raise ValueError(f"min_ratio must be in (0, 1) or None, got {self.min_ratio}")
        if not 0.0 <= self.min_drop <= 1.0:
            raise ValueError(f"min_drop must be a share in [0, 1], got {self.min_drop}")
        if self.steps < 1:
            raise ValueError(f"steps must be ≥ 1, got {self.steps}")

    @property
    def best_epoch(self) -> int | None:
        """The epoch whose weights to keep: the one with the highest robust accuracy before the
        first collapse (the latest on ties; the reference keeps the epoch before the drop)."""
        before = [
            (acc, e)
            for e, acc in self.history
            if self.collapsed_at is None or e < self.collapsed_at
        ]
        return max(before)[1] if before else None

    def update(self, model: nn.Module, epoch: int) -> Finding:
        """Measure PGD robust accuracy for ``epoch`` and compare with the previous epoch."""
        check_batch(model, self.x, self.y)
        if self.history and epoch <= self.history[-1][0]:
            raise ValueError(
                f"epoch {epoch} is not after the last one seen ({self.history[-1][0]})"
            )
        robust = pgd_robust(
            model,
            self.x,
            self.y,
            self.norm,
            self.eps,
            steps=self.steps,
            seed=self.seed,
            model_mode=self.model_mode,
        )
        acc = float(robust.float().mean())
        seen = (
            f"epoch {epoch}: PGD-{self.steps} (seed {self.seed}) at ε = {self.eps:g} "
            f"({self.norm}) leaves {acc:.1%} robust accuracy on {len(self.y)} held-out points"
        )
        previous = self.history[-1] if self.history else None
        best = max(self.history, key=lambda h: h[1]) if self.history else None
        self.history.append((epoch, acc))
        if previous is None or best is None:
            return Finding(CODE, "info", f"{seen} (first measurement).", 0.0)
        drop = previous[1] - acc
        seen += f"; {previous[1]:.1%} at epoch {previous[0]} (a drop of {drop * 100:.1f} pp)"
        seen += f", best {best[1]:.1%} at epoch {best[0]}"
        sudden = drop > self.max_drop
        gradual = (
            self.min_ratio is not None
            and acc < self.min_ratio * best[1]
            and best[1] - acc >= self.min_drop
        )
        if not (sudden or gradual):
            rule = f"it fires above a {self.max_drop * 100:g} pp drop"
            if self.min_ratio is not None:
                rule += f" or below {self.min_ratio:g} × the best"
            return Finding(CODE, "info", f"{seen}; {rule}.", drop)
        if self.collapsed_at is None:
            self.collapsed_at = epoch
        how = "within one epoch" if sudden else f"below {self.min_ratio:g} × its best"
        message = (
            f"{seen}: PGD robustness collapsed {how}, the signature of catastrophic overfitting. "
            f"{FIX}"
        )
        return Finding(CODE, "warning", message, drop)
