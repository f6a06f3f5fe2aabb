"""Shared, once-per-session real runs (tiny: ~1 s each) that the reliability tests copy and then
damage, interrupt or contend for."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from relfix import evaluate_config, finetune_config, pretrain_config

from fakedata import write_fake_fashion_mnist


@pytest.fixture(scope="session")
def data_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_fake_fashion_mnist(tmp_path_factory.mktemp("data"), n_train=96, n_test=32)


@pytest.fixture(scope="session")
def done_runs(tmp_path_factory: pytest.TempPathFactory, data_root: Path) -> dict[str, Path]:
    """A complete pretraining run (2 epochs), its SLF finetune run and an evaluation of it."""
    from robustssl.evaluation.config import EvaluateConfig
    from robustssl.evaluation.from_checkpoint import evaluate_checkpoint
    from robustssl.finetune import FinetuneConfig, finetune
    from robustssl.methods import PretrainConfig, pretrain

    base = tmp_path_factory.mktemp("done")
    pre = pretrain(PretrainConfig.model_validate(pretrain_config(data_root, base, epochs=2)))
    ft_cfg = finetune_config(data_root, pre.run_dir, base)
    ft = finetune(FinetuneConfig.model_validate(ft_cfg))
    evaluate_checkpoint(ft.run_dir, EvaluateConfig.model_validate(evaluate_config()))
    return {"pretrain": pre.run_dir, "finetune": ft.run_dir}


@pytest.fixture(autouse=True)
def default_signal_handlers() -> Iterator[None]:
    """Every test starts and must end with Python's own SIGINT / SIGTERM handling."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    yield
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler, "SIGINT left changed"
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL, "SIGTERM left changed"
