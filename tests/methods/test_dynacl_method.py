"""DynACL: the schedule the method applies (views' strength, loss weight) at given epochs, the
momentum encoder (update rule, outside the optimiser, the exported branch) and tiny epochs through
``pretrain`` with the weight read back from the run's metrics."""

from __future__ import annotations

import copy
import csv
from pathlib import Path

import pytest
import torch

from adversarial_ssl import batch, make_method, run_config
from fakedata import write_fake_fashion_mnist
from robustssl.methods import pretrain
from robustssl.methods.dynacl import DynACL
from robustssl.models import load_encoder
from robustssl.utils import make_generator
from robustssl.utils.optim import OptimConfig, build_optimizer


def dynacl(**method: object) -> DynACL:
    built = make_method(name="dynacl", adversary={"eps": 0.1, "steps": 2}, **method)
    assert isinstance(built, DynACL)
    return built


@pytest.mark.parametrize(
    "epoch,weight,crop_low",
    [
        (0, 1.0, 0.1),  # e = 1: strong views, w = 1
        (48, 1.0, 0.1),  # e = 49
        (49, 1 + 0.25 * 2 / 3, 0.1),  # e = 50: w steps up one epoch before the views weaken
        (50, 1 + 0.25 * 2 / 3, 0.1 + 0.9 * 0.25),  # e = 51: μ = 0.75
        (199, 1 + 4 * 0.25 * 2 / 3, 0.1 + 0.9 * 0.75),  # e = 200: μ = 0.25, w = 5/3
    ],
)
def test_the_step_applies_the_schedule_of_its_epoch(
    epoch: int, weight: float, crop_low: float
) -> None:
    method = dynacl(momentum_encoder=False)
    method.set_epoch(epoch, 200)
    assert method.adv_weight == pytest.approx(weight)
    assert method.views.config.crop_scale[0] == pytest.approx(crop_low)
    x, y = batch()
    out = method.step(x, y, make_generator(0))
    clean, adv = float(out.logs["loss_clean"]), float(out.logs["loss_adv"])
    assert float(out.logs["adv_weight"]) == pytest.approx(weight)
    expected = ((2 - weight) * clean + weight * adv) / 2
    assert float(out.loss.detach()) == pytest.approx(expected, rel=1e-5)
    assert adv > clean  # the adversarial pair is harder


def test_momentum_encoder_update_and_export() -> None:
    method = dynacl(momentum=0.9).train()
    assert method.encoder_k is not None and method.projector_k is not None
    optimizer = build_optimizer(method, OptimConfig(name="sgd", lr=0.1))
    in_optimizer = {id(p) for group in optimizer.param_groups for p in group["params"]}
    momentum_params = [*method.encoder_k.parameters(), *method.projector_k.parameters()]
    assert not in_optimizer & {id(p) for p in momentum_params}
    q0 = [
        p.detach().clone() for p in [*method.encoder.parameters(), *method.projector.parameters()]
    ]
    k0 = [p.detach().clone() for p in momentum_params]
    x, y = batch()
    out = method.step(x, y, make_generator(0))
    optimizer.zero_grad()
    out.loss.backward()
    optimizer.step()
    k1 = [*method.encoder_k.parameters(), *method.projector_k.parameters()]
    for q, k_before, k_after in zip(q0, k0, k1, strict=True):  # k ← 0.9·k + 0.1·q (q before)
        assert torch.allclose(k_after, 0.9 * k_before + 0.1 * q, atol=1e-6)
    assert any(not torch.equal(a, b) for a, b in zip(k0, k1, strict=True))
    exported = method.export_encoder().state_dict()
    branch = method.encoder_k.state_dict()
    w = "backbone.block1.1.weight"
    assert torch.equal(exported[w], branch["backbone.block1.1.bns.adv.weight"])
    assert not torch.equal(
        exported[w], method.encoder.state_dict()["backbone.block1.1.bns.adv.weight"]
    )


def test_momentum_encoder_sees_the_second_view_in_the_attack() -> None:
    """The attack's objective runs the pair through the swapped model: changing the momentum
    encoder changes the loss the attack ascends."""
    method = dynacl()
    x, _ = batch()
    v1, v2 = method.views.views(x, 2, make_generator(0))
    objective = method.swapped_objective()
    method.eval()
    with torch.no_grad():
        before = objective(torch.cat([v1, v2]))
        other = copy.deepcopy(method)
        assert other.encoder_k is not None
        for p in other.encoder_k.parameters():
            p.add_(0.05)
        after = other.swapped_objective()(torch.cat([v1, v2]))
    assert not torch.allclose(before, after)


def _column(path: Path, name: str) -> list[float]:
    with path.open() as f:
        return [float(row[name]) for row in csv.DictReader(f) if row.get(name)]


def test_pretrain_applies_the_weight_of_each_epoch(tmp_path: Path) -> None:
    root = write_fake_fashion_mnist(tmp_path / "data")
    method = {"name": "dynacl", "reload_every": 1, "adversary": {"eps": 0.1, "steps": 1}}
    result = pretrain(run_config(root, tmp_path / "runs", method, "dynacl", epochs=2))
    metrics = result.run_dir / "metrics.csv"
    # E = 2, K = 1, λ = 2/3: e = 1 → w = 1 + 1·(1/2)·(2/3), e = 2 → 1 + 2·(1/2)·(2/3); μ = 1, 0.5
    assert _column(metrics, "train/adv_weight_epoch") == pytest.approx([4 / 3, 5 / 3])
    assert _column(metrics, "train/view_strength_epoch") == pytest.approx([1.0, 0.5])
    saved = load_encoder(result.run_dir).state_dict()
    assert "backbone.block1.1.weight" in saved  # a plain Encoder (one BN branch)
