"""Model selection over epochs (``select``): ``last`` keeps the final epoch; ``best_test`` (AdvCL's
SLF script, with a warning) and ``best_val`` keep the epoch with the highest PGD robust accuracy on
their split, save its classifier and report its metrics; resume selects as an uninterrupted run."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import torch

from robustssl.finetune import CLASSIFIER_FILE, FinetuneConfig, finetune
from robustssl.finetune import run as run_module
from robustssl.finetune.selection import (
    SCORE,
    SelectionOnTestSetWarning,
    best_epoch,
    is_best,
    select_score,
)
from robustssl.models import load_classifier
from robustssl.runs.layout import FINETUNE_BEST
from robustssl.utils.checkpoint import load_weights

SELECT = {"rule": "best_test", "eps": 0.05, "steps": 3, "step_size": 0.02, "n": 20}


def _weights(path: Path) -> dict[str, torch.Tensor]:
    return load_weights(path)


def _same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_config_rules() -> None:
    base = {"model": {"backbone": "small_cnn"}}
    cfg = FinetuneConfig.model_validate({**base, "select": "best_test"})
    assert (cfg.select.rule, cfg.select.steps, cfg.select.eps) == ("best_test", 20, 8 / 255)
    assert cfg.select.step_size == pytest.approx(2 / 255)
    assert FinetuneConfig.model_validate(base).select.rule == "last"
    with pytest.raises(ValueError, match=r"data\.val_fraction"):
        FinetuneConfig.model_validate({**base, "select": "best_val"})
    with pytest.raises(ValueError, match="pixel units"):
        FinetuneConfig.model_validate({**base, "select": {"rule": "best_test", "eps": 8}})
    dump = json.loads(json.dumps(cfg.model_dump(mode="json")))
    assert FinetuneConfig.model_validate(dump) == cfg


def test_best_is_the_first_maximum() -> None:
    rows = [{"epoch": e, SCORE: s} for e, s in ((1, 0.3), (2, 0.5), (3, 0.5))]
    assert best_epoch(rows) == 2
    assert is_best(rows[:1], 0.4) and not is_best(rows, 0.5) and is_best([], 0.0)


def test_best_test_keeps_the_best_epoch(make_run, make_config, monkeypatch) -> None:
    """Scores 0.3, 0.5, 0.4 → epoch 2's classifier is saved and reported, with a warning."""
    scores = iter([0.3, 0.5, 0.4])
    monkeypatch.setattr(run_module, "select_score", lambda *a, **k: next(scores))
    run = make_run()
    with pytest.warns(SelectionOnTestSetWarning, match="test set"):
        result = finetune(make_config(run, "slf", name="best", select=SELECT))
    assert result.metrics["selected_epoch"] == 2 and result.metrics[SCORE] == 0.5
    with open(result.run_dir / "metrics.csv") as fh:
        assert [float(r[SCORE]) for r in csv.DictReader(fh)] == [0.3, 0.5, 0.4]
    saved = _weights(result.run_dir / CLASSIFIER_FILE)
    assert _same(saved, _weights(result.run_dir / FINETUNE_BEST))
    two = finetune(make_config(run, "slf", name="two", optim={"epochs": 2, "milestones": []}))
    assert _same(saved, _weights(two.run_dir / CLASSIFIER_FILE))  # = the weights after epoch 2
    last = finetune(make_config(run, "slf", name="last"))
    assert not _same(saved, _weights(last.run_dir / CLASSIFIER_FILE))
    summary = json.loads((result.run_dir / "summary.json").read_text())
    assert summary["select"] == {"rule": "best_test", "epoch": 2}
    assert "selected_epoch" not in last.metrics


def test_robust_accuracy_is_bounded_by_clean_accuracy(make_run, make_config) -> None:
    cfg = make_config(make_run(), "slf", name="ra", select=SELECT)
    with pytest.warns(SelectionOnTestSetWarning):
        result = finetune(cfg)
    model, _, _ = load_classifier(result.run_dir / CLASSIFIER_FILE)
    test = run_module.load_finetune_data(cfg.data, None, 1, cfg.seed, torch.device("cpu")).test
    tiny = cfg.select.model_copy(update={"eps": 1e-6, "n": None})
    assert select_score(model, test, tiny, 0, 64) == pytest.approx(result.metrics["clean_accuracy"])
    strong = cfg.select.model_copy(update={"eps": 0.3, "steps": 10, "step_size": 0.05, "n": None})
    assert select_score(model, test, strong, 0, 64) < result.metrics["clean_accuracy"]


def test_resume_selects_as_an_uninterrupted_run(tmp_path, make_run, make_config) -> None:
    run = make_run()
    select = {**SELECT, "rule": "best_val"}
    kw = {"select": select, "data": {"val_fraction": 0.25}}
    full = finetune(make_config(run, "slf", name="full", **kw))

    def kill(done: int, row: dict) -> None:
        if done == 1:
            raise KeyboardInterrupt

    cfg = make_config(run, "slf", name="killed", **kw)
    with pytest.raises(KeyboardInterrupt):
        finetune(cfg, callbacks=[kill])
    resumed = finetune(cfg, resume=True)
    assert resumed.metrics["selected_epoch"] == full.metrics["selected_epoch"]
    a, b = full.run_dir / CLASSIFIER_FILE, resumed.run_dir / CLASSIFIER_FILE
    assert _same(_weights(a), _weights(b))
