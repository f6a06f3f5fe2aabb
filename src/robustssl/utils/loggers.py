"""Experiment loggers: the one place that knows ``logger: tensorboard | csv | wandb``.

Pretraining hands the chosen logger to Lightning's Trainer (next to the CSV logger every
pretraining run keeps for its ``metrics.csv``); finetuning and evaluation use the same Lightning
logger classes standalone (:class:`MetricsLogger`: ``log_hyperparams`` once, ``log_metrics`` per
epoch or at the end, ``close``). Every logger gets the resolved config as its hyperparameters.

``check_logger`` runs before any compute: a missing package is a
:class:`~robustssl.utils.optional.MissingExtraError` naming what to install (TensorBoard comes with
``robustssl[train]``; wandb with ``pip install wandb``; it is never a dependency). wandb runs
offline when ``WANDB_MODE=offline`` (its own switch); the project is ``$WANDB_PROJECT`` or
``robustssl``.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from robustssl.runs.layout import LOGGER_DIRS
from robustssl.utils.optional import MissingExtraError, require

LoggerName = Literal["tensorboard", "csv", "wandb"]
LOGGER_NAMES: tuple[str, ...] = ("tensorboard", "csv", "wandb")
WANDB_PROJECT = "robustssl"


def check_logger(name: str | None, purpose: str) -> None:
    """Raise before any compute when logger ``name`` cannot be built here."""
    if name is None:
        return
    if name not in LOGGER_NAMES:
        raise ValueError(f"unknown logger {name!r}; choose one of {', '.join(LOGGER_NAMES)}")
    require("lightning", f"{purpose} (logger={name})")
    if name == "tensorboard":
        require("tensorboard", f"{purpose} with logger=tensorboard")
    if name == "wandb":
        try:
            importlib.import_module("wandb")
        except ModuleNotFoundError as err:
            if err.name is None or err.name.split(".")[0] != "wandb":
                raise
            raise MissingExtraError(
                f"{purpose} with logger=wandb needs wandb, which is not installed; install it "
                "with pip install wandb (WANDB_MODE=offline logs without an account), or choose "
                "logger=tensorboard or logger=csv",
                name="wandb",
            ) from err


def build_logger(name: str, run_dir: str | Path, run_name: str) -> Any:
    """The Lightning logger ``name`` writing under ``run_dir`` (``csv/``, ``tensorboard/`` or
    ``wandb/``); call :func:`check_logger` first."""
    from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger, WandbLogger

    run_dir = Path(run_dir)
    if name == "csv":
        return CSVLogger(run_dir, name=LOGGER_DIRS["csv"])
    if name == "tensorboard":
        return TensorBoardLogger(run_dir, name=LOGGER_DIRS["tensorboard"])
    if name == "wandb":
        run_dir.mkdir(parents=True, exist_ok=True)  # wandb writes <run_dir>/wandb/
        project = os.environ.get("WANDB_PROJECT", WANDB_PROJECT)
        return WandbLogger(name=run_name, save_dir=str(run_dir), project=project)
    raise ValueError(f"unknown logger {name!r}; choose one of {', '.join(LOGGER_NAMES)}")


def flat_hparams(config: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """A nested config as ``{"optim.lr": 0.1, ...}``: every logger shows flat keys; lists and
    None become strings (TensorBoard's hparams take only scalars and strings)."""
    out: dict[str, Any] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flat_hparams(value, f"{name}."))
        elif isinstance(value, (bool, int, float, str)):
            out[name] = value
        else:
            out[name] = str(value)
    return out


class MetricsLogger:
    """A Lightning logger used outside a Trainer (finetuning's epochs, evaluation's results)."""

    def __init__(self, name: str, run_dir: str | Path, run_name: str, purpose: str) -> None:
        check_logger(name, purpose)
        self.name = name
        self.logger = build_logger(name, run_dir, run_name)

    def log_hyperparams(self, config: Mapping[str, Any]) -> None:
        self.logger.log_hyperparams(flat_hparams(config))

    def log_metrics(self, metrics: Mapping[str, Any], step: int) -> None:
        """The numeric entries of ``metrics`` at ``step`` (others are left out)."""
        numbers = {
            k: float(v)
            for k, v in metrics.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool)
        }
        if numbers:
            self.logger.log_metrics(numbers, step=step)

    def close(self, status: str = "success") -> None:
        self.logger.save()
        self.logger.finalize(status)
        finish_wandb([self.logger])


def finish_wandb(loggers: list[Any]) -> None:
    """Finish the wandb run of any WandbLogger in ``loggers``, so the next run (a study's next
    stage in the same process) starts its own instead of reusing this one."""
    for logger in loggers:
        if type(logger).__name__ == "WandbLogger":
            experiment = getattr(logger, "_experiment", None)
            if experiment is not None:
                experiment.finish()


def open_logger(
    name: str | None, run_dir: str | Path, run_name: str, purpose: str
) -> MetricsLogger | None:
    """A :class:`MetricsLogger` for ``name``, or None when no logger is asked for."""
    return None if name is None else MetricsLogger(name, run_dir, run_name, purpose)
