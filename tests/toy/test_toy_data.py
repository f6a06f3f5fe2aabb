"""The toy datasets of seed 000 §6: the exact patterns, their placements and the sample counts."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from robustssl.data.toy import (
    TOY_DATASETS,
    patterns,
    placements,
    toy_dataset,
    toy_spec,
    toy_tensors,
)

# Typed again from seed 000 Figures 17 and 21 (the thesis code's arrays), as an independent check.
FIGURES = {
    "triangle_square": [
        [[0, 1, 1, 0, 0], [0, 0, 1, 0, 0], [0, 1, 1, 1, 0], [1, 1, 1, 1, 1], [1, 1, 1, 1, 1]],
        [[1, 1, 1, 1, 1], [1, 0, 0, 0, 1], [1, 0, 0, 0, 1], [1, 0, 0, 0, 1], [1, 1, 1, 1, 1]],
    ],
    "lt": [
        [[1, 0, 0], [1, 0, 0], [1, 1, 1]],
        [[1, 1, 1], [0, 1, 0], [0, 1, 0]],
    ],
}


@pytest.mark.parametrize(
    ("name", "k", "canvas", "count", "pixels"),
    [("triangle_square", 5, 10, 72, 16), ("lt", 3, 4, 8, 5)],
)
def test_patterns_shapes_and_counts(name: str, k: int, canvas: int, count: int, pixels: int):
    pats = patterns(name)
    assert pats.shape == (2, k, k)
    assert torch.equal(pats, torch.tensor(FIGURES[name], dtype=torch.float32))
    assert pats.flatten(1).sum(1).tolist() == [pixels, pixels]  # equal counts: no shortcut
    x, y = toy_tensors(name)
    assert x.shape == (count, 1, canvas, canvas) and len(toy_spec(name)) == count
    assert y.tolist() == [0, 1] * (count // 2)  # position-major, alternating labels
    assert set(x.unique().tolist()) == {0.0, 1.0}
    assert x.flatten(1).sum(1).tolist() == [float(pixels)] * count  # patterns fully inside


def test_placements_cover_every_position_once_per_class():
    for name, spec in TOY_DATASETS.items():
        rows = placements(name)
        side = spec.canvas - spec.pattern_size + 1
        assert len(set(rows)) == len(rows) == side * side * 2
        assert {(i, j) for i, j, _ in rows} == {(i, j) for i in range(side) for j in range(side)}


def test_images_match_an_independent_construction():
    x, y = toy_tensors("triangle_square")
    figs = np.array(FIGURES["triangle_square"], dtype=np.float32)
    n = 0
    for i in range(6):
        for j in range(6):
            for c in range(2):
                canvas = np.zeros((10, 10), dtype=np.float32)
                canvas[i : i + 5, j : j + 5] = figs[c]
                assert np.array_equal(x[n, 0].numpy(), canvas) and int(y[n]) == c
                n += 1


def test_toy_dataset_batches_are_exact_and_names_resolve():
    ds = toy_dataset("l-t")
    assert ds.classes == ["L", "T"] and ds.image_shape == (1, 4, 4) and len(ds) == 8
    xb, yb = ds.get_batch(torch.arange(8))
    x, y = toy_tensors("lt")
    assert torch.equal(xb, x) and torch.equal(yb, y)
    assert toy_spec("Triangle-Square").name == "triangle_square"
    with pytest.raises(ValueError, match="unknown toy dataset 'circles'; choose one of"):
        toy_spec("circles")
