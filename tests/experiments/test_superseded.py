"""An edited experiment file must not make the report average the old and the new recipe."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from fakedata import write_fake_fashion_mnist
from robustssl.experiments.report import build_report
from robustssl.experiments.runner import run_plan
from robustssl.experiments.store import ResultsStore
from robustssl.experiments.superseded import read_plan, superseded_stages
from tinystudy import plan_of, tiny_study


def _stage(kind: str, name: str, seed: int = 0, **labels: Any) -> dict[str, Any]:
    return {
        "kind": kind,
        "name": name,
        "labels": labels or {"method": "T0"},
        "config": {"seed": seed},
    }


def test_superseded_needs_the_same_entry_labels_and_seed() -> None:
    plan = [
        _stage("finetune", "t0-alf-11111111"),
        _stage("evaluate", "t0-alf-11111111/linf-22222222"),
    ]
    stored = [
        *plan,
        _stage("finetune", "t0-alf-aaaaaaaa"),  # the old recipe of the same head: replaced
        _stage("evaluate", "t0-alf-aaaaaaaa/linf-bbbbbbbb"),  # its evaluation: replaced
        _stage("evaluate", "t0-alf-aaaaaaaa/l2-cccccccc"),  # an evaluation the file dropped
        _stage("finetune", "t0-alf-dddddddd", seed=1),  # another seed: nothing replaced it
        _stage("finetune", "t0-alf-eeeeeeee", method="T0 · TRADES"),  # other labels
        _stage("finetune", "t3-alf-ffffffff"),  # another entry
    ]
    assert superseded_stages(stored, plan) == {"t0-alf-aaaaaaaa", "t0-alf-aaaaaaaa/linf-bbbbbbbb"}
    assert superseded_stages(stored, None) == set()


@pytest.mark.parametrize("text", ["", "{not json", json.dumps({"a": 1}), json.dumps([1, 2])])
def test_a_missing_or_damaged_plan_supersedes_nothing(tmp_path: Path, text: str) -> None:
    if text:
        (tmp_path / "plan.json").write_text(text)
    assert read_plan(tmp_path) is None


def test_report_leaves_out_the_old_recipe(tmp_path: Path) -> None:
    root = write_fake_fashion_mnist(tmp_path / "data")
    study = tmp_path / "study"
    raw = tiny_study(root, study, lrs=(0.001,))
    assert run_plan(plan_of(raw), progress=False).exit_code == 0
    edited = copy.deepcopy(raw)  # the finetuning's epochs change: a new head and its evaluation
    edited["finetune"]["slf"]["overrides"]["optim"] = {"epochs": 3, "milestones": [2]}
    assert run_plan(plan_of(edited), progress=False).exit_code == 0
    with ResultsStore(study) as store:
        all_models = {r["model"] for r in store.rows()}
    assert len(all_models) == 2  # both heads keep their records in the store

    report = build_report(study, tmp_path / "report")
    csv_models = {
        line.split(",")[3] for line in (report.out_dir / "records.csv").read_text().splitlines()[1:]
    }
    current = {s["name"] for s in read_plan(study) or [] if s["kind"] == "finetune"}
    assert csv_models == current and len(current) == 1
    text = (report.out_dir / "results.md").read_text()
    assert "Left out: 2 stages of an earlier version of the experiment file" in text
    assert " (2)" not in text  # no cell combines the two heads as if they were two seeds
    assert "Left out: 2 stages" in report.index.read_text()
