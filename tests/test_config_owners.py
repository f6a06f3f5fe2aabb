"""One owner per config concept (issue 16): data / model sections, the strict base, the optimizer
and its step schedule, the method registry, and dumps that keep earlier stage ids and resumes."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from robustssl.data.config import DataConfig
from robustssl.evaluation.config import EvaluateConfig
from robustssl.finetune import FinetuneConfig, FinetuneDataConfig
from robustssl.finetune.optim import lr_at_epoch
from robustssl.methods import METHODS, PretrainConfig, build_method
from robustssl.methods.config import PretrainDataConfig, PretrainModelConfig
from robustssl.methods.registry import METHOD_CLASSES, method_name
from robustssl.models import build_encoder
from robustssl.models.config import ModelConfig
from robustssl.runs.compare import config_differences, identity_config
from robustssl.utils.config import ConfigError, StrictConfig, load_config
from robustssl.utils.optim import build_optimizer, lr_factor, reachable_milestones


def test_sections_extend_their_one_owner() -> None:
    assert issubclass(PretrainDataConfig, DataConfig) and issubclass(FinetuneDataConfig, DataConfig)
    assert issubclass(PretrainModelConfig, ModelConfig)
    assert FinetuneConfig.model_fields["model"].annotation == ModelConfig | None
    for model in (PretrainConfig, FinetuneConfig, EvaluateConfig):
        assert issubclass(model, StrictConfig)
    # each keeps its own defaults; the owner's validators apply to both
    assert (PretrainDataConfig().batch_size, FinetuneDataConfig().batch_size) == (256, 512)
    for section in (PretrainDataConfig, FinetuneDataConfig):
        assert section(dataset="Fashion-MNIST").dataset == "fashion_mnist"
        with pytest.raises(ValueError, match=r"unknown dataset .imagenet.; known: .*fashion_mnist"):
            section(dataset="imagenet")
    with pytest.raises(ValueError, match=r"unknown backbone .vit.; known: .*small_cnn"):
        PretrainModelConfig(backbone="vit")


REQUIRED = {"deacl": {"teacher": "runs/t"}, "dynacl_pp": {"encoder": "runs/d"}}  # run dirs


def test_every_method_is_registered_with_its_config_beside_it() -> None:
    assert len(METHOD_CLASSES) == len(METHODS) == 17
    for cls in METHOD_CLASSES:
        assert cls.config_class.__module__ == cls.__module__  # the config lives with its method
        name = method_name(cls)
        assert METHODS[name] is cls
        raw = {"name": name, **REQUIRED.get(name, {})}
        cfg = PretrainConfig.model_validate({"method": raw}).method
        assert type(cfg) is cls.config_class


@pytest.mark.parametrize("name", ["supervised", "ss_at", "simclr"])
def test_build_method_passes_the_class_count_to_the_methods_that_need_it(name: str) -> None:
    cfg = PretrainConfig.model_validate({"method": {"name": name}}).method
    encoder = build_encoder("small_cnn", 1, [0.5], [0.25])
    method = build_method(cfg, encoder, num_classes=7)
    assert type(method) is METHODS[name]
    if name != "simclr":
        assert method.head(torch.zeros(2, method.feature_dim)).shape == (2, 7)
    if METHODS[name].needs_labels:
        with pytest.raises(ValueError, match="needs a labelled dataset"):
            build_method(cfg, encoder, num_classes=None)


def test_finetuning_optimizer_is_the_shared_one_and_steps_like_before() -> None:
    """The shared builder gives the same updates as the former finetuning optimizer
    (torch SGD over the trainable parameters, weight decay on every tensor)."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 5), nn.BatchNorm1d(5), nn.Linear(5, 3))
    model[0].weight.requires_grad_(False)  # a frozen tensor is left out
    twin = copy.deepcopy(model)
    cfg = FinetuneConfig.model_validate({"pretrained": "runs/x", "optim": {"name": "sgd"}}).optim
    ours = build_optimizer(model, cfg.optimizer())
    before = torch.optim.SGD(
        [p for p in twin.parameters() if p.requires_grad],
        lr=cfg.lr,
        momentum=cfg.momentum,
        weight_decay=cfg.weight_decay,
    )
    x, y = torch.randn(8, 6), torch.randint(0, 3, (8,))
    for _ in range(3):
        for net, opt in ((model, ours), (twin, before)):
            opt.zero_grad()
            nn.functional.cross_entropy(net(x), y).backward()
            opt.step()
    for a, b in zip(model.parameters(), twin.parameters(), strict=True):
        assert torch.equal(a, b)
    frozen = nn.Linear(2, 2).requires_grad_(False)
    with pytest.raises(ValueError, match="nothing to train"):
        build_optimizer(frozen, cfg.optimizer())


def test_milestones_at_or_past_the_last_epoch_are_dropped_with_a_warning() -> None:
    with pytest.warns(UserWarning, match=r"optim.milestones: \[50, 100\] .*drops at no epoch"):
        cfg = load_config(
            "cifar10/rotation",
            PretrainConfig,
            ["trainer.max_epochs=1", "optim.milestones=[50,100]", "model.backbone=small_cnn"],
        )
    assert [lr_factor(cfg.optim, s, 10, 10) for s in (0, 9)] == [1.0, 1.0]
    with pytest.warns(UserWarning, match=r"milestones: \[6\] are never reached in 5 epoch"):
        assert reachable_milestones([2, 4, 6], 5) == [2, 4]
    with pytest.raises(ConfigError, match="increasing"):
        load_config(None, FinetuneConfig, ["pretrained=x", "optim.milestones=[3,2]"])
    cfg_ft = load_config(None, FinetuneConfig, ["pretrained=x", "optim.epochs=25"])
    assert [lr_at_epoch(cfg_ft.optim, e) for e in (14, 15, 20)] == pytest.approx([1e-2, 1e-3, 1e-4])


def _old_finetune_dump() -> dict:
    """A finetuning config.json written before the adversary had one config type."""
    dump = FinetuneConfig.model_validate(
        {"pretrained": "runs/x", "protocol": "alf", "adversary": {"eps": 0.1, "steps": 5}}
    ).model_dump(mode="json")
    adversary = dump["adversary"]
    adversary["step_rule"] = adversary.pop("step_size_rule")
    del adversary["use_best"]
    return dump


def test_earlier_dumps_keep_their_stage_id_and_still_resume() -> None:
    old = _old_finetune_dump()
    new = FinetuneConfig.model_validate(old).model_dump(mode="json")  # step_rule read as alias
    assert "step_size_rule" in new["adversary"] and "use_best" in new["adversary"]
    assert identity_config("finetune", new) == identity_config("finetune", old)
    assert config_differences("finetune", old, new) == []
    changed = copy.deepcopy(new)
    changed["adversary"]["use_best"] = True
    assert config_differences("finetune", old, changed) == [("adversary.use_best", None, True)]

    pre = PretrainConfig.model_validate({"method": {"name": "adv_simclr"}}).model_dump(mode="json")
    earlier = copy.deepcopy(pre)
    for key in ("attack", "step_size_rule"):
        del earlier["method"]["adversary"][key]
    assert identity_config("pretrain", pre) == identity_config("pretrain", earlier)
    pre["method"]["adversary"]["step_size_rule"] = "auto"  # a new choice is a new stage
    assert config_differences("pretrain", earlier, pre) == [
        ("method.adversary.step_size_rule", None, "auto")
    ]
