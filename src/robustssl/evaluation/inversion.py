"""Feature inversion: images optimised so that an encoder's representation does what we ask.

Seed 001 §5.2, Figure 5 ("feature inversion map", FIM, following Mahendran & Vedaldi [53] and
Engstrom et al. [54]):

- :func:`invert_representation` starts from noise and minimises ‖f(x) − r‖₂ for a target
  representation r (usually f of a real image): robust encoders give inversions that look like
  the image, standard ones give noise-like patterns.
- :func:`feature_inversion_map` starts from a seed image x₀ and optimises x₀ + Δ to maximise one
  coordinate [f(x₀ + Δ)]_i of the representation (seed 001 prints the objective as a min over Δ;
  maximisation, as in [54], is ``maximize=True``).

Both run Adam on the pixels, projected back to [0, 1] after every step, with the encoder in eval
mode and its parameter flags restored (``robustssl.attacks.attack_mode``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from robustssl.attacks import attack_mode
from robustssl.utils import make_generator


@dataclass
class Inversion:
    """The optimised images and the objective after each step (step 0 = the start)."""

    x: Tensor
    history: list[float] = field(default_factory=list)


def _optimise(
    encoder: nn.Module,
    x0: Tensor,
    objective: Callable[[Tensor], Tensor],
    steps: int,
    lr: float,
) -> Inversion:
    """Minimise ``objective(f(x))`` over x ∈ [0, 1] from ``x0`` with projected Adam."""
    if steps < 1 or lr <= 0:
        raise ValueError(f"need steps ≥ 1 and lr > 0, got steps={steps}, lr={lr}")
    x = x0.detach().clone().clamp(0, 1).requires_grad_(True)
    opt = torch.optim.Adam([x], lr=lr)
    history = []
    with attack_mode(encoder, "eval"):
        for _ in range(steps):
            loss = objective(encoder(x))
            history.append(float(loss.detach()))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            with torch.no_grad():
                x.clamp_(0, 1)
        with torch.no_grad():
            history.append(float(objective(encoder(x))))
    return Inversion(x.detach(), history)


def invert_representation(
    encoder: nn.Module,
    target: Tensor,
    shape: tuple[int, ...],
    steps: int = 200,
    lr: float = 0.05,
    seed: int = 0,
    x_init: Tensor | None = None,
) -> Inversion:
    """Images of ``shape`` (B, C, H, W) whose representations approach ``target`` (B, D):
    start from uniform noise (seeded) or ``x_init``; ``history`` is the mean ‖f(x) − r‖₂."""
    target = target.detach()
    if target.dim() != 2 or target.shape[0] != shape[0]:
        raise ValueError(
            f"target must be (B, D) with B = shape[0] = {shape[0]}, got {tuple(target.shape)}"
        )
    if x_init is None:
        gen = make_generator(seed)
        x_init = torch.rand(shape, generator=gen).to(target.device)

    def distance(z: Tensor) -> Tensor:
        return (z.flatten(1) - target).norm(dim=1).mean()

    return _optimise(encoder, x_init, distance, steps, lr)


def feature_inversion_map(
    encoder: nn.Module,
    x0: Tensor,
    neuron: int,
    steps: int = 200,
    lr: float = 0.01,
    maximize: bool = True,
) -> Inversion:
    """Seed 001 Figure 5: optimise the seed images ``x0`` so that representation coordinate
    ``neuron`` grows (``maximize``) or shrinks; ``history`` is the mean activation (sign kept)."""
    with torch.no_grad(), attack_mode(encoder, "eval"):
        dim = encoder(x0[:1]).flatten(1).shape[1]
    if not 0 <= neuron < dim:
        raise ValueError(f"neuron {neuron} is outside the representation (dimension {dim})")
    sign = -1.0 if maximize else 1.0

    def activation(z: Tensor) -> Tensor:
        return sign * z.flatten(1)[:, neuron].mean()

    out = _optimise(encoder, x0, activation, steps, lr)
    out.history = [sign * h for h in out.history]
    return out
