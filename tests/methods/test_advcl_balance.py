"""AdvCL's loss balance (issue 17 item 2): the reference's SupConLoss(temperature=τ) keeps
base_temperature = 0.07 and so multiplies the multi-view NT-Xent by τ/0.07; ``base_temperature``
reproduces its value on the same features."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from adversarial_ssl import make_method


def reference_supcon(features: torch.Tensor, temperature: float, base_temperature: float) -> float:
    """LijieFan/AdvCL losses.py SupConLoss.forward, unsupervised case (labels = mask = None,
    contrast_mode 'all'), written out: features (B, V, D) already L2-normalised by the model.

        mask        = eye(B) tiled V×V, self-contrast removed
        logits      = F Fᵀ / τ − rowmax            (F = the V views stacked view-major)
        log_prob    = logits − log Σ_{k≠i} exp(logits_ik)
        loss_i      = −(τ / base_τ) · mean_{j ∈ positives(i)} log_prob_ij
        loss        = mean over the V·B anchors
    """
    b, v, _ = features.shape
    contrast = torch.cat(torch.unbind(features, dim=1), dim=0)  # (V·B, D), view-major
    dots = contrast @ contrast.T / temperature
    logits = dots - dots.max(dim=1, keepdim=True).values.detach()
    not_self = 1.0 - torch.eye(v * b, dtype=features.dtype)
    mask = torch.eye(b, dtype=features.dtype).repeat(v, v) * not_self
    log_prob = logits - torch.log((torch.exp(logits) * not_self).sum(1, keepdim=True))
    mean_log_prob_pos = (mask * log_prob).sum(1) / mask.sum(1)
    loss = -(temperature / base_temperature) * mean_log_prob_pos
    return float(loss.view(v, b).mean())


@pytest.mark.parametrize("temperature", [0.5, 0.2])
def test_base_temperature_reproduces_the_reference_loss(temperature: float) -> None:
    g = torch.Generator().manual_seed(3)
    z = [torch.randn(12, 16, generator=g, dtype=torch.float64) for _ in range(4)]
    features = torch.stack([F.normalize(v, dim=1) for v in z], dim=1)
    expected = reference_supcon(features, temperature, 0.07)
    method = make_method(name="advcl", temperature=temperature, base_temperature=0.07)
    scaled, eq9 = method.contrastive_loss(z)
    assert float(scaled) == pytest.approx(expected, abs=1e-5)
    assert float(scaled) / float(eq9) == pytest.approx(temperature / 0.07)
    ours, eq9_ours = make_method(name="advcl", temperature=temperature).contrastive_loss(z)
    assert float(ours) == pytest.approx(float(eq9_ours))  # no scale without base_temperature
    assert float(ours) == pytest.approx(reference_supcon(features, temperature, temperature))


def test_base_temperature_changes_the_training_balance_not_the_attack() -> None:
    cfg = make_method(name="advcl", temperature=0.5, base_temperature=0.07).cfg
    assert cfg.contrastive_scale == pytest.approx(0.5 / 0.07)
    with pytest.raises(ValueError):
        make_method(name="advcl", base_temperature=0.0)
