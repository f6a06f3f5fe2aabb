"""Weights as safetensors + metadata as JSON: loading never unpickles anything."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn


def atomic_write_text(path: Path, text: str) -> None:
    """Write via a temporary file + rename so a crash never leaves a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def save_weights(
    module: nn.Module | dict[str, torch.Tensor], path: Path, metadata: dict[str, Any] | None = None
) -> None:
    """Save a state dict (contiguous CPU copies) to ``path`` (.safetensors) atomically.

    ``metadata`` (JSON-serialisable) is stored in the safetensors header under ``"robustssl"``.
    """
    state = module.state_dict() if isinstance(module, nn.Module) else module
    tensors = {k: v.detach().to("cpu").contiguous().clone() for k, v in state.items()}
    header = {"robustssl": json.dumps(metadata)} if metadata is not None else None
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    save_file(tensors, str(tmp), metadata=header)
    os.replace(tmp, path)


def load_weights(path: Path, device: str | torch.device = "cpu") -> dict[str, torch.Tensor]:
    """Read a .safetensors state dict; a clear error when the file is missing or not safetensors."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no weights file at {path}")
    try:
        return load_file(str(path), device=str(device))
    except Exception as err:  # safetensors raises its own error types
        raise ValueError(
            f"{path} is not a readable safetensors file ({err}); re-export it"
        ) from err


def load_weights_metadata(path: Path) -> dict[str, Any] | None:
    """The JSON metadata stored by :func:`save_weights`, or None."""
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as handle:
        raw = (handle.metadata() or {}).get("robustssl")
    return json.loads(raw) if raw else None
