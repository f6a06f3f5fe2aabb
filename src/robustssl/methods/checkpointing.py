"""Lightning's resumable checkpoint: written atomically at every epoch end (a run killed while
saving keeps its previous good checkpoint; a full disk leaves no ``.tmp`` behind), and checked
before ``--resume`` trusts it (a damaged or foreign ``last.ckpt`` is a clear error, and it is
never unpickled)."""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path
from typing import Any

import lightning as L
import torch
from torch import nn

from robustssl.runs.atomic import atomic_path, temp_path

_REQUIRED = ("state_dict", "epoch", "global_step", "optimizer_states")


class AtomicEpochCheckpoint(L.Callback):
    """Writes ``path`` (Lightning's full training state) at the end of every training epoch."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not trainer.is_global_zero:  # a collective call; only rank 0 writes
            trainer.save_checkpoint(temp_path(self.path), weights_only=False)
            return
        with atomic_path(self.path) as tmp:
            trainer.save_checkpoint(tmp, weights_only=False)


def _restart_hint(path: Path) -> str:
    return (
        f"to train this run again from epoch 0 move {path} away and run the same command with "
        "--resume (its config is kept), or start a new run with another name= (nothing was "
        "changed)"
    )


def _load(path: Path) -> Any:
    """The checkpoint's content, read without unpickling code; a ValueError saying why not."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except (pickle.UnpicklingError, AttributeError, TypeError, ModuleNotFoundError):
        problem = "it holds pickled objects other than tensors (robustssl never unpickles them)"
    except (RuntimeError, EOFError, OSError, ValueError, zipfile.BadZipFile) as err:
        first = str(err).strip().splitlines()[0][:160] if str(err).strip() else type(err).__name__
        problem = f"it is damaged or truncated: {first}"
    raise ValueError(f"cannot resume from {path}: {problem}; {_restart_hint(path)}")


def check_resume_checkpoint(path: Path, module: nn.Module) -> None:
    """Raise a ValueError (naming the file, the problem and the way out) unless ``path`` is a
    Lightning checkpoint of ``module``: readable, with the training state and every weight of
    ``module`` in the right shape."""
    path = Path(path)
    ckpt = _load(path)
    if not isinstance(ckpt, dict) or any(k not in ckpt for k in _REQUIRED):
        missing = [k for k in _REQUIRED if not isinstance(ckpt, dict) or k not in ckpt]
        raise ValueError(
            f"cannot resume from {path}: it is not a Lightning training checkpoint (no "
            f"{', '.join(missing)}); {_restart_hint(path)}"
        )
    theirs: dict[str, Any] = ckpt["state_dict"]
    ours = module.state_dict()
    missing = sorted(set(ours) - set(theirs))
    unexpected = sorted(set(theirs) - set(ours))
    shapes = sorted(
        k
        for k in set(ours) & set(theirs)
        if not isinstance(theirs[k], torch.Tensor) or theirs[k].shape != ours[k].shape
    )
    if missing or unexpected or shapes:
        parts = [
            f"{label} {', '.join(keys[:3])}{' …' if len(keys) > 3 else ''}"
            for label, keys in (
                ("missing", missing),
                ("unexpected", unexpected),
                ("mis-shaped", shapes),
            )
            if keys
        ]
        raise ValueError(
            f"cannot resume from {path}: it holds another model than this run's config builds "
            f"({'; '.join(parts)}), so it is not this run's checkpoint; {_restart_hint(path)}"
        )
