"""scripts/cell-stats.py: the noise rule behind docs/reproduce.md's verdicts."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "cell-stats.py"


@pytest.fixture(scope="module")
def stats() -> ModuleType:
    spec = importlib.util.spec_from_file_location("cell_stats", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["cell_stats"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _row(seed: int, value: float, method: str = "A", n: int = 500) -> dict[str, Any]:
    return {
        "metric": "ra",
        "value": value,
        "method": method,
        "protocol": "slf",
        "eps_train": 0.1,
        "eps": 0.1,
        "attack_tag": "PGD-20",
        "seed": seed,
        "n": n,
    }


def test_one_seed_is_binomial_and_seeds_take_the_larger(stats: ModuleType) -> None:
    one = stats.cells([_row(0, 0.5)])
    (cell,) = one.values()
    assert math.isclose(cell.se, math.sqrt(0.25 / 500))
    close = next(iter(stats.cells([_row(0, 0.5), _row(1, 0.5), _row(2, 0.5)]).values()))
    assert math.isclose(close.se, math.sqrt(0.25 / 500) / math.sqrt(3))  # spread 0: binomial/√k
    wide = next(iter(stats.cells([_row(0, 0.4), _row(1, 0.6)]).values()))
    assert math.isclose(wide.se, 0.1)  # std 0.1414 / √2 beats binomial 0.0224 / √2
    assert math.isclose(wide.mean, 0.5)


def test_diff_prints_difference_and_its_se(
    stats: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from robustssl.experiments.records_csv import records_csv

    rows = [_row(0, 0.5, "A"), _row(0, 0.4, "B")]
    full = [
        {"id": i, "stage": f"s{i}", "kind": "evaluate", "model": r["method"], **r}
        for i, r in enumerate(rows)
    ]
    for r in full:
        r.update(
            pretraining=None,
            finetune=None,
            dataset="d",
            norm="Linf",
            attack="pgd",
            subset=None,
            code_version="v",
            time="t",
            threat="Linf",
            label_fraction=0.1,
            attack_config={},
            tags={},
            info={},
        )
    path = tmp_path / "records.csv"
    path.write_text(records_csv(full))
    assert stats.main([str(path), "--metric", "ra", "--diff", "A/slf", "B/slf"]) == 0
    out = capsys.readouterr().out
    se = 100 * math.hypot(math.sqrt(0.25 / 500), math.sqrt(0.24 / 500))
    assert f"A/slf − B/slf: +10.0 pp, s.e. {se:.1f} ({10 / se:+.1f} s.e.)" in out
