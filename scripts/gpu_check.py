"""The checks of scripts/gpu-check.sh, one sub-command each (run on CUDA, or with --cpu on the CPU).

    python scripts/gpu_check.py methods    [--cpu] --work DIR   # every pretraining config, AMP
    python scripts/gpu_check.py autoattack [--cpu] --work DIR   # AutoAttack: CUDA vs CPU robust set
    python scripts/gpu_check.py ddp        [--cpu] --work DIR   # DDP smoke on all visible GPUs

``methods`` pretrains every config of ``configs/cifar10`` (ResNet-18, batch 256; ``--cpu``:
``configs/fashion_mnist``, small CNN, batch 32) for a few steps on fake data in the dataset's real
format, under bf16 and fp16 mixed precision (``--cpu``: bf16, plus fp16 for SimCLR, which falls
back to fp32 with a warning), and prints images/s per method as JSON lines. Each sub-command exits
non-zero on a failure; ``ddp`` is its own command because Lightning re-runs it once per rank.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
import traceback
import warnings
from pathlib import Path
from typing import Any

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))  # fake datasets and the small robust model of the tests

import lightning as L  # noqa: E402

from fakedata import Formats, write_fake_fashion_mnist  # noqa: E402
from robust_model import small_classifier, synthetic_images, train_clean  # noqa: E402
from robustssl.attacks import AutoAttack  # noqa: E402
from robustssl.methods import PretrainConfig, pretrain  # noqa: E402
from robustssl.utils.config import load_config  # noqa: E402


class Setting:
    """What differs between the GPU check and its CPU rehearsal."""

    def __init__(self, cpu: bool) -> None:
        self.cpu = cpu
        self.device = "cpu" if cpu else "cuda"
        self.accelerator = "cpu" if cpu else "gpu"
        self.dataset = "fashion_mnist" if cpu else "cifar10"
        self.batch_size = 32 if cpu else 256
        self.steps = 3 if cpu else 8
        self.warmup = 1 if cpu else 2

    def precisions(self, method: str) -> list[str]:
        if not self.cpu:
            return ["bf16-mixed", "16-mixed"]
        return ["bf16-mixed", "16-mixed"] if method == "simclr" else ["bf16-mixed"]

    def write_data(self, root: Path) -> Path:
        """Fake train/test data of ``steps`` batches (written once; ranks find it there)."""
        n = self.batch_size * self.steps
        marker = root / ".complete"
        if not marker.exists():
            if self.dataset == "cifar10":
                Formats.write_cifar10(root, per_batch=math.ceil(n / 5), n_test=64)
            else:
                write_fake_fashion_mnist(root, n_train=n, n_test=64)
            marker.touch()
        return root


def emit(row: dict[str, Any]) -> None:
    print(json.dumps(row), flush=True)


class StepTimer(L.Callback):
    """Seconds of each training step (CUDA synchronised), for images/s after the warm-up."""

    def __init__(self) -> None:
        self.seconds: list[float] = []
        self.world_size = 1
        self._start = 0.0

    def _sync(self) -> None:
        if torch.cuda.is_available():
            torch.cuda.synchronize()

    def on_train_batch_start(self, trainer: L.Trainer, *args: Any) -> None:
        self._sync()
        self._start = time.perf_counter()

    def on_train_batch_end(self, trainer: L.Trainer, *args: Any) -> None:
        self._sync()
        self.seconds.append(time.perf_counter() - self._start)
        self.world_size = trainer.world_size


def pretrain_configs(dataset: str) -> list[Path]:
    """Every pretraining config of ``configs/<dataset>`` (SimCLR first: AdvCL clusters with it)."""
    paths = [
        p
        for p in sorted((REPO / "configs" / dataset).glob("*.yaml"))
        if not p.stem.startswith(("finetune", "evaluate"))
    ]
    return sorted(paths, key=lambda p: p.stem != "simclr")


def run_config(
    path: Path, precision: str, s: Setting, work: Path, extra: list[str]
) -> tuple[StepTimer, list[str]]:
    overrides = [
        f"name={path.stem}_{precision}",
        f"output_dir={work / 'runs'}",
        f"data.root={work.parent / 'data'}",
        f"data.batch_size={s.batch_size}",
        f"trainer.accelerator={s.accelerator}",
        "trainer.devices=1",
        "trainer.strategy=auto",
        f"trainer.precision={precision}",
        "trainer.max_epochs=1",
        "trainer.max_time_minutes=null",
        "trainer.progress_bar=false",
        "monitor.knn=false",
        "monitor.online_probe=false",
        *extra,
    ]
    cfg = load_config(path, PretrainConfig, overrides)
    timer = StepTimer()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pretrain(cfg, extra_callbacks=[timer])
    summary = json.loads((work / "runs" / cfg.name / "summary.json").read_text())
    if summary.get("status") != "complete":
        raise RuntimeError(f"run not complete: {summary}")
    return timer, [str(w.message) for w in caught if "precision" in str(w.message)]


def check_methods(s: Setting, work: Path) -> int:
    s.write_data(work / "data")
    work = work / f"methods-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"  # fresh run dirs
    failures = 0
    for path in pretrain_configs(s.dataset):
        for precision in s.precisions(path.stem):
            extra = []
            if path.stem == "advcl":  # ClusterFit on this check's SimCLR run, few clusters
                extra = [
                    f"method.clusterfit.encoder={work / 'runs' / 'simclr_bf16-mixed'}",
                    "method.clusterfit.ks=[2,5]",
                ]
            if path.stem == "deacl":  # the teacher: this check's SimCLR run
                extra = [f"method.teacher={work / 'runs' / 'simclr_bf16-mixed'}"]
            if path.stem == "dynacl_pp":  # post-processes this check's DynACL run (sorted before)
                extra = [f"method.encoder={work / 'runs' / f'dynacl_{precision}'}"]
            if precision == "bf16-mixed" and not s.cpu and not torch.cuda.is_bf16_supported():
                emit(
                    {
                        "name": "pretrain",
                        "config": path.stem,
                        "precision": precision,
                        "status": "skipped: this GPU has no bf16",
                    }
                )
                continue
            try:
                timer, notes = run_config(path, precision, s, work, extra)
            except Exception:
                failures += 1
                emit(
                    {
                        "name": "pretrain",
                        "config": path.stem,
                        "precision": precision,
                        "status": "FAILED",
                        "error": traceback.format_exc().splitlines()[-1],
                    }
                )
                traceback.print_exc()
                continue
            timed = timer.seconds[s.warmup :]
            emit(
                {
                    "name": "pretrain",
                    "config": path.stem,
                    "precision": precision,
                    "status": "ok",
                    "device": s.device,
                    "batch_size": s.batch_size,
                    "steps": len(timer.seconds),
                    "images_per_s": round(s.batch_size * len(timed) / sum(timed), 1),
                    **({"note": notes[0]} if notes else {}),
                }
            )
    return failures


def check_autoattack(s: Setting, work: Path) -> int:
    """AutoAttack standard on a small CNN, on the CPU and on ``s.device``: the same points must
    stay robust (float differences may flip at most 1 % of them; none CPU vs CPU)."""
    if s.cpu:  # tiny tensors: one thread is quicker, and immune to other jobs on the machine
        torch.set_num_threads(1)
    x, y = synthetic_images(512, seed=0)
    model = train_clean(small_classifier(width=8), x, y, steps=60)
    xt, yt = synthetic_images(16 if s.cpu else 128, seed=1)
    eps = 0.02  # leaves a few points robust, so the robust sets can be compared
    results = {}
    for device in dict.fromkeys(["cpu", s.device]):
        m = model.to(device)
        start = time.perf_counter()
        res = AutoAttack(m, "Linf", eps, version="standard", seed=0, progress=False).run(
            xt.to(device), yt.to(device)
        )
        results[device] = res
        emit(
            {
                "name": "autoattack",
                "device": device,
                "n": len(xt),
                "eps": eps,
                "clean": res.clean_accuracy,
                "robust": res.robust_accuracy,
                "seconds": round(time.perf_counter() - start, 1),
            }
        )
    cpu = results["cpu"].robust.cpu()
    other = results[s.device].robust.cpu()
    differ = int((cpu != other).sum())
    ok = differ <= max(0, len(cpu) // 100) and 0 < float(cpu.float().mean()) < 1
    emit(
        {
            "name": "autoattack_same_robust_set",
            "devices": sorted(results),
            "differ": differ,
            "status": "ok" if ok else "FAILED",
        }
    )
    return 0 if ok else 1


def check_ddp(s: Setting, work: Path) -> int:
    """SimCLR for one epoch with DDP on every visible GPU (``--cpu``: 2 gloo processes)."""
    s.write_data(work / "data")
    devices = 2 if s.cpu else torch.cuda.device_count()
    path = REPO / "configs" / s.dataset / "simclr.yaml"
    cfg = load_config(
        path,
        PretrainConfig,
        [
            "name=ddp_smoke",
            f"output_dir={work / 'runs'}",
            f"data.root={work / 'data'}",
            f"data.batch_size={s.batch_size}",
            f"trainer.accelerator={s.accelerator}",
            f"trainer.devices={devices}",
            "trainer.strategy=ddp",
            "trainer.max_epochs=1",
            "trainer.max_time_minutes=null",
            "trainer.progress_bar=false",
            f"trainer.precision={'32-true' if s.cpu else 'bf16-mixed'}",
            "monitor.knn=false",
            "monitor.online_probe=false",
        ],
    )
    timer = StepTimer()
    pretrain(cfg, extra_callbacks=[timer])
    if int(os.environ.get("LOCAL_RANK", "0")) != 0:
        return 0
    ok = timer.world_size == devices and len(timer.seconds) > 0
    timed = timer.seconds[1:] or timer.seconds
    emit(
        {
            "name": "ddp_smoke",
            "devices": devices,
            "world_size": timer.world_size,
            "steps_per_rank": len(timer.seconds),
            "images_per_s": round(s.batch_size * len(timed) / sum(timed), 1),  # global batch
            "status": "ok" if ok else "FAILED",
        }
    )
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("check", choices=("methods", "autoattack", "ddp"))
    parser.add_argument("--cpu", action="store_true", help="rehearse on the CPU")
    parser.add_argument("--work", type=Path, required=True, help="scratch directory")
    args = parser.parse_args()
    if not args.cpu and not torch.cuda.is_available():
        print(
            "no CUDA device here; run scripts/gpu-check.sh --cpu to rehearse on the CPU",
            file=sys.stderr,
        )
        return 2
    setting = Setting(args.cpu)
    args.work.mkdir(parents=True, exist_ok=True)
    check = {"methods": check_methods, "autoattack": check_autoattack, "ddp": check_ddp}
    return 1 if check[args.check](setting, args.work) else 0


if __name__ == "__main__":
    sys.exit(main())
