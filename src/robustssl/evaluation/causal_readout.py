"""R² of latent readouts (seed 000 §7.3, eq. 23–26; Table 5's linear readout).

R² = 1 − SS_res / SS_tot per latent, with SS_res = Σ(yᵢ − fᵢ)², SS_tot = Σ(yᵢ − ȳ)². It is 1 for
perfect predictions, 0 for predicting the mean and negative for worse. A linear readout is fitted
in closed form (ridge-regularised least squares with an intercept) on training features and
scored on held-out ones.
"""

from __future__ import annotations

import torch
from torch import Tensor


def r2_score(y_true: Tensor, y_pred: Tensor) -> Tensor:
    """Per-column R² (eq. 23–26) of (n,) or (n, k) targets; NaN where SS_tot = 0."""
    if y_true.shape != y_pred.shape or y_true.dim() not in (1, 2) or len(y_true) < 2:
        raise ValueError(
            f"need matching (n,) or (n, k) shapes with n ≥ 2, got "
            f"{tuple(y_true.shape)} and {tuple(y_pred.shape)}"
        )
    y, f = y_true.double(), y_pred.double()
    ss_res = ((y - f) ** 2).sum(0)  # eq. 24
    ss_tot = ((y - y.mean(0)) ** 2).sum(0)  # eq. 23, 25
    r2 = 1 - ss_res / ss_tot  # eq. 26
    return torch.where(ss_tot > 0, r2, torch.full_like(r2, float("nan")))


def fit_linear_readout(
    features: Tensor, targets: Tensor, ridge: float = 1e-6
) -> tuple[Tensor, Tensor]:
    """(W (d, k), b (k,)) minimising ‖XW + b − Y‖² + ridge·n·‖W‖² in closed form (float64)."""
    if features.dim() != 2 or len(features) != len(targets) or ridge < 0:
        raise ValueError("features must be (n, d) with one target row per sample; ridge ≥ 0")
    x, y = features.double(), targets.double().reshape(len(targets), -1)
    mx, my = x.mean(0), y.mean(0)
    xc, yc = x - mx, y - my
    gram = xc.T @ xc + ridge * len(x) * torch.eye(x.shape[1], dtype=torch.float64)
    w = torch.linalg.lstsq(gram, xc.T @ yc).solution
    return w, my - mx @ w


def linear_readout_r2(
    train_features: Tensor,
    train_targets: Tensor,
    test_features: Tensor,
    test_targets: Tensor,
    ridge: float = 1e-6,
) -> Tensor:
    """Held-out R² per target column of a linear readout fitted on the training pair."""
    w, b = fit_linear_readout(train_features, train_targets, ridge)
    pred = test_features.double() @ w + b
    return r2_score(test_targets.double().reshape(len(test_targets), -1), pred)
