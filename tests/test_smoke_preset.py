"""The smoke preset (robustssl.runs.smoke, ``--smoke``): what it shrinks in the shipped configs,
that it is idempotent and part of a run's identity, and that smoke runs of shipped configs on tiny
data finish and are marked everywhere (config, summary, records, study directory, output)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import yaml

from fakedata import write_fake_fashion_mnist
from robustssl.cli import main
from robustssl.data.dataset import TensorImageDataset
from robustssl.evaluation.config import EvaluateConfig
from robustssl.evaluation.records import read_records
from robustssl.finetune import FinetuneConfig
from robustssl.methods import PretrainConfig
from robustssl.runs import smoke
from robustssl.runs.compare import identity_config
from robustssl.utils.config import load_config

CONFIGS = Path(__file__).parents[1] / "configs" / "fashion_mnist"


def test_shrinks_the_shipped_pretraining_config() -> None:
    cfg = load_config(CONFIGS / "simclr.yaml", PretrainConfig, ["optim.warmup_epochs=5"])
    small = smoke.shrink_config("pretrain", cfg)
    assert cfg.trainer.max_epochs > 1 and not cfg.smoke  # the original is untouched
    assert small.smoke and small.trainer.max_epochs == 1 and small.trainer.max_time_minutes is None
    assert small.optim.warmup_epochs == 0 and small.optim.milestones == []
    assert small.monitor.max_bank_size == smoke.TRAIN_SAMPLES
    assert small.method == cfg.method and small.data == cfg.data  # the method itself unchanged
    assert smoke.shrink_config("pretrain", small) == small  # idempotent


def test_shrinks_the_shipped_finetune_and_evaluation_configs() -> None:
    ft = load_config(CONFIGS / "finetune_alf.yaml", FinetuneConfig, ["pretrained=x"])
    small = smoke.shrink_config("finetune", ft)
    assert ft.optim.epochs > 1 and ft.optim.milestones
    assert small.smoke and small.optim.epochs == 1 and small.optim.milestones == []
    assert small.select.n == smoke.EVAL_N and small.adversary == ft.adversary
    ev = load_config(CONFIGS / "evaluate.yaml", EvaluateConfig, [])
    small_ev = smoke.shrink_config("evaluate", ev)
    assert small_ev.smoke and small_ev.data.n == smoke.EVAL_N
    d = small_ev.diagnostics
    assert d.n_points <= smoke.EVAL_N and d.more_steps <= 20 and d.queries <= 100
    assert d.more_steps >= d.steps and small_ev.lipschitz.n <= smoke.EVAL_N
    assert small_ev.metrics == ev.metrics and small_ev.threats == ev.threats
    fewer = load_config(CONFIGS / "evaluate.yaml", EvaluateConfig, ["data.n=16"])
    assert smoke.shrink_config("evaluate", fewer).data.n == 16  # never grows


def test_smoke_is_part_of_a_run_identity() -> None:
    dump = PretrainConfig().model_dump(mode="json")
    assert identity_config("pretrain", dump) != identity_config("pretrain", {**dump, "smoke": True})
    with pytest.raises(ValueError, match="unknown run kind"):
        smoke.shrink("train", {})


def test_subset_is_stratified_and_leaves_small_data_alone() -> None:
    labels = torch.arange(3000) % 10
    data = TensorImageDataset(torch.zeros(3000, 1, 2, 2, dtype=torch.uint8), labels)
    small = smoke.subset(data, smoke.TRAIN_SAMPLES, seed=0)
    assert abs(len(small) - smoke.TRAIN_SAMPLES) <= 10
    counts = torch.bincount(small.targets, minlength=10)
    assert int(counts.max() - counts.min()) <= 1
    tiny = TensorImageDataset(torch.zeros(50, 1, 2, 2, dtype=torch.uint8), labels[:50])
    assert smoke.subset(tiny, smoke.TRAIN_SAMPLES, seed=0) is tiny


def test_smoke_study_dir() -> None:
    assert smoke.smoke_study_dir(Path("/s/quickstart")) == Path("/s/quickstart-smoke")
    assert smoke.smoke_study_dir(Path("/s/q-smoke")) == Path("/s/q-smoke")


def test_smoke_runs_of_shipped_configs_are_marked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = write_fake_fashion_mnist(tmp_path / "data", n_train=1200, n_test=600)
    out = tmp_path / "runs"
    small = ["model.backbone_kwargs.width=8", "data.batch_size=64"]
    args = ["pretrain", "--config", str(CONFIGS / "simclr.yaml"), "--smoke", *small]
    assert main([*args, f"data.root={root}", f"output_dir={out}", "name=pre"]) == 0
    printed = capsys.readouterr()
    assert "SMOKE RUN" in printed.err and "SMOKE RUN" in printed.out
    pre = out / "pre"
    summary = json.loads((pre / "summary.json").read_text())
    assert summary["smoke"] is True and summary["metrics"]["epochs"] == 1
    saved = yaml.safe_load((pre / "config.yaml").read_text())
    assert saved["smoke"] is True and saved["trainer"]["max_epochs"] == 1
    rows = (pre / "metrics.csv").read_text().splitlines()
    steps = {line.split(",")[0] for line in rows[1:]}
    assert rows and len(steps) <= smoke.TRAIN_SAMPLES // 64 + 1  # 1024 of the 1200 images

    args = ["finetune", "--config", str(CONFIGS / "finetune_alf.yaml"), "--smoke"]
    args += [f"pretrained={pre}", f"data.root={root}", f"output_dir={out}", "name=ft"]
    assert main([*args, "data.batch_size=64", "data.label_fraction=1.0"]) == 0
    printed = capsys.readouterr()
    assert "SMOKE RUN" in printed.out and "on a smoke subset of the test set" in printed.out
    ft_summary = json.loads((out / "ft" / "summary.json").read_text())
    assert ft_summary["smoke"] is True and ft_summary["metrics"]["epoch"] == 1
    assert ft_summary["metrics"]["train_samples"] <= smoke.TRAIN_SAMPLES + 10
    assert ft_summary["metrics"]["test_samples"] <= smoke.EVAL_SAMPLES + 10

    # a full (non --smoke) evaluation of a smoke-trained classifier is still marked smoke
    args = ["evaluate", str(out / "ft"), "data.n=20", "metrics=[sa,ra]"]
    assert main([*args, "diagnostics.enabled=false"]) == 0
    printed = capsys.readouterr().out
    assert "smoke=True" in printed and "SMOKE RUN" in printed
    records = read_records(out / "ft" / "evaluation" / "default" / "records.json")
    assert records and all(r.tags.get("smoke") is True for r in records)


def test_smoke_study_goes_to_its_own_dir_and_is_marked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tinystudy import tiny_study

    root = write_fake_fashion_mnist(tmp_path / "data")
    study = tmp_path / "study"
    raw = tiny_study(root, study)
    raw["pretrain"]["sup"]["grid"] = {"optim.lr": [0.001]}
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump(raw))
    assert main(["run", str(path), "--smoke", "--no-progress"]) == 0
    out = capsys.readouterr()
    assert "SMOKE RUN" in out.err and "SMOKE RUN" in out.out
    assert not study.exists()
    smoked = tmp_path / "study-smoke"
    plan = json.loads((smoked / "plan.json").read_text())
    assert plan and all(s["config"]["smoke"] is True for s in plan)
    finetunes = [s for s in plan if s["kind"] == "finetune"]
    assert all(s["config"]["optim"]["epochs"] == 1 for s in finetunes)
    records = list(smoked.glob("runs/finetune/*/evaluation/*/records.json"))
    assert records
    assert all(r.tags.get("smoke") for p in records for r in read_records(p))
    from robustssl.experiments.report import SMOKE_NOTE, build_report

    report = build_report(smoked)
    assert SMOKE_NOTE in report.index.read_text()
    assert report.tables and all(t.title.startswith("[SMOKE RUN]") for t in report.tables)
    for table in report.tables:
        assert SMOKE_NOTE in (report.out_dir / "tables" / f"{table.name}.md").read_text()
