"""``robustssl report STUDY --add-records FILE``: seeds run in another study directory."""

from __future__ import annotations

import copy
import csv
import io
import math
from pathlib import Path
from typing import Any

import pytest
from reportfix import build_study

from fakedata import write_fake_fashion_mnist
from robustssl.cli import main
from robustssl.experiments.records_csv import RecordsFileError, read_records_csv, records_csv
from robustssl.experiments.report import build_report
from robustssl.experiments.runner import run_plan
from robustssl.experiments.store import ResultsStore
from robustssl.experiments.superseded import unplanned_unfinished
from tinystudy import plan_of, tiny_study


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return bool(a == b)


def test_records_csv_reads_back_as_the_store_gives_it(tmp_path: Path) -> None:
    build_study(tmp_path)
    with ResultsStore(tmp_path) as store:
        rows = store.rows()
    (tmp_path / "records.csv").write_text(records_csv(rows))
    back = read_records_csv(tmp_path / "records.csv")
    assert len(back) == len(rows) > 20
    for want, got in zip(rows, back, strict=True):
        diff = [k for k in want if not _same(want[k], got.get(k))]
        assert diff == [], (want["stage"], diff)


@pytest.fixture(scope="module")
def two_seeds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Seed 0 in one study directory, reported; seed 1 of the same experiment in another."""
    tmp = tmp_path_factory.mktemp("imported")
    root = write_fake_fashion_mnist(tmp / "data")
    raw = tiny_study(root, tmp / "a", lrs=(0.001,))
    raw["evaluate"]["rob"]["threats"] = {"Linf": [0.05, 0.1]}  # two evaluation stages
    assert run_plan(plan_of(raw), progress=False).exit_code == 0
    first = build_report(tmp / "a").out_dir / "records.csv"
    raw_b = {**copy.deepcopy(raw), "study_dir": str(tmp / "b"), "seeds": [1]}
    assert run_plan(plan_of(raw_b), progress=False).exit_code == 0
    return {"tmp": tmp, "root": root, "raw": raw, "first": first, "b": tmp / "b"}


def _ra(rows: list[dict[str, Any]]) -> dict[int, float]:
    return {
        int(r["seed"]): float(r["value"]) for r in rows if r["metric"] == "ra" and r["eps"] == 0.1
    }


def test_added_seed_joins_the_cells(two_seeds: dict[str, Any]) -> None:
    b = two_seeds["b"]
    first = b.parent / "seed0.csv"
    first.write_text(two_seeds["first"].read_text())
    out = b.parent / "merged"
    assert main(["report", str(b), "--out", str(out), "--add-records", str(first)]) == 0
    merged = read_records_csv(out / "records.csv")
    ra = _ra(merged)
    assert sorted(ra) == [0, 1] and ra[0] != ra[1]
    assert {r["imported_from"] for r in merged if r["seed"] == 0} == {"seed0.csv"}
    assert {r["imported_from"] for r in merged if r["seed"] == 1} == {None}
    text = (out / "results.md").read_text()
    assert "- Seeds: 0, 1;" in text and "INCOMPLETE" not in text
    assert "(`robustssl report b --add-records seed0.csv`)" in text
    assert "Added from `seed0.csv` (a records.csv of `robustssl report`): seed 0, " in text
    assert "of 2 of the 2 evaluation stages the experiment plans for it" in text
    mean = f"{100 * (ra[0] + ra[1]) / 2:.2f} ± "
    assert mean in text and " (2)" in text  # the two seeds share one cell
    # the merged file serves the next seed's report: its seed 1 is this study's, not added twice,
    # and seed 0 keeps the file it first came from
    again = b.parent / "again"
    files = ["--add-records", str(out / "records.csv"), "--add-records", str(first)]
    assert main(["report", str(b), "--out", str(again), *files]) == 0
    again_rows = read_records_csv(again / "records.csv")
    assert len(again_rows) == len(merged)
    assert {r["imported_from"] for r in again_rows if r["seed"] == 0} == {"seed0.csv"}


def test_seeds_the_study_has_are_not_added(two_seeds: dict[str, Any]) -> None:
    tmp, first = two_seeds["tmp"], two_seeds["first"]
    rep = build_report(tmp / "a", tmp / "self", add_records=[first])
    rows = read_records_csv(rep.out_dir / "records.csv")
    assert len(rows) == len(read_records_csv(first))  # seed 0 is the study's own
    assert "Not added: " in (rep.out_dir / "results.md").read_text()


def test_missing_stages_make_the_report_incomplete(two_seeds: dict[str, Any]) -> None:
    b, first = two_seeds["b"], two_seeds["first"]
    rows = read_records_csv(first)
    gone = sorted({r["stage"] for r in rows})[0]
    lines = first.read_text().splitlines()
    part = b.parent / "part.csv"
    part.write_text("\n".join(ln for ln in lines if f",{gone}," not in ln) + "\n")
    rep = build_report(b, b.parent / "part", add_records=[part])
    text = (rep.out_dir / "results.md").read_text()
    assert "**INCOMPLETE**: the seeds from `part.csv` have records of 1 of 2 planned" in text
    assert "INCOMPLETE: the seeds from" in rep.index.read_text()


def test_another_recipe_is_refused_before_anything_is_written(
    two_seeds: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    tmp, root, first = two_seeds["tmp"], two_seeds["root"], two_seeds["first"]
    raw = tiny_study(root, tmp / "c", lrs=(0.001,))
    raw["finetune"]["slf"]["overrides"]["optim"] = {"epochs": 3, "milestones": [2]}
    raw["seeds"] = [1]
    assert run_plan(plan_of(raw), progress=False).exit_code == 0
    assert main(["report", str(tmp / "c"), "--add-records", str(first)]) == 2
    err = capsys.readouterr().err
    assert "stages are not ones this study's experiment plans" in err and "(seed 0)" in err
    assert not (tmp / "c" / "report").exists()


def _value(header: str, line: str, metric: str, value: str) -> str:
    """``line`` of a records.csv with its value replaced when its metric is ``metric``."""
    names, cells = header.split(","), next(csv.reader([line]))
    if cells[names.index("metric")] == metric:
        cells[names.index("value")] = value
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(cells)
    return out.getvalue()


def _bad(tmp: Path, name: str, text: str | bytes) -> Path:
    path = tmp / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def test_bad_files_are_clear_errors(two_seeds: dict[str, Any]) -> None:
    b, first = two_seeds["b"], two_seeds["first"]
    header, *body = first.read_text().splitlines()
    cases = {
        "missing": (b.parent / "nope.csv", "no such file"),
        "other csv": (_bad(b.parent, "other.csv", "a,b\n1,2\n"), "is not a records.csv"),
        "binary": (_bad(b.parent, "bin.csv", b"\xff\xfe\x00" * 50), "not a text"),
        "truncated": (
            _bad(b.parent, "cut.csv", header + "\n" + body[0][: len(body[0]) // 3] + "\n"),
            "wrong number of fields",
        ),
        "twice": (
            _bad(b.parent, "twice.csv", "\n".join([header, *body, body[0]])),
            "more than once",
        ),
        "accuracy": (
            _bad(
                b.parent,
                "acc.csv",
                "\n".join([header, *(_value(header, ln, "ra", "1.5") for ln in body)]),
            ),
            "outside",
        ),
        "edited": (
            _bad(b.parent, "edit.csv", header + "\n" + body[0].replace(",0,", ",zero,", 1)),
            "not a number",
        ),
    }
    for what, (path, message) in cases.items():
        with pytest.raises(RecordsFileError, match=message):
            build_report(b, b.parent / f"bad-{what.replace(' ', '_')}", add_records=[path])
        assert not (b.parent / f"bad-{what.replace(' ', '_')}").exists(), what


def test_unfinished_stages_the_last_run_did_not_plan_are_not_counted() -> None:
    plan = [{"name": "s0"}, {"name": "s1"}]
    stored = [
        {"name": "s0", "status": "complete"},
        {"name": "s1", "status": "pending"},
        {"name": "old-seed-2", "status": "pending"},
        {"name": "old-done", "status": "complete"},
    ]
    assert unplanned_unfinished(stored, plan) == {"old-seed-2"}
    assert unplanned_unfinished(stored, None) == set()


def test_report_counts_only_the_last_runs_unfinished_stages(two_seeds: dict[str, Any]) -> None:
    tmp, raw = two_seeds["tmp"], two_seeds["raw"]
    study = tmp / "d"
    raw_d = {**copy.deepcopy(raw), "study_dir": str(study), "seeds": [0, 1]}
    plan = plan_of(raw_d)
    with ResultsStore(study) as store:  # an earlier run planned seed 1 and was stopped
        for stage in plan:
            if stage.seed == 1:
                store.add_stage(stage.kind, stage.store_name, config={"seed": 1})
    assert run_plan(plan_of({**raw_d, "seeds": [0]}), progress=False).exit_code == 0
    text = (build_report(study).out_dir / "results.md").read_text()
    assert "- Stages: 4 of 4 complete." in text and "INCOMPLETE" not in text
    assert "Not counted: 4 unfinished stages that the last run did not plan" in text


def test_records_csv_columns(two_seeds: dict[str, Any]) -> None:
    with two_seeds["first"].open() as f:
        header = next(csv.reader(f))
    assert {"stage", "seed", "value", "code_version", "attack_config"} <= set(header)


def test_study_experiment_replans_other_seeds(tmp_path: Path) -> None:
    """The study's own experiment for other seeds: base configs from where it was read, and an
    evaluation run on some seeds only is kept for those and left out for the rest."""
    import yaml

    from robustssl.experiments.runner import write_study_files
    from robustssl.experiments.spec import load_experiment, study_experiment

    raw = tiny_study(tmp_path / "data", tmp_path / "study", seeds=[0, 1])
    raw["evaluate"]["aa"] = {**copy.deepcopy(raw["evaluate"]["rob"]), "seeds": [0]}
    raw["evaluate"]["aa"]["overrides"]["data"] = {"n": 7}  # its own stages, not rob's
    file = tmp_path / "exp.yaml"
    file.write_text(yaml.safe_dump(raw))
    write_study_files(_plan(load_experiment(file, ())))
    one = study_experiment(tmp_path / "study", [1])
    assert one.source == file.resolve() and one.config.seeds == [1]
    assert {s.entry for s in _plan(one).of_kind("evaluate")} == {"rob"}
    both = study_experiment(tmp_path / "study", [1, 0])
    assert both.config.seeds == [0, 1] and both.config.evaluate["aa"].seeds == [0]
    # a study run for seed 1 alone still plans seed 0's AutoAttack-style entry for an added seed 0
    write_study_files(_plan(load_experiment(file, ("seeds=[1]",))))
    zero = _plan(study_experiment(tmp_path / "study", [0]))
    assert {s.entry for s in zero.of_kind("evaluate")} == {"rob", "aa"}


def _plan(exp: Any) -> Any:
    from robustssl.experiments.plan import expand

    return expand(exp)


def test_seeds_line_names_metrics_some_seeds_lack(two_seeds: dict[str, Any]) -> None:
    """With added seeds the study's file cannot say where entries ran: the records do."""
    b, first = two_seeds["b"], two_seeds["first"]
    header, *body = first.read_text().splitlines()
    no_ra = b.parent / "no_ra.csv"
    no_ra.write_text("\n".join([header, *(ln for ln in body if ",ra," not in ln)]) + "\n")
    text = (
        build_report(b, b.parent / "no_ra", add_records=[no_ra]).out_dir / "results.md"
    ).read_text()
    line = next(x for x in text.splitlines() if x.startswith("- Seeds: "))
    assert line.startswith("- Seeds: 0, 1; `ra` records of seed 1 only; a cell over")
    full = build_report(b, b.parent / "full", add_records=[first]).out_dir / "results.md"
    assert "records of seed" not in full.read_text()
