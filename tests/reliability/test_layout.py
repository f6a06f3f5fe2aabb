"""The one owner of the run-directory layout (:mod:`robustssl.runs`): which keys change the
numbers (one list for plans and ``--resume``), moved directories, what "done" means."""

from __future__ import annotations

from pathlib import Path

from relfix import study_spec

from robustssl.runs import remove_temp_files, stage_state
from robustssl.runs.compare import (
    DISPLAY_KEYS,
    comparable_config,
    config_differences,
    describe_differences,
    identity_config,
)
from robustssl.runs.layout import LOCK, holds_run
from tinystudy import plan_of


def _finetune(study: str, **changes: object) -> dict[str, object]:
    cfg: dict[str, object] = {
        "name": "ft",
        "output_dir": f"{study}/runs/finetune",
        "pretrained": f"{study}/runs/pretrain/pre-1",
        "device": "cpu",
        "progress_bar": True,
        "data": {"root": "/data", "batch_size": 32},
        "optim": {"lr": 0.01, "milestones": [1, 2]},
    }
    cfg.update(changes)
    return cfg


def test_display_keys_never_block_a_resume() -> None:
    saved = _finetune("/a")
    now = _finetune("/a", name="x", device="cuda", progress_bar=False)
    now["data"] = {"root": "/elsewhere", "batch_size": 32}
    assert config_differences("finetune", saved, now) == []
    assert {"name", "device", "progress_bar", "data.root"} <= set(DISPLAY_KEYS["finetune"])


def test_a_moved_study_compares_as_the_same_run() -> None:
    saved, now = _finetune("/a/study"), _finetune("/b/moved/elsewhere")
    assert config_differences("finetune", saved, now) == []


def test_an_upstream_run_outside_the_move_compares_as_it_is() -> None:
    saved = _finetune("/a/study", pretrained="/shared/pre-1")
    now = _finetune("/b/moved", pretrained="/shared/pre-1")
    assert config_differences("finetune", saved, now) == []
    other = _finetune("/b/moved", pretrained="/shared/pre-2")
    assert config_differences("finetune", saved, other) == [
        ("pretrained", "/shared/pre-1", "/shared/pre-2")
    ]


def test_differences_name_every_key_with_both_values() -> None:
    saved = _finetune("/a")
    now = _finetune("/a", optim={"lr": 0.1, "milestones": [1]}, extra=3)
    diffs = config_differences("finetune", saved, now)
    assert diffs == [
        ("extra", None, 3),
        ("optim.lr", 0.01, 0.1),
        ("optim.milestones", [1, 2], [1]),
    ]
    assert describe_differences(diffs, limit=2) == (
        "extra: saved None, now 3; optim.lr: saved 0.01, now 0.1; and 1 more"
    )


def test_identity_drops_the_upstream_path_resume_keeps_it() -> None:
    cfg = _finetune("/a")
    assert "pretrained" not in identity_config("finetune", cfg)
    assert "pretrained" in comparable_config("finetune", cfg)
    assert "name" not in identity_config("evaluate", {"name": "e", "seed": 0})


def test_stage_ids_survive_moving_the_study(tmp_path: Path) -> None:
    a = plan_of(study_spec(tmp_path / "data", tmp_path / "a"))
    b = plan_of(study_spec(tmp_path / "elsewhere", tmp_path / "x" / "b"))
    assert [s.id for s in a] == [s.id for s in b]
    assert [s.name for s in a] == [s.name for s in b]


def test_done_means_summary_and_weights(tmp_path: Path) -> None:
    run = tmp_path / "run"
    assert stage_state("pretrain", run) == "new"
    run.mkdir()
    (run / LOCK).write_text("{}")
    assert not holds_run(run)  # a lock file alone is no run
    (run / "config.json").write_text("{}")
    assert holds_run(run) and stage_state("pretrain", run) == "partial"
    (run / "summary.json").write_text('{"status": "complete"}')
    assert stage_state("pretrain", run) == "partial"  # no encoder yet
    (run / "encoder.safetensors").write_bytes(b"x")
    assert stage_state("pretrain", run) == "complete"
    assert stage_state("finetune", run) == "partial"
    (run / "summary.json").write_text('{"status": "compl')  # damaged: not done
    assert stage_state("pretrain", run) == "partial"


def test_remove_temp_files_removes_only_temporary_files(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    for name in ("a/x.json.tmp", "a/b/w.safetensors.tmp", "a/keep.json", "a/tmpdata"):
        (tmp_path / name).write_text("x")
    removed = remove_temp_files(tmp_path)
    assert sorted(p.name for p in removed) == ["w.safetensors.tmp", "x.json.tmp"]
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["keep.json", "tmpdata"]
