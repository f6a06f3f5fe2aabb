#!/usr/bin/env python3
"""Per-cell means, standard errors and differences from a records.csv — the numbers behind
docs/reproduce.md's "Claims and verdicts".

    .venv/bin/python scripts/cell-stats.py docs/results/NAME.csv [--metric ra] [--eps 0.1]
    .venv/bin/python scripts/cell-stats.py FILE --diff "AdvCL/slf" "ACL/slf" --metric ra

A cell is (method, protocol, ε_train, metric, ε, attack tag) over seeds; only accuracy metrics.
Its standard error (docs/reproduce.md's noise rule): one seed, the binomial √(p(1−p)/n) of its n
test points; k seeds, the larger of the sample std / √k and that binomial / √k (k seeds of one
cell share the test points, so the spread over seeds can undershoot on small k). A difference of
two cells has √(se₁² + se₂²). ``--diff A B`` selects cells by ``method/protocol[/eps_train]``.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from robustssl.evaluation.metrics import is_accuracy
from robustssl.experiments.records_csv import read_records_csv

Key = tuple[str, str, float, str, float, str]


@dataclass(frozen=True)
class Cell:
    """One cell's values over seeds (fractions) and its test-set size."""

    key: Key
    values: dict[int, float]
    n: int

    @property
    def mean(self) -> float:
        return statistics.fmean(self.values.values())

    @property
    def se(self) -> float:
        k, p = len(self.values), self.mean
        binomial = math.sqrt(max(p * (1 - p), 0.0) / self.n) / math.sqrt(k)
        spread = statistics.stdev(self.values.values()) / math.sqrt(k) if k > 1 else 0.0
        return max(spread, binomial)


def cells(rows: Iterable[dict[str, Any]]) -> dict[Key, Cell]:
    """Accuracy records grouped by cell (the last record of a seed wins, as in the store)."""
    values: dict[Key, dict[int, float]] = {}
    sizes: dict[Key, int] = {}
    for r in rows:
        if not is_accuracy(r["metric"]) or not isinstance(r["value"], (int, float)):
            continue
        key: Key = (
            str(r["method"]),
            str(r["protocol"]),
            float(r["eps_train"] or 0.0),
            str(r["metric"]),
            float(r["eps"] or 0.0),
            str(r["attack_tag"]),
        )
        seeds = values.setdefault(key, {})
        seed, value = int(r["seed"]), float(r["value"])
        if seeds.get(seed, value) != value:
            print(f"warning: {key} seed {seed} has two values; the later is used", file=sys.stderr)
        seeds[seed] = value
        sizes[key] = int(r["n"] or 0)
    return {k: Cell(k, v, sizes[k]) for k, v in values.items() if sizes[k] > 0}


def select(table: dict[Key, Cell], spec: str, metric: str, eps: float | None) -> Cell:
    """The one cell ``method/protocol[/eps_train]`` names for ``metric`` (and ``eps``)."""
    parts = spec.split("/")
    found = [
        c
        for k, c in table.items()
        if k[0] == parts[0]
        and k[1] == parts[1]
        and (len(parts) < 3 or math.isclose(k[2], float(parts[2])))
        and k[3] == metric
        and (eps is None or math.isclose(k[4], eps))
    ]
    if len(found) != 1:
        names = sorted({f"{k[0]}/{k[1]}/{k[2]:g}" for k in table})
        sys.exit(f"{spec!r} ({metric}, ε {eps}) matches {len(found)} cells; cells: {names}")
    return found[0]


def describe(c: Cell) -> str:
    seeds = ", ".join(f"{s}: {100 * v:.1f}" for s, v in sorted(c.values.items()))
    method, protocol, eps_train, metric, eps, tag = c.key
    return (
        f"| {method} | {protocol} | {eps_train:g} | {metric} | {eps:g} | {tag} | {len(c.values)} "
        f"| {100 * c.mean:.1f} | {100 * c.se:.1f} | {seeds} |"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("records", type=Path, help="a records.csv of robustssl report")
    parser.add_argument("--metric", default=None, help="only this metric (sa, ra, aa, top1, …)")
    parser.add_argument("--eps", type=float, default=None, help="only this ε_test")
    parser.add_argument("--diff", nargs=2, metavar=("A", "B"), help="A − B, method/protocol[/εt]")
    args = parser.parse_args(argv)
    table = cells(read_records_csv(args.records))
    if args.diff:
        if args.metric is None:
            parser.error("--diff needs --metric")
        a, b = (select(table, s, args.metric, args.eps) for s in args.diff)
        d, se = 100 * (a.mean - b.mean), 100 * math.hypot(a.se, b.se)
        print(describe(a), describe(b), sep="\n")
        print(f"{args.diff[0]} − {args.diff[1]}: {d:+.1f} pp, s.e. {se:.1f} ({d / se:+.1f} s.e.)")
        return 0
    print("| method | protocol | ε_train | metric | ε | attack | k | mean % | s.e. | seeds |")
    print("|---|---|---:|---|---:|---|---:|---:|---:|---|")
    for key in sorted(table):
        if (args.metric in (None, key[3])) and (args.eps is None or math.isclose(key[4], args.eps)):
            print(describe(table[key]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
