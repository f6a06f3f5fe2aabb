"""Weights as safetensors + metadata as JSON: loading never unpickles anything."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from robustssl.runs.atomic import atomic_path, atomic_write_text

__all__ = [
    "atomic_write_text",
    "load_weights",
    "load_weights_metadata",
    "non_finite_keys",
    "save_weights",
]


def save_weights(
    module: nn.Module | dict[str, torch.Tensor], path: Path, metadata: dict[str, Any] | None = None
) -> None:
    """Save a state dict (contiguous CPU copies) to ``path`` (.safetensors) atomically.

    ``metadata`` (JSON-serialisable) is stored in the safetensors header under ``"robustssl"``.
    """
    state = module.state_dict() if isinstance(module, nn.Module) else module
    tensors = {k: v.detach().to("cpu").contiguous().clone() for k, v in state.items()}
    header = {"robustssl": json.dumps(metadata)} if metadata is not None else None
    with atomic_path(path) as tmp:  # a full disk leaves no half-written file behind
        save_file(tensors, str(tmp), metadata=header)


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
    """The JSON metadata stored by :func:`save_weights`, or None; a ValueError naming the file
    when it is not a readable safetensors file."""
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no weights file at {path}")
    try:
        with safe_open(str(path), framework="pt") as handle:
            raw = (handle.metadata() or {}).get("robustssl")
        return json.loads(raw) if raw else None
    except Exception as err:  # safetensors' own error types; a damaged JSON header
        raise ValueError(f"{path} is not a readable safetensors file ({err})") from None


def non_finite_keys(state: dict[str, torch.Tensor]) -> list[str]:
    """The floating-point tensors of ``state`` holding NaN or ±inf (a diverged or damaged run)."""
    return [
        k for k, v in state.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())
    ]
