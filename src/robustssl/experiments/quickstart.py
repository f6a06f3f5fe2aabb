"""Where the quickstart study's experiment file is (``configs/quickstart.yaml``)."""

from __future__ import annotations

from pathlib import Path

from robustssl.utils.config_files import configs_dir


def quickstart_file() -> Path:
    """``quickstart.yaml`` of the configs shipped with robustssl (a clone's ``configs/``)."""
    return configs_dir() / "quickstart.yaml"
