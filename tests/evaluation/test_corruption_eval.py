"""Accuracy on corrupted data, clean and under PGD (seed 003 §4.4): generated and CIFAR-10-C."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from evalfix import eval_data, trained_model
from pydantic import ValidationError

from robustssl.evaluation.config import EvaluateConfig
from robustssl.evaluation.corruption_eval import corrupted, corruption_records, generated_source
from robustssl.evaluation.records import RecordContext
from robustssl.evaluation.suite import evaluate
from robustssl.models import Classifier, LinearClassifier, build_encoder

NAMES = ["gaussian_noise", "contrast"]


def _acc(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    with torch.no_grad():
        return float((model(x).argmax(1) == y).double().mean())


def test_corrupted_is_seeded_and_in_range() -> None:
    x, _ = eval_data(10)
    a = corrupted(x, "gaussian_noise", 3, seed=1, batch_size=4)
    assert torch.equal(a, corrupted(x, "gaussian_noise", 3, seed=1, batch_size=4))
    assert not torch.equal(a, corrupted(x, "gaussian_noise", 3, seed=2, batch_size=4))
    assert a.shape == x.shape and float(a.min()) >= 0 and float(a.max()) <= 1
    # batches get different noise (not the same draw repeated)
    b = corrupted(torch.cat([x[:4], x[:4]]), "gaussian_noise", 3, seed=1, batch_size=4)
    assert not torch.equal(b[:4], b[4:])


def test_records_equal_direct_accuracy() -> None:
    x, y = eval_data(24)
    model = trained_model()
    ctx = RecordContext("m", seed=5)
    source = generated_source(x, y, seed=5, batch_size=8)
    recs = corruption_records(model, source, NAMES, [1, 5], ctx, [("Linf", 0.02)], progress=False)
    table = {(r.metric, r.tags["corruption"], r.tags["severity"]): r for r in recs}
    for name in NAMES:
        for severity in (1, 5):
            xc = corrupted(x, name, severity, seed=5, batch_size=8)
            sa = table[("sa", name, severity)]
            assert sa.value == _acc(model, xc, y) and sa.n == 24
            ra = table[("ra", name, severity)]
            assert ra.value <= sa.value and (ra.norm, ra.eps, ra.attack) == ("Linf", 0.02, "pgd")
            assert sa.tags["source"] == "generated"
    for severity in (1, 5):
        mean = table[("sa", "mean", severity)]
        assert mean.value == pytest.approx(
            np.mean([table[("sa", n, severity)].value for n in NAMES])
        )
        assert mean.info["families"] == NAMES
    assert table[("sa", "mean", 5)].value < table[("sa", "mean", 1)].value  # severity hurts
    assert len(recs) == 2 * 2 * 2 + 2 * 2


def test_suite_runs_corruptions_all_families() -> None:
    x, y = eval_data(8)
    cfg = {
        "progress": False,
        "metrics": ["corruption"],
        "threats": {"Linf": {"eps": 0.02}},
        "corruptions": {"names": "all", "severities": [2], "attacked": False},
        "diagnostics": {"enabled": False},
    }
    recs = evaluate(trained_model(), x, y, cfg).records
    families = {r.tags["corruption"] for r in recs}
    assert len(families) == 16 and "mean" in families  # the 15 families + their mean
    assert all(r.metric == "sa" and 0 <= r.value <= 1 for r in recs)


def test_unknown_corruption_is_a_config_error() -> None:
    from robustssl.utils.config import ConfigError

    x, y = eval_data(4)
    cfg = {"metrics": ["corruption"], "corruptions": {"names": ["gaussian_noise", "rain"]}}
    with pytest.raises(ConfigError, match="unknown \\['rain'\\]; known: gaussian_noise"):
        evaluate(trained_model(), x, y, cfg)


def _write_cifar_c(root: Path, names: list[str], n: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    root.mkdir(parents=True)
    arrays = {}
    for name in names:
        arrays[name] = rng.integers(0, 256, (5 * n, 32, 32, 3), dtype=np.uint8)
        np.save(root / f"{name}.npy", arrays[name])
    np.save(root / "labels.npy", np.tile(np.arange(n) % 10, 5).astype(np.int64))
    return arrays


def test_cifar_c_directory(tmp_path: Path) -> None:
    pytest.importorskip("robustssl.data.cifar_c")
    arrays = _write_cifar_c(tmp_path / "CIFAR-10-C", NAMES, n=6)
    torch.manual_seed(0)
    encoder = build_encoder("small_cnn", 3, (0.5,) * 3, (0.25,) * 3, width=4)
    model = Classifier(encoder, LinearClassifier(encoder.feature_dim, 10)).eval()
    x, y = torch.rand(4, 3, 32, 32), torch.arange(4)
    cfg = {
        "progress": False,
        "data": {"n": 4},
        "metrics": ["corruption"],
        "threats": {"L2": {"eps": 0.5}},
        "corruptions": {
            "names": NAMES,
            "severities": [2, 4],
            "cifar_c_dir": str(tmp_path / "CIFAR-10-C"),
        },
        "diagnostics": {"enabled": False},
    }
    recs = evaluate(model, x, y, cfg).records
    cifar = [
        r for r in recs if r.tags.get("source") == "cifar_c" and r.tags["corruption"] != "mean"
    ]
    assert {(r.metric, r.tags["corruption"], r.tags["severity"]) for r in cifar} == {
        (m, n, s) for m in ("sa", "ra") for n in NAMES for s in (2, 4)
    }
    for r in cifar:
        if r.metric == "sa":
            s = r.tags["severity"]
            images = arrays[r.tags["corruption"]][(s - 1) * 6 : (s - 1) * 6 + 4]
            xc = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255
            assert r.n == 4 and r.value == _acc(model, xc, torch.arange(4) % 10)


def test_cifar_c_needs_a_directory_and_rgb(tmp_path: Path) -> None:
    x, y = eval_data(4)
    cfg = {"metrics": ["corruption"], "corruptions": {"cifar_c_dir": str(tmp_path / "nope")}}
    with pytest.raises(FileNotFoundError, match="zenodo"):
        evaluate(trained_model(), x, y, cfg)
    (tmp_path / "c").mkdir()
    cfg["corruptions"] = {"cifar_c_dir": str(tmp_path / "c")}
    with pytest.raises(ValueError, match="RGB 32×32 images but the model takes 1 channel"):
        evaluate(trained_model(), x, y, cfg)


def test_cifar_c_extra_files_and_label_check(tmp_path: Path) -> None:
    pytest.importorskip("robustssl.data.cifar_c")
    root = tmp_path / "CIFAR-100-C"
    _write_cifar_c(root, ["speckle_noise"], n=6)
    np.save(root / "labels.npy", np.tile(np.array([0, 1, 2, 3, 4, 99]), 5).astype(np.int64))
    cfg = {"metrics": ["corruption"], "corruptions": {"names": ["speckle_noise"]}}
    with pytest.raises(ValidationError, match="unknown \\['speckle_noise'\\]"):
        EvaluateConfig(**cfg)  # not one of the 15 generated families
    cfg["corruptions"]["cifar_c_dir"] = str(root)
    EvaluateConfig(**cfg)  # one of CIFAR-10-C's 4 extra files
    torch.manual_seed(0)
    encoder = build_encoder("small_cnn", 3, (0.5,) * 3, (0.25,) * 3, width=4)
    model = Classifier(encoder, LinearClassifier(encoder.feature_dim, 10)).eval()
    x, y = torch.rand(2, 3, 32, 32), torch.arange(2)
    cfg |= {"progress": False, "diagnostics": {"enabled": False}}
    with pytest.raises(ValueError, match="labels go up to 99 but the model predicts 10"):
        evaluate(model, x, y, cfg)
