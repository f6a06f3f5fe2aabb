"""Robustness of a classifier over a test set: SA, RA, AA, ε-curves and per-attack breakdowns.

- SA / RA / AA as in seed 001 §5: standard accuracy, accuracy under PGD-20 and under AutoAttack
  "standard", for L∞ and L2. A point is robust when it is classified correctly both clean and
  at its x_adv (as AutoAttack counts), so RA ≤ SA always.
- PGD's step size follows the ``auto`` rule of :mod:`robustssl.attacks.step_size` by default:
  L∞ α = ε/4 as seed 003 §4.2 (2/255 at ε = 8/255); L2 α = 2.5·ε/steps (Madry et al.). Seed 003
  prints L2 α = "ε²/#steps" (citing Salman et al.'s supplement), which would let 20 steps at
  ε = 0.5 travel only 0.25; that literal rule is ``step_size_rule: seed003``.
- ε-curves use the pruned sweep :func:`robustssl.attacks.robust_accuracy_curve` (seed 003
  Tables 2–3, seed 002 ε_train × ε_test tables).
- The per-attack breakdown of seed 000 Figure 14 (FGSM, PGD, APGD-CE, APGD-DLR, AA) runs each
  attack on all points at one ε, plus ``worst_case``: robust to every attack listed.

:class:`AttackRunner` batches the work over the test set (tqdm bars) and caches x_adv per
(attack, norm, ε), so RA, the breakdown, attacked metrics and representation analysis share runs.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import torch
from torch import Tensor, nn

from robustssl.attacks import (
    Attack,
    AutoAttack,
    AutoAttackResult,
    RobustnessCurve,
    attack_mode,
    check_batch,
    robust_accuracy_curve,
)
from robustssl.attacks.build import build_attack
from robustssl.attacks.step_size import pgd_step_size
from robustssl.evaluation.config import ATTACK_NAMES, AttackParams, check_attack
from robustssl.evaluation.records import EvalRecord, RecordContext
from robustssl.utils import mix_seed
from robustssl.utils.progress import tqdm


def suite_attack(
    name: str, model: nn.Module, norm: str, eps: float, params: AttackParams, seed: int = 0
) -> Attack:
    """The suite's attack ``name`` (any of ATTACK_NAMES except "aa", which is a run over the
    whole set: see :meth:`AttackRunner.x_adv`) with the config's settings, from the one attack
    builder :func:`robustssl.attacks.build.build_attack`."""
    check_attack(name, "attack", tuple(a for a in ATTACK_NAMES if a != "aa"))
    p = params.pgd
    options: dict[str, Any] = {}
    if name == "pgd":
        options = {"steps": p.steps, "step_size": p.step_size, "restarts": p.restarts}
        options.update(loss=p.loss, step_size_rule=p.step_size_rule)
    elif name.startswith("apgd-"):
        options = {"steps": params.apgd.steps, "n_restarts": params.apgd.restarts}
    elif name == "square":
        options = {"n_queries": params.square.queries}
    return build_attack(name, model, norm, eps, seed=seed, model_mode=params.model_mode, **options)


def batch_seed(seed: int, start: int) -> int:
    """The attack seed for the batch starting at ``start``: ``seed`` itself for the first batch
    (so a single batch equals the attack run directly), a mixed seed for the others."""
    return seed if start == 0 else mix_seed(seed, start)


class AttackRunner:
    """Attacks on one test set (x in [0,1], y) with x_adv cached per (attack, norm, ε)."""

    def __init__(
        self,
        model: nn.Module,
        x: Tensor,
        y: Tensor,
        params: AttackParams | None = None,
        seed: int = 0,
        batch_size: int = 256,
        progress: bool = True,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be ≥ 1, got {batch_size}")
        check_batch(model, x, y)  # the attacks' shared checks: labels, dtype, NaN, empty
        self.model, self.x, self.y = model, x.detach(), y
        self.params, self.seed = params or AttackParams(), seed
        self.batch_size, self.progress = batch_size, progress
        self._x_adv: dict[tuple[str, str, float], Tensor] = {}
        self.aa_results: dict[tuple[str, float], AutoAttackResult] = {}
        self._clean: Tensor | None = None

    @property
    def n(self) -> int:
        return len(self.y)

    def logits(self, x: Tensor) -> Tensor:
        """Batched logits in the attack's model mode (flags restored afterwards)."""
        with attack_mode(self.model, self.params.model_mode), torch.no_grad():
            return torch.cat([self.model(c) for c in x.split(self.batch_size)])

    def correct(self, x: Tensor) -> Tensor:
        return self.logits(x).argmax(1) == self.y

    @property
    def clean_correct(self) -> Tensor:
        if self._clean is None:
            self._clean = self.correct(self.x)
        return self._clean

    def attack_config(self, name: str, norm: str, eps: float) -> dict[str, Any]:
        """Every setting of attack ``name`` as run here (the record's ``attack_config``): the
        attack's own :meth:`~robustssl.attacks.Attack.settings` plus the batch size, which
        decides the per-batch random draws. ``worst_case`` lists the breakdown's attacks."""
        if name == "aa":
            settings = self._autoattack(norm, eps).settings()
        else:
            attack = suite_attack(name, self.model, norm, eps or 1e-3, self.params, self.seed)
            settings = {**attack.settings(), "batch_size": self.batch_size}
        return {"name": name, **settings}

    def x_adv(self, name: str, norm: str, eps: float) -> Tensor:
        """Adversarial examples of ``name`` at (norm, ε) for every point (cached)."""
        key = (name, norm, float(eps))
        if key not in self._x_adv:
            self._x_adv[key] = self._aa(norm, eps) if name == "aa" else self._batched(*key)
        return self._x_adv[key]

    def robust(self, name: str, norm: str, eps: float) -> Tensor:
        """(n,) bool: correct on x and on x_adv of ``name``."""
        return self.clean_correct & self.correct(self.x_adv(name, norm, eps))

    def accuracy(self, name: str | None = None, norm: str = "Linf", eps: float = 0.0) -> float:
        """SA when ``name`` is None, else the robust accuracy under ``name`` at (norm, ε)."""
        mask = self.clean_correct if name is None else self.robust(name, norm, eps)
        return _mean(mask)

    def curve(self, name: str, norm: str, eps_list: Sequence[float]) -> RobustnessCurve:
        """The pruned ε-sweep of ``name``, batch by batch (robust masks concatenated)."""
        top = max([e for e in eps_list if e > 0], default=0.0)
        attack = suite_attack(name, self.model, norm, top or 1e-3, self.params, self.seed)
        curves = []
        for start, xb, yb in self._batches(f"ε-curve {name} {norm}"):
            attack.seed = batch_seed(self.seed, start)
            curves.append(robust_accuracy_curve(self.model, xb, yb, attack, eps_list, False))
        robust = torch.cat([c.robust for c in curves], dim=1)
        acc = robust.double().mean(1).tolist()
        return RobustnessCurve(curves[0].eps, acc, robust, self.n, name, curves[0].norm)

    def _batches(self, desc: str) -> Iterator[tuple[int, Tensor, Tensor]]:
        starts = range(0, self.n, self.batch_size)
        # shown even for one batch: a single batch of a strong attack can take minutes
        bar = tqdm(starts, desc=desc, disable=not self.progress, leave=False, unit="batch")
        for s in bar:
            yield s, self.x[s : s + self.batch_size], self.y[s : s + self.batch_size]

    @contextmanager
    def step(self, desc: str) -> Iterator[None]:
        """Progress of one unbatched evaluation step (e.g. the diagnostics): start and end."""
        bar = tqdm(total=1, desc=desc, disable=not self.progress, leave=False, unit="step")
        yield  # no "done" line when the step raises
        bar.update(1)
        bar.close()

    def _batched(self, name: str, norm: str, eps: float) -> Tensor:
        attack = suite_attack(name, self.model, norm, eps, self.params, self.seed)
        out = []
        for start, xb, yb in self._batches(f"{name} {norm} ε={eps:.4g}"):
            batch_attack = copy.copy(attack)
            batch_attack.seed = batch_seed(self.seed, start)
            out.append(batch_attack(xb, yb))
        return torch.cat(out) if out else self.x.clone()

    def _autoattack(self, norm: str, eps: float) -> AutoAttack:
        return AutoAttack(
            self.model,
            norm,
            eps,
            version=self.params.autoattack.version,
            seed=self.seed,
            batch_size=self.batch_size,
            progress=self.progress,
            model_mode=self.params.model_mode,
        )

    def _aa(self, norm: str, eps: float) -> Tensor:
        result = self._autoattack(norm, eps).run(self.x, self.y)
        self.aa_results[(norm, float(eps))] = result
        return result.x_adv


def _mean(mask: Tensor) -> float:
    return float(mask.double().mean()) if len(mask) else math.nan


def attack_breakdown(
    runner: AttackRunner, norm: str, eps: float, attacks: Sequence[str]
) -> dict[str, float]:
    """Robust accuracy under each attack at (norm, ε) (seed 000 Figure 14), plus "clean" and
    "worst_case" (robust to all of them, so never above any single attack)."""
    worst = runner.clean_correct.clone()
    out = {"clean": _mean(worst)}
    for name in attacks:
        mask = runner.robust(name, norm, eps)
        out[name] = _mean(mask)
        worst &= mask
    out["worst_case"] = _mean(worst)
    return out


def robustness_records(
    runner: AttackRunner,
    ctx: RecordContext,
    norm: str,
    eps: float,
    metrics: Sequence[str],
    ra_attack: str = "pgd",
    eps_list: Sequence[float] = (),
    curve_attack: str = "pgd",
    breakdown: Sequence[str] = (),
) -> list[EvalRecord]:
    """Records of RA / AA / curve / breakdown at one threat model, in that order (SA is
    norm-free: see :func:`clean_record`). The suite runs each through its registry entry
    (:mod:`robustssl.evaluation.metrics`); this is the same for direct use."""
    records = ra_records(runner, ctx, norm, eps, ra_attack) if "ra" in metrics else []
    if "aa" in metrics:
        records += aa_records(runner, ctx, norm, eps)
    if "curve" in metrics:
        records += curve_records(runner, ctx, norm, eps, eps_list=eps_list, attack=curve_attack)
    if "breakdown" in metrics:
        records += breakdown_records(runner, ctx, norm, eps, breakdown)
    return records


def ra_records(
    runner: AttackRunner, ctx: RecordContext, norm: str, eps: float, attack: str = "pgd"
) -> list[EvalRecord]:
    """RA under ``attack`` at (norm, ε) (seed 001 §5: PGD-20), with PGD's resolved steps."""
    return [
        ctx.record(
            "ra",
            runner.accuracy(attack, norm, eps),
            runner.n,
            norm=norm,
            eps=eps,
            attack=attack,
            attack_config=runner.attack_config(attack, norm, eps),
            info=_attack_info(runner, attack, norm, eps),
        )
    ]


def curve_records(
    runner: AttackRunner,
    ctx: RecordContext,
    norm: str,
    eps: float,
    eps_list: Sequence[float],
    attack: str = "pgd",
) -> list[EvalRecord]:
    """One ``accuracy`` record per ε of the pruned sweep of ``attack`` (none for no ε)."""
    if not eps_list:
        return []
    curve = runner.curve(attack, norm, eps_list)
    config = runner.attack_config(attack, norm, eps)
    return [
        ctx.record(
            "accuracy",
            a,
            runner.n,
            norm=norm,
            eps=e,
            attack=attack,
            attack_config=config,
            tags={"sweep": "pruned"},
            info=_attack_info(runner, attack, norm, e),
        )
        for e, a in zip(curve.eps, curve.accuracy, strict=True)
    ]


def breakdown_records(
    runner: AttackRunner, ctx: RecordContext, norm: str, eps: float, attacks: Sequence[str]
) -> list[EvalRecord]:
    """One ``breakdown`` record per attack and ``worst_case`` (seed 000 Figure 14)."""
    if not attacks:
        return []
    accs = attack_breakdown(runner, norm, eps, attacks)
    configs = {k: runner.attack_config(k, norm, eps) for k in attacks}
    configs["worst_case"] = {"name": "worst_case", "of": [configs[k] for k in attacks]}
    return [
        ctx.record("breakdown", v, runner.n, norm=norm, eps=eps, attack=k, attack_config=configs[k])
        for k, v in accs.items()
        if k != "clean"
    ]


def clean_record(runner: AttackRunner, ctx: RecordContext) -> EvalRecord:
    """Standard accuracy (SA, seed 001 §5)."""
    return ctx.record("sa", runner.accuracy(), runner.n)


def aa_records(runner: AttackRunner, ctx: RecordContext, norm: str, eps: float) -> list[EvalRecord]:
    """AA at (norm, ε) with the per-stage accuracies and times of the AutoAttack run."""
    value = runner.accuracy("aa", norm, eps)
    result = runner.aa_results.get((norm, float(eps)))
    stages = dict(result.accuracy) if result is not None else {}
    seconds = dict(result.seconds) if result is not None else {}
    info = {"version": runner.params.autoattack.version, "stages": stages, "seconds": seconds}
    config = runner.attack_config("aa", norm, eps)
    return [
        ctx.record(
            "aa", value, runner.n, norm=norm, eps=eps, attack="aa", attack_config=config, info=info
        )
    ]


def _attack_info(runner: AttackRunner, name: str, norm: str, eps: float) -> dict[str, object]:
    if name != "pgd":
        return {}
    p = runner.params.pgd
    step = (
        p.step_size
        if p.step_size is not None
        else pgd_step_size(norm, eps, p.steps, p.step_size_rule)
    )
    return {"steps": p.steps, "step_size": step, "restarts": p.restarts, "loss": p.loss}


def standard_accuracy(model: nn.Module, x: Tensor, y: Tensor, batch_size: int = 256) -> float:
    """SA of ``model`` on (x, y), batched, in eval mode."""
    return AttackRunner(model, x, y, batch_size=batch_size, progress=False).accuracy()


def robust_accuracy(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    norm: str,
    eps: float,
    attack: str = "pgd",
    params: AttackParams | None = None,
    seed: int = 0,
    batch_size: int = 256,
) -> float:
    """RA under ``attack`` (PGD-20 by default; "aa" for AutoAttack) at (norm, ε)."""
    runner = AttackRunner(model, x, y, params, seed, batch_size, progress=False)
    return runner.accuracy(attack, norm, eps)
