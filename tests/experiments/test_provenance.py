"""Issue 14 end to end: a real study with two evaluate entries that differ only in the PGD steps
keeps both RA records, and the report labels each number with the attack that produced it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fakedata import write_fake_fashion_mnist
from robustssl.cli.main import main
from robustssl.experiments import ResultsStore
from robustssl.experiments.report import build_report
from robustssl.experiments.runner import run_plan
from tinystudy import plan_of, tiny_study


def _entry(steps: int | None) -> dict:
    overrides = {
        "data": {"n": 16, "batch_size": 16},
        "metrics": ["sa", "ra"],
        "diagnostics": {"enabled": False},
    }
    if steps is not None:
        overrides["attacks.pgd"] = {"steps": steps}
    return {
        "finetune": "slf",
        "config": str(Path(__file__).resolve().parents[2] / "configs/fashion_mnist/evaluate.yaml"),
        "threats": {"Linf": [0.1]},
        "overrides": overrides,
    }


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("provenance")
    root = write_fake_fashion_mnist(tmp / "data")
    study = tmp / "study"
    raw = tiny_study(root, study, evaluate={"pgd2": _entry(2), "pgd20": _entry(None)})
    raw["pretrain"]["sup"].pop("grid")  # one pretraining run
    report = run_plan(plan_of(raw), progress=False)
    assert report.exit_code == 0 and len(report.completed) == 4
    return study


def test_both_records_are_kept_with_their_settings(study: Path) -> None:
    with ResultsStore(study) as store:
        ra = store.rows(metric="ra")
        sa = store.rows(metric="sa")
    assert sorted(r["attack_tag"] for r in ra) == ["PGD-2 α=ε/4", "PGD-20 α=ε/4"]
    assert {r["attack_config"]["steps"] for r in ra} == {2, 20}
    assert len({r["model"] for r in ra}) == 1  # one model, two measurements
    by_tag = {r["attack_tag"]: r["value"] for r in ra}
    assert by_tag["PGD-2 α=ε/4"] >= by_tag["PGD-20 α=ε/4"]
    # the clean accuracy of one model on the same points is one measurement, not two
    assert len(sa) == 1 and sa[0]["subset"] == "test[0:16]" and sa[0]["n"] == 16


def test_the_report_labels_each_number(study: Path) -> None:
    rep = build_report(study)
    by_name = {t.name: t for t in rep.tables}
    table = by_name["pretrain_finetune_Linf_0.1"]
    columns = table.flat_columns()
    assert columns == [
        "fashion_mnist RA(%) PGD-2 α=ε/4",
        "fashion_mnist RA(%) PGD-20 α=ε/4",
        "fashion_mnist SA(%)",
    ]
    with ResultsStore(study) as store:
        ra = {r["attack_tag"]: r["value"] for r in store.rows(metric="ra")}
    (row,) = table.cells
    assert [c.mean for c in row[:2]] == [ra["PGD-2 α=ε/4"], ra["PGD-20 α=ε/4"]]
    # the ε-table on the same page shows both, each under its own label, the same numbers
    eps_table = by_name["method_eps_fashion_mnist_Linf"]
    assert [c[0] for c in eps_table.columns] == ["clean", "PGD-2 α=ε/4", "PGD-20 α=ε/4"]
    assert [c.mean for c in eps_table.cells[0][1:]] == [c.mean for c in row[:2]]
    page = rep.index.read_text()
    assert "RA(%) PGD-2 α=ε/4" in page and "RA(%) PGD-20 α=ε/4" in page
    assert "steps=2" in page and "steps=20" in page  # the captions spell the settings out
    # the stage table has a seed column
    stages = re.search(r'<table class="results" id="table-stages">.*?</table>', page, re.S)
    assert stages and "<th>Seed</th>" in stages.group(0)
    assert stages.group(0).count("<td>0</td>") >= 4  # every stage ran with seed 0


def test_results_listing_shows_tag_and_seed(study: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["results", str(study), "--filter", "metric=ra"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split()[-5:] == ["attack", "n", "seed", "tags", "value"]
    assert any("PGD-2 α=ε/4" in line and " 16 " in line for line in lines)
    assert any("PGD-20 α=ε/4" in line for line in lines)
