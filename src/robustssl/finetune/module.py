"""The LightningModule of finetuning: the classifier (encoder + head, frozen as the protocol says)
trained with cross-entropy or TRADES, on clean, augmented or adversarial batches.

The training-time attack (ALF / AFF / adversarial partial) runs inside ``training_step``, on
the whole classifier in the adversary's own BN mode (``adversary.bn_mode``; every module's mode
is restored after it), with gradients enabled — Lightning's inference mode never reaches the
training step, and the Trainer is built with ``inference_mode=False`` so the epoch-end scoring
attacks (``select``) get gradients too (REFERENCE_FACTS.md, "Lightning pitfalls"). Under
``trainer.precision=bf16-mixed`` the attack's forwards autocast with the training forward.

With cached SLF features the step trains the head alone on the feature batches. The lr follows
the epoch-wise step schedule (:func:`robustssl.finetune.optim.lr_at_epoch`), set at every epoch
start, so a resumed run continues the schedule. Loss and accuracy are summed per epoch over all
DDP ranks (:meth:`epoch_totals`).
"""

from __future__ import annotations

import lightning as L
import torch
from torch import Tensor, nn

from robustssl.finetune.adversary import training_attack
from robustssl.finetune.batches import BatchPreparer
from robustssl.finetune.config import FinetuneConfig
from robustssl.finetune.loop import BatchLoss, TrainBatch, cross_entropy_step
from robustssl.finetune.model import FinetuneModel
from robustssl.finetune.optim import lr_at_epoch, set_lr
from robustssl.finetune.trades import TradesLoss
from robustssl.utils import mix_seed
from robustssl.utils.optim import build_optimizer


def batch_loss(cfg: FinetuneConfig) -> BatchLoss:
    return TradesLoss(cfg.loss.beta) if cfg.loss.name == "trades" else cross_entropy_step


class FinetuneModule(L.LightningModule):
    """``classifier`` is the one registered module (its weights are the checkpoint's);
    ``trainable`` (the classifier behind :class:`~robustssl.finetune.stages.FrozenAware`) is
    what the optimizer, the attack and the steps use."""

    def __init__(self, model: FinetuneModel, cfg: FinetuneConfig, *, cached: bool) -> None:
        super().__init__()
        self.classifier = model.classifier
        self._frozen_aware = [model.trainable]  # a list: not registered a second time
        self.cfg, self.cached = cfg, cached
        self.loss_fn = batch_loss(cfg)
        self._totals = torch.zeros(3, dtype=torch.float64)  # loss sum, correct, seen

    @property
    def trainable(self) -> nn.Module:
        return self._frozen_aware[0]

    @property
    def step_model(self) -> nn.Module:
        """What a step trains: the head on cached features, else the whole (frozen-aware)
        classifier."""
        return self.classifier.head if self.cached else self.trainable

    def train(self, mode: bool = True) -> FinetuneModule:
        super().train(mode)
        self.trainable.train(mode)  # frozen parts stay in eval mode
        return self

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return build_optimizer(self.trainable, self.cfg.optim.optimizer())

    def on_fit_start(self) -> None:
        """The batch preparer of this process (its rank's own random streams under DDP)."""
        cfg = self.cfg
        seed = cfg.seed if self.global_rank == 0 else mix_seed(cfg.seed, self.global_rank)
        attack = None
        if cfg.adversary is not None and not self.cached:
            attack = training_attack(self.trainable, cfg.adversary, cfg.loss)
        keep = cfg.loss.name == "trades"
        self.prepare = BatchPreparer(cfg.augmentation, attack, seed, keep_natural=keep)

    def on_train_epoch_start(self) -> None:
        set_lr(self.trainer.optimizers[0], lr_at_epoch(self.cfg.optim, self.current_epoch))
        self._totals = torch.zeros(3, dtype=torch.float64, device=self.device)

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> Tensor:
        x, y = batch
        if self.cached:
            prepared = TrainBatch(x, y)
        else:
            prepared = self.prepare(x, y, self.current_epoch, batch_idx)
        self.step_model.train()  # the attack restored its own mode; the step trains
        loss, logits = self.loss_fn(self.step_model, prepared)
        correct = (logits.detach().argmax(1) == y).sum()
        self._totals += torch.stack(
            [loss.detach().double() * len(y), correct.double(), torch.tensor(len(y)).double()]
        ).to(self._totals.device)
        self.log("loss", loss.detach().float(), prog_bar=True, logger=False)
        return loss

    def epoch_totals(self) -> tuple[float, float, int]:
        """(mean loss, accuracy, samples) of this epoch's steps, over every DDP rank."""
        totals = self._totals
        if self.trainer.world_size > 1:
            totals = self.trainer.strategy.reduce(totals.clone(), reduce_op="sum")
        loss_sum, correct, seen = (float(v) for v in totals)
        return loss_sum / max(seen, 1), correct / max(seen, 1), int(seen)
