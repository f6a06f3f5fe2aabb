"""``logger: tensorboard | csv | wandb`` for finetuning and evaluation: what each logger holds
(the per-epoch rows, the final metrics, the resolved config as hparams), the clear error when
wandb is missing, and wandb itself offline (slow tier)."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import pytest
import yaml

from finetune.conftest import MakeConfig, MakeRun
from robustssl.cli import main
from robustssl.evaluation.config import EvaluateConfig
from robustssl.evaluation.from_checkpoint import evaluate_checkpoint, logged_metrics
from robustssl.finetune import finetune
from robustssl.runs.compare import identity_config
from robustssl.utils.loggers import check_logger, flat_hparams
from robustssl.utils.optional import MissingExtraError


def _csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_tensorboard_holds_each_epoch_and_the_config(
    make_run: MakeRun, make_config: MakeConfig
) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    result = finetune(make_config(make_run(), logger="tensorboard"))
    version = result.run_dir / "tensorboard" / "version_0"
    events = EventAccumulator(str(version))
    events.Reload()
    losses = [(e.step, e.value) for e in events.Scalars("train_loss")]
    rows = _csv_rows(result.run_dir / "metrics.csv")
    assert [s for s, _ in losses] == [1, 2, 3]
    assert [v for _, v in losses] == pytest.approx([float(r["train_loss"]) for r in rows], 1e-5)
    final = events.Scalars("final/clean_accuracy")
    assert final[0].value == pytest.approx(result.metrics["clean_accuracy"], 1e-6)
    hparams = yaml.safe_load((version / "hparams.yaml").read_text())
    assert hparams["optim.epochs"] == 3 and hparams["protocol"] == "slf"
    assert hparams["logger"] == "tensorboard"


def test_evaluation_logs_its_final_numbers(make_run: MakeRun, make_config: MakeConfig) -> None:
    run = finetune(make_config(make_run(), optim={"epochs": 1, "milestones": []})).run_dir
    cfg = EvaluateConfig.model_validate(
        {
            "logger": "csv",
            "progress": False,
            "data": {"n": 20},
            "metrics": ["sa", "ra"],
            "attacks": {"pgd": {"steps": 3}},
            "diagnostics": {"enabled": False},
        }
    )
    done = evaluate_checkpoint(run, cfg)
    rows = _csv_rows(done.out_dir / "csv" / "version_0" / "metrics.csv")
    assert len(rows) == 1
    sa = next(r.value for r in done.result.records if r.metric == "sa")
    ra = next(r for r in done.result.records if r.metric == "ra")
    assert float(rows[0]["sa"]) == pytest.approx(sa)
    key = f"ra/Linf/{ra.eps:.5g}/{ra.attack_tag}"
    assert key in logged_metrics(done.result) and float(rows[0][key]) == pytest.approx(ra.value)
    hparams = yaml.safe_load((done.out_dir / "csv" / "version_0" / "hparams.yaml").read_text())
    assert hparams["data.n"] == 20 and hparams["attacks.pgd.steps"] == 3


def test_without_a_logger_no_logger_folder(make_run: MakeRun, make_config: MakeConfig) -> None:
    run = finetune(make_config(make_run(), optim={"epochs": 1, "milestones": []})).run_dir
    assert not any((run / name).exists() for name in ("csv", "tensorboard", "wandb"))


def test_missing_wandb_is_named_before_any_compute(
    make_run: MakeRun,
    make_config: MakeConfig,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    monkeypatch.setitem(sys.modules, "wandb", None)  # as if not installed
    with pytest.raises(MissingExtraError, match="pip install wandb"):
        check_logger("wandb", "finetuning")
    cfg = make_config(make_run(), logger="wandb")
    with pytest.raises(MissingExtraError, match="pip install wandb"):
        finetune(cfg)
    assert not (Path(cfg.output_dir) / cfg.name).exists()  # nothing was created
    args = ["finetune", f"pretrained={make_run('cli')}", "logger=wandb", "optim.epochs=1"]
    assert main([*args, "optim.milestones=[]", f"output_dir={tmp_path / 'cli_runs'}"]) == 2
    err = capsys.readouterr().err
    assert "logger=wandb needs wandb" in err and "pip install wandb" in err
    assert "Traceback" not in err and not (tmp_path / "cli_runs").exists()


def test_logger_choice_does_not_change_a_run_identity() -> None:
    base = {"trainer": {"max_epochs": 2, "logger": "tensorboard"}, "seed": 0}
    other = {"trainer": {"max_epochs": 2, "logger": "wandb"}, "seed": 0}
    assert identity_config("pretrain", base) == identity_config("pretrain", other)
    assert identity_config("finetune", {"logger": "csv"}) == identity_config("finetune", {})
    assert identity_config("evaluate", {"logger": "csv"}) == identity_config("evaluate", {})


def test_flat_hparams() -> None:
    flat = flat_hparams({"a": {"b": 1, "c": [1, 2], "d": None}, "e": True})
    assert flat == {"a.b": 1, "a.c": "[1, 2]", "a.d": "None", "e": True}


@pytest.mark.slow
def test_wandb_offline_run(
    make_run: MakeRun, make_config: MakeConfig, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    pytest.importorskip("wandb")
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.setenv("WANDB_CONFIG_DIR", str(tmp_path / "wandb_config"))
    monkeypatch.setenv("WANDB_CACHE_DIR", str(tmp_path / "wandb_cache"))
    cfg = make_config(make_run(), logger="wandb", optim={"epochs": 2, "milestones": []})
    result = finetune(cfg)
    runs = list((result.run_dir / "wandb").glob("offline-run-*"))
    assert len(runs) == 1
    (data,) = list(runs[0].glob("run-*.wandb"))
    logged = data.read_bytes()  # wandb's own record log: the config and each logged key
    assert b"optim.epochs" in logged and b"train_loss" in logged
    assert b"final/clean_accuracy" in logged
    import wandb

    assert wandb.run is None  # finished: the next run gets its own


def test_wandb_logger_wiring(tmp_path: Path) -> None:
    pytest.importorskip("wandb")
    from lightning.pytorch.loggers import WandbLogger

    from robustssl.utils.loggers import build_logger

    logger = build_logger("wandb", tmp_path / "run", "my-run")
    assert isinstance(logger, WandbLogger)
    assert logger._wandb_init["project"] == "robustssl"
    assert logger._wandb_init["name"] == "my-run"
    assert Path(logger.save_dir or "") == tmp_path / "run"


def test_missing_tensorboard_is_named_and_csv_needs_none(tmp_path: Path) -> None:
    from test_optional_deps import run_without

    res = run_without(
        f"""
        import contextlib, io, json
        from robustssl.cli import main
        from robustssl.utils.loggers import check_logger
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            code = main(["pretrain", "--config", "fashion_mnist/simclr", "trainer.max_epochs=1",
                         "output_dir={tmp_path}/runs"])
        check_logger("csv", "pretraining")  # needs Lightning only
        print(json.dumps({{"code": code, "err": err.getvalue()}}))
        """,
        blocked=("tensorboard", "tensorboardX"),
    )
    assert res["code"] == 2 and "Traceback" not in res["err"]
    assert "logger=tensorboard needs tensorboard" in res["err"]
    assert "robustssl[train]" in res["err"]
    assert not (tmp_path / "runs").exists()
