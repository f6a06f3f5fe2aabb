"""``robustssl run EXPERIMENT.yaml``: run a study's stages in dependency order, resumably.

- Stages already complete on disk are skipped (a killed study resumes where it stopped); a
  stage that was started and interrupted is resumed from its own checkpoint (``resume=True``).
- A failing stage is recorded in the results store with its error, the stages that need it are
  marked skipped, and everything else goes on; the exit status is the number of failed stages
  (at most 125).
- The runner process alone writes ``<study>/results.sqlite``: after each evaluation it ingests
  that stage's ``records.json`` (stages write only their own run directories).
- Ready stages run one at a time in this process, in ``--jobs N`` spawned processes, or as
  submitit jobs (``--launcher slurm``). Among ready stages the deepest goes first (evaluate >
  finetune > pretrain), so complete pretrain → finetune → evaluate chains appear early.
- One runner per study: the runner holds the study's lock (:mod:`robustssl.runs.lock`) for its
  whole life, and refuses to start while a stage's run directory is locked by a process left
  from an earlier run. A bad request (``--jobs 0``, SLURM without ``sbatch``, a damaged store) is
  refused before anything is written.
- Stopped by Ctrl-C or ``kill``, the runner stops its workers and records the running stages as
  "interrupted"; after ``kill -9`` the store reads them as interrupted (no live lock holder). A
  stage that fills the disk stops the study (running stages finish, no new one starts).
SPEC.md §9, issues 7 and 15.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from robustssl.experiments.datacheck import ensure_data
from robustssl.experiments.execute import StageOutcome, StageTask, stage_state, worker_threads
from robustssl.experiments.launchers import Launcher, check_launcher, make_launcher
from robustssl.experiments.plan import KIND_ORDER, Plan, Stage
from robustssl.experiments.progress import StudyBar
from robustssl.experiments.spec import RESOLVED_FROM
from robustssl.experiments.store import ResultsStore
from robustssl.runs.atomic import atomic_write_text
from robustssl.runs.layout import EXPERIMENT as EXPERIMENT_FILE
from robustssl.runs.layout import PLAN as PLAN_FILE
from robustssl.runs.lock import DirLock, LockedError, lock_holder, wait_hint
from robustssl.runs.signals import signal_name

MAX_EXIT = 125
STOP_NOTE = "finished stages are kept and the interrupted ones resume when the study runs again"


@dataclass
class RunReport:
    """What a run did. ``exit_code`` = number of failed stages, at most 125."""

    study_dir: Path
    total: int
    cached: list[str] = field(default_factory=list)
    completed: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    stopped: str | None = None  # why the study stopped early (a full disk)

    @property
    def exit_code(self) -> int:
        return min(len(self.failed), MAX_EXIT)

    def summary(self) -> str:
        parts = [
            f"{len(self.completed)} run",
            f"{len(self.cached)} already complete",
            f"{len(self.failed)} failed",
            f"{len(self.skipped)} skipped",
        ]
        text = f"study {self.study_dir}: {self.total} stages: " + ", ".join(parts)
        if self.stopped:
            text += f"\nstopped early: {self.stopped}"
        return text


def write_study_files(plan: Plan) -> None:
    """``<study>/experiment.yaml`` (the resolved experiment, shown by the report) and
    ``plan.json`` (every stage: id, kind, name, path, dependencies, labels, config)."""
    exp = plan.experiment
    exp.study_dir.mkdir(parents=True, exist_ok=True)
    head = f"{RESOLVED_FROM}{exp.source}\n" if exp.source is not None else ""
    body = yaml.safe_dump(exp.config.model_dump(mode="json"), sort_keys=False)
    atomic_write_text(exp.study_dir / EXPERIMENT_FILE, head + body)
    stages = [
        {
            "id": s.id,
            "kind": s.kind,
            "name": s.store_name,
            "entry": s.entry,
            "axes": s.axes,
            "path": str(s.path),
            "deps": list(s.deps),
            "labels": s.labels,
            "config": s.config,
        }
        for s in plan
    ]
    atomic_write_text(exp.study_dir / PLAN_FILE, json.dumps(stages, indent=1, default=str))


class _Run:
    """One pass over the plan with a store, a launcher and the study bar."""

    def __init__(
        self,
        plan: Plan,
        store: ResultsStore,
        launcher: Launcher,
        bar: StudyBar,
        jobs: int,
        progress: bool,
        threads: int | None = None,
    ) -> None:
        self.plan, self.store, self.launcher, self.bar = plan, store, launcher, bar
        self.stage_bars = progress and launcher.shows_stage_progress
        self.threads = threads or (worker_threads(jobs) if jobs > 1 else None)
        self.report = RunReport(plan.experiment.study_dir, len(plan))
        self.status: dict[str, str] = {}
        self.partial: set[str] = set()  # started earlier and interrupted: resumed
        self.stop_launching = False  # a stage filled the disk
        self.ids = {
            s.id: store.add_stage(s.kind, s.store_name, s.config, s.labels, path=s.path)
            for s in plan
        }

    def start(self) -> list[Stage]:
        """Mark complete stages (re-ingesting finished evaluations); the rest is to run."""
        todo = []
        for s in self.plan:
            state = stage_state(s.kind, s.path)
            if state == "partial":
                self.partial.add(s.id)
            if state == "complete":
                self.status[s.id] = "complete"
                self.report.cached.append(s.store_name)
                self.store.set_status(self.ids[s.id], "complete")
                if s.kind == "evaluate":
                    self.store.ingest(s.path, stage_id=self.ids[s.id])
            else:
                self.status[s.id] = "pending"
                self.store.set_status(self.ids[s.id], "pending")
                todo.append(s)
        return todo

    def task(self, s: Stage) -> StageTask:
        resume = s.id in self.partial
        return StageTask(
            s.id,
            s.kind,
            s.name,
            config=s.config,
            path=str(s.path),
            target=str(s.target) if s.target is not None else None,
            resume=resume,
            progress=self.stage_bars,
            threads=self.threads,
        )

    def finish(self, s: Stage, outcome: StageOutcome) -> None:
        """Record the outcome; ingest an evaluation's records; skip a failed stage's dependents."""
        if outcome.status == "complete" and s.kind == "evaluate":
            try:
                self.store.ingest(s.path, stage_id=self.ids[s.id])
            except (ValueError, FileNotFoundError) as err:
                outcome = StageOutcome(s.id, "failed", outcome.seconds, f"ingest failed: {err}")
        self.status[s.id] = outcome.status
        self.store.set_status(self.ids[s.id], outcome.status, outcome.error, outcome.seconds)
        self.bar.advance()
        if outcome.disk_full and not self.stop_launching:
            self.stop_launching = True
            self.report.stopped = (
                "the disk is full; no new stage was started. Free some space and run the same "
                "command again (finished stages are kept)"
            )
            self.bar.write(f"STOPPING: {self.report.stopped}")
        if outcome.status == "complete":
            self.report.completed.append(s.store_name)
            return
        first_line = (outcome.error or "").splitlines()[0] if outcome.error else "failed"
        self.report.failed[s.store_name] = outcome.error or "failed"
        self.bar.write(f"FAILED {s.describe()}: {first_line}")
        for dep in self.plan.dependents(s.id):
            if self.status.get(dep.id) == "pending":
                reason = f"needs {s.kind} {s.store_name}, which failed"
                self.status[dep.id] = "skipped"
                self.store.set_status(self.ids[dep.id], "skipped", reason)
                self.report.skipped[dep.store_name] = reason
                self.bar.advance()

    def loop(self, todo: list[Stage]) -> None:
        order = {s.id: i for i, s in enumerate(self.plan)}
        running: dict[Any, Stage] = {}
        while True:
            pending = [s for s in todo if self.status[s.id] == "pending"]
            ready = [s for s in pending if all(self.status[d] == "complete" for d in s.deps)]
            ready.sort(key=lambda s: (-KIND_ORDER[s.kind], order[s.id]))
            while ready and len(running) < self.launcher.capacity and not self.stop_launching:
                s = ready.pop(0)
                self.status[s.id] = "running"
                self.store.set_status(self.ids[s.id], "running")
                self.bar.running(s.describe())
                running[self.launcher.submit(self.task(s))] = s
            if not running:
                return
            for handle, outcome in self.launcher.wait(list(running)):
                self.finish(running.pop(handle), outcome)

    def interrupted(self, err: BaseException) -> None:
        """Record the stages still running as "interrupted" (best effort: the store may be the
        thing that failed; readers then see "running" without a live runner as interrupted)."""
        if isinstance(err, KeyboardInterrupt):
            why = f"interrupted by {signal_name(err)}"
        else:
            why = f"the runner stopped: {type(err).__name__}: {err}"
        for stage_id, status in self.status.items():
            if status == "running":
                try:
                    self.store.set_status(self.ids[stage_id], "interrupted", why)
                except Exception:  # the store may be what failed
                    return


def study_lock(study_dir: Path) -> DirLock:
    """The lock a runner holds on its study for its whole life."""
    return DirLock(study_dir, "study", stop_note=STOP_NOTE)


def check_no_leftovers(plan: Plan) -> None:
    """Refuse to run while a stage's directory is locked by another process (a worker left
    by an earlier runner, a SLURM job, a `robustssl pretrain --resume` in another terminal)."""
    for s in plan:
        holder = lock_holder(s.path)
        if holder is not None:
            raise LockedError(
                f"{s.kind} stage {s.store_name} of this study is still being run by "
                f"{holder.describe()}, not by this runner; {wait_hint(holder, STOP_NOTE)}",
                holder,
            )


def run_plan(
    plan: Plan,
    jobs: int | None = None,
    launcher: str = "local",
    progress: bool = True,
    check_data: bool = True,
    launcher_factory: Callable[..., Launcher] = make_launcher,
    threads: int | None = None,
) -> RunReport:
    """Run every stage of ``plan`` that is not complete; see the module docstring. ``threads``:
    torch threads per stage (default: the cores shared among ``jobs``)."""
    exp = plan.experiment
    slurm = exp.config.slurm.model_dump()
    check_launcher(launcher, jobs, slurm, threads)  # before anything is written
    if check_data:
        ensure_data(plan)
    with study_lock(exp.study_dir):
        check_no_leftovers(plan)
        with ResultsStore(exp.study_dir) as store:  # a damaged store stops us here
            write_study_files(plan)
            with launcher_factory(launcher, jobs, exp.study_dir, slurm) as pool:
                bar = StudyBar(exp.config.name, len(plan), enabled=progress)
                run = _Run(
                    plan, store, pool, bar=bar, jobs=jobs or 1, progress=progress, threads=threads
                )
                try:
                    todo = run.start()
                    bar.advance(len(run.report.cached))
                    run.loop(todo)
                except BaseException as err:
                    run.interrupted(err)
                    raise
                finally:
                    bar.close()
    return run.report
