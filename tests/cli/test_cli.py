"""The ``robustssl`` command: help, datasets listing, views rendering, pretrain errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image

from fakedata import write_fake_fashion_mnist
from robustssl.cli import main


def test_help_lists_subcommands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for command in ("datasets", "views", "pretrain"):
        assert command in out


def test_no_command_prints_help_and_fails(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "usage: robustssl" in capsys.readouterr().out


def test_console_script_runs() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "robustssl", "--version"], capture_output=True, text=True
    )
    assert out.returncode == 0 and out.stdout.startswith("robustssl ")


def test_datasets_json_lists_registry_and_local_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cifar = tmp_path / "cifar-10-batches-py"
    cifar.mkdir()
    assert main(["datasets", "--root", str(tmp_path), "--json"]) == 0
    rows = {row["name"]: row for row in map(json.loads, capsys.readouterr().out.splitlines())}
    assert {"cifar10", "cifar100", "stl10", "svhn", "mnist", "fashion_mnist", "imagefolder"} <= set(
        rows
    )
    assert rows["cifar10"]["num_classes"] == 10 and rows["cifar10"]["image_shape"] == [3, 32, 32]
    assert rows["svhn"]["local"] is None
    debian = Path("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")
    assert (rows["fashion_mnist"]["local"] is not None) == debian.is_file()


def test_datasets_table(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["datasets", "--root", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "cifar100" in out and "not found" in out


def test_views_renders_grid(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = write_fake_fashion_mnist(tmp_path / "data")
    out = tmp_path / "views.png"
    assert main(["views", "--root", str(root), "--num-images", "5", "--out", str(out)]) == 0
    image = Image.open(out)
    # 7 rows x 5 columns of 28x28 tiles with 2-pixel padding
    assert image.size == (5 * 30 + 2, 7 * 30 + 2)
    assert "wrote" in capsys.readouterr().out


def test_unknown_dataset_is_a_clean_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["views", "--dataset", "imagenet42"]) == 2
    err = capsys.readouterr().err
    assert "imagenet42" in err and "cifar10" in err


def test_pretrain_bad_override_fails_before_compute(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["pretrain", "optim.name=rmsprop", f"output_dir={tmp_path}"]) == 2
    err = capsys.readouterr().err
    assert "optim.name" in err and "'lars'" in err
    assert not any(tmp_path.iterdir())


def test_pretrain_print_config(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["pretrain", "--print-config", "method.temperature=0.2"]) == 0
    cfg = json.loads(capsys.readouterr().out)
    assert cfg["method"]["temperature"] == 0.2 and cfg["method"]["name"] == "simclr"


def test_render_rows_shapes() -> None:
    from robustssl.cli.views_cmd import render_rows

    x = torch.rand(3, 1, 28, 28)
    rows = render_rows(x, seed=0, radius=7.0, jigsaw_grid=2)
    assert len(rows) == 7 and all(r.shape == x.shape for r in rows)
    assert torch.equal(rows[0], x)
    assert all(float(r.min()) >= 0 and float(r.max()) <= 1 for r in rows)
