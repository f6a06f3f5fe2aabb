"""Gradient-masking diagnostics: quiet on a plain model, loud on masked, softmax and random ones."""

from __future__ import annotations

import copy
import dataclasses

import pytest
import torch
from torch import Tensor, nn

from robust_model import small_classifier, synthetic_images, train_clean
from robustssl.attacks import Finding, check_gradient_masking, format_findings
from robustssl.attacks.diagnostics import (
    ATTACK_CHECKS,
    check_black_box,
    check_probability_outputs,
    check_randomised_outputs,
    check_zero_gradients,
)

CODES = ("probability_outputs", "randomised_outputs", *ATTACK_CHECKS)
FAST = {"n_points": 100, "more_steps": 20, "restarts": 2, "queries": 200}


class Quantise(nn.Module):
    """x → round(4x)/4 with no straight-through gradient: the input gradient is zero."""

    def forward(self, x: Tensor) -> Tensor:
        return torch.round(x * 4) / 4


class AddNoise(nn.Module):
    def forward(self, x: Tensor) -> Tensor:
        return x + 0.05 * torch.randn_like(x)


class Scaled(nn.Module):
    """Logits × scale: a large scale saturates the softmax so CE has exactly zero gradient."""

    def __init__(self, model: nn.Module, scale: float) -> None:
        super().__init__()
        self.model, self.scale = model, scale

    def forward(self, x: Tensor) -> Tensor:
        return self.model(x) * self.scale


@pytest.fixture(scope="module")
def plain() -> nn.Module:
    return train_clean(small_classifier(width=8), *synthetic_images(2000))


@pytest.fixture(scope="module")
def masked() -> nn.Module:
    return train_clean(
        nn.Sequential(Quantise(), small_classifier(width=8)), *synthetic_images(2000)
    )


@pytest.fixture(scope="module")
def data() -> tuple[Tensor, Tensor]:
    return synthetic_images(100, seed=5)


def warnings_of(findings: list[Finding]) -> dict[str, Finding]:
    return {f.code: f for f in findings if f.severity == "warning"}


def assert_names_a_fix(finding: Finding) -> None:
    assert "Fix:" in finding.message and finding.value is not None, finding


def test_plain_model_has_no_warnings(plain, data):
    x, y = data
    findings = check_gradient_masking(plain, x, y, "Linf", 0.01, seed=3, **FAST)
    assert tuple(f.code for f in findings) == CODES
    assert warnings_of(findings) == {}, format_findings(findings)
    value = {f.code: f.value for f in findings}
    assert value["zero_gradients"] == 0.0 and value["large_eps_accuracy"] == 0.0
    assert value["randomised_outputs"] == 0.0
    assert 0.0 <= value["more_iterations"] <= 0.05


def test_masked_model_fires_zero_gradient_and_white_box_failure_checks(masked, data):
    x, y = data
    findings = check_gradient_masking(masked, x, y, "Linf", 0.1, **FAST)
    fired = warnings_of(findings)
    assert fired["zero_gradients"].value == 1.0 and "BPDA" in fired["zero_gradients"].message
    assert {"black_box_beats_white_box", "large_eps_accuracy"} & fired.keys()
    for finding in fired.values():
        assert_names_a_fix(finding)


def test_saturated_softmax_is_told_apart_from_a_blocking_layer(plain, data):
    x, y = data
    finding = check_zero_gradients(Scaled(plain, 1e4), x, y)
    assert finding.severity == "warning" and finding.value > 0.5
    assert "saturated" in finding.message and "DLR" in finding.message
    assert_names_a_fix(finding)
    assert check_zero_gradients(plain, x, y).severity == "info"


def test_probability_outputs(plain, data):
    x, _ = data
    with torch.no_grad():
        logits = plain(x)
    probs = check_probability_outputs(logits.softmax(1))
    assert probs.severity == "warning" and probs.value < 1e-5 and "logits" in probs.message
    assert_names_a_fix(probs)
    log_probs = check_probability_outputs(logits.log_softmax(1))
    assert log_probs.severity == "info" and "log-probabilities" in log_probs.message
    assert check_probability_outputs(logits).severity == "info"


def test_softmax_model_fires_the_probability_check(plain, data):
    model = nn.Sequential(plain, nn.Softmax(dim=1))
    budget = {"n_points": 50, "steps": 5, "more_steps": 10, "restarts": 1, "queries": 50}
    findings = check_gradient_masking(model, *data, "Linf", 0.01, **budget)
    assert "probability_outputs" in warnings_of(findings)


def test_randomised_outputs(plain, data):
    x, _ = data
    noisy = check_randomised_outputs(nn.Sequential(AddNoise(), plain), x)
    assert noisy.severity == "warning" and noisy.value > 1e-4 and "EOT" in noisy.message
    assert_names_a_fix(noisy)
    dropout = nn.Sequential(nn.Dropout(0.3), copy.deepcopy(plain))  # train mode moves BN stats
    assert check_randomised_outputs(dropout, x, model_mode="train").severity == "warning"
    quiet = check_randomised_outputs(dropout, x, model_mode="eval")
    assert quiet.severity == "info" and quiet.value == 0.0


def test_checks_that_cannot_run_are_skipped_with_a_reason(plain, data):
    x, y = data
    every = torch.ones(len(y), dtype=torch.bool)
    l1 = check_black_box(plain, x, y, "L1", 5.0, every)
    assert l1.severity == "info" and l1.value is None and "L∞ and L2" in l1.message
    one_output = nn.Sequential(nn.Flatten(), nn.Linear(784, 1))
    findings = check_gradient_masking(one_output, x, torch.zeros_like(y), **FAST)
    assert tuple(f.code for f in findings) == CODES
    skipped = [f for f in findings if f.code in ATTACK_CHECKS]
    assert all(f.severity == "info" and "skipped" in f.message for f in skipped)


def test_bad_outputs_and_inputs_fail_clearly(plain, data):
    x, y = data
    with pytest.raises(ValueError, match="logits"):
        check_gradient_masking(nn.Sequential(plain, nn.Unflatten(1, (10, 1))), x, y)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        check_gradient_masking(plain, x * 2, y)


def test_findings_are_frozen_and_formatted(plain, data):
    finding = Finding("zero_gradients", "warning", "seen; Fix: do this.", 0.5)
    with pytest.raises(dataclasses.FrozenInstanceError):
        finding.value = 0.0  # type: ignore[misc]
    info = Finding("more_iterations", "info", "a long message " * 20, 0.0)
    text = format_findings([finding, info])
    assert text.splitlines()[0] == "gradient-masking diagnostics: 1 warning(s), 2 checks"
    assert "[WARNING] zero_gradients: seen; Fix: do this." in text
    assert "[INFO] more_iterations" in text
    assert max(len(line) for line in text.splitlines()) <= 100


@pytest.mark.realdata
def test_pgd_trained_fashion_mnist_model_has_no_warnings(robust_fmnist):
    """Default budget on 200 real test images at ε = 0.1 L∞. With seed 1, Square breaks one point
    that PGD-CE misses: within noise on 200 points, so the black-box check stays an info."""
    model, x, y = robust_fmnist["model"], robust_fmnist["x"], robust_fmnist["y"]
    findings = check_gradient_masking(model, x, y, "Linf", 0.1, seed=1)
    assert warnings_of(findings) == {}, format_findings(findings)
    value = {f.code: f.value for f in findings}
    assert value["zero_gradients"] == 0.0 and value["large_eps_accuracy"] == 0.0
    assert value["more_iterations"] <= 0.05 and value["black_box_beats_white_box"] <= 0.005
