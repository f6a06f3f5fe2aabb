"""Gradient-masking diagnostics: signs that a gradient-based robustness evaluation is unreliable.

Modelled on the checks of the official AutoAttack code (``checks.py``, REFERENCE_FACTS.md:
randomised outputs, probability outputs, zero gradients, Square beating the white-box attacks) and
on SPEC §7 ("accuracy must fall with ε and with steps; black-box must not beat white-box"; see also
Athalye et al. 2018, "Obfuscated gradients give a false sense of security"). Each check is one small
function returning one :class:`Finding`: a "warning" when it fires, otherwise an "info" saying what
was measured or why the check was skipped.
"""

from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor, nn

from robustssl.attacks.checks import check_batch
from robustssl.attacks.core import loss_at
from robustssl.attacks.mode import ModelMode, attack_mode, clean_correct
from robustssl.attacks.objective import classifier_objective
from robustssl.attacks.pgd import PGD
from robustssl.attacks.square import Square
from robustssl.attacks.threat import canonical_norm, flat_norms

Severity = Literal["warning", "info"]
ATTACK_CHECKS = (
    "zero_gradients",
    "large_eps_accuracy",
    "more_iterations",
    "black_box_beats_white_box",
)


@dataclass(frozen=True)
class Finding:
    """One diagnostic result: ``code`` names the check (stable), ``message`` what was seen, the
    numbers and (for warnings) the fix, ``value`` the measured statistic (None when skipped)."""

    code: str
    severity: Severity
    message: str
    value: float | None = None


@dataclass(frozen=True)
class Thresholds:
    """When each check fires. Shares are fractions of the points checked (0.002 = 0.2 pp)."""

    probability_tol: float = 1e-5  # |row sum − 1| and negativity tolerance (official checks.py)
    random_tol: float = 1e-4  # distance between L2-normalised outputs of repeated forwards
    zero_grad_norm: float = 1e-12  # an input gradient with L1 norm ≤ this counts as vanishing
    zero_grad_share: float = 0.05  # of the correctly classified points
    large_eps_accuracy: float = 0.02  # robust accuracy allowed at the very large ε
    iterations_gap: float = 0.05  # accuracy drop from the short to the long PGD
    black_box_gap: float = 0.002  # points broken only by Square (official checks.py: 0.2 pp)
    black_box_points: int = 2  # ... and at least this many of them


def _skipped(code: str, why: str) -> Finding:
    return Finding(code, "info", f"skipped: {why}", None)


def default_large_eps(norm: str, x: Tensor) -> float:
    """A radius whose ball around any image in [0,1]^d holds the constant grey image: 0.5 in L∞,
    0.5·√d in L2, 0.5·d in L1. Any classifier should be (almost) always fooled there."""
    d = x[0].numel()
    return {"Linf": 0.5, "L2": 0.5 * math.sqrt(d), "L1": 0.5 * d}[canonical_norm(norm)]


def check_probability_outputs(outputs: Tensor, tol: float = 1e-5) -> Finding:
    """Outputs (B, K) that are probabilities (rows ≥ 0 summing to 1) rather than logits."""
    code = "probability_outputs"
    if outputs.shape[1] < 2:
        return _skipped(code, f"the model has {outputs.shape[1]} output; needs ≥ 2 logits")
    sum_err = float((outputs.sum(1) - 1).abs().max())
    if float(outputs.min()) >= -tol and sum_err <= tol:
        return Finding(
            code,
            "warning",
            f"the outputs look like probabilities: every row is non-negative and sums to 1 "
            f"(max |Σ − 1| = {sum_err:.1e}). Cross-entropy on probabilities saturates and hides "
            "the gradient, and the margin and DLR losses lose their scale. Fix: make the model "
            "return logits (drop the final softmax) and apply softmax only for reporting.",
            sum_err,
        )
    lse_err = float(outputs.logsumexp(1).abs().max())
    if float(outputs.max()) <= tol and lse_err <= tol:
        return Finding(
            code,
            "info",
            f"the outputs look like log-probabilities (max |logsumexp| = {lse_err:.1e}); "
            "cross-entropy, margin and DLR do not change under a per-row shift, so the attacks "
            "are unaffected, but tools that expect logits may read them differently.",
            sum_err,
        )
    return Finding(code, "info", "the outputs look like logits (not probabilities).", sum_err)


def check_randomised_outputs(
    model: nn.Module,
    x: Tensor,
    n_forwards: int = 5,
    tol: float = 1e-4,
    model_mode: ModelMode = "eval",
) -> Finding:
    """Repeated forwards of the same inputs that differ (official checks.py: 5 forwards, 1e-4 on
    L2-normalised outputs), with the model in ``model_mode`` as during the attacks."""
    with attack_mode(model, model_mode), torch.no_grad():
        outs = [model(x) for _ in range(n_forwards)]
    unit = [o / (flat_norms(o, "L2")[:, None] + 1e-10) for o in outs]
    diff = max(float(flat_norms(u - unit[0], "L2").max()) for u in unit[1:])
    flips = torch.stack([o.argmax(1) != outs[0].argmax(1) for o in outs[1:]]).any(0)
    seen = (
        f"{n_forwards} forward passes of the same inputs differ by up to {diff:.2e} "
        f"(L2 distance of normalised outputs; tolerance {tol:g}), and the prediction changes "
        f"on {float(flips.float().mean()):.1%} of the points"
    )
    if diff <= tol:
        return Finding("randomised_outputs", "info", f"deterministic: {seen}.", diff)
    return Finding(
        "randomised_outputs",
        "warning",
        f"the model is randomised: {seen}. Single-draw gradients are noisy and robust accuracy "
        "changes from run to run. Fix: attack the expected output with EOT (APGD(eot_iter=20) or "
        "AutoAttack(version='rand')); if the randomness is dropout or noise meant only for "
        "training, evaluate in eval mode.",
        diff,
    )


def check_zero_gradients(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    max_share: float = 0.05,
    norm_tol: float = 1e-12,
    model_mode: ModelMode = "eval",
) -> Finding:
    """The share of correctly classified points whose input gradient of the CE loss vanishes
    (official checks.py warns on any exactly zero gradient). Where it vanishes, the margin loss's
    gradient tells a saturated softmax from a layer that blocks gradients."""
    code = "zero_gradients"
    correct = clean_correct(model, x, y, model_mode)
    if not bool(correct.any()):
        return _skipped(code, "no point is classified correctly")
    xc, yc = x[correct], y[correct]
    with attack_mode(model, model_mode):
        _, _, grad = loss_at(classifier_objective(model, "ce", yc), xc, need_grad=True)
    zero = flat_norms(grad, "L1") <= norm_tol
    share = float(zero.float().mean())
    seen = f"{share:.1%} of the {len(yc)} correctly classified points have a vanishing input "
    seen += f"gradient of the cross-entropy (L1 norm ≤ {norm_tol:g})"
    if share <= max_share:
        return Finding(code, "info", f"{seen}; at most {max_share:.0%} allowed.", share)
    with attack_mode(model, model_mode):
        objective = classifier_objective(model, "margin", yc[zero])
        _, _, margin_grad = loss_at(objective, xc[zero], need_grad=True)
    if bool((flat_norms(margin_grad, "L1") > norm_tol).all()):
        cause = (
            "the margin loss still has gradients there, so the softmax is saturated (CE ≈ 0 in "
            "floating point). Fix: attack the margin or DLR loss (PGD(loss='margin'), "
            "APGD(loss='dlr'), AutoAttack)."
        )
    else:
        cause = (
            "the margin loss has none either, so a layer blocks the gradient (quantisation, "
            "thresholding, argmax, a detached branch). Fix: attack through a differentiable "
            "approximation of that layer in the backward pass (BPDA, Athalye et al. 2018) and "
            "confirm with the score-based Square attack."
        )
    return Finding(code, "warning", f"{seen}: {cause}", share)


def check_large_eps(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    norm: str,
    eps: float,
    steps: int = 10,
    max_accuracy: float = 0.02,
    seed: int = 0,
    model_mode: ModelMode = "eval",
) -> Finding:
    """PGD at a very large ε (e.g. 0.5 in L∞) must drive the accuracy to about zero; if it does
    not, the attack is blocked rather than the model robust."""
    correct = clean_correct(model, x, y, model_mode)
    attack = PGD(  # a very large ε is the point of this check
        model, norm, eps, steps=steps, seed=seed, model_mode=model_mode, allow_large_eps=True
    )
    acc = float((correct & ~attack.run(x, y, active=correct).success).float().mean())
    seen = f"PGD-{steps} at ε = {eps:g} ({norm}) leaves {acc:.1%} accuracy"
    if acc <= max_accuracy:
        message = f"{seen} (at most {max_accuracy:.0%} expected)."
        return Finding("large_eps_accuracy", "info", message, acc)
    return Finding(
        "large_eps_accuracy",
        "warning",
        f"{seen}, where ≈ 0 % is expected (the ball holds images of every class): the gradient "
        "does not lead the attack. Fix: look for masked gradients (see zero_gradients), "
        "use BPDA/EOT or a score-based attack (Square) and report the strongest result.",
        acc,
    )


def check_more_iterations(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    norm: str,
    eps: float,
    steps: int = 10,
    more_steps: int = 100,
    restarts: int = 2,
    max_gap: float = 0.05,
    seed: int = 0,
    model_mode: ModelMode = "eval",
) -> tuple[Finding, Tensor]:
    """PGD-``steps`` against PGD-``more_steps`` with ``restarts`` (run on the points the short
    attack leaves): a large drop means gradients are unreliable. Also returns the mask (B,) of
    points robust to both, for :func:`check_black_box`."""
    correct = clean_correct(model, x, y, model_mode)
    short = PGD(model, norm, eps, steps=steps, seed=seed, model_mode=model_mode)
    robust_short = correct & ~short.run(x, y, active=correct).success
    long = PGD(
        model, norm, eps, steps=more_steps, restarts=restarts, seed=seed + 1, model_mode=model_mode
    )
    robust = robust_short & ~long.run(x, y, active=robust_short).success
    acc_short, acc_long = float(robust_short.float().mean()), float(robust.float().mean())
    gap = int((robust_short & ~robust).sum()) / len(y)  # from counts: no rounding at the bound
    seen = (
        f"at ε = {eps:g} ({norm}) PGD-{steps} leaves {acc_short:.1%} robust accuracy and "
        f"PGD-{more_steps} with {restarts} restarts {acc_long:.1%} (a drop of {gap * 100:.1f} pp)"
    )
    if gap <= max_gap:
        message = f"{seen}; at most {max_gap * 100:g} pp allowed."
        finding = Finding("more_iterations", "info", message, gap)
        return finding, robust
    message = (
        f"{seen}: a longer attack breaks many more points, so single gradients are unreliable "
        "(noisy, shattered or saturated). Fix: raise steps and restarts until the accuracy stops "
        "falling, tune the step size, and report the strongest attack (e.g. AutoAttack)."
    )
    return Finding("more_iterations", "warning", message, gap), robust


def check_black_box(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    norm: str,
    eps: float,
    white_robust: Tensor,
    queries: int = 1000,
    max_gap: float = 0.002,
    min_points: int = 2,
    seed: int = 0,
    model_mode: ModelMode = "eval",
) -> Finding:
    """Square (score-based, no gradients) on the points the white-box attacks left: a share above
    ``max_gap`` (official checks.py: 0.2 pp) broken only by Square means the white-box evaluation
    is unreliable. It fires from ``min_points`` such points on: on a few hundred points a single
    one is within noise (a PGD-trained Fashion-MNIST CNN shows one for some seeds)."""
    code = "black_box_beats_white_box"
    if canonical_norm(norm) not in ("Linf", "L2"):
        return _skipped(code, f"the Square attack supports L∞ and L2 only, not {norm}")
    if x.dim() != 4:
        return _skipped(code, f"the Square attack needs images (B, C, H, W), got {x.dim()}-d x")
    square = Square(model, norm, eps, n_queries=queries, seed=seed, model_mode=model_mode)
    count = int((white_robust & square.run(x, y, active=white_robust).success).sum())
    gap = count / len(y)
    seen = (
        f"at ε = {eps:g} ({norm}) Square ({queries} queries) breaks {count} of the "
        f"{int(white_robust.sum())} points that the white-box attacks left robust, "
        f"{gap:.1%} of all {len(y)} points"
    )
    if gap <= max_gap or count < min_points:
        allowed = f"it fires above {max_gap:.1%} and from {min_points} points on"
        hint = "; to be sure, rerun on more points" if count else ""
        return Finding(code, "info", f"{seen}; {allowed}{hint}.", gap)
    return Finding(
        code,
        "warning",
        f"{seen}: a black-box attack beats the white-box ones, so their gradients mislead. Fix: "
        "do not trust the gradient-based accuracy; find the masking (BPDA for non-differentiable "
        "layers, EOT for randomness, margin/DLR loss for saturation) and report the minimum over "
        "all attacks, including Square with more queries and restarts (AutoAttack).",
        gap,
    )


def check_gradient_masking(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    norm: str = "Linf",
    eps: float = 8 / 255,
    seed: int = 0,
    *,
    n_points: int = 200,
    steps: int = 10,
    more_steps: int = 100,
    restarts: int = 2,
    queries: int = 1000,
    large_eps: float | None = None,
    n_forwards: int = 5,
    model_mode: ModelMode = "eval",
    thresholds: Thresholds | None = None,
) -> list[Finding]:
    """Run the six checks in order on the first ``n_points`` samples and return one finding each:
    probability outputs, randomised outputs, vanishing gradients, accuracy at a very large ε
    (default :func:`default_large_eps`), PGD-``steps`` vs PGD-``more_steps`` × ``restarts``, and
    Square (``queries``) vs the white-box attacks. x in [0,1], ε in pixel units."""
    check_batch(model, x, y)
    norm, t = canonical_norm(norm), thresholds or Thresholds()
    x, y = x[:n_points].detach(), y[:n_points]
    with attack_mode(model, model_mode), torch.no_grad():
        outputs = model(x)
    if outputs.shape != (len(x), outputs.shape[-1]):
        raise ValueError(f"the model must return logits (B, K), got shape {tuple(outputs.shape)}")
    findings = [
        check_probability_outputs(outputs, t.probability_tol),
        check_randomised_outputs(model, x, n_forwards, t.random_tol, model_mode),
    ]
    why = _cannot_attack(outputs, y)
    if why is not None:
        return findings + [_skipped(code, why) for code in ATTACK_CHECKS]
    big = default_large_eps(norm, x) if large_eps is None else large_eps
    findings += [
        check_zero_gradients(model, x, y, t.zero_grad_share, t.zero_grad_norm, model_mode),
        check_large_eps(
            model,
            x,
            y,
            norm=norm,
            eps=big,
            steps=steps,
            max_accuracy=t.large_eps_accuracy,
            seed=seed,
            model_mode=model_mode,
        ),
    ]
    more, robust = check_more_iterations(
        model,
        x,
        y,
        norm=norm,
        eps=eps,
        steps=steps,
        more_steps=more_steps,
        restarts=restarts,
        max_gap=t.iterations_gap,
        seed=seed,
        model_mode=model_mode,
    )
    black_box = check_black_box(
        model,
        x,
        y,
        norm=norm,
        eps=eps,
        white_robust=robust,
        queries=queries,
        max_gap=t.black_box_gap,
        min_points=t.black_box_points,
        seed=seed + 2,
        model_mode=model_mode,
    )
    return [*findings, more, black_box]


def _cannot_attack(outputs: Tensor, y: Tensor) -> str | None:
    if outputs.shape[1] < 2:
        return f"the model has {outputs.shape[1]} output; the attacks need ≥ 2 logits"
    if not bool((outputs.argmax(1) == y).any()):
        return "no point is classified correctly, so there is nothing to attack"
    return None


def format_findings(findings: list[Finding], width: int = 100) -> str:
    """A readable report: a summary line, then one wrapped paragraph per finding."""
    n_warn = sum(f.severity == "warning" for f in findings)
    wrapper = textwrap.TextWrapper(width, subsequent_indent="    ", break_on_hyphens=False)
    lines = [f"gradient-masking diagnostics: {n_warn} warning(s), {len(findings)} checks"]
    lines += [wrapper.fill(f"[{f.severity.upper()}] {f.code}: {f.message}") for f in findings]
    return "\n".join(lines)
