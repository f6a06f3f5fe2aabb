"""Attacks: threat models, a loss-agnostic PGD core and classifier attacks (docs/attacks.md).

Inputs are in [0,1], ε is in pixel units and normalisation lives inside the model. Attacks know
models and losses, never methods or training (ARCHITECTURE.md layer 4).
"""

from robustssl.attacks.base import Attack, check_inputs
from robustssl.attacks.core import AttackOutput, evaluate, maximise, pgd_run
from robustssl.attacks.mode import ModelMode, attack_mode
from robustssl.attacks.objective import (
    SampleObjective,
    classifier_objective,
    dlr_loss,
    dlr_targeted_loss,
    margin_loss,
    misclassified,
)
from robustssl.attacks.pgd import FGSM, PGD
from robustssl.attacks.threat import NORMS, Norm, ThreatModel, canonical_norm, flat_norms

__all__ = [
    "FGSM",
    "NORMS",
    "PGD",
    "Attack",
    "AttackOutput",
    "ModelMode",
    "Norm",
    "SampleObjective",
    "ThreatModel",
    "attack_mode",
    "canonical_norm",
    "check_inputs",
    "classifier_objective",
    "dlr_loss",
    "dlr_targeted_loss",
    "evaluate",
    "flat_norms",
    "margin_loss",
    "maximise",
    "misclassified",
    "pgd_run",
]
