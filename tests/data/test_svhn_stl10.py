"""SVHN .mat files and STL-10 binary files in their real layouts."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from robustssl.data import (
    CorruptDatasetError,
    StreamingImageDataset,
    TensorImageDataset,
    load_dataset,
)


def test_svhn_pixels_and_label_10_is_zero(fmt, tmp_path):
    x, y = fmt.write_svhn(tmp_path, "train", 13)
    ds = load_dataset("svhn", root=tmp_path)
    assert isinstance(ds, TensorImageDataset) and ds.image_shape == (3, 32, 32)
    # images[n, c, h, w] == X[h, w, c, n]
    assert torch.equal(ds.images, torch.from_numpy(x.transpose(3, 2, 0, 1).copy()))
    assert ds.images[4, 1, 3, 9] == int(x[3, 9, 1, 4])
    assert ds.targets.tolist() == [int(v) % 10 for v in y[:, 0]]
    assert ds.targets[9] == 0 and y[9, 0] == 10
    assert ds.classes == [str(d) for d in range(10)]


def test_svhn_extra_streams_above_limit_with_identical_batches(fmt, tmp_path):
    fmt.write_svhn(tmp_path / "svhn", "extra", 9)
    mem = load_dataset("svhn", "extra", root=tmp_path)
    stream = load_dataset("svhn", "extra", root=tmp_path, max_in_memory_bytes=3072 * 8)
    assert isinstance(stream, StreamingImageDataset)
    idx = [8, 0, 4, 4]
    assert torch.equal(mem.get_batch(idx)[0], stream.get_batch(idx)[0])
    assert torch.equal(mem.get_batch(idx)[1], stream.get_batch(idx)[1])


def test_svhn_corrupt_files(fmt, tmp_path):
    import scipy.io

    path = tmp_path / "test_32x32.mat"
    path.write_bytes(b"MATLAB 5.0 MAT-file, garbage" + bytes(50))
    with pytest.raises(CorruptDatasetError, match=r"test_32x32\.mat"):
        load_dataset("svhn", "test", root=tmp_path)
    scipy.io.savemat(path, {"X": np.zeros((32, 32, 3, 4), np.uint8), "y": np.ones((3, 1))})
    with pytest.raises(CorruptDatasetError, match="3 labels for 4 images"):
        load_dataset("svhn", "test", root=tmp_path)
    scipy.io.savemat(path, {"X": np.zeros((28, 28, 3, 4), np.uint8), "y": np.ones((4, 1))})
    with pytest.raises(CorruptDatasetError, match="32,32,3,N"):
        load_dataset("svhn", "test", root=tmp_path)


def test_stl10_column_major_pixels_and_labels(fmt, tmp_path):
    images, labels = fmt.write_stl10(tmp_path, "train", 6)
    names = [f"stl{i}" for i in range(10)]
    (tmp_path / "stl10_binary" / "class_names.txt").write_text("\n".join(names) + "\n")
    ds = load_dataset("stl10", root=tmp_path)
    assert ds.image_shape == (3, 96, 96) and len(ds) == 6
    assert torch.equal(ds.images, torch.from_numpy(images))
    assert ds.targets.tolist() == [int(v) - 1 for v in labels]  # 1..10 → 0..9
    assert ds.classes == names


def test_stl10_unlabeled_streams_from_memmap(fmt, tmp_path):
    images, _ = fmt.write_stl10(tmp_path, "unlabeled", 7)
    ds = load_dataset("stl10", "unlabeled", root=tmp_path, in_memory=False)
    assert isinstance(ds, StreamingImageDataset)
    assert ds.targets.tolist() == [-1] * 7
    x, y = ds.get_batch([6, 1])
    assert torch.equal(x, torch.from_numpy(images[[6, 1]]).float() / 255)
    assert y.tolist() == [-1, -1]
    assert len(pickle.dumps(ds.source)) < 1000  # workers re-open the file, no data copied
    with pytest.raises(ValueError, match="unlabelled"):
        ds.label_fraction(0.5)


def test_stl10_corrupt_files(fmt, tmp_path):
    fmt.write_stl10(tmp_path, "test", 3)
    x_path = tmp_path / "stl10_binary" / "test_X.bin"
    y_path = tmp_path / "stl10_binary" / "test_y.bin"
    y_path.write_bytes(bytes([1, 2]))
    with pytest.raises(CorruptDatasetError, match=r"test_y\.bin.*2 labels for 3 images"):
        load_dataset("stl10", "test", root=tmp_path)
    y_path.write_bytes(bytes([1, 2, 11]))
    with pytest.raises(CorruptDatasetError, match=r"labels must be 1\.\.10"):
        load_dataset("stl10", "test", root=tmp_path)
    x_path.write_bytes(x_path.read_bytes()[:-5])
    with pytest.raises(CorruptDatasetError, match=r"test_X\.bin.*truncated"):
        load_dataset("stl10", "test", root=tmp_path)
