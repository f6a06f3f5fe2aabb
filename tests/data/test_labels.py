"""The one class-label rule (``robustssl.data.labels``): indices in [0, K), for tensors and
numpy arrays alike, and the checks that apply it keep their own messages."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from robustssl.attacks.checks import check_labels
from robustssl.data.labels import labels_outside
from robustssl.objectives import cross_entropy_loss


@pytest.mark.parametrize("kind", [torch.tensor, np.array])
def test_labels_outside_reports_the_range_only_when_it_leaves_0_to_k(kind) -> None:
    assert labels_outside(kind([0, 3, 9]), 10) is None
    assert labels_outside(kind([0, 3, 10]), 10) == (0, 10)
    assert labels_outside(kind([-1, 2]), 10) == (-1, 2)
    assert labels_outside(kind([[1, 2], [3, 12]]), 10) == (1, 12)  # any shape
    assert labels_outside(kind([]), 1) is None  # no labels: nothing outside
    assert labels_outside(np.array([255], dtype=np.uint8), 10) == (255, 255)


def test_the_callers_keep_their_messages() -> None:
    with pytest.raises(ValueError, match=r"y holds labels in \[0, 12\] .* must be in \[0, 10\)"):
        check_labels(torch.tensor([0, 12]), 10)
    with pytest.raises(ValueError, match=r"must lie in \[0, 2\] for 3 classes, got \[-1, 1\]"):
        cross_entropy_loss(torch.zeros(2, 3), torch.tensor([-1, 1]))
