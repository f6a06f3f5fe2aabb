"""The ``trainer:`` section shared by pretraining and finetuning: where and how Lightning runs
(accelerator, devices, nodes, strategy, precision, determinism). Pretraining's section extends it
with its epochs, time limit, progress bar and logger
(``robustssl.methods.config.PretrainTrainerConfig``); finetuning counts epochs in
``optim.epochs`` and keeps ``progress_bar`` / ``logger`` at the top level."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from robustssl.utils.config import StrictConfig

Precision = Literal["32", "32-true", "16-mixed", "bf16-mixed"]


class TrainerConfig(StrictConfig):
    """Lightning's hardware settings. ``precision``: ``bf16-mixed`` autocasts the forward passes
    (attacks inside a training step included) to bfloat16 on CPU and GPU; ``16-mixed`` needs a
    GPU (on the CPU it falls back to 32-true with a warning). ``strategy``: ``ddp`` / ``ddp_spawn``
    with ``devices`` > 1 run one process per device (gloo on the CPU)."""

    accelerator: Literal["auto", "cpu", "gpu", "cuda", "mps"] = "auto"
    devices: int | Literal["auto"] = "auto"
    num_nodes: int = Field(1, ge=1)
    strategy: str = "auto"
    precision: Precision = "32-true"
    log_every_n_steps: int = Field(20, gt=0)
    deterministic: bool | None = None  # None: True on CPU, False on GPU
