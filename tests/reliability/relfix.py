"""Helpers of the reliability tests (issue 15): tiny real configs, file hashes, lock-holding and
killable helper processes, and the process table (Linux /proc)."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from tinystudy import tiny_study

REPO = Path(__file__).resolve().parents[2]
PYTHON = sys.executable


def hashes(root: Path) -> dict[str, str]:
    """sha256 of every file under ``root`` (relative paths), lock files left out (they belong to
    whoever holds them)."""
    root = Path(root)
    if root.is_file():
        return {root.name: hashlib.sha256(root.read_bytes()).hexdigest()}
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != ".robustssl.lock"
    }


def unchanged(before: dict[str, str], root: Path) -> bool:
    """Every file of ``before`` is still there with the same bytes."""
    after = hashes(root)
    return all(after.get(k) == v for k, v in before.items())


def temp_files(root: Path) -> list[Path]:
    return sorted(Path(root).rglob("*.tmp"))


def pretrain_config(root: Path, out: Path, name: str = "pre", epochs: int = 1) -> dict[str, Any]:
    """Supervised pretraining of a width-8 small CNN on the fake Fashion-MNIST: ~1 s."""
    return {
        "name": name,
        "seed": 0,
        "output_dir": str(out),
        "data": {"dataset": "fashion_mnist", "root": str(root), "batch_size": 32},
        "model": {"backbone": "small_cnn", "backbone_kwargs": {"width": 8}},
        "method": {"name": "supervised", "head": "linear"},
        "optim": {"name": "adam", "lr": 0.001},
        "trainer": {
            "accelerator": "cpu",
            "max_epochs": epochs,
            "max_time_minutes": None,
            "progress_bar": False,
        },
        "monitor": {"knn": False, "online_probe": False},
    }


def finetune_config(
    root: Path, pretrained: Path, out: Path, name: str = "ft", epochs: int = 2
) -> dict[str, Any]:
    """SLF of a pretraining run: a few hundred ms."""
    return {
        "name": name,
        "seed": 0,
        "output_dir": str(out),
        "pretrained": str(pretrained),
        "protocol": "slf",
        "device": "cpu",
        "progress_bar": False,
        "data": {"dataset": "fashion_mnist", "root": str(root), "batch_size": 32},
        "optim": {"name": "adam", "lr": 0.01, "epochs": epochs, "milestones": [1]},
    }


def evaluate_config(name: str = "ev") -> dict[str, Any]:
    """SA + RA (PGD-3) on 16 test points."""
    return {
        "name": name,
        "seed": 0,
        "device": "cpu",
        "progress": False,
        "data": {"n": 16, "batch_size": 16},
        "threats": {"Linf": {"eps": 0.1}},
        "metrics": ["sa", "ra"],
        "attacks": {"pgd": {"steps": 3}},
        "diagnostics": {"enabled": False},
    }


def copy_run(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


# -- helper processes --------------------------------------------------------------------------

HOLD_LOCK = """
import sys, time
from robustssl.runs.lock import DirLock
lock = DirLock(sys.argv[1], sys.argv[2], command="holder of the test").acquire()
print("ready", flush=True)
time.sleep(600)
"""


@contextmanager
def started(
    args: list[str],
    *,
    ready: str | Callable[[], object] | None = None,
    timeout: float = 60,
    **popen: Any,
) -> Iterator[subprocess.Popen[str]]:
    """A helper process (``args``, with :func:`child_env`) once it has reached a point: printed
    the line ``ready`` (a str; stdout and stderr are then pipes) or made ``ready()`` true (a
    callable, polled up to ``timeout`` s). On leaving the block it is killed with ``kill -9``
    unless it has ended (also when it never got ready)."""
    if isinstance(ready, str):
        popen.setdefault("stdout", subprocess.PIPE)
        popen.setdefault("stderr", subprocess.PIPE)
    proc = subprocess.Popen(args, env=child_env(), text=True, **popen)
    try:
        if isinstance(ready, str):
            assert proc.stdout is not None
            line = proc.stdout.readline()
            if line.strip() != ready:
                kill9(proc)
                err = proc.stderr.read() if proc.stderr else ""
                raise AssertionError(f"{args[:3]} did not print {ready!r}: {line!r} {err}")
        elif ready is not None:
            wait_for(ready, timeout, f"{args[:3]} to get ready")
        yield proc
    finally:
        if proc.poll() is None:
            kill9(proc)


def hold_lock(
    directory: Path, what: str = "study"
) -> AbstractContextManager[subprocess.Popen[str]]:
    """Another process holding ``directory``'s lock (imports no torch: ~0.2 s) inside the
    ``with`` block; killed with ``kill -9`` (which releases the lock) on leaving it."""
    return started([PYTHON, "-c", HOLD_LOCK, str(directory), what], ready="ready")


def child_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    paths = [str(REPO / "src"), str(REPO / "tests"), str(Path(__file__).parent)]
    env["PYTHONPATH"] = os.pathsep.join([*paths, env.get("PYTHONPATH", "")])
    env.setdefault("OMP_NUM_THREADS", "1")
    env.update(extra)
    return env


def kill9(proc: subprocess.Popen[Any] | int) -> None:
    pid = proc if isinstance(proc, int) else proc.pid
    os.kill(pid, signal.SIGKILL)
    if not isinstance(proc, int):
        proc.wait(timeout=30)


def alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie counts as ended)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def children(pid: int) -> list[int]:
    """The live child processes of ``pid``."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid and fields[0] not in ("Z", "X"):
            out.append(int(stat.parent.name))
    return out


def wait_for(predicate: Any, timeout: float, what: str, poll: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(poll)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


# -- a small study -----------------------------------------------------------------------------


def study_spec(root: Path, study: Path, lrs: tuple[float, ...] = (0.001,)) -> dict[str, Any]:
    """The shared tiny study (:func:`tinystudy.tiny_study`) as these tests use it: named ``rel``,
    one pretraining run per learning rate (one unless given more), no label."""
    return tiny_study(root, study, name="rel", lrs=lrs, label=None)


# -- worker tasks (module level: spawned workers import them by name) ---------------------------


def _announce(directory: Path, task: Any) -> None:
    (directory / f"{task.stage_id}.pid").write_text(str(os.getpid()))


def sleepy(task: Any) -> Any:
    """Announce this worker's pid in ``task.path``, then sleep until killed (stage ``quick``:
    return at once)."""
    from robustssl.experiments.execute import StageOutcome

    _announce(Path(task.path), task)
    if task.stage_id != "quick":
        time.sleep(600)
    return StageOutcome(task.stage_id, "complete", 0.0)


def held_execute(task: Any) -> Any:
    """Announce this worker's pid next to the stage, wait while ``<study>/hold`` exists, then
    run the stage for real."""
    from robustssl.experiments.execute import execute

    study = Path(task.path).parents[2] if task.kind != "evaluate" else Path(task.path).parents[4]
    _announce(study, task)
    while (study / "hold").exists():
        time.sleep(0.05)
    return execute(task)


def worker_pids(parent: int) -> list[int]:
    """The spawned multiprocessing workers among ``parent``'s children."""
    out = []
    for pid in children(parent):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"spawn_main" in cmdline:
            out.append(pid)
    return out
