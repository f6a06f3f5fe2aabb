"""The examples/ scripts run (small sizes, no downloads) and give sensible numbers (issue 18)."""

from __future__ import annotations

import runpy
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

from fakedata import write_fake_fashion_mnist
from robustssl.models import load_encoder
from robustssl.utils.checkpoint import load_weights_metadata

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def example(name: str, monkeypatch: pytest.MonkeyPatch) -> Callable[..., dict[str, Any]]:
    """The ``main`` of ``examples/<name>.py`` (run as a module, not as ``__main__``)."""
    monkeypatch.syspath_prepend(str(EXAMPLES))  # as `python examples/x.py` has it
    return runpy.run_path(str(EXAMPLES / f"{name}.py"), run_name=f"example_{name}")["main"]


def test_own_model_runs_evaluate_model_on_a_torchvision_resnet(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    numbers = example("own_model", monkeypatch)(["--n", "4", "--steps", "3"])
    out = capsys.readouterr().out
    assert out.startswith("evaluated on the 4 points given") and "PGD-3 α=ε/4" in out
    assert set(numbers) == {"sa", "fgsm", "pgd", "worst_case"}
    assert 0 <= numbers["worst_case"] <= min(numbers["fgsm"], numbers["pgd"]) <= numbers["sa"]


def test_own_loop_then_load_encoder_with_a_linear_head(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The training-loop example on IDX files (a data root) writes an encoder that the
    load_encoder example turns into a classifier well above chance."""
    root = write_fake_fashion_mnist(tmp_path / "data", n_train=96, n_test=48)
    run = tmp_path / "run"
    loop = example("own_training_loop", monkeypatch)
    losses = loop(["--data", str(root), "--n", "96", "--epochs", "2", "--out", str(run)])
    assert all(torch.isfinite(torch.tensor(list(losses.values()))))
    encoder = load_encoder(run / "encoder.safetensors")
    meta = load_weights_metadata(run / "encoder.safetensors")
    assert meta is not None and meta["encoder_spec"]["method"] == "adv_simclr"
    assert meta["encoder_spec"]["dataset"] == "fashion_mnist" and encoder.feature_dim == 32
    head = example("load_encoder_linear_head", monkeypatch)
    numbers = head(
        [
            "--encoder",
            str(run / "encoder.safetensors"),
            "--data",
            str(root),
            "--n",
            "96",
            "--steps",
            "60",
        ]
    )
    assert "adv_simclr on fashion_mnist at (28, 28)" in capsys.readouterr().out
    assert numbers["train_accuracy"] > 0.5 and numbers["test_accuracy"] > 0.3  # chance: 0.1


def test_examples_run_as_scripts(tmp_path: Path) -> None:
    """``python examples/<name>.py`` works from any directory (its own folder on sys.path)."""
    run = subprocess.run(
        [
            sys.executable,
            str(EXAMPLES / "own_training_loop.py"),
            "--n",
            "32",
            "--epochs",
            "1",
            "--out",
            str(tmp_path / "loop"),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr
    assert "wrote" in run.stdout and (tmp_path / "loop" / "encoder.safetensors").is_file()
