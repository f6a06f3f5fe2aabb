"""Input checks shared by every attack, AutoAttack, the ε-sweeps and the evaluation suite.

One place for the mistakes that would otherwise give a wrong number without an error
(docs/attacks.md, "What the attacks refuse"): labels outside ``[0, num_classes)``, NaN/inf pixels,
an L∞ ε ≥ 1 (the classic "8 instead of 8/255"), an empty batch, and inputs whose dtype differs
from the model's weights. Each is a ``ValueError`` that names the argument and the fix, raised
before any compute.

An empty batch is always an error: robust accuracy over no points is undefined, and returning 0 %
or NaN is exactly the silent wrong answer these checks exist to prevent.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from robustssl.attacks.mode import attack_mode
from robustssl.data.labels import labels_outside

LARGE_EPS_HINT = (
    "an L∞ ε ≥ 1 covers the whole [0,1] image box; pixel-unit ε is usually 8/255 ≈ 0.031 "
    "(CIFAR) or 0.1 (Fashion-MNIST). Did you mean ε/255?"
)


def check_eps(
    norm: str,
    eps: float,
    *,
    allow_large_eps: bool = False,
    name: str = "eps",
    config: bool = False,
    allow_zero: bool = False,
) -> None:
    """Refuse an L∞ radius ≥ 1 (pixels are in [0,1]) unless ``allow_large_eps`` says it is meant.

    The one ε rule of the attacks, the training adversaries and the evaluation config. ``config``:
    ``name`` is a config key, so ε must also be finite and > 0 (≥ 0 with ``allow_zero``, for the
    points of a curve) and the fix names the key."""
    if config:
        low_ok = eps >= 0 if allow_zero else eps > 0
        if not math.isfinite(eps) or not low_ok:
            bound = "≥ 0" if allow_zero else "> 0"
            raise ValueError(
                f"{name} = {eps!r}: ε must be finite and {bound} (pixel units, e.g. 8/255)"
            )
    if norm == "Linf" and isinstance(eps, (int, float)) and eps >= 1 and not allow_large_eps:
        fix = f"set {name} in pixel units" if config else "pass allow_large_eps=True if you mean it"
        raise ValueError(f"{name} = {eps:g}: {LARGE_EPS_HINT} ({fix})")


def check_inputs(x: Tensor, y: Tensor) -> None:
    """Shape, dtype, device, emptiness, finiteness and range of (x, y), without the model."""
    if not isinstance(x, Tensor) or x.dim() < 2 or not x.is_floating_point():
        raise ValueError("x must be a float tensor of shape (B, C, H, W) (or (B, d)) in [0, 1]")
    if not isinstance(y, Tensor) or y.shape != x.shape[:1] or y.dtype != torch.long:
        raise ValueError(
            f"y must be a long tensor of shape ({len(x)},), got "
            f"{getattr(y, 'dtype', type(y).__name__)} of shape {tuple(getattr(y, 'shape', ()))}"
        )
    if len(x) == 0:
        raise ValueError(
            "x is an empty batch (0 samples): there is no accuracy to measure over no points; "
            "pass at least one sample"
        )
    if y.device != x.device:
        raise ValueError(f"x is on {x.device} but y on {y.device}; move both to one device")
    finite = torch.isfinite(x)
    if not bool(finite.all()):
        bad = int((~finite).sum())
        raise ValueError(
            f"x holds {bad} NaN or infinite value(s); attacks need finite pixels in [0, 1] "
            "(check the data pipeline, e.g. a division by a zero std)"
        )
    if float(x.min()) < 0.0 or float(x.max()) > 1.0:
        raise ValueError(
            "x must be in [0, 1]: attacks work in pixel space; put normalisation inside the model "
            "(robustssl.models.Normalize)"
        )


def model_dtype(model: nn.Module) -> torch.dtype | None:
    """The dtype of the model's first floating-point parameter (or buffer); None if it has none."""
    for t in (*model.parameters(), *model.buffers()):
        if t.is_floating_point():
            return t.dtype
    return None


def check_dtype(model: nn.Module, x: Tensor) -> None:
    """x must have the model's floating-point dtype (a float64 batch on a float32 model would fail
    deep inside the first convolution)."""
    dtype = model_dtype(model)
    if dtype is not None and x.dtype != dtype:
        raise ValueError(
            f"x is {x.dtype} but the model's weights are {dtype}; pass x.to({dtype}) (attacks run "
            "in the model's precision and return x_adv in it)"
        )


def model_classes(model: nn.Module, x: Tensor) -> int:
    """The number of classes the model predicts: one forward pass of ``x[:2]`` in eval mode (no
    BatchNorm statistics change; every flag is restored afterwards)."""
    with attack_mode(model, "eval"), torch.no_grad():
        logits = model(x[:2])
    if not isinstance(logits, Tensor) or logits.dim() != 2:
        shape = tuple(logits.shape) if isinstance(logits, Tensor) else type(logits).__name__
        raise ValueError(f"the model must return logits of shape (B, K), got {shape}")
    return int(logits.shape[1])


def check_labels(y: Tensor, num_classes: int, name: str = "y") -> None:
    """Labels must be class indices in [0, num_classes)."""
    outside = labels_outside(y, num_classes)
    if outside is not None:
        low, high = outside
        raise ValueError(
            f"{name} holds labels in [{low}, {high}] but the model predicts {num_classes} classes; "
            f"labels must be in [0, {num_classes})"
        )


def check_batch(model: nn.Module, x: Tensor, y: Tensor, num_classes: int | None = None) -> int:
    """Every check above for one batch; returns the number of classes (from ``num_classes`` or
    :func:`model_classes`)."""
    check_inputs(x, y)
    check_dtype(model, x)
    classes = num_classes if num_classes is not None else model_classes(model, x)
    check_labels(y, classes)
    return classes
