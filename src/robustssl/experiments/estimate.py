"""``--dry-run`` cost estimates from a short timing on this machine.

- Pretraining: a few real training steps (the method's own loss, views and adversary) of each
  distinct pretraining config on a synthetic batch of the dataset's shape, scaled to the run's
  samples × epochs (capped by ``trainer.max_time_minutes``).
- Finetuning and evaluation: one timed forward + backward (with the input gradient, as in an
  attack step) of the classifier per sample, times the number of such passes the stage makes
  (epochs × (attack steps + 1) for adversarial protocols; one feature pass for cached SLF; SA,
  PGD-k, the ε-curve, ... for evaluation). These two are rough, upper-end figures.

Nothing is read from or written to disk. Configs that ask for a GPU are not timed on a machine
without one.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from robustssl.data import get_info
from robustssl.experiments.plan import Plan, Stage, semantic
from robustssl.finetune.protocols import get_protocol
from robustssl.models import build_encoder

TIMED_BATCH = 32
TIMED_STEPS = 2
# Forward-backward passes per test point of the attacks not set by the config (AutoAttack
# standard on still-robust points: APGD-CE/DLR 100 steps, APGD-T and FAB-T 9 targets).
AA_PASSES = 500
APGD_PASSES = 100


@dataclass(frozen=True)
class Estimate:
    """Seconds (None: not timed, with the reason in ``note``)."""

    seconds: float | None
    note: str = ""


def _timed(fn: Callable[[], None], steps: int = TIMED_STEPS) -> float:
    fn()  # warm-up (allocations, oneDNN kernels)
    start = time.perf_counter()
    for _ in range(steps):
        fn()
    return (time.perf_counter() - start) / steps


def _needs_gpu(accelerator: str) -> bool:
    return accelerator in ("gpu", "cuda") and not torch.cuda.is_available()


def _train_size(data: dict[str, Any]) -> int | None:
    n = get_info(data["dataset"]).num_samples(data.get("split", "train"))
    if n is None:
        return None
    return int(n * data.get("label_fraction", 1.0) * (1 - data.get("val_fraction", 0.0)))


def pretrain_seconds_per_sample(config: dict[str, Any]) -> float:
    """Seconds per training sample of one pretraining config (synthetic batch, CPU/GPU)."""
    from robustssl.methods import PretrainConfig
    from robustssl.methods.pretrain import build_module

    cfg = PretrainConfig.model_validate(config)
    cfg = cfg.model_copy(update={"model": cfg.model.model_copy(update={"init_from": None})})
    info = get_info(cfg.data.dataset)
    assert info.image_shape is not None
    module = build_module(cfg, info.num_classes, info.image_shape[0])
    method = module.method
    batch = min(TIMED_BATCH, cfg.data.batch_size)
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(batch, *info.image_shape, generator=gen)
    y = torch.randint(0, info.num_classes or 2, (batch,), generator=gen)
    clusterfit = getattr(cfg.method, "clusterfit", None)
    if clusterfit is not None:  # AdvCL's pseudo-label columns
        cols = [torch.randint(0, k, (batch,), generator=gen) for k in clusterfit.ks]
        y = torch.stack([y, *cols], dim=1)
    optimizer = torch.optim.SGD(method.parameters(), lr=1e-6)
    method.train()

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        method.step(x, y, gen).loss.backward()
        optimizer.step()

    return _timed(step) / batch


def classifier_seconds_per_sample(model: dict[str, Any], dataset: str) -> float:
    """Seconds per sample of one forward + backward (weights and input) of encoder + head."""
    info = get_info(dataset)
    assert info.image_shape is not None
    encoder = build_encoder(
        model["backbone"], info.image_shape[0], info.mean, info.std, **model["backbone_kwargs"]
    )
    head = torch.nn.Linear(encoder.feature_dim, info.num_classes or 10)
    net = torch.nn.Sequential(encoder, head).eval()
    x = torch.rand(TIMED_BATCH, *info.image_shape, requires_grad=True)

    def step() -> None:
        net(x).sum().backward()

    return _timed(step) / TIMED_BATCH


def finetune_passes(config: dict[str, Any]) -> float:
    """Forward-backward passes over one training sample in a finetuning run."""
    epochs = config["optim"]["epochs"]
    protocol = get_protocol(config["protocol"])
    adversary = config.get("adversary")
    if adversary is not None:
        return epochs * (adversary["steps"] + 1)
    if protocol.encoder == "frozen":
        return 1.0  # features computed once (cached SLF)
    return float(epochs)


def evaluate_passes(config: dict[str, Any]) -> float:
    """Forward-backward passes per test point of one evaluation config (upper end)."""
    metrics = set(config["metrics"])
    pgd = config["attacks"]["pgd"]
    pgd_passes = pgd["steps"] * pgd["restarts"]
    passes = 1.0
    for threat in config["threats"].values():
        eps_list = threat.get("eps_list") or [0] * 7
        passes += pgd_passes * ("ra" in metrics) + AA_PASSES * ("aa" in metrics)
        passes += pgd_passes * len(eps_list) * ("curve" in metrics)
        passes += pgd_passes * (("classification" in metrics) + ("representation" in metrics))
        if "breakdown" in metrics:
            per = {"fgsm": 1, "pgd": pgd_passes, "aa": AA_PASSES}
            passes += sum(per.get(a, APGD_PASSES) for a in config["breakdown"])
    return passes


class Estimator:
    """Times each distinct config once and estimates every stage of a plan."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self._pretrain: dict[str, float] = {}
        self._classifier: dict[str, float] = {}

    def pretrain_model(self, stage: Stage) -> tuple[dict[str, Any], str]:
        """The encoder (model section) and dataset a stage's classifier has."""
        while stage.kind != "pretrain":
            stage = self.plan.get(stage.deps[0])
        return stage.config["model"], stage.config["data"]["dataset"]

    def per_sample(self, stage: Stage) -> float:
        model, dataset = self.pretrain_model(stage)
        key = repr((model["backbone"], sorted(model["backbone_kwargs"].items()), dataset))
        if key not in self._classifier:
            self._classifier[key] = classifier_seconds_per_sample(model, dataset)
        return self._classifier[key]

    def pretrain(self, stage: Stage) -> Estimate:
        cfg = stage.config
        if _needs_gpu(cfg["trainer"]["accelerator"]):
            return Estimate(None, "needs a GPU")
        n = _train_size(cfg["data"])
        if n is None:
            return Estimate(None, "dataset size unknown")
        key = repr(semantic("pretrain", {**cfg, "seed": 0}, {}))
        if key not in self._pretrain:
            self._pretrain[key] = pretrain_seconds_per_sample(cfg)
        seconds = self._pretrain[key] * n * cfg["trainer"]["max_epochs"]
        cap = cfg["trainer"].get("max_time_minutes")
        return Estimate(min(seconds, cap * 60) if cap else seconds)

    def finetune(self, stage: Stage) -> Estimate:
        n = _train_size(stage.config["data"])
        if n is None:
            return Estimate(None, "dataset size unknown")
        return Estimate(self.per_sample(stage) * n * finetune_passes(stage.config), "rough")

    def evaluate(self, stage: Stage) -> Estimate:
        data = stage.config["data"]
        dataset = data.get("dataset") or self.plan.get(stage.deps[0]).config["data"]["dataset"]
        size = get_info(dataset).num_samples(data.get("split", "test")) or 0
        n = min(data["n"], size) if data.get("n") else size
        return Estimate(self.per_sample(stage) * n * evaluate_passes(stage.config), "rough")

    def estimate(self, stage: Stage) -> Estimate:
        """The stage's estimate; a config that cannot be timed gives None with the reason."""
        try:
            return getattr(self, stage.kind)(stage)
        except Exception as err:  # an estimate must never stop a dry run
            return Estimate(None, f"not timed: {type(err).__name__}: {err}"[:120])


def format_seconds(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "?"
    if seconds < 60:
        return f"{seconds:.0f}s"
    if seconds < 3600:
        return f"{seconds // 60:.0f}m{seconds % 60:02.0f}s"
    return f"{seconds // 3600:.0f}h{seconds % 3600 // 60:02.0f}m"
