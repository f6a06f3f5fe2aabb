"""The Lightning machinery pretraining and finetuning share (layer 5, beside attacks): the
``trainer:`` section (:class:`TrainerConfig`), the device and precision rules, the Trainer
builder, ``fit`` with Ctrl-C / ``kill`` kept as exceptions, the sharded training data, the
progress bar, the resumable clock and safetensors + JSON checkpoints of nested training state."""

from robustssl.training.config import TrainerConfig
from robustssl.training.trainer import (
    InterruptCapture,
    build_trainer,
    fit,
    launched_rank,
    training_device,
)

__all__ = [
    "InterruptCapture",
    "TrainerConfig",
    "build_trainer",
    "fit",
    "launched_rank",
    "training_device",
]
