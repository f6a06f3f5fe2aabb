"""DynACL++: k-means pseudo-labels (k clusters, on the clean route of a DynACL run, cached), the
linear-head stage, TRADES finetuning that yields a new encoder, and bad inputs."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from adversarial_ssl import run_config
from fakedata import write_fake_fashion_mnist
from robustssl.data import load_dataset
from robustssl.methods import pretrain
from robustssl.methods.dynacl_pp import DynACLPP, clean_route_encoder
from robustssl.methods.registry import build_method
from robustssl.models import build_encoder, load_encoder
from robustssl.utils.checkpoint import load_weights

TRADES = {"eps": 0.1, "steps": 2, "step_size": 0.05}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """(data root, a 1-epoch DynACL run, a 1-epoch SimCLR run)."""
    root = write_fake_fashion_mnist(tmp_path_factory.mktemp("data"))
    out = tmp_path_factory.mktemp("runs")
    dyn = {"name": "dynacl", "adversary": {"eps": 0.1, "steps": 1}}
    dynacl_run = pretrain(run_config(root, out, dyn, "dynacl")).run_dir
    simclr_run = pretrain(run_config(root, out, {"name": "simclr"}, "simclr")).run_dir
    return root, dynacl_run, simclr_run


def _method(encoder: Path, **kw: object) -> dict[str, object]:
    base = {"clusters": 4, "head_epochs": 2, "head_batch_size": 40, "adversary": TRADES}
    return {"name": "dynacl_pp", "encoder": str(encoder), **base, **kw}


def test_pseudo_labels_head_and_a_new_encoder(runs: tuple[Path, Path, Path], tmp_path: Path):
    root, dynacl_run, _ = runs
    cfg = run_config(root, tmp_path, _method(dynacl_run), "pp", projection=False)
    result = pretrain(cfg)
    labels = load_weights(result.run_dir / "pseudo_labels.safetensors")["labels"]
    assert labels.shape == (120, 1) and labels.dtype == torch.int64
    assert set(labels[:, 0].tolist()) == {0, 1, 2, 3}  # k = 4 clusters, all used
    before = load_encoder(dynacl_run).state_dict()
    after = load_encoder(result.run_dir).state_dict()
    assert before.keys() == after.keys()
    assert not torch.equal(before["backbone.block1.0.weight"], after["backbone.block1.0.weight"])
    method = load_weights(result.run_dir / "method.safetensors")
    assert method["method.head.fc.weight"].shape == (4, 8 * 4)  # k outputs on the features
    header = (result.run_dir / "metrics.csv").read_text().splitlines()[0]
    assert "train/pseudo_acc_epoch" in header


def test_clean_route_is_the_clean_branch_of_the_momentum_encoder(runs: tuple[Path, Path, Path]):
    _, dynacl_run, _ = runs
    clean = clean_route_encoder(dynacl_run).state_dict()
    adversarial = load_encoder(dynacl_run).state_dict()
    state = load_weights(dynacl_run / "method.safetensors")
    bn = "backbone.block1.1"
    assert torch.equal(
        clean[f"{bn}.running_mean"], state[f"method.encoder_k.{bn}.bns.clean.running_mean"]
    )
    assert torch.equal(
        adversarial[f"{bn}.running_mean"], state[f"method.encoder_k.{bn}.bns.adv.running_mean"]
    )
    assert not torch.equal(clean[f"{bn}.running_mean"], adversarial[f"{bn}.running_mean"])
    conv = "backbone.block1.0.weight"
    assert torch.equal(clean[conv], adversarial[conv])  # shared convolutions


def test_bad_sources_are_refused(runs: tuple[Path, Path, Path], tmp_path: Path) -> None:
    root, _, simclr_run = runs
    cfg = run_config(root, tmp_path, _method(simclr_run), "pp", projection=False)
    with pytest.raises(ValueError, match="route=adversarial"):
        pretrain(cfg)
    assert not (tmp_path / "pp").exists()  # refused before the run directory is made
    cfg = run_config(
        root, tmp_path, _method(simclr_run, route="adversarial"), "pp2", projection=False
    )
    assert pretrain(cfg).run_dir.is_dir()  # any run's saved encoder on the adversarial route
    with pytest.raises(ValueError, match="dynacl_pp post-processes a pretrained encoder"):
        run_config(root, tmp_path, {"name": "dynacl_pp"}, projection=False)


def test_the_head_stage_learns_the_clusters(runs: tuple[Path, Path, Path], tmp_path: Path) -> None:
    """k-means cells are linearly separable: on un-augmented views the head fits them."""
    root, dynacl_run, _ = runs
    raw = _method(dynacl_run, head_epochs=30, head_lr=0.5, views={"kind": "identity"})
    cfg = run_config(root, tmp_path, raw, "pp", projection=False)
    torch.manual_seed(0)
    encoder = build_encoder("small_cnn", 1, [0.2860], [0.3530], width=8)
    method = build_method(cfg.method, encoder, 10)
    assert isinstance(method, DynACLPP)
    train = load_dataset("fashion_mnist", split="train", root=root)
    frozen = {k: v.clone() for k, v in method.encoder.state_dict().items()}
    data = method.prepare_data(train, tmp_path)
    assert method.head_accuracy is not None and method.head_accuracy >= 0.8
    assert all(torch.equal(v, method.encoder.state_dict()[k]) for k, v in frozen.items())
    _, y = data.get_batch(torch.arange(8))
    assert y.shape == (8, 2) and torch.equal(y[:, 0], train.get_batch(torch.arange(8))[1])
