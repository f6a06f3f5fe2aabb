"""Typed, validated pretraining configs (pydantic v2). A wrong key or value fails before any
compute, naming the key and the allowed values. Files: ``configs/<dataset>/<method>.yaml``.

Each method's own section (``method``) is its config class beside the method (e.g.
``robustssl.methods.simclr.SimCLRConfig``), collected by :mod:`robustssl.methods.registry`; the
data and model sections extend the shared owners :class:`robustssl.data.config.DataConfig` and
:class:`robustssl.models.config.ModelConfig`; ``optim`` is
:class:`robustssl.utils.optim.OptimConfig`.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from robustssl.data.config import DataConfig
from robustssl.methods.overfitting_check import OverfittingCheckConfig, check_eps_source
from robustssl.methods.registry import MethodConfig
from robustssl.methods.simclr import SimCLRConfig
from robustssl.models.config import ModelConfig
from robustssl.training.config import TrainerConfig
from robustssl.utils.config import StrictConfig
from robustssl.utils.loggers import LoggerName
from robustssl.utils.optim import OptimConfig, reachable_milestones


class PretrainDataConfig(DataConfig):
    """The pretraining data (:class:`robustssl.data.config.DataConfig`) and the number of loader
    worker processes when streaming."""

    num_workers: int = Field(0, ge=0)


class PretrainModelConfig(ModelConfig):
    """The encoder (:class:`robustssl.models.config.ModelConfig`) and how it is trained."""

    sync_batchnorm: bool = False
    channels_last: bool = True  # NHWC weights: ~20 % faster convolutions on CPU (oneDNN) and GPU
    # A pretraining run directory whose encoder.safetensors initialises the encoder (strict
    # loading) before training, e.g. seed 003's P1/P2 adversarial pretext pretraining; None =
    # random initialisation (P0).
    init_from: str | None = None


class PretrainTrainerConfig(TrainerConfig):
    """The shared ``trainer:`` section (:class:`robustssl.training.config.TrainerConfig`) plus
    pretraining's epochs, time limit, progress bar and logger."""

    max_epochs: int = Field(10, gt=0)
    max_time_minutes: float | None = Field(None, gt=0)
    progress_bar: bool = True
    # next to the CSV logs every run keeps (metrics.csv); robustssl.utils.loggers
    logger: LoggerName = "tensorboard"


class MonitorConfig(StrictConfig):
    """Online linear probe on detached features (like solo-learn's) and a kNN monitor."""

    online_probe: bool = True
    probe_lr: float = Field(1e-3, gt=0)
    knn: bool = True
    knn_k: int = Field(20, gt=0)
    knn_temperature: float = Field(0.07, gt=0)
    every_n_epochs: int = Field(1, gt=0)
    max_bank_size: int | None = Field(None, gt=0)
    # PGD robustness of encoder + online probe on a held-out batch after every epoch
    # (robustssl.methods.overfitting_check); None = off
    catastrophic_overfitting: OverfittingCheckConfig | None = None


class PretrainConfig(StrictConfig):
    """Everything one pretraining run needs; its JSON dump is saved in the run directory."""

    name: str = Field("run", pattern=r"^[A-Za-z0-9_.\-]+$")
    seed: int = 0
    output_dir: str = "runs"
    smoke: bool = False  # shrunk by --smoke (robustssl.runs.smoke): never a result
    data: PretrainDataConfig = PretrainDataConfig()
    model: PretrainModelConfig = PretrainModelConfig()
    method: MethodConfig = SimCLRConfig()
    optim: OptimConfig = OptimConfig()
    trainer: PretrainTrainerConfig = PretrainTrainerConfig()
    monitor: MonitorConfig = MonitorConfig()

    @model_validator(mode="before")
    @classmethod
    def _default_method_name(cls, data: Any) -> Any:
        """A ``method`` section without ``name`` means the default method (simclr)."""
        if (
            isinstance(data, dict)
            and isinstance(data.get("method"), dict)
            and "name" not in data["method"]
        ):
            data = {**data, "method": {"name": "simclr", **data["method"]}}
        return data

    @model_validator(mode="after")
    def _overfitting_check(self) -> PretrainConfig:
        check = self.monitor.catastrophic_overfitting
        if check is not None:
            if not self.monitor.online_probe:
                raise ValueError(
                    "monitor.catastrophic_overfitting attacks encoder + online probe: set "
                    "monitor.online_probe=true (or remove monitor.catastrophic_overfitting)"
                )
            check_eps_source(check, self.method)
        return self

    @model_validator(mode="after")
    def _reachable_milestones(self) -> PretrainConfig:
        if self.optim.schedule == "step":  # warns about milestones past the last epoch
            reachable_milestones(self.optim.milestones, self.trainer.max_epochs, "optim.milestones")
        return self
