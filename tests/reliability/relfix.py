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
from pathlib import Path
from typing import Any

import yaml

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


def write_yaml(path: Path, body: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(body, sort_keys=False))
    return path


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


def hold_lock(directory: Path, what: str = "study") -> subprocess.Popen[str]:
    """Another process holding ``directory``'s lock (imports no torch: ~0.2 s); kill it to
    release the lock."""
    proc = subprocess.Popen(
        [PYTHON, "-c", HOLD_LOCK, str(directory), what],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=child_env(),
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.strip() == "ready", proc.stderr.read() if proc.stderr else line
    return proc


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

CONFIGS = REPO / "configs" / "fashion_mnist"


def study_spec(root: Path, study: Path, lrs: tuple[float, ...] = (0.001,)) -> dict[str, Any]:
    """pretrain (one run per learning rate) → SLF → SA/RA: about 1 s per chain."""
    grid = {"grid": {"optim.lr": list(lrs)}} if len(lrs) > 1 else {}
    return {
        "name": "rel",
        "study_dir": str(study),
        "seeds": [0],
        "data": {"root": str(root)},
        "defaults": {
            "pretrain": {
                "data": {"batch_size": 32},
                "model.backbone_kwargs": {"width": 8},
                "monitor": {"knn": False, "online_probe": False},
                "trainer": {"accelerator": "cpu", "max_epochs": 1, "max_time_minutes": None},
                **({} if grid else {"optim.lr": lrs[0]}),
            },
            "finetune": {"device": "cpu"},
            "evaluate": {"device": "cpu"},
        },
        "pretrain": {"sup": {"config": str(CONFIGS / "supervised.yaml"), **grid}},
        "finetune": {
            "slf": {
                "pretrain": "sup",
                "config": str(CONFIGS / "finetune_slf.yaml"),
                "overrides": {
                    "data": {"batch_size": 32},
                    "optim": {"epochs": 2, "milestones": [1]},
                },
            }
        },
        "evaluate": {
            "rob": {
                "finetune": "slf",
                "config": str(CONFIGS / "evaluate.yaml"),
                "threats": {"Linf": [0.1]},
                "overrides": {
                    "data": {"n": 16, "batch_size": 16},
                    "metrics": ["sa", "ra"],
                    "attacks.pgd": {"steps": 3},
                    "diagnostics": {"enabled": False},
                },
            }
        },
    }


def study_plan(spec: dict[str, Any]) -> Any:
    from robustssl.experiments.plan import expand
    from robustssl.experiments.spec import load_experiment

    return expand(load_experiment(None, raw=spec))


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
