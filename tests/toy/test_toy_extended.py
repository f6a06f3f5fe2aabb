"""The lazy extended dataset of seed 000 §6.2: sizes, the index bijection, the variants against
the seed's own cartesian-product construction, blocks, and reproducible epochs."""

from __future__ import annotations

import itertools
import random

import numpy as np
import pytest
import torch

from robustssl.data.extended import ExtendedDataset, extended_dataset
from robustssl.data.toy import patterns, placements, toy_tensors

EPS = 0.41


@pytest.fixture(scope="module")
def full() -> ExtendedDataset:
    return extended_dataset("lt", EPS)


def reference_image(index: int) -> tuple[np.ndarray, int]:
    """Sample ``index`` of the symmetric full-canvas dataset with Python integers only."""
    x, y = toy_tensors("lt")
    sample, code = divmod(index, 3**16)
    digits = [(code // 3 ** (15 - j)) % 3 for j in range(16)]
    image = x[sample, 0].numpy().reshape(-1).astype(np.float64)
    return image + (np.array(digits) - 1) * EPS, int(y[sample])


def test_sizes_of_the_dataset_and_its_variants(full: ExtendedDataset):
    assert len(full) == 3**16 * 8 == 344_373_768  # seed 000 §6.2.2
    assert full.num_blocks * full.block_size == len(full) and full.block_size == 729
    sizes = {
        ("in_boundary", "pattern"): 8 * 2**9,  # assumptions 3 + 4
        ("symmetric", "pattern"): 8 * 3**9,  # assumption 4
        ("corners", "canvas"): 8 * 2**16,  # Fact 2: no standard images
        ("in_boundary", "canvas"): 8 * 2**16,
        ("corners", "pattern"): 8 * 2**9,
    }
    for (options, pixels), size in sizes.items():
        assert len(extended_dataset("lt", EPS, options=options, pixels=pixels)) == size
    assert len(extended_dataset("triangle_square", 0.2, pixels="pattern")) == 72 * 3**25


def test_indexing_is_a_bijection_spot_checked_both_ways(full: ExtendedDataset):
    rng = random.Random(0)
    idx = torch.tensor([0, len(full) - 1, 3**16, 3**16 - 1, *rng.sample(range(len(full)), 2000)])
    sample, digits = full.decode(idx)
    assert torch.equal(full.encode(sample, digits), idx)
    s = torch.randint(0, 8, (500,), generator=torch.Generator().manual_seed(1))
    d = torch.randint(0, 3, (500, 16), generator=torch.Generator().manual_seed(2))
    back_s, back_d = full.decode(full.encode(s, d))
    assert torch.equal(back_s, s) and torch.equal(back_d, d)
    x, y = full.get_batch(idx[:300])
    for n, i in enumerate(idx[:300].tolist()):
        image, label = reference_image(i)
        assert np.allclose(x[n, 0].reshape(-1).numpy(), image, atol=1e-6) and int(y[n]) == label


def test_standard_indices_reproduce_the_base_samples(full: ExtendedDataset):
    x, y = toy_tensors("lt")
    xs, ys = full.get_batch(full.standard_indices())
    assert torch.equal(xs, x) and torch.equal(ys, y)
    with pytest.raises(ValueError, match="no unperturbed"):
        extended_dataset("lt", EPS, options="corners").standard_indices()


def seed_construction(options: str) -> list[tuple[tuple[float, ...], int]]:
    """The thesis code's pattern-pixel variants: the cartesian product of per-pixel options over
    the 3×3 pattern, each perturbed pattern then placed at every position (seed 000 §6.2.1)."""
    out = []
    pats = patterns("lt").numpy()
    for i, j in itertools.product(range(2), range(2)):
        for label, pat in enumerate(pats):
            inward = [[0.0, EPS] if p == 0 else [0.0, -EPS] for p in pat.reshape(-1)]
            per_pixel = inward if options == "in_boundary" else [[0.0, EPS, -EPS]] * 9
            for choice in itertools.product(*per_pixel):
                canvas = np.zeros((4, 4))
                canvas[i : i + 3, j : j + 3] = pat + np.array(choice).reshape(3, 3)
                out.append((tuple(np.round(canvas.reshape(-1), 6)), label))
    return out


@pytest.mark.parametrize("options", ["in_boundary", "symmetric"])
def test_pattern_variants_equal_the_seed_construction(options: str):
    data = extended_dataset("lt", EPS, options=options, pixels="pattern")  # type: ignore[arg-type]
    x, y = data.get_batch(torch.arange(len(data)))
    ours = sorted(
        zip(
            map(tuple, np.round(x.reshape(len(x), -1).double().numpy(), 6)), y.tolist(), strict=True
        )
    )
    assert ours == sorted(seed_construction(options))
    if options == "in_boundary":  # assumption 3 keeps every pixel in [0, 1]
        assert float(x.min()) >= 0 and float(x.max()) <= 1


def test_pattern_variant_perturbs_only_the_pattern_window():
    data = extended_dataset("lt", EPS, pixels="pattern")
    x, _ = data.get_batch(torch.arange(0, len(data), 7))
    sample, _ = data.decode(torch.arange(0, len(data), 7))
    for n, s in enumerate(sample.tolist()):
        i, j, _ = placements("lt")[s]
        outside = torch.ones(4, 4, dtype=torch.bool)
        outside[i : i + 3, j : j + 3] = False
        assert bool((x[n, 0][outside] == 0).all())


def test_corner_variant_moves_every_pixel_by_eps():
    data = extended_dataset("lt", EPS, options="corners")
    x, _ = data.get_batch(torch.arange(0, len(data), 997))
    sample, _ = data.decode(torch.arange(0, len(data), 997))
    base, _ = toy_tensors("lt")
    assert torch.allclose((x - base[sample]).abs(), torch.full_like(x, EPS))


def test_blocks_equal_their_indices(full: ExtendedDataset):
    blocks = torch.tensor([0, 1, 64, 59_048, 59_049, full.num_blocks - 1])
    xb, yb = full.get_blocks(blocks)
    xi, yi = full.get_batch(full.block_indices(blocks))
    assert torch.equal(xb, xi) and torch.equal(yb, yi) and len(yb) == 6 * 729
    with pytest.raises(IndexError, match="block ids"):
        full.get_blocks(torch.tensor([full.num_blocks]))


def test_epochs_are_reproducible_and_reshuffled(full: ExtendedDataset):
    first, again = (
        list(full.loader(4, seed=3, fraction=1e-4)),
        list(full.loader(4, seed=3, fraction=1e-4)),
    )
    assert len(first) == len(again) == 12  # 47 blocks of 729 in batches of 4
    for a, b in zip(first, again, strict=True):
        assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    loader = full.loader(4, seed=3, fraction=1e-4)
    order0 = loader.block_order()
    loader.set_epoch(1)
    assert not torch.equal(order0, loader.block_order())
    assert not torch.equal(order0, full.loader(4, seed=4, fraction=1e-4).block_order())
    small = extended_dataset("lt", EPS, options="in_boundary", pixels="pattern")
    order = small.loader(3, seed=0).block_order()
    assert sorted(order.tolist()) == list(range(small.num_blocks))  # a permutation
    assert len(small.loader(3, seed=0)) == -(-small.num_blocks // 3)
    seen = torch.cat([y for _, y in small.loader(3, seed=0)])
    assert len(seen) == len(small)


def test_bad_arguments_are_refused_before_any_work(full: ExtendedDataset):
    with pytest.raises(ValueError, match=r"eps=0.5 must be in \(0, 0.5\)"):
        extended_dataset("lt", 0.5)
    with pytest.raises(ValueError, match="options='all'"):
        extended_dataset("lt", EPS, options="all")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="pixels='border'"):
        extended_dataset("lt", EPS, pixels="border")  # type: ignore[arg-type]
    with pytest.raises(IndexError, match="indices must be in"):
        full.get_batch(torch.tensor([len(full)]))
    with pytest.raises(TypeError, match="integers"):
        full.get_batch(torch.tensor([0.5]))
    with pytest.raises(ValueError, match="digits must be in"):
        full.encode(torch.tensor([0]), torch.full((1, 16), 3))
    with pytest.raises(ValueError, match="fraction"):
        full.loader(4, fraction=0.0)
    with pytest.raises(ValueError, match="overflow int64"):
        extended_dataset("triangle_square", 0.2)  # 72·3^100 samples
