"""ClusterFit pseudo-labels: seeded k-means (a Lloyd fixed point, deterministic under the seed),
strict loading of the given encoder, the run-directory cache, and label columns in batches."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from robustssl.data.dataset import TensorImageDataset
from robustssl.methods import clusterfit
from robustssl.methods.clusterfit import (
    ClusterFitConfig,
    cluster_labels,
    load_cluster_encoder,
    pseudo_labels,
)
from robustssl.methods.pseudo_labelled import PseudoLabelledDataset
from robustssl.models import build_encoder
from robustssl.utils import make_generator
from robustssl.utils.checkpoint import save_weights


def _blobs(n_per: int = 30, k: int = 4, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = make_generator(seed)
    centres = torch.randn(k, 6, generator=g) * 10
    truth = torch.arange(k).repeat_interleave(n_per)
    return centres[truth] + torch.randn(len(truth), 6, generator=g) * 0.1, truth


def _same_partition(a: torch.Tensor, b: torch.Tensor) -> bool:
    pairs = {(int(i), int(j)) for i, j in zip(a, b, strict=True)}
    return len(pairs) == len(set(a.tolist())) == len(set(b.tolist()))


def test_cluster_labels_recover_separated_clusters() -> None:
    x, truth = _blobs()
    labels = cluster_labels(x, [4], seed=0, n_init=3)[:, 0]
    assert _same_partition(labels, truth)


def test_pseudo_labels_are_deterministic_under_the_seed() -> None:
    features = torch.randn(150, 16, generator=make_generator(3))
    a = cluster_labels(features, [2, 5, 10], seed=0)
    b = cluster_labels(features.clone(), [2, 5, 10], seed=0)
    assert a.shape == (150, 3) and a.dtype == torch.int64 and torch.equal(a, b)
    assert [int(a[:, i].max()) + 1 for i in range(3)] == [2, 5, 10]
    assert not torch.equal(a, cluster_labels(features, [2, 5, 10], seed=1))
    scaled = cluster_labels(features * 3.0, [2, 5, 10], seed=0)  # features are L2-normalised
    assert torch.equal(a, scaled)
    with pytest.raises(ValueError, match="exceed the 150"):
        cluster_labels(features, [2, 200], seed=0)


def _run_dir(tmp_path: Path, width: int = 8) -> Path:
    run = tmp_path / "simclr_run"
    run.mkdir()
    cfg = {"model": {"backbone": "small_cnn", "backbone_kwargs": {"width": width}}}
    (run / "config.json").write_text(json.dumps(cfg))
    torch.manual_seed(0)
    save_weights(
        build_encoder("small_cnn", 1, [0.3], [0.4], width=width), run / "encoder.safetensors"
    )
    return run


def test_encoder_is_loaded_strictly(tmp_path: Path) -> None:
    run = _run_dir(tmp_path)
    torch.manual_seed(0)
    saved = build_encoder("small_cnn", 1, [0.3], [0.4], width=8).state_dict()
    encoder = load_cluster_encoder(run)
    assert not encoder.training
    assert all(torch.equal(v, saved[k]) for k, v in encoder.state_dict().items())
    state = dict(saved)
    state.pop("backbone.block1.0.weight")
    state["module.backbone.extra"] = torch.zeros(1)  # DataParallel-style stray key
    save_weights(state, run / "encoder.safetensors")
    with pytest.raises(ValueError, match=r"backbone\.block1\.0\.weight") as err:
        load_cluster_encoder(run)
    assert "module.backbone.extra" in str(err.value)
    (run / "config.json").write_text(json.dumps({"model": {"backbone": "small_cnn"}}))
    save_weights(saved, run / "encoder.safetensors")  # width 8 weights, width 32 model
    with pytest.raises(ValueError, match="in file vs"):
        load_cluster_encoder(run)
    with pytest.raises(FileNotFoundError, match="pretrain one first"):
        load_cluster_encoder(tmp_path / "missing")


def _dataset(n: int = 40) -> TensorImageDataset:
    g = make_generator(4)
    images = torch.randint(0, 256, (n, 1, 28, 28), generator=g, dtype=torch.uint8)
    return TensorImageDataset(images, torch.arange(n) % 10)


def test_pseudo_labels_are_cached_in_the_run_dir(tmp_path: Path, monkeypatch) -> None:
    cfg = ClusterFitConfig(encoder=str(_run_dir(tmp_path)), ks=[2, 3])
    data = _dataset()
    out = tmp_path / "advcl_run"
    labels = pseudo_labels(cfg, data, out)
    assert labels.shape == (40, 2) and (out / clusterfit.CACHE_FILE).is_file()
    monkeypatch.setattr(clusterfit, "compute_pseudo_labels", lambda *a: pytest.fail("recomputed"))
    assert torch.equal(pseudo_labels(cfg.model_copy(update={"weight": 0.5}), data, out), labels)
    with pytest.raises(ValueError, match="delete it to recompute"):
        pseudo_labels(cfg.model_copy(update={"seed": 1}), data, out)


def test_config_rejects_bad_cluster_numbers() -> None:
    with pytest.raises(ValueError, match="distinct"):
        ClusterFitConfig(encoder="x", ks=[2, 2])
    with pytest.raises(ValueError, match="≥ 2"):
        ClusterFitConfig(encoder="x", ks=[1])


def test_batches_carry_label_columns_aligned_with_the_samples() -> None:
    data = _dataset()
    pseudo = torch.stack([torch.arange(40) * 7, torch.arange(40) % 3], 1)
    wrapped = PseudoLabelledDataset(data, pseudo)
    for x, y in wrapped.loader(16, shuffle=True, seed=1):
        assert y.shape == (len(x), 3)
        idx = torch.div(y[:, 1], 7, rounding_mode="floor")  # recover the sample index
        assert torch.equal(x, data.get_batch(idx)[0])
        assert torch.equal(y[:, 0], data.targets[idx]) and torch.equal(y[:, 2], idx % 3)
    sub = wrapped.subset([5, 9])
    assert torch.equal(sub.get_batch([1])[1], torch.tensor([[9, 63, 0]]))
    with pytest.raises(ValueError, match="pseudo_labels must be"):
        PseudoLabelledDataset(data, pseudo[:10])
