"""End-to-end pretraining runs on a tiny IDX dataset: files, determinism, resume, errors."""

from __future__ import annotations

import json
import time
from pathlib import Path

import lightning as L
import pytest
import torch
import yaml

from robustssl.methods import NonFiniteLossError, PretrainConfig, pretrain
from robustssl.methods.registry import METHODS
from robustssl.utils.checkpoint import load_weights, load_weights_metadata
from robustssl.utils.config import ConfigError, load_config

CONFIGS = Path(__file__).parents[2] / "configs"


def _config(root: Path, out: Path, name: str = "run", **method: object) -> PretrainConfig:
    raw = {
        "name": name,
        "seed": 3,
        "output_dir": str(out),
        "data": {"dataset": "fashion_mnist", "root": str(root), "batch_size": 32},
        "model": {"backbone": "small_cnn", "backbone_kwargs": {"width": 8}},
        "method": {"name": "simclr", "projection": {"hidden_dim": 32, "out_dim": 16}, **method},
        "optim": {"name": "adam", "lr": 0.01, "warmup_epochs": 0.5},
        "trainer": {"max_epochs": 2, "progress_bar": False, "accelerator": "cpu"},
    }
    return PretrainConfig.model_validate(raw)


def test_run_writes_complete_run_directory(tiny_fmnist: Path, tmp_path: Path) -> None:
    result = pretrain(_config(tiny_fmnist, tmp_path / "runs"))
    run = result.run_dir
    for name in (
        "config.json",
        "config.yaml",
        "encoder.safetensors",
        "method.safetensors",
        "summary.json",
        "metrics.csv",
        "checkpoints/last.ckpt",
    ):
        assert (run / name).is_file(), name
    assert any((run / "tensorboard").iterdir())
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "complete" and summary["metrics"]["epochs"] == 2
    assert 0.0 <= result.metrics["knn_top1"] <= 1.0 and 0.0 <= result.metrics["probe_top1"] <= 1.0
    weights = load_weights(run / "encoder.safetensors")
    assert all(k.startswith(("normalize.", "backbone.")) for k in weights)
    assert load_weights_metadata(run / "encoder.safetensors")["config"]["seed"] == 3
    header = (run / "metrics.csv").read_text().splitlines()[0]
    assert "train/loss_epoch" in header and "knn_top1" in header


def test_same_seed_same_weights(tiny_fmnist: Path, tmp_path: Path) -> None:
    a = pretrain(_config(tiny_fmnist, tmp_path / "a"))
    b = pretrain(_config(tiny_fmnist, tmp_path / "b"))
    wa, wb = (
        load_weights(a.run_dir / "method.safetensors"),
        load_weights(b.run_dir / "method.safetensors"),
    )
    assert wa.keys() == wb.keys()
    assert all(torch.equal(wa[k], wb[k]) for k in wa)


class _Crash(L.Callback):
    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.current_epoch == 1:
            raise RuntimeError("simulated kill")


def test_resume_reaches_the_uninterrupted_weights(tiny_fmnist: Path, tmp_path: Path) -> None:
    full = pretrain(_config(tiny_fmnist, tmp_path / "full"))
    cfg = _config(tiny_fmnist, tmp_path / "killed")
    with pytest.raises(RuntimeError, match="simulated kill"):
        pretrain(cfg, extra_callbacks=[_Crash()])
    assert (tmp_path / "killed" / "run" / "checkpoints" / "last.ckpt").is_file()
    with pytest.raises(ValueError, match="--resume"):
        pretrain(cfg)  # never clobbers an existing run
    resumed = pretrain(cfg, resume=True)
    wf = load_weights(full.run_dir / "method.safetensors")
    wr = load_weights(resumed.run_dir / "method.safetensors")
    assert all(torch.allclose(wf[k], wr[k], atol=1e-6) for k in wf)


def test_resume_rejects_a_changed_config(tiny_fmnist: Path, tmp_path: Path) -> None:
    pretrain(_config(tiny_fmnist, tmp_path / "runs"))
    changed = _config(tiny_fmnist, tmp_path / "runs", temperature=0.2)
    with pytest.raises(ValueError, match="differs"):
        pretrain(changed, resume=True)


def test_nan_loss_stops_with_clear_error(tiny_fmnist: Path, tmp_path: Path, monkeypatch) -> None:
    from robustssl.methods import simclr

    monkeypatch.setattr(simclr, "multiview_ntxent_loss", lambda z, t: z[0].sum() * float("nan"))
    with pytest.raises(NonFiniteLossError, match="last good checkpoint"):
        pretrain(_config(tiny_fmnist, tmp_path / "runs"))
    summary = json.loads((tmp_path / "runs" / "run" / "summary.json").read_text())
    assert summary["status"] == "failed"


# methods that start from another run: (the upstream config, the key naming its run directory)
UPSTREAM = {"deacl": ("simclr", "method.teacher"), "dynacl_pp": ("dynacl", "method.encoder")}


def _tiny_shipped(name: str, root: Path, out: Path, extra: list[str]) -> PretrainConfig:
    return load_config(
        CONFIGS / "fashion_mnist" / f"{name}.yaml",
        PretrainConfig,
        [
            f"output_dir={out}",
            f"data.root={root}",
            "data.batch_size=40",
            "trainer.max_epochs=1",
            "trainer.progress_bar=false",
            "model.backbone_kwargs.width=8",
            *extra,
        ],
    )


@pytest.mark.parametrize("name", sorted(METHODS))
def test_every_method_trains_one_epoch(name: str, tiny_fmnist: Path, tmp_path: Path) -> None:
    extra = ["method.clusterfit=null"] if name == "advcl" else []  # tested in test_advcl.py
    if name in UPSTREAM:
        source, key = UPSTREAM[name]
        run = pretrain(_tiny_shipped(source, tiny_fmnist, tmp_path / "upstream", [])).run_dir
        extra.append(f"{key}={run}")
    result = pretrain(_tiny_shipped(name, tiny_fmnist, tmp_path, extra))
    assert result.metrics["epochs"] == 1
    assert 0.0 <= result.metrics["knn_top1"] <= 1.0


def test_config_errors_name_the_key() -> None:
    with pytest.raises(ConfigError, match=r"optim.lr: Input should be greater than 0"):
        load_config(None, PretrainConfig, ["optim.lr=-1"])
    with pytest.raises(
        ConfigError, match=r"data.batchsize: unknown key; allowed keys here: .*batch_size"
    ):
        load_config(None, PretrainConfig, ["data.batchsize=3"])
    with pytest.raises(ConfigError, match=r"method.simclr.temprature: unknown key.*temperature"):
        load_config(None, PretrainConfig, ["method.temprature=0.1"])
    with pytest.raises(ConfigError, match=r"'simclr'.*'supervised'"):
        load_config(None, PretrainConfig, ["method.name=byol"])
    with pytest.raises(ConfigError, match="key=value"):
        load_config(None, PretrainConfig, ["optim.lr"])


def test_ddp_two_cpu_processes(tiny_fmnist: Path, tmp_path: Path) -> None:
    """Lightning DDP (spawn, gloo) on 2 CPU processes: each rank trains on its own shard."""
    cfg = _config(tiny_fmnist, tmp_path / "runs").model_copy(deep=True)
    cfg.trainer.devices = 2
    cfg.trainer.strategy = "ddp_spawn"
    cfg.trainer.max_epochs = 1
    cfg.model.sync_batchnorm = True  # needs CUDA: falls back to plain BN with a warning
    with pytest.warns(UserWarning, match="sync_batchnorm needs CUDA"):
        result = pretrain(cfg)
    summary = json.loads((result.run_dir / "summary.json").read_text())
    assert summary["status"] == "complete"
    weights = load_weights(result.run_dir / "method.safetensors")
    assert all(torch.isfinite(v).all() for v in weights.values())


class _CrashMidEpoch(L.Callback):
    """Makes the first epoch last at least 2 s, then kills the run after some steps of its
    second epoch were logged."""

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        if trainer.current_epoch == 0:
            time.sleep(2.0)

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if trainer.current_epoch == 1 and batch_idx == 2:
            raise RuntimeError("simulated kill")


def _clock_seconds(checkpoint: Path, key: str = "seconds") -> float:
    state = torch.load(checkpoint, weights_only=False)["callbacks"]
    return next(v for k, v in state.items() if "TrainClock" in k)[key]


def _segment_seconds(run: Path) -> float:
    return json.loads((run / "summary.json").read_text())["train_seconds"]


def test_resume_of_a_complete_run_changes_nothing(
    tiny_fmnist: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from robustssl.cli import main

    cfg = _config(tiny_fmnist, tmp_path / "runs")
    first = pretrain(cfg)
    run = first.run_dir
    files = ("summary.json", "metrics.csv", "encoder.safetensors", "method.safetensors")
    before = {name: (run / name).read_bytes() for name in files}
    again = pretrain(cfg, resume=True)
    assert {name: (run / name).read_bytes() for name in files} == before  # byte-identical
    assert again.already_complete and again.metrics == first.metrics
    assert "knn_top1" in again.metrics and again.seconds == pytest.approx(first.seconds)
    assert (
        load_weights_metadata(run / "encoder.safetensors")["metrics"]["knn_top1"]
        == (first.metrics["knn_top1"])
    )
    assert sorted(p.name for p in (run / "csv").iterdir()) == ["version_0"]  # no new segment
    cfg_file = tmp_path / "pretrain.yaml"
    cfg_file.write_text(yaml.safe_dump(cfg.model_dump(mode="json")))
    assert main(["pretrain", "--config", str(cfg_file), "--resume"]) == 0
    assert "already complete" in capsys.readouterr().out
    assert {name: (run / name).read_bytes() for name in files} == before
    with pytest.raises(ValueError, match="differs"):  # a changed config is still refused
        pretrain(_config(tiny_fmnist, tmp_path / "runs", temperature=0.3), resume=True)


def test_resume_keeps_cumulative_seconds_and_no_duplicate_steps(
    tiny_fmnist: Path, tmp_path: Path
) -> None:
    import csv

    cfg = _config(tiny_fmnist, tmp_path / "runs")
    cfg.trainer.log_every_n_steps = 1
    with pytest.raises(RuntimeError, match="simulated kill"):
        pretrain(cfg, extra_callbacks=[_CrashMidEpoch()])
    run = tmp_path / "runs" / "run"
    with (run / "csv" / "version_0" / "metrics.csv").open() as f:
        first = list(csv.DictReader(f))
    assert any(r["epoch"] == "1" and r.get("train/loss_step") for r in first)  # logged, then lost
    first_seconds = _clock_seconds(run / "checkpoints" / "last.ckpt")  # epoch 0, with the sleep
    first_cpu = _clock_seconds(run / "checkpoints" / "last.ckpt", "cpu_seconds")
    assert first_seconds >= 2.0
    start = time.perf_counter()
    resumed = pretrain(cfg, resume=True)
    wall = time.perf_counter() - start
    with (run / "metrics.csv").open() as f:
        rows = list(csv.DictReader(f))
    step_rows = [(r["epoch"], r["step"]) for r in rows if r.get("train/loss_step")]
    assert len(step_rows) == len(set(step_rows)) and len(step_rows) >= 4  # no step twice
    assert {r["epoch"] for r in rows} == {"0", "1"}
    # train_seconds sums the segments: the first one's epoch (from the checkpoint) + this one's
    assert _segment_seconds(run) == pytest.approx(resumed.seconds)
    assert first_seconds < resumed.seconds <= first_seconds + wall
    # CPU seconds also sum the segments; the first segment's 2 s sleep is wall time, not CPU
    summary = json.loads((run / "summary.json").read_text())
    assert 0 < first_cpu <= (first_seconds - 2.0) * torch.get_num_threads() + 0.5
    assert first_cpu < summary["train_cpu_seconds"]
