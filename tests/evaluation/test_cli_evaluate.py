"""`robustssl evaluate` end to end on a saved tiny classifier and a tiny fake Fashion-MNIST."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from evalfix import SPEC

from fakedata import write_fake_fashion_mnist
from robust_model import accuracy, small_classifier, train_clean
from robustssl.cli import main
from robustssl.data import load_dataset
from robustssl.evaluation.records import read_records
from robustssl.models import ClassifierSpec, save_classifier
from robustssl.utils.config import load_config

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
FAST = [
    "progress=false",
    "data.n=20",
    "data.batch_size=16",
    "threats={Linf: {eps: 0.1, eps_list: [0, 0.05, 0.1]}}",
    "metrics=[sa,ra,curve,breakdown,classification]",
    "breakdown=[fgsm,pgd]",
    "diagnostics.n_points=10",
    "diagnostics.more_steps=10",
    "diagnostics.queries=20",
]


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("cli_eval")
    root = write_fake_fashion_mnist(tmp / "data")
    train = load_dataset("fashion_mnist", "train", root=root)
    x, y = train.get_batch(range(len(train)))
    model = train_clean(small_classifier(width=8), x, y, steps=80)
    assert accuracy(model, x, y) > 0.9
    run = tmp / "runs" / "slf_run"
    meta = {
        "finetune": {"protocol": "slf", "data": {"dataset": "fashion_mnist", "channels": 1}},
        "pretrained": {"method": "simclr", "run_dir": "somewhere"},
        "input_shape": [1, 28, 28],
    }
    save_classifier(model, SPEC, run / "classifier.safetensors", meta)  # type: ignore[arg-type]
    return root, run


def test_evaluate_run_dir_end_to_end(setup, capsys: pytest.CaptureFixture[str]) -> None:
    root, run = setup
    assert main(["evaluate", str(run), f"data.root={root}", *FAST]) == 0
    out = capsys.readouterr().out
    assert "wrote" in out and "worst case" in out and "gradient-masking diagnostics:" in out
    # SA is labelled with the points it was measured on (not the finetune's full test set),
    # each attacked number with the tag of its attack
    assert out.splitlines()[0].startswith("evaluated on test[0:20], n=20")
    assert "PGD-20 α=ε/4" in out and "FGSM" in out
    path = run / "evaluation" / "default" / "records.json"
    records = read_records(path)
    by = {(r.metric, r.attack, r.eps, json.dumps(r.tags)): r for r in records}
    sa = by[("sa", None, None, "{}")]
    ra = by[("ra", "pgd", 0.1, "{}")]
    assert sa.value > 0.5 and ra.value <= sa.value and ra.n == 20
    assert sa.subset == ra.subset == "test[0:20]" and sa.attack_config == {}
    assert ra.attack_tag == "PGD-20 α=ε/4"
    assert {k: ra.attack_config[k] for k in ("name", "steps", "step_size_rule", "restarts")} == {
        "name": "pgd",
        "steps": 20,
        "step_size_rule": "auto",
        "restarts": 1,
    }
    assert ra.attack_config["batch_size"] == 16 and ra.attack_config["loss"] == "ce"
    assert (sa.model, sa.pretraining, sa.finetune, sa.dataset) == (
        "slf_run",
        "simclr",
        "slf",
        "fashion_mnist",
    )
    assert sum(r.metric == "diagnostic" for r in records) == 6
    assert by[("accuracy", "pgd", 0.0, json.dumps({"sweep": "pruned"}))].value == sa.value
    saved = json.loads((path.parent / "config.json").read_text())
    assert saved["threats"]["Linf"]["eps"] == 0.1 and saved["data"]["n"] == 20


def test_rerun_merges_records(setup, capsys: pytest.CaptureFixture[str]) -> None:
    root, run = setup
    args = ["evaluate", str(run), f"data.root={root}", *FAST, "name=merge"]
    assert main(args) == 0
    first = read_records(run / "evaluation" / "merge" / "records.json")
    assert main([*args, "metrics=[sa]", "diagnostics.enabled=false", "seed=1"]) == 0
    second = read_records(run / "evaluation" / "merge" / "records.json")
    assert len(second) == len(first) + 1  # the seed-1 SA is new; nothing was lost
    assert {r.seed for r in second if r.metric == "sa"} == {0, 1}
    # a rerun that differs only in the attack's steps keeps both RA records (issue 14)
    two = [*args, "metrics=[ra]", "diagnostics.enabled=false", "attacks.pgd.steps=2"]
    assert main(two) == 0
    third = read_records(run / "evaluation" / "merge" / "records.json")
    ra = {r.attack_tag: r for r in third if r.metric == "ra"}
    assert sorted(ra) == ["PGD-2 α=ε/4", "PGD-20 α=ε/4"] and len(third) == len(second) + 1
    assert ra["PGD-2 α=ε/4"].value >= ra["PGD-20 α=ε/4"].value  # the weaker attack, its own label
    capsys.readouterr()


def test_evaluate_classifier_file(
    setup, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root, run = setup
    file = tmp_path / "mine.safetensors"
    file.write_bytes((run / "classifier.safetensors").read_bytes())
    args = ["evaluate", str(file), f"data.root={root}", "progress=false", "data.n=10"]
    assert main([*args, "metrics=[sa]", "diagnostics.enabled=false"]) == 0
    records = read_records(tmp_path / "evaluation" / "default" / "records.json")
    assert [r.metric for r in records] == ["sa"] and records[0].model == "mine"
    capsys.readouterr()


def test_class_mismatch_fails_before_compute(tmp_path: Path, capsys) -> None:
    root = write_fake_fashion_mnist(tmp_path / "data", n_train=10, n_test=10)
    spec = ClassifierSpec("small_cnn", 1, (0.2860,), (0.3530,), 5, {"width": 8})
    model = small_classifier(width=8, num_classes=5)
    meta = {"finetune": {"protocol": "slf", "data": {"dataset": "fashion_mnist"}}}
    save_classifier(model, spec, tmp_path / "run" / "classifier.safetensors", meta)
    assert main(["evaluate", str(tmp_path / "run"), f"data.root={root}"]) == 2
    err = capsys.readouterr().err
    assert "predicts 5 classes but fashion_mnist has 10" in err
    assert not (tmp_path / "run" / "evaluation").exists()


def test_errors_and_print_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate", str(tmp_path)]) == 2
    assert "holds no classifier.safetensors" in capsys.readouterr().err
    assert main(["evaluate", str(tmp_path), "breakdown=[pgd,cw]"]) == 2
    assert "unknown attack 'cw'" in capsys.readouterr().err
    assert main(["evaluate", str(tmp_path), "--print-config", "threats.Linf.eps=8/255"]) == 0
    cfg = json.loads(capsys.readouterr().out)
    assert cfg["threats"]["Linf"]["eps"] == pytest.approx(8 / 255)
    # overrides after an option (argparse alone would reject them)
    config = str(CONFIGS / "fashion_mnist" / "evaluate.yaml")
    args = ["evaluate", str(tmp_path), "--config", config, "data.n=7", "--print-config", "seed=3"]
    assert main(args) == 0
    cfg = json.loads(capsys.readouterr().out)
    assert (cfg["data"]["n"], cfg["seed"], cfg["threats"]["Linf"]["eps"]) == (7, 3, 0.1)


@pytest.mark.parametrize("dataset", ["fashion_mnist", "cifar10"])
def test_shipped_configs_validate(dataset: str) -> None:
    from robustssl.evaluation.config import EvaluateConfig

    cfg = load_config(CONFIGS / dataset / "evaluate.yaml", EvaluateConfig)
    if dataset == "fashion_mnist":
        assert cfg.threats["Linf"].eps == 0.1 and cfg.data.n == 1000 and "curve" in cfg.metrics
    else:
        assert cfg.threats["Linf"].eps == pytest.approx(8 / 255) and cfg.threats["L2"].eps == 0.5
        assert cfg.attacks.pgd.steps == 20 and {"ra", "aa"} <= set(cfg.metrics)
