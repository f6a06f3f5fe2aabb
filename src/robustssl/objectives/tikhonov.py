"""Tikhonov (input-gradient) regularisation by double backpropagation (seed 004 eq. 2–3, 5;
Finlay & Oberman 2019, seed 004 ref. [2]).

The penalty is a differentiable function of the weights: the input gradient is taken with
``create_graph=True``, so ``(loss + λ/2·penalty).backward()`` also differentiates through it.
Norms are ℓ2 over all pixels of one sample (seed 004: "we always measured the norms in ℓ2").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import torch
from torch import Tensor


class TikhonovTerms(NamedTuple):
    """The loss the closure returned (reduced as its equation says) and the penalty ‖∇ₓL‖²."""

    loss: Tensor
    penalty: Tensor


def _as_input(x: Tensor) -> Tensor:
    """``x`` itself if it already takes part in a graph, else a leaf that requires grad."""
    if not x.is_floating_point():
        raise ValueError(f"inputs must be floating point images, got dtype {x.dtype}")
    return x if x.requires_grad else x.detach().requires_grad_(True)


def row_grad_sq_norms(loss: Tensor, inputs: Sequence[Tensor]) -> list[Tensor]:
    """Per-row ‖∂loss/∂input_row‖² (one (B_i,) tensor per input) for a scalar ``loss``, with the
    graph kept (create_graph=True) so the result can be trained through."""
    if loss.dim() != 0:
        raise ValueError(f"loss must be a scalar, got shape {tuple(loss.shape)}; reduce it first")
    grads = torch.autograd.grad(loss, list(inputs), create_graph=True, allow_unused=True)
    return [
        x.new_zeros(x.shape[0]) if g is None else g.flatten(1).pow(2).sum(1)
        for g, x in zip(grads, inputs, strict=True)
    ]


def supervised_tikhonov(loss_fn: Callable[[Tensor], Tensor], x: Tensor) -> TikhonovTerms:
    """Seed 004 eq. 2: ``loss_fn(x)`` gives per-sample losses L_i (B,); returns their mean and
    the batch mean of ‖∇_{x_i} L‖², where L = Σ_j L_j (= ∇L_i when samples do not interact;
    with train-mode BatchNorm the batch statistics couple them, as in Finlay & Oberman)."""
    x = _as_input(x)
    losses = loss_fn(x)
    if losses.shape != (x.shape[0],):
        raise ValueError(
            f"loss_fn must return one loss per sample, shape ({x.shape[0]},), got "
            f"{tuple(losses.shape)}; use reduction='none'"
        )
    (sq_norms,) = row_grad_sq_norms(losses.sum(), [x])
    return TikhonovTerms(losses.mean(), sq_norms.mean())


def contrastive_penalty(loss: Tensor, views: Sequence[Tensor]) -> Tensor:
    """Seed 004 eq. 3's R for a batch loss already computed from ``views`` (m tensors (B, …)):
    Σ_k (1/m) Σ_v ‖∇_{x̃_{v,k}} L‖², the per-image average over its views of the squared input
    gradient norms of the *batch* loss, summed (not averaged) over images (m = 2 in eq. 3)."""
    if len(views) < 1:
        raise ValueError("need at least one view")
    norms = row_grad_sq_norms(loss, views)
    return torch.stack([n.sum() for n in norms]).sum() / len(views)


def contrastive_tikhonov(
    loss_fn: Callable[[list[Tensor]], Tensor], views: Sequence[Tensor]
) -> TikhonovTerms:
    """Seed 004 eq. 3: ``loss_fn(views)`` gives the scalar batch loss (e.g. NT-Xent, eq. 1);
    returns it and its penalty R (:func:`contrastive_penalty`)."""
    inputs = [_as_input(v) for v in views]
    loss = loss_fn(inputs)
    return TikhonovTerms(loss, contrastive_penalty(loss, inputs))
