"""Your own model in one call: ``robustssl.evaluation.evaluate_model`` and
``robustssl evaluate --model pkg.module:factory --weights FILE --dataset NAME`` (issue 18)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch
from evalfix import eval_data, raising_model, trained_model
from torch import nn

from fakedata import write_fake_fashion_mnist
from robust_model import accuracy
from robustssl.cli import main
from robustssl.data import load_dataset
from robustssl.evaluation import EvaluateConfig, ModelEvaluation, evaluate_model
from robustssl.evaluation.model_api import build_config
from robustssl.evaluation.records import read_records
from robustssl.evaluation.robustness import robust_accuracy, standard_accuracy
from robustssl.models import Normalize
from robustssl.utils.checkpoint import save_weights

SMALL = {  # diagnostics that finish in a second
    "diagnostics": {"n_points": 8, "steps": 2, "more_steps": 4, "restarts": 1, "queries": 10},
}


def tiny_model() -> nn.Module:
    """The CLI tests' factory (``test_model_api:tiny_model``): normalisation inside, 10 logits."""
    return nn.Sequential(
        Normalize((0.2860,), (0.3530,)),
        nn.Conv2d(1, 4, 3, stride=2),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(4 * 13 * 13, 10),
    )


def not_a_model() -> int:
    return 3


@pytest.fixture(scope="module")
def fmnist_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_fake_fashion_mnist(tmp_path_factory.mktemp("fm") / "data")


def test_given_points_give_the_suite_table_and_the_attacks_numbers() -> None:
    model, (x, y) = trained_model(), eval_data(32)
    done = evaluate_model(
        model, x, y, threats={"Linf": 0.02}, attacks=["fgsm", "pgd"], config=SMALL
    )
    assert isinstance(done, ModelEvaluation) and str(done) == done.table
    assert done.table.splitlines()[0].startswith("evaluated on the 32 points given")
    assert "PGD-20 α=ε/4" in done.table and "FGSM" in done.table
    by = {(r.metric, r.attack): r for r in done.records if r.metric != "diagnostic"}
    assert by[("sa", None)].value == pytest.approx(standard_accuracy(model, x, y))
    pgd = by[("breakdown", "pgd")].value
    assert pgd == pytest.approx(robust_accuracy(model, x, y, "Linf", 0.02))
    worst = by[("breakdown", "worst_case")].value
    assert worst <= min(pgd, by[("breakdown", "fgsm")].value) <= by[("sa", None)].value
    assert pgd < by[("sa", None)].value  # ε = 0.02 breaks some points of this model
    assert {r.dataset for r in done.records} == {"custom"} and done.records_path is None
    assert {r.model for r in done.records} == {"Classifier"}
    assert "Linf" in done.findings


def test_default_metrics_are_sa_ra_aa_and_a_config_is_kept() -> None:
    cfg = build_config()
    assert (cfg.metrics, cfg.progress) == (["sa", "ra", "aa"], False)
    assert build_config({"seed": 3}).metrics == ["sa", "ra", "aa"]
    full = EvaluateConfig(metrics=["sa", "curve"], progress=True)
    assert build_config(full).model_dump() == full.model_dump()
    cfg = build_config(full, attacks=["fgsm"], threats={"L2": 0.5}, seed=4)
    assert (cfg.metrics, cfg.breakdown, cfg.seed) == (["sa", "breakdown"], ["fgsm"], 4)
    assert list(cfg.threats) == ["L2"] and cfg.threats["L2"].eps == 0.5


def test_dataset_names_given_points_in_the_written_records(tmp_path: Path) -> None:
    model, (x, y) = trained_model(), eval_data(16)
    done = evaluate_model(
        model,
        x,
        y,
        dataset="templates",
        name="mine",
        threats={"Linf": 0.02},
        metrics=["sa", "ra"],
        config={**SMALL, "data": {"batch_size": 16}},
        out=tmp_path / "ev",
    )
    records = read_records(tmp_path / "ev" / "records.json")
    assert done.records_path == tmp_path / "ev" / "records.json"
    assert {(r.dataset, r.model) for r in records} == {("templates", "mine")}
    assert sorted({r.metric for r in records} - {"diagnostic"}) == ["ra", "sa"]
    saved = json.loads((tmp_path / "ev" / "config.json").read_text())
    assert saved["threats"]["Linf"]["eps"] == 0.02
    again = evaluate_model(  # a second evaluation merges into the same records.json
        model,
        x,
        y,
        dataset="templates",
        name="mine",
        threats={"Linf": 0.04},
        metrics=["ra"],
        config=SMALL,
        out=tmp_path / "ev",
    )
    merged = read_records(again.records_path)
    ras = {r.eps: r.value for r in merged if r.metric == "ra"}
    assert set(ras) == {0.02, 0.04} and ras[0.04] <= ras[0.02]


def test_a_dataset_by_name_fills_the_records_dataset(fmnist_root: Path, tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = tiny_model().eval()
    cfg = {**SMALL, "data": {"root": str(fmnist_root), "n": 24, "batch_size": 16}}
    done = evaluate_model(
        model,
        dataset="Fashion-MNIST",
        threats={"Linf": 0.05},
        metrics=["sa", "ra"],
        config=cfg,
        out=tmp_path,
    )
    test = load_dataset("fashion_mnist", "test", root=fmnist_root)
    x, y = test.get_batch(torch.arange(24))
    sa = next(r for r in done.records if r.metric == "sa")
    assert sa.value == pytest.approx(accuracy(model, x, y))
    assert (sa.dataset, sa.subset, sa.n) == ("fashion_mnist", "test[0:24]", 24)
    assert done.table.splitlines()[0].startswith("evaluated on test[0:24], n=24")
    assert {r.dataset for r in read_records(tmp_path / "records.json")} == {"fashion_mnist"}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"threats": {"Linf": 8}}, r"8/255"),
        ({"attacks": ["pgd", "cw"]}, r"cw"),
        ({"attacks": "pgd"}, r"list of attack names"),
        ({"metrics": ["sa", "speed"]}, r"speed"),
        ({"threats": {"L1": 1.0}}, r"L1"),
        ({"threats": 0.03}, r"threats must be a mapping"),
    ],
)
def test_bad_settings_fail_before_the_model_runs(kwargs: dict, message: str) -> None:
    x, y = eval_data(8)
    with pytest.raises(ValueError, match=message):
        evaluate_model(raising_model(), x, y, **kwargs)


def test_bad_points_fail_before_any_attack(fmnist_root: Path) -> None:
    model, (x, y) = trained_model(), eval_data(8)
    with pytest.raises(ValueError, match=r"labels in \[\d+, 12\].*10 classes"):
        evaluate_model(model, x, torch.where(y == y[0], 12, y))
    with pytest.raises(ValueError, match=r"NaN"):
        evaluate_model(raising_model(), x.clone().fill_(float("nan")), y)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        evaluate_model(raising_model(), x * 255, y)
    with pytest.raises(ValueError, match=r"long tensor"):
        evaluate_model(raising_model(), x, y.float())
    with pytest.raises(ValueError, match="pass both x and y"):
        evaluate_model(raising_model(), x)
    with pytest.raises(ValueError, match="dataset="):
        evaluate_model(raising_model())
    with pytest.raises(ValueError, match=r"torch\.nn\.Module"):
        evaluate_model(lambda t: t, x, y)  # type: ignore[arg-type]
    five = nn.Sequential(nn.Flatten(), nn.Linear(784, 5))
    with pytest.raises(ValueError, match=r"predicts 5 classes but fashion_mnist has 10"):
        evaluate_model(five, dataset="fashion_mnist", config={"data": {"root": str(fmnist_root)}})


# --- the CLI: robustssl evaluate --model pkg.module:factory --weights FILE --dataset NAME ---

FAST = [
    "progress=false",
    "data.n=20",
    "data.batch_size=16",
    "threats={Linf: {eps: 0.05}}",
    "metrics=[sa,ra]",
    "diagnostics.n_points=8",
    "diagnostics.steps=2",
    "diagnostics.more_steps=4",
    "diagnostics.restarts=1",
    "diagnostics.queries=10",
]


@pytest.fixture(scope="module")
def weights(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, nn.Module]:
    torch.manual_seed(3)
    model = tiny_model().eval()
    path = tmp_path_factory.mktemp("w") / "mine.safetensors"
    save_weights(model, path)
    return path, model


def test_cli_evaluates_a_factory_model(
    weights: tuple[Path, nn.Module],
    fmnist_root: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path, model = weights
    args = [
        "evaluate",
        "--model",
        "test_model_api:tiny_model",
        "--weights",
        str(path),
        "--dataset",
        "fashion_mnist",
        "--out",
        str(tmp_path / "out"),
        f"data.root={fmnist_root}",
    ]
    assert main([*args, *FAST]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("evaluated on test[0:20], n=20") and "wrote" in out
    records = read_records(tmp_path / "out" / "records.json")
    names = {(r.dataset, r.model) for r in records}
    assert names == {("fashion_mnist", "test_model_api:tiny_model")}
    test = load_dataset("fashion_mnist", "test", root=fmnist_root)
    x, y = test.get_batch(torch.arange(20))
    sa = next(r.value for r in records if r.metric == "sa")
    assert sa == pytest.approx(accuracy(model, x, y))  # the saved weights, not a fresh init


def test_cli_default_out_is_next_to_the_weights(
    weights: tuple[Path, nn.Module], fmnist_root: Path, tmp_path: Path
) -> None:
    path = tmp_path / "w.safetensors"
    path.write_bytes(weights[0].read_bytes())
    args = [
        "evaluate",
        "--model",
        "test_model_api:tiny_model",
        "--weights",
        str(path),
        f"data.root={fmnist_root}",
        "data.dataset=fashion_mnist",
        "name=quick",
        *FAST,
    ]
    assert main(args) == 0
    assert (tmp_path / "evaluation" / "quick" / "records.json").is_file()


@pytest.mark.parametrize(
    ("model", "message"),
    [
        ("no_such_module_xyz:build", "cannot import module 'no_such_module_xyz'"),
        ("test_model_api", "expected the form pkg.module:factory"),
        ("test_model_api:missing", "has no 'missing'"),
        ("test_model_api:not_a_model", "returned int, not a torch.nn.Module"),
        ("test_model_api:FAST", "is not callable"),
    ],
)
def test_cli_bad_factory_exits_2_naming_it(
    model: str,
    message: str,
    weights: tuple[Path, nn.Module],
    fmnist_root: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = [
        "evaluate",
        "--model",
        model,
        "--weights",
        str(weights[0]),
        "--dataset",
        "fashion_mnist",
        f"data.root={fmnist_root}",
        *FAST,
    ]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_cli_bad_weights_and_missing_arguments_exit_2(
    weights: tuple[Path, nn.Module],
    fmnist_root: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    other = tmp_path / "other.safetensors"
    save_weights(nn.Sequential(nn.Flatten(), nn.Linear(784, 10)), other)
    base = ["evaluate", "--model", "test_model_api:tiny_model", f"data.root={fmnist_root}", *FAST]
    cases = [
        (
            [*base, "--weights", str(other), "--dataset", "fashion_mnist"],
            "do not match the model (missing keys",
        ),
        (
            [*base, "--weights", str(tmp_path / "nope.safetensors"), "--dataset", "fashion_mnist"],
            "no such file",
        ),
        ([*base, "--dataset", "fashion_mnist"], "go together"),
        ([*base, "--weights", str(weights[0])], "--dataset NAME"),
        (["evaluate", "progress=false"], "name what to evaluate"),
        (
            [
                "evaluate",
                str(tmp_path),
                *base[1:],
                "--weights",
                str(weights[0]),
                "--dataset",
                "fashion_mnist",
            ],
            "not both",
        ),
    ]
    for args, message in cases:
        assert main(args) == 2, args
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err, (args, err)


def test_cli_finds_a_factory_in_the_working_directory(
    weights: tuple[Path, nn.Module],
    fmnist_root: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A module next to the user (not installed, not on sys.path) is found; one that fails on
    import is exit 2 with its error, not a traceback; sys.path is left as it was."""
    (tmp_path / "my_models_i18b.py").write_text(
        "from test_model_api import tiny_model\n\n\ndef build():\n    return tiny_model()\n"
    )
    (tmp_path / "broken_models_i18b.py").write_text("raise RuntimeError('no GPU here')\n")
    monkeypatch.chdir(tmp_path)
    before = list(sys.path)
    args = ["--weights", str(weights[0]), "--dataset", "fashion_mnist", "--out", "ev"]
    args += [f"data.root={fmnist_root}", *FAST]
    assert main(["evaluate", "--model", "my_models_i18b:build", *args]) == 0
    assert (tmp_path / "ev" / "records.json").is_file()
    assert main(["evaluate", "--model", "broken_models_i18b:build", *args]) == 2
    err = capsys.readouterr().err
    assert "importing 'broken_models_i18b' failed: RuntimeError: no GPU here" in err
    assert "Traceback" not in err and sys.path == before
