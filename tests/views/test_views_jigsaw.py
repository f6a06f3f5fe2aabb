"""Jigsaw pretext: permutation set, scramble/unscramble, tile placement, borders."""

from __future__ import annotations

import itertools

import pytest
import torch

from robustssl.data.views import JigsawPuzzle, select_permutations
from robustssl.utils import make_generator


def _min_hamming(perms: torch.Tensor) -> int:
    d = (perms[:, None, :] != perms[None, :, :]).sum(-1)
    return int(d[~torch.eye(len(perms), dtype=torch.bool)].min())


def test_permutation_set() -> None:
    puzzle = JigsawPuzzle(grid=3, num_permutations=30, seed=0)
    perms = puzzle.permutations
    assert perms.shape == (30, 9) and perms.dtype == torch.long
    assert torch.equal(perms.sort(dim=1).values, torch.arange(9).expand(30, 9))
    assert torch.unique(perms, dim=0).shape[0] == 30
    assert torch.equal(perms[0], torch.arange(9))  # identity is class 0
    assert _min_hamming(perms) >= 7  # random 30-sets of 3×3 permutations reach ~4
    assert torch.equal(perms, JigsawPuzzle(3, 30, seed=0).permutations)
    assert not torch.equal(perms, JigsawPuzzle(3, 30, seed=1).permutations)


def test_without_identity_and_small_grid() -> None:
    perms = select_permutations(9, 20, seed=0, include_identity=False)
    assert not (perms == torch.arange(9)).all(1).any()
    full = JigsawPuzzle(grid=2, num_permutations=24).permutations
    assert {tuple(p) for p in full.tolist()} == set(itertools.permutations(range(4)))
    with pytest.raises(ValueError, match="num_permutations"):
        JigsawPuzzle(grid=2, num_permutations=25)
    with pytest.raises(ValueError, match="num_permutations"):
        JigsawPuzzle(grid=2, num_permutations=24, include_identity=False)
    with pytest.raises(ValueError, match="grid"):
        JigsawPuzzle(grid=1)


@pytest.mark.parametrize(("grid", "shape"), [(3, (3, 12, 12)), (2, (1, 28, 28)), (4, (3, 8, 16))])
def test_round_trip_and_labels(images, grid, shape) -> None:
    puzzle = JigsawPuzzle(grid=grid, num_permutations=10, seed=0)
    x = images(40, *shape)
    scrambled, labels = puzzle(x, make_generator(0))
    assert scrambled.shape == x.shape
    assert labels.min() >= 0 and labels.max() < 10 and len(set(labels.tolist())) > 5
    assert torch.equal(puzzle.unscramble(scrambled, labels), x)
    assert torch.equal(puzzle.scramble(x, labels), scrambled)
    again, labels_again = puzzle(x, make_generator(0))
    assert torch.equal(again, scrambled) and torch.equal(labels, labels_again)


def test_tile_placement_follows_permutation() -> None:
    puzzle = JigsawPuzzle(grid=3, num_permutations=5, seed=2)
    tile_ids = torch.arange(9.0).view(3, 3).repeat_interleave(4, 0).repeat_interleave(4, 1)
    x = (tile_ids / 8).expand(5, 1, 12, 12).contiguous()
    scrambled = puzzle.scramble(x, torch.arange(5))
    for label in range(5):
        got = scrambled[label, 0, ::4, ::4].flatten() * 8
        assert torch.equal(got.round().long(), puzzle.permutations[label])
    assert torch.equal(scrambled[0], x[0])  # label 0 = identity


def test_indivisible_size_keeps_border(images) -> None:
    puzzle = JigsawPuzzle(grid=3, num_permutations=8)
    x = images(8, 3, 29, 31)
    scrambled = puzzle.scramble(x, torch.arange(8))
    # 27×30 centred region: rows 1..27, cols 0..29 are tiled, the rest is untouched.
    assert torch.equal(scrambled[:, :, 0], x[:, :, 0]) and torch.equal(
        scrambled[:, :, 28], x[:, :, 28]
    )
    assert torch.equal(scrambled[..., 30], x[..., 30])
    assert not torch.equal(scrambled[1:, :, 1:28, :30], x[1:, :, 1:28, :30])
    assert torch.equal(puzzle.unscramble(scrambled, torch.arange(8)), x)


def test_bad_labels_and_tiny_images(images) -> None:
    puzzle = JigsawPuzzle(grid=3, num_permutations=4)
    with pytest.raises(ValueError, match="labels"):
        puzzle.scramble(images(2, 3, 9, 9), torch.tensor([0, 4]))
    with pytest.raises(ValueError, match="smaller than"):
        puzzle.scramble(images(1, 3, 2, 9), torch.tensor([0]))
