"""The loss-agnostic PGD core: maximise a per-sample objective over a threat model.

Projected gradient ascent (Madry et al. 2018; seed 000 §2.1, seed 003 eq. 5–6) with a random start,
restarts that keep the best point per sample, and early exit for samples that already succeed
(when the objective reports success). FGSM is the one-step case without a random start.
Random numbers are drawn for the whole batch even when only some samples are attacked, so a
sample's attack does not depend on which other samples are in the batch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, overload

import torch
from torch import Tensor

from robustssl.attacks.objective import ObjectiveValue, SampleObjective, split_value
from robustssl.attacks.threat import ThreatModel

Objective = SampleObjective | Callable[[Tensor], ObjectiveValue]


@dataclass
class AttackOutput:
    """x_adv (B, ...), success (B,) bool (False where the objective gives no criterion) and the
    objective's value at x_adv (B,)."""

    x_adv: Tensor
    success: Tensor
    loss: Tensor


@overload
def loss_at(
    objective: Objective, x_adv: Tensor, need_grad: Literal[True]
) -> tuple[Tensor, Tensor | None, Tensor]: ...


@overload
def loss_at(
    objective: Objective, x_adv: Tensor, need_grad: bool
) -> tuple[Tensor, Tensor | None, Tensor | None]: ...


def loss_at(
    objective: Objective, x_adv: Tensor, need_grad: bool
) -> tuple[Tensor, Tensor | None, Tensor | None]:
    """(loss, success, ∂Σloss/∂x_adv or None) at ``x_adv``; only the input gradient is computed."""
    if not need_grad:
        with torch.no_grad():
            loss, success = split_value(objective(x_adv))
        return loss, success, None
    x_adv = x_adv.detach().requires_grad_(True)
    with torch.enable_grad():
        loss, success = split_value(objective(x_adv))
        (grad,) = torch.autograd.grad(loss.sum(), x_adv)
    return loss.detach(), success, grad


def better(loss: Tensor, success: Tensor, best_loss: Tensor, best_success: Tensor) -> Tensor:
    """Where (success, loss) beats (best_success, best_loss) lexicographically."""
    return (success & ~best_success) | ((success == best_success) & (loss > best_loss))


def pgd_run(
    objective: Objective,
    x: Tensor,
    x_adv: Tensor,
    threat: ThreatModel,
    steps: int,
    step_size: float,
    early_stop: bool = True,
    select: Literal["best", "last"] = "best",
) -> AttackOutput:
    """``steps`` projected ascent steps from ``x_adv``, one evaluation per iterate (steps + 1
    forwards, ``steps`` backwards). ``select`` returns the best iterate or the last one."""
    n = len(x)
    best_x, best_loss = x_adv.clone(), x.new_full((n,), float("-inf"))
    best_success = torch.zeros(n, dtype=torch.bool, device=x.device)
    alive = torch.arange(n, device=x.device)
    cur, obj = x_adv, objective
    for t in range(steps + 1):
        loss, success, grad = loss_at(obj, cur, need_grad=t < steps)
        loss = loss.to(best_loss.dtype)  # AMP (bf16/fp16 autocast) gives a half-precision loss
        success = torch.zeros_like(loss, dtype=torch.bool) if success is None else success
        take = (
            better(loss, success, best_loss[alive], best_success[alive])
            if select == "best"
            else torch.ones_like(success)
        )
        idx = alive[take]
        best_x[idx], best_loss[idx], best_success[idx] = cur[take], loss[take], success[take]
        if t == steps:
            break
        assert grad is not None  # evaluated with need_grad=t < steps
        if early_stop and bool(success.any()) and isinstance(objective, SampleObjective):
            keep = ~success
            alive, cur, grad = alive[keep], cur[keep], grad[keep]
            if len(alive) == 0:
                break
            obj = objective.subset(alive)
        cur = threat.project(cur + threat.ascent(grad, step_size), x[alive])
    return AttackOutput(best_x, best_success, best_loss)


def maximise(
    objective: Objective,
    x: Tensor,
    threat: ThreatModel,
    *,
    steps: int,
    step_size: float,
    generator: torch.Generator,
    random_start: bool = True,
    restarts: int = 1,
    init: Tensor | None = None,
    early_stop: bool = True,
    select: Literal["best", "last"] = "best",
    active: Tensor | None = None,
) -> AttackOutput:
    """PGD over ``threat`` from ``restarts`` starts, keeping per sample the best (success, loss).

    ``init``: the first restart's perturbation δ₀ (projected); later restarts start at random.
    ``active``: a (B,) mask of samples to attack; the others are returned unchanged (success False).
    A plain callable objective is always evaluated on the whole batch (no early exit); bind
    per-sample tensors with :class:`SampleObjective` to allow it.
    """
    if steps < 0 or restarts < 1:
        raise ValueError(f"need steps ≥ 0 and restarts ≥ 1, got steps={steps}, restarts={restarts}")
    n = len(x)
    subsettable = isinstance(objective, SampleObjective)
    todo = torch.ones(n, dtype=torch.bool, device=x.device) if active is None else active.clone()
    if not subsettable and not bool(todo.all()):
        raise ValueError("attacking a subset needs a SampleObjective (bind the per-sample tensors)")
    out = AttackOutput(
        x.clone(), torch.zeros(n, dtype=torch.bool, device=x.device), x.new_full((n,), -torch.inf)
    )
    for r in range(restarts):
        if r == 0 and init is not None:
            start = threat.project(x + init, x)
        elif random_start:
            start = threat.random_start(x, generator)  # whole batch: sample-independent draws
        else:
            start = x
        pending = todo & ~out.success if (early_stop and subsettable) else todo
        idx = pending.nonzero()[:, 0]
        if len(idx) == 0:
            break
        obj = (
            objective.subset(idx)
            if isinstance(objective, SampleObjective) and len(idx) < n
            else objective
        )
        run = pgd_run(
            obj,
            x[idx],
            start[idx],
            threat=threat,
            steps=steps,
            step_size=step_size,
            early_stop=early_stop,
            select=select,
        )
        take = better(run.loss, run.success, out.loss[idx], out.success[idx])
        if r == 0 or select == "last":
            take = torch.ones_like(take)
        upd = idx[take]
        out.x_adv[upd], out.loss[upd], out.success[upd] = (
            run.x_adv[take],
            run.loss[take],
            run.success[take],
        )
    return out
