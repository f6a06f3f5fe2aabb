"""``finetune(cfg)``: encoder + data + protocol → a trained classifier in a run directory.

Everything that can be checked (config, pretraining run, weights, data, shapes) is checked before
the run directory is created and before any training compute. The run directory
``<output_dir>/<name>/`` holds ``config.json``/``config.yaml``, ``state/last.safetensors`` (resume
state, every epoch), ``metrics.csv`` (per epoch), ``classifier.safetensors`` (for
:func:`robustssl.models.load_classifier`; the kept epoch's classifier, see ``select``),
``summary.json`` and, with ``select`` ≠ last, ``state/best.safetensors``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch

from robustssl.finetune.adversary import build_attack
from robustssl.finetune.batches import FeatureSource, ImageSource, train_loader
from robustssl.finetune.config import FinetuneConfig
from robustssl.finetune.data import (
    FinetuneData,
    dataset_channels,
    load_finetune_data,
    target_channels,
    target_image_size,
)
from robustssl.finetune.features import compute_features
from robustssl.finetune.loop import BatchLoss, accuracy, cross_entropy_step, train_epoch
from robustssl.finetune.model import FinetuneModel, build_finetune_model
from robustssl.finetune.optim import lr_at_epoch, set_lr
from robustssl.finetune.pretrained import PretrainedEncoder, load_pretrained_encoder, random_encoder
from robustssl.finetune.records import read_result, write_metrics
from robustssl.finetune.selection import (
    SCORE,
    best_epoch,
    is_best,
    load_best,
    robust_accuracy,
    save_best,
    warn_if_test_selection,
)
from robustssl.finetune.state import load_state, read_state, save_state
from robustssl.finetune.trades import TradesLoss
from robustssl.models import save_classifier
from robustssl.runs import RunDir, smoke
from robustssl.utils import resolve_device, seed_everything
from robustssl.utils.allocator import keep_freed_memory_in_heap
from robustssl.utils.loggers import MetricsLogger, check_logger, open_logger
from robustssl.utils.optim import build_optimizer

EpochCallback = Callable[[int, dict[str, float]], None]


@dataclass
class FinetuneResult:
    run_dir: Path
    metrics: dict[str, float]
    seconds: float


@dataclass
class _Setup:
    source: PretrainedEncoder
    data: FinetuneData
    model: FinetuneModel
    features: dict[str, tuple[torch.Tensor, torch.Tensor]] = field(default_factory=dict)


def _setup(cfg: FinetuneConfig, device: torch.device) -> _Setup:
    """Encoder, data and classifier, all checked; no training compute yet."""
    if cfg.pretrained is not None:
        source = load_pretrained_encoder(cfg.pretrained, device)
        channels = target_channels(cfg.data, source)
    else:
        assert cfg.model is not None  # checked by FinetuneConfig
        channels = dataset_channels(cfg.data)
        seed_everything(cfg.seed)  # the random encoder's weights
        source = random_encoder(
            cfg.model.backbone, cfg.model.backbone_kwargs, cfg.data.dataset, channels, device
        )
    size = target_image_size(cfg.data, source)
    data = load_finetune_data(cfg.data, size, channels, cfg.seed, device)
    if cfg.smoke:  # the smoke preset's subsets (robustssl.runs.smoke)
        data = replace(
            data,
            train=smoke.subset(data.train, smoke.TRAIN_SAMPLES, cfg.seed),
            test=smoke.subset(data.test, smoke.EVAL_SAMPLES, cfg.seed),
        )
    model = build_finetune_model(cfg, source, data.num_classes, device)
    _check_forward(model, data)
    return _Setup(source, data, model)


def _check_forward(model: FinetuneModel, data: FinetuneData) -> None:
    """Two images through the classifier (eval mode): shape problems surface before training."""
    x, _ = data.train.get_batch(torch.arange(min(2, len(data.train))))
    try:
        with torch.no_grad():
            was = model.trainable.training
            model.trainable.eval()
            logits = model.classifier(x)
            model.trainable.train(was)
    except (ValueError, RuntimeError) as err:
        raise ValueError(
            f"{data.train.name} images of shape {tuple(x.shape[1:])} do not fit the encoder "
            f"({err}); set data.image_size=<size the encoder needs>"
        ) from None
    assert logits.shape[1] == data.num_classes


def _source(cfg: FinetuneConfig, s: _Setup) -> FeatureSource | ImageSource:
    if cfg.use_cache():
        return FeatureSource.build(
            s.model.classifier.encoder,
            s.data.train,
            cfg.data.batch_size,
            cfg.data.eval_batch_size,
            cfg.seed,
            cfg.progress_bar,
        )
    attack = build_attack(s.model.trainable, cfg.adversary, cfg.loss) if cfg.adversary else None
    loader = train_loader(s.data.train, cfg.data.batch_size, cfg.seed)
    trades = cfg.loss.name == "trades"
    return ImageSource(loader, cfg.augmentation, attack, cfg.seed, keep_natural=trades)


def _loss_fn(cfg: FinetuneConfig) -> BatchLoss:
    return TradesLoss(cfg.loss.beta) if cfg.loss.name == "trades" else cross_entropy_step


def _clean_accuracy(cfg: FinetuneConfig, s: _Setup, split: str) -> float:
    """Top-1 on the validation or evaluation split; with cached SLF, through the frozen encoder's
    features (computed once per split) and the head."""
    dataset = s.data.val if split == "val" else s.data.test
    assert dataset is not None
    if not cfg.use_cache():
        return accuracy(s.model.trainable, dataset.loader(cfg.data.eval_batch_size))
    if split not in s.features:
        encoder = s.model.classifier.encoder
        s.features[split] = compute_features(encoder, dataset, cfg.data.eval_batch_size, False)
    feats, labels = s.features[split]
    size = cfg.data.eval_batch_size
    batches = zip(feats.split(size), labels.split(size), strict=True)
    return accuracy(s.model.classifier.head, batches)


def _metadata(cfg: FinetuneConfig, s: _Setup, metrics: dict[str, Any]) -> dict[str, Any]:
    """Header of ``classifier.safetensors``: the resolved config (image size and channels as
    used), where the encoder came from, the input shape and the final metrics."""
    dump = cfg.model_dump(mode="json")
    c, h, w = s.data.image_shape
    dump["data"].update(image_size=h if h == w else [h, w], channels=c)
    return {
        "finetune": dump,
        "pretrained": s.source.describe(),
        "input_shape": [c, h, w],
        "metrics": metrics,
        "smoke": is_smoke_run(cfg, s),
    }


def is_smoke_run(cfg: FinetuneConfig, s: _Setup) -> bool:
    """A smoke run: ``--smoke`` here, or the encoder comes from a smoke pretraining run."""
    return smoke.is_smoke(cfg, s.source.config)


def finetune(
    cfg: FinetuneConfig, resume: bool = False, callbacks: Sequence[EpochCallback] = ()
) -> FinetuneResult:
    """Train ``cfg`` into ``<output_dir>/<name>``; ``resume`` continues from the last finished
    epoch. ``callbacks(epoch, row)`` run after each epoch's state is saved. The run directory
    is locked while this runs: a second process on it is refused."""
    run = RunDir(Path(cfg.output_dir) / cfg.name, "finetune")
    with run.lock():
        return _finetune_locked(cfg, run, resume, callbacks)


def _finetune_locked(
    cfg: FinetuneConfig, run: RunDir, resume: bool, callbacks: Sequence[EpochCallback]
) -> FinetuneResult:
    if resume:
        run.check_resumable(cfg.model_dump(mode="json"))
        if (done := read_result(run.path, complete_only=True)) is not None:
            return FinetuneResult(*done)  # already finished: nothing to recompute
        if run.finetune_state.is_file():
            read_state(run.finetune_state)  # a damaged state is an error before any compute
    warn_if_test_selection(cfg.select)
    check_logger(cfg.logger, "finetuning")  # a missing package: before any compute
    device = resolve_device(cfg.device)
    if device.type == "cpu":
        keep_freed_memory_in_heap()
    s = _setup(cfg, device)
    if not resume:
        run.create(cfg.model_dump(mode="json"))  # only now, after every check
    logger = open_logger(cfg.logger, run.path, cfg.name, "finetuning")
    if logger is not None:
        logger.log_hyperparams(cfg.model_dump(mode="json"))
        callbacks = [*callbacks, _log_epoch(logger)]
    try:
        progress = _train(cfg, s, run, resume, callbacks)
    except FloatingPointError as err:
        run.write_summary({"status": "failed", "error": str(err)})
        if logger is not None:
            logger.close("failed")
        raise
    metrics = _final_metrics(cfg, s, _selected_row(cfg, s, run, progress["rows"]))
    if logger is not None:
        logger.log_metrics({f"final/{k}": v for k, v in metrics.items()}, progress["epoch"])
        logger.close()
    save_classifier(s.model.classifier, s.model.spec, run.classifier, _metadata(cfg, s, metrics))
    summary = {"status": "complete", "clean_accuracy": metrics["clean_accuracy"]}
    if is_smoke_run(cfg, s):
        summary["smoke"] = True
    summary["select"] = {"rule": cfg.select.rule, "epoch": metrics.get("selected_epoch")}
    run.write_summary({**summary, "train_seconds": progress["seconds"], "metrics": metrics})
    return FinetuneResult(run.path, metrics, progress["seconds"])


def _log_epoch(logger: MetricsLogger) -> EpochCallback:
    """Each finished epoch's row (loss, accuracies, lr) to ``logger``, at step = epoch."""

    def log(epoch: int, row: dict[str, float]) -> None:
        logger.log_metrics({k: v for k, v in row.items() if k != "epoch"}, epoch + 1)

    return log


def _train(
    cfg: FinetuneConfig,
    s: _Setup,
    run: RunDir,
    resume: bool,
    callbacks: Sequence[EpochCallback],
) -> dict[str, Any]:
    """The epochs still to do; state and metrics.csv are written after each one."""
    optimizer = build_optimizer(s.model.trainable, cfg.optim.optimizer())
    state_path = run.finetune_state
    progress: dict[str, Any] = {"epoch": 0, "rows": [], "seconds": 0.0}
    if resume and state_path.is_file():
        progress = load_state(state_path, s.model.classifier, optimizer)
    start = time.perf_counter()
    source = _source(cfg, s)
    step_model = s.model.classifier.head if cfg.use_cache() else s.model.trainable
    for epoch in range(progress["epoch"], cfg.optim.epochs):
        set_lr(optimizer, lr_at_epoch(cfg.optim, epoch))
        stats = train_epoch(
            step_model,
            source.epoch(epoch),
            optimizer,
            source.prepare(epoch),
            loss_fn=_loss_fn(cfg),
            total=len(source.loader),
            desc=f"{cfg.protocol} epoch {epoch + 1}/{cfg.optim.epochs}",
            progress=cfg.progress_bar,
        )
        row = {"epoch": epoch + 1, "lr": optimizer.param_groups[0]["lr"]}
        row.update(train_loss=stats.loss, train_accuracy=stats.accuracy)
        if s.data.val is not None:
            row["val_accuracy"] = _clean_accuracy(cfg, s, "val")
        if cfg.select.rule != "last":
            row[SCORE] = _select_score(cfg, s)
            if is_best(progress["rows"], row[SCORE]):
                save_best(s.model.classifier, run.path, epoch + 1)
        row["seconds"] = progress["seconds"] + time.perf_counter() - start
        start = time.perf_counter()
        progress = {"epoch": epoch + 1, "rows": [*progress["rows"], row], "seconds": row["seconds"]}
        save_state(state_path, s.model.classifier, optimizer, progress)
        write_metrics(run.metrics_csv, progress["rows"])
        for callback in callbacks:
            callback(epoch, row)
    return progress


def _select_score(cfg: FinetuneConfig, s: _Setup) -> float:
    """Robust accuracy on the split ``select`` ranks epochs by."""
    split = s.data.test if cfg.select.rule == "best_test" else s.data.val
    assert split is not None  # best_val needs data.val_fraction (checked by FinetuneConfig)
    model = s.model.classifier
    return robust_accuracy(model, split, cfg.select, cfg.seed, cfg.data.eval_batch_size)


def _selected_row(cfg: FinetuneConfig, s: _Setup, run: RunDir, rows: list) -> dict:
    """The metrics row of the kept epoch; with ``select`` ≠ last its weights are loaded back."""
    if cfg.select.rule == "last" or not rows:
        return rows[-1] if rows else {}
    epoch = best_epoch(rows)
    load_best(s.model.classifier, run.path)
    return {**rows[epoch - 1], "selected_epoch": epoch}


def _final_metrics(cfg: FinetuneConfig, s: _Setup, row: dict[str, Any]) -> dict[str, float]:
    metrics = {k: v for k, v in row.items() if k not in ("lr", "seconds")}
    metrics["clean_accuracy"] = _clean_accuracy(cfg, s, "test")
    metrics["train_samples"], metrics["test_samples"] = len(s.data.train), len(s.data.test)
    return metrics
