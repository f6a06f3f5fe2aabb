"""``finetune(cfg)``: encoder + data + protocol → a trained classifier in a run directory.

Everything that can be checked (config, pretraining run, weights, data, shapes) is checked before
the run directory is created and before any training compute. The run directory
``<output_dir>/<name>/`` holds ``config.json``/``config.yaml``, ``state/last.safetensors`` (resume
state, every epoch), ``metrics.csv`` (per epoch), ``classifier.safetensors`` (for
:func:`robustssl.models.load_classifier`; the kept epoch's classifier, see ``select``),
``summary.json`` and, with ``select`` ≠ last, ``state/best.safetensors``.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import lightning as L
import torch

from robustssl.data.loader import Batchable
from robustssl.finetune.batches import train_data
from robustssl.finetune.config import FinetuneConfig
from robustssl.finetune.data import (
    FinetuneData,
    dataset_channels,
    load_finetune_data,
    target_channels,
    target_image_size,
)
from robustssl.finetune.epochs import EpochCallback, FinetuneEpochs
from robustssl.finetune.features import FeatureDataset, compute_features
from robustssl.finetune.loop import accuracy
from robustssl.finetune.model import FinetuneModel, build_finetune_model
from robustssl.finetune.module import FinetuneModule
from robustssl.finetune.pretrained import PretrainedEncoder, load_pretrained_encoder, random_encoder
from robustssl.finetune.records import read_result
from robustssl.finetune.selection import (
    best_epoch,
    load_best,
    select_score,
    warn_if_test_selection,
)
from robustssl.finetune.state import check_state, read_progress
from robustssl.models import save_classifier
from robustssl.runs import RunDir, smoke
from robustssl.training import (
    InterruptCapture,
    build_trainer,
    fit,
    launched_rank,
    training_device,
)
from robustssl.training.state_io import SafetensorsCheckpointIO
from robustssl.utils import resolve_device, seed_everything
from robustssl.utils.allocator import keep_freed_memory_in_heap
from robustssl.utils.loggers import MetricsLogger, check_logger, open_logger

__all__ = ["EpochCallback", "FinetuneResult", "finetune"]


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


def _training_data(cfg: FinetuneConfig, s: _Setup) -> Batchable:
    """The train split as the steps see it: cached features (SLF fast path) or the images."""
    if cfg.use_cache():
        encoder = s.model.classifier.encoder
        return FeatureDataset.build(
            encoder, s.data.train, cfg.data.eval_batch_size, cfg.progress_bar
        )
    return s.data.train


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


def _device(cfg: FinetuneConfig) -> torch.device:
    """``device`` when set (e.g. cuda:1), else what ``trainer.accelerator`` asks for."""
    if cfg.device != "auto" or cfg.trainer.accelerator == "auto":
        return resolve_device(cfg.device)
    return training_device(cfg.trainer)


def finetune(
    cfg: FinetuneConfig,
    resume: bool = False,
    callbacks: Sequence[EpochCallback] = (),
    extra_callbacks: Sequence[L.Callback] = (),
) -> FinetuneResult:
    """Train ``cfg`` into ``<output_dir>/<name>``; ``resume`` continues from the last finished
    epoch. ``callbacks(epoch, row)`` run after each epoch's state is saved (on rank 0);
    ``extra_callbacks`` join the Lightning Trainer's. The run directory is locked while this
    runs: a second process on it is refused (of several DDP ranks, rank 0 holds the lock)."""
    run = RunDir(Path(cfg.output_dir) / cfg.name, "finetune")
    owner = launched_rank() == 0
    with run.lock() if owner else nullcontext():
        return _finetune_locked(cfg, run, resume, callbacks, extra_callbacks, owner=owner)


def _finetune_locked(
    cfg: FinetuneConfig,
    run: RunDir,
    resume: bool,
    callbacks: Sequence[EpochCallback],
    extra_callbacks: Sequence[L.Callback],
    owner: bool = True,
) -> FinetuneResult:
    if resume:
        run.check_resumable(cfg.model_dump(mode="json"))
        if (done := read_result(run.path, complete_only=True)) is not None:
            return FinetuneResult(*done)  # already finished: nothing to recompute
        if run.finetune_state.is_file():
            read_progress(run.finetune_state)  # a damaged state is an error before any compute
    warn_if_test_selection(cfg.select)
    check_logger(cfg.logger, "finetuning")  # a missing package: before any compute
    device = _device(cfg)
    if device.type == "cpu":
        keep_freed_memory_in_heap()
    s = _setup(cfg, device)
    state = run.finetune_state if resume and run.finetune_state.is_file() else None
    if state is not None:
        check_state(state, s.model.classifier)
    if not resume and owner:
        run.create(cfg.model_dump(mode="json"))  # only now, after every check
    logger = open_logger(cfg.logger, run.path, cfg.name, "finetuning") if owner else None
    if logger is not None:
        logger.log_hyperparams(cfg.model_dump(mode="json"))
        callbacks = [*callbacks, _LogEpoch(logger)]
    try:
        _train(cfg, s, run, state, device=device, callbacks=callbacks, extra=extra_callbacks)
    except FloatingPointError as err:
        if owner:
            run.write_summary({"status": "failed", "error": str(err)})
        if logger is not None:
            logger.close("failed")
        raise
    progress = read_progress(run.finetune_state)
    metrics = _final_metrics(cfg, s, _selected_row(cfg, s, run, progress["rows"]))
    seconds = float(progress["seconds"])
    if logger is not None:
        logger.log_metrics({f"final/{k}": v for k, v in metrics.items()}, progress["epoch"])
        logger.close()
    if owner:
        meta = _metadata(cfg, s, metrics)
        save_classifier(s.model.classifier, s.model.spec, run.classifier, meta)
        summary: dict[str, Any] = {
            "status": "complete",
            "clean_accuracy": metrics["clean_accuracy"],
        }
        if is_smoke_run(cfg, s):
            summary["smoke"] = True
        summary["select"] = {"rule": cfg.select.rule, "epoch": metrics.get("selected_epoch")}
        run.write_summary({**summary, "train_seconds": seconds, "metrics": metrics})
    return FinetuneResult(run.path, metrics, seconds)


@dataclass
class _Scores:
    """The epoch-end scores of the current classifier: "val" → clean validation accuracy,
    "select" → the ``select`` score (a class, not a closure: ddp_spawn pickles it)."""

    cfg: FinetuneConfig
    s: _Setup

    def __call__(self, what: str) -> float:
        if what == "val":
            return _clean_accuracy(self.cfg, self.s, "val")
        return _select_score(self.cfg, self.s)


class _LogEpoch:
    """Each finished epoch's row (loss, accuracies, lr) to ``logger``, at step = epoch."""

    def __init__(self, logger: MetricsLogger) -> None:
        self.logger = logger

    def __call__(self, epoch: int, row: dict[str, float]) -> None:
        self.logger.log_metrics({k: v for k, v in row.items() if k != "epoch"}, epoch + 1)


def _train(
    cfg: FinetuneConfig,
    s: _Setup,
    run: RunDir,
    state: Path | None,
    *,
    device: torch.device,
    callbacks: Sequence[EpochCallback],
    extra: Sequence[L.Callback],
) -> None:
    """The epochs still to do, on the shared Trainer (:func:`robustssl.training.build_trainer`,
    as pretraining's); the state and metrics.csv are written after each one."""
    epochs = FinetuneEpochs(
        run,
        _Scores(cfg, s),
        has_val=s.data.val is not None,
        select=cfg.select.rule != "last",
        callbacks=callbacks,
    )
    data = train_data(_training_data(cfg, s), cfg.data.batch_size, cfg.seed)
    module = FinetuneModule(s.model, cfg, cached=cfg.use_cache())
    capture = InterruptCapture()
    trainer = build_trainer(
        cfg.trainer,
        device,
        root=run.path,
        max_epochs=cfg.optim.epochs,
        callbacks=[epochs, *extra, capture],
        show_progress=cfg.progress_bar,
        plugins=[SafetensorsCheckpointIO()],
    )
    fit(trainer, capture, model=module, datamodule=data, ckpt_path=state)


def _select_score(cfg: FinetuneConfig, s: _Setup) -> float:
    """Robust accuracy on the split ``select`` ranks epochs by."""
    split = s.data.test if cfg.select.rule == "best_test" else s.data.val
    assert split is not None  # best_val needs data.val_fraction (checked by FinetuneConfig)
    model = s.model.classifier
    return select_score(model, split, cfg.select, cfg.seed, cfg.data.eval_batch_size)


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
