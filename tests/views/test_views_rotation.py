"""Rotation pretext: labels, inverse rotations, all-rotations layout, non-square inputs."""

from __future__ import annotations

import pytest
import torch

from robustssl.data.views import all_rotations, random_rotation, rotate
from robustssl.utils import make_generator


@pytest.mark.parametrize("channels", [1, 3])
def test_random_rotation_labels_recover_input(images, channels) -> None:
    x = images(64, channels, 9, 9)
    rotated, labels = random_rotation(x, make_generator(0))
    assert rotated.shape == x.shape and labels.dtype == torch.long
    assert set(labels.tolist()) == {0, 1, 2, 3}
    assert torch.equal(rotate(rotated, -labels), x)
    for i in range(64):
        assert torch.equal(rotated[i], torch.rot90(x[i], int(labels[i]), dims=(-2, -1)))


def test_rotations_are_distinct_and_cyclic(images) -> None:
    x = images(2, 3, 6, 6)
    turns = [rotate(x, k) for k in range(4)]
    for a in range(4):
        for b in range(a + 1, 4):
            assert not torch.equal(turns[a], turns[b])
    assert torch.equal(rotate(x, 4), x) and torch.equal(rotate(x, -1), turns[3])
    assert torch.equal(turns[1][0, 0, 0, 0], x[0, 0, 0, -1])  # counter-clockwise


def test_determinism(images) -> None:
    x = images(32, 3, 8, 8)
    a, la = random_rotation(x, make_generator(3))
    b, lb = random_rotation(x, make_generator(3))
    _, lc = random_rotation(x, make_generator(4))
    assert torch.equal(a, b) and torch.equal(la, lb) and not torch.equal(la, lc)


def test_all_rotations_layout(images) -> None:
    x = images(5, 1, 7, 7)
    rotated, labels = all_rotations(x)
    assert rotated.shape == (20, 1, 7, 7)
    assert labels.tolist() == [0] * 5 + [1] * 5 + [2] * 5 + [3] * 5
    assert torch.equal(rotate(rotated, -labels), x.repeat(4, 1, 1, 1))


def test_non_square(images) -> None:
    x = images(4, 3, 6, 10)
    assert torch.equal(rotate(x, 2), x.flip(-1, -2))
    assert torch.equal(
        rotate(x, torch.tensor([0, 2, 2, 0])),
        torch.stack([x[0], x[1].flip(-1, -2), x[2].flip(-1, -2), x[3]]),
    )
    for call in (lambda: rotate(x, 1), lambda: random_rotation(x), lambda: all_rotations(x)):
        with pytest.raises(ValueError, match="square"):
            call()
    with pytest.raises(ValueError, match="shape"):
        rotate(images(4, 3, 6, 6), torch.tensor([0, 1]))
