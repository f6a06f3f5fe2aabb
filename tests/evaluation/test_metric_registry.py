"""The metric registry (issue 16): a metric is one file; the suite computes, records and shows
whatever is registered, and the built-in entries reproduce the suite's metric list."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterator
from types import ModuleType

import pytest
import torch
from evalfix import eval_data, trained_model
from pydantic import ValidationError

from robustssl.evaluation.config import EvaluateConfig
from robustssl.evaluation.metrics import (
    Metric,
    accuracy_metrics,
    metric_names,
    record_metrics,
    register_metric,
    registered_metrics,
    unregister_metric,
)
from robustssl.evaluation.suite import evaluate, format_summary

EPS = 0.02


@pytest.fixture
def load_margin() -> Iterator[Callable[[], ModuleType]]:
    """Imports (and so registers) the throw-away metric file; unregisters it afterwards."""
    yield lambda: importlib.import_module("margin_metric")
    if "margin" in metric_names():
        unregister_metric("margin")
    sys.modules.pop("margin_metric", None)


def test_builtin_entries_are_the_suites_metrics_in_order() -> None:
    assert metric_names() == (
        "sa", "ra", "aa", "curve", "breakdown", "classification", "representation",
        "lipschitz", "corruption",
    )  # fmt: skip
    assert record_metrics() == (
        "sa", "ra", "aa", "accuracy", "breakdown", "top1", "top5", "mcc",
        "per_class_accuracy", "confusion_matrix", "feature_diff_mean", "feature_diff_std",
        "feature_diff_median", "feature_diff_max", "lipschitz_mean", "lipschitz_max", "diagnostic",
    )  # fmt: skip
    assert accuracy_metrics() == {"sa", "ra", "aa", "accuracy", "breakdown", "top1", "top5"}
    assert [m.key for m in registered_metrics()][-1] == "diagnostics"  # not a `metrics` value


def test_a_metric_in_one_file_is_validated_computed_recorded_and_shown(load_margin) -> None:
    with pytest.raises(ValidationError, match=r"unknown metrics \['margin'\]"):
        EvaluateConfig(metrics=["sa", "margin"])
    margin_metric = load_margin()  # the one file: importing it registers the metric
    model, (x, y) = trained_model(), eval_data(32)
    cfg = {
        "progress": False,
        "metrics": ["sa", "margin"],
        "threats": {"Linf": {"eps": EPS}},
        "diagnostics": {"enabled": False},
    }
    assert EvaluateConfig(**cfg).metrics == ["sa", "margin"]
    assert "margin" in metric_names()
    assert {"margin_mean", "margin_confident"} <= set(record_metrics())
    assert "margin_confident" in accuracy_metrics() and "margin_mean" not in accuracy_metrics()

    records = evaluate(model, x, y, cfg).records
    assert [(r.metric, r.norm) for r in records] == [
        ("sa", None),
        ("margin_mean", None),
        ("margin_confident", None),
        ("margin_mean", "Linf"),
    ]  # clean hooks in registration order, then the per-threat hook
    with torch.no_grad():
        logits = model.eval()(x)
    margin = margin_metric.margins(logits, y)
    clean_mean, confident, attacked = records[1], records[2], records[3]
    assert clean_mean.value == pytest.approx(float(margin.mean()), rel=1e-5)
    assert confident.value == pytest.approx(float((margin > 1).double().mean()))
    assert attacked.value < clean_mean.value  # PGD lowers the true-class margin
    assert attacked.attack == "pgd" and attacked.attack_config["steps"] == 20
    assert attacked.eps == EPS and attacked.n == len(y)

    table = format_summary(records).splitlines()
    row = next(line for line in table if line.startswith("margin_confident"))
    assert f"{100 * confident.value:9.2f}%" in row  # a declared accuracy is shown in %
    row = next(line for line in table if line.startswith("margin_mean") and "Linf" in line)
    assert f"{attacked.value:10.4g}" in row and "%" not in row and "PGD-20" in row


def test_unregistered_metric_is_unknown_again(load_margin) -> None:
    margin_metric = load_margin()
    assert EvaluateConfig(metrics=["margin"]).metrics == ["margin"]
    unregister_metric("margin")
    with pytest.raises(ValidationError, match=r"unknown metrics \['margin'\]"):
        EvaluateConfig(metrics=["margin"])
    register_metric(margin_metric.MARGIN)  # the fixture unregisters it again


def _noop(run: object) -> list:
    return []


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (Metric(key="sa", records=("x",), after=_noop), "'sa' is already registered"),
        (
            Metric(key="mine", records=("top1",), after=_noop),  # top1 is a % for classification
            "record 'top1' is also written by 'classification'",
        ),
    ],
)
def test_registry_rejects_clashes(entry: Metric, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        register_metric(entry)
    assert [m.key for m in registered_metrics()].count(entry.key) <= 1


def test_an_entry_must_compute_something_and_show_only_its_records() -> None:
    with pytest.raises(ValueError, match="computes nothing"):
        Metric(key="empty", records=("x",))
    with pytest.raises(ValueError, match=r"percent \['y'\] are not in its records"):
        Metric(key="bad", records=("x",), percent=("y",), after=_noop)
