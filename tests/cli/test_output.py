"""Output a person can read: plain progress lines when not in a terminal, no Lightning chatter,
progress of one-batch evaluation steps, findings with their explanation, uncut tables, one stated
quickstart time."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
import yaml

from fakedata import write_fake_fashion_mnist
from robustssl.cli import main
from robustssl.cli.quickstart_cmd import QUICKSTART_TIME
from robustssl.evaluation import evaluate, format_summary
from robustssl.evaluation.robustness import AttackRunner
from robustssl.utils import progress
from robustssl.utils.progress import PlainBar, SilentBar, format_rate, tqdm

REPO = Path(__file__).parents[2]


def test_plain_bar_prints_start_tenths_and_end(capsys: pytest.CaptureFixture[str]) -> None:
    bar = PlainBar(range(20), desc="attack", unit="batch", min_seconds=0.0)
    assert list(bar) == list(range(20))
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "attack: started (20 batch)"
    assert [line.split()[1] for line in lines[1:-1]] == [f"{10 * k}%" for k in range(1, 10)]
    assert lines[-1].startswith("attack: done 20 batch in ") and "batch/s" in lines[-1]
    assert not any("\r" in line for line in lines)


def test_plain_bar_is_throttled_and_one_step_still_shows(
    capsys: pytest.CaptureFixture[str],
) -> None:
    list(PlainBar(range(1000), desc="fast"))  # default: ≥ 5 s between lines
    assert len(capsys.readouterr().err.splitlines()) == 2  # start and end only
    with PlainBar(total=1, desc="one batch") as bar:
        bar.update(1)
    out = capsys.readouterr().err.splitlines()
    assert out[0] == "one batch: started (1 it)" and out[1].startswith("one batch: done 1 it")


def test_format_rate() -> None:
    assert format_rate(10, 2.0) == "5 it/s"
    assert format_rate(2, 10.0, "batch") == "5 s/batch"
    assert format_rate(0, 1.0) == "- it/s"


def test_bar_style_follows_the_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(progress.ENV, raising=False)
    assert not progress.interactive()  # pytest captures stdout: not a terminal
    assert isinstance(tqdm(range(3), disable=True), SilentBar)
    assert isinstance(tqdm(range(3)), PlainBar)
    monkeypatch.setenv(progress.ENV, "bars")
    assert progress.interactive()
    bar = tqdm(range(3), file=open(os.devnull, "w"))  # noqa: SIM115
    assert not isinstance(bar, SilentBar) and type(bar).__module__.startswith("tqdm")
    bar.close()
    monkeypatch.setenv(progress.ENV, "plain")
    assert not progress.interactive()


def _tiny_model() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 4))


def test_one_batch_evaluation_step_shows_progress(capsys: pytest.CaptureFixture[str]) -> None:
    model = _tiny_model()
    x = torch.rand(8, 1, 4, 4)
    y = model(x).argmax(1)
    runner = AttackRunner(model, x, y, batch_size=256, progress=True)  # one batch
    runner.accuracy("pgd", "Linf", 0.05)
    err = capsys.readouterr().err
    assert "pgd Linf ε=0.05: started (1 batch)" in err
    assert "pgd Linf ε=0.05: done 1 batch in" in err
    AttackRunner(model, x, y, progress=False).accuracy("pgd", "Linf", 0.05)
    assert capsys.readouterr().err == ""


def test_summary_prints_each_finding_with_its_explanation(
    capsys: pytest.CaptureFixture[str],
) -> None:
    model = _tiny_model()
    x = torch.rand(32, 1, 4, 4)
    y = model(x).argmax(1)
    cfg = {
        "metrics": ["sa", "ra"],
        "threats": {"Linf": {"eps": 0.05}},
        "attacks": {"pgd": {"steps": 5}},
        "diagnostics": {"n_points": 16, "more_steps": 10, "queries": 50},
    }
    result = evaluate(model, x, y, cfg)
    assert "gradient-masking diagnostics Linf: done 1 step" in capsys.readouterr().err
    text = format_summary(result.records)
    for finding in result.findings["Linf"]:
        assert f"] {finding.code} (Linf" in text
        first_words = " ".join(finding.message.split()[:4])
        assert first_words in " ".join(text.split()), finding.code
    assert max(len(line) for line in text.splitlines()) <= 100 or "tags" in text


def test_datasets_listing_is_never_cut_when_piped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COLUMNS", "30")  # a narrow terminal must not cut piped lines
    assert main(["datasets", "--root", str(tmp_path)]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if "fashion_mnist " in line]
    assert len(rows) == 1
    row = rows[0]
    assert row.startswith("fashion_mnist ") and "1x28x28" in row and "train,test" in row
    assert row.rstrip().endswith(("fashion-mnist", "robustssl datasets fetch fashion_mnist)"))


def test_pretraining_output_is_plain_and_quiet(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    args = [
        "pretrain",
        f"data.root={write_fake_fashion_mnist(tmp_path / 'data')}",
        f"output_dir={tmp_path / 'runs'}",
        "name=quiet",
        "trainer.max_epochs=2",
        "trainer.accelerator=cpu",
        "data.batch_size=32",
        "model.backbone_kwargs.width=8",
        "method.projection.hidden_dim=16",
        "method.projection.out_dim=8",
        "trainer.logger=csv",
    ]
    assert main(args) == 0
    out, err = capfd.readouterr()
    for noise in ("Tip", "litlogger", "GPU available", "TPU available", "deprecated", "\r"):
        assert noise not in out + err, noise
    epochs = [line for line in err.splitlines() if line.startswith("epoch ")]
    assert [line.split(":")[0] for line in epochs] == ["epoch 1/2", "epoch 2/2"]
    assert all("done 3 batch in" in line and "loss=" in line for line in epochs)
    assert out.strip().startswith("run ") and len(out.strip().splitlines()) == 1
    # trainer.logger=csv: the CSV logs only, their hparams the resolved config
    run = tmp_path / "runs" / "quiet"
    assert not (run / "tensorboard").exists() and (run / "metrics.csv").is_file()
    hparams = yaml.safe_load((run / "csv" / "version_0" / "hparams.yaml").read_text())
    assert hparams["trainer.logger"] == "csv" and hparams["method.name"] == "simclr"
    assert hparams["trainer.max_epochs"] == 2 and hparams["model.backbone_kwargs.width"] == 8


def test_one_quickstart_time_everywhere(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["quickstart", "--help"])
    shown = " ".join(capsys.readouterr().out.split())  # argparse wraps the description
    assert QUICKSTART_TIME in shown
    for path in ("README.md", "configs/quickstart.yaml", "docs/running.md", "docs/reproduce.md"):
        text = " ".join((REPO / path).read_text().replace("#", " ").split())
        assert QUICKSTART_TIME in text, path
    with pytest.raises(SystemExit):
        main(["--help"])
    assert QUICKSTART_TIME in " ".join(capsys.readouterr().out.split())


def test_study_progress_is_plain_lines(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from robustssl.experiments.progress import StudyBar

    monkeypatch.setenv(progress.ENV, "plain")
    bar = StudyBar("tiny", total=3, done=1)
    bar.running("pretrain sup [seed=0]")
    bar.advance()
    bar.running("finetune slf [seed=0]")
    bar.advance()
    bar.close()
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "study tiny [1/3]: running pretrain sup [seed=0]"
    assert lines[1] == "study tiny [2/3]: running finetune slf [seed=0]"
    assert lines[2].startswith("study tiny [3/3]: finished after ")
    assert len(lines) == 3 and not any("\r" in line or "|" in line for line in lines)
