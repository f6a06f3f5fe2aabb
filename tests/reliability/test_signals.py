"""Ctrl-C (SIGINT) and ``kill`` (SIGTERM) at several points of every command: exit 130 / 143
with the line saying how to resume, files written before intact, no ``*.tmp`` left, locks
released, signal handlers restored, the study's store told; and resuming gives the numbers of an
uninterrupted run. Signals are real (``os.kill`` of this process) and sent from inside the code
at the chosen point."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import pytest
import torch
from relfix import (
    copy_run,
    evaluate_config,
    finetune_config,
    hashes,
    pretrain_config,
    study_spec,
    temp_files,
)

from robustssl.cli.main import main
from robustssl.experiments import ResultsStore
from robustssl.methods import PretrainConfig, PretrainModule, pretrain
from robustssl.runs import Terminated, lock_holder
from robustssl.utils.checkpoint import load_weights
from tinystudy import plan_of, write_yaml


def _signal_at_step(
    monkeypatch: pytest.MonkeyPatch, epoch: int, step: int, signum: int = signal.SIGINT
) -> None:
    real = PretrainModule.training_step

    def step_then_signal(self: PretrainModule, batch: Any, batch_idx: int) -> Any:
        out = real(self, batch, batch_idx)
        if self.current_epoch == epoch and batch_idx == step:
            os.kill(os.getpid(), signum)
        return out

    monkeypatch.setattr(PretrainModule, "training_step", step_then_signal)


def _same_weights(a: Path, b: Path) -> bool:
    wa, wb = load_weights(a), load_weights(b)
    return wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)


def test_exit_status_of_signals() -> None:
    from robustssl.runs.signals import exit_status, signal_name

    assert exit_status(KeyboardInterrupt()) == 130 and exit_status(Terminated()) == 143
    assert signal_name(Terminated()) == "SIGTERM (kill)"
    assert signal_name(KeyboardInterrupt()) == "SIGINT (Ctrl-C)"


def test_ctrl_c_in_pretraining_exits_130_and_resumes_to_the_same_weights(
    tmp_path: Path,
    data_root: Path,
    done_runs: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cfg = write_yaml(tmp_path / "p.yaml", pretrain_config(data_root, tmp_path, epochs=2))
    _signal_at_step(monkeypatch, epoch=1, step=1)
    assert main(["pretrain", "--config", str(cfg)]) == 130  # Lightning alone would exit 1
    err = capsys.readouterr().err
    assert "interrupted by SIGINT (Ctrl-C); run the same command again with --resume" in err
    run = tmp_path / "pre"
    assert (run / "checkpoints" / "last.ckpt").is_file() and not (run / "summary.json").exists()
    assert not temp_files(run) and lock_holder(run) is None
    config = hashes(run / "config.json")
    monkeypatch.undo()
    assert main(["pretrain", "--config", str(cfg), "--resume"]) == 0
    assert hashes(run / "config.json") == config
    assert _same_weights(run / "encoder.safetensors", done_runs["pretrain"] / "encoder.safetensors")


def test_ctrl_c_while_saving_the_checkpoint_keeps_the_previous_one(
    tmp_path: Path, data_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lightning.pytorch import Trainer

    real = Trainer.save_checkpoint
    calls: list[int] = []

    def save_then_interrupt(self: Trainer, filepath: Any, *args: Any, **kwargs: Any) -> None:
        real(self, filepath, *args, **kwargs)  # the temporary file is complete...
        calls.append(self.current_epoch)
        if len(calls) == 2:
            os.kill(os.getpid(), signal.SIGINT)  # ...and Ctrl-C comes before the rename

    monkeypatch.setattr(Trainer, "save_checkpoint", save_then_interrupt)
    cfg = PretrainConfig.model_validate(pretrain_config(data_root, tmp_path, epochs=3))
    with pytest.raises(KeyboardInterrupt):
        pretrain(cfg)
    last = tmp_path / "pre" / "checkpoints" / "last.ckpt"
    assert calls == [0, 1]
    assert torch.load(last, weights_only=True, map_location="cpu")["epoch"] == 0  # the first
    assert not temp_files(tmp_path)


def test_kill_of_pretraining_exits_143(
    tmp_path: Path, data_root: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    cfg = write_yaml(tmp_path / "p.yaml", pretrain_config(data_root, tmp_path, epochs=2))
    _signal_at_step(monkeypatch, epoch=0, step=1, signum=signal.SIGTERM)
    assert main(["pretrain", "--config", str(cfg)]) == 143  # Lightning alone would exit 0
    assert "interrupted by SIGTERM (kill); run the same command again with --resume" in (
        capsys.readouterr().err
    )
    assert lock_holder(tmp_path / "pre") is None and not temp_files(tmp_path)


def test_kill_of_pretraining_through_the_api_raises_terminated(
    tmp_path: Path, data_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _signal_at_step(monkeypatch, epoch=0, step=0, signum=signal.SIGTERM)
    cfg = PretrainConfig.model_validate(pretrain_config(data_root, tmp_path, epochs=2))
    with pytest.raises(Terminated):  # not Lightning's SystemExit(None), i.e. status 0
        pretrain(cfg)
    assert not (tmp_path / "pre" / "summary.json").exists()


def test_ctrl_c_in_finetuning_exits_130_and_resumes_to_the_same_classifier(
    tmp_path: Path,
    data_root: Path,
    done_runs: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import robustssl.finetune.state as ft_state

    real = ft_state.save_state

    def save_then_interrupt(*args: Any, **kwargs: Any) -> None:
        real(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(ft_state, "save_state", save_then_interrupt)
    body = finetune_config(data_root, done_runs["pretrain"], tmp_path)
    cfg = write_yaml(tmp_path / "f.yaml", body)
    assert main(["finetune", "--config", str(cfg)]) == 130
    assert "run the same command again with --resume" in capsys.readouterr().err
    run = tmp_path / "ft"
    assert (run / "state" / "last.safetensors").is_file() and not (run / "summary.json").exists()
    assert lock_holder(run) is None and not temp_files(run)
    monkeypatch.undo()
    assert main(["finetune", "--config", str(cfg), "--resume"]) == 0
    done = done_runs["finetune"] / "classifier.safetensors"
    assert _same_weights(run / "classifier.safetensors", done)


def test_ctrl_c_while_saving_finetune_state_keeps_the_previous_state(
    tmp_path: Path, data_root: Path, done_runs: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    import robustssl.utils.checkpoint as ckpt
    from robustssl.finetune import FinetuneConfig, finetune
    from robustssl.utils.checkpoint import load_weights_metadata

    real = ckpt.save_file
    calls: list[str] = []

    def write_then_interrupt(tensors: Any, filename: str, metadata: Any = None) -> None:
        real(tensors, filename, metadata=metadata)
        calls.append(filename)
        if len(calls) == 2:
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(ckpt, "save_file", write_then_interrupt)
    cfg = finetune_config(data_root, done_runs["pretrain"], tmp_path, epochs=3)
    with pytest.raises(KeyboardInterrupt):
        finetune(FinetuneConfig.model_validate(cfg))
    state = tmp_path / "ft" / "state" / "last.safetensors"
    assert (load_weights_metadata(state) or {})["progress"]["epoch"] == 1
    assert not temp_files(tmp_path)


def test_ctrl_c_in_evaluation_exits_130_and_writes_nothing(
    tmp_path: Path,
    done_runs: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import robustssl.evaluation.from_checkpoint as fc

    real = fc.evaluate

    def attack_then_interrupt(*args: Any, **kwargs: Any) -> Any:
        out = real(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGINT)
        return out

    monkeypatch.setattr(fc, "evaluate", attack_then_interrupt)
    run = copy_run(done_runs["finetune"], tmp_path / "ft")
    before = hashes(run)
    cfg = write_yaml(tmp_path / "e.yaml", evaluate_config("again"))
    assert main(["evaluate", str(run), "--config", str(cfg)]) == 130
    assert "the evaluation starts over (nothing was written)" in capsys.readouterr().err
    assert hashes(run) == before
    assert not (run / "evaluation" / "again").exists()  # the folder it made is gone again


def test_ctrl_c_in_a_study_stage_marks_it_interrupted_and_resumes(
    tmp_path: Path,
    data_root: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    spec = study_spec(data_root, tmp_path / "study")
    exp = write_yaml(tmp_path / "exp.yaml", spec)
    _signal_at_step(monkeypatch, epoch=0, step=1)
    assert main(["run", str(exp), "--no-progress"]) == 130  # was 1, with no output
    assert "interrupted by SIGINT (Ctrl-C); run the same command again" in capsys.readouterr().err
    with ResultsStore(tmp_path / "study") as store:
        stages = {s["kind"]: s for s in store.stages()}
    assert stages["pretrain"]["status"] == "interrupted"
    assert stages["pretrain"]["error"] == "interrupted by SIGINT (Ctrl-C)"
    assert stages["finetune"]["status"] == "pending"
    assert lock_holder(tmp_path / "study") is None
    monkeypatch.undo()
    assert main(["run", str(exp), "--no-progress"]) == 0
    assert "3 run, 0 already complete" in capsys.readouterr().out


def test_ctrl_c_between_stages_keeps_the_finished_stage(
    tmp_path: Path,
    data_root: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    spec = study_spec(data_root, tmp_path / "study")
    exp = write_yaml(tmp_path / "exp.yaml", spec)
    real = ResultsStore.ingest

    def ingest_interrupted(self: ResultsStore, *args: Any, **kwargs: Any) -> Any:
        os.kill(os.getpid(), signal.SIGINT)  # after the evaluation, before its records are in
        return real(self, *args, **kwargs)

    monkeypatch.setattr(ResultsStore, "ingest", ingest_interrupted)
    assert main(["run", str(exp), "--no-progress"]) == 130
    evaluation = plan_of(spec).of_kind("evaluate")[0]
    done = hashes(tmp_path / "study" / "runs")
    monkeypatch.undo()
    assert main(["run", str(exp), "--no-progress"]) == 0
    assert "0 run, 3 already complete" in capsys.readouterr().out
    assert hashes(tmp_path / "study" / "runs") == done  # nothing recomputed
    with ResultsStore(tmp_path / "study") as store:
        assert {r["metric"] for r in store.rows()} == {"sa", "ra"}
        assert {s["status"] for s in store.stages()} == {"complete"}
    assert (evaluation.path / "records.json").is_file()


def test_ctrl_c_during_the_data_check_writes_nothing(
    tmp_path: Path, data_root: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    import robustssl.experiments.runner as runner

    def interrupted(plan: Any) -> None:
        os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(runner, "ensure_data", interrupted)
    exp = write_yaml(tmp_path / "exp.yaml", study_spec(data_root, tmp_path / "study"))
    assert main(["run", str(exp), "--no-progress"]) == 130
    assert "run the same command again" in capsys.readouterr().err
    assert not (tmp_path / "study").exists()


def test_ctrl_c_in_report_says_run_it_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import robustssl.experiments.report as report

    def interrupted(*args: Any, **kwargs: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(report, "build_report", interrupted)
    assert main(["report", str(tmp_path)]) == 130
    assert "interrupted by SIGINT (Ctrl-C); run the same command again" in capsys.readouterr().err
