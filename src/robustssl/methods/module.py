"""The one LightningModule that trains every pretraining method, with an online linear probe on
detached features (like solo-learn's) so progress is visible without a separate finetune."""

from __future__ import annotations

import lightning as L
import torch
from torch import Tensor, nn

from robustssl.methods.base import PretrainMethod
from robustssl.objectives import cross_entropy_loss
from robustssl.utils import make_generator, mix_seed
from robustssl.utils.optim import OptimConfig, build_optimizer, build_scheduler


class NonFiniteLossError(FloatingPointError):
    """The training loss became NaN/inf; the run stops and keeps its last good checkpoint."""


class PretrainModule(L.LightningModule):
    def __init__(
        self,
        method: PretrainMethod,
        optim: OptimConfig,
        num_classes: int | None,
        seed: int,
        batch_size: int,
        online_probe: bool = True,
        probe_lr: float | None = None,
    ) -> None:
        super().__init__()
        self.method = method
        self.optim_cfg = optim
        self.seed = seed
        self.batch_size = batch_size
        self.probe_lr = probe_lr
        self.probe = (
            nn.Linear(method.feature_dim, num_classes)
            if online_probe and num_classes is not None and num_classes >= 2
            else None
        )
        # Made per (seed, epoch, rank) at every epoch start: a run resumed at an epoch boundary
        # replays exactly the views an uninterrupted run would have drawn. (None until then, so
        # the module pickles for spawn-based DDP.)
        self.view_generator: torch.Generator | None = None

    @property
    def encoder(self) -> nn.Module:
        return self.method.encoder

    def on_train_epoch_start(self) -> None:
        # (The loader's order is set per epoch by Lightning through BatchLoader.sampler.set_epoch.)
        self.view_generator = make_generator(
            mix_seed(self.seed, self.current_epoch, self.global_rank)
        )
        epochs = self.trainer.max_epochs
        assert epochs is not None  # pretrain() sets it from trainer.max_epochs
        self.method.set_epoch(self.current_epoch, epochs)

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> Tensor:
        x, y = batch
        assert self.view_generator is not None  # made in on_train_epoch_start
        out = self.method.step(x, y, self.view_generator)
        if not torch.isfinite(out.loss):
            raise NonFiniteLossError(
                f"loss is {out.loss.item()} at epoch {self.current_epoch}, "
                f"step {self.global_step}; "
                "the last good checkpoint is kept. Lower optim.lr, raise the temperature, or use "
                "trainer.precision=32-true"
            )
        loss = out.loss
        logs = {"train/loss": out.loss.detach(), **{f"train/{k}": v for k, v in out.logs.items()}}
        if self.probe is not None:
            labelled = out.labels >= 0
            if bool(labelled.any()):
                logits = self.probe(out.features.detach()[labelled])
                probe_loss = cross_entropy_loss(logits, out.labels[labelled])
                loss = loss + probe_loss
                logs["train/probe_acc"] = (logits.argmax(1) == out.labels[labelled]).float().mean()
                self.log("probe_acc", logs["train/probe_acc"], prog_bar=True, logger=False)
        self.log("loss", out.loss.detach(), prog_bar=True, logger=False)
        self.log_dict(logs, on_step=True, on_epoch=True)
        return loss

    def configure_optimizers(self):
        optimizer = build_optimizer(self.method, self.optim_cfg, self.batch_size)
        if self.probe is not None:
            lr = self.probe_lr if self.probe_lr is not None else optimizer.param_groups[0]["lr"]
            group = {"params": list(self.probe.parameters()), "lr": lr, "weight_decay": 0.0}
            if "lars_exclude" in optimizer.defaults:
                group["lars_exclude"] = True
            optimizer.add_param_group(group)
        epochs = self.trainer.max_epochs
        assert epochs is not None  # pretrain() sets it from trainer.max_epochs
        steps = max(int(self.trainer.estimated_stepping_batches // max(epochs, 1)), 1)
        scheduler = build_scheduler(optimizer, self.optim_cfg, steps, epochs)
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "step"},
        }
