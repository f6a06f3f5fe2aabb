"""The toy-study architecture of seed 000 §6: one conv layer, one filter per class, global max-pool.

``PatternMatcher`` (seed 000 Figure 16): logit_c(x) = max over positions q of w_c·patch_q(x) + b_c.
The hand-made robust model sets w_c to pattern c divided by its pixel count (a clean pattern scores
exactly 1) without bias; it is robust to every L∞ perturbation with ε < 0.5 (seed 000 §6.1; proof
in docs/toy.md). The trainable model is the same module from a seeded random init, without bias
like the thesis code.

The forward pass is the conv written as one dense affine map per (class, position) — the
responses are ``x.flatten(1) @ Aᵀ + b`` with A built from the filters by a cached scatter. For
images this small it is about twice as fast as ``F.conv2d`` (the extended L-T epoch of
benchmarks/toy.py), and the certificate (:mod:`robustssl.evaluation.certify`) reads the very same
affine pieces, so what is certified is exactly what runs.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from robustssl.utils import make_generator


def patch_pixels(image_shape: tuple[int, int, int], kernel_size: int) -> Tensor:
    """(positions, C·k·k) flat pixel index of every filter tap at every valid position.

    Positions are row-major like ``conv2d(...).flatten(2)``; taps follow the weight's (C, kh, kw)
    order (``F.unfold``'s)."""
    c, h, w = image_shape
    if min(h, w) < kernel_size:
        raise ValueError(f"images {h}×{w} are smaller than the {kernel_size}×{kernel_size} filters")
    grid = torch.arange(c * h * w, dtype=torch.float64).view(1, c, h, w)
    return F.unfold(grid, kernel_size)[0].T.round().long()


class PatternMatcher(nn.Module):
    """Conv2d(in_channels → num_classes, kernel_size, stride 1, no padding) + global max-pool."""

    def __init__(
        self,
        num_classes: int = 2,
        kernel_size: int = 3,
        in_channels: int = 1,
        bias: bool = False,
        seed: int | None = 0,
    ) -> None:
        super().__init__()
        if num_classes < 2 or kernel_size < 1 or in_channels < 1:
            raise ValueError(
                f"need num_classes ≥ 2, kernel_size ≥ 1, in_channels ≥ 1; got {num_classes}, "
                f"{kernel_size}, {in_channels}"
            )
        self.conv = nn.Conv2d(in_channels, num_classes, kernel_size, bias=bias)
        self._pixels: dict[tuple[int, int, int], Tensor] = {}
        if seed is not None:
            self.reset_parameters(seed)

    def reset_parameters(self, seed: int) -> None:
        """PyTorch's default Conv2d init (uniform ±1/√fan_in), drawn from a seeded generator."""
        gen = make_generator(seed)
        bound = 1.0 / self.conv.weight[0].numel() ** 0.5
        with torch.no_grad():
            for p in self.parameters():
                p.copy_((torch.rand(p.shape, generator=gen) * 2 - 1) * bound)

    @property
    def kernel_size(self) -> int:
        return int(self.conv.kernel_size[0])

    @property
    def num_classes(self) -> int:
        return int(self.conv.out_channels)

    def pieces(self, image_shape: tuple[int, int, int]) -> tuple[Tensor, Tensor]:
        """Differentiable affine maps: A (classes, positions, C·H·W) and b (classes,) with
        responses[c, q] = A[c, q] · x.flatten() + b[c]."""
        if image_shape not in self._pixels:
            self._pixels[image_shape] = patch_pixels(image_shape, self.kernel_size)
        w = self.conv.weight
        pix = self._pixels[image_shape].to(w.device)
        n, (q, taps) = self.num_classes, pix.shape
        a = w.new_zeros(n, q, math.prod(image_shape))
        a = a.scatter(2, pix.expand(n, q, taps), w.reshape(n, 1, taps).expand(n, q, taps))
        b = self.conv.bias if self.conv.bias is not None else w.new_zeros(n)
        return a, b

    def responses(self, x: Tensor) -> Tensor:
        """Filter responses (B, classes, positions) before the max-pool."""
        if x.dim() != 4 or x.shape[1] != self.conv.in_channels:
            raise ValueError(
                f"expected (B, {self.conv.in_channels}, H, W) images, got {tuple(x.shape)}"
            )
        a, b = self.pieces(tuple(x.shape[1:]))  # type: ignore[arg-type]
        n, q, d = a.shape
        return (x.reshape(len(x), d) @ a.reshape(n * q, d).T).view(-1, n, q) + b[:, None]

    def forward(self, x: Tensor) -> Tensor:
        return self.responses(x).amax(dim=2)


def hand_made_model(patterns: Tensor) -> PatternMatcher:
    """The hand-made robust model: filter c = pattern c / its pixel count (seed 000 Figure 16)."""
    if patterns.dim() != 3 or patterns.shape[1] != patterns.shape[2] or len(patterns) < 2:
        raise ValueError(f"patterns must be (C ≥ 2, k, k), got {tuple(patterns.shape)}")
    counts = patterns.flatten(1).sum(1)
    if bool((counts <= 0).any()):
        raise ValueError("every pattern needs at least one pixel set")
    model = PatternMatcher(len(patterns), patterns.shape[1], seed=None)
    with torch.no_grad():
        model.conv.weight.copy_((patterns / counts[:, None, None]).unsqueeze(1))
    return model


def linear_pieces(
    model: PatternMatcher, image_shape: tuple[int, int, int]
) -> tuple[Tensor, Tensor]:
    """:meth:`PatternMatcher.pieces` detached, float64 on the CPU (for the certificates)."""
    with torch.no_grad():
        a, b = model.pieces(image_shape)
    return a.detach().double().cpu(), b.detach().double().cpu()
