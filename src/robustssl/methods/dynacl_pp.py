"""DynACL++ (Luo, Wang & Wang, ICLR 2023, §4.3 "LPAFT"): post-processing of a pretrained encoder
(a DynACL run) with pseudo-labels, producing a new encoder.

1. Pseudo-labels: k-means (k = 10, Euclidean, on un-normalised features) over the training set's
   features through the clean route of the run's encoder (``route: clean``: the clean-BN branch
   of the DynACL momentum encoder, read from the run's method weights; ``route: adversarial``:
   the saved encoder), computed once and cached in the run directory.
2. Linear probing: a linear head on the pseudo-labels, encoder frozen in eval mode, ``head_epochs``
   = 10 epochs of SGD lr 0.01, momentum 0.9, weight decay 1e-4 (in ``prepare_data``, before the
   Lightning epochs; deterministic, so a resumed run recomputes the same head, which the
   checkpoint then replaces).
3. Adversarial full finetuning: TRADES (β = 6; PGD-10 of 2/255 at 8/255 on the KL from
   x + 0.001·N(0, 1), model in eval mode) on the pseudo-labels, the whole adversarial route and
   the head trained: the pretraining epochs (25, SGD lr 0.1, momentum 0.9, weight decay 1e-4,
   ÷10 at epochs 10 and 20 in the configs). The finetuned encoder is ``encoder.safetensors``.

Reference code PKU-ML/DYNACL: ``assign_label.py`` (k-means over the ``normal`` route of
``model_encoder_k.pt``, 10 clusters, Euclidean), ``LPAFT.py`` (``--epochs_head 10 --lr_head 0.01``,
``--epochs 25 --lr 0.1``, milestones [10, 20], SGD momentum 0.9, weight decay 1e-4, batch 512
with ``drop_last``, crop with padding 4 + flip, the adversarial route loaded into a single-BN
ResNet-18, TRADES with ``perturb_steps=10``). The reference's k-means is ``kmeans_pytorch``
(random initial centres, run to convergence); ours is scikit-learn's (k-means++, ``n_init``,
``max_iter``), seeded.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import torch
import torch.nn.functional as F
from pydantic import Field, model_validator
from torch import Tensor, nn

from robustssl.attacks import ThreatModel, attack_mode, maximise
from robustssl.attacks.adversary import PretrainAdversaryConfig
from robustssl.data import ImageDataset
from robustssl.data.views.translate import random_translate_flip
from robustssl.methods.acl import ADV, CLEAN
from robustssl.methods.advcl import OriginalViewConfig
from robustssl.methods.adversary import frozen_bn_statistics, perturb
from robustssl.methods.base import MethodStep, PretrainMethod
from robustssl.methods.clusterfit import CACHE_FILE, cached_labels, cluster_labels
from robustssl.methods.common import MethodConfigBase
from robustssl.methods.init_from import load_run_encoder
from robustssl.methods.monitor import extract_features
from robustssl.methods.pseudo_labelled import PseudoLabelledDataset
from robustssl.models import (
    Encoder,
    LinearClassifier,
    convert_to_multi_bn,
    extract_bn_branch,
    load_state_strict,
    read_encoder_spec,
)
from robustssl.models.encoder_file import build_from_spec
from robustssl.objectives import trades_kl, trades_loss
from robustssl.runs.layout import CONFIG_JSON, ENCODER, METHOD
from robustssl.utils import make_generator, mix_seed
from robustssl.utils.checkpoint import load_weights

ENCODER_KEY = "method.encoder"
_HEAD_STREAM = 0xD1AC  # separates the head stage's random stream from the others


def _trades_adversary() -> PretrainAdversaryConfig:
    """TRADES' attack as LPAFT runs it: L∞ 8/255, 10 steps of 2/255, model in eval mode."""
    return PretrainAdversaryConfig(
        norm="Linf", eps=8 / 255, steps=10, step_size=2 / 255, bn_mode="eval"
    )


class DynACLPPConfig(MethodConfigBase):
    """DynACL++: ``encoder`` (a finished DynACL run directory, or ``"@pretrain:<entry>"`` in a
    study file), k-means with ``clusters`` on its ``route``'s features, a linear head for
    ``head_epochs`` (SGD ``head_lr``), then TRADES (``beta``, ``adversary``) over the pretraining
    epochs with ``optim``."""

    name: Literal["dynacl_pp"] = "dynacl_pp"
    encoder: str | None = Field(None, min_length=1)
    route: Literal["clean", "adversarial"] = "clean"
    clusters: int = Field(10, ge=2)
    seed: int = 0
    n_init: int = Field(1, ge=1)
    max_iter: int = Field(300, ge=1)
    head_epochs: int = Field(10, ge=0)
    head_lr: float = Field(0.01, gt=0)
    head_momentum: float = Field(0.9, ge=0, lt=1)
    head_weight_decay: float = Field(1e-4, ge=0)
    head_batch_size: int = Field(512, gt=0)
    views: OriginalViewConfig = OriginalViewConfig(kind="crop_flip")
    beta: float = Field(6.0, ge=0, allow_inf_nan=False)
    start_std: float = Field(0.001, ge=0)  # TRADES' Gaussian start (a PGD adversary)
    adversary: PretrainAdversaryConfig = Field(default_factory=_trades_adversary)

    @model_validator(mode="after")
    def _needs_encoder(self) -> DynACLPPConfig:
        if self.encoder is None:
            raise ValueError(
                "dynacl_pp post-processes a pretrained encoder: set method.encoder to the run "
                "directory of a finished DynACL run (e.g. method.encoder=runs/dynacl_fashion_mnist)"
                ", or to '@pretrain:<entry>' in a study file"
            )
        return self


def clean_route_encoder(run_dir: str | Path) -> Encoder:
    """The clean-BN branch of a dual-BN run's downstream encoder (DynACL: the momentum encoder;
    ACL dual-stream / A2S: the encoder), from the run's method weights, strictly loaded, eval."""
    run = Path(run_dir)
    load_run_encoder(run, ENCODER_KEY)  # the same errors as the adversarial route first
    if not (run / CONFIG_JSON).is_file() or not (run / METHOD).is_file():
        raise FileNotFoundError(
            f"{ENCODER_KEY}={str(run)!r}: method.route=clean reads {CONFIG_JSON} and {METHOD} "
            "of the run; they are missing: use method.route=adversarial (the saved encoder)"
        )
    method: dict[str, Any] = json.loads((run / CONFIG_JSON).read_text()).get("method") or {}
    name = method.get("name")
    if name == "dynacl":
        prefix = "method.encoder_k." if method.get("momentum_encoder", True) else "method.encoder."
    elif name == "acl" and method.get("mode", "dual_stream") != "a2a":
        prefix = "method.encoder."
    else:
        raise ValueError(
            f"method.route=clean needs a run with a clean BN branch (dynacl, or acl with mode "
            f"dual_stream / a2s); {run} is a {name!r} run: use method.route=adversarial"
        )
    spec = read_encoder_spec(run / ENCODER)
    encoder = convert_to_multi_bn(build_from_spec(spec), (CLEAN, ADV))
    state = load_weights(run / METHOD, "cpu")
    own = {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
    load_state_strict(encoder, own, f"{run / METHOD} ({prefix}*)")
    clean = extract_bn_branch(encoder, CLEAN)
    assert isinstance(clean, Encoder)
    return clean.eval()


class DynACLPP(PretrainMethod):
    """Pseudo-label linear probing, then TRADES full finetuning of a pretrained encoder."""

    config_class = DynACLPPConfig

    cfg: DynACLPPConfig

    def __init__(self, encoder: nn.Module, cfg: DynACLPPConfig) -> None:
        super().__init__(encoder)
        self.cfg = cfg
        assert cfg.encoder is not None  # DynACLPPConfig._needs_encoder
        source = load_run_encoder(cfg.encoder, ENCODER_KEY)
        try:
            load_state_strict(self.encoder, source.state_dict(), cfg.encoder)
        except ValueError as err:
            raise ValueError(
                f"{ENCODER_KEY}={cfg.encoder!r} does not fit model.backbone ({err}); use that "
                "run's model.backbone and backbone_kwargs"
            ) from None
        self.head = LinearClassifier(self.feature_dim, cfg.clusters)
        self.head_accuracy: float | None = None  # on the pseudo-labels, after the head stage

    @classmethod
    def check_ready(cls, cfg: DynACLPPConfig, train: ImageDataset | None = None) -> None:
        """The encoder run (and with ``route: clean`` its clean branch) loads and fits the data."""
        assert cfg.encoder is not None
        source = (
            clean_route_encoder(cfg.encoder)
            if cfg.route == "clean"
            else load_run_encoder(cfg.encoder, ENCODER_KEY)
        )
        if train is not None and source.in_channels != train.image_shape[0]:
            raise ValueError(
                f"{ENCODER_KEY}={cfg.encoder!r} takes {source.in_channels}-channel images but "
                f"the training data has {train.image_shape[0]}; use a run on this dataset"
            )
        if train is not None and cfg.clusters > len(train):
            raise ValueError(
                f"method.clusters={cfg.clusters} exceeds the {len(train)} training samples"
            )

    # --- stages 1 and 2 --------------------------------------------------------------------
    def pseudo_labels(self, train: ImageDataset, run_dir: Path) -> Tensor:
        """(N, 1) k-means labels of ``train`` (cached in ``run_dir``)."""
        cfg = self.cfg
        key = {
            "method": "dynacl_pp",
            **cfg.model_dump(mode="json", include={"encoder", "route", "clusters", "seed"}),
            **cfg.model_dump(mode="json", include={"n_init", "max_iter"}),
            "samples": len(train),
        }

        def compute() -> Tensor:
            assert cfg.encoder is not None
            source = (
                clean_route_encoder(cfg.encoder)
                if cfg.route == "clean"
                else load_run_encoder(cfg.encoder, ENCODER_KEY)
            )
            features, _ = extract_features(source.to(train.device), train, cfg.head_batch_size)
            return cluster_labels(
                features, [cfg.clusters], cfg.seed, cfg.n_init, cfg.max_iter, normalize=False
            )

        return cached_labels(Path(run_dir) / CACHE_FILE, key, compute)

    def weak_view(self, x: Tensor, generator: torch.Generator) -> Tensor:
        v = self.cfg.views
        if v.kind == "identity":
            return x
        return random_translate_flip(x, v.padding, v.hflip_p, generator)

    def fit_head(self, data: PseudoLabelledDataset) -> float:
        """Stage 2: the linear head on the pseudo-labels, the encoder frozen in eval mode; the
        head's accuracy on the pseudo-labels of its last epoch's views."""
        cfg = self.cfg
        self.to(data.device)
        optimizer = torch.optim.SGD(
            self.head.parameters(),
            lr=cfg.head_lr,
            momentum=cfg.head_momentum,
            weight_decay=cfg.head_weight_decay,
        )
        generator = make_generator(mix_seed(cfg.seed, _HEAD_STREAM))
        was_training = self.training
        self.encoder.eval()
        correct = seen = 0
        try:
            for epoch in range(cfg.head_epochs):
                correct = seen = 0
                seed = mix_seed(cfg.seed, epoch)
                drop = len(data) > cfg.head_batch_size  # the reference drops the last partial batch
                batches = data.loader(cfg.head_batch_size, shuffle=True, drop_last=drop, seed=seed)
                for x, y in batches:
                    with torch.no_grad():
                        h = self.encoder(self.weak_view(x, generator))
                    logits = self.head(h)
                    loss = F.cross_entropy(logits, y[:, 1])
                    optimizer.zero_grad()
                    loss.backward()
                    optimizer.step()
                    correct += int((logits.argmax(1) == y[:, 1]).sum())
                    seen += len(y)
        finally:
            self.train(was_training)
        return correct / seen if seen else float("nan")

    def prepare_data(self, train: ImageDataset, run_dir: Path) -> ImageDataset:
        """Stages 1 and 2: the training set with its pseudo-labels as a label column, and the
        head trained on them."""
        data = PseudoLabelledDataset(train, self.pseudo_labels(train, run_dir))
        if self.cfg.head_epochs > 0:
            self.head_accuracy = self.fit_head(data)
        return data

    # --- stage 3 ---------------------------------------------------------------------------
    def classify(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """(logits, encoder features) of x."""
        h = self.encoder(x)
        return self.head(h), h

    def trades_attack(self, x: Tensor, generator: torch.Generator) -> Tensor:
        """x′ maximising KL(p(x) ‖ p(x′)): PGD from x + ``start_std``·N(0, 1) (TRADES), or the
        single-step adversary of ``adversary.attack`` from its own random start."""
        adv = self.cfg.adversary
        with attack_mode(self, adv.bn_mode), frozen_bn_statistics(self), torch.no_grad():
            natural = self.classify(x)[0]

        def kl(x_adv: Tensor) -> Tensor:
            return trades_kl(natural, self.classify(x_adv)[0], reduction="none")

        if adv.single_step_attack:
            return perturb(kl, x, adv, self, generator)
        noise = torch.randn(x.shape, generator=generator).to(x.device, x.dtype)
        with attack_mode(self, adv.bn_mode), frozen_bn_statistics(self):
            out = maximise(
                kl,
                x.detach(),
                ThreatModel(adv.norm, adv.eps),
                steps=adv.steps,
                step_size=adv.alpha,
                generator=generator,
                random_start=False,
                init=self.cfg.start_std * noise,
                early_stop=False,
                select="last",
            )
        return out.x_adv.detach()

    def step(self, x: Tensor, y: Tensor, generator: torch.Generator) -> MethodStep:
        if y.ndim != 2 or y.shape[1] != 2:
            raise ValueError(
                f"dynacl_pp needs label columns (B, 2) = (label, pseudo-label), got "
                f"{tuple(y.shape)}; train it with pretrain(), which adds them in prepare_data"
            )
        labels, pseudo = y[:, 0], y[:, 1]
        view = self.weak_view(x, generator)
        x_adv = self.trades_attack(view, generator)
        logits_natural, features = self.classify(view)
        logits_adv, _ = self.classify(x_adv)
        loss = trades_loss(logits_natural, logits_adv, pseudo, self.cfg.beta)
        with torch.no_grad():
            logs = {"pseudo_acc": (logits_natural.argmax(1) == pseudo).float().mean()}
        return MethodStep(loss, features, labels, logs)
