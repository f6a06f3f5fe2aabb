"""Epoch-level training state for ``--resume``: model weights, optimizer state and progress in one
safetensors file (tensors) whose JSON header holds everything else. Written atomically after every
epoch, so a killed run resumes from its last finished epoch; nothing is ever unpickled."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from robustssl.models import load_state_strict
from robustssl.utils.checkpoint import load_weights, load_weights_metadata, save_weights

_MODEL, _OPTIM = "model.", "optim."


def save_state(
    path: Path, model: nn.Module, optimizer: torch.optim.Optimizer, progress: dict[str, Any]
) -> None:
    """Weights + optimizer state + ``progress`` (JSON-able) to ``path``."""
    tensors = {_MODEL + k: v for k, v in model.state_dict().items()}
    opt = optimizer.state_dict()
    scalars: dict[str, Any] = {}
    for pid, slots in opt["state"].items():
        for name, value in slots.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{_OPTIM}{pid}.{name}"] = value
            else:
                scalars[f"{pid}.{name}"] = value
    meta = {"progress": progress, "param_groups": opt["param_groups"], "scalars": scalars}
    save_weights(tensors, path, meta)


def _damaged(path: Path, problem: str) -> ValueError:
    return ValueError(
        f"cannot resume from the finetuning state {path}: {problem}; to train this run again from "
        f"epoch 0 move {path} away and run the same command with --resume, or start a new run "
        "with another name= (nothing was changed)"
    )


def read_state(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """(tensors, metadata) of a state file; a ValueError naming the file and the way out when
    it is damaged, truncated or not a finetuning state."""
    try:
        meta = load_weights_metadata(path) or {}
        tensors = load_weights(path, "cpu")  # load_state_dict moves them to the parameters' device
    except ValueError as err:
        raise _damaged(path, f"it is damaged or truncated ({err})") from None
    keys = ("progress", "param_groups", "scalars")
    if any(k not in meta for k in keys) or not isinstance(meta.get("progress"), dict):
        raise _damaged(path, "it is not a finetuning state file (no progress / optimizer state)")
    if not isinstance(meta["progress"].get("epoch"), int):
        raise _damaged(path, "its progress names no finished epoch")
    return tensors, meta


def load_state(path: Path, model: nn.Module, optimizer: torch.optim.Optimizer) -> dict[str, Any]:
    """Restore ``model`` (strictly) and ``optimizer`` from ``path``; returns the saved progress."""
    tensors, meta = read_state(path)
    model_state = {k[len(_MODEL) :]: v for k, v in tensors.items() if k.startswith(_MODEL)}
    load_state_strict(model, model_state, str(path))
    slots: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        if key.startswith(_OPTIM):
            pid, name = key[len(_OPTIM) :].split(".", 1)
            slots.setdefault(int(pid), {})[name] = value
    for key, value in meta["scalars"].items():
        pid, name = key.split(".", 1)
        slots.setdefault(int(pid), {})[name] = value
    try:
        optimizer.load_state_dict({"state": slots, "param_groups": meta["param_groups"]})
    except (ValueError, KeyError, TypeError) as err:
        raise _damaged(path, f"its optimizer state does not fit this run ({err})") from None
    return meta["progress"]
