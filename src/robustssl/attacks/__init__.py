"""Attacks: threat models, a loss-agnostic PGD core and classifier attacks (docs/attacks.md).

Inputs are in [0,1], ε is in pixel units and normalisation lives inside the model. Attacks know
models and losses, never methods or training (ARCHITECTURE.md layer 4).
"""

from robustssl.attacks.adversary import AdversaryConfig, PretrainAdversaryConfig
from robustssl.attacks.apgd import APGD, apgd_checkpoints
from robustssl.attacks.autoattack import ATTACKS, VERSIONS, AutoAttack, AutoAttackResult
from robustssl.attacks.base import Attack
from robustssl.attacks.checks import LARGE_EPS_HINT, check_batch, check_eps, check_inputs
from robustssl.attacks.core import AttackOutput, loss_at, maximise, pgd_run
from robustssl.attacks.diagnostics import (
    Finding,
    Thresholds,
    check_gradient_masking,
    format_findings,
)
from robustssl.attacks.fab import FAB
from robustssl.attacks.mode import ModelMode, attack_mode
from robustssl.attacks.objective import (
    SampleObjective,
    classifier_objective,
    dlr_loss,
    dlr_targeted_loss,
    margin_loss,
    misclassified,
)
from robustssl.attacks.overfitting import OverfittingMonitor, check_catastrophic_overfitting
from robustssl.attacks.pgd import FGSM, PGD
from robustssl.attacks.plb import PLB
from robustssl.attacks.single_step import (
    FGSMRS,
    NFGSM,
    SINGLE_STEP_KINDS,
    SingleStep,
    SingleStepKind,
    single_step,
)
from robustssl.attacks.square import Square
from robustssl.attacks.sweep import (
    RobustnessCurve,
    accuracy_from_radii,
    min_norm_curve,
    robust_accuracy_curve,
)
from robustssl.attacks.threat import NORMS, Norm, ThreatModel, canonical_norm, flat_norms
from robustssl.attacks.twin import inference_twin

__all__ = [
    "APGD",
    "ATTACKS",
    "FAB",
    "FGSM",
    "FGSMRS",
    "LARGE_EPS_HINT",
    "NFGSM",
    "NORMS",
    "PGD",
    "PLB",
    "SINGLE_STEP_KINDS",
    "VERSIONS",
    "AdversaryConfig",
    "Attack",
    "AttackOutput",
    "AutoAttack",
    "AutoAttackResult",
    "Finding",
    "ModelMode",
    "Norm",
    "OverfittingMonitor",
    "PretrainAdversaryConfig",
    "RobustnessCurve",
    "SampleObjective",
    "SingleStep",
    "SingleStepKind",
    "Square",
    "ThreatModel",
    "Thresholds",
    "accuracy_from_radii",
    "apgd_checkpoints",
    "attack_mode",
    "canonical_norm",
    "check_batch",
    "check_catastrophic_overfitting",
    "check_eps",
    "check_gradient_masking",
    "check_inputs",
    "classifier_objective",
    "dlr_loss",
    "dlr_targeted_loss",
    "flat_norms",
    "format_findings",
    "inference_twin",
    "loss_at",
    "margin_loss",
    "maximise",
    "min_norm_curve",
    "misclassified",
    "pgd_run",
    "robust_accuracy_curve",
    "single_step",
]
