"""DynACL's dynamic loss weighting against the reference (PKU-ML/DYNACL train_DynACL.py
L288–291)."""

from __future__ import annotations

import pytest
import torch

from robustssl.data.views.schedule import dynacl_strength
from robustssl.objectives import dynacl_adv_weight, dynacl_loss


@pytest.mark.parametrize(
    "epoch,weight",
    [
        (0, 1.0),
        (48, 1.0),
        (49, 1 + 0.05 * 2 / 3),  # reference epoch 50: ⌊50/50⌋ = 1, one epoch before μ drops
        (50, 1 + 0.05 * 2 / 3),
        (99, 1 + 0.10 * 2 / 3),
        (500, 1 + 0.50 * 2 / 3),  # ⌊501/50⌋ = 10
        (998, 1 + 0.95 * 2 / 3),
        (999, 1 + 2 / 3),  # the last epoch: 5/3
    ],
)
def test_weight_at_given_epochs_matches_the_reference(epoch, weight):
    assert dynacl_adv_weight(epoch, 1000) == pytest.approx(weight, abs=1e-12)


def test_weight_follows_the_strength_one_epoch_early():
    """w(t) = 1 + λ·(1 − μ(t + 1)) for every epoch but the last (the reference's off-by-one)."""
    for t in range(999):
        expected = 1 + 2 / 3 * (1 - dynacl_strength(t + 1, 1000))
        assert dynacl_adv_weight(t, 1000) == pytest.approx(expected, abs=1e-12)


def test_weight_is_capped_at_two():
    assert dynacl_adv_weight(9, 10, reload_every=1, swap=5.0) == 2.0
    assert dynacl_adv_weight(0, 10, reload_every=1, swap=5.0) == pytest.approx(1.5)


def test_loss_mixes_clean_and_adversarial_terms():
    clean, adv = torch.tensor(2.0), torch.tensor(4.0)
    assert float(dynacl_loss(clean, adv, 1.0)) == pytest.approx(3.0)  # ACL's plain average
    assert float(dynacl_loss(clean, adv, 5 / 3)) == pytest.approx((2 / 3 + 20 / 3) / 2)
    assert float(dynacl_loss(clean, adv, 2.0)) == pytest.approx(4.0)
    c = torch.tensor(2.0, requires_grad=True)
    a = torch.tensor(4.0, requires_grad=True)
    dynacl_loss(c, a, 1.5).backward()
    assert float(c.grad) == pytest.approx(0.25) and float(a.grad) == pytest.approx(0.75)


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="weight"):
        dynacl_loss(torch.tensor(1.0), torch.tensor(1.0), 2.5)
    with pytest.raises(ValueError, match="swap"):
        dynacl_adv_weight(0, 10, swap=-1.0)
    with pytest.raises(ValueError, match="epoch"):
        dynacl_adv_weight(10, 10)
