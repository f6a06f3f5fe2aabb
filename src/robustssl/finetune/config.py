"""Typed, validated finetuning configs (pydantic v2): a wrong key or value fails before any compute,
naming the key and the fix. Files: ``configs/<dataset>/finetune_<protocol>.yaml``.

Defaults follow AdvCL's standard linear finetuning (seed 001 §5; its public script: SGD lr 0.01,
momentum 0.9, weight decay 2e-4, 25 epochs, lr ÷10 at epochs 15 and 20, batch 512).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from robustssl.attacks import canonical_norm
from robustssl.attacks.adversary import AdversaryConfig
from robustssl.attacks.checks import check_eps
from robustssl.data.config import DataConfig
from robustssl.finetune.protocols import PROTOCOLS, get_protocol
from robustssl.models.config import ModelConfig
from robustssl.training.config import TrainerConfig
from robustssl.utils.config import StrictConfig, parse_fraction
from robustssl.utils.loggers import LoggerName
from robustssl.utils.optim import OptimConfig, check_milestones, reachable_milestones


class FinetuneDataConfig(DataConfig):
    """Target data (:class:`robustssl.data.config.DataConfig`, batches of 512) with an
    ``eval_batch_size``. ``image_size``/``channels`` ``None`` = what the encoder takes (the
    pretraining run's image size and channels), so cross-dataset runs resize and convert
    automatically."""

    batch_size: int = Field(512, gt=0)
    eval_batch_size: int = Field(1024, gt=0)
    image_size: int | tuple[int, int] | None = None
    channels: Literal[1, 3] | None = None

    @field_validator("image_size")
    @classmethod
    def _positive_size(cls, v: int | tuple[int, int] | None) -> int | tuple[int, int] | None:
        sizes = [] if v is None else [v] if isinstance(v, int) else list(v)
        if any(s < 1 for s in sizes):
            raise ValueError(f"image_size={v!r} must be positive, e.g. 32 or [32, 32]")
        return v


class HeadConfig(StrictConfig):
    """Linear readout (seed 000 §4.2, seed 001 eq. 3) or a 2-layer ReLU MLP (seed 004)."""

    name: Literal["linear", "mlp"] = "linear"
    hidden_dim: int = Field(512, gt=0)
    batch_norm: bool = False


class FinetuneOptimConfig(StrictConfig):
    """SGD or Adam; lr × ``gamma`` at each epoch in ``milestones`` (step schedule). Milestones at
    or past ``epochs`` are never reached: they are dropped with a warning
    (:func:`robustssl.utils.optim.reachable_milestones`), so ``optim.epochs=1`` just works."""

    name: Literal["sgd", "adam"] = "sgd"
    lr: float = Field(0.01, gt=0)
    momentum: float = Field(0.9, ge=0, lt=1)
    weight_decay: float = Field(2e-4, ge=0)
    epochs: int = Field(25, gt=0)
    milestones: list[int] = Field(default_factory=lambda: [15, 20])
    gamma: float = Field(0.1, gt=0, le=1)

    @model_validator(mode="after")
    def _milestones_in_range(self) -> FinetuneOptimConfig:
        check_milestones(self.milestones, "optim.milestones")
        reachable_milestones(self.milestones, self.epochs, "optim.milestones")  # warns
        return self

    def optimizer(self) -> OptimConfig:
        """This optimizer for :func:`robustssl.utils.optim.build_optimizer`: weight decay on every
        trainable tensor; the lr is set each epoch (``robustssl.finetune.optim.lr_at_epoch``)."""
        return OptimConfig(
            name=self.name,
            lr=self.lr,
            momentum=self.momentum,
            weight_decay=self.weight_decay,
            exclude_bias_and_norm=False,
        )


class AugmentationConfig(StrictConfig):
    """``crop_flip``: zero-pad by ``padding`` and crop back (a random translation) + horizontal
    flip, the usual CIFAR finetuning augmentation (seed 000 §4.1 for ALF; AdvCL's script)."""

    name: Literal["none", "crop_flip"] = "none"
    padding: int = Field(4, ge=0)
    hflip_p: float = Field(0.5, ge=0, le=1)


class LossConfig(StrictConfig):
    """The classifier's training loss. ``ce``: cross-entropy on the training batch (adversarial for
    ALF / AFF: Madry's adversarial training). ``trades``: TRADES (Zhang et al. 2019), ACL's AFF
    (``train_trades.py``): CE(f(x), y) + β·KL(p(x) ‖ p(x′)), x′ from PGD on that KL started at
    x + ``start_std``·N(0, 1) with the model in ``adversary.bn_mode`` (eval in ACL's code).
    ``loss: trades`` is short for ``loss: {name: trades}``."""

    name: Literal["ce", "trades"] = "ce"
    beta: float = Field(6.0, ge=0, allow_inf_nan=False)
    start_std: float = Field(0.001, ge=0, allow_inf_nan=False)

    @model_validator(mode="after")
    def _options_need_trades(self) -> LossConfig:
        defaults = {"beta": 6.0, "start_std": 0.001}  # dumps carry them, so compare values
        changed = [k for k, v in defaults.items() if getattr(self, k) != v]
        if self.name == "ce" and changed:
            raise ValueError(
                f"loss.{changed[0]} only applies to loss.name=trades; remove it or set loss=trades"
            )
        return self


class SelectionConfig(StrictConfig):
    """Which epoch's classifier the run keeps, saves and reports. ``last``: the final epoch.
    ``best_test``: the epoch with the highest robust accuracy on the evaluation split under PGD
    (``norm``, ``eps``, ``steps``, ``step_size``; random start, model in eval mode) on its first
    ``n`` images — what AdvCL's SLF script (finetuning_advCL_SLF.py: PGD-20, 8/255, 2/255, every
    epoch) reports. That selects on the test set, so its numbers are optimistic; the run warns.
    ``best_val``: the same on the validation split (``data.val_fraction`` > 0), as ACL's
    train_trades.py does. ``select: best_test`` is short for ``select: {rule: best_test}``."""

    rule: Literal["last", "best_test", "best_val"] = "last"
    norm: str = "Linf"
    eps: float = Field(8 / 255, gt=0, allow_inf_nan=False)
    steps: int = Field(20, gt=0)
    step_size: float | None = Field(2 / 255, gt=0, allow_inf_nan=False)
    n: int | None = Field(None, gt=0)

    _fractions = field_validator("eps", "step_size", mode="before")(parse_fraction)

    @field_validator("norm")
    @classmethod
    def _norm(cls, v: str) -> str:
        return canonical_norm(v)

    @model_validator(mode="after")
    def _sensible(self) -> SelectionConfig:
        check_eps(self.norm, self.eps, name="select.eps", config=True)
        return self


class FinetuneConfig(StrictConfig):
    """Everything one finetuning run needs; its JSON dump is saved in the run directory."""

    name: str = Field("finetune", pattern=r"^[A-Za-z0-9_.\-]+$")
    seed: int = 0
    output_dir: str = "runs"
    smoke: bool = False  # shrunk by --smoke (robustssl.runs.smoke): never a result
    device: str = "auto"  # auto: trainer.accelerator decides; e.g. cpu, cuda, cuda:1
    trainer: TrainerConfig = TrainerConfig()  # Lightning: devices, strategy, precision …
    progress_bar: bool = True
    logger: LoggerName | None = None  # per-epoch metrics to csv/tensorboard/wandb too
    channels_last: bool = True
    pretrained: str | None = None
    model: ModelConfig | None = None
    protocol: str = "slf"
    freeze_stages: int | None = Field(None, ge=1)
    head: HeadConfig = HeadConfig()
    data: FinetuneDataConfig = FinetuneDataConfig()
    optim: FinetuneOptimConfig = FinetuneOptimConfig()
    adversary: AdversaryConfig | None = None
    augmentation: AugmentationConfig = AugmentationConfig()
    cache_features: bool | None = None
    loss: LossConfig = LossConfig()
    select: SelectionConfig = SelectionConfig()

    @field_validator("loss", mode="before")
    @classmethod
    def _loss_shorthand(cls, value: Any) -> Any:
        return {"name": value} if isinstance(value, str) else value

    @field_validator("select", mode="before")
    @classmethod
    def _select_shorthand(cls, value: Any) -> Any:
        return {"rule": value} if isinstance(value, str) else value

    @field_validator("protocol")
    @classmethod
    def _known_protocol(cls, name: str) -> str:
        return get_protocol(name).name

    @model_validator(mode="after")
    def _consistent(self) -> FinetuneConfig:
        for problem in (
            self._encoder_source_problem(),
            self._protocol_problem(),
            self._cache_problem(),
            self._loss_problem(),
            self._select_problem(),
            self._device_problem(),
        ):
            if problem:
                raise ValueError(problem)
        return self

    def _encoder_source_problem(self) -> str | None:
        if self.pretrained is None and self.model is None:
            return (
                "no encoder: set pretrained=<pretraining run dir> or, for a randomly "
                "initialised encoder, a model section (model.backbone=small_cnn)"
            )
        if self.pretrained is not None and self.model is not None:
            return "the encoder comes from the pretrained run; remove the model section"
        return None

    def _protocol_problem(self) -> str | None:
        spec = PROTOCOLS[self.protocol]
        if spec.adversarial == "always" and self.adversary is None:
            return (
                f"protocol {self.protocol} trains on adversarial examples: add an adversary "
                "section (e.g. adversary.eps=0.1 adversary.steps=10)"
            )
        if spec.adversarial == "never" and self.adversary is not None:
            return (
                f"protocol {self.protocol} trains on clean data: remove the adversary section, "
                "or use protocol=alf (frozen encoder) / aff (whole network)"
            )
        if (self.protocol == "partial") != (self.freeze_stages is not None):
            return (
                "freeze_stages is set only with protocol=partial (freeze_stages=k freezes the "
                "first k backbone stages)"
            )
        return None

    def _cache_problem(self) -> str | None:
        if not self.cache_features:
            return None
        if self.protocol != "slf":
            return (
                f"cache_features needs protocol=slf (frozen encoder, clean data); "
                f"{self.protocol} must run the encoder every step: set cache_features=null"
            )
        if self.augmentation.name != "none":
            return (
                "cache_features needs augmentation.name=none: augmented images change every "
                "epoch; set cache_features=false to recompute features"
            )
        return None

    def _loss_problem(self) -> str | None:
        if self.loss.name != "trades":
            return None
        if self.adversary is None:
            return (
                "loss=trades trains on adversarial examples: use protocol=alf / aff (or partial) "
                "with an adversary section, e.g. adversary.eps=8/255 adversary.steps=10"
            )
        if self.adversary.attack != "pgd":
            return "loss=trades runs PGD on the TRADES KL; set adversary.attack=pgd"
        if self.adversary.use_best:
            return "loss=trades trains on PGD's last iterate; remove adversary.use_best"
        return None

    def _select_problem(self) -> str | None:
        if self.select.rule == "best_val" and self.data.val_fraction == 0:
            return (
                "select=best_val needs a validation split: set data.val_fraction (e.g. 0.1), or "
                "select=last"
            )
        return None

    def _device_problem(self) -> str | None:
        device, accelerator = self.device.split(":")[0], self.trainer.accelerator
        if device == "auto" or accelerator == "auto":
            return None
        if (device == "cpu") != (accelerator == "cpu"):
            return (
                f"device={self.device} but trainer.accelerator={accelerator}; set one of them "
                "(device=auto follows trainer.accelerator)"
            )
        return None

    def use_cache(self) -> bool:
        """Cache features: as set, or by default for SLF without augmentation (seed 000 §4.1)."""
        if self.cache_features is not None:
            return self.cache_features
        return self.protocol == "slf" and self.augmentation.name == "none"
