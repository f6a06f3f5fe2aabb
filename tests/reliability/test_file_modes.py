"""Files robustssl writes get the umask's permissions (issue 18): 0644 under umask 022, 0664
(group-writable) under 002, 0600 under 077; never the 0600 the safetensors library gives its own
files regardless of the umask."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from robustssl.evaluation.records import EvalRecord, write_records
from robustssl.runs.atomic import atomic_write_text, current_umask, new_file_mode
from robustssl.utils.checkpoint import save_weights

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")


@pytest.fixture
def umask() -> Iterator[None]:
    old = os.umask(0o022)
    os.umask(old)
    yield
    os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("mask", [0o022, 0o002, 0o077], ids=["022", "002", "077"])
def test_written_files_follow_the_umask(tmp_path: Path, umask: None, mask: int) -> None:
    os.umask(mask)
    assert current_umask() == mask
    expected = 0o666 & ~mask
    weights = tmp_path / "w.safetensors"
    save_weights({"a": torch.zeros(3)}, weights, {"k": 1})
    text = tmp_path / "config.json"
    atomic_write_text(text, "{}")
    records = write_records(tmp_path / "records.json", [EvalRecord("m", "sa", 0.5, n=2)])
    for path in (weights, text, records):
        assert _mode(path) == expected, f"{path.name}: {oct(_mode(path))} != {oct(expected)}"


def test_a_rewrite_takes_the_current_umask(tmp_path: Path, umask: None) -> None:
    """A file written earlier as 0600 (the old behaviour) is replaced by a 0644 one."""
    os.umask(0o022)
    weights = tmp_path / "w.safetensors"
    weights.write_bytes(b"old")
    weights.chmod(0o600)
    save_weights({"a": torch.ones(2)}, weights)
    assert _mode(weights) == 0o644


def test_every_file_of_real_runs_is_group_readable(done_runs: dict[str, Path]) -> None:
    """The session's pretraining, finetuning and evaluation runs, written under the test
    process's umask: every file (weights, Lightning checkpoint, JSON, CSV, logs) has its mode."""
    expected = new_file_mode()
    files = [
        p
        for run in done_runs.values()
        for p in run.rglob("*")
        if p.is_file() and p.name != ".robustssl.lock"
    ]
    names = {p.name for p in files}
    assert {"encoder.safetensors", "classifier.safetensors", "records.json"} <= names
    wrong = {str(p): oct(_mode(p)) for p in files if _mode(p) != expected}
    assert not wrong, f"expected {oct(expected)}: {wrong}"
