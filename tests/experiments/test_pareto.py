"""Pretraining cost per finetuned model (summed over the runs it used) and the robust accuracy
vs compute panels, front and figure."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from robustssl.experiments.compute import PretrainCost, pretrain_costs
from robustssl.experiments.pareto import ParetoPoint, pareto_figure, pareto_front, pareto_panels


def _run(study: Path, name: str, seconds: float, cpu: float | None, status: str = "complete"):
    run = study / "runs" / "pretrain" / name
    run.mkdir(parents=True)
    summary = {"status": status, "train_seconds": seconds}
    if cpu is not None:
        summary["train_cpu_seconds"] = cpu
    (run / "summary.json").write_text(json.dumps(summary))
    return run


def _stages(study: Path) -> list[dict]:
    simclr = _run(study, "simclr-1", 100.0, 90.0)
    advcl = _run(study, "advcl-1", 1000.0, 950.0)
    acl = _run(study, "acl-1", 500.0, None)
    _run(study, "broken-1", 10.0, 10.0, status="failed")
    pre = [
        {"kind": "pretrain", "name": "simclr-1", "path": "runs/pretrain/simclr-1", "config": {}},
        {
            "kind": "pretrain",
            "name": "advcl-1",
            "path": str(advcl),  # absolute paths work too
            "config": {"method": {"clusterfit": {"encoder": str(simclr)}}},
        },
        {"kind": "pretrain", "name": "acl-1", "path": str(acl), "config": {}},
        {"kind": "pretrain", "name": "broken-1", "path": "runs/pretrain/broken-1", "config": {}},
    ]
    fine = [
        {
            "kind": "finetune",
            "name": f"{n}-slf",
            "config": {"pretrained": f"/old/runs/pretrain/{n}"},
        }
        for n in ("simclr-1", "advcl-1", "acl-1", "broken-1")
    ]
    return pre + fine


def test_costs_sum_the_runs_a_model_used(tmp_path: Path) -> None:
    costs = pretrain_costs(_stages(tmp_path), tmp_path)
    assert costs["simclr-1-slf"] == PretrainCost(100.0, 90.0, ("simclr-1",))
    # AdvCL's cost includes the SimCLR run its pseudo-labels came from (a moved study still matches)
    assert costs["advcl-1-slf"] == PretrainCost(1100.0, 1040.0, ("advcl-1", "simclr-1"))
    assert costs["acl-1-slf"].cpu_seconds is None  # a run from before CPU counting
    assert "broken-1-slf" not in costs  # an incomplete pretraining has no cost


def test_damaged_or_missing_summaries_give_no_cost(tmp_path: Path) -> None:
    stages = _stages(tmp_path)
    (tmp_path / "runs/pretrain/simclr-1/summary.json").write_text('{"status": "compl')  # truncated
    stages[2] = {**stages[2], "path": None}  # acl-1 never got a run directory
    costs = pretrain_costs(stages, tmp_path)
    # AdvCL used the damaged SimCLR run: neither has a cost, and nothing raised
    assert "simclr-1-slf" not in costs and "advcl-1-slf" not in costs
    assert "acl-1-slf" not in costs


def _rows() -> list[dict]:
    rows = []
    for seed, (s_ra, a_ra) in enumerate([(0.01, 0.40), (0.03, 0.44)]):
        for model, method, value in (
            ("simclr-1-slf", "SimCLR", s_ra),
            ("advcl-1-slf", "AdvCL", a_ra),
        ):
            rows.append(
                {
                    "metric": "ra",
                    "model": model,
                    "method": method,
                    "value": value,
                    "seed": seed,
                    "dataset": "fmnist",
                    "protocol": "slf",
                    "attack_tag": "PGD-20",
                    "norm": "Linf",
                    "eps": 0.1,
                }
            )
    rows.append({**rows[0], "attack_tag": "AA-standard"})  # another setting: its own panel
    rows.append({**rows[0], "metric": "sa", "value": 0.9})
    return rows


def test_panels_average_seeds_per_method_and_setting(tmp_path: Path) -> None:
    costs = pretrain_costs(_stages(tmp_path), tmp_path)
    panels = pareto_panels(_rows(), costs)
    assert len(panels) == 1  # the AA setting has one method only: no panel
    panel = panels[0]
    assert panel.cpu and "PGD-20" in panel.title
    points = {p.label: p for p in panel.points}
    assert points["AdvCL"].ra == pytest.approx(0.42) and points["AdvCL"].n_seeds == 2
    assert points["AdvCL"].ra_std == pytest.approx(0.028284, abs=1e-5)
    assert points["AdvCL"].seconds == pytest.approx(1040.0)  # CPU seconds
    assert points["SimCLR"].seconds == pytest.approx(90.0)


def test_front_keeps_only_points_no_other_beats() -> None:
    def p(label: str, s: float, ra: float) -> ParetoPoint:
        return ParetoPoint(label, s, 0.0, ra, 0.0, 1)

    pts = [p("a", 10, 0.1), p("b", 20, 0.05), p("c", 30, 0.4), p("d", 40, 0.4), p("e", 5, 0.1)]
    assert [q.label for q in pareto_front(pts)] == ["e", "c"]


def test_figure_has_one_point_per_method(tmp_path: Path) -> None:
    costs = pretrain_costs(_stages(tmp_path), tmp_path)
    files = pareto_figure(pareto_panels(_rows(), costs)[0], tmp_path / "fig")
    svg = files.svg.read_text()
    assert files.png.stat().st_size > 1000
    assert 'id="point-AdvCL"' in svg and 'id="point-SimCLR"' in svg
    assert "CPU seconds" in svg or "CPU" in svg
