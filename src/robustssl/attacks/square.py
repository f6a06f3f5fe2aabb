"""Square Attack (Andriushchenko et al. 2020, "Square Attack: a query-efficient black-box
adversarial attack via random search"; REFERENCE_FACTS.md "Square"), L∞ and L2.

Random search on the margin loss, using only the model's outputs: from a start on the boundary of
the ε-ball, propose a change inside a random square window and keep it when the margin drops (or
the point is misclassified). The window side shrinks with the schedule of p (the share of pixels
changed), halved after 10, 50, 200, 500, 1000, 2000, 4000, 6000 and 8000 queries (Alg. 1, §3).

L∞ (§3.1): vertical stripes of ±ε to start; a proposal sets the window, per channel, to x ± ε.
L2 (§3.2): a grid of square "bumps" to start; a proposal moves the perturbation mass of a second
window into the first as a new bump (the official square.py's update).

Differences from the official square.py: each sample draws its own window positions, signs and
bump orientations (the paper's algorithm; the official code shares one window and one sign per
channel across the batch each query, and never draws the last position); an L∞ proposal that
would leave the point unchanged flips its signs (the authors' first code redraws until the window
changes). Random numbers are drawn for the whole batch every query, then indexed.
"""

from __future__ import annotations

import math
from functools import lru_cache

import torch
from torch import Tensor, nn

from robustssl.attacks.base import Attack
from robustssl.attacks.core import AttackOutput
from robustssl.attacks.mode import ModelMode
from robustssl.attacks.objective import margin_loss
from robustssl.attacks.threat import flat_norms

_HALVINGS = (10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000)
_TINY = 1e-12


def square_fraction(p_init: float, query: int, n_queries: int, rescale: bool) -> float:
    """p at the ``query``-th proposal: p_init halved after each of 10, 50, …, 8000 queries
    (counted on a 10 000-query scale when ``rescale``)."""
    if rescale:
        query = int(query / n_queries * 10000)
    return p_init / 2 ** sum(query > q for q in _HALVINGS)


@lru_cache(maxsize=64)
def _bump(rows: int, cols: int) -> Tensor:
    """Concentric rectangles around the centre, weight Σ_{k ≥ Chebyshev distance} 1/(k+1)²,
    unit L2 norm (the L2 building block, §3.2)."""
    levels = max(rows // 2, cols // 2) + 1
    tail = (1.0 / torch.arange(1, levels + 1, dtype=torch.float64) ** 2).flip(0).cumsum(0).flip(0)
    di = (torch.arange(rows) - rows // 2).abs()[:, None]
    dj = (torch.arange(cols) - cols // 2).abs()[None, :]
    bump = tail[torch.maximum(di, dj)]
    return (bump / bump.norm()).float()


@lru_cache(maxsize=64)
def _pattern(s: int) -> Tensor:
    """An s×s window: a positive bump on the top half, a negative one on the bottom half."""
    top = s // 2
    pattern = torch.cat((_bump(top, s), -_bump(s - top, s))) if top else -_bump(s, s)
    return pattern / pattern.norm()


def _window_mask(top: Tensor, left: Tensor, s: int, h: int, w: int) -> Tensor:
    """(n, 1, h, w) bool: the s×s window at (top, left) per sample."""
    rows = torch.arange(h, device=top.device)[None, :] - top[:, None]
    cols = torch.arange(w, device=top.device)[None, :] - left[:, None]
    in_rows, in_cols = (rows >= 0) & (rows < s), (cols >= 0) & (cols < s)
    return (in_rows[:, :, None] & in_cols[:, None, :])[:, None]


def _window_index(top: Tensor, left: Tensor, s: int) -> tuple[Tensor, Tensor, Tensor]:
    """Advanced indices selecting each sample's s×s window as t[b, r, c] → (n, s, s, channels)."""
    span = torch.arange(s, device=top.device)
    rows = (top[:, None] + span)[:, :, None]
    cols = (left[:, None] + span)[:, None, :]
    return torch.arange(len(top), device=top.device)[:, None, None], rows, cols


def _unbroken(x_adv: Tensor) -> AttackOutput:
    n = len(x_adv)
    return AttackOutput(
        x_adv,
        torch.zeros(n, dtype=torch.bool, device=x_adv.device),
        x_adv.new_full((n,), -math.inf),
    )


def _signs(shape: tuple[int, ...], generator: torch.Generator) -> Tensor:
    return torch.randint(0, 2, shape, generator=generator).float() * 2 - 1


def _check_images(x: Tensor) -> None:
    if isinstance(x, Tensor) and x.dim() != 4:
        raise ValueError(f"Square needs image batches (B, C, H, W), got shape {tuple(x.shape)}")


class Square(Attack):
    """``Square(model, norm, eps, n_queries, p_init, n_restarts, seed)``: success where a
    misclassified point in the ε-ball was found; x_adv is the best point found (lowest margin) and
    ``loss`` its margin max_{i≠y} z_i − z_y. One query for the start, then ``n_queries`` proposals,
    only for points still correctly classified. Images (B, C, H, W) only."""

    def __init__(
        self,
        model: nn.Module,
        norm: str = "Linf",
        eps: float = 8 / 255,
        n_queries: int = 5000,
        p_init: float = 0.8,
        n_restarts: int = 1,
        seed: int = 0,
        model_mode: ModelMode = "eval",
        rescale_schedule: bool = False,
        allow_large_eps: bool = False,
    ) -> None:
        super().__init__(model, norm, eps, seed, model_mode, allow_large_eps)
        if self.norm == "L1":
            raise ValueError("Square supports norm 'Linf' and 'L2'; for L1 use FAB or PGD")
        if n_queries < 0 or n_restarts < 1 or not 0.0 < p_init <= 1.0:
            raise ValueError(
                f"need n_queries ≥ 0, n_restarts ≥ 1 and 0 < p_init ≤ 1, got {n_queries}, "
                f"{n_restarts}, {p_init}"
            )
        self.n_queries, self.p_init, self.n_restarts = n_queries, p_init, n_restarts
        self.rescale_schedule = rescale_schedule

    def settings(self) -> dict[str, object]:
        return {
            **super().settings(),
            "queries": self.n_queries,
            "p_init": self.p_init,
            "restarts": self.n_restarts,
            "rescale_schedule": self.rescale_schedule,
        }

    def check(self, x: Tensor, y: Tensor, active: Tensor | None = None) -> None:
        _check_images(x)  # before the shared checks run the model on x
        super().check(x, y, active)

    def perturb(
        self, x: Tensor, y: Tensor, generator: torch.Generator, active: Tensor | None
    ) -> AttackOutput:
        _check_images(x)
        n = len(x)
        todo = torch.ones(n, dtype=torch.bool, device=x.device) if active is None else active
        out = _unbroken(x.clone())
        with torch.no_grad():
            for _ in range(self.n_restarts):
                pending = todo & ~out.success
                if not bool(pending.any()):
                    break
                run = self._single_run(x, y, pending, generator)
                take = pending & (run.success | (run.loss > out.loss))
                out.x_adv[take], out.success[take] = run.x_adv[take], run.success[take]
                out.loss[take] = run.loss[take]
        return out

    def _query(self, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        logits = self.model(x)
        return margin_loss(logits, y), logits.argmax(1) != y

    def _single_run(
        self, x: Tensor, y: Tensor, pending: Tensor, generator: torch.Generator
    ) -> AttackOutput:
        """Random search from a fresh start for the ``pending`` samples (Alg. 1). The samples
        still searching are kept as compact tensors, shrunk when some succeed."""
        best = _unbroken(self._start(x, generator))
        idx = pending.nonzero()[:, 0]
        best.loss[idx], best.success[idx] = self._query(best.x_adv[idx], y[idx])
        alive = idx[~best.success[idx]]
        x_a, best_a, y_a, loss_a = x[alive], best.x_adv[alive], y[alive], best.loss[alive]
        for query in range(self.n_queries):
            if len(alive) == 0:
                break
            side, draws = self._draws(x, query, generator)
            cand = self._propose(x_a, best_a, side, *(d[alive] for d in draws))
            loss, success = self._query(cand, y_a)
            take = success | (loss > loss_a)
            best_a[take], loss_a[take] = cand[take], loss[take]
            if bool(success.any()):
                done = alive[success]
                best.x_adv[done], best.loss[done] = cand[success], loss[success]
                best.success[done] = True
                keep = ~success
                alive, x_a, best_a, y_a, loss_a = (
                    v[keep] for v in (alive, x_a, best_a, y_a, loss_a)
                )
        best.x_adv[alive], best.loss[alive] = best_a, loss_a
        return best

    def _side(self, query: int, x: Tensor) -> int:
        """The window side round(√(p·n_features/c)): ≥ 1 for L∞, odd and ≥ 3 for L2, ≤ min(H, W)."""
        h, w = x.shape[2:]
        p = square_fraction(self.p_init, query, self.n_queries, self.rescale_schedule)
        s = round(math.sqrt(p * h * w))
        if self.norm == "L2":
            s = max(s, 3)
            s += 1 - s % 2
        return min(max(s, 1), h, w)

    def _draws(
        self, x: Tensor, query: int, generator: torch.Generator
    ) -> tuple[int, tuple[Tensor, ...]]:
        """(window side, per-sample draws for the whole batch): L∞ the window corner and signs
        (n, c); L2 two window corners, signs and the bump orientation."""
        n, c, h, w = x.shape
        s = self._side(query, x)
        count = 2 if self.norm == "Linf" else 4
        corners = [
            torch.randint(0, (h if i % 2 == 0 else w) - s + 1, (n,), generator=generator)
            for i in range(count)
        ]
        extra = [_signs((n, c), generator)]
        if self.norm == "L2":
            extra.append(torch.randint(0, 2, (n,), generator=generator).bool())
        return s, tuple(t.to(x.device) for t in (*corners, *extra))

    def _start(self, x: Tensor, generator: torch.Generator) -> Tensor:
        if self.norm == "Linf":
            stripes = _signs((*x.shape[:2], 1, x.shape[3]), generator).to(
                device=x.device, dtype=x.dtype
            )
            return (x + self.eps * stripes).clamp(0.0, 1.0)
        return self._grid_start(x, generator)

    def _grid_start(self, x: Tensor, generator: torch.Generator) -> Tensor:
        """L2 start: a grid of s×s bumps (s = H // 5) with random signs per channel and random
        orientation, scaled to ‖δ‖₂ = ε (§3.2)."""
        n, c, h, w = x.shape
        s = max(h // 5, 1)
        offset = (h - 5 * s) // 2
        tops = [offset + i * s for i in range(h // s) if offset + i * s < h]
        lefts = [offset + j * s for j in range(w // s) if offset + j * s < w]
        signs = _signs((n, len(tops) * len(lefts), c), generator)
        flips = torch.randint(0, 2, (n, len(tops) * len(lefts)), generator=generator).bool()
        delta = torch.zeros(x.shape)
        pattern = _pattern(s)
        for k, (top, left) in enumerate((t, le) for t in tops for le in lefts):
            bump = torch.where(flips[:, k, None, None], pattern.T, pattern)[:, None]
            cell = delta[:, :, top : top + s, left : left + s]
            cell += (bump * signs[:, k, :, None, None])[:, :, : cell.shape[2], : cell.shape[3]]
        delta = delta.to(device=x.device, dtype=x.dtype)
        return (x + self._on_sphere(delta)).clamp(0.0, 1.0)

    def _on_sphere(self, delta: Tensor) -> Tensor:
        norms = flat_norms(delta, "L2").view(-1, 1, 1, 1)
        return delta * (self.eps / (norms + _TINY))

    def _propose(self, x: Tensor, x_best: Tensor, s: int, *draws: Tensor) -> Tensor:
        if self.norm == "Linf":
            return self._propose_linf(x, x_best, s, *draws)
        return self._propose_l2(x, x_best, s, *draws)

    def _propose_linf(
        self, x: Tensor, x_best: Tensor, s: int, top: Tensor, left: Tensor, signs: Tensor
    ) -> Tensor:
        """Set the window to x ± ε per channel (§3.1); where that changes nothing, use −signs.
        Works on the gathered windows (n, s, s, c) only."""
        window = _window_index(top, left, s)
        x_win = x.permute(0, 2, 3, 1)[window]
        step = self.eps * signs.to(x.dtype)[:, None, None, :]
        new = (x_win + step).clamp(0.0, 1.0)
        same = (new == x_best.permute(0, 2, 3, 1)[window]).flatten(1).all(1)
        new = torch.where(same[:, None, None, None], (x_win - step).clamp(0.0, 1.0), new)
        cand = x_best.clone()
        cand.permute(0, 2, 3, 1)[window] = new
        return cand

    def _propose_l2(
        self,
        x: Tensor,
        x_best: Tensor,
        s: int,
        top: Tensor,
        left: Tensor,
        top2: Tensor,
        left2: Tensor,
        signs: Tensor,
        flip: Tensor,
    ) -> Tensor:
        """Move the mass of window 2 and window 1 into a new bump on window 1 (§3.2, official
        square.py): the bump's per-channel norm uses the budget left, √(max(ε² − ‖δ‖², 0)/c +
        ‖δ on both windows‖²), then the whole perturbation goes back onto the ε-sphere."""
        delta = x_best - x
        c, h, w = x.shape[1:]
        win1 = _window_index(top, left, s)
        second = _window_mask(top2, left2, s, h, w)
        both = _window_mask(top, left, s, h, w) | second
        old = delta.permute(0, 2, 3, 1)[win1].permute(0, 3, 1, 2)  # (n, c, s, s)
        budget = (
            (self.eps**2 - flat_norms(delta, "L2") ** 2).clamp_min(0.0)[:, None] / c
            + (delta * both).flatten(2).pow(2).sum(2)
        ).sqrt()
        pattern = _pattern(s).to(device=x.device, dtype=x.dtype)
        bump = torch.where(flip[:, None, None], pattern.T, pattern)[:, None]
        new = bump * signs.to(x.dtype)[:, :, None, None] + old / (
            old.flatten(2).norm(dim=2)[:, :, None, None] + _TINY
        )
        new = new / (new.flatten(2).norm(dim=2)[:, :, None, None] + _TINY)
        delta = delta.masked_fill(second, 0.0)
        delta = delta.permute(0, 2, 3, 1).clone()
        delta[win1] = (new * budget[:, :, None, None]).permute(0, 2, 3, 1)
        return (x + self._on_sphere(delta.permute(0, 3, 1, 2))).clamp(0.0, 1.0)
