"""DynACL's augmentation schedule (Luo, Wang & Wang, ICLR 2023, "Rethinking the Effect of Data
Augmentation in Adversarial Contrastive Learning"): the SimCLR views anneal from strong to weak,
their strength μ falling step-wise every ``reload_every`` epochs.

Reference code PKU-ML/DYNACL ``train_DynACL.py``: the training views are rebuilt at the epochs
e = 1, 1 + K, 1 + 2K, … (1-indexed, ``epoch % reload_frequency == 1``, L217–221) with strength
μ = 1 − (e − 1)/E, K = ``--reload_frequency 50`` (L57), E = ``--epochs 1000`` (L31); so μ is 1.0
for epochs 1–50, 0.95 for 51–100, …, 0.05 for 951–1000 (no floor besides K/E). ``reload(strength)``
(L452–465) builds RandomResizedCrop(scale = (1 − 0.9μ, 1)), RandomHorizontalFlip(0.5) (not
annealed), ColorJitter(0.4μ, 0.4μ, 0.4μ, 0.1μ) applied with p = 0.8μ, RandomGrayscale(0.2μ), no
blur; at μ = 1 this is SimCLR's CIFAR augmentation with a crop scale from 0.1 (not 0.08).

Epochs here are 0-indexed (the trainer's ``current_epoch``): epoch t is the reference's t + 1.
"""

from __future__ import annotations

from robustssl.data.views.config import SimCLRViewConfig

DYNACL_RELOAD_EVERY = 50  # K, ``--reload_frequency`` (module docstring)
DYNACL_BASE_VIEWS = SimCLRViewConfig(crop_scale=(0.1, 1.0))  # the reference's views at μ = 1


def check_epoch(epoch: int, epochs: int, reload_every: int) -> None:
    """0 ≤ epoch < epochs and K ≥ 1, as ints."""
    for name, value, low in (("epochs", epochs, 1), ("reload_every", reload_every, 1)):
        if not isinstance(value, int) or isinstance(value, bool) or value < low:
            raise ValueError(f"{name} must be an int ≥ {low}, got {value!r}")
    if not isinstance(epoch, int) or isinstance(epoch, bool) or not 0 <= epoch < epochs:
        raise ValueError(f"epoch must be an int in [0, {epochs}) (0-indexed), got {epoch!r}")


def dynacl_strength(epoch: int, epochs: int, reload_every: int = DYNACL_RELOAD_EVERY) -> float:
    """μ at 0-indexed ``epoch`` of ``epochs``: 1 − ⌊epoch/K⌋·K/epochs (the strength of the last
    rebuild of the views, at epoch ⌊epoch/K⌋·K)."""
    check_epoch(epoch, epochs, reload_every)
    return 1.0 - (epoch // reload_every) * reload_every / epochs


def dynacl_views(strength: float, base: SimCLRViewConfig = DYNACL_BASE_VIEWS) -> SimCLRViewConfig:
    """The views at strength μ ∈ [0, 1]: the crop's lower scale lo + (1 − lo)·(1 − μ), colour-jitter
    strengths and the jitter, grayscale and blur probabilities × μ; size, crop ratio, flip and
    blur σ unchanged. With the default ``base`` this is the reference's ``reload(μ)``."""
    if not 0.0 <= strength <= 1.0:
        raise ValueError(f"strength must be in [0, 1], got {strength}")
    lo, hi = base.crop_scale
    scaled = ("brightness", "contrast", "saturation", "hue", "jitter_p", "grayscale_p", "blur_p")
    update = {name: getattr(base, name) * strength for name in scaled}
    update["crop_scale"] = (min(lo + (1.0 - lo) * (1.0 - strength), hi), hi)
    return SimCLRViewConfig.model_validate({**base.model_dump(), **update})
