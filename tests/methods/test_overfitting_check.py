"""``monitor.catastrophic_overfitting`` in pretraining: logged every epoch through ``pretrain``,
fires (warning, optional early stop) on a constructed collapse, refuses configs it cannot run."""

from __future__ import annotations

import csv
import warnings
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from torch import nn

from adversarial_ssl import run_config
from fakedata import write_fake_fashion_mnist
from robustssl.data import load_dataset
from robustssl.methods import PretrainConfig, pretrain
from robustssl.methods.overfitting_check import OverfittingCallback, OverfittingCheckConfig


def test_pretrain_logs_the_held_out_pgd_accuracy(tmp_path: Path) -> None:
    root = write_fake_fashion_mnist(tmp_path / "data")
    method = {"name": "acl", "adversary": {"attack": "fgsm_rs", "eps": 0.1}}
    cfg = run_config(root, tmp_path / "runs", method, "acl_fgsm", epochs=2)
    check = {"n": 40, "steps": 2}
    cfg = PretrainConfig.model_validate(
        {**cfg.model_dump(), "monitor": {"knn": False, "catastrophic_overfitting": check}}
    )
    result = pretrain(cfg)
    with (result.run_dir / "metrics.csv").open() as f:
        values = [float(r["co_pgd_acc"]) for r in csv.DictReader(f) if r.get("co_pgd_acc")]
    assert len(values) == 2 and all(0.0 <= v <= 1.0 for v in values)


class _Module(nn.Module):
    """A stand-in LightningModule: an identity "encoder" and a linear probe we steer."""

    def __init__(self) -> None:
        super().__init__()
        self.encoder = nn.Flatten()
        self.probe = nn.Linear(28 * 28, 10)
        self.logged: dict[str, float] = {}

    @property
    def device(self) -> torch.device:
        return torch.device("cpu")

    def log(self, name: str, value: float, **_: object) -> None:
        self.logged[name] = value


@pytest.mark.parametrize("early_stop", [False, True])
def test_fires_on_a_constructed_collapse(tmp_path: Path, early_stop: bool) -> None:
    root = write_fake_fashion_mnist(tmp_path / "data")
    data = load_dataset("fashion_mnist", split="test", root=root)
    _, labels = data.get_batch(torch.arange(len(data)))
    data = data.subset((labels == labels[0]).nonzero()[:, 0])  # one class: the bias decides
    cfg = OverfittingCheckConfig(n=40, steps=2, early_stop=early_stop)
    callback = OverfittingCallback(cfg, data, eps=0.05, norm="Linf")
    module = _Module()
    trainer = SimpleNamespace(current_epoch=0, should_stop=False)
    with torch.no_grad():  # epoch 1: every held-out point classified by the bias alone: robust
        module.probe.weight.zero_()
        module.probe.bias.fill_(-100.0)
        module.probe.bias[int(labels[0])] = 100.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning on the first measurement
        callback.on_train_epoch_end(trainer, module)  # type: ignore[arg-type]
    share = 1.0
    assert module.logged["co_pgd_acc"] == pytest.approx(share)
    with torch.no_grad():  # epoch 2: a steep input direction decides: PGD flips every point
        module.probe.weight.normal_(0, 50.0, generator=torch.Generator().manual_seed(0))
        module.probe.bias.zero_()
    trainer.current_epoch = 1
    with pytest.warns(UserWarning, match="catastrophic overfitting"):
        callback.on_train_epoch_end(trainer, module)  # type: ignore[arg-type]
    assert module.logged["co_pgd_acc"] < share - 0.2
    assert trainer.should_stop is early_stop
    assert callback.monitor.collapsed_at == 2 and callback.monitor.best_epoch == 1


def test_configs_it_cannot_run_are_refused() -> None:
    with pytest.raises(ValueError, match="online_probe=true"):
        PretrainConfig.model_validate(
            {
                "method": {"name": "acl"},
                "monitor": {"online_probe": False, "catastrophic_overfitting": {}},
            }
        )
    with pytest.raises(ValueError, match=r"set monitor\.catastrophic_overfitting\.eps"):
        PretrainConfig.model_validate(
            {"method": {"name": "simclr"}, "monitor": {"catastrophic_overfitting": {}}}
        )
    ok = PretrainConfig.model_validate(
        {"method": {"name": "simclr"}, "monitor": {"catastrophic_overfitting": {"eps": "8/255"}}}
    )
    assert ok.monitor.catastrophic_overfitting is not None
    assert ok.monitor.catastrophic_overfitting.eps == pytest.approx(8 / 255)
