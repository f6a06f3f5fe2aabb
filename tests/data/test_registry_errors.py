"""Registry entries, name/split errors, not-found messages, find_local and download pass-through."""

from __future__ import annotations

import dataclasses

import pytest

from robustssl.data import (
    DATASETS,
    CorruptDatasetError,
    DatasetError,
    DatasetNotFoundError,
    InvalidSplitError,
    UnknownDatasetError,
    dataset_names,
    default_data_root,
    find_local,
    get_info,
    load_dataset,
)
from robustssl.data import load as load_module
from robustssl.utils import resolve_device

KNOWN = ["cifar10", "cifar100", "fashion_mnist", "imagefolder", "mnist", "stl10", "svhn"]


def test_names_and_info_fields():
    assert dataset_names() == KNOWN == sorted(DATASETS)
    c10 = get_info("CIFAR-10")
    assert c10.name == "cifar10" and c10.approx_bytes == 50_000 * 3 * 32 * 32
    assert c10.num_samples("test") == 10_000 and c10.splits == ("train", "test")
    assert get_info("Fashion-MNIST").debian_package == "dataset-fashion-mnist"
    assert get_info("stl10").num_samples("unlabeled") == 100_000
    assert get_info("imagefolder").image_shape is None
    assert len(get_info("cifar100").class_names) == 100
    for info in DATASETS.values():
        channels = info.image_shape[0] if info.image_shape else 3
        assert len(info.mean) == len(info.std) == channels
        assert all(0 < m < 1 and 0 < s < 1 for m, s in zip(info.mean, info.std, strict=True))
        if info.class_names is not None:
            assert len(info.class_names) == info.num_classes
    with pytest.raises(dataclasses.FrozenInstanceError):
        c10.name = "x"


def test_unknown_name_lists_known():
    with pytest.raises(UnknownDatasetError) as info:
        load_dataset("imagenet21k")
    assert isinstance(info.value, KeyError) and isinstance(info.value, DatasetError)
    message = str(info.value)
    assert message.startswith("unknown dataset 'imagenet21k'")
    assert all(name in message for name in KNOWN)
    with pytest.raises(UnknownDatasetError):
        find_local("nope")


def test_wrong_split_lists_valid(tmp_path):
    with pytest.raises(InvalidSplitError, match=r"valid splits: train, test$") as info:
        load_dataset("cifar10", "validation", root=tmp_path)
    assert isinstance(info.value, ValueError)
    with pytest.raises(InvalidSplitError, match="train, test, unlabeled"):
        load_dataset("stl10", "extra", root=tmp_path)


@pytest.mark.parametrize("name", ["cifar10", "cifar100", "mnist", "svhn", "stl10"])
def test_missing_files_list_paths_and_fix(tmp_path, name):
    assert find_local(name, tmp_path) is None
    with pytest.raises(DatasetNotFoundError) as info:
        load_dataset(name, root=tmp_path)
    err = info.value
    assert isinstance(err, FileNotFoundError) and err.searched
    message = str(err)
    assert all(str(p) in message for p in err.searched)
    assert str(tmp_path) in message and "download=True" in message


def test_missing_fashion_mnist_mentions_debian(tmp_path, no_system_dirs):
    with pytest.raises(DatasetNotFoundError) as info:
        load_dataset("fashion_mnist", "test", root=tmp_path)
    message = str(info.value)
    assert str(tmp_path / "FashionMNIST" / "raw") in message
    assert str(no_system_dirs) in message
    assert "apt-get install dataset-fashion-mnist" in message and "download=True" in message


def test_default_root_from_env(monkeypatch, tmp_path, fmt):
    monkeypatch.setenv("ROBUSTSSL_DATA", str(tmp_path))
    assert default_data_root() == tmp_path
    fmt.write_mnist_dir(tmp_path / "MNIST" / "raw", gz=True)
    assert find_local("mnist") == tmp_path / "MNIST" / "raw"
    assert len(load_dataset("mnist", "test")) == 5
    monkeypatch.delenv("ROBUSTSSL_DATA")
    monkeypatch.chdir(tmp_path)
    assert default_data_root() == tmp_path / "data"


def test_download_passes_through_to_torchvision_layout(monkeypatch, tmp_path, fmt):
    calls = []

    def fake_download(name, root, split):
        calls.append((name, root, split))
        fmt.write_svhn(root, split, 4)

    monkeypatch.setattr(load_module, "torchvision_download", fake_download)
    ds = load_dataset("svhn", "test", root=tmp_path, download=True)
    assert calls == [("svhn", tmp_path, "test")] and len(ds) == 4
    load_dataset("svhn", "test", root=tmp_path, download=True)
    assert len(calls) == 1  # files present: no second download


def test_download_failure_is_reported(monkeypatch, tmp_path):
    def failing(name, root, split):
        raise RuntimeError("no network")

    monkeypatch.setattr(load_module, "torchvision_download", failing)
    with pytest.raises(DatasetNotFoundError, match=r"download into .* failed: no network"):
        load_dataset("cifar10", root=tmp_path, download=True)


def test_corrupt_error_message_format(tmp_path):
    err = CorruptDatasetError(tmp_path / "f.bin", "bad magic")
    assert str(err).startswith(f"corrupt dataset file {tmp_path / 'f.bin'}: bad magic")
    assert "download" in str(err) and isinstance(err, DatasetError)


def test_image_size_and_device_validation(tmp_path, fmt):
    fmt.write_mnist_dir(tmp_path / "MNIST" / "raw", gz=False)
    for bad in (0, (3,), "32", (4.0, 4), True):
        with pytest.raises(ValueError, match="image_size"):
            load_dataset("mnist", root=tmp_path, image_size=bad)
    ds = load_dataset("mnist", root=tmp_path, device="auto")
    assert ds.device == resolve_device("auto") and ds.images.device.type == ds.device.type
