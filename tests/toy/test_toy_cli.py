"""``robustssl toy``: our numbers printed next to the seed's, JSON output, and clear errors."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from robustssl.cli.main import build_parser, main

QUICK_LT = [
    "toy", "lt", "--seeds", "2", "--fraction", "0.0002", "--extended-epochs", "1",
    "--variant-epochs", "2",
]  # fmt: skip


def test_lt_prints_ours_next_to_the_seeds_numbers(capsys, tmp_path: Path):
    out_json = tmp_path / "rows.json"
    assert main([*QUICK_LT, "--json", str(out_json)]) == 0
    out = capsys.readouterr().out
    assert "L-T (seed 000_1fde5da063130210.txt §6.2), 2 seeds" in out
    assert "ours" in out and "seed 000" in out
    row = next(line for line in out.splitlines() if line.startswith("standard") and " 0.4 " in line)
    assert re.search(r"pgd\s+0\.4\s+\d+\.\d ± \d+\.\d \(n=2\)\s+12 \(20 and 200 epochs\)", out), row
    hand = [
        line for line in out.splitlines() if line.startswith("hand-made") and "certified" in line
    ]
    assert any(re.search(r"0\.4\s+100\.0\s+100 \(ε < 0\.5", line) for line in hand)
    rows = json.loads(out_json.read_text())
    standard = [r for r in rows if r["experiment"] == "standard" and r["metric"] == "clean"]
    assert len(standard) == 1 and len(standard[0]["values"]) == 2
    assert {"mean", "std", "seed_value"} <= set(standard[0])


def test_triangle_square_reports_table_4(capsys):
    assert main(["toy", "triangle-square", "--seeds", "1"]) == 0
    out = capsys.readouterr().out
    for eps, seed in (("0.1", "99"), ("0.2", "54"), ("0.3", "11"), ("0.4", "0")):
        assert re.search(rf"standard\s+pgd\s+{eps}\s+\d+\.\d\s+{seed} \(Table 4\)", out)
    assert re.search(r"hand-made\s+certified\s+0\.49\s+100\.0", out)
    assert re.search(r"hand-made\s+counter-example\s+0\.51\s+100\.0", out)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--fraction", "0"], "--fraction must be in (0, 1], got 0.0"),
        (["--seeds", "0"], "--seeds must be ≥ 1, got 0"),
        (["--extended-epochs", "0"], "--extended-epochs must be ≥ 1, got 0"),
    ],
)
def test_bad_options_exit_2_naming_the_flag(capsys, args: list[str], message: str):
    assert main(["toy", "lt", *args]) == 2
    assert f"robustssl toy: error: {message}" in capsys.readouterr().err


def test_toy_is_registered():
    assert "toy" in build_parser().format_help()
