"""Experiment files: one YAML file declares a study's pretrain → finetune → evaluate grid.

A study (SPEC.md §9, issue 7) names its stages by *entries*; each entry starts from a base config
(a file of ``configs/`` or an inline mapping), applies ``overrides`` and expands over ``grid``
axes (and, for finetuning, protocols × label fractions; for evaluation, threat models × ε_test).
Every seed of ``seeds`` repeats the whole chain. :func:`robustssl.experiments.plan.expand` turns
the file into a DAG of concrete stages. The format is described in ``docs/running.md``::

    name: my_study
    seeds: [0]
    pretrain:
      simclr: {config: fashion_mnist/simclr.yaml, overrides: {trainer.max_epochs: 2}}
      adv_simclr:
        config: fashion_mnist/adv_simclr.yaml
        grid: {method.adversary.eps: [0.05, 0.1]}       # ε_train (seed 002 Tables 5.1–5.7)
    finetune:
      linear:
        pretrain: [simclr, adv_simclr]
        config: fashion_mnist/finetune_slf.yaml
        protocols: [slf, alf]                           # seed 001 Tables 1–3
        adversary: {norm: Linf, eps: 0.1, steps: 5}     # for the adversarial protocols
    evaluate:
      robustness:
        finetune: [linear]
        config: fashion_mnist/evaluate.yaml
        threats: {Linf: [0.1]}                          # threat model × ε_test
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from robustssl.runs.layout import EXPERIMENT
from robustssl.utils.config import (
    ConfigError,
    StrictConfig,
    apply_overrides,
    parse_override,
    read_yaml,
    validate_config,
)
from robustssl.utils.config_files import find_config

NAME_PATTERN = r"^[A-Za-z0-9_.\-]+$"
RESOLVED_FROM = "# resolved from "  # first line of a study's experiment.yaml: the file it ran
STAGE_KINDS = ("pretrain", "finetune", "evaluate")


def flatten(overrides: Mapping[str, Any] | Sequence[str], where: str) -> list[tuple[str, Any]]:
    """``(dotted key, value)`` pairs of an overrides mapping (nested mappings are flattened:
    ``{trainer: {max_epochs: 2}}`` = ``{trainer.max_epochs: 2}``) or of ``key=value`` strings."""
    if isinstance(overrides, Mapping):
        out: list[tuple[str, Any]] = []
        for key, value in overrides.items():
            if isinstance(value, Mapping) and value:
                out += [(f"{key}.{k}", v) for k, v in flatten(value, f"{where}.{key}")]
            else:
                out.append((str(key), value))
        return out
    return [parse_override(str(item), f"{where}:") for item in overrides]


def set_dotted(raw: dict[str, Any], pairs: Sequence[tuple[str, Any]], where: str) -> dict[str, Any]:
    """``raw`` with each dotted key set (missing or null sections are created), errors naming
    ``where``. Values are copied, so one grid value never aliases another stage's config."""
    for key, value in pairs:
        node = raw
        parts = key.split(".")
        for part in parts[:-1]:
            if node.get(part) is None:
                node[part] = {}
            if not isinstance(node[part], dict):
                raise ConfigError(f"{where}: cannot set {key}: {part!r} is a value, not a section")
            node = node[part]
        node[parts[-1]] = copy.deepcopy(value)
    return raw


class EntryBase(StrictConfig):
    """What every entry has: the base ``config`` (a YAML file, relative to the experiment file,
    or an inline mapping; None = the defaults), ``overrides`` and ``grid`` axes."""

    config: str | dict[str, Any] | None = None
    overrides: dict[str, Any] | list[str] = Field(default_factory=dict)
    grid: dict[str, list[Any]] = Field(default_factory=dict)

    @field_validator("grid")
    @classmethod
    def _non_empty_axes(cls, grid: dict[str, list[Any]]) -> dict[str, list[Any]]:
        empty = [k for k, values in grid.items() if not values]
        if empty:
            raise ValueError(f"grid axes {empty} have no values; give each axis a list of values")
        return grid


class PretrainEntry(EntryBase):
    """A pretraining run (``robustssl.methods.PretrainConfig``). ``label`` names the method in the
    tables (default: the entry name). A string value ``"@pretrain:<entry>"`` anywhere in the
    config is replaced by that entry's run directory (same seed), e.g. for
    ``model.init_from`` (seed 003 P1/P2) or AdvCL's ``method.clusterfit.encoder``."""

    label: str | None = None


class FinetuneEntry(EntryBase):
    """Finetuning (``robustssl.finetune.FinetuneConfig``) of the named pretrain entries' runs.
    ``protocols`` and ``label_fractions`` are grid axes; ``adversary`` is the training attack
    of the adversarial protocols (ALF, AFF; removed for SLF / SFF). ``label`` is appended to the
    pretraining's label in the tables ("SimCLR · TRADES"), so two entries that finetune the same
    encoders with one protocol (e.g. ``loss: ce`` vs ``loss: trades``) get their own rows."""

    pretrain: str | list[str]
    label: str | None = None
    protocols: list[str] | None = None
    label_fractions: list[float] | None = None
    adversary: dict[str, Any] | None = None

    @field_validator("label_fractions")
    @classmethod
    def _fractions(cls, value: list[float] | None) -> list[float] | None:
        if value is not None and any(not 0 < f <= 1 for f in value):
            raise ValueError(f"label_fractions {value} must lie in (0, 1], e.g. [1.0, 0.1, 0.01]")
        return value

    def pretrain_names(self) -> list[str]:
        return [self.pretrain] if isinstance(self.pretrain, str) else list(self.pretrain)


class ThreatGrid(StrictConfig):
    """ε_test values of one norm (one evaluation stage each) and that norm's ε-curve grid."""

    eps: list[float | str] = Field(min_length=1)
    eps_list: list[float | str] | None = None


class EvaluateEntry(EntryBase):
    """Evaluation (``robustssl.evaluation.EvaluateConfig``) of the named finetune entries' runs.
    ``threats`` maps a norm to its ε_test values (``{Linf: [0.05, 0.1]}``) or to
    ``{eps: [...], eps_list: [...]}``; each (norm, ε) is one stage. Empty: the config's threats.
    ``seeds`` runs the entry for these of the study's seeds only (None: every seed), e.g. the
    costly AutoAttack on seed 0 while SA / RA cover three."""

    finetune: str | list[str]
    threats: dict[str, list[float | str] | ThreatGrid] = Field(default_factory=dict)
    seeds: list[int] | None = Field(None, min_length=1)

    def finetune_names(self) -> list[str]:
        return [self.finetune] if isinstance(self.finetune, str) else list(self.finetune)

    def threat_grid(self) -> dict[str, ThreatGrid]:
        return {
            norm: t if isinstance(t, ThreatGrid) else ThreatGrid(eps=list(t))
            for norm, t in self.threats.items()
        }


class DataDefaults(StrictConfig):
    """Set on every stage: ``root`` (None: ``$ROBUSTSSL_DATA``, ./data or Debian's copy) and
    ``download`` (fetch missing datasets through torchvision before the first stage)."""

    root: str | None = None
    download: bool = False

    @field_validator("root")
    @classmethod
    def _non_empty_root(cls, root: str | None) -> str | None:
        if root is not None and not root.strip():
            raise ValueError(
                "data.root is empty; give the folder holding the data, or leave it unset (null) "
                "for $ROBUSTSSL_DATA, ./data or Debian's copy"
            )
        return root


class StageDefaults(StrictConfig):
    """Overrides applied to every stage of a kind before the entry's own overrides."""

    pretrain: dict[str, Any] | list[str] = Field(default_factory=dict)
    finetune: dict[str, Any] | list[str] = Field(default_factory=dict)
    evaluate: dict[str, Any] | list[str] = Field(default_factory=dict)


class SlurmConfig(StrictConfig):
    """``--launcher slurm``: submitit's AutoExecutor. ``cluster`` None lets submitit choose
    (SLURM when ``sbatch`` is there); "local" runs jobs as local processes (tests); ``parameters``
    go to ``update_parameters`` (timeout_min, slurm_partition, gpus_per_node, cpus_per_task...)."""

    cluster: Literal["slurm", "local", "debug"] | None = None
    parameters: dict[str, Any] = Field(default_factory=lambda: {"timeout_min": 240})
    poll_seconds: float = Field(5.0, gt=0)


class ExperimentConfig(StrictConfig):
    """A study: its name and directory, seeds, data defaults and the three kinds of entries."""

    name: str = Field(pattern=NAME_PATTERN)
    description: str = ""
    study_dir: str | None = None  # default: studies/<name> (relative to the working directory)
    seeds: list[int] = Field(default_factory=lambda: [0], min_length=1)
    # The file's seeds and the override's, set when ``seeds=[...]`` on the command line runs some
    # of them: evaluate entries' ``seeds`` name seeds among these, and run on those of ``seeds``.
    all_seeds: list[int] | None = None
    data: DataDefaults = DataDefaults()
    defaults: StageDefaults = StageDefaults()
    slurm: SlurmConfig = SlurmConfig()
    pretrain: dict[str, PretrainEntry] = Field(default_factory=dict)
    finetune: dict[str, FinetuneEntry] = Field(default_factory=dict)
    evaluate: dict[str, EvaluateEntry] = Field(default_factory=dict)

    @field_validator("seeds")
    @classmethod
    def _distinct_seeds(cls, seeds: list[int]) -> list[int]:
        return _distinct("seeds", seeds)

    @model_validator(mode="after")
    def _names_and_references(self) -> ExperimentConfig:
        for kind in STAGE_KINDS:
            for name in getattr(self, kind):
                if not re.match(NAME_PATTERN, name):
                    raise ValueError(
                        f"{kind} entry name {name!r} may use letters, digits, '_', '.', '-' only"
                    )
        for name, ft in self.finetune.items():
            _check_refs(f"finetune.{name}.pretrain", ft.pretrain_names(), self.pretrain, "pretrain")
        for name, ev in self.evaluate.items():
            _check_refs(f"evaluate.{name}.finetune", ev.finetune_names(), self.finetune, "finetune")
            _check_seeds(f"evaluate.{name}.seeds", ev.seeds, self.all_seeds or self.seeds)
        if not self.pretrain:
            raise ValueError("no pretrain entries; add one, e.g. pretrain: {simclr: {config: ...}}")
        return self


def _check_refs(key: str, names: list[str], known: Mapping[str, Any], kind: str) -> None:
    if not names:
        raise ValueError(f"{key} is empty; name at least one {kind} entry")
    missing = [n for n in names if n not in known]
    if missing:
        raise ValueError(
            f"{key} names unknown {kind} entries {missing}; known {kind} entries: "
            f"{', '.join(known) or '(none)'} (fix the name or add the entry)"
        )


def _distinct(key: str, seeds: list[int]) -> list[int]:
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"{key} {seeds} repeats a seed; list each seed once")
    return seeds


def _check_seeds(key: str, entry_seeds: list[int] | None, seeds: list[int]) -> None:
    if entry_seeds is None:
        return
    _distinct(key, entry_seeds)
    unknown = [s for s in entry_seeds if s not in seeds]
    if unknown:
        raise ValueError(
            f"{key} {entry_seeds} names seeds {unknown} the study does not run (seeds: {seeds}); "
            "list a subset of them"
        )


@dataclass(frozen=True)
class Experiment:
    """A validated experiment file: the config, where it was read from (base configs are
    resolved relative to it) and the study directory (absolute)."""

    config: ExperimentConfig
    source: Path | None
    study_dir: Path
    smoke: bool = False  # every stage shrunk by robustssl.runs.smoke (--smoke)

    @property
    def base_dir(self) -> Path:
        return self.source.parent if self.source is not None else Path.cwd()

    def config_path(self, ref: str, where: str) -> Path:
        """A base config file: absolute, relative to the experiment file or to the cwd, else
        one shipped with robustssl (``robustssl.utils.config_files``)."""
        return find_config(ref, base_dirs=[self.base_dir], what=f"{where}.config: file")


def load_experiment(
    path: str | Path | None,
    overrides: Sequence[str] = (),
    raw: Mapping[str, Any] | None = None,
) -> Experiment:
    """Read an experiment file (or an inline ``raw`` mapping), apply ``key=value`` overrides
    (``seeds=[0,1]``, ``study_dir=/tmp/s``, ``pretrain.simclr.overrides.trainer.max_epochs=1``)
    and validate; every error names the key and the fix, before any compute. Overriding
    ``seeds`` runs those seeds' chains of the file, its entries as they are (``all_seeds``): an
    evaluate entry run on other seeds only has no stage (a seed per study directory)."""
    source = find_config(path, what="experiment file").resolve() if path is not None else None
    data = read_yaml(source, "experiment") if source is not None else copy.deepcopy(dict(raw or {}))
    file_seeds = copy.deepcopy(data.get("seeds", [0]))
    merged = apply_overrides(data, overrides)
    if any(str(item).partition("=")[0] == "seeds" for item in overrides):
        merged["all_seeds"] = _union(file_seeds, merged.get("seeds"))
    cfg = validate_config(merged, ExperimentConfig)
    study = Path(cfg.study_dir or Path("studies") / cfg.name).expanduser()
    return Experiment(cfg, source, study.resolve())


def study_experiment(study: Path, seeds: Sequence[int]) -> Experiment:
    """The experiment ``study`` last ran (its ``experiment.yaml``, base configs found as when it
    ran) for ``seeds`` instead of its own (``all_seeds`` keeps the file's)."""
    path = study / EXPERIMENT
    text = path.read_text() if path.is_file() else ""
    raw = read_yaml(path, "study") if text else None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path} is missing or empty: run the study (robustssl run) first")
    head = text.splitlines()[0]
    source = Path(head[len(RESOLVED_FROM) :]) if head.startswith(RESOLVED_FROM) else None
    known = raw.get("all_seeds") or raw.get("seeds")
    raw.update(seeds=sorted(seeds), study_dir=str(study), all_seeds=_union(known, list(seeds)))
    cfg = validate_config(raw, ExperimentConfig)
    return Experiment(cfg, source, study.resolve())


def _union(first: Any, second: Any) -> Any:
    """The seeds of both lists in order, first's first (either left as is when not a list:
    validation names the problem)."""
    if not isinstance(first, list) or not isinstance(second, list):
        return second
    return list(dict.fromkeys([*first, *second]))
