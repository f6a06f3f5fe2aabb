"""Causal3DIdent (seed 000 §7): the published layout, the spotlight task and its δ*, R² readouts
(eq. 23–26), and the procedural generator's determinism — all on generated tiny folders."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.metrics import r2_score as sklearn_r2

from robustssl.data.causal import (
    SPOTLIGHT_TASK,
    IntervalTask,
    generate_scenes,
    load_causal3dident,
    render_units,
    spotlight_angle,
    spotlight_dataset,
    write_causal3dident,
)
from robustssl.data.errors import CorruptDatasetError, DatasetNotFoundError
from robustssl.evaluation.causal_readout import linear_readout_r2, r2_score


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_causal3dident(tmp_path_factory.mktemp("c3di"), 40, num_classes=3, size=16)


def test_generated_folder_has_the_published_layout(root: Path):
    train = root / "trainset"
    assert sorted(p.name for p in train.iterdir()) == [
        "images_0", "images_1", "images_2",
        "latents_0.npy", "latents_1.npy", "latents_2.npy",
        "raw_latents_0.npy", "raw_latents_1.npy", "raw_latents_2.npy",
    ]  # fmt: skip
    names = sorted(p.name for p in (train / "images_1").iterdir())
    assert names == [f"{j:02d}.png" for j in range(40)]  # zero-padded to ceil(log10(40)) digits
    raw = np.load(train / "raw_latents_2.npy")
    assert raw.shape == (40, 10) and raw.min() >= -1 and raw.max() <= 1
    assert np.allclose(np.load(train / "latents_2.npy"), render_units(torch.from_numpy(raw)))


def test_loader_reads_images_classes_and_latents(root: Path):
    data = load_causal3dident(root, "test")
    ds = data.dataset
    assert len(data) == 120 and ds.image_shape == (3, 16, 16)
    assert ds.classes == ["teapot", "hare", "dragon"]
    assert ds.targets.tolist() == [0] * 40 + [1] * 40 + [2] * 40
    raw = np.concatenate([np.load(root / "testset" / f"raw_latents_{c}.npy") for c in range(3)])
    assert torch.equal(data.latents, torch.from_numpy(raw))
    assert torch.allclose(data.render_latents[:, 6], spotlight_angle(data.latents))
    images, _, _ = generate_scenes(40, 3, 16, seed=_test_split_seed())
    assert torch.equal(ds.read_uint8(torch.arange(120)), images)
    streamed = load_causal3dident(root, "test", in_memory=False)
    assert torch.equal(streamed.dataset.get_batch([5, 77])[0], ds.get_batch([5, 77])[0])


def _test_split_seed() -> int:
    from robustssl.utils import mix_seed

    return mix_seed(0, 1)  # write_causal3dident's seed for its second split


def test_single_object_layout(tmp_path: Path):
    write_causal3dident(tmp_path, 12, num_classes=1, size=8, splits=("train",))
    folder = tmp_path / "trainset"
    (folder / "images_0").rename(folder / "images")
    (folder / "raw_latents_0.npy").rename(folder / "raw_latents.npy")
    (folder / "latents_0.npy").unlink()
    data = load_causal3dident(tmp_path)
    assert len(data) == 12 and data.dataset.classes == ["object"] and data.render_latents is None


def test_spotlight_task_follows_the_seed():
    task = SPOTLIGHT_TASK
    assert task.intervals[0] == (math.pi / 4, math.pi / 2)  # class 0 first, as the seed lists
    assert task.delta_star == pytest.approx(math.pi / 16)
    assert task.boundaries.tolist() == pytest.approx([-3 * math.pi / 16, 3 * math.pi / 16])
    z = torch.tensor([0.9, 0.51, 0.49, 0.2, -0.2, -0.3, -0.4, -0.6, -1.0], dtype=torch.float64)
    labels = task.labels(spotlight_angle(z[:, None], column=0))
    assert labels.tolist() == [0, 0, -1, 1, 1, -1, -1, 2, 2]  # the thesis code's thresholds on z
    theta = spotlight_angle(z[:, None], column=0)
    assert task.head(theta).tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2]  # cut at z = ±3/8
    assert bool((task.margin(theta[labels >= 0]) >= task.delta_star - 1e-12).all())
    lengths = [hi - lo for lo, hi in task.intervals]
    assert lengths == pytest.approx([math.pi / 4] * 3)  # balanced classes
    with pytest.raises(ValueError, match="separated by gaps"):
        IntervalTask(((0.0, 1.0), (0.5, 2.0)))


def test_spotlight_dataset_keeps_in_class_samples(root: Path):
    data = load_causal3dident(root, "train")
    ds, theta = spotlight_dataset(data)
    expected = SPOTLIGHT_TASK.labels(spotlight_angle(data.latents))
    keep = expected >= 0
    assert len(ds) == int(keep.sum()) and torch.equal(ds.targets, expected[keep])
    assert ds.classes == ["front", "centre", "back"]
    assert torch.equal(ds.read_uint8(torch.arange(len(ds))), data.dataset.read_uint8(
        torch.nonzero(keep).flatten()))  # fmt: skip
    assert torch.allclose(theta, spotlight_angle(data.latents)[keep])


def test_r2_matches_equations_23_to_26_and_sklearn():
    gen = torch.Generator().manual_seed(0)
    y = torch.randn(50, 3, generator=gen, dtype=torch.float64)
    f = y + 0.5 * torch.randn(50, 3, generator=gen, dtype=torch.float64)
    assert r2_score(y, f).numpy() == pytest.approx(
        sklearn_r2(y.numpy(), f.numpy(), multioutput="raw_values")
    )
    assert r2_score(y, y).tolist() == [1.0, 1.0, 1.0]
    assert r2_score(y, y.mean(0).expand_as(y)).abs().max() < 1e-12
    assert bool((r2_score(y, -y) < 0).all())


def test_linear_readout_recovers_the_spotlight_angle(root: Path):
    train, test = load_causal3dident(root, "train"), load_causal3dident(root, "test")
    xtr = train.dataset.get_batch(torch.arange(len(train)))[0].flatten(1)
    xte = test.dataset.get_batch(torch.arange(len(test)))[0].flatten(1)
    r2 = linear_readout_r2(xtr, train.latents, xte, test.latents, ridge=1e-3)
    assert float(r2[6]) > 0.8  # θ shades the whole scene
    noise = torch.rand(len(train), generator=torch.Generator().manual_seed(0))
    held = torch.rand(len(test), generator=torch.Generator().manual_seed(1))
    assert float(linear_readout_r2(xtr, noise, xte, held, ridge=1e-3)[0]) < 0.2


def test_generator_is_deterministic(tmp_path: Path):
    a, b = generate_scenes(5, 3, 12, seed=4), generate_scenes(5, 3, 12, seed=4)
    assert all(torch.equal(u, v) for u, v in zip(a, b, strict=True))
    assert not torch.equal(a[2], generate_scenes(5, 3, 12, seed=5)[2])
    for run in ("one", "two"):
        write_causal3dident(tmp_path / run, 5, num_classes=2, size=8, seed=3)
    for path in (tmp_path / "one").rglob("*.*"):
        assert (
            path.read_bytes()
            == (tmp_path / "two" / path.relative_to(tmp_path / "one")).read_bytes()
        )


def test_missing_files_are_named(tmp_path: Path, root: Path):
    with pytest.raises(DatasetNotFoundError, match=r"zenodo\.org/record/4784282"):
        load_causal3dident(tmp_path)
    with pytest.raises(ValueError, match="split must be 'train' or 'test'"):
        load_causal3dident(root, "val")
    write_causal3dident(tmp_path, 3, num_classes=1, size=8, splits=("train",))
    (tmp_path / "trainset" / "raw_latents_0.npy").unlink()
    with pytest.raises(CorruptDatasetError, match=r"raw_latents_0\.npy"):
        load_causal3dident(tmp_path)
