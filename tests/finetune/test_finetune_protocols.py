"""What each protocol trains: SLF/ALF leave the encoder bit-identical, AFF/SFF change it, partial
freezes exactly the first k stages; cached SLF equals uncached SLF; the saved classifier loads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from robustssl.finetune import CLASSIFIER_FILE, backbone_stages, finetune, load_pretrained_encoder
from robustssl.models import build_encoder, load_classifier
from robustssl.utils.checkpoint import load_weights

ADV = {"eps": 0.1, "steps": 2}


def _encoder_state(run_dir: Path) -> dict[str, torch.Tensor]:
    """The encoder part of a finetuned classifier, keyed like encoder.safetensors."""
    state = load_weights(run_dir / CLASSIFIER_FILE)
    return {k.removeprefix("encoder."): v for k, v in state.items() if k.startswith("encoder.")}


def _same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor], prefix: str = "") -> bool:
    keys = [k for k in a if k.startswith(prefix)]
    assert keys, prefix
    return all(torch.equal(a[k], b[k]) for k in keys)


@pytest.mark.parametrize(
    ("protocol", "extra"),
    [("slf", {}), ("alf", {"adversary": ADV}), ("alf", {"adversary": {**ADV, "bn_mode": "train"}})],
    ids=["slf", "alf", "alf-train-bn"],
)
def test_frozen_encoder_protocols_leave_it_bit_identical(
    make_run, make_config, protocol: str, extra: dict
) -> None:
    run = make_run()
    result = finetune(make_config(run, protocol, **extra))
    before = load_weights(run / "encoder.safetensors")
    after = _encoder_state(result.run_dir)
    assert after.keys() == before.keys() and _same(before, after)  # BN running stats included
    head = load_weights(result.run_dir / CLASSIFIER_FILE)["head.fc.weight"]
    assert head.shape == (10, 32) and head.abs().sum() > 0


@pytest.mark.parametrize(("protocol", "extra"), [("aff", {"adversary": ADV}), ("sff", {})])
def test_full_finetuning_changes_every_stage(
    make_run, make_config, protocol: str, extra: dict
) -> None:
    run = make_run()
    result = finetune(make_config(run, protocol, **extra))
    before = load_weights(run / "encoder.safetensors")
    after = _encoder_state(result.run_dir)
    for stage in ("block1", "block2", "block3"):
        assert not _same(before, after, f"backbone.{stage}.0.weight")
    assert _same(before, after, "normalize.")  # the encoder keeps its normalisation


@pytest.mark.parametrize("adversarial", [False, True])
def test_partial_freezes_exactly_the_first_k_stages(
    make_run, make_config, adversarial: bool
) -> None:
    run = make_run()
    extra = {"adversary": {**ADV, "bn_mode": "train"}} if adversarial else {}
    result = finetune(make_config(run, "partial", freeze_stages=2, **extra))
    before = load_weights(run / "encoder.safetensors")
    after = _encoder_state(result.run_dir)
    assert _same(before, after, "backbone.block1.") and _same(before, after, "backbone.block2.")
    changed = [k for k in after if k.startswith("backbone.block3.") and "num_batches" not in k]
    assert all(not torch.equal(before[k], after[k]) for k in changed)  # weights and BN stats


def test_partial_rejects_freezing_every_stage_before_compute(
    tmp_path: Path, make_run, make_config
) -> None:
    with pytest.raises(ValueError, match=r"3 stages \(block1, block2, block3\).*slf/alf"):
        finetune(make_config(make_run(), "partial", freeze_stages=3))
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize(
    ("backbone", "names"),
    [
        ("small_cnn", ["block1", "block2", "block3"]),
        ("resnet18", ["stem", "layer1", "layer2", "layer3", "layer4"]),
    ],
)
def test_stages_partition_the_backbone_parameters(backbone: str, names: list[str]) -> None:
    encoder = build_encoder(backbone, 3, (0.5,) * 3, (0.25,) * 3, width=4)
    stages = backbone_stages(encoder)
    assert [name for name, _ in stages] == names
    in_stages = [id(p) for _, mods in stages for m in mods for p in m.parameters()]
    assert sorted(in_stages) == sorted(id(p) for p in encoder.backbone.parameters())


@pytest.mark.parametrize("head", ["linear", "mlp"])
def test_cached_slf_equals_uncached_slf(make_run, make_config, head: str) -> None:
    run = make_run()
    common = {"head": {"name": head, "hidden_dim": 16}, "data": {"val_fraction": 0.25}}
    cached = finetune(make_config(run, name="cached", cache_features=True, **common))
    plain = finetune(make_config(run, name="plain", cache_features=False, **common))
    a = load_weights(cached.run_dir / CLASSIFIER_FILE)
    b = load_weights(plain.run_dir / CLASSIFIER_FILE)
    heads = [k for k in a if k.startswith("head.")]
    assert len(heads) == (2 if head == "linear" else 4)
    for key in heads:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=1e-5)
    lines = (cached.run_dir / "metrics.csv").read_text().splitlines()[1:]
    losses = [float(line.split(",")[2]) for line in lines]
    assert losses[-1] < losses[0]  # the head did train
    assert cached.metrics["clean_accuracy"] == pytest.approx(plain.metrics["clean_accuracy"])
    assert cached.metrics["val_accuracy"] == pytest.approx(plain.metrics["val_accuracy"])


def test_slf_learns_the_fake_task(make_run, make_config) -> None:
    """The fake images are separable by a bar's position: a linear readout of a random small CNN
    already separates them well above chance (10 %)."""
    result = finetune(make_config(make_run(), optim={"epochs": 20, "milestones": [15], "lr": 0.5}))
    assert result.metrics["train_accuracy"] > 0.5 and result.metrics["clean_accuracy"] > 0.4


def test_run_directory_and_classifier_metadata(make_run, make_config) -> None:
    run = make_run()
    result = finetune(make_config(run, "alf", adversary={**ADV, "attack": "apgd"}))
    out = result.run_dir
    for name in ("config.json", "config.yaml", CLASSIFIER_FILE, "metrics.csv", "summary.json"):
        assert (out / name).is_file(), name
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "complete" and summary["train_seconds"] > 0
    assert summary["clean_accuracy"] == result.metrics["clean_accuracy"]
    rows = (out / "metrics.csv").read_text().splitlines()
    assert rows[0] == "epoch,lr,train_loss,train_accuracy,seconds" and len(rows) == 4
    assert [float(r.split(",")[1]) for r in rows[1:]] == pytest.approx([0.05, 0.05, 0.005])
    model, spec, meta = load_classifier(out / CLASSIFIER_FILE)
    assert spec.backbone == "small_cnn" and spec.num_classes == 10 and spec.head == "linear"
    assert meta["finetune"]["protocol"] == "alf"
    assert meta["finetune"]["data"]["dataset"] == "fashion_mnist"
    assert meta["finetune"]["data"]["image_size"] == 28 and meta["input_shape"] == [1, 28, 28]
    assert meta["pretrained"]["method"] == "simclr" and meta["pretrained"]["run_dir"] == str(run)
    assert meta["metrics"]["clean_accuracy"] == result.metrics["clean_accuracy"]
    assert not model.training


def test_load_pretrained_encoder_rebuilds_the_saved_encoder(make_run) -> None:
    run = make_run(backbone_kwargs={"width": 8, "feature_dim": 24})
    loaded = load_pretrained_encoder(run)
    saved = load_weights(run / "encoder.safetensors")
    assert _same(saved, loaded.encoder.state_dict()) and not loaded.encoder.training
    assert loaded.encoder.feature_dim == 24 and loaded.in_channels == 1
    assert loaded.image_size == (28, 28) and loaded.dataset == "fashion_mnist"
    assert loaded.mean == pytest.approx(saved["normalize.mean"].tolist())


def test_mismatched_backbone_is_a_strict_load_error_naming_keys(make_run, make_config) -> None:
    run = make_run()
    config = json.loads((run / "config.json").read_text())
    config["model"]["backbone_kwargs"] = {"width": 16}
    (run / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match=r"shape mismatches.*backbone\.block1\.0\.weight"):
        load_pretrained_encoder(run)
    config["model"]["backbone"] = "resnet18"
    (run / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match=r"missing keys \['backbone\.bn1\..*unexpected keys"):
        finetune(make_config(run))


def test_partial_on_a_resnet_freezes_stem_and_layer1(make_run, make_config) -> None:
    run = make_run(backbone="resnet18", backbone_kwargs={"width": 4})
    result = finetune(
        make_config(run, "partial", freeze_stages=2, optim={"epochs": 1, "milestones": []})
    )
    before = load_weights(run / "encoder.safetensors")
    after = _encoder_state(result.run_dir)
    for frozen in ("backbone.conv1.", "backbone.bn1.", "backbone.layer1."):
        assert _same(before, after, frozen), frozen
    for trained in ("backbone.layer2.0.conv1.", "backbone.layer4.1.bn2.weight"):
        assert not _same(before, after, trained), trained
