"""Epoch-level resume reaches the uninterrupted run's weights; runs are never overwritten."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from robustssl.finetune import CLASSIFIER_FILE, finetune
from robustssl.utils.checkpoint import load_weights


class _Kill(RuntimeError):
    pass


def _kill_after(epoch: int):
    def callback(done: int, row: dict[str, float]) -> None:
        if done == epoch:
            raise _Kill(f"simulated kill after epoch {done + 1}")

    return callback


@pytest.mark.parametrize(
    ("protocol", "extra"),
    [
        ("aff", {"adversary": {"eps": 0.1, "steps": 2}, "augmentation": {"name": "crop_flip"}}),
        ("slf", {"optim": {"name": "adam", "lr": 0.01, "epochs": 3, "milestones": [2]}}),
    ],
)
def test_resume_reaches_the_uninterrupted_weights(
    tmp_path: Path, make_run, make_config, protocol: str, extra: dict
) -> None:
    run = make_run()
    full = finetune(make_config(run, protocol, name="full", **extra))
    cfg = make_config(run, protocol, name="killed", **extra)
    with pytest.raises(_Kill):
        finetune(cfg, callbacks=[_kill_after(0)])
    killed = tmp_path / "runs" / "killed"
    assert (killed / "state" / "last.safetensors").is_file()
    assert not (killed / CLASSIFIER_FILE).exists() and not (killed / "summary.json").exists()
    assert len((killed / "metrics.csv").read_text().splitlines()) == 2
    resumed = finetune(cfg.model_copy(update={"progress_bar": True}), resume=True)
    a = load_weights(full.run_dir / CLASSIFIER_FILE)
    b = load_weights(resumed.run_dir / CLASSIFIER_FILE)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert resumed.metrics["clean_accuracy"] == full.metrics["clean_accuracy"]
    rows = (killed / "metrics.csv").read_text().splitlines()
    assert [row.split(",")[0] for row in rows[1:]] == ["1", "2", "3"]


def test_same_seed_same_weights_other_seed_other_weights(make_run, make_config) -> None:
    run = make_run()
    adv = {"adversary": {"eps": 0.1, "steps": 2}}
    a = finetune(make_config(run, "aff", name="a", **adv))
    b = finetune(make_config(run, "aff", name="b", **adv))
    c = finetune(make_config(run, "aff", name="c", seed=1, **adv))
    wa, wb, wc = (load_weights(r.run_dir / CLASSIFIER_FILE) for r in (a, b, c))
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    assert not torch.equal(wa["head.fc.weight"], wc["head.fc.weight"])


def test_existing_run_is_never_overwritten(tmp_path: Path, make_run, make_config) -> None:
    cfg = make_config(make_run())
    finetune(cfg)
    before = (tmp_path / "runs" / "slf" / CLASSIFIER_FILE).read_bytes()
    with pytest.raises(ValueError, match=r"already holds a run.*--resume.*nothing was overwritten"):
        finetune(cfg.model_copy(update={"seed": 5}))
    assert (tmp_path / "runs" / "slf" / CLASSIFIER_FILE).read_bytes() == before


def test_resume_checks_the_config(tmp_path: Path, make_run, make_config) -> None:
    cfg = make_config(make_run())
    with pytest.raises(ValueError, match="nothing to resume"):
        finetune(cfg, resume=True)
    with pytest.raises(_Kill):
        finetune(cfg, callbacks=[_kill_after(0)])
    with pytest.raises(ValueError, match="differs from the one saved"):
        finetune(cfg.model_copy(update={"seed": 5}), resume=True)


def test_resuming_a_finished_run_returns_its_result(tmp_path: Path, make_run, make_config) -> None:
    cfg = make_config(make_run())
    first = finetune(cfg)
    summary = tmp_path / "runs" / "slf" / "summary.json"
    stamp = summary.stat().st_mtime_ns
    again = finetune(cfg, resume=True)
    assert again.metrics == first.metrics and summary.stat().st_mtime_ns == stamp
    assert json.loads(summary.read_text())["status"] == "complete"
