"""One adversary config (robustssl.attacks.adversary) and one step-size rule name
(``step_size_rule``, robustssl.attacks.step_size) for pretraining, finetuning and evaluation; each
place keeps its defaults; the old finetuning key ``step_rule`` reads as ``step_size_rule``."""

from __future__ import annotations

import pytest
import torch
from pydantic import ValidationError

from robustssl.attacks import PGD
from robustssl.attacks.adversary import AdversaryConfig, PretrainAdversaryConfig
from robustssl.attacks.step_size import pgd_step_size, step_rule_text
from robustssl.evaluation.config import PGDConfig
from robustssl.finetune import AdversaryConfig as FinetuneAdversary
from robustssl.finetune.adversary import training_attack
from robustssl.finetune.config import LossConfig
from robustssl.methods.supervised import SupervisedConfig


def test_finetuning_and_pretraining_share_one_type_with_their_own_defaults() -> None:
    assert FinetuneAdversary is AdversaryConfig
    assert issubclass(PretrainAdversaryConfig, AdversaryConfig)
    ft, pre = AdversaryConfig(), PretrainAdversaryConfig()
    assert (ft.steps, ft.step_size_rule, ft.alpha) == (10, "auto", pytest.approx(8 / 255 / 4))
    assert (pre.steps, pre.step_size_rule) == (5, "madry")
    assert pre.alpha == pytest.approx(2.5 * (8 / 255) / 5)  # Madry: what pretraining always used
    # a method config's adversary section gets the pretraining defaults
    sup = SupervisedConfig.model_validate({"adversary": {"eps": 0.1}})
    assert sup.adversary is not None and sup.adversary.alpha == pytest.approx(2.5 * 0.1 / 5)


def test_the_rule_has_one_name_everywhere() -> None:
    assert "step_size_rule" in AdversaryConfig.model_fields
    assert "step_size_rule" in PGDConfig.model_fields
    assert "step_rule" not in AdversaryConfig.model_fields
    cfg = AdversaryConfig(norm="L2", eps=0.5, steps=10, step_size_rule="seed003")
    assert cfg.alpha == pytest.approx(pgd_step_size("L2", 0.5, 10, "seed003")) == 0.025
    assert step_rule_text("L2", 10, "seed003") == "α=ε²/10"
    assert step_rule_text("Linf", 20) == "α=ε/4" and step_rule_text("L2", 20) == "α=2.5ε/20"


def test_old_step_rule_key_is_an_alias_and_both_keys_are_an_error() -> None:
    assert (
        AdversaryConfig.model_validate({"step_rule": "madry", "steps": 4}).step_size_rule == "madry"
    )
    with pytest.raises(ValidationError, match="step_rule is the old name of step_size_rule"):
        AdversaryConfig.model_validate({"step_rule": "madry", "step_size_rule": "auto"})
    with pytest.raises(ValidationError, match="step_size_rule"):
        AdversaryConfig.model_validate({"step_size_rule": "ε/4"})


def test_fractions_norm_aliases_and_pixel_scale_mistakes() -> None:
    cfg = PretrainAdversaryConfig.model_validate(
        {"eps": "8/255", "norm": "inf", "step_size": "2/255"}
    )
    assert (cfg.norm, cfg.eps, cfg.alpha) == (
        "Linf",
        pytest.approx(8 / 255),
        pytest.approx(2 / 255),
    )
    with pytest.raises(ValidationError, match="pixel"):
        AdversaryConfig(eps=8)
    with pytest.raises(ValidationError, match="finite"):
        AdversaryConfig(eps=float("nan"))


def test_pretraining_runs_pgd_only_and_apgd_keeps_its_own_steps() -> None:
    with pytest.raises(ValidationError, match="attack=apgd is for finetuning"):
        PretrainAdversaryConfig(attack="apgd")
    with pytest.raises(ValidationError, match="APGD always returns its best iterate"):
        AdversaryConfig(attack="apgd", use_best=True)
    with pytest.raises(ValidationError, match="APGD sets its own step sizes"):
        AdversaryConfig(attack="apgd", step_size=0.01)


def test_finetuning_use_best_trains_on_the_highest_loss_iterate() -> None:
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 3))
    last = training_attack(model, AdversaryConfig(eps=0.1, steps=3))
    best = training_attack(model, AdversaryConfig(eps=0.1, steps=3, use_best=True))
    assert isinstance(last, PGD) and isinstance(best, PGD)
    assert (last.select, best.select) == ("last", "best")
    assert best.step_size == pytest.approx(0.1 / 4)
    with pytest.raises(ValueError):  # TRADES trains on its last iterate: refused in the config
        from robustssl.finetune import FinetuneConfig

        FinetuneConfig.model_validate(
            {
                "pretrained": "runs/x",
                "protocol": "alf",
                "adversary": {"eps": 0.1, "use_best": True},
                "loss": LossConfig(name="trades"),
            }
        )
