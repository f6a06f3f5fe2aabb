"""Normalize: exact values, validation, buffers."""

from __future__ import annotations

import math

import pytest
import torch

from robustssl.models import Normalize


def test_exact_values() -> None:
    norm = Normalize((0.5, 0.25, 0.0), (0.5, 0.25, 2.0))
    x = torch.ones(2, 3, 4, 5)
    out = norm(x)
    assert out.shape == x.shape
    assert torch.equal(out[:, 0], torch.full((2, 4, 5), 1.0))
    assert torch.equal(out[:, 1], torch.full((2, 4, 5), 3.0))
    assert torch.equal(out[:, 2], torch.full((2, 4, 5), 0.5))
    assert torch.equal(norm(torch.zeros(1, 3, 1, 1)).flatten(), torch.tensor([-1.0, -1.0, 0.0]))


def test_input_gradient_is_one_over_std() -> None:
    norm = Normalize([0.1, 0.2], [0.5, 4.0])
    x = torch.rand(3, 2, 4, 4, requires_grad=True)
    norm(x).sum().backward()
    assert x.grad is not None
    assert torch.equal(x.grad[:, 0], torch.full((3, 4, 4), 2.0))
    assert torch.equal(x.grad[:, 1], torch.full((3, 4, 4), 0.25))


def test_buffers_in_state_dict_and_properties() -> None:
    norm = Normalize([0.2860], [0.3530])
    sd = norm.state_dict()
    assert set(sd) == {"mean", "std"}
    assert norm.num_channels == 1
    assert list(norm.parameters()) == []
    assert "mean=(0.286)" in repr(norm)
    assert math.isclose(sd["std"].item(), 0.3530, rel_tol=1e-6)


def test_accepts_tensors_and_copies_them() -> None:
    mean = torch.tensor([0.5, 0.5])
    norm = Normalize(mean, torch.tensor([1.0, 1.0]))
    mean.fill_(9.0)
    assert torch.equal(norm.mean, torch.tensor([0.5, 0.5]))


@pytest.mark.parametrize(
    ("mean", "std", "match"),
    [
        ((0.5, 0.5), (0.5,), "one value per channel"),
        ((0.5,), (0.0,), "std must be > 0"),
        ((0.5,), (-1.0,), "std must be > 0"),
        ((), (), "non-empty"),
        ((float("nan"),), (1.0,), "finite"),
        ([[0.5]], [[0.5]], "1-D"),
    ],
)
def test_rejects_bad_mean_std(mean: object, std: object, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        Normalize(mean, std)  # type: ignore[arg-type]


def test_rejects_wrong_channel_count() -> None:
    norm = Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\)"):
        norm(torch.rand(2, 1, 8, 8))
    with pytest.raises(ValueError, match="one value per input channel"):
        norm(torch.rand(3, 8, 8))
