"""CIFAR-10/100 python batches through the restricted unpickler."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest
import torch

from robustssl.data import (
    CorruptDatasetError,
    DatasetNotFoundError,
    UnsafePickleError,
    get_info,
    load_dataset,
)


def _expected(data: np.ndarray) -> torch.Tensor:
    """CIFAR rows are R, G, B planes of 32x32, row-major: pixel (c, h, w) at c*1024 + h*32 + w."""
    n = len(data)
    out = torch.empty((n, 3, 32, 32), dtype=torch.uint8)
    for c in range(3):
        for h in range(32):
            out[:, c, h, :] = torch.from_numpy(data[:, c * 1024 + h * 32 : c * 1024 + h * 32 + 32])
    return out


@pytest.mark.parametrize(("bytes_keys", "protocol"), [(True, 2), (False, 5)])
def test_cifar10_exact(fmt, tmp_path, bytes_keys, protocol):
    written = fmt.write_cifar10(tmp_path, bytes_keys=bytes_keys, protocol=protocol)
    for split in ("train", "test"):
        ds = load_dataset("cifar10", split, root=tmp_path)
        data, labels = written[split]
        assert len(ds) == len(data) == (15 if split == "train" else 4)
        assert ds.image_shape == (3, 32, 32)
        assert torch.equal(ds.images, _expected(data))
        assert ds.targets.tolist() == labels
        assert ds.classes == [f"class{i}" for i in range(10)]  # read from batches.meta
    assert ds.images[1, 2, 5, 7] == int(data[1, 2048 + 5 * 32 + 7])


def test_cifar10_without_meta_uses_registry_names(fmt, tmp_path):
    fmt.write_cifar10(tmp_path, meta=False)
    ds = load_dataset("cifar10", "test", root=tmp_path)
    assert ds.classes == list(get_info("cifar10").class_names)
    assert ds.classes[0] == "airplane" and ds.classes[9] == "truck"


def test_cifar100_fine_labels(fmt, tmp_path):
    written = fmt.write_cifar100(tmp_path, protocol=4)
    ds = load_dataset("cifar100", "train", root=tmp_path / "cifar-100-python")  # folder itself
    data, fine = written["train"]
    assert ds.num_classes == 100 and ds.classes[7] == "fine7"
    assert ds.targets.tolist() == fine
    assert torch.equal(ds.images, _expected(data))


class _Evil:
    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_malicious_pickle_refused_without_running(fmt, tmp_path):
    fmt.write_cifar10(tmp_path)
    marker = tmp_path / "pwned"
    evil = _Evil()
    evil.marker = marker
    batch = tmp_path / "cifar-10-batches-py" / "data_batch_3"
    fmt.write_pickle(batch, {b"data": evil, b"labels": [0]})
    with pytest.raises(UnsafePickleError) as info:
        load_dataset("cifar10", root=tmp_path)
    assert isinstance(info.value, CorruptDatasetError)
    assert isinstance(info.value, pickle.UnpicklingError)
    assert str(batch) in str(info.value) and "system" in str(info.value)
    assert not marker.exists()


@pytest.mark.parametrize("payload", [eval, getattr, __import__])
def test_builtins_globals_refused(fmt, tmp_path, payload):
    fmt.write_cifar10(tmp_path)
    path = tmp_path / "cifar-10-batches-py" / "test_batch"
    fmt.write_pickle(path, {"data": payload}, protocol=4)
    with pytest.raises(UnsafePickleError, match=f"builtins.{payload.__name__}"):
        load_dataset("cifar10", "test", root=tmp_path)


def test_truncated_and_malformed_batches(fmt, tmp_path):
    fmt.write_cifar10(tmp_path)
    folder = tmp_path / "cifar-10-batches-py"
    path = folder / "test_batch"
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(CorruptDatasetError, match=r"test_batch.*not a readable pickle"):
        load_dataset("cifar10", "test", root=tmp_path)
    fmt.write_pickle(path, {b"data": np.zeros((2, 3000), np.uint8), b"labels": [0, 1]})
    with pytest.raises(CorruptDatasetError, match=r"test_batch.*uint8 \(N, 3072\)"):
        load_dataset("cifar10", "test", root=tmp_path)
    fmt.write_pickle(path, {b"data": np.zeros((2, 3072), np.uint8)})
    with pytest.raises(CorruptDatasetError, match="missing key 'labels'"):
        load_dataset("cifar10", "test", root=tmp_path)
    fmt.write_pickle(path, {b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 10]})
    with pytest.raises(CorruptDatasetError, match=r"outside 0\.\.9"):
        load_dataset("cifar10", "test", root=tmp_path)
    fmt.write_pickle(path, [1, 2, 3])
    with pytest.raises(CorruptDatasetError, match="expected a pickled dict"):
        load_dataset("cifar10", "test", root=tmp_path)


def test_missing_batch_lists_searched_dirs(fmt, tmp_path):
    fmt.write_cifar10(tmp_path)
    (tmp_path / "cifar-10-batches-py" / "data_batch_4").unlink()
    with pytest.raises(DatasetNotFoundError) as info:
        load_dataset("cifar10", root=tmp_path)
    message = str(info.value)
    assert str(tmp_path / "cifar-10-batches-py") in message and "download=True" in message
    assert load_dataset("cifar10", "test", root=tmp_path).split == "test"  # test still loads


def test_python2_style_numpy_core_global(fmt, tmp_path, recwarn):
    """Real CIFAR pickles name numpy.core.multiarray (numpy < 2); it maps to numpy._core."""
    written = fmt.write_cifar10(tmp_path, protocol=2)
    path = tmp_path / "cifar-10-batches-py" / "test_batch"
    raw = path.read_bytes()
    assert b"numpy._core.multiarray\n" in raw
    path.write_bytes(raw.replace(b"numpy._core.multiarray\n", b"numpy.core.multiarray\n"))
    ds = load_dataset("cifar10", "test", root=tmp_path)
    assert torch.equal(ds.images, _expected(written["test"][0]))
    assert not [w for w in recwarn if issubclass(w.category, DeprecationWarning)]
