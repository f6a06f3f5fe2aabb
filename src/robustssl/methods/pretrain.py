"""``pretrain(config)``: build data, encoder, method and Lightning trainer from a PretrainConfig,
train (or resume), and write the run directory."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.loggers import CSVLogger

from robustssl.data import DATASETS, ImageDataset, MixedImageSizesError, load_dataset
from robustssl.methods.checkpointing import AtomicEpochCheckpoint, check_resume_checkpoint
from robustssl.methods.config import PretrainConfig
from robustssl.methods.init_from import init_weights_path, load_init_encoder
from robustssl.methods.module import NonFiniteLossError, PretrainModule
from robustssl.methods.monitor import KNNProbeMonitor
from robustssl.methods.overfitting_check import OverfittingCallback, check_eps_source
from robustssl.methods.registry import METHODS, build_method
from robustssl.models import EncoderSpec, build_encoder, describe_encoder, save_encoder
from robustssl.runs import RunDir, smoke
from robustssl.training import InterruptCapture, build_trainer, fit, launched_rank, training_device
from robustssl.training.clock import TrainClock
from robustssl.training.data_module import ShardedData
from robustssl.utils import seed_everything
from robustssl.utils.allocator import keep_freed_memory_in_heap
from robustssl.utils.checkpoint import save_weights
from robustssl.utils.loggers import build_logger, check_logger, finish_wandb, flat_hparams


@dataclass
class PretrainResult:
    """The run directory, its final metrics and its training seconds (summed over resumed
    segments); ``already_complete`` when a resume found the run finished and changed nothing."""

    run_dir: Path
    metrics: dict[str, float]
    seconds: float
    already_complete: bool = False


def completed_run(run: RunDir, cfg: PretrainConfig) -> PretrainResult | None:
    """The result of a run that already finished with this config (checked first, as any
    resume is), read back from its ``summary.json``; None when it is not complete."""
    if run.state() != "complete":
        return None
    run.check_resumable(cfg.model_dump(mode="json"))  # a changed config is still refused
    summary = run.read_summary()
    metrics, seconds = summary.get("metrics", {}), float(summary.get("train_seconds", 0.0))
    return PretrainResult(run.path, metrics, seconds, already_complete=True)


def load_data(cfg: PretrainConfig, device: torch.device) -> tuple[ImageDataset, ImageDataset]:
    """(training data, monitor evaluation data) with label fraction and val split applied."""
    d = cfg.data
    common: dict[str, Any] = dict(
        root=d.root,
        download=d.download,
        device=device,
        in_memory=d.in_memory,
        num_workers=d.num_workers,
    )
    try:
        train = load_dataset(d.dataset, split=d.split, **common)
        if d.val_fraction > 0:
            train, evaluation = train.train_val_split(d.val_fraction, seed=cfg.seed)
        else:
            evaluation = load_dataset(d.dataset, split=d.eval_split, **common)
    except MixedImageSizesError as err:  # pretraining has no data.image_size to suggest
        h, w = err.first
        raise ValueError(
            f"image {err.path} is {err.size[0]}x{err.size[1]} (HxW) but the first image is "
            f"{h}x{w}; pretraining reads images at their stored size, so resize the folder's "
            f"images to one size first (e.g. `mogrify -resize {w}x{h}! <folder>/*/*/*.png`)"
        ) from None
    if d.label_fraction < 1:
        train = train.label_fraction(d.label_fraction, seed=cfg.seed)
    if cfg.smoke:  # the smoke preset's subsets (robustssl.runs.smoke)
        train = smoke.subset(train, smoke.TRAIN_SAMPLES, cfg.seed)
        evaluation = smoke.subset(evaluation, smoke.EVAL_SAMPLES, cfg.seed)
    return train, evaluation


def build_module(cfg: PretrainConfig, num_classes: int | None, in_channels: int) -> PretrainModule:
    info = DATASETS[cfg.data.dataset]
    if len(info.mean) != in_channels:
        raise ValueError(
            f"{cfg.data.dataset}: {len(info.mean)} mean/std values for {in_channels} channels"
        )
    mean, std = info.mean, info.std
    encoder = build_encoder(cfg.model.backbone, in_channels, mean, std, **cfg.model.backbone_kwargs)
    if cfg.model.init_from is not None:
        load_init_encoder(encoder, cfg.model.init_from, cfg.model.backbone)
    method = build_method(cfg.method, encoder, num_classes)
    if cfg.model.channels_last:
        method = method.to(memory_format=torch.channels_last)
    return PretrainModule(
        method,
        cfg.optim,
        num_classes,
        cfg.seed,
        cfg.data.batch_size,
        online_probe=cfg.monitor.online_probe,
        probe_lr=cfg.monitor.probe_lr,
    )


def _sync_batchnorm(cfg: PretrainConfig, device: torch.device) -> bool:
    if cfg.model.sync_batchnorm and device.type != "cuda":
        warnings.warn(
            "model.sync_batchnorm needs CUDA (torch's SyncBatchNorm); using per-process "
            "BatchNorm on the CPU",
            stacklevel=2,
        )
        return False
    return cfg.model.sync_batchnorm


def _trainer(
    cfg: PretrainConfig, run: RunDir, callbacks: Sequence[L.Callback], device: torch.device
) -> L.Trainer:
    """The shared Trainer (:func:`robustssl.training.build_trainer`) with pretraining's epochs,
    time limit, loggers (always CSV: it becomes the run's metrics.csv) and epoch checkpoint."""
    t = cfg.trainer
    loggers = [CSVLogger(run.path, name="csv")]
    if t.logger != "csv":
        loggers.append(build_logger(t.logger, run.path, cfg.name))
    for logger in loggers:
        logger.log_hyperparams(flat_hparams(cfg.model_dump(mode="json")))
    return build_trainer(
        t,
        device,
        root=run.path,
        max_epochs=t.max_epochs,
        # the monitor runs before the checkpoint, so the checkpoint holds its metrics
        callbacks=[*callbacks, AtomicEpochCheckpoint(run.last_checkpoint)],
        loggers=loggers,
        show_progress=t.progress_bar,
        max_time_minutes=t.max_time_minutes,
        sync_batchnorm=_sync_batchnorm(cfg, device),
    )


def encoder_spec(cfg: PretrainConfig, encoder: Any, train: ImageDataset) -> EncoderSpec:
    """What ``encoder.safetensors`` says about its encoder (robustssl.models.load_encoder rebuilds
    it from that alone): architecture, normalisation, the input size the views gave it (the
    data's own size when the views keep it), dataset and method."""
    size = getattr(getattr(cfg.method, "views", None), "size", None)
    input_size = (size, size) if size else tuple(train.image_shape[1:])
    return describe_encoder(
        encoder,
        cfg.model.backbone,
        cfg.model.backbone_kwargs,
        input_size=input_size,
        dataset=cfg.data.dataset,
        method=cfg.method.name,
    )


def pretrain(
    cfg: PretrainConfig, resume: bool = False, extra_callbacks: Sequence[L.Callback] = ()
) -> PretrainResult:
    """Train ``cfg`` into ``<output_dir>/<name>``; ``resume`` continues from its last checkpoint
    (on a run that is already complete it is a no-op: nothing is trained or written). The run
    directory is locked while this runs: a second process on it is refused."""
    run = RunDir(Path(cfg.output_dir) / cfg.name, "pretrain")
    if resume and (done := completed_run(run, cfg)) is not None:
        return done
    device = training_device(cfg.trainer)
    check_logger(cfg.trainer.logger, "pretraining")  # a missing package: before any compute
    if device.type == "cpu":
        keep_freed_memory_in_heap()
    train, evaluation = load_data(cfg, device)  # fails on missing data before the run dir is made
    if cfg.model.init_from is not None:
        init_weights_path(cfg.model.init_from)  # likewise for missing init weights
    METHODS[cfg.method.name].check_ready(cfg.method, train)  # e.g. AdvCL's ClusterFit source
    # Of the DDP ranks started by torchrun / srun / Lightning, rank 0 owns (locks, creates) the
    # run directory; the others neither lock nor create it.
    owner = launched_rank() == 0
    with run.lock() if owner else nullcontext():
        return _pretrain_locked(
            cfg,
            run,
            resume,
            train=train,
            evaluation=evaluation,
            device=device,
            extra_callbacks=extra_callbacks,
            owner=owner,
        )


def _pretrain_locked(
    cfg: PretrainConfig,
    run: RunDir,
    resume: bool,
    train: ImageDataset,
    evaluation: ImageDataset,
    device: torch.device,
    extra_callbacks: Sequence[L.Callback],
    owner: bool = True,
) -> PretrainResult:
    if owner:
        run.prepare(cfg.model_dump(mode="json"), resume)
    seed_everything(cfg.seed)
    num_classes = train.num_classes
    module = build_module(cfg, num_classes, train.image_shape[0])
    checkpoint = run.resume_checkpoint() if resume else None
    if checkpoint is not None:
        check_resume_checkpoint(checkpoint, module)  # before any compute
    fit_data = module.method.prepare_data(train, run.path)  # e.g. AdvCL's pseudo-labels
    monitor = None
    if num_classes and (cfg.monitor.knn or cfg.monitor.online_probe):
        bank = (
            train
            if cfg.monitor.max_bank_size is None or len(train) <= cfg.monitor.max_bank_size
            else train.label_fraction(cfg.monitor.max_bank_size / len(train), seed=cfg.seed)
        )
        monitor = KNNProbeMonitor(
            bank,
            evaluation,
            num_classes,
            k=cfg.monitor.knn_k,
            temperature=cfg.monitor.knn_temperature,
            every_n_epochs=cfg.monitor.every_n_epochs,
            knn=cfg.monitor.knn,
        )
    checks: list[L.Callback] = []
    if (co := cfg.monitor.catastrophic_overfitting) is not None and num_classes:
        eps, norm = check_eps_source(co, cfg.method)
        checks.append(OverfittingCallback(co, evaluation, eps, norm))
    capture = InterruptCapture()
    clock = TrainClock()  # before the checkpoint callback, so each checkpoint holds its time
    callbacks = [clock, *([monitor] if monitor else []), *checks, *extra_callbacks, capture]
    trainer = _trainer(cfg, run, callbacks, device)
    try:
        fit(
            trainer,
            capture,
            model=module,
            datamodule=ShardedData(fit_data, cfg.data.batch_size, cfg.seed),
            ckpt_path=checkpoint,
            weights_only=True,
        )
    except NonFiniteLossError as err:
        run.write_summary({"status": "failed", "error": str(err), "epoch": trainer.current_epoch})
        raise
    finally:
        finish_wandb(trainer.loggers)  # a study's next stage gets a wandb run of its own
    seconds = clock.seconds
    metrics = dict(monitor.last) if monitor is not None else {}
    metrics["epochs"] = trainer.current_epoch
    if trainer.is_global_zero:
        meta = {"config": cfg.model_dump(mode="json"), "metrics": metrics}
        encoder = module.method.export_encoder()
        save_encoder(encoder, encoder_spec(cfg, encoder, train), run.encoder_weights, meta)
        save_weights(module, run.method_weights, meta)
        run.merge_metrics()
        summary = {
            "status": "complete",
            "metrics": metrics,
            "train_seconds": seconds,
            "train_cpu_seconds": clock.cpu_seconds,
        }
        run.write_summary({**summary, **({"smoke": True} if cfg.smoke else {})})
    return PretrainResult(run.path, metrics, seconds)
