"""Exact L∞ robustness certificates for conv + global-max-pool classifiers (beyond seed 000 §6.2).

For a :class:`~robustssl.models.toy.PatternMatcher`, logit_c(x) = max_q r_{c,q}(x) with affine
responses r_{c,q}(x) = A_{c,q}·x + b_c. A sample (x, y) is robust at ε iff, over the box
B = {x' : ‖x' − x‖∞ ≤ ε} (∩ [0, 1]^d when ``clip``, the attacks' threat model),

    M = max_{c ≠ y, q} max_{x' ∈ B} [ r_{c,q}(x') − max_p r_{y,p}(x') ]  <  0.

Each inner problem ("piece" (c, q)) maximises a concave piecewise-linear function over a box: the
linear program max A_{c,q}·x' + b_c − s s.t. A_{y,p}·x' + b_y ≤ s ∀p, x' ∈ B, solved by HiGHS
(``scipy.optimize.linprog``). M is the exact worst margin, not a bound (proof in docs/toy.md).
Both sides are checked independently of the solver's tolerances:

- lower side: the LP maximiser x' is a concrete point; its margin is recomputed in float64 and the
  model's own forward pass tells whether it flips the prediction (a verified counter-example);
- upper side: for any λ in the simplex, max_p r_{y,p} ≥ Σ_p λ_p r_{y,p}, so the closed-form box
  maximum of r_{c,q} − Σ_p λ_p r_{y,p} bounds the piece from above. The LP's dual multipliers give
  the λ that makes this bound tight (LP duality); λ = e_p gives cheap bounds that let us skip
  pieces that cannot beat the best one found (branch and bound on the exact maximum).

A sample is certified iff its dual upper bound is < 0; it is refuted by the maximiser when M ≥ 0
(ties are not robust; at M > 0 the forward pass flips the prediction). The gap between the two
sides is reported (float64 round-off, ~1e-15 here); M < 0 ≤ bound would leave a sample
``undecided``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.optimize import linprog
from torch import Tensor

from robustssl.models.toy import PatternMatcher, linear_pieces


@dataclass
class CertificationResult:
    """Per-sample certificates at one ε."""

    eps: float
    certified: Tensor  # (n,) bool: rigorous upper bound on the worst margin < 0
    margin: Tensor  # (n,) float64: exact worst max_{c≠y} logit_c − logit_y over the box
    bound: Tensor  # (n,) float64: the dual upper bound on that margin
    counterexamples: Tensor  # (n, C, H, W): a maximiser x' of the worst margin, inside the box
    flipped: Tensor  # (n,) bool: the model's forward pass on x' predicts a class ≠ y

    @property
    def certified_accuracy(self) -> float:
        return float(self.certified.double().mean()) if len(self.certified) else float("nan")

    @property
    def gap(self) -> float:
        """Largest dual bound − primal margin (0 for an exact solution)."""
        return float((self.bound - self.margin).max()) if len(self.margin) else 0.0

    @property
    def undecided(self) -> Tensor:
        """Samples neither certified (bound < 0) nor refuted (a point with margin ≥ 0): only a
        solver round-off larger than |margin| can leave one."""
        return ~self.certified & (self.margin < 0)

    def summary(self) -> dict[str, float | int]:
        return {
            "eps": self.eps,
            "n": len(self.certified),
            "certified_accuracy": self.certified_accuracy,
            "verified_counterexamples": int(self.flipped.sum()),
            "undecided": int(self.undecided.sum()),
            "gap": self.gap,
        }


def box(x: Tensor, eps: float, clip: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel bounds (lo, hi) of the L∞ ball around one image (∩ [0, 1] when ``clip``)."""
    flat = x.detach().double().cpu().reshape(-1).numpy()
    lo, hi = flat - eps, flat + eps
    return (np.clip(lo, 0.0, 1.0), np.clip(hi, 0.0, 1.0)) if clip else (lo, hi)


def box_max(w: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """max over the box of w·x for each row of ``w``: per pixel, the larger end."""
    return np.maximum(w * lo, w * hi).sum(-1)


def solve_piece(
    a_cq: np.ndarray, a_y: np.ndarray, b_c: float, b_y: float, lo: np.ndarray, hi: np.ndarray
) -> tuple[float, float, np.ndarray]:
    """(margin at x', dual upper bound, x') of max_{x'∈B} r_{c,q}(x') − max_p r_{y,p}(x')."""
    p, d = a_y.shape
    cost = np.concatenate([-a_cq, [1.0]])  # minimise s − A_{c,q}·x'
    a_ub = np.concatenate([a_y, -np.ones((p, 1))], axis=1)  # A_{y,p}·x' − s ≤ −b_y
    bounds = [*zip(lo.tolist(), hi.tolist(), strict=True), (None, None)]
    res = linprog(cost, A_ub=a_ub, b_ub=np.full(p, -b_y), bounds=bounds, method="highs")
    if res.status != 0:
        raise RuntimeError(f"the certification LP failed: {res.message}")
    x_star = np.clip(res.x[:d], lo, hi)
    value = float(a_cq @ x_star + b_c - (a_y @ x_star + b_y).max())
    lam = np.clip(-np.asarray(res.ineqlin.marginals), 0.0, None)
    if lam.sum() <= 0:
        lam = np.eye(p)[int(np.argmax(a_y @ x_star))]
    lam = lam / lam.sum()
    bound = float(box_max(a_cq - lam @ a_y, lo, hi) + b_c - b_y)
    return value, bound, x_star


def certify_sample(
    a: np.ndarray, b: np.ndarray, y: int, lo: np.ndarray, hi: np.ndarray
) -> tuple[float, float, np.ndarray]:
    """(exact worst margin, its dual upper bound, a maximiser) for one sample, by branch and
    bound over the pieces (c ≠ y, q)."""
    a_y = a[y]
    pieces = []  # (cheap upper bound with the best λ = e_p, c, q)
    for c in range(len(a)):
        if c != y:
            cheap = box_max(a[c][:, None, :] - a_y[None], lo, hi).min(axis=1) + b[c] - b[y]
            pieces += [(float(u), c, q) for q, u in enumerate(cheap)]
    pieces.sort(key=lambda t: -t[0])
    best, best_x, bound = -np.inf, (lo + hi) / 2, -np.inf
    for cheap, c, q in pieces:
        if cheap <= best:  # this piece's exact value ≤ cheap ≤ the best found: skip the LP
            bound = max(bound, cheap)
            continue
        value, dual, x_star = solve_piece(a[c, q], a_y, float(b[c]), float(b[y]), lo, hi)
        bound = max(bound, min(dual, cheap))
        if value > best:
            best, best_x = value, x_star
    return best, max(bound, best), best_x


def check_inputs(model: PatternMatcher, x: Tensor, y: Tensor, eps: float) -> None:
    if not isinstance(model, PatternMatcher):
        raise TypeError("certify needs a robustssl.models.toy.PatternMatcher (conv + max-pool)")
    if x.dim() != 4 or y.shape != x.shape[:1] or y.dtype != torch.long:
        raise ValueError("x must be (B, C, H, W) and y a long tensor of shape (B,)")
    if not eps >= 0:
        raise ValueError(f"eps must be ≥ 0, got {eps}")


def certify(
    model: PatternMatcher, x: Tensor, y: Tensor, eps: float, *, clip: bool = True
) -> CertificationResult:
    """Exact certificates of ``model`` on (x, y) against every L∞ perturbation of size ≤ ``eps``
    (kept in [0, 1] when ``clip``, as the attacks do)."""
    check_inputs(model, x, y, eps)
    a_t, b_t = linear_pieces(model, tuple(x.shape[1:]))  # type: ignore[arg-type]
    a, b = a_t.numpy(), b_t.numpy()
    rows = [certify_sample(a, b, int(t), *box(xi, eps, clip)) for xi, t in zip(x, y, strict=True)]
    margin = torch.tensor([r[0] for r in rows], dtype=torch.float64)
    bound = torch.tensor([r[1] for r in rows], dtype=torch.float64)
    x_adv = torch.from_numpy(np.stack([r[2] for r in rows])).to(x.dtype).view_as(x).to(x.device)
    with torch.no_grad():
        flipped = (model(x_adv).argmax(1) != y).cpu()
    return CertificationResult(float(eps), bound < 0, margin, bound, x_adv, flipped)


def certified_accuracy_curve(
    model: PatternMatcher, x: Tensor, y: Tensor, eps_list: list[float], *, clip: bool = True
) -> list[CertificationResult]:
    """:func:`certify` at each ε of ``eps_list``."""
    return [certify(model, x, y, e, clip=clip) for e in eps_list]
