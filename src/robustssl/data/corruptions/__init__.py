"""The 15 CIFAR-10-C corruptions × 5 severities (Hendrycks & Dietterich 2019) on tensors.

``corrupt(x, name, severity, generator=... | seed=...)`` takes a float batch (B, C, H, W) in
[0, 1] (C = 1 or 3, any H, W ≥ 4) and returns the corrupted batch on the same device, with the
severity constants of the official CIFAR script. Where a family cannot follow the official
script exactly on tensors, docs/corruptions.md lists the difference.
"""

from robustssl.data.corruptions.params import FAMILIES, SEVERITIES
from robustssl.data.corruptions.registry import CORRUPTIONS, corrupt, corruption_names

__all__ = ["CORRUPTIONS", "FAMILIES", "SEVERITIES", "corrupt", "corruption_names"]
