"""``robustssl run --dry-run``: the plan — every stage, whether it is already complete, will be
resumed or run, and an estimate of its cost — without writing anything."""

from __future__ import annotations

from robustssl.experiments.datacheck import missing_data
from robustssl.experiments.estimate import Estimator, format_seconds
from robustssl.experiments.plan import Plan
from robustssl.runs.layout import stage_state

ACTIONS = {"complete": "cached", "partial": "resume", "new": "run"}


def format_plan(plan: Plan, estimate: bool = True) -> str:
    """The plan as text: one line per stage, then totals and missing-data warnings."""
    exp = plan.experiment
    estimator = Estimator(plan) if estimate else None
    lines = []
    counts = {"cached": 0, "resume": 0, "run": 0}
    total, untimed = 0.0, 0
    width = max((len(s.describe()) for s in plan), default=10)
    for i, stage in enumerate(plan, 1):
        action = ACTIONS[stage_state(stage.kind, stage.path)]
        counts[action] += 1
        cost = ""
        if estimator is not None and action != "cached":
            est = estimator.estimate(stage)
            if est.seconds is None:
                untimed += 1
            else:
                total += est.seconds
            note = f" ({est.note})" if est.note else ""
            cost = f"{format_seconds(est.seconds)}{note}"
        lines.append(f"{i:>4}  {stage.describe():<{width}}  {action:<6}  {cost}")
        lines.append(f"      -> {stage.path}")
    head = (
        f"study {exp.config.name} -> {exp.study_dir}: {len(plan)} stages "
        f"({counts['cached']} cached, {counts['resume']} to resume, {counts['run']} to run)"
    )
    out = [head, *lines]
    if estimator is not None:
        extra = f"; {untimed} stages not timed" if untimed else ""
        out.append(
            f"estimated compute for the stages to run: ~{format_seconds(total)} one after "
            f"another on this machine{extra} (pretraining timed on a few steps; finetuning and "
            "evaluation rough)"
        )
    out += [f"warning: {msg}" for msg in missing_data(plan)]
    return "\n".join(out)
