"""Building and running the Lightning Trainer, for pretraining and finetuning alike: the device a
``trainer:`` section asks for, the precision it can have there, the Trainer itself (quiet, no
Lightning checkpoints or validation loop: each caller saves its own state), and ``fit`` where
Ctrl-C / ``kill`` stay :class:`KeyboardInterrupt` / :class:`~robustssl.runs.Terminated`."""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.utilities.exceptions import SIGTERMException

from robustssl.runs import Terminated
from robustssl.runs.signals import signal_handlers_kept
from robustssl.training.config import Precision, TrainerConfig
from robustssl.training.progress_bar import progress_bar
from robustssl.utils.quiet import quiet_lightning


def training_device(t: TrainerConfig) -> torch.device:
    """The device this process trains on: CUDA (this process's local rank) when
    ``accelerator`` asks for a GPU, or is ``auto`` and one is present; else the CPU."""
    wants_gpu = t.accelerator in ("gpu", "cuda") or (
        t.accelerator == "auto" and torch.cuda.is_available()
    )
    if wants_gpu:
        if not torch.cuda.is_available():
            raise ValueError(
                "trainer.accelerator=gpu but CUDA is not available; use trainer.accelerator=cpu"
            )
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
    return torch.device("cpu")


def launched_rank() -> int:
    """This process's rank when a launcher started it as one of several DDP processes
    (Lightning's subprocess launcher sets LOCAL_RANK / NODE_RANK, torchrun RANK, SLURM
    SLURM_PROCID); 0 for the process the user started."""
    keys = ("RANK", "SLURM_PROCID", "LOCAL_RANK", "NODE_RANK")
    return max(int(os.environ.get(key) or 0) for key in keys)


def precision(t: TrainerConfig, device: torch.device) -> Precision:
    """``trainer.precision``, except 16-mixed on the CPU (no fp16 autocast there): 32-true."""
    if device.type == "cpu" and t.precision == "16-mixed":
        warnings.warn(
            "trainer.precision=16-mixed needs a GPU; training in 32-true on the CPU", stacklevel=3
        )
        return "32-true"
    return t.precision


def build_trainer(
    t: TrainerConfig,
    device: torch.device,
    *,
    root: str | Path,
    max_epochs: int,
    callbacks: Sequence[L.Callback] = (),
    loggers: Sequence[Any] = (),
    show_progress: bool = True,
    max_time_minutes: float | None = None,
    sync_batchnorm: bool = False,
    plugins: Sequence[Any] = (),
) -> L.Trainer:
    """The Trainer for ``t`` on ``device`` (``devices`` = [index] for a chosen CUDA device):
    deterministic on the CPU unless ``t.deterministic`` says otherwise, ``inference_mode`` off
    (attacks need gradients in every hook), the progress bar of :mod:`progress_bar`."""
    callbacks = list(callbacks)
    if show_progress:
        callbacks.append(progress_bar(refresh_rate=10))  # a tqdm bar, or plain lines in logs
    deterministic = t.deterministic if t.deterministic is not None else device.type == "cpu"
    devices: int | str | list[int] = t.devices
    if device.type == "cuda" and device.index is not None and t.devices in ("auto", 1):
        devices = [device.index]
    with quiet_lightning():  # its banners and tips, printed by the constructor
        return L.Trainer(
            default_root_dir=root,
            max_epochs=max_epochs,
            max_time=timedelta(minutes=max_time_minutes) if max_time_minutes else None,
            accelerator="gpu" if device.type == "cuda" else "cpu",
            devices=devices,
            num_nodes=t.num_nodes,
            strategy=t.strategy,
            precision=precision(t, device),
            sync_batchnorm=sync_batchnorm,
            deterministic=deterministic,
            log_every_n_steps=t.log_every_n_steps,
            logger=list(loggers) if loggers else False,
            callbacks=callbacks,
            plugins=list(plugins) or None,
            enable_progress_bar=show_progress,
            enable_model_summary=False,
            enable_checkpointing=False,
            inference_mode=False,
            limit_val_batches=0,
            num_sanity_val_steps=0,
        )


class InterruptCapture(L.Callback):
    """Keeps the KeyboardInterrupt (Ctrl-C, or :class:`Terminated` from ``kill``) that Lightning
    turns into ``sys.exit(1)``, so :func:`fit` can raise it again."""

    def __init__(self) -> None:
        self.interrupt: KeyboardInterrupt | None = None

    def on_exception(
        self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException
    ) -> None:
        if isinstance(exception, KeyboardInterrupt):
            self.interrupt = exception


def fit(trainer: L.Trainer, capture: InterruptCapture, **fit_args: Any) -> None:
    """``trainer.fit`` where Ctrl-C / ``kill`` raise KeyboardInterrupt / :class:`Terminated`
    (Lightning exits the process with status 1, or 0 after SIGTERM, instead) and the signal
    handlers Lightning changes are restored. ``capture`` must be among the trainer's callbacks."""
    with signal_handlers_kept(), quiet_lightning():
        try:
            trainer.fit(**fit_args)
        except SIGTERMException:  # a SystemExit: Lightning stopped after a batch
            raise Terminated() from None
        except SystemExit:
            if capture.interrupt is not None:
                raise capture.interrupt from None
            raise
