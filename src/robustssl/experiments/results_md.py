"""``report/results.md``: a study's tables as one Markdown document to publish beside the code
(docs/results/), headed by what produced them — the study, its seeds, how complete it is, the
compute its stages used — and followed by the gradient-masking checks' verdict.

The tables are the report's own (:func:`robustssl.experiments.tables.seed_tables`), each with
its settings caption, so a published number carries its attack, budget, n and seeds.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from robustssl.experiments.formats import Table, to_markdown

KINDS = ("pretrain", "finetune", "evaluate")


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:.2f} h" if seconds >= 360 else f"{seconds / 60:.1f} min"


def stage_summary(stages: Sequence[dict[str, Any]]) -> list[str]:
    """Lines saying how many stages are complete and the stage seconds per kind."""
    status = Counter(s["status"] for s in stages)
    done = status.get("complete", 0)
    lines = [f"- Stages: {done} of {len(stages)} complete" + _others(status) + "."]
    if done < len(stages):
        lines.append(
            f"- **INCOMPLETE**: {len(stages) - done} stages have not finished; cells they would "
            "fill are missing or hold fewer seeds (each cell states its n)."
        )
    secs = {k: sum(s["seconds"] or 0.0 for s in stages if s["kind"] == k) for k in KINDS}
    total = sum(secs.values())
    parts = ", ".join(f"{k} {_hours(v)}" for k, v in secs.items() if v)
    lines.append(
        f"- Compute: the stages' wall seconds sum to {_hours(total)} ({parts}); a resumed "
        "stage counts from its last start, and stages run in parallel (`--jobs`) overlap."
    )
    return lines


def _others(status: Counter[str]) -> str:
    rest = [f"{n} {k}" for k, n in sorted(status.items()) if k != "complete"]
    return f" ({', '.join(rest)})" if rest else ""


def findings_summary(findings: Sequence[dict[str, Any]]) -> list[str]:
    """The gradient-masking checks: how many ran and every warning, one line each."""
    if not findings:
        return ["No gradient-masking check was recorded (diagnostics off)."]
    warnings = [f for f in findings if f.get("info", {}).get("severity") == "warning"]
    lines = [
        f"{len(findings)} gradient-masking checks on {len({f['model'] for f in findings})} "
        f"models: {len(warnings)} warning{'' if len(warnings) == 1 else 's'}."
    ]
    lines += [
        f"- {w['model']} ({w['attack']}): {w.get('info', {}).get('message', '')}" for w in warnings
    ]
    return lines


def results_markdown(
    *,
    title: str,
    header: Sequence[str],
    tables: Sequence[Table],
    stages: Sequence[dict[str, Any]],
    findings: Sequence[dict[str, Any]],
) -> str:
    """The whole document: title, ``header`` lines (provenance), stage summary, tables,
    gradient-masking verdict."""
    parts = [f"# Results: {title}", "", *header, *stage_summary(stages), ""]
    if not tables:
        parts += ["No record fills a table yet.", ""]
    for t in tables:
        parts += [to_markdown(t)]
    parts += ["## Gradient-masking checks", "", *findings_summary(findings), ""]
    return "\n".join(parts)
