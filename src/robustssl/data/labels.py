"""The rule every class-label check applies: labels are class indices in [0, K).

The checks themselves stay with their callers, because each error names its own input and fix
(an attack batch, a dataset file, pseudo-label columns, a loss, a metric). The rule is this one
function.
"""

from __future__ import annotations

import numpy as np
import torch


def labels_outside(values: torch.Tensor | np.ndarray, num_classes: int) -> tuple[int, int] | None:
    """(min, max) of ``values`` when any of them lies outside [0, ``num_classes``); None when all
    are inside or there are none."""
    empty = values.numel() == 0 if isinstance(values, torch.Tensor) else np.size(values) == 0
    if empty:
        return None
    low, high = int(values.min()), int(values.max())
    return (low, high) if low < 0 or high >= num_classes else None
