"""Attack speed and strength against the independent implementations (issue 4 targets).

Prints one JSON object per line: {"name", "ours", "baseline", "unit", "ratio", "target", ...}.
All on one PGD-trained small CNN (Fashion-MNIST, L∞ ε = 0.1; tests/robust_model.py, trained here in
about a minute) and the same test points:

- pgd_speed_vs_torchattacks: PGD-10 images/s, ours vs torchattacks.PGD (same ε, step, steps).
- autoattack_speed_vs_official: AutoAttack "standard" images/s, ours vs the official code
  (pyautoattack), with both robust accuracies in the record (ours must be ≤ official + 0.3 pp).
- sweep_speed_vs_independent: 10 ε values (0.03 … 0.3), our pruned sweep (robust_accuracy_curve)
  vs one independent run of the same attack per ε, with Madry's fixed-budget PGD-20 (last
  iterate); both curves in the record (pruned never higher). The `_early_stop` record (no target)
  repeats it with our default PGD, which already stops broken points early, so pruning saves less.

Run: ``python benchmarks/attacks.py`` (about 10 minutes on 2 cores; ``AA_POINTS`` sets the number
of AutoAttack points, default 200).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torchattacks
from pyautoattack import AutoAttack as OfficialAutoAttack

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from robust_model import accuracy, fashion_mnist_tensors, train_robust
from robustssl.attacks import PGD, AutoAttack, robust_accuracy_curve

EPS = 0.1
SWEEP = [0.03 * i for i in range(1, 11)]


def timed(fn: Callable[[], object]) -> tuple[object, float]:
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def record(
    name: str, ours: float, baseline: float, unit: str, target: float | None, **extra
) -> None:
    row = {
        "name": name,
        "ours": round(ours, 3),
        "baseline": round(baseline, 3),
        "unit": unit,
        "ratio": round(ours / baseline, 3),
        "target": target,
        **extra,
    }
    print(json.dumps(row), flush=True)


def pgd_speed(model, x, y) -> None:
    ours = PGD(model, "Linf", EPS, steps=10, step_size=EPS / 4)
    ref = torchattacks.PGD(model, eps=EPS, alpha=EPS / 4, steps=10)
    ours(x[:50], y[:50]), ref(x[:50], y[:50])  # warm-up
    (x_ours, t_ours), (x_ref, t_ref) = timed(lambda: ours(x, y)), timed(lambda: ref(x, y))
    record(
        "pgd_speed_vs_torchattacks",
        len(x) / t_ours,
        len(x) / t_ref,
        "images/s",
        1.0,
        ours_accuracy=accuracy(model, x_ours, y),
        baseline_accuracy=accuracy(model, x_ref, y),
    )


def autoattack_speed(model, x, y) -> None:
    official = OfficialAutoAttack(
        model, norm="Linf", eps=EPS, version="standard", seed=0, device="cpu"
    )
    official.verbose = False
    (x_ref, _), t_ref = timed(lambda: official.run_standard_evaluation(x, y, batch_size=len(x)))
    result, t_ours = timed(lambda: AutoAttack(model, "Linf", EPS, seed=0, progress=False).run(x, y))
    record(
        "autoattack_speed_vs_official",
        len(x) / t_ours,
        len(x) / t_ref,
        "images/s",
        2.0,
        ours_accuracy=result.robust_accuracy,
        baseline_accuracy=accuracy(model, x_ref, y),
        points=len(x),
        ours_seconds=round(t_ours, 1),
        baseline_seconds=round(t_ref, 1),
        ours_seconds_per_attack={k: round(v, 1) for k, v in result.seconds.items()},
    )


def sweep_speed(model, x, y, name: str, target: float | None, **pgd) -> None:
    """Our pruned sweep vs one independent run of the same PGD-20 per ε."""
    attack = PGD(model, "Linf", SWEEP[0], steps=20, **pgd)
    curve, t_ours = timed(lambda: robust_accuracy_curve(model, x, y, attack, SWEEP, progress=False))

    def independent() -> list[float]:
        return [accuracy(model, attack.with_eps(e)(x, y), y) for e in SWEEP]

    accs, t_ref = timed(independent)
    record(
        name,
        len(SWEEP) * len(x) / t_ours,
        len(SWEEP) * len(x) / t_ref,
        "image-eps/s",
        target,
        ours_accuracy=[round(a, 4) for a in curve.accuracy],
        baseline_accuracy=[round(a, 4) for a in accs],
    )


def main() -> None:
    torch.manual_seed(0)
    x_train, y_train = fashion_mnist_tensors("train", 10000)
    model = train_robust(x_train, y_train, eps=EPS, epochs=3)
    x, y = fashion_mnist_tensors("test", 1000)
    pgd_speed(model, x, y)
    # Madry's PGD-20 (fixed budget, last iterate): what pruning alone saves
    sweep_speed(
        model, x[:500], y[:500], "sweep_speed_vs_independent", 2.0, early_stop=False, select="last"
    )
    # our default PGD stops broken points early, so pruning saves less (for the record)
    sweep_speed(model, x[:500], y[:500], "sweep_speed_vs_independent_early_stop", None)
    n = int(os.environ.get("AA_POINTS", "200"))
    autoattack_speed(model, x[:n], y[:n])


if __name__ == "__main__":
    main()
