"""Where stages run: in the runner process, in N spawned local processes, or as submitit jobs
(SLURM, or submitit's local executor). Each launcher takes :class:`StageTask` s and hands back
:class:`StageOutcome` s; only the runner process touches the results store (issue 7: stages
write their own run directories, "no two machines ever write one SQLite file")."""

from __future__ import annotations

import multiprocessing
import time
from abc import ABC, abstractmethod
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Any

from robustssl.experiments.execute import StageOutcome, StageTask, execute
from robustssl.utils.optional import missing_extra_message


class Launcher(ABC):
    """Runs at most ``capacity`` stages at once; :meth:`wait` blocks until one finishes."""

    capacity: int = 1
    shows_stage_progress: bool = False  # may a stage draw its own bar in this terminal?

    @abstractmethod
    def submit(self, task: StageTask) -> Any:
        """Start ``task``; returns a handle."""

    @abstractmethod
    def wait(self, handles: list[Any]) -> list[tuple[Any, StageOutcome]]:
        """Block until at least one of ``handles`` has finished; their outcomes."""

    def close(self) -> None:  # noqa: B027 - nothing to release by default
        """Release workers (pending work is cancelled)."""

    def __enter__(self) -> Launcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _crashed(task: StageTask, err: BaseException, seconds: float) -> StageOutcome:
    return StageOutcome(task.stage_id, "failed", seconds, f"{type(err).__name__}: {err}")


class InlineLauncher(Launcher):
    """One stage at a time in the runner process (``--jobs 1``): its bar sits under the study's."""

    capacity = 1
    shows_stage_progress = True

    def __init__(self) -> None:
        self._done: dict[int, StageOutcome] = {}

    def submit(self, task: StageTask) -> int:
        handle = len(self._done)
        self._done[handle] = execute(task)
        return handle

    def wait(self, handles: list[Any]) -> list[tuple[Any, StageOutcome]]:
        return [(h, self._done.pop(h)) for h in handles if h in self._done]


class ProcessLauncher(Launcher):
    """``--jobs N``: independent stages in N local processes (spawned: no forked torch state)."""

    def __init__(self, jobs: int) -> None:
        self.capacity = jobs
        context = multiprocessing.get_context("spawn")
        self._pool = ProcessPoolExecutor(max_workers=jobs, mp_context=context)
        self._tasks: dict[Future, tuple[StageTask, float]] = {}

    def submit(self, task: StageTask) -> Future:
        future = self._pool.submit(execute, task)
        self._tasks[future] = (task, time.perf_counter())
        return future

    def wait(self, handles: list[Any]) -> list[tuple[Any, StageOutcome]]:
        done, _ = wait(handles, return_when=FIRST_COMPLETED)
        out = []
        for future in done:
            task, start = self._tasks.pop(future)
            try:
                out.append((future, future.result()))
            except Exception as err:  # a worker that died (e.g. out of memory)
                out.append((future, _crashed(task, err, time.perf_counter() - start)))
        return out

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class SubmititLauncher(Launcher):
    """``--launcher slurm``: one submitit job per stage (``cluster`` None: SLURM when available,
    "local": submitit's local processes). Job logs go to ``folder``."""

    def __init__(
        self,
        folder: Path,
        cluster: str | None = None,
        parameters: dict[str, Any] | None = None,
        capacity: int = 1_000_000,
        poll_seconds: float = 5.0,
    ) -> None:
        try:
            import submitit
        except ImportError:
            raise ValueError(missing_extra_message("submitit", "--launcher slurm")) from None
        self.capacity = capacity
        self.poll_seconds = poll_seconds
        self._executor = submitit.AutoExecutor(folder=folder, cluster=cluster)
        self._executor.update_parameters(**(parameters or {}))
        self._tasks: dict[Any, tuple[StageTask, float]] = {}

    def submit(self, task: StageTask) -> Any:
        self._executor.update_parameters(name=f"robustssl-{task.kind}-{task.name}"[:100])
        job = self._executor.submit(execute, task)
        self._tasks[job] = (task, time.perf_counter())
        return job

    def wait(self, handles: list[Any]) -> list[tuple[Any, StageOutcome]]:
        while True:
            done = [job for job in handles if job.done()]
            if done:
                break
            time.sleep(self.poll_seconds)
        out = []
        for job in done:
            task, start = self._tasks.pop(job)
            try:
                out.append((job, job.result()))
            except Exception as err:  # the job died: recorded as a failure
                out.append((job, _crashed(task, err, time.perf_counter() - start)))
        return out

    def close(self) -> None:
        for job in list(self._tasks):
            job.cancel(check=False)
        self._tasks.clear()


def make_launcher(
    launcher: str,
    jobs: int | None,
    study_dir: Path,
    slurm: dict[str, Any] | None = None,
) -> Launcher:
    """``local``: :class:`InlineLauncher` for ``jobs`` 1 (the default), else
    :class:`ProcessLauncher`; ``slurm``: :class:`SubmititLauncher` (``jobs`` caps the jobs in
    flight; default: no cap)."""
    if jobs is not None and jobs < 1:
        raise ValueError(f"--jobs {jobs}: give a positive number of parallel stages")
    if launcher == "local":
        return InlineLauncher() if (jobs or 1) == 1 else ProcessLauncher(int(jobs or 1))
    if launcher == "slurm":
        opts = dict(slurm or {})
        return SubmititLauncher(
            study_dir / "submitit",
            cluster=opts.get("cluster"),
            parameters=opts.get("parameters"),
            capacity=jobs or 1_000_000,
            poll_seconds=float(opts.get("poll_seconds", 5.0)),
        )
    raise ValueError(f"unknown launcher {launcher!r}; use local or slurm")
