"""Typed, validated pretraining configs (pydantic v2). A wrong key or value fails before any
compute, naming the key and the allowed values. Files: ``configs/<dataset>/<method>.yaml``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from robustssl.data import UnknownDatasetError, dataset_names, get_info
from robustssl.data.views import SimCLRViewConfig
from robustssl.methods.optim import OptimConfig
from robustssl.models import available_backbones


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProjectionConfig(_Strict):
    hidden_dim: int = Field(512, gt=0)
    out_dim: int = Field(128, gt=0)
    num_layers: int = Field(2, ge=1)
    batch_norm: bool = True


def _supervised_views() -> SimCLRViewConfig:
    """Crop + flip only: the usual supervised augmentation, expressed in the SimCLR view config."""
    return SimCLRViewConfig(crop_scale=(0.5, 1.0), jitter_p=0.0, grayscale_p=0.0)


class SimCLRConfig(_Strict):
    """SimCLR (seed 002 §3.3.2; seed 001 eq. 4–5 for ``n_views`` > 2)."""

    name: Literal["simclr"] = "simclr"
    temperature: float = Field(0.5, gt=0)
    n_views: int = Field(2, ge=2)
    projection: ProjectionConfig = ProjectionConfig()
    views: SimCLRViewConfig = SimCLRViewConfig()


class SupConConfig(SimCLRConfig):
    """Supervised SimCLR (seed 000 §4.1): same-class samples are positives."""

    name: Literal["supcon"] = "supcon"  # type: ignore[assignment]


class SimSiamConfig(_Strict):
    name: Literal["simsiam"] = "simsiam"
    projection: ProjectionConfig = ProjectionConfig(hidden_dim=2048, out_dim=2048, num_layers=3)
    predictor_hidden_dim: int = Field(512, gt=0)
    views: SimCLRViewConfig = SimCLRViewConfig()


class BarlowTwinsConfig(_Strict):
    """Barlow Twins (seed 000 eq. 12–13); seed 000 uses a 1-hidden-layer 2048-wide projector."""

    name: Literal["barlow_twins"] = "barlow_twins"
    lambda_offdiag: float = Field(5e-3, gt=0)
    projection: ProjectionConfig = ProjectionConfig(hidden_dim=2048, out_dim=2048, num_layers=2)
    views: SimCLRViewConfig = SimCLRViewConfig()


class RotationConfig(_Strict):
    """Rotation prediction (seed 003 §3.1, §4.2): ``random`` = one random rotation per image."""

    name: Literal["rotation"] = "rotation"
    mode: Literal["random", "all"] = "random"
    head_hidden_dim: int | None = None
    views: SimCLRViewConfig | None = Field(default_factory=_supervised_views)


class JigsawConfig(_Strict):
    """Jigsaw puzzles over an n×n grid with J fixed permutations (seed 003 §3.1)."""

    name: Literal["jigsaw"] = "jigsaw"
    grid: int = Field(2, ge=2)
    num_permutations: int = Field(24, ge=2)
    permutation_seed: int = 0
    head_hidden_dim: int | None = None
    views: SimCLRViewConfig | None = Field(default_factory=_supervised_views)


class SupervisedConfig(_Strict):
    """Cross-entropy on labels (seeds 000 §4.1, 004 Table 1 with label fractions)."""

    name: Literal["supervised"] = "supervised"
    head: Literal["linear", "mlp"] = "linear"
    head_hidden_dim: int = Field(512, gt=0)
    label_smoothing: float = Field(0.0, ge=0, lt=1)
    views: SimCLRViewConfig | None = Field(default_factory=_supervised_views)


MethodConfig = Annotated[
    SimCLRConfig
    | SupConConfig
    | SimSiamConfig
    | BarlowTwinsConfig
    | RotationConfig
    | JigsawConfig
    | SupervisedConfig,
    Field(discriminator="name"),
]


class DataConfig(_Strict):
    dataset: str = "fashion_mnist"
    root: str | None = None
    download: bool = False
    split: str = "train"
    eval_split: str = "test"
    label_fraction: float = Field(1.0, gt=0, le=1)
    val_fraction: float = Field(0.0, ge=0, lt=1)
    batch_size: int = Field(256, gt=0)
    in_memory: bool | None = None
    num_workers: int = Field(0, ge=0)

    @field_validator("dataset")
    @classmethod
    def _known_dataset(cls, name: str) -> str:
        try:
            return get_info(name).name  # accepts aliases such as "Fashion-MNIST"
        except UnknownDatasetError:
            known = ", ".join(dataset_names())
            raise ValueError(f"unknown dataset {name!r}; known: {known}") from None


class ModelConfig(_Strict):
    backbone: str = "small_cnn"
    backbone_kwargs: dict[str, Any] = Field(default_factory=dict)
    sync_batchnorm: bool = False
    channels_last: bool = True  # NHWC weights: ~20 % faster convolutions on CPU (oneDNN) and GPU

    @field_validator("backbone")
    @classmethod
    def _known_backbone(cls, name: str) -> str:
        if name not in available_backbones():
            raise ValueError(
                f"unknown backbone {name!r}; known: {', '.join(available_backbones())}"
            )
        return name


class TrainerConfig(_Strict):
    max_epochs: int = Field(10, gt=0)
    max_time_minutes: float | None = Field(None, gt=0)
    accelerator: Literal["auto", "cpu", "gpu", "cuda", "mps"] = "auto"
    devices: int | Literal["auto"] = "auto"
    num_nodes: int = Field(1, ge=1)
    strategy: str = "auto"
    precision: Literal["32", "32-true", "16-mixed", "bf16-mixed"] = "32-true"
    log_every_n_steps: int = Field(20, gt=0)
    deterministic: bool | None = None  # None: True on CPU, False on GPU
    progress_bar: bool = True


class MonitorConfig(_Strict):
    """Online linear probe on detached features (like solo-learn's) and a kNN monitor."""

    online_probe: bool = True
    probe_lr: float = Field(1e-3, gt=0)
    knn: bool = True
    knn_k: int = Field(20, gt=0)
    knn_temperature: float = Field(0.07, gt=0)
    every_n_epochs: int = Field(1, gt=0)
    max_bank_size: int | None = Field(None, gt=0)


class PretrainConfig(_Strict):
    """Everything one pretraining run needs; its JSON dump is saved in the run directory."""

    name: str = Field("run", pattern=r"^[A-Za-z0-9_.\-]+$")
    seed: int = 0
    output_dir: str = "runs"
    data: DataConfig = DataConfig()
    model: ModelConfig = ModelConfig()
    method: MethodConfig = SimCLRConfig()
    optim: OptimConfig = OptimConfig()
    trainer: TrainerConfig = TrainerConfig()
    monitor: MonitorConfig = MonitorConfig()

    @model_validator(mode="before")
    @classmethod
    def _default_method_name(cls, data: Any) -> Any:
        """A ``method`` section without ``name`` means the default method (simclr)."""
        if (
            isinstance(data, dict)
            and isinstance(data.get("method"), dict)
            and "name" not in data["method"]
        ):
            data = {**data, "method": {"name": "simclr", **data["method"]}}
        return data
