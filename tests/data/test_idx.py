"""IDX reader and the MNIST / Fashion-MNIST loaders on tiny files in the real format."""

from __future__ import annotations

import gzip

import numpy as np
import pytest
import torch

from robustssl.data import (
    CorruptDatasetError,
    find_local,
    load_dataset,
    read_idx,
    resize_uint8,
)


@pytest.mark.parametrize("gz", [False, True])
def test_read_idx_uint8_exact(fmt, tmp_path, gz):
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    path = fmt.write_idx(tmp_path / "a-idx3-ubyte", array, gz=gz)
    out = read_idx(path)
    assert out.dtype == np.uint8 and out.shape == (2, 3, 4)
    np.testing.assert_array_equal(out, array)


def test_read_idx_big_endian_int32_and_float(fmt, tmp_path):
    ints = np.array([[1, -2, 70000], [2**31 - 1, 0, -(2**31)]], dtype=np.int32)
    floats = np.array([0.5, -1.25, 3.0], dtype=np.float32)
    np.testing.assert_array_equal(read_idx(fmt.write_idx(tmp_path / "i", ints, gz=False)), ints)
    np.testing.assert_array_equal(read_idx(fmt.write_idx(tmp_path / "f", floats, gz=True)), floats)


def _corrupt(tmp_path, data: bytes, name: str = "bad-idx1-ubyte"):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(CorruptDatasetError) as info:
        read_idx(path)
    assert str(path) in str(info.value) and "download" in str(info.value)
    return str(info.value)


def test_bad_magic_truncated_trailing_short(fmt, tmp_path):
    good = fmt.idx_bytes(np.zeros((4, 2), dtype=np.uint8))
    assert "magic" in _corrupt(tmp_path, b"\x01" + good[1:])
    assert "magic" in _corrupt(tmp_path, good[:2] + b"\x07" + good[3:])
    assert "truncated" in _corrupt(tmp_path, good[:-1])
    assert "trailing" in _corrupt(tmp_path, good + b"\x00")
    assert "too short" in _corrupt(tmp_path, b"\x00\x00")


def test_broken_gzip_names_file(fmt, tmp_path):
    data = gzip.compress(fmt.idx_bytes(np.ones((50, 28, 28), dtype=np.uint8)))
    message = _corrupt(tmp_path, data[: len(data) // 2], "cut.gz")
    assert "gzip" in message


@pytest.mark.parametrize(
    ("name", "subdir", "gz"),
    [
        ("mnist", "MNIST/raw", False),
        ("mnist", "MNIST/raw", True),
        ("fashion_mnist", "FashionMNIST/raw", False),
        ("fashion_mnist", "fashion_mnist", True),
    ],
)
def test_load_mnist_family_exact(fmt, tmp_path, name, subdir, gz):
    written = fmt.write_mnist_dir(tmp_path / subdir, gz=gz)
    assert find_local(name, tmp_path) == tmp_path / subdir
    for split in ("train", "test"):
        ds = load_dataset(name, split, root=tmp_path)
        images, labels = written[split]
        assert ds.image_shape == (1, 28, 28) and len(ds) == len(images) and ds.num_classes == 10
        torch.testing.assert_close(ds.images[:, 0], torch.from_numpy(images), rtol=0, atol=0)
        assert ds.targets.tolist() == labels.tolist()
        x, y = ds.get_batch([3, 0])
        assert x.dtype == torch.float32 and y.dtype == torch.int64
        torch.testing.assert_close(x[0, 0], torch.from_numpy(images[3]).float() / 255)
        assert y.tolist() == [int(labels[3]), int(labels[0])]


def test_raw_file_preferred_over_gz(fmt, tmp_path):
    folder = tmp_path / "MNIST" / "raw"
    raw = fmt.write_mnist_dir(folder, gz=False, seed=1)
    fmt.write_mnist_dir(folder, gz=True, seed=2)
    ds = load_dataset("mnist", root=tmp_path)
    assert torch.equal(ds.images[:, 0], torch.from_numpy(raw["train"][0]))


def test_label_count_and_image_shape_mismatch(fmt, tmp_path):
    folder = tmp_path / "MNIST" / "raw"
    fmt.write_mnist_dir(folder, gz=False)
    fmt.write_idx(folder / "train-labels-idx1-ubyte", np.zeros(11, dtype=np.uint8), gz=False)
    with pytest.raises(CorruptDatasetError, match=r"train-labels-idx1-ubyte.*12 labels"):
        load_dataset("mnist", root=tmp_path)
    fmt.write_idx(folder / "t10k-images-idx3-ubyte", np.zeros((5, 27, 28), np.uint8), gz=False)
    with pytest.raises(CorruptDatasetError, match=r"t10k-images-idx3-ubyte.*\(N, 28, 28\)"):
        load_dataset("mnist", "test", root=tmp_path)


def test_image_size_resizes_and_stream_matches_memory(fmt, tmp_path):
    fmt.write_mnist_dir(tmp_path / "MNIST" / "raw", gz=True)
    mem = load_dataset("mnist", root=tmp_path, image_size=14)
    stream = load_dataset("mnist", root=tmp_path, image_size=(14, 14), in_memory=False)
    assert mem.image_shape == stream.image_shape == (1, 14, 14)
    idx = [11, 2, 5]
    assert torch.equal(mem.get_batch(idx)[0], stream.get_batch(idx)[0])
    full = load_dataset("mnist", root=tmp_path).images.float()
    means = mem.images.float().mean(dim=(1, 2, 3))
    assert (means - full.mean(dim=(1, 2, 3))).abs().max() < 2.0  # a low-pass keeps the mean


def test_resize_uint8_keeps_constant_images():
    images = torch.full((2, 3, 20, 12), 77, dtype=torch.uint8)
    out = resize_uint8(images, (7, 5))
    assert out.dtype == torch.uint8 and out.shape == (2, 3, 7, 5)
    assert bool((out == 77).all())
    assert resize_uint8(images, (20, 12)) is images
