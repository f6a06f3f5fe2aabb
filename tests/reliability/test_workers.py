"""``--jobs N`` workers: they die with their runner however it ends (``kill -9`` included), a
worker that dies fails only its own stage, they ignore the terminal's Ctrl-C (the runner stops
them), and a runner stopped by a signal stops them and records their stages as interrupted.

Real processes throughout; the stages' work is replaced by a task that announces its pid and
waits (:func:`relfix.sleepy`, :func:`relfix.held_execute`), so the tests control the timing."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from relfix import PYTHON, alive, kill9, sleepy, started, study_spec, wait_for, worker_pids

from robustssl.cli.main import main
from robustssl.experiments import ResultsStore
from robustssl.experiments.execute import StageTask
from robustssl.experiments.launchers import ProcessLauncher
from robustssl.experiments.runner import run_plan
from robustssl.runs import lock_holder
from tinystudy import plan_of, write_yaml


def _task(stage_id: str, where: Path) -> StageTask:
    return StageTask(stage_id, "pretrain", stage_id, {}, str(where), None, False, False)


def _pid(where: Path, stage_id: str, timeout: float = 60) -> int:
    path = where / f"{stage_id}.pid"
    wait_for(lambda: path.is_file() and path.read_text(), timeout, f"worker of {stage_id}")
    return int(path.read_text())


LAUNCHER = """
import sys, time
from relfix import sleepy
from robustssl.experiments.execute import StageTask
from robustssl.experiments.launchers import ProcessLauncher
pool = ProcessLauncher(2, run=sleepy)
for name in ("a", "b"):
    pool.submit(StageTask(name, "pretrain", name, {}, sys.argv[1], None, False, False))
time.sleep(600)
"""


def test_kill9_of_the_runner_takes_its_workers_with_it(tmp_path: Path) -> None:
    with started([PYTHON, "-c", LAUNCHER, str(tmp_path)]) as runner:
        pids = [_pid(tmp_path, "a"), _pid(tmp_path, "b")]
        assert sorted(worker_pids(runner.pid)) == sorted(pids)
    wait_for(lambda: not any(alive(p) for p in pids), 30, "the orphaned workers to end")


def test_a_dead_worker_fails_only_its_stage_and_abort_stops_the_rest(tmp_path: Path) -> None:
    pool = ProcessLauncher(2, run=sleepy, stop_timeout=15)
    try:
        a, b = pool.submit(_task("a", tmp_path)), pool.submit(_task("b", tmp_path))
        pid_a, pid_b = _pid(tmp_path, "a"), _pid(tmp_path, "b")
        os.kill(pid_b, signal.SIGINT)  # the terminal's Ctrl-C reaches workers too: ignored
        kill9(pid_a)  # e.g. the out-of-memory killer
        done = pool.wait([a, b])
        assert [h for h, _ in done] == [a]
        outcome = done[0][1]
        assert outcome.stage_id == "a" and outcome.status == "failed"
        assert outcome.error is not None and "killed by SIGKILL (kill -9" in outcome.error
        assert alive(pid_b)
        quick = pool.submit(_task("quick", tmp_path))  # a fresh worker takes the next stage
        [(handle, result)] = pool.wait([quick])
        assert handle is quick and result.status == "complete"
        assert int((tmp_path / "quick.pid").read_text()) not in (pid_a, pid_b)
    finally:
        pool.close(abort=True)
    assert not alive(pid_b) and not worker_pids(os.getpid())


HELD_RUN = """
import sys
import robustssl.experiments.launchers as launchers
from relfix import held_execute
from robustssl.cli.main import main

real = launchers.ProcessLauncher.__init__
def init(self, jobs, stop_timeout=20.0, run=None):
    real(self, jobs, stop_timeout, held_execute)
launchers.ProcessLauncher.__init__ = init
sys.exit(main(["run", sys.argv[1], "--jobs", "2", "--no-progress"]))
"""


@contextmanager
def _held_study(
    tmp_path: Path, data_root: Path
) -> Iterator[tuple[Path, Path, subprocess.Popen[str]]]:
    """A real ``robustssl run --jobs 2`` whose workers wait while ``<study>/hold`` exists;
    killed with ``kill -9`` on leaving the block unless it has ended."""
    study = tmp_path / "study"
    spec = study_spec(data_root, study, lrs=(0.001, 0.002))
    exp = write_yaml(tmp_path / "exp.yaml", spec)
    study.mkdir()
    (study / "hold").write_text("")
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
    with started([PYTHON, "-c", HELD_RUN, str(exp)], **pipes) as runner:
        yield study, exp, runner


@pytest.mark.slow
@pytest.mark.parametrize(("signum", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_stopped_runner_stops_its_workers_and_records_interrupted_stages(
    tmp_path: Path, data_root: Path, signum: int, status: int
) -> None:
    with _held_study(tmp_path, data_root) as (study, exp, runner):
        stages = [s.id for s in plan_of(study_spec(data_root, study, (0.001, 0.002)))]
        pids = [_pid(study, sid, timeout=120) for sid in stages[:2]]  # both pretrain stages
        os.kill(runner.pid, signum)
        _, err = runner.communicate(timeout=120)
    assert runner.returncode == status, err[-2000:]
    assert "run the same command again: completed stages are kept" in err
    assert not any(alive(p) for p in pids) and lock_holder(study) is None
    with ResultsStore(study) as store:
        assert {s["status"] for s in store.stages(kind="pretrain")} == {"interrupted"}
    (study / "hold").unlink()
    assert main(["run", str(exp), "--no-progress"]) == 0


@pytest.mark.slow
def test_kill9_of_a_real_study_runner_then_rerun(tmp_path: Path, data_root: Path) -> None:
    with _held_study(tmp_path, data_root) as (study, _, _runner):
        plan = plan_of(study_spec(data_root, study, (0.001, 0.002)))
        pids = [_pid(study, s.id, timeout=120) for s in plan.of_kind("pretrain")]
    # leaving the block killed the runner with kill -9
    wait_for(lambda: not any(alive(p) for p in pids), 30, "the orphaned workers to end")
    assert lock_holder(study) is None
    with ResultsStore(study) as store:  # no live runner: its running stages read interrupted
        assert {s["status"] for s in store.stages(kind="pretrain")} == {"interrupted"}
    assert not (study / "runs").exists()  # the killed workers had not started writing
    (study / "hold").unlink()
    report = run_plan(plan, progress=False)
    assert report.exit_code == 0 and len(report.completed) == 6
