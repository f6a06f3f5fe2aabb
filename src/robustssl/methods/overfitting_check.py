"""``monitor.catastrophic_overfitting``: after every pretraining epoch, PGD robust accuracy of the
encoder + online probe on one fixed held-out batch of the evaluation split
(:class:`robustssl.attacks.OverfittingMonitor`, the reference's early-stop rule of
locuslab/fast_adversarial plus a slow-collapse rule). A collapse is logged (``co_pgd_acc`` per
epoch), warned about, and with ``early_stop`` ends training after that epoch. Meant for
single-step adversaries (``method.adversary.attack: fgsm_rs | n_fgsm``), whose training can
lose all PGD robustness within an epoch (Wong et al. 2020, §5).
"""

from __future__ import annotations

import warnings

import lightning as L
import torch
from pydantic import Field, field_validator
from torch import nn

from robustssl.attacks import OverfittingMonitor
from robustssl.data import ImageDataset
from robustssl.utils.config import StrictConfig, parse_fraction


class OverfittingCheckConfig(StrictConfig):
    """The held-out batch (``n`` points of the evaluation split), the PGD budget (``eps``: None =
    the method's ``adversary.eps``; ``steps``), the rule (``max_drop``, ``min_ratio``) and
    whether a collapse stops training (``early_stop``)."""

    n: int = Field(256, gt=0)
    eps: float | None = Field(None, gt=0)
    steps: int = Field(5, ge=1)
    max_drop: float = Field(0.2, gt=0, le=1)
    min_ratio: float | None = Field(0.5, gt=0, lt=1)
    early_stop: bool = False

    _fractions = field_validator("eps", mode="before")(parse_fraction)


def check_eps_source(cfg: OverfittingCheckConfig, method: object) -> tuple[float, str]:
    """(ε, norm) of the check: ``cfg.eps`` (L∞ unless the method's adversary says otherwise), or
    the method's ``adversary``; a ValueError when neither gives one."""
    adversary = getattr(method, "adversary", None)
    norm = str(getattr(adversary, "norm", "Linf"))
    if cfg.eps is not None:
        return cfg.eps, norm
    if adversary is None:
        raise ValueError(
            "monitor.catastrophic_overfitting needs an ε: the method has no adversary; set "
            "monitor.catastrophic_overfitting.eps (e.g. 8/255)"
        )
    return float(adversary.eps), norm


class OverfittingCallback(L.Callback):
    """Runs the monitor after every training epoch on ``encoder`` → online probe."""

    def __init__(
        self, cfg: OverfittingCheckConfig, data: ImageDataset, eps: float, norm: str
    ) -> None:
        x, y = data.get_batch(torch.arange(min(cfg.n, len(data))))
        self.cfg = cfg
        self.monitor = OverfittingMonitor(
            x,
            y,
            norm=norm,
            eps=eps,
            steps=cfg.steps,
            max_drop=cfg.max_drop,
            min_ratio=cfg.min_ratio,
        )

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        probe = getattr(pl_module, "probe", None)
        encoder = getattr(pl_module, "encoder", None)
        if not isinstance(probe, nn.Module) or not isinstance(encoder, nn.Module):
            return
        model = nn.Sequential(encoder, probe)
        monitor = self.monitor
        monitor.x, monitor.y = monitor.x.to(pl_module.device), monitor.y.to(pl_module.device)
        finding = monitor.update(model, trainer.current_epoch + 1)
        pl_module.log("co_pgd_acc", monitor.history[-1][1], on_epoch=True)
        if finding.severity == "warning":
            warnings.warn(f"catastrophic overfitting: {finding.message}", stacklevel=1)
            if self.cfg.early_stop:
                trainer.should_stop = True
