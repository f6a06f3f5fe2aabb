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


def load_state(path: Path, model: nn.Module, optimizer: torch.optim.Optimizer) -> dict[str, Any]:
    """Restore ``model`` (strictly) and ``optimizer`` from ``path``; returns the saved progress."""
    tensors = load_weights(path, "cpu")  # load_state_dict moves them to the parameters' device
    meta = load_weights_metadata(path) or {}
    if "progress" not in meta:
        raise ValueError(f"{path} is not a finetuning state file; start a new run without --resume")
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
    optimizer.load_state_dict({"state": slots, "param_groups": meta["param_groups"]})
    return meta["progress"]
