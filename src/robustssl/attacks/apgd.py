"""Auto-PGD (Croce & Hein 2020, "Reliable evaluation of adversarial robustness with an ensemble of
diverse parameter-free attacks", Alg. 1; seed 000 §2.1): PGD with momentum 0.75 and a per-sample
step size η (η₀ = 2ε) halved at checkpoints when progress stalls, restarting from the best point.

Bookkeeping follows the official code (REFERENCE_FACTS.md "APGD"): checkpoint lengths from
int(0.22·N), int(0.03·N), int(0.06·N); the loss is summed over the batch; the random start is
x + ε·t/‖t‖ (t ~ U[−1,1]^d for L∞, N(0, I) for L2). Two deliberate differences: the first
checkpoint counts increases from the starting loss (Alg. 1; the official code compares the first
iterate with an unset zero), and samples that succeed leave the working batch at once.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from functools import partial

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from robustssl.attacks.base import Attack
from robustssl.attacks.core import AttackOutput, better, loss_at
from robustssl.attacks.mode import ModelMode
from robustssl.attacks.objective import (
    SampleObjective,
    classifier_objective,
    dlr_targeted_loss,
    misclassified,
)
from robustssl.attacks.threat import ThreatModel, flat_norms

APGD_NORMS = ("Linf", "L2")
APGD_LOSSES = ("ce", "dlr")
MOMENTUM = 0.75


def apgd_checkpoints(steps: int) -> list[int]:
    """Iterations after which APGD checks its step size (Croce & Hein 2020 §3.2, as the official
    code rounds them): the first after int(0.22·N) steps, then each interval 0.03·N shorter, but at
    least 0.06·N. For N = 100 the intervals are 22, 19, 16, 13, 10, 7, 6, 6."""
    if steps < 1:
        raise ValueError(f"steps must be ≥ 1, got {steps}")
    interval = max(int(0.22 * steps), 1)
    shortest, shrink = max(int(0.06 * steps), 1), max(int(0.03 * steps), 1)
    marks, at = [], interval
    while at <= steps:
        marks.append(at)
        interval = max(interval - shrink, shortest)
        at += interval
    return marks


def apgd_start(x: Tensor, threat: ThreatModel, generator: torch.Generator) -> Tensor:
    """The official random start on the ε-sphere: x + ε·t/‖t‖ (t ~ U[−1,1]^d for L∞, N(0, I) for
    L2), clipped to [0,1]. Drawn for the whole batch on the CPU."""
    if threat.norm == "Linf":
        t = torch.rand(x.shape, generator=generator) * 2 - 1
    else:
        t = torch.randn(x.shape, generator=generator)
    t = t.to(device=x.device, dtype=x.dtype)
    scale = threat.eps / (flat_norms(t, threat.norm) + 1e-12)
    return threat.project(x + t * scale.view(-1, *([1] * (x.dim() - 1))), x)


def _eot_loss_at(
    objective: SampleObjective, x_adv: Tensor, eot_iter: int, need_grad: bool
) -> tuple[Tensor, Tensor, Tensor | None]:
    """Loss and input gradient averaged over ``eot_iter`` passes (EOT, Athalye et al. 2018); the
    success flags of the last pass (as the official code)."""
    loss, success, grad = loss_at(objective, x_adv, need_grad)
    for _ in range(eot_iter - 1):
        more, success, more_grad = loss_at(objective, x_adv, need_grad)
        loss = loss + more
        grad = grad + more_grad if grad is not None and more_grad is not None else None
    if eot_iter > 1:
        loss = loss / eot_iter
        grad = grad / eot_iter if grad is not None else None
    return loss, torch.zeros_like(loss, dtype=torch.bool) if success is None else success, grad


@dataclass
class _Walk:
    """Per-sample state of the samples still being attacked, all indexed alike."""

    idx: Tensor  # positions in the run's batch
    x: Tensor
    cur: Tensor
    prev: Tensor
    grad: Tensor | None
    loss_prev: Tensor
    best: Tensor
    best_loss: Tensor
    best_grad: Tensor | None
    eta: Tensor
    increases: Tensor  # loss increases since the last checkpoint
    best_at_check: Tensor  # best loss at the last checkpoint
    reduced: Tensor  # η was halved at the last checkpoint

    def keep(self, mask: Tensor) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None:
                setattr(self, f.name, value[mask])

    def step(self, threat: ThreatModel, momentum: float) -> None:
        """z = P(x + η·ascent(g)); x ← P(x + m(z − x) + (1 − m)(x − x_prev)) (Alg. 1 l. 7–8)."""
        assert self.grad is not None
        z = threat.project(self.cur + threat.ascent(self.grad, self.eta), self.x)
        nxt = self.cur + momentum * (z - self.cur) + (1 - momentum) * (self.cur - self.prev)
        self.prev, self.cur = self.cur, threat.project(nxt, self.x)

    def record(self, loss: Tensor, grad: Tensor | None) -> None:
        """Count an increase over the last iterate; keep the best point and its gradient."""
        self.increases += loss > self.loss_prev
        self.loss_prev, self.grad = loss, grad
        up = loss > self.best_loss
        self.best[up], self.best_loss[up] = self.cur[up], loss[up]
        if grad is not None and self.best_grad is not None:
            self.best_grad[up] = grad[up]

    def checkpoint(self, interval: int, rho: float) -> None:
        """Halve η where the loss rose in ≤ ρ·interval iterations, or where η was kept last time
        and the best loss did not improve; those samples restart from their best point."""
        assert self.grad is not None and self.best_grad is not None
        halve = (self.increases <= rho * interval) | (
            ~self.reduced & (self.best_at_check >= self.best_loss)
        )
        self.reduced, self.best_at_check = halve, self.best_loss.clone()
        self.increases = torch.zeros_like(self.increases)
        self.eta = torch.where(halve, self.eta / 2, self.eta)
        self.cur[halve], self.grad[halve] = self.best[halve], self.best_grad[halve]


def apgd_run(
    objective: SampleObjective,
    x: Tensor,
    start: Tensor,
    threat: ThreatModel,
    steps: int,
    rho: float = 0.75,
    eot_iter: int = 1,
) -> AttackOutput:
    """One APGD run of ``steps`` iterations from ``start`` (Croce & Hein 2020, Alg. 1).

    Returns per sample the first successful iterate (the sample then stops) or else the point of
    highest loss. ``objective`` is bound to the samples of ``x``.
    """
    n, device = len(x), x.device
    out = _blank(start, torch.zeros(n, dtype=torch.bool, device=device))
    loss, success, grad = _eot_loss_at(objective, start, eot_iter, need_grad=True)
    walk = _Walk(
        idx=torch.arange(n, device=device),
        x=x,
        cur=start.clone(),
        prev=start.clone(),
        grad=grad,
        loss_prev=loss,
        best=start.clone(),
        best_loss=loss.clone(),
        best_grad=None if grad is None else grad.clone(),
        eta=x.new_full((n,), 2.0 * threat.eps),
        increases=torch.zeros(n, dtype=torch.long, device=device),
        best_at_check=loss.clone(),
        reduced=torch.ones(n, dtype=torch.bool, device=device),
    )
    objective = _settle(out, walk, loss, success, objective)
    marks, last_mark = set(apgd_checkpoints(steps)), 0
    for i in range(steps):
        if len(walk.idx) == 0:
            break
        walk.step(threat, MOMENTUM if i > 0 else 1.0)
        loss, success, grad = _eot_loss_at(objective, walk.cur, eot_iter, need_grad=i < steps - 1)
        walk.record(loss, grad)
        objective = _settle(out, walk, loss, success, objective)
        if i + 1 in marks and i < steps - 1:
            walk.checkpoint(i + 1 - last_mark, rho)
            last_mark = i + 1
    out.x_adv[walk.idx], out.loss[walk.idx] = walk.best, walk.best_loss
    return out


def _blank(x: Tensor, success: Tensor) -> AttackOutput:
    """x (cloned) with the given success flags and loss −∞."""
    return AttackOutput(x.clone(), success, x.new_full((len(x),), float("-inf")))


def _settle(
    out: AttackOutput, walk: _Walk, loss: Tensor, success: Tensor, objective: SampleObjective
) -> SampleObjective:
    """Record the samples that just succeeded and drop them from the walk."""
    if not bool(success.any()):
        return objective
    done = walk.idx[success]
    out.x_adv[done], out.loss[done], out.success[done] = walk.cur[success], loss[success], True
    walk.keep(~success)
    return objective.subset(~success)


def apgd_maximise(
    objective: SampleObjective,
    x: Tensor,
    threat: ThreatModel,
    out: AttackOutput,
    *,
    steps: int,
    generator: torch.Generator,
    restarts: int = 1,
    rho: float = 0.75,
    eot_iter: int = 1,
    todo: Tensor | None = None,
) -> AttackOutput:
    """``restarts`` APGD runs, each from a fresh random start and only on the samples of ``todo``
    that have not yet succeeded in ``out``; updates ``out`` in place with the better points."""
    todo = torch.ones(len(x), dtype=torch.bool, device=x.device) if todo is None else todo
    for _ in range(restarts):
        start = apgd_start(x, threat, generator)  # whole batch: sample-independent draws
        idx = (todo & ~out.success).nonzero()[:, 0]
        if len(idx) == 0:
            break
        run = apgd_run(
            objective.subset(idx),
            x[idx],
            start[idx],
            threat=threat,
            steps=steps,
            rho=rho,
            eot_iter=eot_iter,
        )
        take = better(run.loss, run.success, out.loss[idx], out.success[idx])
        upd = idx[take]
        out.x_adv[upd], out.loss[upd] = run.x_adv[take], run.loss[take]
        out.success[upd] = run.success[take]
    return out


def _targeted_value(
    model: nn.Module, loss: str, x_adv: Tensor, y: Tensor, target: Tensor
) -> tuple[Tensor, Tensor]:
    """Targeted DLR (or −CE to the target); success is any misclassification (official APGD-T)."""
    logits = model(x_adv)
    if loss == "dlr":
        value = dlr_targeted_loss(logits, y, target)
    else:
        value = -F.cross_entropy(logits, target, reduction="none")
    return value, misclassified(logits, y)


class APGD(Attack):
    """APGD-CE / APGD-DLR, or with ``targeted=True`` APGD-T: targeted DLR (or CE) towards the k-th
    highest clean logit, k = 2 … n_target_classes + 1, one target after another.

    Success is misclassification; every restart and target runs only on samples still robust, and a
    sample stops at its first misclassified iterate. Returns that point, or else the point of
    highest loss over all runs (``run().loss``; −∞ where the clean point is already misclassified
    or the sample is not ``active``). ``eot_iter`` > 1 averages loss and gradient over as many
    passes (EOT, for randomised models).
    """

    def __init__(
        self,
        model: nn.Module,
        norm: str = "Linf",
        eps: float = 8 / 255,
        steps: int = 100,
        n_restarts: int = 1,
        loss: str = "ce",
        targeted: bool = False,
        n_target_classes: int = 9,
        rho: float = 0.75,
        eot_iter: int = 1,
        seed: int = 0,
        model_mode: ModelMode = "eval",
        allow_large_eps: bool = False,
    ) -> None:
        super().__init__(model, norm, eps, seed, model_mode, allow_large_eps)
        if self.norm not in APGD_NORMS:
            raise ValueError(
                f"APGD supports norms {', '.join(APGD_NORMS)}, got {norm!r} (use PGD or FAB for L1)"
            )
        if loss not in APGD_LOSSES:
            raise ValueError(f"APGD loss must be one of {', '.join(APGD_LOSSES)}, got {loss!r}")
        for name, value in (("steps", steps), ("n_restarts", n_restarts), ("eot_iter", eot_iter)):
            if value < 1:
                raise ValueError(f"{name} must be ≥ 1, got {value}")
        if targeted and n_target_classes < 1:
            raise ValueError(f"n_target_classes must be ≥ 1, got {n_target_classes}")
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"rho must be in [0, 1], got {rho}")
        self.steps, self.n_restarts, self.loss, self.targeted = steps, n_restarts, loss, targeted
        self.n_target_classes, self.rho, self.eot_iter = n_target_classes, rho, eot_iter

    def settings(self) -> dict[str, object]:
        out = {
            **super().settings(),
            "steps": self.steps,
            "restarts": self.n_restarts,
            "loss": self.loss,
            "targeted": self.targeted,
            "rho": self.rho,
            "eot_iter": self.eot_iter,
        }
        return {**out, "n_target_classes": self.n_target_classes} if self.targeted else out

    def perturb(
        self, x: Tensor, y: Tensor, generator: torch.Generator, active: Tensor | None
    ) -> AttackOutput:
        n = len(x)
        todo = torch.ones(n, dtype=torch.bool, device=x.device) if active is None else active
        out = _blank(x, torch.zeros(n, dtype=torch.bool, device=x.device))
        idx = todo.nonzero()[:, 0]
        if len(idx) == 0:
            return out
        with torch.no_grad():
            logits = self.model(x[idx])
        self._check_classes(logits.shape[1])
        out.success[idx] = misclassified(logits, y[idx])  # δ = 0 already succeeds
        for objective in self._objectives(y, idx, logits):
            apgd_maximise(
                objective,
                x,
                self.threat,
                out,
                steps=self.steps,
                generator=generator,
                restarts=self.n_restarts,
                rho=self.rho,
                eot_iter=self.eot_iter,
                todo=todo,
            )
        return out

    def _objectives(self, y: Tensor, idx: Tensor, logits: Tensor) -> list[SampleObjective]:
        """The untargeted objective, or one per target: the k-th highest clean logit of each
        attacked sample (``idx``; ``logits`` are theirs), k = 2 … n_target_classes + 1."""
        if not self.targeted:
            return [classifier_objective(self.model, self.loss, y)]
        targets = torch.zeros(len(y), self.n_target_classes, dtype=torch.long, device=y.device)
        targets[idx] = logits.argsort(1, descending=True)[:, 1 : self.n_target_classes + 1]
        fn = partial(_targeted_value, self.model, self.loss)
        return [SampleObjective(fn, (y, t)) for t in targets.unbind(1)]

    def _check_classes(self, num_classes: int) -> None:
        if self.targeted and self.n_target_classes >= num_classes:
            raise ValueError(
                f"n_target_classes={self.n_target_classes} needs more than {num_classes} classes; "
                f"use at most {num_classes - 1}"
            )
        need = (4 if self.targeted else 3) if self.loss == "dlr" else 2
        if num_classes < need:
            kind = "targeted DLR" if self.targeted else self.loss.upper()
            raise ValueError(
                f"the {kind} loss needs ≥ {need} classes (it uses the 3rd/4th largest logit), "
                f"the model has {num_classes}"
            )
