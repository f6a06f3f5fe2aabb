"""Certification: exact L∞ certificates for conv + global-max-pool models (an LP per piece, with
verified counter-examples), the corner check of seed 000's Assumption 1, and the δ*/λ Lipschitz
certificate of seed 000 §7.2. See docs/toy.md."""

from robustssl.evaluation.certify.conv_maxpool import (
    CertificationResult,
    box,
    box_max,
    certified_accuracy_curve,
    certify,
)
from robustssl.evaluation.certify.corners import corner_margins
from robustssl.evaluation.certify.lipschitz import (
    LayerFactor,
    LipschitzBound,
    certified_radii,
    certified_radius,
    gradient_lipschitz,
    lipschitz_upper_bound,
    power_iteration,
    spectral_norm,
)

__all__ = [
    "CertificationResult",
    "LayerFactor",
    "LipschitzBound",
    "box",
    "box_max",
    "certified_accuracy_curve",
    "certified_radii",
    "certified_radius",
    "certify",
    "corner_margins",
    "gradient_lipschitz",
    "lipschitz_upper_bound",
    "power_iteration",
    "spectral_norm",
]
