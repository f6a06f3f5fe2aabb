"""ImageFolder trees of PNG files."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from robustssl.data import (
    CorruptDatasetError,
    DatasetNotFoundError,
    StreamingImageDataset,
    load_dataset,
)


def _chw(pixels: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(pixels.transpose(2, 0, 1).copy())


def test_split_tree_exact_pixels_and_sorted_classes(fmt, tmp_path):
    written = fmt.write_imagefolder(tmp_path / "train", {"dog": 2, "cat": 3})
    ds = load_dataset("imagefolder", root=tmp_path)
    assert ds.classes == ["cat", "dog"] and len(ds) == 5 and ds.image_shape == (3, 6, 5)
    assert ds.targets.tolist() == [0, 0, 0, 1, 1]
    expected = torch.stack([_chw(p) for p in written["cat"] + written["dog"]])
    assert torch.equal(ds.images, expected)


def test_root_of_class_folders_and_grayscale_to_rgb(fmt, tmp_path):
    gray = np.arange(20, dtype=np.uint8).reshape(4, 5) * 10
    fmt.write_png(tmp_path / "only" / "0.png", gray)
    ds = load_dataset("imagefolder", root=tmp_path)  # no train/ folder: root holds classes
    assert ds.classes == ["only"] and ds.image_shape == (3, 4, 5)
    for c in range(3):
        assert torch.equal(ds.images[0, c], torch.from_numpy(gray))


def test_mixed_sizes_need_image_size(fmt, tmp_path):
    fmt.write_imagefolder(tmp_path / "val", {"a": 1}, size=(6, 5))
    fmt.write_imagefolder(tmp_path / "val", {"b": 1}, size=(8, 8), seed=9)
    stream = load_dataset("imagefolder", "val", root=tmp_path, in_memory=False)
    with pytest.raises(ValueError, match="image_size="):
        load_dataset("imagefolder", "val", root=tmp_path)
    with pytest.raises(ValueError, match="image_size="):
        stream.get_batch([1])
    ds = load_dataset("imagefolder", "val", root=tmp_path, image_size=(4, 3))
    assert ds.images.shape == (2, 3, 4, 3)


def test_streaming_matches_memory_with_workers(fmt, tmp_path):
    fmt.write_imagefolder(tmp_path / "train", {"x": 4, "y": 3})
    mem = load_dataset("imagefolder", root=tmp_path, image_size=4)
    stream = load_dataset(
        "imagefolder", root=tmp_path, image_size=4, max_in_memory_bytes=10, num_workers=1
    )
    assert isinstance(stream, StreamingImageDataset)
    got = list(stream.loader(3, shuffle=True, seed=2))
    want = list(mem.loader(3, shuffle=True, seed=2))
    assert len(got) == len(want) == 3
    for (xs, ys), (xm, ym) in zip(got, want, strict=True):
        assert torch.equal(xs, xm) and torch.equal(ys, ym)


def test_missing_split_corrupt_image_and_no_root(fmt, tmp_path):
    fmt.write_imagefolder(tmp_path / "train", {"a": 1})
    with pytest.raises(DatasetNotFoundError) as info:
        load_dataset("imagefolder", "test", root=tmp_path)
    assert str(tmp_path / "test") in str(info.value) and "cannot be downloaded" in str(info.value)
    bad = tmp_path / "train" / "a" / "zz.png"
    bad.write_bytes(b"not a png at all")
    with pytest.raises(CorruptDatasetError, match=r"zz\.png"):
        load_dataset("imagefolder", root=tmp_path)
    with pytest.raises(ValueError, match="root="):
        load_dataset("imagefolder")
    (tmp_path / "empty" / "cls").mkdir(parents=True)
    with pytest.raises(DatasetNotFoundError, match="holds no images"):
        load_dataset("imagefolder", "empty", root=tmp_path)
