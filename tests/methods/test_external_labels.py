"""External ClusterFit pseudo-labels (``clusterfit.labels``): .npy / .safetensors / JSON, one
column per K, checked against the training set; AdvCL's pickle converted through the restricted
unpickler (lists and arrays only)."""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from adversarial_ssl import run_config
from robustssl.cli.main import main
from robustssl.data.errors import UnsafePickleError
from robustssl.methods import pretrain
from robustssl.methods.clusterfit import ClusterFitConfig
from robustssl.methods.external_labels import (
    convert_reference_pickle,
    load_external_labels,
    read_reference_pickle,
)
from robustssl.utils.checkpoint import load_weights, save_weights

KS = [2, 5]


def _labels(n: int = 120) -> np.ndarray:
    rng = np.random.default_rng(0)
    return np.stack([rng.integers(0, k, n) for k in KS], axis=1)


def _write(tmp_path: Path, kind: str, labels: np.ndarray) -> Path:
    path = tmp_path / f"labels.{kind}"
    if kind == "npy":
        np.save(path, labels)
    elif kind == "safetensors":
        save_weights({"labels": torch.from_numpy(labels)}, path, {"ks": KS})
    elif kind == "rows.json":
        path.write_text(json.dumps(labels.tolist()))
    else:
        path = tmp_path / "labels.json"
        path.write_text(json.dumps({str(k): labels[:, i].tolist() for i, k in enumerate(KS)}))
    return path


@pytest.mark.parametrize("kind", ["npy", "safetensors", "rows.json", "columns.json"])
def test_every_format_loads_one_column_per_k(tmp_path: Path, kind: str) -> None:
    labels = _labels()
    loaded = load_external_labels(_write(tmp_path, kind, labels), KS, samples=120)
    assert loaded.dtype == torch.int64 and torch.equal(loaded, torch.from_numpy(labels))


@pytest.mark.parametrize("kind", ["npy", "safetensors", "rows.json", "columns.json"])
def test_mismatched_length_is_refused(tmp_path: Path, kind: str) -> None:
    path = _write(tmp_path, kind, _labels(100))
    with pytest.raises(ValueError, match="100 rows of pseudo-labels but the training set has 120"):
        load_external_labels(path, KS, samples=120)


def test_bad_files_are_refused_with_the_fix(tmp_path: Path) -> None:
    labels = _labels()
    with pytest.raises(ValueError, match=r"expected \(N, 3\)"):
        load_external_labels(_write(tmp_path, "npy", labels), [2, 5, 10], 120)
    wrong = labels.copy()
    wrong[3, 0] = 2
    with pytest.raises(ValueError, match=r"column 0 \(K = 2\).*outside \[0, 1\]"):
        load_external_labels(_write(tmp_path, "npy", wrong), KS, 120)
    with pytest.raises(ValueError, match="integers"):
        load_external_labels(_write(tmp_path, "npy", labels.astype(float)), KS, 120)
    with pytest.raises(ValueError, match="ks=\\[2, 5\\]"):
        load_external_labels(_write(tmp_path, "safetensors", labels), [5, 2], 120)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_external_labels(tmp_path / "missing.npy", KS, 120)
    (tmp_path / "labels.csv").write_text("0,1\n")
    with pytest.raises(ValueError, match=r"unsupported file type \.csv"):
        load_external_labels(tmp_path / "labels.csv", KS, 120)
    pickled = tmp_path / "obj.npy"
    np.save(pickled, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match="not a plain numpy array"):
        load_external_labels(pickled, KS, 120)


def _reference_pickle(path: Path, n: int = 120) -> np.ndarray:
    labels = _labels(n)
    data = {
        "pseudo_train_2": labels[:, 0].astype(np.int32),  # an array
        "pseudo_train_5": [int(v) for v in labels[:, 1]],  # a list
        "pseudo_test_2": np.zeros(10, dtype=np.int64),
    }
    path.write_bytes(pickle.dumps(data))
    return labels


def test_reference_pickle_converts_and_loads(tmp_path: Path) -> None:
    labels = _reference_pickle(tmp_path / "ref.pkl")
    out = tmp_path / "ref.safetensors"
    converted = convert_reference_pickle(tmp_path / "ref.pkl", out, KS)
    assert torch.equal(converted, torch.from_numpy(labels))
    assert torch.equal(load_external_labels(out, KS, 120), converted)
    with pytest.raises(ValueError, match="no 'pseudo_train_10'"):
        read_reference_pickle(tmp_path / "ref.pkl", [2, 10])
    cli_out = tmp_path / "cli.safetensors"
    argv = ["pseudo-labels", "convert", str(tmp_path / "ref.pkl"), str(cli_out), "--ks", "2", "5"]
    assert main(argv) == 0
    assert torch.equal(load_weights(cli_out)["labels"], converted)
    assert main(argv) == 2  # never overwrites


class _Exploit:
    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (os.system, (f"touch {self.marker}",))

    marker = ""


def test_reference_pickle_reads_only_lists_and_arrays(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    _Exploit.marker = str(marker)
    (tmp_path / "evil.pkl").write_bytes(pickle.dumps({"pseudo_train_2": _Exploit()}))
    with pytest.raises(UnsafePickleError, match="disallowed pickle global"):
        read_reference_pickle(tmp_path / "evil.pkl", [2])
    assert not marker.exists()  # nothing from the file was executed
    (tmp_path / "floats.pkl").write_bytes(pickle.dumps({"pseudo_train_2": [0.5, 1.0]}))
    with pytest.raises(ValueError, match="only lists of ints and arrays"):
        read_reference_pickle(tmp_path / "floats.pkl", [2])
    (tmp_path / "tuple.pkl").write_bytes(pickle.dumps({"pseudo_train_2": (0, 1)}))
    with pytest.raises(ValueError, match="only lists of ints and arrays"):
        read_reference_pickle(tmp_path / "tuple.pkl", [2])


def test_config_needs_exactly_one_source() -> None:
    assert ClusterFitConfig(labels="l.npy").encoder is None
    for kwargs in ({}, {"encoder": "run", "labels": "l.npy"}):
        with pytest.raises(ValueError, match="exactly one source"):
            ClusterFitConfig(**kwargs)


def _advcl(labels: Path) -> dict:
    return {
        "name": "advcl",
        "radius": 7,
        "adversary": {"eps": 0.1, "steps": 1, "bn_mode": "train"},
        "clusterfit": {"labels": str(labels), "ks": KS},
    }


def test_pretrain_with_external_labels(tiny_fmnist: Path, tmp_path: Path) -> None:
    labels = _labels()
    path = _write(tmp_path, "npy", labels)
    result = pretrain(run_config(tiny_fmnist, tmp_path / "runs", _advcl(path), "advcl"))
    cached = load_weights(result.run_dir / "pseudo_labels.safetensors")["labels"]
    assert torch.equal(cached, torch.from_numpy(labels))
    (tmp_path / "short").mkdir()
    short = _write(tmp_path / "short", "npy", _labels(100))
    cfg = run_config(tiny_fmnist, tmp_path / "runs", _advcl(short), "short")
    with pytest.raises(ValueError, match="the training set has 120 samples"):
        pretrain(cfg)
    assert not (tmp_path / "runs" / "short").exists()  # refused before the run dir is made
