"""Checks of output paths given on the command line, before any work: a clear error (exit 2)
instead of a traceback after the work is done, and no directory tree created from a typo."""

from __future__ import annotations

from pathlib import Path


def check_output_dir(path: Path, option: str) -> Path:
    """A directory to write into: an existing directory, or a new one whose parent exists."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ValueError(f"{option} {path} is a file; give a directory to write into")
    if not path.exists() and not path.parent.is_dir():
        raise ValueError(
            f"{option} {path}: its parent directory {path.parent} does not exist; create it "
            f"first (mkdir -p {path.parent}) or fix the path"
        )
    return path


def check_output_file(path: Path, option: str) -> Path:
    """A file to (over)write: not a directory, in an existing directory."""
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{option} {path} is a directory; give a file name, e.g. {path}/out.csv")
    if not path.parent.is_dir():
        raise ValueError(
            f"{option} {path}: the directory {path.parent} does not exist; create it first "
            f"(mkdir -p {path.parent}) or fix the path"
        )
    return path
