"""Dual / multi BatchNorm: separate statistics per branch, shared weights, branch selection."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from robustssl.models import (
    Classifier,
    MultiBatchNorm,
    ProjectionHead,
    bn_branch,
    build_backbone,
    build_encoder,
    convert_to_multi_bn,
    extract_bn_branch,
    set_bn_branch,
)

BN_TYPES = (nn.BatchNorm1d, nn.BatchNorm2d)


def make_encoder(name: str = "small_cnn", seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return build_encoder(name, 1, [0.5], [0.5], width=4)


def bn_of(model: nn.Module, branch: str, path: str = "backbone.block1.1") -> nn.BatchNorm2d:
    multi = model.get_submodule(path)
    assert isinstance(multi, MultiBatchNorm)
    return multi.branch(branch)  # type: ignore[return-value]


def plain_bns_outside_multi(model: nn.Module) -> int:
    inside = {
        id(bn) for m in model.modules() if isinstance(m, MultiBatchNorm) for bn in m.bns.values()
    }
    return sum(isinstance(m, BN_TYPES) and id(m) not in inside for m in model.modules())


def test_convert_swaps_every_bn_and_keeps_other_params() -> None:
    model = Classifier(make_encoder("resnet18"), ProjectionHead(32, 16, 8))
    n_bn = sum(isinstance(m, BN_TYPES) for m in model.modules())
    bn_params = {id(p) for m in model.modules() if isinstance(m, BN_TYPES) for p in m.parameters()}
    others = {n: p for n, p in model.named_parameters() if id(p) not in bn_params}
    out = convert_to_multi_bn(model)
    assert out is model
    multis = [m for m in model.modules() if isinstance(m, MultiBatchNorm)]
    assert len(multis) == n_bn == 1 + 16 + 3 + 1  # stem, 8 blocks, 3 downsample, head
    assert plain_bns_outside_multi(model) == 0
    assert all(m.branches == ("clean", "adv") and m.active_branch == "clean" for m in multis)
    assert len(others) == 20 + 3  # 20 convs; head fc1.weight, fc2.weight, fc2.bias
    after = dict(model.named_parameters())
    assert all(after[n] is p for n, p in others.items())  # the very same Parameter objects
    assert isinstance(model.get_submodule("head.bn1").branch("adv"), nn.BatchNorm1d)


def test_branches_start_as_copies_of_the_original_bn() -> None:
    model = make_encoder().train()
    model(torch.rand(8, 1, 12, 12))  # move running stats away from their initial values
    bn = model.backbone.block1[1]
    with torch.no_grad():
        bn.weight.uniform_()
    ref = copy.deepcopy(bn.state_dict())
    convert_to_multi_bn(model, branches=("normal", "pgd", "pgd_ce"))
    for branch in ("normal", "pgd", "pgd_ce"):
        sd = bn_of(model, branch).state_dict()
        assert all(torch.equal(sd[k], ref[k]) for k in ref)
    assert bn_of(model, "pgd").weight is not bn_of(model, "normal").weight


def stats(bn: nn.BatchNorm2d) -> tuple[torch.Tensor, torch.Tensor, int]:
    return bn.running_mean.clone(), bn.running_var.clone(), int(bn.num_batches_tracked)


def same(
    a: tuple[torch.Tensor, torch.Tensor, int], b: tuple[torch.Tensor, torch.Tensor, int]
) -> bool:
    return torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) and a[2] == b[2]


def test_running_stats_are_separate_per_branch() -> None:
    model = convert_to_multi_bn(make_encoder()).train()
    x = torch.rand(8, 1, 12, 12)
    clean0, adv0 = stats(bn_of(model, "clean")), stats(bn_of(model, "adv"))
    with bn_branch(model, "clean"):
        model(x)
    clean1, adv1 = stats(bn_of(model, "clean")), stats(bn_of(model, "adv"))
    assert not same(clean1, clean0) and clean1[2] == 1
    assert same(adv1, adv0)
    with bn_branch(model, "adv"):
        model(x + 0.1)
    clean2, adv2 = stats(bn_of(model, "clean")), stats(bn_of(model, "adv"))
    assert same(clean2, clean1)
    assert not same(adv2, adv0) and adv2[2] == 1
    model.eval()
    for branch in ("clean", "adv"):
        with bn_branch(model, branch):
            model(x)
    assert same(stats(bn_of(model, "clean")), clean2) and same(stats(bn_of(model, "adv")), adv2)


def test_branches_give_different_outputs_once_stats_differ() -> None:
    model = convert_to_multi_bn(make_encoder()).train()
    with bn_branch(model, "adv"):
        model(torch.rand(8, 1, 12, 12) * 0.2)
    model.eval()
    x = torch.rand(4, 1, 12, 12)
    with torch.no_grad(), bn_branch(model, "clean"):
        a = model(x)
    with torch.no_grad(), bn_branch(model, "adv"):
        b = model(x)
    assert not torch.allclose(a, b)


def test_grads_flow_to_shared_weights_from_both_branches() -> None:
    model = convert_to_multi_bn(make_encoder()).train()
    x = torch.rand(6, 1, 12, 12)
    conv = model.backbone.block1[0].weight
    grads = {}
    for branch, other in (("clean", "adv"), ("adv", "clean")):
        model.zero_grad(set_to_none=True)
        with bn_branch(model, branch):
            model(x).square().sum().backward()
        assert conv.grad is not None and conv.grad.abs().sum() > 0
        assert bn_of(model, branch).weight.grad is not None
        assert bn_of(model, other).weight.grad is None
        grads[branch] = conv.grad.clone()
    model.zero_grad(set_to_none=True)
    with bn_branch(model, "clean"):
        loss = model(x).square().sum()
    with bn_branch(model, "adv"):
        loss = loss + model(x).square().sum()
    loss.backward()
    assert torch.allclose(conv.grad, grads["clean"] + grads["adv"], rtol=1e-4, atol=1e-6)


def test_context_manager_restores_branch_also_after_exceptions() -> None:
    model = convert_to_multi_bn(make_encoder(), ("a", "b", "c"))
    multis = [m for m in model.modules() if isinstance(m, MultiBatchNorm)]
    set_bn_branch(model, "b")
    with bn_branch(model, "c"):
        assert all(m.active_branch == "c" for m in multis)
        with bn_branch(model, "a"):
            assert all(m.active_branch == "a" for m in multis)
        assert all(m.active_branch == "c" for m in multis)
    assert all(m.active_branch == "b" for m in multis)
    with pytest.raises(KeyError), bn_branch(model, "a"):
        raise KeyError("boom")
    assert all(m.active_branch == "b" for m in multis)


def test_branch_errors() -> None:
    model = convert_to_multi_bn(make_encoder())
    with (
        pytest.raises(ValueError, match=r"unknown BN branch 'pgd'.*'clean', 'adv'"),
        bn_branch(model, "pgd"),
    ):
        pass
    assert all(m.active_branch == "clean" for m in model.modules() if isinstance(m, MultiBatchNorm))
    with pytest.raises(ValueError, match="convert_to_multi_bn"), bn_branch(make_encoder(), "adv"):
        pass
    with pytest.raises(ValueError, match="already has MultiBatchNorm"):
        convert_to_multi_bn(model)
    with pytest.raises(ValueError, match="unknown BN branch"):
        extract_bn_branch(model, "nope")
    for bad, match in [
        ((), "at least one"),
        (("a", "a"), "unique"),
        (("a.b",), "identifiers"),
        (("train",), "clashes"),
    ]:
        with pytest.raises(ValueError, match=match):
            convert_to_multi_bn(make_encoder(), bad)


def test_extract_branch_matches_context_and_loads_into_plain_model() -> None:
    model = convert_to_multi_bn(make_encoder()).train()
    for branch, shift in (("clean", 0.0), ("adv", 0.3)):
        with bn_branch(model, branch):
            for _ in range(3):
                model(torch.rand(8, 1, 12, 12) + shift)
    model.eval()
    x = torch.rand(5, 1, 12, 12)
    for branch in ("clean", "adv"):
        plain = extract_bn_branch(model, branch).eval()
        assert not any(isinstance(m, MultiBatchNorm) for m in plain.modules())
        with torch.no_grad(), bn_branch(model, branch):
            want = model(x)
        with torch.no_grad():
            assert torch.equal(plain(x), want)
        fresh = make_encoder(seed=99).eval()
        fresh.load_state_dict(plain.state_dict(), strict=True)
        with torch.no_grad():
            assert torch.equal(fresh(x), want)
    assert any(isinstance(m, MultiBatchNorm) for m in model.modules())  # original untouched
    plain_adv = extract_bn_branch(model, "adv")
    assert plain_adv.backbone.block1[0].weight is not model.backbone.block1[0].weight


def test_root_bn_and_resnet_state_dict_keys() -> None:
    multi = convert_to_multi_bn(nn.BatchNorm1d(4))
    assert isinstance(multi, MultiBatchNorm)
    assert isinstance(extract_bn_branch(multi, "adv"), nn.BatchNorm1d)
    torch.manual_seed(0)
    net = build_backbone("resnet18", 3, width=4)
    keys = set(net.state_dict())
    convert_to_multi_bn(net)
    assert "layer2.0.downsample.1.bns.adv.running_mean" in net.state_dict()
    assert set(extract_bn_branch(net, "adv").state_dict()) == keys


def test_sync_batchnorm_conversion_keeps_branches() -> None:
    model = convert_to_multi_bn(make_encoder()).eval()
    x = torch.rand(2, 1, 12, 12)
    with torch.no_grad():
        want = model(x)
    synced = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    multis = [m for m in synced.modules() if isinstance(m, MultiBatchNorm)]
    assert len(multis) == 4
    assert all(isinstance(bn, nn.SyncBatchNorm) for m in multis for bn in m.bns.values())
    with torch.no_grad():
        assert torch.equal(synced(x), want)
    plain = extract_bn_branch(synced, "adv")
    assert isinstance(plain.backbone.block1[1], nn.SyncBatchNorm)
    multi_from_sync = MultiBatchNorm.from_batchnorm(nn.SyncBatchNorm(3))
    assert isinstance(multi_from_sync.branch("clean"), nn.SyncBatchNorm)


@pytest.mark.cuda
def test_cuda() -> None:
    model = convert_to_multi_bn(make_encoder()).cuda().train()
    with bn_branch(model, "adv"):
        out = model(torch.rand(4, 1, 12, 12, device="cuda"))
    assert out.device.type == "cuda" and bn_of(model, "adv").num_batches_tracked.item() == 1
    assert bn_of(model, "clean").num_batches_tracked.item() == 0
