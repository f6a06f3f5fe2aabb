"""Inputs that were accepted silently or answered with a traceback or misleading advice: each is
now a clear error (exit 2) naming the key or path and the fix, given before anything is written
(the directories the command would write are checked to stay absent or unchanged)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from relfix import copy_run, evaluate_config, finetune_config, hashes, pretrain_config, study_spec

from fakedata import Formats
from robustssl.cli.main import main
from robustssl.experiments import ResultsStore
from tinystudy import write_yaml


def _error(capsys: pytest.CaptureFixture[str], *needles: str) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in err, (needle, err)
    return err


# -- overrides and config files ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "override", "key"),
    [
        ("finetune", "optim.milestones=[1,2", "optim.milestones"),
        ("pretrain", "trainer.max_epochs={1", "trainer.max_epochs"),
        ("evaluate", "metrics=[sa,ra", "metrics"),
    ],
)
def test_malformed_override_names_the_key(
    tmp_path: Path,
    done_runs: dict[str, Path],
    capsys: pytest.CaptureFixture[str],
    command: str,
    override: str,
    key: str,
) -> None:
    target = []
    if command == "evaluate":
        target = [str(copy_run(done_runs["finetune"], tmp_path / "ft"))]
    before = hashes(tmp_path)
    assert main([command, *target, f"output_dir={tmp_path / 'out'}", override]) == 2
    _error(capsys, f"the value of {key} is not valid YAML", "close brackets")
    assert hashes(tmp_path) == before and not (tmp_path / "out").exists()


def test_malformed_override_of_a_study_and_of_an_entry(
    tmp_path: Path, data_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = study_spec(data_root, tmp_path / "study")
    exp = write_yaml(tmp_path / "exp.yaml", spec)
    assert main(["run", str(exp), "seeds=[0,1"]) == 2
    _error(capsys, "the value of seeds is not valid YAML")
    spec["pretrain"]["sup"]["overrides"] = ["optim.lr=[0.1"]
    write_yaml(exp, spec)
    assert main(["run", str(exp)]) == 2
    _error(capsys, "pretrain.sup.overrides:", "the value of optim.lr is not valid YAML")
    assert not (tmp_path / "study").exists()


def test_empty_override_value_is_refused(
    tmp_path: Path, data_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = write_yaml(tmp_path / "p.yaml", pretrain_config(data_root, tmp_path / "out"))
    assert main(["pretrain", "--config", str(cfg), "data.root="]) == 2  # e.g. data.root=$UNSET
    _error(capsys, "gives data.root no value; write data.root=null")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("command", ["pretrain", "finetune", "evaluate", "run"])
def test_config_given_a_directory(
    tmp_path: Path, done_runs: dict[str, Path], capsys: pytest.CaptureFixture[str], command: str
) -> None:
    configs = tmp_path / "configs"
    configs.mkdir()
    args = {
        "pretrain": ["pretrain", "--config", str(configs)],
        "finetune": ["finetune", "--config", str(configs)],
        "evaluate": ["evaluate", str(done_runs["finetune"]), "--config", str(configs)],
        "run": ["run", str(configs)],
    }[command]
    before = hashes(done_runs["finetune"])
    assert main(args) == 2
    _error(capsys, f"{configs} is a directory; pass a YAML file")
    assert hashes(done_runs["finetune"]) == before


@pytest.mark.parametrize("text", ["", "# every key commented out\n# name: x\n"])
@pytest.mark.parametrize("command", ["pretrain", "run"])
def test_empty_yaml_file_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, command: str
) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text(text)
    args = ["pretrain", "--config", str(path)] if command == "pretrain" else ["run", str(path)]
    assert main([*args, f"output_dir={tmp_path / 'out'}"] if command == "pretrain" else args) == 2
    _error(capsys, f"{path} is empty (no keys)", "give no config file")
    assert sorted(os.listdir(tmp_path)) == ["empty.yaml"]


def test_empty_base_config_of_a_study_entry(
    tmp_path: Path, data_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "empty.yaml").write_text("")
    spec = study_spec(data_root, tmp_path / "study")
    spec["pretrain"]["sup"]["config"] = str(tmp_path / "empty.yaml")
    assert main(["run", str(write_yaml(tmp_path / "exp.yaml", spec))]) == 2
    _error(capsys, "pretrain.sup:", "is empty (no keys)")
    assert not (tmp_path / "study").exists()


# -- run options --------------------------------------------------------------------------------


@pytest.mark.parametrize("jobs", ["-1", "0"])
def test_bad_jobs_refused_before_the_study_dir_is_written(
    tmp_path: Path, data_root: Path, capsys: pytest.CaptureFixture[str], jobs: str
) -> None:
    exp = write_yaml(tmp_path / "exp.yaml", study_spec(data_root, tmp_path / "study"))
    assert main(["run", str(exp), "--jobs", jobs]) == 2
    _error(capsys, f"--jobs {jobs}: give a positive number")
    assert not (tmp_path / "study").exists()


def test_bad_threads_refused_before_the_study_dir_is_written(
    tmp_path: Path, data_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    exp = write_yaml(tmp_path / "exp.yaml", study_spec(data_root, tmp_path / "study"))
    assert main(["run", str(exp), "--threads", "0"]) == 2
    _error(capsys, "--threads 0: give a positive number of torch threads")
    assert not (tmp_path / "study").exists()


def test_slurm_launcher_without_sbatch_does_not_run_locally(
    tmp_path: Path, data_root: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "no-bin"))  # no sbatch anywhere
    exp = write_yaml(tmp_path / "exp.yaml", study_spec(data_root, tmp_path / "study"))
    assert main(["run", str(exp), "--launcher", "slurm", "--no-progress"]) == 2
    _error(capsys, "no `sbatch` on PATH", "slurm.cluster=local")
    assert not (tmp_path / "study").exists()


# -- data ---------------------------------------------------------------------------------------


def test_empty_data_root_is_refused_everywhere(
    tmp_path: Path,
    data_root: Path,
    done_runs: dict[str, Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    spec = study_spec(data_root, tmp_path / "study")
    spec["data"]["root"] = ""
    assert main(["run", str(write_yaml(tmp_path / "exp.yaml", spec))]) == 2
    _error(capsys, "data.root is empty")
    assert not (tmp_path / "study").exists()
    body = pretrain_config(data_root, tmp_path / "out")
    body["data"]["root"] = ""
    assert main(["pretrain", "--config", str(write_yaml(tmp_path / "p.yaml", body))]) == 2
    _error(capsys, "data root of fashion_mnist is empty")
    assert not (tmp_path / "out").exists()
    run = copy_run(done_runs["finetune"], tmp_path / "ft")
    before = hashes(run)
    assert main(["evaluate", str(run), "data.root=''", "name=other"]) == 2  # no silent fallback
    _error(capsys, "data root of fashion_mnist is empty")
    assert hashes(run) == before


def _pretrain_imagefolder(tmp_path: Path, root: Path) -> list[str]:
    body = pretrain_config(root, tmp_path / "out")
    body["data"].update(dataset="imagefolder", val_fraction=0.5, batch_size=2)
    return ["pretrain", "--config", str(write_yaml(tmp_path / "p.yaml", body))]


def test_empty_imagefolder_class_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "images"
    Formats.write_imagefolder(root / "train", {"cat": 3, "dog": 3})
    (root / "train" / "emu").mkdir()
    assert main(_pretrain_imagefolder(tmp_path, root)) == 2
    _error(capsys, "class folder(s) 'emu' hold no images (of 3 class folders)", "remove")
    assert not (tmp_path / "out").exists()


def test_mixed_image_sizes_in_pretraining_do_not_suggest_a_missing_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "images"
    Formats.write_imagefolder(root / "train", {"cat": 2}, size=(8, 8))
    Formats.write_png(root / "train" / "dog" / "0.png", np.zeros((9, 7, 3), dtype=np.uint8))
    assert main(_pretrain_imagefolder(tmp_path, root)) == 2
    err = _error(capsys, "is 9x7 (HxW) but the first image is 8x8", "resize the folder's images")
    assert "image_size=" not in err  # robustssl pretrain has no such key
    assert not (tmp_path / "out").exists()


# -- output paths -------------------------------------------------------------------------------


def _file(path: Path) -> Path:
    path.write_text("x")
    return path


@pytest.mark.parametrize(
    ("option", "make", "needle"),
    [
        ("--out", lambda t: _file(t / "file"), "is a file"),
        ("--out", lambda t: t / "missing" / "deeper" / "report", "does not exist"),
        ("--csv", lambda t: t, "is a directory"),
        ("--csv", lambda t: t / "missing" / "table.csv", "does not exist"),
    ],
    ids=["out-file", "out-missing-parent", "csv-dir", "csv-missing-dir"],
)
def test_output_paths_are_checked_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], option: str, make: Any, needle: str
) -> None:
    study = tmp_path / "study"
    ResultsStore(study).close()
    target = make(tmp_path)
    before = hashes(tmp_path)
    command = "report" if option == "--out" else "results"
    assert main([command, str(study), option, str(target)]) == 2
    _error(capsys, f"{option} {target}", needle)
    assert hashes(tmp_path) == before and not (tmp_path / "missing").exists()
    assert not (study / "report").exists()


# -- resume -------------------------------------------------------------------------------------


def _interrupted_pretrain(tmp_path: Path, done: dict[str, Path], out: Path) -> Path:
    run = copy_run(done["pretrain"], out / "pre")
    for name in ("summary.json", "encoder.safetensors", "method.safetensors"):
        (run / name).unlink()
    return run


def test_resume_with_another_config_names_the_keys(
    tmp_path: Path, data_root: Path, done_runs: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    run = _interrupted_pretrain(tmp_path, done_runs, tmp_path)
    cfg = write_yaml(tmp_path / "p.yaml", pretrain_config(data_root, tmp_path, epochs=2))
    before = hashes(run)
    assert main(["pretrain", "--config", str(cfg), "--resume", "optim.lr=0.01"]) == 2
    err = _error(capsys, "optim.lr: saved 0.001, now 0.01", f"--config {run / 'config.yaml'}")
    assert "trainer.progress_bar" not in err
    assert hashes(run) == before
    ft = copy_run(done_runs["finetune"], tmp_path / "ft")
    (ft / "summary.json").unlink()
    body = finetune_config(data_root, done_runs["pretrain"], tmp_path)
    fcfg = write_yaml(tmp_path / "f.yaml", body)
    assert main(["finetune", "--config", str(fcfg), "--resume", "optim.epochs=3"]) == 2
    _error(capsys, "optim.epochs: saved 2, now 3")
    other = copy_run(done_runs["pretrain"], tmp_path / "another-pre")
    assert main(["finetune", "--config", str(fcfg), "--resume", f"pretrained={other}"]) == 2
    _error(capsys, "pretrained: saved", str(other))  # a different encoder never mixes in


def test_moved_run_directory_resumes(
    tmp_path: Path, data_root: Path, done_runs: dict[str, Path]
) -> None:
    run = _interrupted_pretrain(tmp_path, done_runs, tmp_path / "old")
    moved = tmp_path / "new" / "place"
    moved.mkdir(parents=True)
    shutil.move(str(run), str(moved / "pre"))
    cfg = write_yaml(tmp_path / "p.yaml", pretrain_config(data_root, moved, epochs=2))
    config_before = hashes(moved / "pre" / "config.json")
    assert main(["pretrain", "--config", str(cfg), "--resume"]) == 0
    assert (moved / "pre" / "summary.json").is_file()
    assert hashes(moved / "pre" / "config.json") == config_before


def test_moved_interrupted_study_resumes(
    tmp_path: Path, data_root: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    import robustssl.finetune.state as ft_state

    real = ft_state.save_state

    def save_then_interrupt(*args: Any, **kwargs: Any) -> None:
        real(*args, **kwargs)
        raise KeyboardInterrupt  # Ctrl-C after the first finetuning epoch

    monkeypatch.setattr(ft_state, "save_state", save_then_interrupt)
    old = tmp_path / "old" / "study"
    exp = write_yaml(tmp_path / "exp.yaml", study_spec(data_root, old))
    assert main(["run", str(exp), "--no-progress"]) == 130
    monkeypatch.undo()
    new = tmp_path / "elsewhere" / "renamed"
    new.parent.mkdir()
    shutil.move(str(old), str(new))
    pretrain_files = hashes(new / "runs" / "pretrain")
    write_yaml(exp, study_spec(data_root, new))
    capsys.readouterr()
    assert main(["run", str(exp), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "2 run, 1 already complete" in out  # the finetune stage resumed, its evaluation ran
    assert hashes(new / "runs" / "pretrain") == pretrain_files
    with ResultsStore(new) as store:
        assert {s["status"] for s in store.stages()} == {"complete"}
        assert {r["metric"] for r in store.rows()} == {"sa", "ra"}


def test_evaluate_config_name_is_checked_before_anything(
    tmp_path: Path, done_runs: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    run = copy_run(done_runs["finetune"], tmp_path / "ft")
    cfg = write_yaml(tmp_path / "e.yaml", {**evaluate_config(), "metrics": ["nonsense"]})
    before = hashes(run)
    assert main(["evaluate", str(run), "--config", str(cfg)]) == 2
    _error(capsys, "metrics")
    assert hashes(run) == before
