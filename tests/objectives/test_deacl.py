"""DeACL's student loss: a hand-computed value, the frozen teacher, the attack's objective."""

from __future__ import annotations

import math

import pytest
import torch

from robustssl.objectives import deacl_attack_loss, deacl_loss


def tiny() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    student_clean = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    student_adv = torch.tensor([[0.0, 3.0], [1.0, 1.0]])
    teacher = torch.tensor([[1.0, 1.0], [0.0, 5.0]])
    return student_clean, student_adv, teacher


def test_hand_computed_value():
    """cos(s(x), t(x)) = (1/√2, 1), cos(s(x′), s(x)) = (0, 1/√2); γ = 2:
    L = −(1/√2 + 1)/2 − 2·(1/√2)/2."""
    s, a, t = tiny()
    r = 1 / math.sqrt(2)
    expected = -(r + 1) / 2 - 2 * (r / 2)
    assert float(deacl_loss(s, a, t)) == pytest.approx(expected, abs=1e-6)
    assert float(deacl_loss(s, a, t, weight=0.0)) == pytest.approx(-(r + 1) / 2, abs=1e-6)
    assert float(deacl_loss(s, a, t, weight=3.0)) == pytest.approx(
        -(r + 1) / 2 - 3 * (r / 2), abs=1e-6
    )


def test_teacher_gets_no_gradient_and_the_student_gets_both_terms():
    s, a, t = (v.clone().requires_grad_(True) for v in tiny())
    deacl_loss(s, a, t).backward()
    assert t.grad is None
    assert s.grad is not None and a.grad is not None
    assert float(a.grad.abs().sum()) > 0
    # s(x) is pulled by both terms: its gradient differs from the clean term's alone
    s2, t2 = s.detach().clone().requires_grad_(True), t.detach().clone()
    deacl_loss(s2, a.detach(), t2, weight=0.0).backward()
    assert not torch.allclose(s.grad, s2.grad)


def test_attack_loss_is_per_sample_away_from_the_teacher():
    _, a, t = tiny()
    a = a.clone().requires_grad_(True)
    t = t.clone().requires_grad_(True)
    loss = deacl_attack_loss(a, t)
    assert loss.shape == (2,)
    torch.testing.assert_close(loss, torch.full((2,), -1 / math.sqrt(2)))
    loss.sum().backward()
    assert t.grad is None and a.grad is not None
    # ascending the attack loss lowers the student's similarity to the teacher
    stepped = a.detach() + 0.1 * a.grad
    assert bool((deacl_attack_loss(stepped, t.detach()) > loss.detach()).all())


def test_scale_invariant_and_bounded():
    s, a, t = tiny()
    torch.testing.assert_close(deacl_loss(3 * s, 0.5 * a, 7 * t), deacl_loss(s, a, t))
    g = torch.Generator().manual_seed(0)
    s, a, t = (torch.randn(16, 8, generator=g) for _ in range(3))
    assert -3.0 - 1e-6 <= float(deacl_loss(s, a, t)) <= 3.0 + 1e-6


def test_bad_input_is_refused():
    s, a, t = tiny()
    with pytest.raises(ValueError, match="shape"):
        deacl_loss(s, a, t[:1])
    with pytest.raises(ValueError, match="shape"):
        deacl_attack_loss(a.view(-1), t.view(-1))
    with pytest.raises(ValueError, match="weight"):
        deacl_loss(s, a, t, weight=-1.0)
    with pytest.raises(ValueError, match="weight"):
        deacl_loss(s, a, t, weight=float("nan"))
