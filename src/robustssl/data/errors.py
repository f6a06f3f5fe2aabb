"""Dataset errors: each names the problem and how to fix it."""

from __future__ import annotations

import pickle
from collections.abc import Iterable
from pathlib import Path


class DatasetError(Exception):
    """Base class of every error raised by :mod:`robustssl.data`."""


class UnknownDatasetError(DatasetError, KeyError):
    """A dataset name that is not in the registry; the message lists the known names."""

    def __init__(self, name: str, known: Iterable[str]) -> None:
        self.name = name
        self.known = sorted(known)
        super().__init__(f"unknown dataset {name!r}; known datasets: {', '.join(self.known)}")

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0])


class InvalidSplitError(DatasetError, ValueError):
    """A split the dataset does not have; the message lists the valid splits."""

    def __init__(self, name: str, split: str, valid: Iterable[str]) -> None:
        self.name = name
        self.split = split
        self.valid = list(valid)
        super().__init__(
            f"dataset {name!r} has no split {split!r}; valid splits: {', '.join(self.valid)}"
        )


class DatasetNotFoundError(DatasetError, FileNotFoundError):
    """The files are not where they were looked for; the message lists every path and a fix."""

    def __init__(self, name: str, split: str, searched: Iterable[Path | str], hint: str) -> None:
        self.name = name
        self.split = split
        self.searched = [Path(p) for p in searched]
        self.hint = hint
        looked = "\n".join(f"  - {p}" for p in self.searched) or "  (nowhere)"
        super().__init__(
            f"files of dataset {name!r} (split {split!r}) not found; looked at:\n{looked}\n{hint}"
        )

    def __str__(self) -> str:  # OSError's __str__ would format errno/filename instead
        return str(self.args[0])


class CorruptDatasetError(DatasetError):
    """A dataset file exists but cannot be read; names the file and what is wrong."""

    def __init__(self, path: Path | str, problem: str) -> None:
        self.path = Path(path)
        self.problem = problem
        super().__init__(
            f"corrupt dataset file {self.path}: {problem}; delete it and download it again "
            "(load_dataset(..., download=True)) or restore it from its package"
        )


class DatasetLayoutError(DatasetError, ValueError):
    """The files are there but arranged so that reading them would be wrong (e.g. an empty class
    folder); the message names the folder and the fix."""


class MixedImageSizesError(DatasetLayoutError):
    """Images of different sizes in a folder read without ``image_size`` (no resizing)."""

    def __init__(self, path: Path, size: tuple[int, int], first: tuple[int, int]) -> None:
        self.path, self.size, self.first = Path(path), size, first
        super().__init__(
            f"image {path} is {size[0]}x{size[1]} (HxW) but the first image is "
            f"{first[0]}x{first[1]}; images of different sizes must be resized to one size "
            "(load_dataset's image_size=(H, W); data.image_size in finetune and evaluate configs)"
        )


class UnsafePickleError(CorruptDatasetError, pickle.UnpicklingError):
    """A pickled batch references a global outside the numpy-array allowlist; it is not run."""
