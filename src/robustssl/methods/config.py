"""Typed, validated pretraining configs (pydantic v2). A wrong key or value fails before any
compute, naming the key and the allowed values. Files: ``configs/<dataset>/<method>.yaml``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from robustssl.data import UnknownDatasetError, dataset_names, get_info
from robustssl.data.views import RobustnessViewConfig, SimCLRViewConfig, ViewConfig
from robustssl.methods.adversary import AdversaryConfig
from robustssl.methods.optim import OptimConfig
from robustssl.models import available_backbones
from robustssl.utils.loggers import LoggerName


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProjectionConfig(_Strict):
    hidden_dim: int = Field(512, gt=0)
    out_dim: int = Field(128, gt=0)
    num_layers: int = Field(2, ge=1)
    batch_norm: bool = True


def _supervised_views() -> SimCLRViewConfig:
    """Crop + flip only: the usual supervised augmentation, expressed in the SimCLR view config.
    ``views: {family: robustness}`` is the robustness library's (seed 003's) augmentation."""
    return SimCLRViewConfig(crop_scale=(0.5, 1.0), jitter_p=0.0, grayscale_p=0.0)


class SimCLRConfig(_Strict):
    """SimCLR (seed 002 §3.3.2; seed 001 eq. 4–5 for ``n_views`` > 2)."""

    name: Literal["simclr"] = "simclr"
    temperature: float = Field(0.5, gt=0)
    n_views: int = Field(2, ge=2)
    projection: ProjectionConfig = ProjectionConfig()
    views: SimCLRViewConfig = SimCLRViewConfig()
    # λ of seed 004 eq. 3: λ/2 · per-view input-gradient norms of the batch loss (0 = off)
    tikhonov: float = Field(0.0, ge=0)


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
    views: ViewConfig | None = Field(default_factory=_supervised_views)
    # Adversarial pretext pretraining (seed 003 §3.3: P1 = L2, P2 = L∞); None = standard
    adversary: AdversaryConfig | None = None


class JigsawConfig(_Strict):
    """Jigsaw puzzles over an n×n grid with J fixed permutations (seed 003 §3.1)."""

    name: Literal["jigsaw"] = "jigsaw"
    grid: int = Field(2, ge=2)
    num_permutations: int = Field(24, ge=2)
    permutation_seed: int = 0
    head_hidden_dim: int | None = None
    views: ViewConfig | None = Field(default_factory=_supervised_views)
    adversary: AdversaryConfig | None = None  # adversarial pretext pretraining (seed 003 §3.3)


class SupervisedConfig(_Strict):
    """Cross-entropy on labels (seeds 000 §4.1, 004 Table 1 with label fractions); with
    ``adversary`` PGD adversarial training (Madry; seed 003 eq. 4–6), with ``tikhonov`` = λ the
    input-gradient penalty λ/2·‖∇ₓL‖² (seed 004 eq. 2)."""

    name: Literal["supervised"] = "supervised"
    head: Literal["linear", "mlp"] = "linear"
    head_hidden_dim: int = Field(512, gt=0)
    label_smoothing: float = Field(0.0, ge=0, lt=1)
    views: ViewConfig | None = Field(default_factory=_supervised_views)
    adversary: AdversaryConfig | None = None
    tikhonov: float = Field(0.0, ge=0)


class LayerLoss(_Strict):
    """One term of the layer-wise contrastive loss (seed 004 eq. 4–5): the encoder submodule
    ``layer`` (dotted name, or ``"output"`` for the encoder's features), its weight α_k in
    Σ α_k·L_k and its Tikhonov weight β_k in Σ β_k·R_k (eq. 5 has no ½, unlike eq. 3's λ/2)."""

    layer: str = Field(min_length=1)
    alpha: float = Field(1.0, ge=0)
    beta: float = Field(0.0, ge=0)


class LayerwiseSimCLRConfig(_Strict):
    """NT-Xent on pooled, per-layer projected features of several encoder layers, weighted
    (seed 004 eq. 4) and optionally Tikhonov-regularised per layer (eq. 5)."""

    name: Literal["layerwise_simclr"] = "layerwise_simclr"
    temperature: float = Field(0.5, gt=0)
    n_views: int = Field(2, ge=2)
    layers: list[LayerLoss] = Field(
        default_factory=lambda: [LayerLoss(layer="output")], min_length=1
    )
    projection: ProjectionConfig = ProjectionConfig()
    views: SimCLRViewConfig = SimCLRViewConfig()

    @field_validator("layers")
    @classmethod
    def _distinct_layers(cls, layers: list[LayerLoss]) -> list[LayerLoss]:
        names = [term.layer for term in layers]
        if len(set(names)) != len(names):
            raise ValueError(f"layers lists a layer twice: {names}; give each layer once")
        if not any(term.alpha > 0 or term.beta > 0 for term in layers):
            raise ValueError("every layer has alpha 0 and beta 0; give one a positive alpha")
        return layers


def _ss_at_adversary() -> AdversaryConfig:
    """Seed 003 §4.2: L∞ ε = 8/255, step 2/255, 10 steps; the robustness library it extends
    attacks with the model in eval mode."""
    return AdversaryConfig(norm="Linf", eps=8 / 255, steps=10, step_size=2 / 255, bn_mode="eval")


class SSATConfig(_Strict):
    """Self-supervision inside adversarial training (seed 003 §3, Algorithm 1): a classifier
    head and a rotation / jigsaw head; ``scheme`` T0 (AT), T1 (eq. 8/11), T2 (eq. 9, attack on
    the supervised loss), T3 (eq. 9/12, attack on sup + λ₂·SS) or the discarded eq. 7."""

    name: Literal["ss_at"] = "ss_at"
    scheme: Literal["T0", "T1", "T2", "T3", "eq7"] = "T3"
    task: Literal["rotation", "jigsaw"] = "rotation"
    rotation_mode: Literal["random", "all"] = "random"  # seed 003 §4.2: one random rotation
    jigsaw_grid: int = Field(2, ge=2)
    jigsaw_permutations: int = Field(24, ge=2)
    jigsaw_seed: int = 0
    lambda1: float = Field(0.5, ge=0)  # weight of the SS loss in training (eq. 7–9)
    lambda2: float = Field(0.5, ge=0)  # weight of the SS loss in the attack (Alg. 1 line 8)
    head: Literal["linear", "mlp"] = "linear"
    head_hidden_dim: int = Field(512, gt=0)
    ss_head_hidden_dim: int | None = None
    adversary: AdversaryConfig = Field(default_factory=_ss_at_adversary)
    views: ViewConfig | None = Field(default_factory=_supervised_views)

    @model_validator(mode="after")
    def _t3_needs_lambda2(self) -> SSATConfig:
        if self.scheme == "T3" and self.lambda2 == 0:
            raise ValueError("scheme T3 with lambda2=0 is scheme T2; set lambda2 > 0 or use T2")
        return self


def _acl_adversary() -> AdversaryConfig:
    """ACL's PGD_contrastive: L∞ 8/255, 5 steps of 2/255, random start, model in eval mode with the
    adversarial BN (../shared/REFERENCE_FACTS.md)."""
    return AdversaryConfig(norm="Linf", eps=8 / 255, steps=5, step_size=2 / 255, bn_mode="eval")


class AdvSimCLRConfig(_Strict):
    """Adversarial SimCLR (seed 002 §5.2): PGD (3 steps) on NT-Xent over both views, trained on
    the adversarial pair. Seed 002 runs the attack inside the training forward, hence BN in train
    mode; its ε is given in its own units, so ε here is ours (pixel units)."""

    name: Literal["adv_simclr"] = "adv_simclr"
    temperature: float = Field(0.5, gt=0)
    projection: ProjectionConfig = ProjectionConfig()
    views: SimCLRViewConfig = SimCLRViewConfig()
    adversary: AdversaryConfig = Field(
        default_factory=lambda: AdversaryConfig(eps=8 / 255, steps=3, bn_mode="train")
    )


class ACLConfig(_Strict):
    """ACL (Jiang et al. 2020; seed 000 §2.7.2): ``a2a`` both views attacked, one BN; ``a2s`` one
    view attacked, its own BN; ``dual_stream`` a clean pair (clean BN) and an adversarial pair
    (adversarial BN), losses averaged. The adversarial-BN encoder is the one used downstream."""

    name: Literal["acl"] = "acl"
    mode: Literal["a2a", "a2s", "dual_stream"] = "dual_stream"
    temperature: float = Field(0.5, gt=0)
    projection: ProjectionConfig = ProjectionConfig(hidden_dim=512, out_dim=128, num_layers=3)
    views: SimCLRViewConfig = SimCLRViewConfig()
    adversary: AdversaryConfig = Field(default_factory=_acl_adversary)


class RoCLConfig(_Strict):
    """RoCL (Kim et al. 2020): PGD on t1(x) against t2(x); 3-view NT-Xent (t1, t2, adv) +
    ``regularizer_weight``·NT-Xent(adv, t2) (RoCL's 1/λ with λ = 256); one BN."""

    name: Literal["rocl"] = "rocl"
    temperature: float = Field(0.5, gt=0)
    regularizer_weight: float = Field(1 / 256, ge=0)
    projection: ProjectionConfig = ProjectionConfig()
    views: SimCLRViewConfig = SimCLRViewConfig()
    adversary: AdversaryConfig = Field(
        default_factory=lambda: AdversaryConfig(
            norm="Linf", eps=0.0314, steps=7, step_size=0.007, bn_mode="eval"
        )
    )


AdvCLView = Literal["aug1", "aug2", "adv", "adv_aug1", "adv_aug2", "lfc", "hfc"]
ADVCL_ADVERSARIAL_VIEWS: tuple[str, ...] = ("adv", "adv_aug1", "adv_aug2")


class OriginalViewConfig(_Strict):
    """AdvCL's "original" view x, from which x+δ and the frequency views are built: the image
    itself (``identity``) or its weak crop+flip (``crop_flip``: RandomCrop with ``padding`` +
    flip, the reference code's ``train_transform_org``)."""

    kind: Literal["identity", "crop_flip"] = "identity"
    padding: int = Field(4, ge=0)
    hflip_p: float = Field(0.5, ge=0, le=1)


class ClusterFitConfig(_Strict):
    """ClusterFit pseudo-labels (seed 001 eq. 10, Table 5): k-means on normalised features of the
    pretrained encoder of the run directory ``encoder`` (loaded strictly) — or pseudo-labels made
    elsewhere, read from ``labels`` (.npy / .safetensors / .json, one column per K;
    robustssl.methods.external_labels) — one linear head per K, adversarial CE on the
    pseudo-labels weighted by ``weight`` (λ). Give exactly one of ``encoder`` and ``labels``."""

    encoder: str | None = Field(None, min_length=1)
    labels: str | None = Field(None, min_length=1)
    ks: list[int] = Field(default_factory=lambda: [2, 10, 50, 100, 500], min_length=1)
    weight: float = Field(0.2, gt=0)
    seed: int = 0
    n_init: int = Field(1, ge=1)
    max_iter: int = Field(300, ge=1)
    batch_size: int = Field(512, gt=0)

    @field_validator("ks")
    @classmethod
    def _distinct_ks(cls, ks: list[int]) -> list[int]:
        if any(k < 2 for k in ks) or len(set(ks)) != len(ks):
            raise ValueError(f"ks={ks} must be distinct cluster numbers ≥ 2, e.g. [2, 10, 50]")
        return ks

    @model_validator(mode="after")
    def _one_source(self) -> ClusterFitConfig:
        if (self.encoder is None) == (self.labels is None):
            raise ValueError(
                "clusterfit needs exactly one source of pseudo-labels: encoder=<pretraining run "
                "dir> (k-means on its features) or labels=<.npy/.safetensors/.json file>"
            )
        return self


class AdvCLConfig(_Strict):
    """AdvCL (seed 001 §4): ``view_set`` from Table 4 (``adv`` = x+δ of the original view maximising
    the contrastive loss over the other views, eq. 7; ``adv_aug1/2`` = τᵢ(x)+δᵢ, eq. 6;
    ``lfc``/``hfc`` = frequency components of x, eq. 8), the multi-view loss (eq. 9) and the
    optional ClusterFit regulariser (eq. 10). ``views`` configures τ₁, τ₂ (SimCLR views, as in the
    other methods). BN sets normal / pgd (/ pgd_ce)."""

    name: Literal["advcl"] = "advcl"
    temperature: float = Field(0.5, gt=0)
    view_set: list[AdvCLView] = Field(default_factory=lambda: ["adv", "aug1", "aug2", "hfc"])
    radius: float = Field(8.0, ge=0)  # eq. 8: r = 8 on 32×32 images
    radius_inclusive: bool = False  # the reference code's strict d < r (the paper writes d ≤ r)
    original: OriginalViewConfig = OriginalViewConfig()
    views: SimCLRViewConfig = SimCLRViewConfig(crop_scale=(0.2, 1.0))  # τ₁, τ₂
    projection: ProjectionConfig = ProjectionConfig(hidden_dim=512, out_dim=128, num_layers=2)
    adversary: AdversaryConfig = Field(
        default_factory=lambda: AdversaryConfig(
            norm="Linf", eps=8 / 255, steps=5, step_size=2 / 255, bn_mode="train"
        )
    )
    clusterfit: ClusterFitConfig | None = None
    # The reference's SupConLoss(temperature=τ) keeps base_temperature = 0.07, so its contrastive
    # term is τ/0.07 (7.14 at τ = 0.5) × eq. 9 while λ stays 0.2 (REFERENCE_FACTS.md). A number
    # here multiplies the contrastive term by temperature/base_temperature (0.07 = the reference's
    # balance); None = no scale (eq. 9 as the paper writes it).
    base_temperature: float | None = Field(None, gt=0)

    @property
    def contrastive_scale(self) -> float:
        """τ/base_temperature, or 1 without a base temperature."""
        if self.base_temperature is None:
            return 1.0
        return self.temperature / self.base_temperature

    @field_validator("view_set")
    @classmethod
    def _view_set(cls, views: list[str]) -> list[str]:
        if len(set(views)) != len(views) or len(views) < 2:
            raise ValueError(f"view_set={views} must name at least 2 distinct views")
        if not any(v in ADVCL_ADVERSARIAL_VIEWS for v in views):
            raise ValueError(
                f"view_set={views} has no adversarial view; add one of "
                f"{list(ADVCL_ADVERSARIAL_VIEWS)} (without one this is multi-view SimCLR: use "
                "method.name=simclr)"
            )
        return views


def _ap_dpe_adversary() -> AdversaryConfig:
    """Adv-SS-Pretraining's ensemble_pretrain.py: L∞ ε = 8/255, 10 steps of 2/255 from a uniform
    random start, the model left in train mode (its PGD_attack_3module switches no mode)."""
    return AdversaryConfig(norm="Linf", eps=8 / 255, steps=10, step_size=2 / 255, bn_mode="train")


def _crop_flip() -> RobustnessViewConfig:
    """RandomCrop(pad 4) + flip (the reference's train transform): the robustness-library view
    family with its colour jitter and rotation off."""
    return RobustnessViewConfig(
        family="robustness", brightness=0.0, contrast=0.0, saturation=0.0, degrees=0.0
    )


class APDPEConfig(_Strict):
    """AP-DPE (Chen et al., CVPR 2020; seed 001 Table 1's first row): adversarial pretraining on
    an ensemble of pretext ``tasks`` with the gradient-diversity term d (the log-det of the tasks'
    normalised input gradients; robustssl.objectives.diversity). Each task's transformed batch is
    perturbed (jointly) by PGD on Σₜ ℓₜ (+ λ·s·d with ``attack_penalty``); training minimises the
    mean of the clean (``clean_loss``) and adversarial task losses + λ·s·d at the adversarial
    inputs, λ = ``penalty_weight``. ``penalty: diversity`` is s = −1, so training spreads the
    tasks' gradients apart (the diversity the paper promotes); ``reference_code`` is s = +1, the
    sign the public ensemble_pretrain.py adds. The jigsaw defaults are ours (2×2, all 24
    permutations); the reference's CIFAR-10 puzzle is 4×4 with 30 random permutations + identity."""

    name: Literal["ap_dpe"] = "ap_dpe"
    tasks: list[Literal["rotation", "jigsaw"]] = Field(
        default_factory=lambda: ["rotation", "jigsaw"]
    )
    jigsaw_grid: int = Field(2, ge=2)
    jigsaw_permutations: int = Field(24, ge=2)
    jigsaw_seed: int = 0
    head_hidden_dim: int | None = None
    penalty_weight: float = Field(0.1, ge=0)
    penalty: Literal["diversity", "reference_code"] = "diversity"
    jitter: float = Field(1e-5, gt=0)
    attack_penalty: bool = True
    clean_loss: bool = True
    adversary: AdversaryConfig = Field(default_factory=_ap_dpe_adversary)
    views: ViewConfig | None = Field(default_factory=_crop_flip)

    @field_validator("tasks")
    @classmethod
    def _ensemble(cls, tasks: list[str]) -> list[str]:
        if len(tasks) < 2 or len(set(tasks)) != len(tasks):
            raise ValueError(
                f"tasks={tasks} must name at least 2 distinct pretext tasks, e.g. "
                "[rotation, jigsaw] (one task is adversarial rotation / jigsaw pretraining)"
            )
        return tasks

    @property
    def penalty_sign(self) -> float:
        return -1.0 if self.penalty == "diversity" else 1.0


MethodConfig = Annotated[
    SimCLRConfig
    | SupConConfig
    | SimSiamConfig
    | BarlowTwinsConfig
    | RotationConfig
    | JigsawConfig
    | SupervisedConfig
    | LayerwiseSimCLRConfig
    | SSATConfig
    | AdvSimCLRConfig
    | ACLConfig
    | RoCLConfig
    | AdvCLConfig
    | APDPEConfig,
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
    # A pretraining run directory whose encoder.safetensors initialises the encoder (strict
    # loading) before training, e.g. seed 003's P1/P2 adversarial pretext pretraining; None =
    # random initialisation (P0).
    init_from: str | None = None

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
    # next to the CSV logs every run keeps (metrics.csv); robustssl.utils.loggers
    logger: LoggerName = "tensorboard"


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
    smoke: bool = False  # shrunk by --smoke (robustssl.runs.smoke): never a result
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
