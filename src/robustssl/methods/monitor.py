"""End-of-epoch monitor: kNN top-1 (k=20, cosine) and online-probe top-1 on the evaluation split."""

from __future__ import annotations

import lightning as L
import torch
from torch import Tensor, nn

from robustssl.data import ImageDataset
from robustssl.methods.knn import knn_predict


@torch.no_grad()
def extract_features(
    encoder: nn.Module, data: ImageDataset, batch_size: int = 1024
) -> tuple[Tensor, Tensor]:
    """Encoder features and labels of every sample of ``data`` (un-augmented), in order."""
    feats, labels = [], []
    for x, y in data.loader(batch_size, shuffle=False):
        feats.append(encoder(x))
        labels.append(y)
    return torch.cat(feats), torch.cat(labels)


class KNNProbeMonitor(L.Callback):
    """Logs ``knn_top1`` and ``probe_top1`` every ``every_n_epochs`` epochs and after the last."""

    def __init__(
        self,
        bank: ImageDataset,
        eval_data: ImageDataset,
        num_classes: int,
        k: int = 20,
        temperature: float = 0.07,
        every_n_epochs: int = 1,
        knn: bool = True,
    ) -> None:
        self.bank, self.eval_data = bank, eval_data
        self.num_classes, self.k, self.temperature = num_classes, k, temperature
        self.every_n_epochs, self.knn = every_n_epochs, knn
        self.last: dict[str, float] = {}

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        epoch = trainer.current_epoch + 1
        if epoch % self.every_n_epochs and epoch != trainer.max_epochs:
            return
        encoder = pl_module.encoder
        assert isinstance(encoder, nn.Module)  # PretrainModule.encoder
        was_training = encoder.training
        encoder.eval()
        try:
            metrics = self.evaluate(encoder, getattr(pl_module, "probe", None))
        finally:
            encoder.train(was_training)
        self.last = metrics
        for name, value in metrics.items():
            pl_module.log(name, value, prog_bar=True, on_epoch=True)

    @torch.no_grad()
    def evaluate(self, encoder: nn.Module, probe: nn.Module | None) -> dict[str, float]:
        eval_feats, eval_labels = extract_features(encoder, self.eval_data)
        metrics: dict[str, float] = {}
        if self.knn:
            bank_feats, bank_labels = extract_features(encoder, self.bank)
            scores = knn_predict(
                bank_feats,
                bank_labels,
                eval_feats,
                self.num_classes,
                k=self.k,
                temperature=self.temperature,
            )
            metrics["knn_top1"] = (scores.argmax(1) == eval_labels).float().mean().item()
        if probe is not None:
            pred = probe(eval_feats).argmax(1)
            metrics["probe_top1"] = (pred == eval_labels).float().mean().item()
        return metrics
