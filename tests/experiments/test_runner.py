"""``robustssl run``: resumable, failure-isolating, parallel runs of a tiny real study."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from fakedata import write_fake_fashion_mnist
from robustssl.cli.main import main
from robustssl.data import mnist
from robustssl.experiments import ResultsStore, execute
from robustssl.experiments.execute import StageTask
from robustssl.experiments.runner import run_plan
from tinystudy import plan_of, tiny_study, tree_state, write_yaml


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return write_fake_fashion_mnist(tmp_path / "data")


def _values(study: Path) -> dict[tuple[str, str, str], float]:
    with ResultsStore(study) as store:
        rows = store.rows()
    return {(r["model"], r["metric"], str(r["eps"])): r["value"] for r in rows}


def test_run_then_rerun_is_cached_and_untouched(tmp_path: Path, root: Path) -> None:
    study = tmp_path / "study"
    plan = plan_of(tiny_study(root, study))
    report = run_plan(plan, progress=False)
    assert report.exit_code == 0 and len(report.completed) == 6 and not report.cached
    values = _values(study)
    assert len(values) == 4  # SA and RA of two finetuned models
    assert all(0 <= v <= 1 for v in values.values())
    before = tree_state(study / "runs")
    again = run_plan(plan_of(tiny_study(root, study)), progress=False)
    assert len(again.cached) == 6 and not again.completed
    assert tree_state(study / "runs") == before
    assert _values(study) == values  # re-ingesting is idempotent


def test_killed_study_resumes_without_redoing_stages(
    tmp_path: Path, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    study = tmp_path / "study"
    real = execute.RUNNERS["finetune"]
    calls: list[str] = []

    def killed_on_second(task: StageTask) -> None:
        calls.append(task.name)
        if len(calls) == 2:
            raise KeyboardInterrupt  # Ctrl-C in the middle of the second finetune run
        real(task)

    monkeypatch.setitem(execute.RUNNERS, "finetune", killed_on_second)
    with pytest.raises(KeyboardInterrupt):
        run_plan(plan_of(tiny_study(root, study)), progress=False)
    monkeypatch.setitem(execute.RUNNERS, "finetune", real)
    done = tree_state(study / "runs" / "pretrain")
    first_ft = next(p for p in (study / "runs" / "finetune").iterdir() if p.name == calls[0])
    done_ft = tree_state(first_ft)

    report = run_plan(plan_of(tiny_study(root, study)), progress=False)
    assert report.exit_code == 0
    # the pretrain runs, the first finetune run and its evaluation (deepest stages go first)
    # were complete and kept; the interrupted finetune run and its evaluation ran
    pre = [p.name for p in (study / "runs" / "pretrain").iterdir()]
    assert len(report.cached) == 4 and set(pre) | {calls[0]} < set(report.cached)
    assert len(report.completed) == 2 and calls[1] in report.completed
    assert {k: v for k, v in tree_state(study / "runs" / "pretrain").items() if k in done} == done
    assert {k: v for k, v in tree_state(first_ft).items() if k in done_ft} == done_ft


def test_failed_stage_is_isolated_and_counted(
    tmp_path: Path, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    study = tmp_path / "study"
    plan = plan_of(tiny_study(root, study))
    bad = plan.of_kind("finetune")[0]
    real = execute.RUNNERS["finetune"]

    def fail_one(task: StageTask) -> None:
        if task.stage_id == bad.id:
            raise RuntimeError("boom: out of memory")
        real(task)

    monkeypatch.setitem(execute.RUNNERS, "finetune", fail_one)
    report = run_plan(plan, progress=False)
    assert report.exit_code == 1
    assert list(report.failed) == [bad.store_name] and "boom" in report.failed[bad.store_name]
    assert len(report.skipped) == 1  # its evaluation
    assert len(report.completed) == 4
    with ResultsStore(study) as store:
        statuses = {s["name"]: (s["status"], s["error"]) for s in store.stages()}
    assert statuses[bad.store_name][0] == "failed" and "boom" in statuses[bad.store_name][1]
    assert sum(st == "skipped" for st, _ in statuses.values()) == 1
    # fixed and rerun: only the failed stage and the one it blocked run
    monkeypatch.setitem(execute.RUNNERS, "finetune", real)
    again = run_plan(plan_of(tiny_study(root, study)), progress=False)
    assert again.exit_code == 0 and len(again.completed) == 2 and len(again.cached) == 4


def test_cli_exit_status_counts_failures(
    tmp_path: Path, root: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    path = write_yaml(tmp_path / "exp.yaml", tiny_study(root, tmp_path / "study"))

    def always_fail(task: StageTask) -> None:
        raise RuntimeError("finetuning broke")

    monkeypatch.setitem(execute.RUNNERS, "finetune", always_fail)
    assert main(["run", str(path), "--no-progress"]) == 2
    out = capsys.readouterr().out
    assert "2 failed" in out and "2 skipped" in out and "finetuning broke" in out


def test_cli_dry_run_writes_nothing(tmp_path: Path, root: Path, capsys: Any) -> None:
    path = write_yaml(tmp_path / "exp.yaml", tiny_study(root, tmp_path / "study"))
    assert main(["run", str(path), "--dry-run", "--no-estimate", "seeds=[0,1]"]) == 0
    out = capsys.readouterr().out
    assert "12 stages (0 cached, 0 to resume, 12 to run)" in out
    assert not (tmp_path / "study").exists()


def test_missing_data_stops_before_anything_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    monkeypatch.setitem(mnist.SYSTEM_DIRS, "fashion_mnist", (tmp_path / "no-debian",))
    empty = tmp_path / "empty"
    empty.mkdir()
    path = write_yaml(tmp_path / "exp.yaml", tiny_study(empty, tmp_path / "study"))
    assert main(["run", str(path), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "apt-get install -y dataset-fashion-mnist" in err and "data.download=true" in err
    assert not (tmp_path / "study").exists()


def test_parallel_jobs_give_the_same_records(tmp_path: Path, root: Path) -> None:
    """The documented guarantee: same records for any --jobs at equal threads per stage."""
    serial = run_plan(plan_of(tiny_study(root, tmp_path / "one")), progress=False, threads=1)
    parallel = run_plan(
        plan_of(tiny_study(root, tmp_path / "two")), jobs=2, progress=False, threads=1
    )
    assert serial.exit_code == parallel.exit_code == 0
    assert _values(tmp_path / "one") == _values(tmp_path / "two")


def test_threads_per_stage_are_set_and_recorded(tmp_path: Path, root: Path) -> None:
    """``threads`` pins torch threads per stage whatever ``jobs`` is, and every run's summary
    says how many it used (CPU numbers are bit-identical only for equal thread counts)."""
    study = tmp_path / "pinned"
    report = run_plan(plan_of(tiny_study(root, study)), jobs=2, progress=False, threads=3)
    assert report.exit_code == 0
    summaries = [json.loads(p.read_text()) for p in study.glob("runs/*/*/summary.json")]
    assert len(summaries) >= 3  # the pretrainings and both finetunings
    assert {s["torch_threads"] for s in summaries} == {3}  # not cores / jobs


def test_submitit_local_executor(tmp_path: Path, root: Path) -> None:
    pytest.importorskip("submitit")
    raw = tiny_study(root, tmp_path / "sub")
    raw["slurm"] = {"cluster": "local", "parameters": {"timeout_min": 10}, "poll_seconds": 0.2}
    report = run_plan(plan_of(raw), launcher="slurm", progress=False)
    assert report.exit_code == 0, report.failed
    assert len(report.completed) == 6
    assert (tmp_path / "sub" / "submitit").is_dir()  # job logs
    serial = run_plan(plan_of(tiny_study(root, tmp_path / "one")), progress=False)
    assert serial.exit_code == 0
    assert _values(tmp_path / "sub") == _values(tmp_path / "one")


def test_cli_interrupt_says_how_to_resume(
    tmp_path: Path, root: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    path = write_yaml(tmp_path / "exp.yaml", tiny_study(root, tmp_path / "study"))

    def interrupted(task: StageTask) -> None:
        raise KeyboardInterrupt

    monkeypatch.setitem(execute.RUNNERS, "finetune", interrupted)
    assert main(["run", str(path), "--no-progress"]) == 130
    assert "run the same command again" in capsys.readouterr().err
    monkeypatch.setitem(execute.RUNNERS, "finetune", execute._run_finetune)
    assert main(["run", str(path), "--no-progress"]) == 0
    # the first pretrain run finished before the first finetune run (deepest ready stage first)
    assert "5 run, 1 already complete" in capsys.readouterr().out


def test_quickstart_plan_and_missing_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    study = f"study_dir={tmp_path / 'qs'}"
    assert main(["quickstart", "--dry-run", "--no-estimate", study]) == 0
    out = capsys.readouterr().out
    assert "20 stages" in out
    for entry in ("supervised", "supervised_at", "simclr", "advcl"):
        assert f"pretrain {entry} [seed=0]" in out
    monkeypatch.setitem(mnist.SYSTEM_DIRS, "fashion_mnist", (tmp_path / "no-debian",))
    empty = f"data.root={tmp_path / 'empty'}"
    assert main(["quickstart", study, empty, "--no-progress", "--no-fetch"]) == 2
    err = capsys.readouterr().err
    assert "apt-get install -y dataset-fashion-mnist" in err and "data.download=true" in err
    assert not (tmp_path / "qs").exists()
