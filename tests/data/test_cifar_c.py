"""CIFAR-10-C / CIFAR-100-C loader on small files written in the official layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from robustssl.data.cifar_c import CIFAR_C_NAMES, CifarCFormatError, load_cifar_c
from robustssl.data.errors import DatasetNotFoundError

PER_SEVERITY = 20


def write_cifar_c(
    root: Path, corruption: str = "fog", classes: int = 10, label_dtype: type = np.int64
) -> tuple[np.ndarray, np.ndarray]:
    """(5·20, 32, 32, 3) uint8 images, pixel (0, 0) encoding (severity, index), and labels."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (5 * PER_SEVERITY, 32, 32, 3), dtype=np.uint8)
    images[:, 0, 0, 0] = np.repeat(np.arange(1, 6), PER_SEVERITY) * 10
    images[:, 0, 0, 1] = np.tile(np.arange(PER_SEVERITY), 5)
    labels = np.tile(np.arange(PER_SEVERITY) % classes, 5).astype(label_dtype)
    labels[PER_SEVERITY - 1 :: PER_SEVERITY] = classes - 1
    root.mkdir(parents=True, exist_ok=True)
    np.save(root / f"{corruption}.npy", images)
    np.save(root / "labels.npy", labels)
    return images, labels


@pytest.mark.parametrize("severity", [1, 2, 3, 4, 5])
def test_each_severity_reads_its_own_rows(tmp_path: Path, severity: int) -> None:
    images, labels = write_cifar_c(tmp_path)
    ds = load_cifar_c(tmp_path, "fog", severity)
    rows = slice((severity - 1) * PER_SEVERITY, severity * PER_SEVERITY)
    assert len(ds) == PER_SEVERITY and ds.image_shape == (3, 32, 32)
    assert ds.images.dtype == torch.uint8
    expected = torch.from_numpy(images[rows]).permute(0, 3, 1, 2)
    assert torch.equal(ds.images, expected)
    assert torch.equal(ds.targets, torch.from_numpy(labels[rows]))
    assert ds.images[:, 0, 0, 0].eq(10 * severity).all()
    assert ds.images[:, 1, 0, 0].tolist() == list(range(PER_SEVERITY))
    x, y = ds.get_batch([0, 5])
    assert x.dtype == torch.float32 and x[0, 0, 0, 0].item() == pytest.approx(10 * severity / 255)
    assert y.tolist() == [int(labels[rows][0]), int(labels[rows][5])]
    assert ds.split == f"severity{severity}" and ds.name == "cifar10_c/fog"


def test_cifar10_and_cifar100_class_names(tmp_path: Path) -> None:
    write_cifar_c(tmp_path / "c10", classes=10, label_dtype=np.uint8)  # the release stores uint8
    ds = load_cifar_c(tmp_path / "c10", "fog", 1)
    assert ds.num_classes == 10 and ds.classes[0] == "airplane"
    write_cifar_c(tmp_path / "c100", classes=100)
    ds = load_cifar_c(tmp_path / "c100", "fog", 2)
    assert ds.num_classes == 100 and ds.name == "cifar100_c/fog" and ds.classes[0] == "apple"
    assert load_cifar_c(tmp_path / "c10", "fog", 1, num_classes=100).num_classes == 100


def test_only_the_severity_slice_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_cifar_c(tmp_path)
    seen: list[object] = []
    original = np.load

    def spy(*args: object, **kwargs: object) -> np.ndarray:
        seen.append(kwargs)
        return original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(np, "load", spy)
    load_cifar_c(tmp_path, "fog", 3)
    assert seen and all(k == {"mmap_mode": "r", "allow_pickle": False} for k in seen)


def test_missing_file_says_where_to_get_it(tmp_path: Path) -> None:
    with pytest.raises(DatasetNotFoundError, match=r"zenodo\.org/records/2535967") as err:
        load_cifar_c(tmp_path, "snow", 1)
    assert str(tmp_path / "snow.npy") in str(err.value)
    write_cifar_c(tmp_path, "snow")
    (tmp_path / "labels.npy").unlink()
    with pytest.raises(FileNotFoundError, match=r"labels\.npy"):
        load_cifar_c(tmp_path, "snow", 1)


def test_bad_name_and_severity(tmp_path: Path) -> None:
    write_cifar_c(tmp_path)
    with pytest.raises(ValueError, match="unknown CIFAR-C corruption 'foggy'; known: gaussian"):
        load_cifar_c(tmp_path, "foggy", 1)
    for bad in (0, 6, True, 1.0):
        with pytest.raises(ValueError, match="severity must be one of 1, 2, 3, 4, 5"):
            load_cifar_c(tmp_path, "fog", bad)  # type: ignore[arg-type]
    assert "saturate" in CIFAR_C_NAMES and "jpeg_compression" in CIFAR_C_NAMES


@pytest.mark.parametrize(
    ("images", "match"),
    [
        (np.zeros((100, 32, 32, 3), dtype=np.float32), "expected uint8"),
        (np.zeros((100, 3, 32, 32), dtype=np.uint8), "expected uint8 \\(N, H, W, 3\\)"),
        (np.zeros((99, 32, 32, 3), dtype=np.uint8), "do not split into 5 severities"),
        (np.array([{"a": 1}] * 100, dtype=object), "cannot be read"),
    ],
)
def test_wrong_image_files(tmp_path: Path, images: np.ndarray, match: str) -> None:
    write_cifar_c(tmp_path)
    np.save(tmp_path / "fog.npy", images, allow_pickle=True)
    with pytest.raises(CifarCFormatError, match=match):
        load_cifar_c(tmp_path, "fog", 1)


def test_wrong_label_files(tmp_path: Path) -> None:
    write_cifar_c(tmp_path)
    np.save(tmp_path / "labels.npy", np.zeros(99, dtype=np.int64))
    with pytest.raises(CifarCFormatError, match="99 labels for 100 images"):
        load_cifar_c(tmp_path, "fog", 1)
    np.save(tmp_path / "labels.npy", np.zeros(100, dtype=np.float32))
    with pytest.raises(CifarCFormatError, match="integer labels"):
        load_cifar_c(tmp_path, "fog", 1)
    np.save(tmp_path / "labels.npy", np.full(100, 100, dtype=np.int64))
    with pytest.raises(CifarCFormatError, match=r"labels outside 0\.\.99"):
        load_cifar_c(tmp_path, "fog", 1)
    (tmp_path / "labels.npy").write_bytes(b"not a numpy file")
    with pytest.raises(CifarCFormatError, match="cannot be read"):
        load_cifar_c(tmp_path, "fog", 1)
