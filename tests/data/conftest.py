"""Writers of tiny dataset files in the real on-disk formats, shared by the data tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from fakedata import Formats
from robustssl.data import mnist


@pytest.fixture
def fmt() -> type[Formats]:
    return Formats


@pytest.fixture
def no_system_dirs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Point Fashion-MNIST's system directory at an empty tmp path (hides Debian's copy)."""
    fake = tmp_path / "no-debian" / "fashion-mnist"
    monkeypatch.setitem(mnist.SYSTEM_DIRS, "fashion_mnist", (fake,))
    return fake
