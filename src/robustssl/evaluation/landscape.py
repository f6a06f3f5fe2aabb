"""The adversarial loss landscape along two filter-normalised directions in weight space.

Seed 001 §5.2, Figure 6: "the adversarial loss landscape w.r.t. model weights", drawn with the
method of Li et al. 2018 ("Visualizing the Loss Landscape of Neural Nets", [57]): pick random
Gaussian directions d₁, d₂ shaped like the weights; rescale each filter of a direction to the norm
of the matching filter of the weights (filter normalisation: d_{i,j} ← d_{i,j} / ‖d_{i,j}‖ ·
‖θ_{i,j}‖, a filter being one output slice of a weight tensor); leave biases and BatchNorm
parameters (1-D tensors) at zero; then evaluate L(θ + α d₁ + β d₂) on a grid of (α, β). Here L
is the adversarial loss: cross-entropy at PGD examples crafted against the perturbed model itself.

The model's weights, buffers, ``training`` flags and ``requires_grad`` flags are restored exactly
afterwards, even when the loss raises.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from robustssl.attacks import PGD, attack_mode
from robustssl.utils import make_generator
from robustssl.utils.progress import tqdm


@dataclass
class Landscape:
    """Losses on the grid: ``losses[i, j]`` at (alphas[i], betas[j])."""

    alphas: np.ndarray
    betas: np.ndarray
    losses: np.ndarray


def _named_params(model: nn.Module, names: Sequence[str] | None) -> list[tuple[str, nn.Parameter]]:
    params = list(model.named_parameters())
    if names is None:
        return params
    known = {n for n, _ in params}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f"unknown parameter names {unknown}; see model.named_parameters()")
    return [(n, p) for n, p in params if n in set(names)]


def filter_normalized_direction(
    model: nn.Module,
    seed: int = 0,
    names: Sequence[str] | None = None,
    ignore_1d: bool = True,
) -> list[Tensor]:
    """A random direction shaped like ``model``'s parameters (those in ``names``, default all),
    each filter rescaled to its weight filter's norm (Li et al. 2018 §4); 1-D parameters
    (biases, BN) are zero with ``ignore_1d``, else scaled as a whole."""
    gen = make_generator(seed)
    out = []
    for _, p in _named_params(model, names):
        d = torch.randn(p.shape, generator=gen, dtype=torch.float64)
        w = p.detach().to(torch.float64).cpu()
        if p.dim() <= 1:
            d = torch.zeros_like(d) if ignore_1d else d * w.norm() / (d.norm() + 1e-10)
        else:
            flat_d, flat_w = d.reshape(len(d), -1), w.reshape(len(w), -1)
            scale = flat_w.norm(dim=1) / (flat_d.norm(dim=1) + 1e-10)
            d = (flat_d * scale[:, None]).reshape(p.shape)
        out.append(d.to(device=p.device, dtype=p.dtype))
    return out


def adversarial_loss(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    norm: str = "Linf",
    eps: float = 8 / 255,
    steps: int = 10,
    step_size: float | None = None,
    seed: int = 0,
) -> float:
    """Mean cross-entropy of ``model`` (eval mode) at PGD examples crafted against it (all
    ``steps`` run, no early stop, the highest-loss iterate kept)."""
    attack = PGD(model, norm, eps, steps=steps, step_size=step_size, early_stop=False, seed=seed)
    x_adv = attack(x, y)
    with attack_mode(model, "eval"), torch.no_grad():
        return float(F.cross_entropy(model(x_adv), y))


def loss_landscape(
    model: nn.Module,
    loss_fn: Callable[[nn.Module], float],
    alphas: Sequence[float],
    betas: Sequence[float],
    directions: tuple[list[Tensor], list[Tensor]] | None = None,
    names: Sequence[str] | None = None,
    seed: int = 0,
    progress: bool = False,
) -> Landscape:
    """``loss_fn(model)`` at θ + α d₁ + β d₂ for every (α, β); directions default to two
    filter-normalised ones drawn from ``seed`` and ``seed + 1``. The model is restored exactly."""
    params = [p for _, p in _named_params(model, names)]
    if directions is None:
        directions = (
            filter_normalized_direction(model, seed, names),
            filter_normalized_direction(model, seed + 1, names),
        )
    for d in directions:
        if [t.shape for t in d] != [p.shape for p in params]:
            raise ValueError("each direction must hold one tensor per parameter, same shapes")
    saved = {k: v.detach().clone() for k, v in model.state_dict().items()}
    flags = {m: m.training for m in model.modules()}
    base = [p.detach().clone() for p in params]
    losses = np.zeros((len(alphas), len(betas)))
    grid = [(i, j) for i in range(len(alphas)) for j in range(len(betas))]
    try:
        for i, j in tqdm(grid, desc="loss landscape", disable=not progress, leave=False):
            with torch.no_grad():
                for p, p0, d1, d2 in zip(params, base, *directions, strict=True):
                    p.copy_(p0 + alphas[i] * d1 + betas[j] * d2)
            losses[i, j] = loss_fn(model)
    finally:
        model.load_state_dict(saved)
        for m, flag in flags.items():
            m.training = flag
    return Landscape(np.asarray(alphas, float), np.asarray(betas, float), losses)


def adversarial_landscape(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    alphas: Sequence[float],
    betas: Sequence[float],
    norm: str = "Linf",
    eps: float = 8 / 255,
    steps: int = 10,
    seed: int = 0,
    names: Sequence[str] | None = None,
) -> Landscape:
    """Seed 001 Figure 6: :func:`loss_landscape` of :func:`adversarial_loss` on (x, y)."""

    def loss(m: nn.Module) -> float:
        return adversarial_loss(m, x, y, norm, eps, steps, seed=seed)

    return loss_landscape(model, loss, alphas, betas, names=names, seed=seed)
