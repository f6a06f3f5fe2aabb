"""FAB, the fast adaptive boundary attack (Croce & Hein 2020, "Minimally distorted adversarial
examples with a fast adaptive boundary attack", §3; REFERENCE_FACTS.md "FAB").

A minimum-norm attack: at the current point, linearise the boundary between the true class and the
closest other class (or a given target class), project both the current and the original point
onto that hyperplane intersected with the image box (§3.1), and move to a biased mix of the two
projections, extrapolated by η (§3.2). Once a point is adversarial it is stored if it is the
smallest so far, and the iterate steps back towards the original point by β (§3.3). Restarts begin
at random points around x (§3.4). AutoAttack counts a sample as broken when the smallest
adversarial perturbation found has norm ≤ ε.

Differences from the official fab_base.py (same algorithm, fewer model calls): the forward pass
that linearises the model at an iterate also tells whether that iterate is adversarial (the
official code runs an extra forward per iteration for this), so after a backward step the update
uses the linearisation of the point it stepped back from (exact while the model is linear between
the two points); one forward + backward per iteration in all. Samples that are done leave the
working batch. Random restarts start on the sphere of radius ½·min(‖δ_best‖, ε) around x, with
the sample's running best (the official code resets that best per restart, so always ε/2 there;
the same for AutoAttack, whose restarts only run on samples with no ‖δ‖ ≤ ε yet).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from robustssl.attacks.base import Attack
from robustssl.attacks.core import AttackOutput
from robustssl.attacks.mode import ModelMode, attack_mode
from robustssl.attacks.threat import flat_norms
from robustssl.utils import make_generator

_DUAL = {"Linf": "L1", "L2": "L2", "L1": "Linf"}
_TINY = 1e-12


def boundary_step(t: Tensor, w: Tensor, r: Tensor, norm: str) -> Tensor:
    """Per row of ``t`` (n, d) in [0,1]: the δ of least ``norm`` with ⟨w, δ⟩ = r and t + δ in
    [0,1]^d — the projection of t onto the hyperplane {z : ⟨w, z − t⟩ = r} ∩ box (FAB §3.1, eq. 5).
    When the box does not reach the hyperplane, every coordinate moves to the bound that brings
    ⟨w, ·⟩ closest to it."""
    sign = torch.where(r < 0, -1.0, 1.0).to(w.dtype)
    w, r = w * sign[:, None], r * sign  # now ⟨w, δ⟩ must grow by r ≥ 0
    a = w.abs()
    room = torch.where(w > 0, 1.0 - t, t).masked_fill(w == 0, 0.0)  # the useful way, to the bound
    if norm == "L1":
        move = _greedy_fill(a, room, r)
    elif norm == "Linf":
        move = torch.minimum(_water_level(room, a, r)[:, None], room)
    else:
        knots = torch.where(a > 0, room / a.clamp_min(_TINY), torch.zeros_like(a))
        move = torch.minimum(_water_level(knots, a * a, r)[:, None], knots) * a
    return move * w.sign()


def _water_level(knots: Tensor, weights: Tensor, r: Tensor) -> Tensor:
    """λ ≥ 0 per row with Σ_j weights_j·min(λ, knots_j) = r (the largest knot when no λ reaches r):
    the level of the L∞ (knots = room, weights = |w|) and L2 (knots = room/|w|, weights = w²)
    projections. Sorting the knots makes the left side piecewise linear between them."""
    k, order = knots.sort(dim=1)
    wt = weights.gather(1, order)
    below = F.pad((wt * k).cumsum(1), (1, 0))[:, :-1]  # Σ_{j<i} w_j k_j
    above = wt.flip(1).cumsum(1).flip(1)  # Σ_{j≥i} w_j
    reach = below + k * above  # the left side at λ = k_i (non-decreasing in i)
    i = (reach < r[:, None]).sum(1, keepdim=True)  # the first knot at which the level reaches r
    feasible = i[:, 0] < k.shape[1]
    i = i.clamp(max=k.shape[1] - 1)
    level = (r - below.gather(1, i)[:, 0]) / above.gather(1, i)[:, 0].clamp_min(_TINY)
    level = torch.minimum(level.clamp_min(0.0), k.gather(1, i)[:, 0])
    return torch.where(feasible, level, k[:, -1])


def _greedy_fill(a: Tensor, room: Tensor, r: Tensor) -> Tensor:
    """The L1 projection: move the coordinates with the largest |w_j| first, each up to its bound,
    until ⟨|w|, move⟩ = r."""
    a_sorted, order = a.sort(dim=1, descending=True)
    room_sorted = room.gather(1, order)
    before = F.pad((a_sorted * room_sorted).cumsum(1), (1, 0))[:, :-1]
    need = (r[:, None] - before) / a_sorted.clamp_min(_TINY)
    move = torch.minimum(need.clamp_min(0.0), room_sorted)
    return torch.zeros_like(a).scatter(1, order, move)


class FAB(Attack):
    """``FAB(model, norm, eps, steps, n_restarts, targeted, n_target_classes, ...)``.

    ``run``/``__call__``: AutoAttack's FAB — success where an adversarial point with ‖δ‖ ≤ ε was
    found (x_adv is that point, else x); ``loss`` is −‖δ‖ of the smallest adversarial point found
    (−inf where none). ``radii``/``minimum_norm``: the smallest adversarial ‖δ‖ per sample,
    whatever ε. Untargeted FAB linearises towards the closest class (one backward per class per
    step); targeted FAB tries the classes with the 2nd … (n_target_classes+1)-th highest clean
    logit in turn (one backward per step).
    """

    def __init__(
        self,
        model: nn.Module,
        norm: str = "Linf",
        eps: float = 8 / 255,
        steps: int = 100,
        n_restarts: int = 1,
        targeted: bool = False,
        n_target_classes: int = 9,
        alpha_max: float = 0.1,
        eta: float = 1.05,
        beta: float = 0.9,
        seed: int = 0,
        model_mode: ModelMode = "eval",
        allow_large_eps: bool = False,
    ) -> None:
        super().__init__(model, norm, eps, seed, model_mode, allow_large_eps)
        if steps < 1 or n_restarts < 1 or n_target_classes < 1:
            raise ValueError(
                f"need steps, n_restarts and n_target_classes ≥ 1, got {steps}, {n_restarts}, "
                f"{n_target_classes}"
            )
        if not (0.0 <= alpha_max <= 1.0 and eta >= 1.0 and 0.0 < beta < 1.0):
            raise ValueError(
                f"need 0 ≤ alpha_max ≤ 1, eta ≥ 1 and 0 < beta < 1 (defaults 0.1, 1.05, 0.9), got "
                f"{alpha_max}, {eta}, {beta}"
            )
        self.steps, self.n_restarts = steps, n_restarts
        self.targeted, self.n_target_classes = targeted, n_target_classes
        self.alpha_max, self.eta, self.beta = alpha_max, eta, beta

    def settings(self) -> dict[str, object]:
        out = {
            **super().settings(),
            "steps": self.steps,
            "restarts": self.n_restarts,
            "targeted": self.targeted,
            "alpha_max": self.alpha_max,
            "eta": self.eta,
            "beta": self.beta,
        }
        return {**out, "n_target_classes": self.n_target_classes} if self.targeted else out

    def perturb(
        self, x: Tensor, y: Tensor, generator: torch.Generator, active: Tensor | None
    ) -> AttackOutput:
        best_x, best_norm = self._search(x, y, generator, active, stop_at=self.eps)
        success = best_norm <= self.eps
        x_adv = torch.where(success.view(-1, *[1] * (x.dim() - 1)), best_x, x)
        return AttackOutput(x_adv, success, -best_norm)

    def minimum_norm(
        self, x: Tensor, y: Tensor, active: Tensor | None = None
    ) -> tuple[Tensor, Tensor]:
        """(x_adv, radius): per sample the smallest adversarial point found and its ‖δ‖ — 0 where
        x is already misclassified, inf (and x_adv = x) where none was found, NaN where the
        sample is not active. ε only scales the random restarts."""
        self.check(x, y, active)
        x = x.detach()
        with attack_mode(self.model, self.model_mode):
            best_x, best_norm = self._search(x, y, make_generator(self.seed), active, stop_at=0.0)
        if active is not None:
            best_norm = best_norm.masked_fill(~active, math.nan)
        return best_x.detach(), best_norm

    def radii(self, x: Tensor, y: Tensor, active: Tensor | None = None) -> Tensor:
        """The smallest adversarial ‖δ‖ found per sample (B,); see :meth:`minimum_norm`."""
        return self.minimum_norm(x, y, active)[1]

    def _search(
        self,
        x: Tensor,
        y: Tensor,
        generator: torch.Generator,
        active: Tensor | None,
        stop_at: float,
    ) -> tuple[Tensor, Tensor]:
        """Every target (or the untargeted attack) × every restart on the samples whose best norm
        is still > ``stop_at``; returns the best adversarial points (x where none) and norms."""
        n = len(x)
        todo = torch.ones(n, dtype=torch.bool, device=x.device) if active is None else active
        best_x, best_norm = x.clone(), x.new_full((n,), math.inf)
        idx = todo.nonzero()[:, 0]
        if len(idx) == 0:
            return best_x, best_norm
        with torch.no_grad():
            logits = self.model(x[idx])
        best_norm[idx[logits.argmax(1) != y[idx]]] = 0.0
        targets = self._targets(logits, idx, n) if self.targeted else [None]
        for target in targets:
            for restart in range(self.n_restarts):
                pending = todo & (best_norm > stop_at)
                if not bool(pending.any()):
                    return best_x, best_norm
                start = x if restart == 0 else self._random_start(x, best_norm, generator)
                idx = pending.nonzero()[:, 0]
                t = None if target is None else target[idx]
                run_x, run_norm = self._descend(x[idx], y[idx], t, start[idx], stop_at)
                better = run_norm < best_norm[idx]
                best_x[idx[better]], best_norm[idx[better]] = run_x[better], run_norm[better]
        return best_x, best_norm

    def _targets(self, logits: Tensor, idx: Tensor, n: int) -> list[Tensor]:
        """The classes with the 2nd … (n_target_classes+1)-th highest clean logit, one (n,)
        tensor per rank (official AutoAttack FAB-T)."""
        if self.n_target_classes >= logits.shape[1]:
            raise ValueError(
                f"n_target_classes={self.n_target_classes} needs more than the model's "
                f"{logits.shape[1]} classes; use at most {logits.shape[1] - 1}"
            )
        ranked = logits.sort(dim=1, descending=True, stable=True).indices
        full = torch.zeros(n, self.n_target_classes, dtype=torch.long, device=logits.device)
        full[idx] = ranked[:, 1 : self.n_target_classes + 1]
        return list(full.unbind(1))

    def _random_start(self, x: Tensor, best_norm: Tensor, generator: torch.Generator) -> Tensor:
        """x + a random point of the norm sphere of radius ½·min(‖δ_best‖, ε) (fab_base.py: L∞
        from U[−1,1], L2 and L1 from N(0,1) directions), clipped to the box; drawn for the
        whole batch."""
        if self.norm == "Linf":
            t = torch.rand(x.shape, generator=generator) * 2 - 1
        else:
            t = torch.randn(x.shape, generator=generator)
        t = t.to(device=x.device, dtype=x.dtype)
        radius = 0.5 * best_norm.clamp(max=self.eps)
        scale = radius / (flat_norms(t, self.norm) + _TINY)
        return (x + t * scale.view(-1, *[1] * (x.dim() - 1))).clamp(0.0, 1.0)

    def _descend(
        self, x0: Tensor, y: Tensor, target: Tensor | None, start: Tensor, stop_at: float
    ) -> tuple[Tensor, Tensor]:
        """One FAB run from ``start``: ``steps`` boundary steps (FAB §3, Algorithm 1), keeping the
        smallest adversarial point per sample; a sample leaves once its best norm is ≤ stop_at."""
        shape, n = x0.shape, len(x0)
        flat0 = x0.flatten(1)
        best_x, best_norm = flat0.clone(), x0.new_full((n,), math.inf)
        alive, cur = torch.arange(n, device=x0.device), start.flatten(1)
        for step in range(self.steps + 1):
            t = None if target is None else target[alive]
            logits, gap, grad = self._linearise(cur.view(-1, *shape[1:]), y[alive], t, step)
            adv = logits.argmax(1) != y[alive]
            norms = flat_norms(cur - flat0[alive], self.norm)
            better = adv & (norms < best_norm[alive])
            best_x[alive[better]], best_norm[alive[better]] = cur[better], norms[better]
            if step == self.steps:
                break
            keep = best_norm[alive] > stop_at
            if not bool(keep.all()):
                alive, cur, adv, gap, grad = (v[keep] for v in (alive, cur, adv, gap, grad))
                if len(alive) == 0:
                    break
            cur, gap = self._step_back(cur, flat0[alive], adv, gap, grad)
            excluded = None if target is not None else y[alive]
            cur = self._boundary_move(cur, flat0[alive], gap, grad, excluded)
        return best_x.view(shape), best_norm

    def _linearise(
        self, x: Tensor, y: Tensor, target: Tensor | None, step: int
    ) -> tuple[Tensor, Tensor, Tensor]:
        """logits (n, C), gaps f_k − f_y (n, K) and their input gradients (n, K, d): K = 1 towards
        ``target``, else every class (fab_pt.py). Without gradients after the last step."""
        if step == self.steps:
            with torch.no_grad():
                logits = self.model(x)
            return logits, logits[:, :0], logits[:, :0, None]
        x = x.detach().requires_grad_(True)
        with torch.enable_grad():
            logits = self.model(x)
            if target is not None:
                gap = logits.gather(1, target[:, None]) - logits.gather(1, y[:, None])
                (g,) = torch.autograd.grad(gap.sum(), x)
                return logits.detach(), gap.detach(), g.flatten(1)[:, None]
            num_classes = logits.shape[1]
            grads = [
                torch.autograd.grad(logits[:, k].sum(), x, retain_graph=k + 1 < num_classes)[0]
                for k in range(num_classes)
            ]
        logits = logits.detach()
        g = torch.stack(grads, 1).flatten(2)
        g_y = g.gather(1, y.view(-1, 1, 1).expand(-1, 1, g.shape[2]))
        return logits, logits - logits.gather(1, y[:, None]), g - g_y

    def _step_back(
        self, cur: Tensor, x0: Tensor, adv: Tensor, gap: Tensor, grad: Tensor
    ) -> tuple[Tensor, Tensor]:
        """Adversarial iterates move to x0 + β(x − x0) (FAB §3.3); their gaps follow the linear
        model, gap + ⟨∇gap, shift⟩."""
        shift = torch.where(adv[:, None], (self.beta - 1.0) * (cur - x0), torch.zeros_like(cur))
        return cur + shift, gap + torch.bmm(grad, shift[:, :, None])[:, :, 0]

    def _boundary_move(
        self, cur: Tensor, x0: Tensor, gap: Tensor, grad: Tensor, excluded: Tensor | None
    ) -> Tensor:
        """The FAB update (§3.2, eq. 7): project x and x0 onto the closest linearised boundary
        (in ``norm``), then x ← clip((1−α)(x + η·δ_x) + α(x0 + η·δ_0)) with
        α = clip(‖δ_x‖ / (‖δ_x‖ + ‖δ_0‖), 0, alpha_max)."""
        dist = gap.abs() / (flat_norms(grad.flatten(0, 1), _DUAL[self.norm]).view_as(gap) + _TINY)
        if excluded is not None:
            dist = dist.scatter(1, excluded[:, None], math.inf)
        k = dist.argmin(1)
        rows = torch.arange(len(cur), device=cur.device)
        w, f = grad[rows, k], gap[rows, k]
        need = torch.cat((-f, -f - ((x0 - cur) * w).sum(1)))  # ⟨w, δ⟩ that reaches the plane
        deltas = boundary_step(torch.cat((cur, x0)), torch.cat((w, w)), need, self.norm)
        d_cur, d_orig = deltas.chunk(2)
        sizes = flat_norms(deltas, self.norm).clamp_min(1e-8)
        a_cur, a_orig = sizes.chunk(2)
        alpha = (a_cur / (a_cur + a_orig)).clamp(0.0, self.alpha_max)[:, None]
        moved = (1 - alpha) * (cur + self.eta * d_cur) + alpha * (x0 + self.eta * d_orig)
        return moved.clamp(0.0, 1.0)
