"""ACL (A2A / A2S / Dual-Stream): the attack raises NT-Xent, dual BN keeps separate statistics
over shared convolutions, and the exported encoder is the adversarial branch as a plain Encoder."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch
from torch import nn

from adversarial_ssl import attack_gain, batch, in_ball, make_method, run_config
from robustssl.attacks.adversary import PretrainAdversaryConfig
from robustssl.methods import pretrain
from robustssl.models import Encoder, MultiBatchNorm, bn_branch, build_encoder, load_state_strict
from robustssl.objectives import ntxent_loss
from robustssl.utils import make_generator
from robustssl.utils.checkpoint import load_weights

BN = "backbone.block1.1"  # the first BatchNorm of the small CNN


@pytest.mark.parametrize("norm,eps", [("Linf", 0.1), ("L2", 1.0)])
@pytest.mark.parametrize("mode", ["a2a", "dual_stream"])
def test_pair_attack_raises_ntxent_inside_the_ball(mode: str, norm: str, eps: float) -> None:
    adversary = {"norm": norm, "eps": eps, "steps": 5, "bn_mode": "eval"}
    method = make_method(name="acl", mode=mode, adversary=adversary)
    x, _ = batch()
    v1, v2 = method.views.views(x, 2, make_generator(0))
    branch = None if mode == "a2a" else "adv"
    both = torch.cat([v1, v2])
    cfg = method.cfg.adversary
    x_adv, before, after = attack_gain(method, method.pair_objective(2, branch), both, cfg)
    assert in_ball(x_adv, both, cfg)
    assert float((after > before).float().mean()) >= 0.9
    assert float(after.mean()) > float(before.mean())


def test_a2s_attacks_one_view_against_the_clean_branch() -> None:
    method = make_method(name="acl", mode="a2s", adversary={"eps": 0.1, "bn_mode": "eval"})
    x, _ = batch()
    v1, v2 = method.views.views(x, 2, make_generator(0))
    cfg = method.cfg.adversary
    x_adv, before, after = attack_gain(method, method.one_view_objective(v2), v1, cfg)
    assert x_adv.shape == v1.shape and in_ball(x_adv, v1, cfg)
    assert float((after > before).float().mean()) >= 0.8  # a batch loss: most, not all, rise
    assert float(after.mean()) > float(before.mean())


def _conv_count(model: nn.Module) -> int:
    return sum(isinstance(m, nn.Conv2d) for m in model.modules())


def test_dual_bn_statistics_differ_and_convolutions_are_shared() -> None:
    method = make_method(name="acl", mode="dual_stream", adversary={"eps": 0.1})
    plain = build_encoder("small_cnn", 1, [0.3], [0.3], width=8)
    assert _conv_count(method.encoder) == _conv_count(plain)  # one set of convolutions
    multi = method.encoder.get_submodule(BN)
    assert isinstance(multi, MultiBatchNorm) and multi.branches == ("clean", "adv")
    projector_bns = [m for m in method.projector.modules() if isinstance(m, MultiBatchNorm)]
    assert len(projector_bns) == method.cfg.projection.num_layers - 1  # one per hidden layer
    x, y = batch()
    method.train()
    out = method.step(x, y, make_generator(0))
    out.loss.backward()
    clean, adv = multi.branch("clean"), multi.branch("adv")
    assert int(clean.num_batches_tracked) == int(adv.num_batches_tracked) == 1  # attack: frozen
    assert not torch.allclose(clean.running_mean, adv.running_mean, atol=1e-4)
    assert not torch.allclose(clean.running_var, adv.running_var, atol=1e-4)
    # an adversarial-only loss reaches the shared convolution through the adv branch
    method.zero_grad()
    conv = method.encoder.backbone.block1[0]
    with bn_branch(method, "adv"):
        method.encoder(x).sum().backward()
    assert conv.weight.grad is not None and float(conv.weight.grad.abs().sum()) > 0
    assert clean.weight.grad is None and adv.weight.grad is not None


def test_dual_stream_loss_is_the_mean_of_the_clean_and_adversarial_streams() -> None:
    method = make_method(name="acl", mode="dual_stream", adversary={"eps": 0.1})
    reference = copy.deepcopy(method)
    x, y = batch()
    out = method.step(x, y, make_generator(5))
    g = make_generator(5)
    v1, v2 = reference.views.views(x, 2, g)
    a1, a2 = reference.attack_pair(v1, v2, "adv", g)
    tau = reference.cfg.temperature
    with bn_branch(reference, "clean"):
        c1, c2 = reference.projector(reference.encoder(torch.cat([v1, v2]))).chunk(2)
    with bn_branch(reference, "adv"):
        d1, d2 = reference.projector(reference.encoder(torch.cat([a1, a2]))).chunk(2)
    expected = (ntxent_loss(c1, c2, tau) + ntxent_loss(d1, d2, tau)) / 2
    assert float(out.loss.detach()) == pytest.approx(float(expected), abs=1e-5)
    assert float(out.logs["loss_adv"]) > float(out.logs["loss_clean"])


def test_exported_encoder_is_a_plain_encoder_equal_to_the_adv_branch() -> None:
    method = make_method(name="acl", mode="dual_stream", adversary={"eps": 0.1})
    x, y = batch()
    method.step(x, y, make_generator(0)).loss.backward()  # statistics move apart
    exported = method.export_encoder()
    assert isinstance(exported, Encoder)
    assert not any(isinstance(m, MultiBatchNorm) for m in exported.modules())
    fresh = build_encoder("small_cnn", 1, [0.3], [0.3], width=8)
    load_state_strict(fresh, exported.state_dict(), "exported")
    adv = method.encoder.get_submodule(BN).branch("adv")
    assert torch.equal(exported.get_submodule(BN).running_mean, adv.running_mean)
    fresh.eval()
    method.eval()
    with torch.no_grad(), bn_branch(method.encoder, "adv"):
        assert torch.allclose(fresh(x), method.encoder(x), atol=1e-6)
    with torch.no_grad(), bn_branch(method.encoder, "clean"):
        assert not torch.allclose(fresh(x), method.encoder(x), atol=1e-4)
    single = make_method(name="acl", mode="a2a")
    assert single.export_encoder() is single.encoder


def test_dual_stream_pretrain_saves_the_adv_branch(tiny_fmnist: Path, tmp_path: Path) -> None:
    cfg = run_config(tiny_fmnist, tmp_path, {"name": "acl", "adversary": {"eps": 0.1}})
    result = pretrain(cfg)
    encoder = load_weights(result.run_dir / "encoder.safetensors")
    method = load_weights(result.run_dir / "method.safetensors")
    fresh = build_encoder("small_cnn", 1, [0.3], [0.3], width=8)
    assert set(encoder) == set(fresh.state_dict())
    key = f"{BN}.running_mean"
    assert torch.equal(encoder[key], method[f"method.encoder.{BN}.bns.adv.running_mean"])
    assert not torch.equal(encoder[key], method[f"method.encoder.{BN}.bns.clean.running_mean"])
    assert result.metrics["epochs"] == 1


def test_mode_is_validated() -> None:
    with pytest.raises(ValueError, match="a2a"):
        make_method(name="acl", mode="s2s")
    assert PretrainAdversaryConfig().bn_mode == "eval"
    assert make_method(name="acl").cfg.adversary.steps == 5
