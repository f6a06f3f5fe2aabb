"""The toy studies of seed 000 §6 over several seeds, printed next to the seed's numbers.

Triangle-square (§6.1): the hand-made model, standard training (Table 4), FGSM adversarial training
(Figure 20). L-T (§6.2): the hand-made model, standard training on the 8 images, training on the
344M-sample extended dataset (§6.2.2, Figures 26–27) and the wrong-assumption variants. Beyond the
seed, every model gets exact certified accuracies and, on L-T, a count of the samples that break
Assumption 1 (a counter-example inside the ε-box but none at its corners).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from pydantic import ConfigDict, Field

from robustssl.data.extended import extended_dataset
from robustssl.data.toy import patterns, toy_spec, toy_tensors
from robustssl.evaluation.certify.conv_maxpool import certify
from robustssl.models.toy import PatternMatcher, hand_made_model
from robustssl.toy import reference
from robustssl.toy.evaluate import (
    FIG26_PGD,
    TABLE4_PGD,
    PGDSetting,
    accuracy,
    assumption1_failures,
    mean_std,
    pgd_accuracy,
)
from robustssl.toy.train import extended_accuracy, train_extended, train_full_batch
from robustssl.utils.config import StrictConfig

HAND_MADE_EPS = (0.1, 0.2, 0.3, 0.4, 0.49, 0.5, 0.51)
CURVE_EPS = (0.3, 0.35, 0.38, 0.4, 0.42, 0.44, 0.46, 0.47, 0.48, 0.49, 0.5)
# (options, pixels) of the extended dataset's variants (seed 000 §6.2.1 assumptions 3–4, Fact 2)
VARIANTS = (("in_boundary", "pattern"), ("symmetric", "pattern"), ("corners", "canvas"))
METRICS = ("clean", "extended-clean", "pgd", "pgd50", "certified", "counter-example")
Log = Callable[[str], None]


class _Strict(StrictConfig):
    model_config = ConfigDict(frozen=True)


class TrainSpec(_Strict):
    """Adam epochs and learning rate."""

    epochs: int = Field(20, ge=1)
    lr: float = Field(0.1, gt=0)


class ToyStudyConfig(_Strict):
    """Protocol of the toy studies; defaults follow seed 000 §6 (and its code)."""

    seeds: tuple[int, ...] = Field((0, 1, 2, 3, 4), min_length=1)
    eps_list: tuple[float, ...] = (0.1, 0.2, 0.3, 0.4)
    standard: TrainSpec = TrainSpec(epochs=20, lr=0.1)
    fgsm: TrainSpec = TrainSpec(epochs=40, lr=0.01)
    fgsm_eps: float = Field(0.1, gt=0, lt=1)
    extended: TrainSpec = TrainSpec(epochs=6, lr=0.1)
    variant: TrainSpec = TrainSpec(epochs=200, lr=0.1)
    dataset_eps: float = Field(0.41, gt=0, lt=0.5)
    attack_eps: float = Field(0.4, gt=0)
    blocks_per_batch: int = Field(170, ge=1)
    fraction: float = Field(1.0, gt=0, le=1)
    curve_eps: tuple[float, ...] = CURVE_EPS
    variants: bool = True
    progress: bool = False


@dataclass
class Row:
    """One metric of one experiment over seeds (percentages or counts), with the seed's value."""

    experiment: str
    metric: str
    eps: float | None
    values: list[float] = field(default_factory=list)
    seed_value: str = ""

    def to_dict(self) -> dict[str, object]:
        mean, std = mean_std(self.values)
        keys = ("experiment", "metric", "eps", "values", "seed_value")
        return {**{k: getattr(self, k) for k in keys}, "mean": mean, "std": std}


class Rows:
    """Rows keyed by (experiment, metric, ε), filled seed by seed."""

    def __init__(self, table: dict[reference.Key, str]) -> None:
        self.table = table
        self.rows: dict[reference.Key, Row] = {}

    def add(self, experiment: str, metric: str, eps: float | None, value: float) -> None:
        key = (experiment, metric, eps)
        if key not in self.rows:
            self.rows[key] = Row(*key, seed_value=reference.seed_value(self.table, key))
        self.rows[key].values.append(value)

    def result(self) -> list[Row]:
        """The rows grouped by experiment (in order of appearance), then metric, then ε."""
        experiments = list(dict.fromkeys(exp for exp, _, _ in self.rows))

        def order(row: Row) -> tuple[int, int, float]:
            metric = METRICS.index(row.metric) if row.metric in METRICS else len(METRICS)
            eps = -1.0 if row.eps is None else row.eps
            return experiments.index(row.experiment), metric, eps

        return sorted(self.rows.values(), key=order)


def _pgd(
    rows: Rows,
    name: str,
    model: PatternMatcher,
    dataset: str,
    seed: int,
    eps_list: tuple[float, ...],
    setting: PGDSetting = TABLE4_PGD,
) -> None:
    """PGD accuracy (%) on the standard samples of ``dataset`` at each ε."""
    x, y = toy_tensors(dataset)
    metric = "pgd" if setting == TABLE4_PGD else "pgd50"
    for eps in eps_list:
        rows.add(name, metric, eps, 100 * pgd_accuracy(model, x, y, eps, setting, seed))


def _certified(
    rows: Rows, name: str, model: PatternMatcher, dataset: str, eps_list: tuple[float, ...]
) -> None:
    """Exact certified accuracy (%) on the standard samples of ``dataset`` at each ε; for the
    hand-made model also the share refuted by a counter-example the forward pass confirms."""
    x, y = toy_tensors(dataset)
    for eps in eps_list:
        result = certify(model, x, y, eps)
        rows.add(name, "certified", eps, 100 * result.certified_accuracy)
        if name == "hand-made":
            rows.add(name, "counter-example", eps, 100 * float(result.flipped.double().mean()))


def _hand_made(rows: Rows, dataset: str) -> None:
    model = hand_made_model(patterns(dataset))
    _pgd(rows, "hand-made", model, dataset, 0, HAND_MADE_EPS)
    _certified(rows, "hand-made", model, dataset, HAND_MADE_EPS)


def _trained(
    rows: Rows,
    name: str,
    dataset: str,
    seed: int,
    cfg: ToyStudyConfig,
    fgsm: bool = False,
) -> PatternMatcher:
    """Full-batch standard (or FGSM adversarial) training on the toy dataset, then evaluation."""
    spec, (x, y) = toy_spec(dataset), toy_tensors(dataset)
    model = PatternMatcher(len(spec.classes), spec.pattern_size, seed=seed)
    train = cfg.fgsm if fgsm else cfg.standard
    fgsm_eps = cfg.fgsm_eps if fgsm else None
    train_full_batch(model, x, y, epochs=train.epochs, lr=train.lr, fgsm_eps=fgsm_eps)
    rows.add(name, "clean", None, 100 * accuracy(model, x, y))
    _pgd(rows, name, model, dataset, seed, cfg.eps_list)
    _certified(rows, name, model, dataset, cfg.eps_list)
    return model


def triangle_square_study(cfg: ToyStudyConfig, log: Log = lambda _: None) -> list[Row]:
    """Seed 000 §6.1: hand-made model, standard training (Table 4), FGSM AT (Figure 20)."""
    rows = Rows(reference.TRIANGLE_SQUARE)
    _hand_made(rows, "triangle_square")
    for seed in cfg.seeds:
        log(f"triangle-square, seed {seed}")
        _trained(rows, "standard", "triangle_square", seed, cfg)
        _trained(rows, "fgsm-at", "triangle_square", seed, cfg, fgsm=True)
    return rows.result()


def _extended(
    rows: Rows, cfg: ToyStudyConfig, name: str, options: str, pixels: str, seed: int
) -> PatternMatcher:
    """Standard training on an extended L-T dataset; its accuracy there (on the same share as
    one training epoch), PGD at the attack ε and the Assumption 1 check."""
    data = extended_dataset("lt", cfg.dataset_eps, options=options, pixels=pixels)  # type: ignore[arg-type]
    fraction, train = (cfg.fraction, cfg.extended) if pixels == "canvas" else (1.0, cfg.variant)
    loader = data.loader(cfg.blocks_per_batch, shuffle=True, seed=seed, fraction=fraction)
    model = PatternMatcher(2, 3, seed=seed)
    train_extended(model, loader, epochs=train.epochs, lr=train.lr, progress=cfg.progress)
    rows.add(name, "extended-clean", None, 100 * extended_accuracy(model, data, fraction)[0])
    _pgd(rows, name, model, "lt", seed, (cfg.attack_eps,))
    x, y = toy_tensors("lt")
    failures = assumption1_failures(model, x, y, cfg.attack_eps)
    rows.add(name, "assumption1-failures", cfg.attack_eps, failures)
    return model


def lt_study(cfg: ToyStudyConfig, log: Log = lambda _: None) -> list[Row]:
    """Seed 000 §6.2: standard training on 8 images, extended-dataset training, variants."""
    rows, (x, y) = Rows(reference.LT), toy_tensors("lt")
    _hand_made(rows, "lt")
    for seed in cfg.seeds:
        log(f"L-T, seed {seed}: standard training on the 8 images")
        model = _trained(rows, "standard", "lt", seed, cfg)
        failures = assumption1_failures(model, x, y, cfg.attack_eps)
        rows.add("standard", "assumption1-failures", cfg.attack_eps, failures)
        log(f"L-T, seed {seed}: the extended dataset, {cfg.fraction:g} of it per epoch")
        model = _extended(rows, cfg, "extended", "symmetric", "canvas", seed)
        _pgd(
            rows,
            "extended",
            model,
            dataset="lt",
            seed=seed,
            eps_list=cfg.curve_eps,
            setting=FIG26_PGD,
        )
        _certified(rows, "extended", model, "lt", cfg.curve_eps)
        for options, pixels in VARIANTS if cfg.variants else ():
            log(f"L-T, seed {seed}: variant {options}+{pixels}")
            name = f"{options}+{pixels}"
            model = _extended(rows, cfg, name, options, pixels, seed)
            _pgd(
                rows,
                name,
                model,
                dataset="lt",
                seed=seed,
                eps_list=(cfg.attack_eps,),
                setting=FIG26_PGD,
            )
            _certified(rows, name, model, "lt", (cfg.attack_eps,))
    return rows.result()


def format_rows(rows: list[Row], title: str) -> str:
    """A plain-text table: experiment, metric, ε, ours (mean ± std over n seeds), seed 000."""
    lines = [title, f"{'experiment':<21}{'metric':<21}{'eps':>5}  {'ours':<24}seed 000"]
    for row in rows:
        mean, std = mean_std(row.values)
        eps = "" if row.eps is None else f"{row.eps:g}"
        ours = f"{mean:.1f} ± {std:.1f} (n={len(row.values)})"
        if row.metric == "assumption1-failures":
            ours = f"{int(sum(row.values))} samples (n={len(row.values)})"
        elif len(row.values) == 1:
            ours = f"{mean:.1f}"
        lines.append(f"{row.experiment:<21}{row.metric:<21}{eps:>5}  {ours:<24}{row.seed_value}")
    return "\n".join(lines)
