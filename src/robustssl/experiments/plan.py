"""An experiment file expanded into a DAG of concrete stages (SPEC.md §9, issue 7).

Each stage is one pretraining run, one finetuning run or one evaluation, with its resolved and
validated config. Its id is a hash of what determines its numbers: the config without display /
location keys (:data:`robustssl.runs.compare.DISPLAY_KEYS`: name, output dir, data root, progress
bars, device; the upstream run's path, known by its id) plus the ids of the stages it
depends on — so identical stages (two entries asking for the same run) collapse into one, a
finetune stage points at its pretrain stage's run directory, and renaming or moving a study
keeps every id. Run directories: ``<study>/runs/pretrain/<entry>-<hash>``,
``<study>/runs/finetune/<pretrain entry>-<protocol>-<hash>``; an evaluation writes
``<finetune run>/evaluation/<entry>-<hash>/``.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel

from robustssl.evaluation.config import EvaluateConfig
from robustssl.experiments.labels import labels_from_config
from robustssl.experiments.spec import (
    EntryBase,
    EvaluateEntry,
    Experiment,
    FinetuneEntry,
    flatten,
    set_dotted,
)
from robustssl.finetune.config import FinetuneConfig
from robustssl.finetune.protocols import get_protocol
from robustssl.methods.config import PretrainConfig
from robustssl.methods.init_from import STUDY_REF_PREFIX
from robustssl.runs import smoke
from robustssl.runs.compare import identity_config
from robustssl.runs.layout import evaluation_dir, study_runs
from robustssl.utils.config import ConfigError, validate_config
from robustssl.utils.config_files import read_config_file

REF_PREFIX = STUDY_REF_PREFIX
HASH_CHARS = 8
KIND_ORDER = {"pretrain": 0, "finetune": 1, "evaluate": 2}
E = TypeVar("E", bound=EntryBase)


@dataclass(frozen=True)
class Stage:
    """One concrete stage. ``path`` is the run directory (pretrain / finetune) or the
    evaluation folder; ``target`` is the finetune run an evaluation reads."""

    id: str
    kind: str
    name: str
    entry: str
    seed: int
    axes: dict[str, Any]
    config: dict[str, Any]
    deps: tuple[str, ...]
    path: Path
    labels: dict[str, Any]
    target: Path | None = None

    @property
    def store_name(self) -> str:
        """The stage's name in the results store (unique per kind)."""
        return f"{self.target.name}/{self.name}" if self.target is not None else self.name

    def describe(self) -> str:
        """``kind entry [axis=value, ...]`` for plans and progress bars."""
        axes = ", ".join(f"{k}={_short(v)}" for k, v in self.axes.items())
        return f"{self.kind} {self.entry} [{axes}]"


@dataclass
class Plan:
    """The stages of an experiment in dependency order (a stage comes after its deps)."""

    experiment: Experiment
    stages: list[Stage] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._by_id = {s.id: s for s in self.stages}

    def __len__(self) -> int:
        return len(self.stages)

    def __iter__(self) -> Iterator[Stage]:
        return iter(self.stages)

    def get(self, stage_id: str) -> Stage:
        return self._by_id[stage_id]

    def add(self, stage: Stage) -> Stage:
        """Add ``stage`` unless an identical one (same id) is there; returns the kept one."""
        if stage.id in self._by_id:
            return self._by_id[stage.id]
        self.stages.append(stage)
        self._by_id[stage.id] = stage
        return stage

    def dependents(self, stage_id: str) -> list[Stage]:
        """Every stage that needs ``stage_id``, directly or through others (plan order)."""
        found: set[str] = {stage_id}
        out = []
        for s in self.stages:
            if any(d in found for d in s.deps):
                found.add(s.id)
                out.append(s)
        return out

    def of_kind(self, kind: str) -> list[Stage]:
        return [s for s in self.stages if s.kind == kind]


def _short(value: Any) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def stage_hash(kind: str, semantic: dict[str, Any], deps: tuple[str, ...]) -> str:
    """The stable id: kind, the config's semantic part and the dependencies' ids."""
    body = json.dumps({"kind": kind, "config": semantic, "deps": sorted(deps)}, sort_keys=True)
    return hashlib.sha1(body.encode()).hexdigest()


def semantic(kind: str, dump: dict[str, Any], paths: dict[str, str]) -> dict[str, Any]:
    """``dump`` without the keys that do not change the numbers (one list for plans and
    ``--resume``: :mod:`robustssl.runs.compare`), dependency run-dir paths replaced by stage
    ids."""
    return identity_config(kind, _replace_paths(copy.deepcopy(dump), paths))


def _replace_paths(node: Any, paths: dict[str, str]) -> Any:
    if isinstance(node, dict):
        return {k: _replace_paths(v, paths) for k, v in node.items()}
    if isinstance(node, list):
        return [_replace_paths(v, paths) for v in node]
    if isinstance(node, str) and node in paths:
        return f"@stage:{paths[node]}"
    return node


def _validate(model: type[BaseModel], raw: dict[str, Any], where: str) -> dict[str, Any]:
    try:
        return validate_config(raw, model).model_dump(mode="json")
    except ConfigError as err:
        raise ConfigError(f"{where}: {err}") from None
    except ValueError as err:  # e.g. an unknown protocol raised outside pydantic
        raise ConfigError(f"{where}: {err}") from None


def _grid(entry: EntryBase) -> list[dict[str, Any]]:
    keys = list(entry.grid)
    return [
        dict(zip(keys, values, strict=True)) for values in itertools.product(*entry.grid.values())
    ]


def _where(kind: str, entry: str, axes: dict[str, Any]) -> str:
    shown = ", ".join(f"{k}={_short(v)}" for k, v in axes.items())
    return f"{kind}.{entry} [{shown}]"


class _Expander:
    """Builds the plan kind by kind; ``runs[(kind, entry, seed)]`` lists each entry's stages."""

    def __init__(self, exp: Experiment) -> None:
        self.exp = exp
        self.cfg = exp.config
        self.plan = Plan(exp)
        self.runs: dict[tuple[str, str, int], list[Stage]] = {}

    def base(self, kind: str, name: str, entry: EntryBase) -> dict[str, Any]:
        """Base config → experiment data defaults → ``defaults.<kind>`` → entry overrides."""
        where = f"{kind}.{name}"
        if isinstance(entry.config, str):
            raw = read_config_file(self.exp.config_path(entry.config, where), where)
        else:
            raw = copy.deepcopy(entry.config or {})
        data: list[tuple[str, Any]] = []
        if self.cfg.data.root is not None:
            data.append(("data.root", self.cfg.data.root))
        if self.cfg.data.download and kind != "evaluate":
            data.append(("data.download", True))
        set_dotted(raw, data, where)
        set_dotted(raw, flatten(getattr(self.cfg.defaults, kind), f"defaults.{kind}"), where)
        return set_dotted(raw, flatten(entry.overrides, f"{where}.overrides"), where)

    def validated(
        self, kind: str, model: type[BaseModel], raw: dict[str, Any], where: str
    ) -> dict[str, Any]:
        """The validated config dump; in a smoke study shrunk by the smoke rule (before the
        stage id is computed, so smoke stages never share a run directory with real ones)."""
        dump = _validate(model, raw, where)
        return _validate(model, smoke.shrink(kind, dump), where) if self.exp.smoke else dump

    def remember(self, kind: str, entry: str, seed: int, stage: Stage) -> None:
        kept = self.plan.add(stage)
        found = self.runs.setdefault((kind, entry, seed), [])
        if kept not in found:
            found.append(kept)

    # -- pretraining --------------------------------------------------------------------------

    def pretrain(self) -> None:
        out_dir = study_runs(self.exp.study_dir, "pretrain")
        for seed in self.cfg.seeds:
            for name in _pretrain_order(self):
                entry = self.cfg.pretrain[name]
                for point in _grid(entry):
                    axes = {"seed": seed, **point}
                    where = _where("pretrain", name, axes)
                    raw = set_dotted(self.base("pretrain", name, entry), list(point.items()), where)
                    raw, deps = self.resolve_refs(raw, seed, where)
                    raw.update(seed=seed, name="stage", output_dir=str(out_dir))
                    dump = self.validated("pretrain", PretrainConfig, raw, where)
                    paths = {str(self.plan.get(d).path): d for d in deps}
                    digest = stage_hash("pretrain", semantic("pretrain", dump, paths), deps)
                    run_name = f"{name}-{digest[:HASH_CHARS]}"
                    dump["name"] = run_name
                    labels = labels_from_config(dump)
                    labels["method"] = entry.label or name
                    stage = Stage(
                        f"pretrain-{digest[:12]}",
                        "pretrain",
                        run_name,
                        entry=name,
                        seed=seed,
                        axes=axes,
                        config=dump,
                        deps=deps,
                        path=out_dir / run_name,
                        labels=labels,
                    )
                    self.remember("pretrain", name, seed, stage)

    def resolve_refs(
        self, raw: dict[str, Any], seed: int, where: str
    ) -> tuple[dict[str, Any], tuple[str, ...]]:
        """``"@pretrain:<entry>"`` strings → that entry's run dir for ``seed``, and the deps."""
        deps: list[str] = []

        def swap(node: Any) -> Any:
            if isinstance(node, dict):
                return {k: swap(v) for k, v in node.items()}
            if isinstance(node, list):
                return [swap(v) for v in node]
            if isinstance(node, str) and node.startswith(REF_PREFIX):
                ref = node[len(REF_PREFIX) :]
                found = self.runs.get(("pretrain", ref, seed), [])
                if len(found) != 1:
                    raise ConfigError(
                        f"{where}: {node!r} must name a pretrain entry with exactly one run per "
                        f"seed; {ref!r} has {len(found)} (known: {', '.join(self.cfg.pretrain)})"
                    )
                deps.append(found[0].id)
                return str(found[0].path)
            return node

        return swap(raw), tuple(dict.fromkeys(deps))

    # -- finetuning ---------------------------------------------------------------------------

    def downstream(
        self, upstream: str, entries: Mapping[str, E], names: Callable[[E], list[str]]
    ) -> Iterator[tuple[str, E, Stage, int]]:
        """(entry name, entry, upstream stage, seed) for every run of every upstream entry an
        entry names, seed by seed."""
        for seed in self.cfg.seeds:
            for name, entry in entries.items():
                for up_name in names(entry):
                    for up in self.runs.get((upstream, up_name, seed), []):
                        yield name, entry, up, seed

    def finetune(self) -> None:
        for args in self.downstream("pretrain", self.cfg.finetune, FinetuneEntry.pretrain_names):
            self.finetune_runs(*args)

    def finetune_runs(self, name: str, entry: FinetuneEntry, pre: Stage, seed: int) -> None:
        out_dir = study_runs(self.exp.study_dir, "finetune")
        base = self.base("finetune", name, entry)
        protocols: list[str | None] = [*entry.protocols] if entry.protocols else [None]
        fractions: list[float | None] = (
            [*entry.label_fractions] if entry.label_fractions else [None]
        )
        for protocol, fraction, point in itertools.product(protocols, fractions, _grid(entry)):
            pre_axes = {k: v for k, v in pre.axes.items() if k != "seed"}
            axes: dict[str, Any] = {"seed": seed, "pretrain": pre.entry, **pre_axes, **point}
            if protocol is not None:
                axes["protocol"] = protocol
            if fraction is not None:
                axes["label_fraction"] = fraction
            where = _where("finetune", name, axes)
            raw = set_dotted(copy.deepcopy(base), list(point.items()), where)
            if fraction is not None:
                set_dotted(raw, [("data.label_fraction", fraction)], where)
            if protocol is not None:
                raw["protocol"] = protocol
            _set_adversary(raw, entry, where)
            raw.update(seed=seed, name="stage", output_dir=str(out_dir), pretrained=str(pre.path))
            dump = self.validated("finetune", FinetuneConfig, raw, where)
            digest = stage_hash("finetune", semantic("finetune", dump, {}), (pre.id,))
            run_name = f"{pre.entry}-{dump['protocol']}-{digest[:HASH_CHARS]}"
            dump["name"] = run_name
            labels = {**pre.labels, "protocol": dump["protocol"]}
            if entry.label:
                labels["method"] = f"{pre.labels['method']} · {entry.label}"
            labels["label_fraction"] = float(dump["data"]["label_fraction"])
            stage = Stage(
                f"finetune-{digest[:12]}",
                "finetune",
                run_name,
                entry=name,
                seed=seed,
                axes=axes,
                config=dump,
                deps=(pre.id,),
                path=out_dir / run_name,
                labels=labels,
            )
            self.remember("finetune", name, seed, stage)

    # -- evaluation ---------------------------------------------------------------------------

    def evaluate(self) -> None:
        for args in self.downstream("finetune", self.cfg.evaluate, EvaluateEntry.finetune_names):
            self.evaluate_runs(*args)

    def evaluate_runs(self, name: str, entry: EvaluateEntry, ft: Stage, seed: int) -> None:
        if entry.seeds is not None and seed not in entry.seeds:
            return
        base = self.base("evaluate", name, entry)
        for threat, point in itertools.product(_threats(entry), _grid(entry)):
            axes = {"seed": seed, "finetune": ft.name, **point, **(threat or {})}
            axes.pop("eps_list", None)
            where = _where("evaluate", name, axes)
            raw = set_dotted(copy.deepcopy(base), list(point.items()), where)
            if threat is not None:
                raw["threats"] = {threat["norm"]: _threat_section(base, threat)}
            raw.update(seed=seed, name="stage")
            dump = self.validated("evaluate", EvaluateConfig, raw, where)
            digest = stage_hash("evaluate", semantic("evaluate", dump, {}), (ft.id,))
            eval_name = f"{name}-{digest[:HASH_CHARS]}"
            dump["name"] = eval_name
            stage = Stage(
                f"evaluate-{digest[:12]}",
                "evaluate",
                eval_name,
                entry=name,
                seed=seed,
                axes=axes,
                config=dump,
                deps=(ft.id,),
                path=evaluation_dir(ft.path, eval_name),
                labels=dict(ft.labels),
                target=ft.path,
            )
            self.remember("evaluate", name, seed, stage)


def _set_adversary(raw: dict[str, Any], entry: FinetuneEntry, where: str) -> None:
    """SLF / SFF train on clean data (no adversary); ALF / AFF (and partial, when given) take
    the entry's ``adversary`` (else the base config's)."""
    try:
        protocol = get_protocol(str(raw.get("protocol", "slf")))
    except ValueError as err:
        raise ConfigError(f"{where}: {err}") from None
    if protocol.adversarial == "never":
        raw["adversary"] = None
    elif entry.adversary is not None:
        raw["adversary"] = copy.deepcopy(entry.adversary)


def _threats(entry: EvaluateEntry) -> list[dict[str, Any] | None]:
    """One dict (norm, eps, eps_list) per threat model × ε_test; [None] = the config's threats."""
    out: list[dict[str, Any] | None] = []
    for norm, grid in entry.threat_grid().items():
        for eps in grid.eps:
            out.append({"norm": norm, "eps": eps, "eps_list": grid.eps_list})
    return out or [None]


def _threat_section(base: dict[str, Any], threat: dict[str, Any]) -> dict[str, Any]:
    """The threat's section; without its own ``eps_list`` it keeps the base config's curve grid
    for that norm (when the base has one)."""
    section: dict[str, Any] = {"eps": threat["eps"]}
    base_threat = (base.get("threats") or {}).get(threat["norm"]) or {}
    eps_list = threat["eps_list"] if threat["eps_list"] is not None else base_threat.get("eps_list")
    if eps_list:
        section["eps_list"] = list(eps_list)
    return section


def _references(node: Any) -> set[str]:
    if isinstance(node, dict):
        return set().union(*(_references(v) for v in node.values())) if node else set()
    if isinstance(node, list):
        return set().union(*(_references(v) for v in node)) if node else set()
    if isinstance(node, str) and node.startswith(REF_PREFIX):
        return {node[len(REF_PREFIX) :]}
    return set()


def _pretrain_order(ex: _Expander) -> list[str]:
    """Pretrain entries with every ``@pretrain:`` reference before the entry that uses it."""
    needs: dict[str, set[str]] = {}
    for name, entry in ex.cfg.pretrain.items():
        refs = _references(ex.base("pretrain", name, entry)) | _references(entry.grid)
        unknown = sorted(refs - set(ex.cfg.pretrain))
        if unknown:
            raise ConfigError(
                f"pretrain.{name}: references {[REF_PREFIX + u for u in unknown]} name no pretrain "
                f"entry; known: {', '.join(ex.cfg.pretrain)}"
            )
        needs[name] = refs
    order: list[str] = []
    while len(order) < len(needs):
        ready = [n for n in needs if n not in order and needs[n] <= set(order)]
        if not ready:
            cycle = sorted(n for n in needs if n not in order)
            raise ConfigError(f"pretrain entries {cycle} reference each other in a cycle")
        order.append(ready[0])
    return order


def expand(exp: Experiment) -> Plan:
    """Every stage of ``exp``, validated (each error names the entry, the grid point, the key and
    the fix) before anything runs; identical stages appear once."""
    ex = _Expander(exp)
    ex.pretrain()
    ex.finetune()
    ex.evaluate()
    return ex.plan
