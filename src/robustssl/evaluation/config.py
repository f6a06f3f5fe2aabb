"""``EvaluateConfig``: what ``robustssl evaluate`` measures, validated before any compute.

YAML files live in ``configs/<dataset>/evaluate.yaml``; ``key.sub=value`` overrides as for
pretraining (``threats.Linf.eps=8/255``, ``data.n=200``). A wrong key, an unknown attack or
metric, or an ε that makes no sense for its norm fails here, naming the key and the fix.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from robustssl.attacks.checks import check_eps
from robustssl.attacks.step_size import StepRule
from robustssl.attacks.threat import canonical_norm
from robustssl.utils.config import StrictConfig, parse_fraction
from robustssl.utils.loggers import LoggerName

ATTACK_NAMES = ("fgsm", "pgd", "apgd-ce", "apgd-dlr", "apgd-t", "fab-t", "square", "aa")
BREAKDOWN_ATTACKS = ("fgsm", "pgd", "apgd-ce", "apgd-dlr", "aa")  # seed 000 Figure 14
EVAL_NORMS = ("Linf", "L2")


def check_attack(name: str, key: str, allowed: tuple[str, ...] = ATTACK_NAMES) -> str:
    if name not in allowed:
        raise ValueError(f"{key}: unknown attack {name!r}; known attacks: {', '.join(allowed)}")
    return name


class EvalDataConfig(StrictConfig):
    """The test data: the first ``n`` points of ``split`` (None = all), as RobustBench does."""

    dataset: str | None = None  # default: the dataset the classifier was finetuned on
    root: str | None = None
    split: str = "test"
    n: int | None = Field(1000, ge=1)
    batch_size: int = Field(256, ge=1)
    image_size: int | None = Field(None, ge=1)  # default: the finetune run's image_size
    convert_channels: bool | None = None  # gray↔RGB to fit the model; None: as finetuned


class ThreatConfig(StrictConfig):
    """One norm's test radius ``eps`` and the ``eps_list`` of its ε-curve (empty: a default grid
    around ``eps``, see :meth:`curve_eps`)."""

    eps: float
    eps_list: list[float] = Field(default_factory=list)

    _parse = field_validator("eps", mode="before")(parse_fraction)

    def curve_eps(self, norm: str) -> list[float]:
        """``eps_list``, or by default 0, ε/4, ε/2, 3ε/4, ε, 1.5ε, 2ε (L∞: those below 1)."""
        if self.eps_list:
            return list(self.eps_list)
        grid = [f * self.eps for f in (0, 0.25, 0.5, 0.75, 1, 1.5, 2)]
        return [e for e in grid if norm != "Linf" or e < 1]

    @field_validator("eps_list", mode="before")
    @classmethod
    def _parse_list(cls, value: Any) -> Any:
        return [parse_fraction(v) for v in value] if isinstance(value, list) else value


class PGDConfig(StrictConfig):
    """PGD for RA (seed 001 §5 and seed 003 §4.2: 20 steps at test time). ``step_size`` None
    follows ``step_size_rule`` (robustssl.attacks.step_size): "auto" (L∞ ε/4, i.e. 2/255 at 8/255;
    L2 2.5ε/steps), "seed003" (L2 ε²/steps as the seed writes it) or
    "madry" (2.5ε/steps)."""

    steps: int = Field(20, ge=1)
    step_size: float | None = Field(None, gt=0)
    step_size_rule: StepRule = "auto"
    restarts: int = Field(1, ge=1)
    loss: Literal["ce", "dlr", "margin"] = "ce"


class APGDConfig(StrictConfig):
    steps: int = Field(100, ge=1)  # the official APGD-CE / APGD-DLR (seed 000 §4.2)
    restarts: int = Field(1, ge=1)


class AutoAttackConfig(StrictConfig):
    version: Literal["standard", "plus", "rand"] = "standard"


class SquareConfig(StrictConfig):
    queries: int = Field(5000, ge=1)


class AttackParams(StrictConfig):
    """Parameters of every attack the suite can run."""

    pgd: PGDConfig = PGDConfig()
    apgd: APGDConfig = APGDConfig()
    autoattack: AutoAttackConfig = AutoAttackConfig()
    square: SquareConfig = SquareConfig()
    model_mode: Literal["eval", "train"] = "eval"


class RepresentationConfig(StrictConfig):
    """‖f(x_adv) − f(x)‖₂ (seed 000 Tables 2–3) for the encoder output (``layers`` empty) or named
    layers, with x_adv from ``attack`` on the classifier; t-SNE (seed 002 §5.4) of
    ``tsne_layers`` on the first ``tsne_n`` points."""

    attack: str = "pgd"
    layers: list[str] = Field(default_factory=list)
    tsne_layers: list[str] = Field(default_factory=list)
    perplexity: float = Field(40.0, gt=0)  # seed 002 uses 35 and 50
    tsne_n: int = Field(500, ge=2)

    @field_validator("attack")
    @classmethod
    def _attack(cls, value: str) -> str:
        return check_attack(value, "representation.attack")


class LipschitzConfig(StrictConfig):
    """Empirical local Lipschitz constant of the encoder in a ball of ``radius`` (``norm``)."""

    norm: Literal["L2", "Linf"] = "L2"
    radius: float = Field(0.1, gt=0)
    steps: int = Field(20, ge=1)
    restarts: int = Field(1, ge=1)
    n: int = Field(100, ge=1)


class CorruptionConfig(StrictConfig):
    """Corruption robustness (seed 003 §4.4) at ``severities``: the ``names`` families generated
    on the test subset ("all" = the 15), or, with ``cifar_c_dir``, read from a CIFAR-10-C /
    CIFAR-100-C directory (names empty or "all" = the 15; its 4 extra files may be named)."""

    names: list[str] | Literal["all"] = Field(default_factory=list)
    severities: list[int] = Field(default_factory=lambda: [1, 2, 3, 4, 5])
    cifar_c_dir: str | None = None
    attacked: bool = True  # also RA under PGD at each threat's ε

    @field_validator("severities")
    @classmethod
    def _severities(cls, value: list[int]) -> list[int]:
        bad = [s for s in value if not 1 <= s <= 5]
        if bad or not value:
            raise ValueError(f"severities must be a non-empty list of 1..5, got {value}")
        return value


class DiagnosticsConfig(StrictConfig):
    """Gradient-masking checks (robustssl.attacks.check_gradient_masking) at each threat's ε."""

    enabled: bool = True
    n_points: int = Field(200, ge=1)
    steps: int = Field(10, ge=1)
    more_steps: int = Field(100, ge=1)
    restarts: int = Field(2, ge=1)
    queries: int = Field(1000, ge=1)


class EvaluateConfig(StrictConfig):
    """Everything ``robustssl evaluate`` does; results go to ``<run>/evaluation/<name>/``."""

    name: str = "default"
    seed: int = 0
    smoke: bool = False  # shrunk by --smoke (robustssl.runs.smoke): never a result
    device: str = "auto"
    progress: bool = True
    logger: LoggerName | None = None  # the final metrics to csv/tensorboard/wandb too
    data: EvalDataConfig = EvalDataConfig()
    threats: dict[str, ThreatConfig] = Field(
        default_factory=lambda: {"Linf": ThreatConfig(eps=8 / 255)}
    )
    metrics: list[str] = Field(
        default_factory=lambda: ["sa", "ra", "aa", "curve", "breakdown", "classification"]
    )
    ra_attack: str = "pgd"
    curve_attack: str = "pgd"
    breakdown: list[str] = Field(default_factory=lambda: list(BREAKDOWN_ATTACKS))
    attacks: AttackParams = AttackParams()
    representation: RepresentationConfig = RepresentationConfig()
    lipschitz: LipschitzConfig = LipschitzConfig()
    corruptions: CorruptionConfig = CorruptionConfig()
    diagnostics: DiagnosticsConfig = DiagnosticsConfig()

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not value or "/" in value or "\\" in value or value in (".", ".."):
            raise ValueError(f"name {value!r} must be a plain folder name (no slashes)")
        return value

    @field_validator("metrics")
    @classmethod
    def _metrics(cls, value: list[str]) -> list[str]:
        from robustssl.evaluation.metrics import metric_names  # the registry imports this module

        known = metric_names()
        unknown = [m for m in value if m not in known]
        if unknown:
            raise ValueError(f"unknown metrics {unknown}; known metrics: {', '.join(known)}")
        return value

    @field_validator("ra_attack")
    @classmethod
    def _ra_attack(cls, value: str) -> str:
        return check_attack(value, "ra_attack")

    @field_validator("curve_attack")
    @classmethod
    def _curve_attack(cls, value: str) -> str:
        curve_ok = tuple(a for a in ATTACK_NAMES if a != "aa")
        if value == "aa":
            raise ValueError(
                "curve_attack 'aa': AutoAttack is not swept over ε (run it per ε with metric "
                f"'aa'); use one of {', '.join(curve_ok)}"
            )
        return check_attack(value, "curve_attack", curve_ok)

    @field_validator("breakdown")
    @classmethod
    def _breakdown(cls, value: list[str]) -> list[str]:
        for name in value:
            check_attack(name, "breakdown")
        return value

    @field_validator("threats", mode="before")
    @classmethod
    def _threat_keys(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        out = {}
        for key, threat in value.items():
            norm = canonical_norm(key)
            if norm not in EVAL_NORMS:
                raise ValueError(f"threats: norm {key!r} is not evaluated; use {EVAL_NORMS}")
            out[norm] = threat
        return out

    @model_validator(mode="after")
    def _check(self) -> EvaluateConfig:
        from robustssl.evaluation.metrics import get_metric

        metrics = [get_metric(key) for key in self.metrics]
        if not self.threats and any(m.needs_threat for m in metrics):
            raise ValueError("threats is empty; add one, e.g. threats.Linf.eps=8/255")
        for norm, threat in self.threats.items():
            check_eps(norm, threat.eps, name=f"threats.{norm}.eps", config=True)
            for e in threat.eps_list:
                check_eps(norm, e, name=f"threats.{norm}.eps_list", config=True, allow_zero=True)
        for metric in metrics:  # each metric's own config checks
            if metric.validate is not None:
                metric.validate(self)
        return self

    def corruption_list(self) -> list[str]:
        """The corruption families to run ("all" or none: the 15 of Hendrycks & Dietterich)."""
        names = self.corruptions.names
        if names == "all" or not names:
            from robustssl.data.corruptions import corruption_names

            return list(corruption_names())
        return list(names)
