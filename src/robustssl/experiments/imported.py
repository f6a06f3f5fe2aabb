"""Seeds run in another study directory, read from that study's published ``records.csv``.

A study's store lives on one machine. When a seed of the same experiment ran elsewhere (another
machine, a cluster job, a store since deleted), the ``records.csv`` its report wrote (the one
published in ``docs/results/``) still holds every number with what produced it.
``robustssl report STUDY --add-records FILE`` reports those seeds beside the study's own. So that
a cell never averages two recipes, a record is added only when:

- the study has no stage of its seed (the study's store owns its seeds; an earlier file given
  owns the seeds it brought first), and
- its stage is one the study's experiment plans for that seed: stage names carry the hash of every
  setting that determines the numbers (:func:`robustssl.experiments.plan.stage_hash`), so a record
  made with other settings — another recipe, attack or subset — is refused, naming the stage.

Each added seed says how many of its planned evaluation stages the file has records of; a
missing one makes the report INCOMPLETE, as the study's own unfinished stages do.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from robustssl.experiments.plan import expand
from robustssl.experiments.records_csv import RecordsFileError, read_records_csv
from robustssl.experiments.spec import study_experiment
from robustssl.experiments.store import row_to_record

SOURCE_KEY = "imported_from"  # the file a record was first added from (a records.csv column)


@dataclass(frozen=True)
class AddedSeeds:
    """What one records file added to a report."""

    path: Path
    seeds: tuple[int, ...]
    records: int
    stages_found: int
    stages_planned: int
    code_versions: tuple[str, ...]
    left_out: int  # records of seeds the study (or an earlier file) already has

    @property
    def complete(self) -> bool:
        return self.stages_found == self.stages_planned

    def describe(self) -> str:
        """One line for results.md and the HTML report."""
        plural = len(self.seeds) != 1
        text = (
            f"Added from `{self.path.name}` (a records.csv of `robustssl report`): "
            f"seed{'s' if plural else ''} {', '.join(map(str, self.seeds)) or 'none'}, "
            f"{self.records} records of {self.stages_found} of the {self.stages_planned} "
            f"evaluation stages the experiment plans for {'them' if plural else 'it'}, code "
            f"{', '.join(self.code_versions) or '–'}; not in the Compute line."
        )
        if self.left_out:
            text += f" Not added: {self.left_out} records of seeds this study already has."
        return text


def add_seeds(
    study: Path,
    rows: list[dict[str, Any]],
    own_seeds: set[int],
    files: Sequence[Path],
) -> tuple[list[dict[str, Any]], list[AddedSeeds]]:
    """``rows`` (the study's own) followed by the records of ``files`` that may be added (module
    docstring), and what each file added."""
    out, added, taken = list(rows), [], set(own_seeds)
    next_id = max((r["id"] or 0 for r in rows), default=0) + 1
    for path in files:
        records = read_records_csv(path)
        kept = [r for r in records if r["seed"] not in taken]
        seeds = tuple(sorted({r["seed"] for r in kept}))
        planned = _planned(study, seeds, path) if seeds else {}
        _check_planned(kept, planned, path)
        _check_distinct(kept, path)
        found = {r["stage"] for r in kept}
        evaluations = {n for n, kind in planned.items() if kind == "evaluate"}
        for r in kept:
            out.append({**r, "id": next_id, SOURCE_KEY: r.get(SOURCE_KEY) or path.name})
            next_id += 1
        added.append(
            AddedSeeds(
                path=path,
                seeds=seeds,
                records=len(kept),
                stages_found=len(evaluations & found),
                stages_planned=len(evaluations),
                code_versions=tuple(sorted({str(r["code_version"]) for r in kept})),
                left_out=len(records) - len(kept),
            )
        )
        taken |= set(seeds)
    return out, added


def _planned(study: Path, seeds: Sequence[int], path: Path) -> dict[str, str]:
    """Store name → kind of every stage the study's experiment plans for ``seeds``."""
    try:
        plan = expand(study_experiment(study, seeds))
    except (ValueError, OSError) as err:
        raise RecordsFileError(
            f"cannot check {path.name}'s seeds {list(seeds)} against {study}'s experiment: {err}"
        ) from None
    return {s.store_name: s.kind for s in plan}


def _check_distinct(rows: list[dict[str, Any]], path: Path) -> None:
    """A record twice (same identity: stage, metric, threat, attack, seed, tags) would count as
    two seeds in its cell."""
    counts = Counter(row_to_record(r).identity() for r in rows)
    twice = [i for i, n in counts.items() if n > 1]
    if twice:
        raise RecordsFileError(
            f"{path.name}: {len(twice)} records appear more than once (e.g. {twice[0]}); a "
            "concatenated or hand-edited file? Pass each report's records.csv as it was written."
        )


def _check_planned(rows: list[dict[str, Any]], planned: dict[str, str], path: Path) -> None:
    strange = sorted(
        {f"{r['stage']} (seed {r['seed']})" for r in rows if r["stage"] not in planned}
    )
    if strange:
        raise RecordsFileError(
            f"{path.name}: {len(strange)} stages are not ones this study's experiment plans for "
            f"their seeds, e.g. {', '.join(strange[:3])}: they were made with other settings "
            "(recipe, attack, subset or base config), so their numbers would be averaged with "
            "another recipe's. Re-run those seeds here, or report them as a study of their own."
        )
