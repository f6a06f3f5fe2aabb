"""Reader for Causal3DIdent in its published layout (von Kügelgen et al. 2021; seed 000 §7.1).

The release (Zenodo record 4784282, read by ysharma1126/ssl_identifiability's ``CausalDataset``)
has one folder per split, ``trainset/`` (250,000 scenes) and ``testset/`` (25,000), holding for
each object class c = 0..6:

    images_{c}/{j}.png     224×224 RGB renders, j zero-padded to ceil(log10(N_c)) digits
    raw_latents_{c}.npy    (N_c, 10) latents on the sampling support [−1, 1] (what the
                           reference loader reads, and what seed 000 §7.3 discretises)
    latents_{c}.npy        (N_c, 10) the same mapped to render units (optional here)

The single-object 3DIdent layout (brendel-group/cl-ica) is read too: ``images/{j}.png`` with
``raw_latents.npy`` / ``latents.npy`` (one class). Latent columns (the thesis code's order): object
position x, y, z; object rotation α, β, γ; spotlight position θ; hues of object, spotlight and
background. The spotlight angle is θ = (π/2)·z for the raw latent z (seed 000 §7.3, eq. 27).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from robustssl.data.dataset import ImageDataset, TensorImageDataset
from robustssl.data.errors import CorruptDatasetError, DatasetNotFoundError
from robustssl.data.imagefolder import _first_size
from robustssl.data.load import _materialize
from robustssl.data.resize import parse_image_size
from robustssl.data.sources import ImageFileSource
from robustssl.data.streaming import StreamingImageDataset
from robustssl.utils import resolve_device

LATENT_NAMES = (
    "pos_x",
    "pos_y",
    "pos_z",
    "rot_alpha",
    "rot_beta",
    "rot_gamma",
    "spotlight_pos",
    "hue_object",
    "hue_spotlight",
    "hue_background",
)
SPOTLIGHT_COLUMN = 6
OBJECT_CLASSES = ("teapot", "hare", "dragon", "cow", "armadillo", "horse", "head")
HINT = (
    "Download Causal3DIdent from https://zenodo.org/record/4784282 and extract it so that "
    "ROOT/trainset/images_0/ and ROOT/trainset/raw_latents_0.npy exist (or generate a small "
    "stand-in with robustssl.data.causal.write_causal3dident)."
)


@dataclass
class CausalData:
    """Images (targets = object class) with their latents, row-aligned."""

    dataset: ImageDataset
    latents: torch.Tensor  # (N, L) float64 on [−1, 1], from raw_latents_{c}.npy
    render_latents: torch.Tensor | None  # (N, L) float64 render units, from latents_{c}.npy
    location: Path

    def __len__(self) -> int:
        return len(self.dataset)


def image_paths(folder: Path, count: int) -> list[Path]:
    """``folder/{j}.png`` for j < count, zero-padded to ceil(log10(count)) digits."""
    width = math.ceil(math.log10(count)) if count > 0 else 0
    return [folder / f"{str(j).zfill(width)}.png" for j in range(count)]


def locate_split(root: Path, split: str) -> Path:
    """``root/{split}set``, ``root/{split}``, or ``root`` itself when it holds the files."""
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    candidates = [root / f"{split}set", root / split, root]
    for path in candidates:
        if (path / "images_0").is_dir() or (path / "images").is_dir():
            return path
    raise DatasetNotFoundError("causal3dident", split, candidates, HINT.replace("ROOT", str(root)))


def _load_latents(path: Path, count: int | None = None) -> np.ndarray:
    try:
        array = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise CorruptDatasetError(path, f"not a readable .npy array ({exc})") from exc
    if array.ndim != 2 or (count is not None and len(array) != count):
        expected = f"({count}, L)" if count is not None else "(N, L)"
        raise CorruptDatasetError(path, f"has shape {array.shape}, expected {expected}")
    return array.astype(np.float64)


def _groups(directory: Path) -> list[tuple[Path, str]]:
    """(image folder, latent file suffix) per class: the per-class or the single-object layout."""
    per_class = sorted(
        (int(p.name.split("_", 1)[1]), p)
        for p in directory.glob("images_*")
        if p.is_dir() and p.name.split("_", 1)[1].isdigit()
    )
    if per_class:
        if [c for c, _ in per_class] != list(range(len(per_class))):
            raise CorruptDatasetError(directory, "image folders must be images_0 … images_{C-1}")
        return [(p, f"_{c}") for c, p in per_class]
    return [(directory / "images", "")]


def read_layout(directory: Path) -> tuple[list[Path], np.ndarray, np.ndarray, np.ndarray | None]:
    """(image paths, object labels, raw latents, render latents or None) of one split folder."""
    paths: list[Path] = []
    labels, raws, renders = [], [], []
    for label, (folder, suffix) in enumerate(_groups(directory)):
        raw_file = directory / f"raw_latents{suffix}.npy"
        if not raw_file.is_file():
            raise CorruptDatasetError(raw_file, f"is missing (needed for the images in {folder})")
        raw = _load_latents(raw_file)
        render_file = directory / f"latents{suffix}.npy"
        renders.append(_load_latents(render_file, len(raw)) if render_file.is_file() else None)
        found = image_paths(folder, len(raw))
        for check in found[:1] + found[-1:]:
            if not check.is_file():
                raise CorruptDatasetError(check, f"is missing ({len(raw)} latents in {raw_file})")
        paths += found
        labels.append(np.full(len(raw), label, dtype=np.int64))
        raws.append(raw)
    complete = [r for r in renders if r is not None]
    render = np.concatenate(complete) if len(complete) == len(renders) else None
    return paths, np.concatenate(labels), np.concatenate(raws), render


def load_causal3dident(
    root: str | Path,
    split: str = "train",
    *,
    device: str | torch.device = "cpu",
    image_size: int | tuple[int, int] | None = None,
    in_memory: bool | None = None,
    max_in_memory_bytes: int = 2**30,
    num_workers: int = 0,
) -> CausalData:
    """One split of Causal3DIdent (or 3DIdent): images with object-class targets, and latents.

    Held in memory when small enough (or ``in_memory=True``), else streamed from the PNGs.
    ``image_size`` resizes on read (bilinear); without it every image must have one size.
    """
    directory = locate_split(Path(root).expanduser(), split)
    paths, labels, raw, render = read_layout(directory)
    size = parse_image_size(image_size) or _first_size(paths[0])
    source = ImageFileSource(paths, size, resize=image_size is not None)
    count = int(labels.max()) + 1
    classes = list(OBJECT_CLASSES[:count]) if count > 1 else ["object"]
    dev = resolve_device(device)
    keep = source.nbytes <= max_in_memory_bytes if in_memory is None else in_memory
    name = "causal3dident"
    if keep:
        images = _materialize(source, dev, f"reading causal3dident/{split}")
        dataset: ImageDataset = TensorImageDataset(
            images, labels, classes=classes, name=name, split=split
        )
    else:
        dataset = StreamingImageDataset(
            source,
            labels,
            classes=classes,
            name=name,
            split=split,
            device=dev,
            num_workers=num_workers,
        )
    render_t = None if render is None else torch.from_numpy(render)
    return CausalData(dataset, torch.from_numpy(raw), render_t, directory)
