"""Suite-wide rules: tests never download and never run the machine's apt-get or sudo."""

from __future__ import annotations

from pathlib import Path

import pytest

from robustssl.data import download as download_module
from robustssl.data import fetch as fetch_module
from robustssl.data import load as load_module


@pytest.fixture(autouse=True)
def _no_real_downloads_or_apt(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A test that reaches torchvision's downloader or a program outside its tmp dirs (the real
    apt-get) fails at once; tests pass fakes (``download=``, fake programs on PATH)."""

    def no_download(name: str, root: Path, split: str) -> None:
        pytest.fail(f"a test tried to download {name}/{split} into {root}; pass a fake downloader")

    monkeypatch.setattr(download_module, "torchvision_download", no_download)
    monkeypatch.setattr(load_module, "torchvision_download", no_download)
    base = tmp_path_factory.getbasetemp().resolve()
    real_run = fetch_module._run

    def fake_programs_only(cmd: list[str], log: fetch_module.Log) -> tuple[bool, str]:
        if not Path(cmd[0]).resolve().is_relative_to(base):
            pytest.fail(f"a test tried to run the machine's {cmd[0]}: {' '.join(cmd)}")
        return real_run(cmd, log)

    monkeypatch.setattr(fetch_module, "_run", fake_programs_only)
