"""``robustssl finetune``: config printing, errors with exit status 2, and a real pretraining run
(``pretrain()`` for one epoch) finetuned from the shipped Fashion-MNIST config."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch

from robustssl.cli import main
from robustssl.finetune import CLASSIFIER_FILE, load_pretrained_encoder
from robustssl.models import load_classifier
from robustssl.utils.checkpoint import load_weights

CONFIGS = Path(__file__).parents[2] / "configs"


def test_help_lists_finetune(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "finetune" in capsys.readouterr().out


def test_print_config_resolves_file_and_overrides(capsys: pytest.CaptureFixture[str]) -> None:
    config = CONFIGS / "fashion_mnist" / "finetune_alf.yaml"
    assert main(["finetune", "--config", str(config), "adversary.eps=8/255", "--print-config"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["protocol"] == "alf" and printed["adversary"]["eps"] == pytest.approx(8 / 255)
    assert printed["pretrained"] == "runs/simclr_fashion_mnist"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["pretrained=x", "protocol=lff"], "unknown protocol 'lff'"),
        (["pretrained=x", "protocol=alf", "adversary.eps=8"], "≥ 1"),
        (["pretrained=/no/such/run"], "no pretraining run at /no/such/run"),
    ],
)
def test_errors_exit_2_with_the_message(
    capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert main(["finetune", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("robustssl finetune: error:") and message in err


def test_pretrain_then_finetune_from_the_shipped_config(
    tmp_path: Path, fmnist_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from robustssl.methods import PretrainConfig, pretrain

    pre = PretrainConfig.model_validate(
        {
            "name": "simclr",
            "output_dir": str(tmp_path / "pre"),
            "data": {"dataset": "fashion_mnist", "root": str(fmnist_root), "batch_size": 32},
            "model": {"backbone": "small_cnn", "backbone_kwargs": {"width": 8}},
            "method": {"name": "simclr", "projection": {"hidden_dim": 16, "out_dim": 8}},
            "trainer": {"max_epochs": 1, "progress_bar": False, "accelerator": "cpu"},
            "monitor": {"knn": False, "online_probe": False},
        }
    )
    run = pretrain(pre).run_dir
    args = [
        "finetune",
        "--config",
        str(CONFIGS / "fashion_mnist" / "finetune_slf.yaml"),
        f"pretrained={run}",
        f"output_dir={tmp_path / 'ft'}",
        f"data.root={fmnist_root}",
        "optim.epochs=2",
        "optim.milestones=[1]",
        "progress_bar=false",
    ]
    assert main(args) == 0
    # the clean accuracy is labelled as the full test set's (not evaluate's first-n SA), in %
    assert re.search(
        r"clean accuracy \d+\.\d\d% on the full test set \(40 points\)", capsys.readouterr().out
    )
    out = tmp_path / "ft" / "slf_fashion_mnist"
    _, spec, meta = load_classifier(out / CLASSIFIER_FILE)
    encoder = load_pretrained_encoder(run).encoder.state_dict()
    saved = load_weights(out / CLASSIFIER_FILE)
    assert all(torch.equal(saved[f"encoder.{k}"], v) for k, v in encoder.items())
    assert spec.backbone_kwargs == {"width": 8} and meta["pretrained"]["method"] == "simclr"
    assert main([*args, "--resume"]) == 0  # finished: returns the saved result
    assert "on the full test set" in capsys.readouterr().out
