"""Where stages run: in the runner process, in N spawned local processes, or as submitit jobs
(SLURM, or submitit's local executor). Each launcher takes :class:`StageTask` s and hands back
:class:`StageOutcome` s; only the runner process touches the results store (issue 7: stages
write their own run directories, "no two machines ever write one SQLite file")."""

from __future__ import annotations

import importlib.util
import multiprocessing
import os
import shutil
import signal
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from multiprocessing import connection
from multiprocessing.connection import Connection
from multiprocessing.context import SpawnContext
from pathlib import Path
from typing import Any

from robustssl.experiments.execute import StageOutcome, StageTask, execute
from robustssl.runs.signals import die_with_parent
from robustssl.utils.optional import missing_extra_message

RunStage = Callable[[StageTask], StageOutcome]


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

    def close(self, abort: bool = False) -> None:  # noqa: B027 - nothing to release by default
        """Release workers; ``abort`` (the runner is stopping on an error or a signal): stop
        running stages too."""

    def __enter__(self) -> Launcher:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        self.close(abort=exc_type is not None)


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


def _worker_main(conn: Connection, parent_pid: int, run: RunStage) -> None:
    """A ``--jobs`` worker: ends with its runner (even after ``kill -9``), ignores the terminal's
    Ctrl-C (the runner stops it), runs the tasks it is sent until it gets None."""
    die_with_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        while (task := conn.recv()) is not None:
            conn.send(run(task))
    except (KeyboardInterrupt, EOFError, OSError):  # stopped by the runner, or the runner is gone
        pass


def _death(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        sig = -exitcode
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = f"signal {sig}"
        cause = " (kill -9, or the out-of-memory killer)" if sig == signal.SIGKILL else ""
        return f"the worker process running this stage was killed by {name}{cause}"
    return f"the worker process running this stage died (exit status {exitcode})"


class _Worker:
    """One spawned worker process and its end of the task pipe."""

    def __init__(self, context: SpawnContext, run: RunStage) -> None:
        self.conn, child = context.Pipe()
        self.process = context.Process(
            target=_worker_main, args=(child, os.getpid(), run), name="robustssl-worker"
        )
        self.process.start()
        child.close()
        self.task: StageTask | None = None
        self.started = 0.0

    def send(self, task: StageTask) -> None:
        self.task, self.started = task, time.perf_counter()
        self.conn.send(task)

    def outcome(self) -> StageOutcome:
        """The finished task's outcome, or a failure when the worker died."""
        assert self.task is not None
        task, seconds = self.task, time.perf_counter() - self.started
        self.task = None
        try:
            if self.conn.poll():
                return self.conn.recv()
        except (EOFError, OSError):
            pass
        self.process.join(timeout=5)
        return StageOutcome(task.stage_id, "failed", seconds, _death(self.process.exitcode))

    def stop(self, timeout: float) -> None:
        """Ask the worker to end (SIGTERM while busy, None when idle); SIGKILL after timeout."""
        try:
            if self.task is not None and self.process.is_alive():
                self.process.terminate()
            else:
                self.conn.send(None)
        except (OSError, ValueError):
            pass
        self.process.join(timeout)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(5)
        self.conn.close()


class ProcessLauncher(Launcher):
    """``--jobs N``: independent stages in N local worker processes (spawned: no forked torch
    state), reused from stage to stage. A worker ends with the runner however the runner ends
    (:func:`robustssl.runs.signals.die_with_parent`); a worker that dies fails only its own
    stage. ``run`` is what a worker calls with each task (a module-level function)."""

    def __init__(self, jobs: int, stop_timeout: float = 20.0, run: RunStage = execute) -> None:
        self.capacity = jobs
        self.stop_timeout = stop_timeout
        self.run = run
        self._context = multiprocessing.get_context("spawn")
        self._workers: list[_Worker] = []

    def submit(self, task: StageTask) -> _Worker:
        for dead in [w for w in self._workers if w.task is None and not w.process.is_alive()]:
            dead.stop(0)  # ended between stages (killed): replaced below
            self._workers.remove(dead)
        idle = [w for w in self._workers if w.task is None]
        if idle:
            worker = idle[0]
        else:
            worker = _Worker(self._context, self.run)
            self._workers.append(worker)
        worker.send(task)
        return worker

    def wait(self, handles: list[Any]) -> list[tuple[Any, StageOutcome]]:
        busy: list[_Worker] = list(handles)
        ready = connection.wait([w.conn for w in busy] + [w.process.sentinel for w in busy])
        out = []
        for worker in busy:
            if worker.conn in ready or worker.process.sentinel in ready:
                out.append((worker, worker.outcome()))
                if not worker.process.is_alive():
                    worker.stop(0)
                    self._workers.remove(worker)
        return out

    def close(self, abort: bool = False) -> None:
        for worker in self._workers:
            worker.stop(self.stop_timeout if abort else 60.0)
        self._workers.clear()


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

    def close(self, abort: bool = False) -> None:
        for job in list(self._tasks):
            job.cancel(check=False)
        self._tasks.clear()


def check_launcher(
    launcher: str,
    jobs: int | None,
    slurm: dict[str, Any] | None = None,
    threads: int | None = None,
) -> None:
    """Refuse a launcher request that cannot work, before anything is written."""
    if jobs is not None and jobs < 1:
        raise ValueError(f"--jobs {jobs}: give a positive number of parallel stages, e.g. --jobs 2")
    if threads is not None and threads < 1:
        raise ValueError(f"--threads {threads}: give a positive number of torch threads per stage")
    if launcher not in ("local", "slurm"):
        raise ValueError(f"unknown launcher {launcher!r}; use local or slurm")
    if launcher == "slurm" and importlib.util.find_spec("submitit") is None:
        raise ValueError(
            "--launcher slurm needs submitit: pip install 'robustssl[cluster]' "
            "(or pip install submitit)"
        )
    cluster = (slurm or {}).get("cluster")
    if launcher == "slurm" and cluster in (None, "slurm") and shutil.which("sbatch") is None:
        raise ValueError(
            "--launcher slurm: there is no `sbatch` on PATH, so SLURM is not available here "
            "(submitit would quietly run every stage on this machine); run on a SLURM login node, "
            "set slurm.cluster=local in the experiment to use submitit's local processes on "
            "purpose, or drop --launcher slurm"
        )


def make_launcher(
    launcher: str,
    jobs: int | None,
    study_dir: Path,
    slurm: dict[str, Any] | None = None,
) -> Launcher:
    """``local``: :class:`InlineLauncher` for ``jobs`` 1 (the default), else
    :class:`ProcessLauncher`; ``slurm``: :class:`SubmititLauncher` (``jobs`` caps the jobs in
    flight; default: no cap). See :func:`check_launcher` for what is refused."""
    check_launcher(launcher, jobs, slurm)
    if launcher == "local":
        return InlineLauncher() if (jobs or 1) == 1 else ProcessLauncher(int(jobs or 1))
    opts = dict(slurm or {})
    return SubmititLauncher(
        study_dir / "submitit",
        cluster=opts.get("cluster"),
        parameters=opts.get("parameters"),
        capacity=jobs or 1_000_000,
        poll_seconds=float(opts.get("poll_seconds", 5.0)),
    )
