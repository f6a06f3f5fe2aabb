"""docs/adding_a_method.md holds: its method module and YAML, taken from the page, register,
validate (``defaults:`` includes of configs/fashion_mnist/_base) and pretrain one short epoch
through the normal ``pretrain`` API; registering is undone without a trace (issue 16)."""

from __future__ import annotations

import importlib.util
import math
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Literal

import pytest
import torch

from robustssl.data import load_dataset
from robustssl.experiments.schema import config_schema
from robustssl.methods import METHODS, PretrainConfig, pretrain
from robustssl.methods.base import PretrainMethod
from robustssl.methods.common import MethodConfigBase
from robustssl.methods.pretrain import build_module
from robustssl.methods.registry import METHOD_CLASSES, register_method, unregister_method
from robustssl.methods.simclr import SimCLR
from robustssl.models import load_encoder
from robustssl.utils import seed_everything
from robustssl.utils.checkpoint import load_weights
from robustssl.utils.config import ConfigError, load_config
from robustssl.utils.seeding import make_generator

DOC = Path(__file__).resolve().parents[2] / "docs" / "adding_a_method.md"
NAME = "align_uniform"


def _block(language: str) -> str:
    """The first fenced ``language`` block of the page."""
    match = re.search(rf"^```{language}\n(.*?)^```", DOC.read_text(), re.S | re.M)
    assert match, f"docs/adding_a_method.md has no {language} block"
    return match.group(1)


def _state() -> tuple[list[str], dict, dict]:
    schema = PretrainConfig.model_json_schema()
    return list(METHODS), schema, PretrainConfig().model_dump()


@pytest.fixture
def page_module(tmp_path: Path) -> Iterator[ModuleType]:
    """The page's module, imported from a file of its own and registered; unregistered after,
    leaving METHODS, the union and the schema as they were."""
    before = _state()
    path = tmp_path / "align_uniform_plugin.py"
    path.write_text(_block("python"))
    spec = importlib.util.spec_from_file_location("align_uniform_plugin", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # pydantic resolves the module's annotations through it
    try:
        spec.loader.exec_module(module)
        register_method(module.AlignUniform)
        yield module
    finally:
        if NAME in METHODS:
            unregister_method(NAME)
        sys.modules.pop(spec.name, None)
        assert _state() == before  # nothing of the throw-away method is left behind
        with pytest.raises(ConfigError, match=r"tag 'align_uniform' .* does not match"):
            load_config(None, PretrainConfig, [f"method.name={NAME}"])


def _config_file(tmp_path: Path) -> Path:
    """The page's YAML as configs/fashion_mnist/align_uniform.yaml of a config folder of its own
    (its ``defaults:`` entries are found among the shipped configs)."""
    path = tmp_path / "configs" / "fashion_mnist" / f"{NAME}.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(_block("yaml"))
    return path


def test_the_page_adds_a_method_that_pretrains(
    page_module: ModuleType, tiny_fmnist: Path, tmp_path: Path
) -> None:
    assert METHODS[NAME] is page_module.AlignUniform
    schema = config_schema("pretrain")["$defs"]["AlignUniformConfig"]  # editors see it too
    assert schema["properties"]["name"]["const"] == NAME
    overrides = [
        f"output_dir={tmp_path / 'runs'}",
        f"data.root={tiny_fmnist}",
        "data.batch_size=16",
        "trainer.max_epochs=1",
        "trainer.max_time_minutes=null",
        "trainer.progress_bar=false",
        "trainer.logger=csv",
        "model.backbone_kwargs.width=8",
        "method.projection.hidden_dim=32",
        "method.projection.out_dim=16",
    ]
    path = _config_file(tmp_path)
    cfg = load_config(path, PretrainConfig, overrides)
    # the page's keys, its config class and the included _base parts, merged and validated
    assert type(cfg.method) is page_module.AlignUniformConfig
    assert tuple(cfg.method.views.crop_scale) == (0.2, 1.0) and cfg.method.alpha == 2.0
    assert (cfg.name, cfg.model.backbone, cfg.optim.name) == (
        "align_uniform_fashion_mnist",
        "small_cnn",
        "adam",
    )  # name from the page; small CNN from _base/pretrain
    assert (cfg.optim.schedule, cfg.monitor.knn_k) == ("warmup_cosine", 20)  # _base/contrastive
    with pytest.raises(ConfigError, match=r"method.align_uniform.alfa: unknown key.*alpha"):
        load_config(path, PretrainConfig, ["method.alfa=3"])

    result = pretrain(cfg)
    assert result.metrics["epochs"] == 1 and 0.0 <= result.metrics["knn_top1"] <= 1.0
    run = result.run_dir
    assert PretrainConfig.model_validate_json((run / "config.json").read_text()) == cfg

    # the saved weights load into a freshly built module, and training lowered the loss on the
    # first 64 training images with fixed views: a random initialisation of the seed vs one epoch
    seed_everything(cfg.seed)
    fresh = build_module(cfg, num_classes=10, in_channels=1)
    trained = build_module(cfg, num_classes=10, in_channels=1)
    trained.load_state_dict(load_weights(run / "method.safetensors"))
    x, _ = load_dataset("fashion_mnist", "train", root=tiny_fmnist).get_batch(torch.arange(64))
    y = torch.full((64,), -1)
    encoder = load_encoder(run / "encoder.safetensors")  # the encoder file: the same features
    with torch.no_grad():
        torch.testing.assert_close(encoder(x), trained.method.encoder.eval()(x))
    losses = []
    for module in (fresh, trained):
        with torch.no_grad():
            steps = [module.method.train().step(x, y, make_generator(s)) for s in range(3)]
        assert all(set(step.logs) == {"align", "uniform"} for step in steps)
        losses.append(sum(float(step.loss) for step in steps) / 3)
        assert math.isfinite(losses[-1])
    assert losses[1] < losses[0] - 0.1, losses  # measured: -0.86 → -1.19
    assert all(math.isfinite(float(v)) for v in result.metrics.values())


def test_register_refuses_a_taken_name_and_a_name_that_is_not_a_literal() -> None:
    class SimCLRAgain(SimCLR):
        pass  # config_class is SimCLR's: name "simclr" is taken

    with pytest.raises(ValueError, match=r"'simclr' is taken by robustssl.methods.simclr.SimCLR"):
        register_method(SimCLRAgain)

    class LooseConfig(MethodConfigBase):
        name: str = "loose"  # a plain str: the union could not pick this member

    class Loose(SimCLR):
        config_class = LooseConfig

    with pytest.raises(TypeError, match=r"LooseConfig \(config_class of Loose\) needs a literal"):
        register_method(Loose)

    class WrongDefaultConfig(MethodConfigBase):
        name: Literal["a"] = "b"  # type: ignore[assignment]

    class WrongDefault(SimCLR):
        config_class = WrongDefaultConfig

    with pytest.raises(TypeError, match="needs a literal name"):
        register_method(WrongDefault)

    class NoConfig(PretrainMethod):
        def step(self, x, y, generator):  # type: ignore[no-untyped-def]
            raise AssertionError

    with pytest.raises(TypeError, match="NoConfig needs config_class"):
        register_method(NoConfig)
    with pytest.raises(TypeError, match="a PretrainMethod subclass"):
        register_method(LooseConfig)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="'simclr' is not a method added by register_method"):
        unregister_method("simclr")  # the built-in methods stay
    assert len(METHODS) == len(METHOD_CLASSES) and "loose" not in METHODS
