"""EvaluateConfig validation, errors before any forward pass, the whole suite on a small model."""

from __future__ import annotations

import math
from itertools import pairwise
from pathlib import Path

import pytest
import torch
from evalfix import eval_data, raising_model, trained_model
from pydantic import ValidationError

from robust_model import small_classifier
from robustssl.evaluation.config import ATTACK_NAMES, EvaluateConfig
from robustssl.evaluation.records import RecordContext
from robustssl.evaluation.suite import evaluate, format_summary, model_signature
from robustssl.models import Classifier
from robustssl.utils.config import ConfigError, load_config

FAST_DIAG = {"n_points": 16, "steps": 5, "more_steps": 10, "restarts": 1, "queries": 20}


def _cfg(**kw: object) -> dict:
    base = {"progress": False, "data": {"batch_size": 32}, "diagnostics": FAST_DIAG}
    return {**base, **kw}


# ---------------------------------------------------------------- config


def test_defaults_and_fraction_eps() -> None:
    cfg = EvaluateConfig()
    assert cfg.threats["Linf"].eps == pytest.approx(8 / 255)
    assert cfg.attacks.pgd.steps == 20 and cfg.breakdown[-1] == "aa"
    cfg = EvaluateConfig(threats={"linf": {"eps": "8/255", "eps_list": [0, "4/255", "8/255"]}})
    assert cfg.threats["Linf"].eps_list == pytest.approx([0, 4 / 255, 8 / 255])
    assert cfg.threats["Linf"].curve_eps("Linf") == cfg.threats["Linf"].eps_list
    default = EvaluateConfig(threats={"Linf": {"eps": 0.4}, "L2": {"eps": 1.0}}).threats
    assert default["Linf"].curve_eps("Linf") == pytest.approx([0, 0.1, 0.2, 0.3, 0.4, 0.6, 0.8])
    assert default["L2"].curve_eps("L2") == pytest.approx([0, 0.25, 0.5, 0.75, 1, 1.5, 2])
    assert max(EvaluateConfig(threats={"Linf": {"eps": 0.6}}).threats["Linf"].curve_eps("Linf")) < 1


def test_overrides_and_yaml(tmp_path: Path) -> None:
    path = tmp_path / "e.yaml"
    path.write_text("threats:\n  Linf: {eps: 0.1}\ndata: {n: 50}\n")
    cfg = load_config(path, EvaluateConfig, ["threats.L2.eps=0.5", "attacks.pgd.steps=7"])
    assert set(cfg.threats) == {"Linf", "L2"} and cfg.threats["L2"].eps == 0.5
    assert cfg.data.n == 50 and cfg.attacks.pgd.steps == 7
    with pytest.raises(ConfigError, match=r"attacks\.pgd\.stepz: unknown key; allowed keys here: "):
        load_config(None, EvaluateConfig, ["attacks.pgd.stepz=3"])


@pytest.mark.parametrize(
    ("update", "message"),
    [
        (
            {"breakdown": ["fgsm", "cw"]},
            "unknown attack 'cw'; known attacks: " + ", ".join(ATTACK_NAMES),
        ),
        ({"ra_attack": "deepfool"}, "ra_attack: unknown attack 'deepfool'"),
        ({"curve_attack": "aa"}, "AutoAttack is not swept"),
        ({"representation": {"attack": "cw"}}, "representation.attack: unknown attack"),
        ({"threats": {"Linf": {"eps": 8}}}, "L∞ ε ≥ 1 covers the whole"),
        ({"threats": {"Linf": {"eps": 1.0}}}, "Did you mean ε/255"),
        ({"threats": {"Linf": {"eps": 0}}}, "must be finite and > 0"),
        ({"threats": {"L2": {"eps": -0.5}}}, "threats.L2.eps = -0.5"),
        ({"threats": {"Linf": {"eps": 0.1, "eps_list": [0, 2]}}}, "threats.Linf.eps_list = 2"),
        ({"threats": {"L1": {"eps": 10}}}, "norm 'L1' is not evaluated"),
        ({"threats": {"Lfoo": {"eps": 1}}}, "norm must be one of"),
        ({"metrics": ["sa", "cka"]}, "unknown metrics \\['cka'\\]"),
        ({"metrics": ["corruption"]}, "needs corruptions.names"),
        ({"corruptions": {"severities": [0, 3]}}, "severities must be"),
        ({"name": "a/b"}, "plain folder name"),
        ({"data": {"n": 0}}, "greater than or equal to 1"),
    ],
)
def test_bad_config_raises_before_any_forward(update: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        EvaluateConfig(**update)
    x, y = eval_data(4)
    with pytest.raises(ConfigError, match=message):  # the model's forward would raise otherwise
        evaluate(raising_model(), x, y, _cfg(**update))


def test_class_and_shape_mismatch_before_forward() -> None:
    x, y = eval_data(8)
    cfg = _cfg(metrics=["sa"], diagnostics={"enabled": False})
    with pytest.raises(ValueError, match="predicts 10 classes but fashion_mnist has 5"):
        ctx = RecordContext("m", dataset="fashion_mnist")
        evaluate(raising_model(10), x, y, cfg, ctx, num_classes=5)
    with pytest.raises(ValueError, match="expects 1-channel images but the data has 3"):
        evaluate(raising_model(), x.expand(-1, 3, -1, -1), y, cfg)
    with pytest.raises(ValueError, match="trained on images of shape \\(1, 32, 32\\)"):
        evaluate(raising_model(), x, y, cfg, expected_shape=(1, 32, 32))
    with pytest.raises(ValueError, match="labels must be in \\[0, 10\\)"):
        evaluate(raising_model(), x, y + 5, cfg)
    with pytest.raises(ValueError, match="x must be in \\[0, 1\\]"):
        evaluate(raising_model(), x * 255, y, cfg)
    with pytest.raises(ValueError, match="AutoAttack needs ≥ 4 classes"):
        evaluate(raising_model(3), x, y % 3, _cfg(metrics=["aa"]))
    with pytest.raises(ValueError, match="not submodules of the model"):
        bad = {"layers": ["encoder.backbone.block9"]}
        evaluate(raising_model(), x, y, _cfg(metrics=["representation"], representation=bad))


def test_model_signature() -> None:
    assert model_signature(small_classifier(4, num_classes=7)) == (1, 7)
    assert model_signature(torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 3))) == (
        None,
        3,
    )


# ---------------------------------------------------------------- the whole suite


@pytest.fixture(scope="module")
def full_run():
    x, y = eval_data(32)
    cfg = _cfg(
        threats={"Linf": {"eps": 0.02, "eps_list": [0, 0.01, 0.02, 0.04]}, "L2": {"eps": 0.5}},
        metrics=["sa", "ra", "curve", "breakdown", "classification", "representation", "lipschitz"],
        breakdown=["fgsm", "pgd", "apgd-ce"],
        lipschitz={"n": 8, "steps": 3},
    )
    ctx = RecordContext("tiny", pretraining="simclr", finetune="slf", dataset="synthetic")
    return evaluate(trained_model(), x, y, cfg, ctx, num_classes=10)


def _find(records, **kw):
    found = [r for r in records if all(getattr(r, k) == v for k, v in kw.items())]
    assert found, kw
    return found


def test_suite_records(full_run) -> None:
    recs = full_run.records
    sa = _find(recs, metric="sa")[0].value
    assert sa == 1.0 and all(r.model == "tiny" and r.finetune == "slf" for r in recs)
    for norm, eps in (("Linf", 0.02), ("L2", 0.5)):
        ra = _find(recs, metric="ra", norm=norm, eps=eps)[0]
        assert ra.value <= sa and ra.attack == "pgd" and ra.n == 32
        pgd_top1 = _find(recs, metric="top1", norm=norm, attack="pgd")[0]
        assert pgd_top1.value >= ra.value and pgd_top1.tags == {"data": "pgd"}
        worst = _find(recs, metric="breakdown", norm=norm, attack="worst_case")[0].value
        assert worst <= min(r.value for r in _find(recs, metric="breakdown", norm=norm))
        assert _find(recs, metric="feature_diff_mean", norm=norm)[0].value > 0
    curve = [r.value for r in _find(recs, metric="accuracy", norm="Linf")]
    assert curve[0] == sa and all(a >= b for a, b in pairwise(curve))
    clean = {r.metric: r.value for r in _find(recs, tags={"data": "clean"})}
    assert clean["top1"] == pytest.approx(sa) and clean["mcc"] == pytest.approx(1.0)
    assert len(clean["confusion_matrix"]) == 10 and clean["top5"] >= clean["top1"]
    assert _find(recs, metric="lipschitz_max")[0].n == 8


def test_diagnostics_findings_appear_with_numbers(full_run) -> None:
    for norm in ("Linf", "L2"):
        findings = full_run.findings[norm]
        diag = _find(full_run.records, metric="diagnostic", norm=norm)
        assert [d.attack for d in diag] == [f.code for f in findings]
        assert {d.attack for d in diag} >= {
            "probability_outputs",
            "zero_gradients",
            "more_iterations",
            "black_box_beats_white_box",
        }
        assert all(d.info["severity"] in ("info", "warning") and d.info["message"] for d in diag)
        more = next(d for d in diag if d.attack == "more_iterations")
        assert (
            more.value is not None and math.isfinite(more.value) and "PGD-5" in more.info["message"]
        )
        assert all(d.n == 16 for d in diag)


def test_summary_table(full_run) -> None:
    text = format_summary(full_run.records)
    assert "sa " in text and "100.00%" in text and "worst case" in text
    assert text.splitlines()[0].startswith("evaluated on the 32 points given")
    assert "gradient-masking diagnostics:" in text and "more_iterations (L2, ε=0.5)" in text
    assert "confusion_matrix" not in text  # tables are left to the JSON


def test_diagnostics_can_be_switched_off() -> None:
    x, y = eval_data(8)
    cfg = _cfg(
        metrics=["sa", "ra"], threats={"Linf": {"eps": 0.02}}, diagnostics={"enabled": False}
    )
    result = evaluate(trained_model(), x, y, cfg)
    assert [r.metric for r in result.records] == ["sa", "ra"] and result.findings == {}
    assert result.records[0].model == "Classifier"


def test_bad_masking_model_is_flagged() -> None:
    """A model returning probabilities is reported by the diagnostics (with the numbers)."""
    base = trained_model()
    model = Classifier(base.encoder, torch.nn.Sequential(base.head, torch.nn.Softmax(dim=1)))
    x, y = eval_data(8)
    cfg = _cfg(metrics=["sa"], threats={"Linf": {"eps": 0.02}})
    result = evaluate(model, x, y, cfg, num_classes=10)
    probs = _find(result.records, metric="diagnostic", attack="probability_outputs")[0]
    assert probs.info["severity"] == "warning" and "probabilities" in probs.info["message"]
