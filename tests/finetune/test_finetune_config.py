"""Finetune configs: bad values fail before any compute, naming the key and the fix; the shipped
YAML files validate; step-size rules follow seed 003 §4.2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from robustssl.finetune import PROTOCOLS, AdversaryConfig, FinetuneConfig, finetune
from robustssl.utils.config import ConfigError, load_config

CONFIGS = Path(__file__).parents[2] / "configs"


def _load(*overrides: str) -> FinetuneConfig:
    return load_config(None, FinetuneConfig, ["pretrained=runs/x", *overrides])


def test_unknown_protocol_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="protocol") as err:
        _load("protocol=lff")
    assert all(name in str(err.value) for name in PROTOCOLS)


@pytest.mark.parametrize("eps", ["1", "1.5", "255"])
def test_linf_eps_of_one_or_more_is_rejected(eps: str) -> None:
    with pytest.raises(ConfigError, match=r"adversary.*≥ 1.*pixel units"):
        _load("protocol=alf", f"adversary.eps={eps}")


def test_l2_eps_may_exceed_one_and_fractions_parse() -> None:
    assert _load("protocol=aff", "adversary.norm=L2", "adversary.eps=1.5").adversary.eps == 1.5
    cfg = _load("protocol=alf", "adversary.eps=8/255", "adversary.step_size=2/255")
    assert cfg.adversary.eps == pytest.approx(8 / 255) and cfg.adversary.norm == "Linf"
    assert cfg.adversary.alpha == pytest.approx(2 / 255)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["protocol=alf"], "add an adversary section"),
        (["protocol=aff"], "add an adversary section"),
        (["protocol=slf", "adversary.eps=0.1"], "remove the adversary section"),
        (["protocol=sff", "adversary.eps=0.1"], "remove the adversary section"),
        (["protocol=partial"], "freeze_stages"),
        (["protocol=slf", "freeze_stages=1"], "freeze_stages"),
        (["protocol=alf", "adversary.eps=0.1", "cache_features=true"], "cache_features"),
        (["augmentation.name=crop_flip", "cache_features=true"], "augmentation.name=none"),
        (["optim.milestones=[20,15]"], "milestones.*increasing"),
        (["optim.milestones=[0,15]"], "milestones.*≥ 1"),
        (["protocol=alf", "adversary.attack=apgd", "adversary.step_size=0.01"], "APGD"),
        (["protocol=alf", "adversary.norm=L3"], "norm"),
        (["data.dataset=imagenet"], "unknown dataset"),
        (["head.name=transformer"], "head.name"),
        (["optimiser.lr=0.1"], "unknown key"),
    ],
)
def test_inconsistent_configs_fail_with_the_fix(overrides: list[str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        _load(*overrides)


def test_an_encoder_source_is_required_and_unique() -> None:
    with pytest.raises(ConfigError, match="no encoder"):
        load_config(None, FinetuneConfig, [])
    with pytest.raises(ConfigError, match="remove the model section"):
        _load("model.backbone=small_cnn")
    assert load_config(None, FinetuneConfig, ["model.backbone=small_cnn"]).pretrained is None


def test_cache_default_is_slf_without_augmentation() -> None:
    assert _load().use_cache()
    assert not _load("augmentation.name=crop_flip").use_cache()
    assert not _load("protocol=sff").use_cache()
    assert not _load("cache_features=false").use_cache()


def test_step_size_rules() -> None:
    linf = AdversaryConfig(eps=8 / 255, steps=10)
    assert linf.alpha == pytest.approx(2 / 255)  # seed 003 §4.2
    l2 = AdversaryConfig(norm="L2", eps=0.5, steps=10)
    assert l2.alpha == pytest.approx(2.5 * 0.5 / 10)  # auto: Madry for L2
    literal = AdversaryConfig(norm="L2", eps=0.5, steps=10, step_size_rule="seed003")
    assert literal.alpha == pytest.approx(0.5**2 / 10)  # seed 003 §4.2 as written
    madry = AdversaryConfig(eps=0.1, steps=5, step_size_rule="madry")
    assert madry.alpha == pytest.approx(2.5 * 0.1 / 5)


def test_old_step_rule_key_reads_as_step_size_rule() -> None:
    """``step_rule`` (finetuning's key before the rule had one name) is a documented alias."""
    old_key = "adversary.step_rule=madry"
    cfg = _load("protocol=alf", "adversary.eps=0.1", "adversary.steps=5", old_key)
    assert cfg.adversary.step_size_rule == "madry"
    assert cfg.adversary.alpha == pytest.approx(2.5 * 0.1 / 5)
    assert "step_rule" not in cfg.model_dump()["adversary"]
    with pytest.raises(ConfigError, match="step_rule is the old name of step_size_rule"):
        _load("protocol=alf", "adversary.step_rule=madry", "adversary.step_size_rule=auto")


def test_milestones_past_the_last_epoch_are_dropped_with_a_warning() -> None:
    """``optim.epochs=1`` on a 25-epoch config (milestones 15, 20) runs at the base lr."""
    from robustssl.finetune.optim import lr_at_epoch

    with pytest.warns(UserWarning, match=r"optim.milestones: \[15, 20\].*dropped"):
        cfg = _load("optim.epochs=1")
    assert cfg.optim.milestones == [15, 20]  # the config is kept as written (same stage id)
    assert lr_at_epoch(cfg.optim, 0) == cfg.optim.lr
    with pytest.warns(UserWarning, match=r"\[20\].*drops at \[15\]"):
        cfg = _load("optim.epochs=18")
    assert [lr_at_epoch(cfg.optim, e) for e in (14, 15, 17)] == pytest.approx([0.01, 0.001, 0.001])


def test_missing_pretrained_run_fails_before_anything_is_written(
    tmp_path: Path, make_config
) -> None:
    cfg = make_config(tmp_path / "no_such_run")
    with pytest.raises(FileNotFoundError, match=r"no pretraining run.*robustssl pretrain"):
        finetune(cfg)
    assert not (tmp_path / "runs").exists()


def test_unfinished_pretraining_run_is_refused(tmp_path: Path, make_run, make_config) -> None:
    run = make_run(status="running")
    with pytest.raises(ValueError, match=r"status 'running'.*--resume"):
        finetune(make_config(run))
    (run / "summary.json").unlink()
    with pytest.raises(ValueError, match="did not finish"):
        finetune(make_config(run))
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize(
    "path", sorted(CONFIGS.glob("*/finetune_*.yaml")), ids=lambda p: f"{p.parent.name}/{p.name}"
)
def test_shipped_configs_validate(path: Path) -> None:
    cfg = load_config(path, FinetuneConfig)
    assert cfg.name and cfg.pretrained
    dump = json.loads(json.dumps(cfg.model_dump(mode="json")))
    assert FinetuneConfig.model_validate(dump) == cfg


def test_shipped_configs_cover_the_protocols() -> None:
    names = {p.name for p in CONFIGS.glob("*/finetune_*.yaml")}
    assert {"finetune_slf.yaml", "finetune_alf.yaml", "finetune_aff.yaml"} <= names
    assert (CONFIGS / "fashion_mnist" / "finetune_sff.yaml").is_file()
    assert (CONFIGS / "cifar100" / "finetune_slf_from_cifar10.yaml").is_file()
