"""TRADES finetuning (``loss: trades``; ACL's train_trades.py / trades.py): the loss against a
hand-computed KL, the attack maximising that KL from a Gaussian start in eval mode, the config
rules, and an AFF run end to end."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from robust_model import small_classifier
from robustssl.finetune import FinetuneConfig, finetune
from robustssl.finetune.adversary import training_attack
from robustssl.finetune.config import AdversaryConfig, LossConfig
from robustssl.finetune.loop import TrainBatch
from robustssl.finetune.trades import TradesAttack, TradesLoss
from robustssl.objectives import trades_kl
from robustssl.utils import make_generator


class _Tiny(nn.Module):
    """f(x) = W·[x₀, x₁] + b on 1×1×2 "images" (three classes)."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(2, 3)
        with torch.no_grad():
            self.fc.weight.copy_(torch.tensor([[2.0, 0.0], [0.0, 1.0], [-1.0, 1.0]]))
            self.fc.bias.copy_(torch.tensor([0.0, 0.5, 0.0]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x.flatten(1))


def _softmax(z: list[float]) -> list[float]:
    e = [math.exp(v) for v in z]
    return [v / sum(e) for v in e]


def test_trades_loss_equals_hand_computed_kl() -> None:
    """x = (1, 0): logits (2, 0.5, −1), p = (0.78560, 0.17529, 0.03911); x′ = (0.5, 0.5): logits
    (1, 1, 0), q = (0.42232, 0.42232, 0.15536). KL(p ‖ q) = Σ p_c log(p_c / q_c)
    = 0.78560·0.62069 − 0.17529·0.87931 − 0.03911·1.37933 = 0.27953; loss = −log p₀ + β·KL."""
    model = _Tiny()
    x = torch.tensor([[[[1.0, 0.0]]]])
    x_adv = torch.tensor([[[[0.5, 0.5]]]])
    p, q = _softmax([2.0, 0.5, -1.0]), _softmax([1.0, 1.0, 0.0])
    kl = sum(pc * math.log(pc / qc) for pc, qc in zip(p, q, strict=True))
    assert kl == pytest.approx(0.27953, abs=1e-4)  # the number by hand
    with torch.no_grad():
        assert float(trades_kl(model(x), model(x_adv))) == pytest.approx(kl, rel=1e-6)
        loss, logits = TradesLoss(beta=6.0)(model, TrainBatch(x_adv, torch.tensor([0]), x))
        assert float(loss) == pytest.approx(-math.log(p[0]) + 6.0 * kl, rel=1e-6)
        assert torch.equal(logits, model(x_adv))  # accuracy is counted on the adversarial batch
        both = torch.cat([x, x_adv])
        per_sample = trades_kl(model(both), model(both.flip(0)), reduction="none")
    assert per_sample.shape == (2,) and float(per_sample[0]) == pytest.approx(kl, rel=1e-6)


def _kl_at(model: nn.Module, x: torch.Tensor, x_adv: torch.Tensor) -> torch.Tensor:
    model.eval()
    with torch.no_grad():
        return trades_kl(model(x), model(x_adv), reduction="none")


def test_attack_maximises_the_kl_in_eval_mode() -> None:
    model = small_classifier(width=8, seed=1).train()
    x = torch.rand(16, 1, 28, 28, generator=make_generator(4))
    y = torch.zeros(16, dtype=torch.long)
    stats = {k: v.clone() for k, v in model.state_dict().items()}
    eps = 0.1
    attack = TradesAttack(model, "Linf", eps, steps=10, step_size=0.025, seed=3)
    x_adv = attack(x, y)
    assert model.training  # restored
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in stats.items())  # eval-mode attack
    assert float((x_adv - x).abs().max()) <= eps + 1e-6 and float(x_adv.min()) >= 0
    found = _kl_at(model, x, x_adv)
    start = x + 0.001 * torch.randn(x.shape, generator=make_generator(3))
    assert bool((found > 100 * _kl_at(model, x, start.clamp(0, 1))).all())
    g = make_generator(7)
    for _ in range(20):  # beats random points of the ball, sample by sample
        corner = (x + eps * torch.sign(torch.rand(x.shape, generator=g) - 0.5)).clamp(0, 1)
        assert bool((found > _kl_at(model, x, corner)).all())
    ce = training_attack(model, AdversaryConfig(eps=eps, steps=10, step_size=0.025))
    assert float(found.mean()) > float(_kl_at(model, x, ce(x, y)).mean())  # CE-PGD's point


def test_training_attack_follows_the_loss() -> None:
    model = small_classifier(width=8)
    adv = AdversaryConfig(eps=8 / 255, steps=10, step_size=2 / 255)
    attack = training_attack(model, adv, LossConfig(name="trades", start_std=0.002))
    assert isinstance(attack, TradesAttack)
    assert (attack.steps, attack.step_size, attack.start_std) == (10, 2 / 255, 0.002)
    assert not isinstance(training_attack(model, adv, LossConfig()), TradesAttack)


def test_config_rules() -> None:
    base = {"model": {"backbone": "small_cnn"}, "protocol": "aff", "adversary": {"eps": 0.1}}
    cfg = FinetuneConfig.model_validate({**base, "loss": "trades"})
    assert (cfg.loss.name, cfg.loss.beta, cfg.loss.start_std) == ("trades", 6.0, 0.001)
    with pytest.raises(ValueError, match="loss=trades trains on adversarial examples"):
        FinetuneConfig.model_validate({"model": {"backbone": "small_cnn"}, "loss": "trades"})
    with pytest.raises(ValueError, match=r"adversary\.attack=pgd"):
        adversary = {"eps": 0.1, "attack": "apgd"}
        FinetuneConfig.model_validate({**base, "adversary": adversary, "loss": "trades"})
    with pytest.raises(ValueError, match=r"only applies to loss\.name=trades"):
        FinetuneConfig.model_validate({**base, "loss": {"beta": 3}})
    with pytest.raises(ValueError):
        FinetuneConfig.model_validate({**base, "loss": {"name": "trades", "beta": -1}})


def test_aff_with_trades_runs_and_differs_from_ce(make_run, make_config) -> None:
    run = make_run()
    adversary = {"eps": 0.1, "steps": 2}
    trades = finetune(
        make_config(run, "aff", name="trades", adversary=adversary, loss={"name": "trades"})
    )
    ce = finetune(make_config(run, "aff", name="ce", adversary=adversary))
    for result in (trades, ce):
        assert 0.0 <= result.metrics["clean_accuracy"] <= 1.0
        assert math.isfinite(result.metrics["train_loss"])
    assert trades.metrics["train_loss"] != pytest.approx(ce.metrics["train_loss"])
    alf = finetune(
        make_config(run, "alf", name="alf", adversary=adversary, loss={"name": "trades"})
    )
    assert math.isfinite(alf.metrics["train_loss"])
