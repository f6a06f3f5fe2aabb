"""Packaging habits: one version (robustssl.__version__, read by pyproject.toml), py.typed, the
MIT licence file, extras that keep the core small (scripts/wheel-check.py installs the wheel)."""

from __future__ import annotations

import importlib.metadata
import re
from pathlib import Path

import robustssl

REPO = Path(__file__).resolve().parents[1]
PYPROJECT = (REPO / "pyproject.toml").read_text()


def test_version_lives_in_one_place() -> None:
    assert re.fullmatch(r"\d+\.\d+\.\d+", robustssl.__version__)
    assert 'dynamic = ["version"]' in PYPROJECT
    assert not re.search(r'^version = "', PYPROJECT, flags=re.M)  # no second, static version
    assert 'version = { attr = "robustssl.__version__" }' in PYPROJECT
    assert importlib.metadata.version("robustssl") == robustssl.__version__
    assert f"## [{robustssl.__version__}]" in (REPO / "CHANGELOG.md").read_text()


def test_typed_and_licensed() -> None:
    assert (REPO / "src" / "robustssl" / "py.typed").is_file()
    assert (REPO / "LICENSE").read_text().startswith("MIT License")
    assert 'license = "MIT"' in PYPROJECT


def test_core_requirements_are_the_small_set() -> None:
    requires = importlib.metadata.requires("robustssl") or []
    core = sorted(r.split(">")[0].split("=")[0].strip() for r in requires if "extra ==" not in r)
    assert core == ["numpy", "pydantic", "pyyaml", "safetensors", "scipy", "torch"]
    extras = set(importlib.metadata.metadata("robustssl").get_all("Provides-Extra") or [])
    assert {"train", "report", "cluster", "all"} <= extras
