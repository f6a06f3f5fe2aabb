"""Random translation + flip (AdvCL's crop+flip "original" view): exact pixel shifts."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from robustssl.data.views.translate import random_translate_flip
from robustssl.utils import make_generator


def test_matches_a_per_sample_padded_crop_and_flip() -> None:
    x = torch.rand(6, 3, 10, 12, generator=make_generator(0))
    out = random_translate_flip(x, 3, 0.5, make_generator(1))
    g = make_generator(1)
    top = torch.randint(0, 7, (6,), generator=g)
    left = torch.randint(0, 7, (6,), generator=g)
    flip = torch.rand(6, generator=g) < 0.5
    padded = F.pad(x, (3, 3, 3, 3))
    for i in range(6):
        crop = padded[i, :, top[i] : top[i] + 10, left[i] : left[i] + 12]
        assert torch.equal(out[i], crop.flip(2) if flip[i] else crop)
    assert bool(flip.any()) and not bool(flip.all())


def test_identity_cases_and_errors() -> None:
    x = torch.rand(4, 1, 8, 8, generator=make_generator(2))
    assert torch.equal(random_translate_flip(x, 0, 0.0, make_generator(0)), x)
    assert torch.equal(random_translate_flip(x, 0, 1.0, make_generator(0)), x.flip(3))
    with pytest.raises(ValueError, match="padding"):
        random_translate_flip(x, -1)
