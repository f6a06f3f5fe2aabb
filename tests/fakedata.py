"""Writers of tiny dataset files in the real on-disk formats, shared by every test package
(``pythonpath = ["tests"]`` in pyproject.toml makes this importable as ``fakedata``)."""

from __future__ import annotations

import gzip
import pickle
import struct
from pathlib import Path

import numpy as np
import scipy.io
from PIL import Image

from robustssl.data import mnist

_IDX_CODES = {
    np.dtype("u1"): 0x08,
    np.dtype("i1"): 0x09,
    np.dtype("i2"): 0x0B,
    np.dtype("i4"): 0x0C,
    np.dtype("f4"): 0x0D,
    np.dtype("f8"): 0x0E,
}


class Formats:
    """Static writers; each returns the arrays it wrote so tests can compare exact values."""

    @staticmethod
    def idx_bytes(array: np.ndarray) -> bytes:
        code = _IDX_CODES[array.dtype.newbyteorder("=")]
        header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
        return header + array.astype(array.dtype.newbyteorder(">")).tobytes()

    @staticmethod
    def write_idx(path: Path, array: np.ndarray, *, gz: bool) -> Path:
        data = Formats.idx_bytes(array)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(gzip.compress(data) if gz else data)
        return path

    @staticmethod
    def write_mnist_dir(
        directory: Path, *, n_train: int = 12, n_test: int = 5, gz: bool, seed: int = 0
    ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        rng = np.random.default_rng(seed)
        out = {}
        for split, n in (("train", n_train), ("test", n_test)):
            images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
            labels = (np.arange(n) % 10).astype(np.uint8)
            stem_img, stem_lab = mnist.IDX_FILES[split]
            suffix = ".gz" if gz else ""
            Formats.write_idx(directory / f"{stem_img}{suffix}", images, gz=gz)
            Formats.write_idx(directory / f"{stem_lab}{suffix}", labels, gz=gz)
            out[split] = (images, labels)
        return out

    @staticmethod
    def write_pickle(path: Path, obj: object, protocol: int = 2) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as fh:
            pickle.dump(obj, fh, protocol=protocol)
        return path

    @staticmethod
    def cifar_batch(
        rng: np.random.Generator, n: int, label_key: str, num_classes: int, *, bytes_keys: bool
    ) -> dict:
        data = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
        labels = [int(v) for v in rng.integers(0, num_classes, n)]
        batch = {"data": data, label_key: labels, "batch_label": "synthetic"}
        if label_key == "fine_labels":
            batch["coarse_labels"] = [v // 5 for v in labels]
        return {k.encode() if bytes_keys else k: v for k, v in batch.items()}

    @staticmethod
    def write_cifar10(
        root: Path,
        *,
        per_batch: int = 3,
        n_test: int = 4,
        bytes_keys: bool = True,
        protocol: int = 2,
        meta: bool = True,
    ) -> dict[str, tuple[np.ndarray, list]]:
        rng = np.random.default_rng(1)
        folder = root / "cifar-10-batches-py"
        train = [
            Formats.cifar_batch(rng, per_batch, "labels", 10, bytes_keys=bytes_keys)
            for _ in range(5)
        ]
        test = Formats.cifar_batch(rng, n_test, "labels", 10, bytes_keys=bytes_keys)
        for i, batch in enumerate(train, 1):
            Formats.write_pickle(folder / f"data_batch_{i}", batch, protocol)
        Formats.write_pickle(folder / "test_batch", test, protocol)
        if meta:
            names = [f"class{i}".encode() if bytes_keys else f"class{i}" for i in range(10)]
            key = b"label_names" if bytes_keys else "label_names"
            Formats.write_pickle(folder / "batches.meta", {key: names}, protocol)
        k = (lambda s: s.encode()) if bytes_keys else (lambda s: s)
        return {
            "train": (
                np.concatenate([b[k("data")] for b in train]),
                [v for b in train for v in b[k("labels")]],
            ),
            "test": (test[k("data")], test[k("labels")]),
        }

    @staticmethod
    def write_cifar100(
        root: Path, *, n_train: int = 7, n_test: int = 3, protocol: int = 2
    ) -> dict[str, tuple[np.ndarray, list]]:
        rng = np.random.default_rng(2)
        folder = root / "cifar-100-python"
        out = {}
        for split, n in (("train", n_train), ("test", n_test)):
            batch = Formats.cifar_batch(rng, n, "fine_labels", 100, bytes_keys=True)
            Formats.write_pickle(folder / split, batch, protocol)
            out[split] = (batch[b"data"], batch[b"fine_labels"])
        meta = {
            b"fine_label_names": [f"fine{i}".encode() for i in range(100)],
            b"coarse_label_names": [f"coarse{i}".encode() for i in range(20)],
        }
        Formats.write_pickle(folder / "meta", meta, protocol)
        return out

    @staticmethod
    def write_svhn(root: Path, split: str, n: int, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng(seed)
        x = rng.integers(0, 256, (32, 32, 3, n), dtype=np.uint8)
        y = (np.arange(n) % 10 + 1).astype(np.uint8).reshape(n, 1)  # 1..10, 10 = digit 0
        root.mkdir(parents=True, exist_ok=True)
        scipy.io.savemat(root / f"{split}_32x32.mat", {"X": x, "y": y})
        return x, y

    @staticmethod
    def write_stl10(root: Path, split: str, n: int, seed: int = 4) -> tuple[np.ndarray, np.ndarray]:
        """Images (N, 3, 96, 96) in (C, H, W) order and labels 1..10, written column-major."""
        rng = np.random.default_rng(seed)
        images = rng.integers(0, 256, (n, 3, 96, 96), dtype=np.uint8)
        labels = (np.arange(n) % 10 + 1).astype(np.uint8)
        folder = root / "stl10_binary"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{split}_X.bin").write_bytes(images.transpose(0, 1, 3, 2).tobytes())
        if split != "unlabeled":
            (folder / f"{split}_y.bin").write_bytes(labels.tobytes())
        return images, labels

    @staticmethod
    def write_png(path: Path, pixels: np.ndarray) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(pixels).save(path)
        return path

    @staticmethod
    def write_imagefolder(
        directory: Path, counts: dict[str, int], size: tuple[int, int] = (6, 5), seed: int = 5
    ) -> dict[str, list[np.ndarray]]:
        """``directory/<class>/<i>.png`` RGB images; returns the (H, W, 3) arrays per class."""
        rng = np.random.default_rng(seed)
        out: dict[str, list[np.ndarray]] = {}
        for cls, n in counts.items():
            out[cls] = []
            for i in range(n):
                pixels = rng.integers(0, 256, (*size, 3), dtype=np.uint8)
                Formats.write_png(directory / cls / f"{i:03d}.png", pixels)
                out[cls].append(pixels)
        return out


def learnable_images(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """28×28 uint8 images of 10 classes (a bright bar at a class-specific row or column) + noise."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 10
    images = rng.integers(0, 60, size=(n, 28, 28))
    for i, c in enumerate(labels):
        if c < 5:
            images[i, 4 + 4 * c : 7 + 4 * c, 4:24] = 230
        else:
            images[i, 4:24, 4 + 4 * (c - 5) : 7 + 4 * (c - 5)] = 230
    return images.astype(np.uint8), labels.astype(np.uint8)


def write_fake_fashion_mnist(root: Path, n_train: int = 120, n_test: int = 40) -> Path:
    """A data root with ``FashionMNIST/raw/*.gz`` (torchvision's layout) of learnable images."""
    raw = root / "FashionMNIST" / "raw"
    for split, n, seed in (("train", n_train, 0), ("test", n_test, 1)):
        images, labels = learnable_images(n, seed)
        stem_img, stem_lab = mnist.IDX_FILES[split]
        Formats.write_idx(raw / f"{stem_img}.gz", images, gz=True)
        Formats.write_idx(raw / f"{stem_lab}.gz", labels, gz=True)
    return root
