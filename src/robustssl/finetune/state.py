"""Epoch-level training state for ``--resume``: Lightning's full training state (classifier
weights, optimizer slots, loop counters) plus the finetuning progress (finished epoch, metric
rows, seconds) in one safetensors file whose JSON header holds everything but the tensors
(:mod:`robustssl.training.state_io`). Written atomically after every epoch, so a killed run
resumes from its last finished epoch exactly as an uninterrupted run continues; nothing is ever
unpickled."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
import torch
from torch import nn

from robustssl.training.state_io import load_tree
from robustssl.utils.checkpoint import load_weights_metadata

_REQUIRED = ("progress", "state_dict", "optimizer_states", "loops", "epoch")


def save_state(trainer: L.Trainer, path: Path) -> None:
    """The trainer's state (with the progress the epoch callback adds) to ``path``; a collective
    call under DDP (rank 0 writes)."""
    trainer.save_checkpoint(path, weights_only=False)


def _damaged(path: Path, problem: str) -> ValueError:
    return ValueError(
        f"cannot resume from the finetuning state {path}: {problem}; to train this run again from "
        f"epoch 0 move {path} away and run the same command with --resume, or start a new run "
        "with another name= (nothing was changed)"
    )


def read_progress(path: Path) -> dict[str, Any]:
    """The saved progress ({"epoch", "rows", "seconds"}) of a state file, read from its header
    alone; a ValueError naming the file and the way out when it is damaged, truncated or not a
    finetuning state."""
    try:
        meta = load_weights_metadata(path) or {}
    except ValueError as err:
        raise _damaged(path, f"it is damaged or truncated ({err})") from None
    if "scalars" in meta and "param_groups" in meta and "loops" not in meta:
        raise _damaged(
            path,
            "it was written by an earlier robustssl version (before finetuning ran on Lightning) "
            "and cannot be continued by this one",
        )
    if any(k not in meta for k in _REQUIRED) or not isinstance(meta.get("progress"), dict):
        raise _damaged(path, "it is not a finetuning state file (no progress / optimizer state)")
    progress = meta["progress"]
    if not isinstance(progress.get("epoch"), int) or not isinstance(progress.get("rows"), list):
        raise _damaged(path, "its progress names no finished epoch")
    return progress


def check_state(path: Path, model: nn.Module, prefix: str = "classifier.") -> None:
    """Raise (before any compute) unless ``path`` is a readable finetuning state whose weights
    are ``model``'s (under ``prefix``, its attribute in the LightningModule), tensor for tensor
    and shape for shape."""
    read_progress(path)
    try:
        theirs = load_tree(path)["state_dict"]
    except (ValueError, KeyError, TypeError) as err:
        raise _damaged(path, f"it is damaged or truncated ({err})") from None
    ours = {prefix + k: v for k, v in model.state_dict().items()}
    bad = sorted(
        k
        for k in set(ours) | set(theirs)
        if k not in ours
        or not isinstance(theirs.get(k), torch.Tensor)
        or theirs[k].shape != ours[k].shape
    )
    if bad:
        listed = ", ".join(bad[:3]) + (" …" if len(bad) > 3 else "")
        raise _damaged(path, f"its weights do not fit this run's classifier ({listed})")
