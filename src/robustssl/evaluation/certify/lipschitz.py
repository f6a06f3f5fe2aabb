"""The δ*/λ certificate of seed 000 §7.2 (eq. 20–22): a regressor f with Lipschitz constant λ
followed by a fixed classification head whose decision boundaries are δ* away from every class
is robust to every perturbation with ‖r‖ < δ*/λ, since |f(x + r) − f(x)| ≤ λ‖r‖ ≤ δ*.

λ is bounded by the product of per-layer constants of an ``nn.Sequential`` chain:

- L2: spectral norms of each linear layer's operator at its actual input shape: Linear by SVD,
  Conv2d (with its stride / padding) and average pooling by Lanczos iteration on AᵀA with the
  adjoint from autograd — the Krylov refinement of power iteration, which converges to machine
  precision where plain power iteration (:func:`power_iteration`, kept for comparison) stalls on
  clustered singular values and stops below the norm (tests check both against dense SVDs).
- L∞: induced ∞-norms, exact and in closed form: the largest absolute row sum, i.e. Linear
  max_i Σ_j |W_ij| and, for Conv2d, the max of conv(|W|, 1) over output units (borders included).
  For ‖Δx‖∞ → ‖Δf‖∞ the bound is the smaller of their product and √d times the L2 product.

Elementwise activations with slope ≤ 1 count 1 (Sigmoid ¼), affine BatchNorm (eval) and
:class:`~robustssl.models.Normalize` their largest |scale|, max-pooling √m in L2 (m = most windows
one pixel falls in) and 1 in L∞. The empirical side: the largest input-gradient dual norm at the
data (:func:`gradient_lipschitz`), and the attack-based local ratio of
:func:`robustssl.evaluation.representation.local_lipschitz`.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import torch
import torch.nn.functional as F
from scipy.sparse.linalg import LinearOperator, eigsh
from torch import Tensor, nn

from robustssl.models.normalize import Normalize
from robustssl.utils import make_generator

_ONE = (nn.ReLU, nn.LeakyReLU, nn.Tanh, nn.Identity, nn.Flatten, nn.Dropout, nn.ReLU6, nn.Hardtanh)


@dataclass
class LayerFactor:
    """One layer's Lipschitz constants in L2 and L∞."""

    name: str
    kind: str
    l2: float
    linf: float


@dataclass
class LipschitzBound:
    """Per-layer factors and their products; ``bound(norm)`` is λ for inputs measured in norm."""

    input_dim: int
    layers: list[LayerFactor] = field(default_factory=list)

    @property
    def l2(self) -> float:
        return math.prod(f.l2 for f in self.layers)

    @property
    def linf(self) -> float:
        """λ for ‖Δx‖∞ → ‖Δf‖∞: the ∞-norm product, or √d times the L2 product if smaller."""
        return min(math.prod(f.linf for f in self.layers), math.sqrt(self.input_dim) * self.l2)

    def bound(self, norm: str) -> float:
        if norm not in ("L2", "Linf"):
            raise ValueError(f"norm must be 'L2' or 'Linf', got {norm!r}")
        return self.l2 if norm == "L2" else self.linf


def _gram(op: Callable[[Tensor], Tensor], shape: tuple[int, ...]) -> Callable[[Tensor], Tensor]:
    """v ↦ AᵀA v for the linear map A = ``op`` on ``shape`` inputs (Aᵀ by autograd)."""

    def apply(v: Tensor) -> Tensor:
        x = v.detach().reshape(1, *shape).requires_grad_(True)
        with torch.enable_grad():
            u = op(x)
            (w,) = torch.autograd.grad(u, x, grad_outputs=u.detach())
        return w.reshape(-1)

    return apply


def power_iteration(
    op: Callable[[Tensor], Tensor],
    shape: tuple[int, ...],
    iters: int = 1000,
    seed: int = 0,
    tol: float = 1e-9,
) -> float:
    """Largest singular value of the linear map ``op`` on ``shape`` inputs by plain power
    iteration on AᵀA, stopped when an estimate changes by less than ``tol`` (relative). It
    approaches from below and stalls when the top singular values cluster; the bound uses
    :func:`spectral_norm`, which needs the same products and does not stall."""
    gram = _gram(op, shape)
    v = torch.randn(math.prod(shape), generator=make_generator(seed), dtype=torch.float64)
    v, sigma = v / v.norm(), 0.0
    for _ in range(iters):
        w = gram(v)
        new = float(w.norm()) ** 0.5
        v = w / w.norm().clamp_min(1e-300)
        if abs(new - sigma) <= tol * max(new, 1e-300):
            return new
        sigma = new
    return sigma


def spectral_norm(op: Callable[[Tensor], Tensor], shape: tuple[int, ...], seed: int = 0) -> float:
    """Largest singular value of the linear map ``op`` on ``shape`` inputs, to machine precision:
    Lanczos iteration on AᵀA (ARPACK via ``scipy.sparse.linalg.eigsh``) — power iteration's
    Krylov refinement, with the same matrix-vector products; a dense eigensolve when small."""
    gram, d = _gram(op, shape), math.prod(shape)
    if d <= 64:
        matrix = torch.stack([gram(e) for e in torch.eye(d, dtype=torch.float64)])
        return float(torch.linalg.eigvalsh(matrix).max().clamp_min(0)) ** 0.5
    apply = lambda v: gram(torch.from_numpy(np.asarray(v, dtype=np.float64))).numpy()  # noqa: E731
    v0 = torch.randn(d, generator=make_generator(seed), dtype=torch.float64).numpy()
    lin = LinearOperator((d, d), matvec=apply, dtype=np.float64)
    top = eigsh(lin, k=1, which="LA", v0=v0, tol=0, return_eigenvectors=False)
    return float(max(top[0], 0.0)) ** 0.5


def _pair(value: int | tuple[int, ...]) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else (int(value[0]), int(value[1]))


def _conv_op(conv: nn.Conv2d) -> Callable[[Tensor], Tensor]:
    w = conv.weight.detach().double()
    return lambda x: F.conv2d(
        x,
        w,
        None,
        stride=conv.stride,
        padding=conv.padding,
        dilation=conv.dilation,
        groups=conv.groups,
    )


def layer_factor(name: str, module: nn.Module, in_shape: tuple[int, ...], seed: int) -> LayerFactor:
    """The L2 / L∞ constants of one module given its input shape (without batch)."""
    kind = type(module).__name__
    if isinstance(module, nn.Linear):
        w = module.weight.detach().double()
        l2 = float(torch.linalg.matrix_norm(w, ord=2))
        return LayerFactor(name, kind, l2, float(w.abs().sum(1).max()))
    if isinstance(module, nn.Conv2d):
        op = _conv_op(module)
        ones = torch.ones((1, *in_shape), dtype=torch.float64)
        w = module.weight.detach().double().abs()
        rows = F.conv2d(
            ones,
            w,
            None,
            stride=module.stride,
            padding=module.padding,
            dilation=module.dilation,
            groups=module.groups,
        )
        return LayerFactor(name, kind, spectral_norm(op, in_shape, seed=seed), float(rows.max()))
    if isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
        if module.training or module.running_var is None:
            raise ValueError(f"{name}: BatchNorm must be in eval mode with running statistics")
        scale = (module.running_var + module.eps).rsqrt()
        if module.weight is not None:
            scale = scale * module.weight.detach()
        s = float(scale.abs().max())
        return LayerFactor(name, kind, s, s)
    if isinstance(module, Normalize):
        s = float(1.0 / module.std.min())
        return LayerFactor(name, kind, s, s)
    if isinstance(module, nn.MaxPool2d):
        k, st = _pair(module.kernel_size), _pair(module.stride or module.kernel_size)
        m = k[0] * k[1]  # windows holding one pixel: at most one per tap, …
        if _pair(module.dilation) == (1, 1):  # … and ⌈k/s⌉ per axis without dilation
            m = math.ceil(k[0] / st[0]) * math.ceil(k[1] / st[1])
        return LayerFactor(name, kind, math.sqrt(m), 1.0)
    if isinstance(module, (nn.AvgPool2d, nn.AdaptiveAvgPool2d)):
        l2 = spectral_norm(module, in_shape, seed=seed)
        ones = module(torch.ones((1, *in_shape), dtype=torch.float64))
        return LayerFactor(name, kind, l2, float(ones.max()))
    if isinstance(module, nn.Sigmoid):
        return LayerFactor(name, kind, 0.25, 0.25)
    if isinstance(module, _ONE):
        slope = getattr(module, "negative_slope", 0.0)
        if abs(slope) > 1:
            raise ValueError(f"{name}: LeakyReLU slope {slope} > 1 is not 1-Lipschitz")
        return LayerFactor(name, kind, 1.0, 1.0)
    raise ValueError(
        f"{name}: no Lipschitz rule for {kind}; lipschitz_upper_bound handles nn.Sequential chains "
        "of Linear, Conv2d, BatchNorm, Normalize, pooling and 1-Lipschitz activations"
    )


def _chain(model: nn.Module, prefix: str = "") -> list[tuple[str, nn.Module]]:
    if isinstance(model, nn.Sequential):
        out: list[tuple[str, nn.Module]] = []
        for name, child in model.named_children():
            out += _chain(child, f"{prefix}{name}.")
        return out
    return [(prefix.rstrip(".") or type(model).__name__, model)]


def lipschitz_upper_bound(
    model: nn.Module, input_shape: tuple[int, ...], seed: int = 0
) -> LipschitzBound:
    """Per-layer L2 / L∞ Lipschitz constants of a Sequential ``model`` on ``input_shape`` inputs."""
    chain = _chain(copy.deepcopy(model).double().eval())
    result = LipschitzBound(int(math.prod(input_shape)))
    x = torch.zeros((1, *input_shape), dtype=torch.float64)
    with torch.no_grad():
        for i, (name, module) in enumerate(chain):
            result.layers.append(layer_factor(name, module, tuple(x.shape[1:]), seed + i))
            x = module(x)
    return result


def gradient_lipschitz(f: nn.Module, x: Tensor, norm: str = "Linf") -> Tensor:
    """(n,) dual norm of ∇f(x) for a scalar-output f: the local Lipschitz constant at each x
    (‖∇f‖₁ for L∞ perturbations, ‖∇f‖₂ for L2). Its maximum is a lower bound on λ."""
    if norm not in ("L2", "Linf"):
        raise ValueError(f"norm must be 'L2' or 'Linf', got {norm!r}")
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        out = f(x)
        if out.dim() > 1 and out.shape[1:].numel() != 1:
            raise ValueError(f"f must return one value per sample, got shape {tuple(out.shape)}")
        (g,) = torch.autograd.grad(out.sum(), x)
    g = g.flatten(1)
    return g.abs().sum(1) if norm == "Linf" else g.norm(dim=1)


def certified_radius(delta_star: float, lipschitz: float) -> float:
    """ε < δ*/λ: the radius within which the δ*-separated task is provably robust (eq. 22) for a
    regressor that hits every in-class value's interval."""
    if delta_star < 0 or lipschitz < 0:
        raise ValueError("delta_star and the Lipschitz constant must be ≥ 0")
    return math.inf if lipschitz == 0 else delta_star / lipschitz


class FixedHead(Protocol):
    """A fixed classification head on a regressed scalar and each value's distance to its nearest
    decision boundary (e.g. :class:`robustssl.data.causal.IntervalTask`)."""

    def head(self, value: Tensor) -> Tensor: ...

    def margin(self, value: Tensor) -> Tensor: ...


def certified_radii(values: Tensor, targets: Tensor, task: FixedHead, lipschitz: float) -> Tensor:
    """Per-sample form of eq. 20–22: a regressed value f(x) that the fixed head classifies
    correctly stays so for every ‖r‖ < margin(f(x))/λ; 0 where the head is already wrong."""
    if values.shape != targets.shape:
        raise ValueError(f"values {tuple(values.shape)} and targets {tuple(targets.shape)} differ")
    right = task.head(values) == targets.to(values.device)
    radius = task.margin(values) / lipschitz if lipschitz > 0 else torch.full_like(values, math.inf)
    return torch.where(right, radius.double(), torch.zeros_like(radius, dtype=torch.float64))
