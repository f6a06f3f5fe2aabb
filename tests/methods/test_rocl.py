"""RoCL: instance-wise attack of t1(x) against t2(x); the adversarial example is a third positive
plus the (1/256)-weighted NT-Xent(adv, t2) regulariser."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch

from adversarial_ssl import attack_gain, batch, in_ball, make_method, run_config
from robustssl.methods import pretrain, rocl
from robustssl.methods.adversary import perturb
from robustssl.objectives import multiview_ntxent_loss, ntxent_loss
from robustssl.utils import make_generator


def test_defaults_follow_the_reference_code() -> None:
    cfg = make_method(name="rocl").cfg
    a = cfg.adversary
    assert (a.eps, a.steps, a.alpha, a.bn_mode) == (0.0314, 7, 0.007, "eval")
    assert cfg.regularizer_weight == pytest.approx(1 / 256)


@pytest.mark.parametrize("norm,eps", [("Linf", 0.1), ("L2", 1.0)])
def test_attack_raises_the_loss_against_the_other_view(norm: str, eps: float) -> None:
    method = make_method(name="rocl", adversary={"norm": norm, "eps": eps, "steps": 7})
    x, _ = batch()
    t1, t2 = method.views.views(x, 2, make_generator(0))
    cfg = method.cfg.adversary
    x_adv, before, after = attack_gain(method, method.objective(t2), t1, cfg)
    assert in_ball(x_adv, t1, cfg)
    assert float((after > before).float().mean()) >= 0.8
    assert float(after.mean()) > float(before.mean())


def test_step_attacks_t1_and_adds_the_regulariser(monkeypatch) -> None:
    method = make_method(name="rocl", regularizer_weight=0.5, adversary={"eps": 0.1})
    reference = copy.deepcopy(method)
    x, y = batch()
    seen: list[torch.Tensor] = []

    def recording(loss, x0, cfg, model, generator):  # type: ignore[no-untyped-def]
        seen.append(x0)
        return perturb(loss, x0, cfg, model, generator)

    monkeypatch.setattr(rocl, "perturb", recording)
    out = method.step(x, y, make_generator(2))
    g = make_generator(2)
    t1, t2 = reference.views.views(x, 2, g)
    assert len(seen) == 1 and torch.equal(seen[0], t1)
    adv = perturb(reference.objective(t2), t1, reference.cfg.adversary, reference, g)
    z1, z2, za = reference.projector(reference.encoder(torch.cat([t1, t2, adv]))).chunk(3)
    tau = reference.cfg.temperature
    expected = multiview_ntxent_loss([z1, z2, za], tau) + 0.5 * ntxent_loss(za, z2, tau)
    assert float(out.loss.detach()) == pytest.approx(float(expected), abs=1e-5)
    assert float(out.logs["loss_regulariser"]) == pytest.approx(float(ntxent_loss(za, z2, tau)))


def test_pretrain_runs(tiny_fmnist: Path, tmp_path: Path) -> None:
    result = pretrain(run_config(tiny_fmnist, tmp_path, {"name": "rocl"}))
    assert result.metrics["epochs"] == 1
