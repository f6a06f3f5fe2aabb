"""``robustssl.models.load_encoder``: an encoder from its one ``encoder.safetensors`` (issue 18)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from fakedata import write_fake_fashion_mnist
from robustssl.models import (
    EncoderSpec,
    MultiBatchNorm,
    build_encoder,
    convert_to_multi_bn,
    describe_encoder,
    extract_bn_branch,
    load_encoder,
    read_encoder_spec,
    save_encoder,
)
from robustssl.models.encoder_file import SPEC_KEY
from robustssl.utils.checkpoint import load_weights, load_weights_metadata, save_weights


def _same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return set(a) == set(b) and all(torch.equal(a[k], b[k]) for k in a)


@pytest.fixture(scope="module")
def pretrained_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A one-epoch SimCLR run of a width-8 small CNN (feature_dim 24) on fake Fashion-MNIST."""
    from robustssl.methods import PretrainConfig, pretrain

    base = tmp_path_factory.mktemp("enc")
    root = write_fake_fashion_mnist(base / "data", n_train=64, n_test=16)
    cfg = PretrainConfig.model_validate(
        {
            "name": "simclr",
            "output_dir": str(base / "runs"),
            "data": {"dataset": "fashion_mnist", "root": str(root), "batch_size": 32},
            "model": {"backbone": "small_cnn", "backbone_kwargs": {"width": 8, "feature_dim": 24}},
            "method": {"name": "simclr", "projection": {"hidden_dim": 32, "out_dim": 16}},
            "trainer": {"accelerator": "cpu", "max_epochs": 1, "progress_bar": False},
            "monitor": {"knn": False, "online_probe": False},
        }
    )
    return pretrain(cfg).run_dir


def test_the_file_alone_rebuilds_the_run_encoder(pretrained_run: Path, tmp_path: Path) -> None:
    from robustssl.finetune import load_pretrained_encoder

    alone = tmp_path / "elsewhere" / "encoder.safetensors"
    alone.parent.mkdir()
    shutil.copy(pretrained_run / "encoder.safetensors", alone)  # no config.json, no summary
    encoder = load_encoder(alone)
    reference = load_pretrained_encoder(pretrained_run).encoder
    assert not encoder.training and encoder.feature_dim == 24 and encoder.in_channels == 1
    assert _same(encoder.state_dict(), load_weights(alone))
    x = torch.rand(5, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.equal(encoder(x), reference(x))
    spec = read_encoder_spec(alone)
    kwargs = {"width": 8, "feature_dim": 24}
    assert (spec.backbone, dict(spec.backbone_kwargs)) == ("small_cnn", kwargs)
    assert spec.input_size == (28, 28) and spec.dataset == "fashion_mnist"
    assert spec.method == "simclr" and spec.feature_dim == 24
    assert spec.mean == pytest.approx(reference.normalize.mean.flatten().tolist())
    meta = load_weights_metadata(alone)
    assert meta is not None and meta["config"]["method"]["name"] == "simclr"  # still there
    assert torch.equal(load_encoder(pretrained_run).normalize.std, encoder.normalize.std)


def test_a_dual_bn_branch_saves_and_loads_as_a_plain_encoder(tmp_path: Path) -> None:
    torch.manual_seed(0)
    enc = build_encoder("resnet18", 3, (0.4, 0.5, 0.6), (0.2, 0.25, 0.3), width=4)
    convert_to_multi_bn(enc, ("clean", "adv"))
    for m in enc.modules():  # the adversarial branch's statistics differ from the clean one
        if isinstance(m, MultiBatchNorm):
            m.branch("adv").running_mean.add_(0.5)
    branch = extract_bn_branch(enc, "adv")
    spec = describe_encoder(branch, "resnet18", {"width": 4}, input_size=(32, 32), method="acl")
    save_encoder(branch, spec, tmp_path / "encoder.safetensors")
    loaded = load_encoder(tmp_path / "encoder.safetensors")
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(loaded(x), branch.eval()(x))
    assert read_encoder_spec(tmp_path / "encoder.safetensors") == spec


def test_files_written_before_the_spec_load_from_their_config(tmp_path: Path) -> None:
    """Older encoder.safetensors carry the pretraining config only: the spec is rebuilt from it
    and the normalisation buffers."""
    torch.manual_seed(1)
    enc = build_encoder("small_cnn", 1, [0.3], [0.4], width=8)
    config = {
        "model": {"backbone": "small_cnn", "backbone_kwargs": {"width": 8}},
        "data": {"dataset": "fashion_mnist"},
        "method": {"name": "simclr", "views": {"size": 24}},
    }
    path = tmp_path / "old.safetensors"
    save_weights(enc, path, {"config": config, "metrics": {}})
    spec = read_encoder_spec(path)
    assert spec == EncoderSpec(
        "small_cnn",
        1,
        (pytest.approx(0.3),),
        (pytest.approx(0.4),),
        32,
        {"width": 8},
        (24, 24),
        "fashion_mnist",
        "simclr",
    )
    assert _same(load_encoder(path).state_dict(), enc.state_dict())


def test_bad_files_are_clear_errors(tmp_path: Path) -> None:
    enc = build_encoder("small_cnn", 1, [0.3], [0.4], width=8)
    bare = tmp_path / "bare.safetensors"
    save_weights(enc, bare)  # no header at all
    with pytest.raises(ValueError, match=r"does not say how to build its encoder.*save_encoder"):
        load_encoder(bare)
    from safetensors.torch import save_file

    foreign = tmp_path / "foreign.safetensors"  # another tool's file: its own header, not ours
    save_file(dict(enc.state_dict()), str(foreign), metadata={"format": "pt"})
    with pytest.raises(ValueError, match=f"{foreign}.*does not say how to build its encoder"):
        load_encoder(foreign)
    listed = tmp_path / "listed.safetensors"
    save_file(dict(enc.state_dict()), str(listed), metadata={"robustssl": "[1, 2]"})
    with pytest.raises(ValueError, match="robustssl header is not a JSON object"):
        load_encoder(listed)
    spec = describe_encoder(enc, "small_cnn", {"width": 16})  # says width 16, holds width 8
    wrong = tmp_path / "wrong.safetensors"
    save_encoder(enc, spec.__class__(**{**spec.__dict__, "feature_dim": 64}), wrong)
    with pytest.raises(ValueError, match=r"shape mismatches.*in file vs"):
        load_encoder(wrong)
    newer = tmp_path / "newer.safetensors"
    save_weights(
        enc,
        newer,
        {SPEC_KEY: {**describe_encoder(enc, "small_cnn", {"width": 8}).to_json(), "version": 99}},
    )
    with pytest.raises(ValueError, match=r"version 99.*upgrade"):
        load_encoder(newer)
    state = {k: v.clone() for k, v in enc.state_dict().items()}
    state["backbone.block1.0.weight"][0, 0, 0, 0] = float("nan")
    nan = tmp_path / "nan.safetensors"
    save_encoder(state, describe_encoder(enc, "small_cnn", {"width": 8}), nan)
    with pytest.raises(ValueError, match=r"NaN or infinite weights \(backbone\.block1\.0\.weight"):
        load_encoder(nan)
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not a safetensors file")
    with pytest.raises(ValueError, match="not a readable safetensors file"):
        load_encoder(junk)
    good = tmp_path / "good.safetensors"
    save_encoder(enc, describe_encoder(enc, "small_cnn", {"width": 8}), good)
    truncated = tmp_path / "truncated.safetensors"  # a copy cut short (full disk, killed scp)
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(ValueError, match=f"{truncated} is not a readable safetensors file"):
        load_encoder(truncated)
    assert _same(load_encoder(good).state_dict(), enc.state_dict())
    with pytest.raises(
        FileNotFoundError, match=r"no encoder file at .*missing.*robustssl pretrain"
    ):
        load_encoder(tmp_path / "missing.safetensors")
    (tmp_path / "not_a_run").mkdir()
    with pytest.raises(FileNotFoundError, match=r"not_a_run holds no encoder\.safetensors"):
        load_encoder(tmp_path / "not_a_run")
    header = json.loads(json.dumps(describe_encoder(enc, "small_cnn", {"width": 8}).to_json()))
    header["colour"] = "blue"
    odd = tmp_path / "odd.safetensors"
    save_weights(enc, odd, {SPEC_KEY: header})
    with pytest.raises(ValueError, match=r"unknown fields \['colour'\]"):
        load_encoder(odd)
    header = {**describe_encoder(enc, "small_cnn", {"width": 8}).to_json(), "mean": "grey"}
    damaged = tmp_path / "damaged.safetensors"
    save_weights(enc, damaged, {SPEC_KEY: header})
    with pytest.raises(ValueError, match=f"{damaged}: the encoder spec in its header is damaged"):
        load_encoder(damaged)


class _Payload:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (open, (str(self.marker), "w"))  # unpickling creates the marker file


def test_a_pickle_is_refused_and_never_run(tmp_path: Path) -> None:
    """A torch.save / pickle file named encoder.safetensors is an error; its payload never runs."""
    import pickle

    marker = tmp_path / "ran"
    path = tmp_path / "encoder.safetensors"
    path.write_bytes(pickle.dumps(_Payload(marker)))
    pickle.loads(path.read_bytes()).close()  # the payload works when unpickled...
    assert marker.exists()
    marker.unlink()
    with pytest.raises(ValueError, match="not a readable safetensors file"):
        load_encoder(path)
    assert not marker.exists()
