"""Adversarial SimCLR (seed 002 §5.2): PGD on NT-Xent over both views, training on the
adversarial pair."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch

from adversarial_ssl import attack_gain, batch, in_ball, make_method, run_config
from robustssl.methods import pretrain
from robustssl.methods.adv_simclr import AdversarialSimCLR
from robustssl.models import build_encoder, load_state_strict
from robustssl.objectives import ntxent_loss
from robustssl.utils import make_generator
from robustssl.utils.checkpoint import load_weights


def test_defaults_follow_seed_002() -> None:
    method = make_method(name="adv_simclr")
    assert isinstance(method, AdversarialSimCLR) and method.mode == "a2a" and not method.dual_bn
    adversary = method.cfg.adversary
    assert adversary.steps == 3 and adversary.bn_mode == "train"


@pytest.mark.parametrize("norm,eps", [("Linf", 0.1), ("L2", 1.0)])
def test_attack_raises_ntxent_of_both_views(norm: str, eps: float) -> None:
    method = make_method(name="adv_simclr", adversary={"norm": norm, "eps": eps})
    x, _ = batch()
    both = torch.cat(method.views.views(x, 2, make_generator(0)))
    cfg = method.cfg.adversary
    x_adv, before, after = attack_gain(method, method.pair_objective(2, None), both, cfg)
    assert in_ball(x_adv, both, cfg)
    assert not torch.equal(x_adv[:16], both[:16]) and not torch.equal(x_adv[16:], both[16:])
    assert float((after > before).float().mean()) >= 0.8
    assert float(after.mean()) > float(before.mean())


def test_step_trains_on_the_adversarial_views() -> None:
    method = make_method(name="adv_simclr", adversary={"eps": 0.1})
    reference = copy.deepcopy(method)
    x, y = batch()
    out = method.step(x, y, make_generator(4))
    g = make_generator(4)
    v1, v2 = reference.views.views(x, 2, g)
    a1, a2 = reference.attack_pair(v1, v2, None, g)
    tau = reference.cfg.temperature
    z1, z2 = reference.projector(reference.encoder(torch.cat([a1, a2]))).chunk(2)
    assert float(out.loss.detach()) == pytest.approx(float(ntxent_loss(z1, z2, tau)), abs=1e-5)
    c1, c2 = reference.projector(reference.encoder(torch.cat([v1, v2]))).chunk(2)
    assert float(out.loss.detach()) > float(ntxent_loss(c1, c2, tau))  # not the clean pair


def test_pretrain_writes_a_plain_encoder(tiny_fmnist: Path, tmp_path: Path) -> None:
    cfg = run_config(tiny_fmnist, tmp_path, {"name": "adv_simclr", "adversary": {"eps": 0.1}})
    result = pretrain(cfg)
    fresh = build_encoder("small_cnn", 1, [0.3], [0.3], width=8)
    load_state_strict(fresh, load_weights(result.run_dir / "encoder.safetensors"), "run")
    assert result.metrics["epochs"] == 1
