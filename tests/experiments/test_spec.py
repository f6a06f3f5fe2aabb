"""Experiment files → plans: grid expansion, dedup, stable ids, references and clear errors, all
before any compute."""

from __future__ import annotations

from pathlib import Path

import pytest

from robustssl.experiments.dryrun import format_plan
from robustssl.experiments.spec import load_experiment
from robustssl.utils.config import ConfigError
from tinystudy import CONFIGS, REPO, plan_of, tiny_study


def test_grid_expands_seeds_protocols_and_threats(tmp_path: Path) -> None:
    raw = tiny_study(tmp_path / "data", tmp_path / "study", seeds=[0, 1])
    raw["finetune"]["slf"]["protocols"] = ["slf", "alf"]
    raw["finetune"]["slf"]["adversary"] = {"norm": "Linf", "eps": 0.1, "steps": 2}
    raw["evaluate"]["rob"]["threats"] = {"Linf": [0.05, 0.1], "L2": [0.5]}
    plan = plan_of(raw)
    kinds = [s.kind for s in plan]
    # 2 seeds × 2 lr; × 2 protocols; × 3 threats
    assert kinds.count("pretrain") == 4
    assert kinds.count("finetune") == 8
    assert kinds.count("evaluate") == 24
    for stage in plan:  # dependency order
        assert all(plan.stages.index(plan.get(d)) < plan.stages.index(stage) for d in stage.deps)
    for ft in plan.of_kind("finetune"):
        pre = plan.get(ft.deps[0])
        assert ft.config["pretrained"] == str(pre.path)
        assert ft.seed == pre.seed and ft.axes["optim.lr"] == pre.axes["optim.lr"]
        if ft.config["protocol"] == "slf":
            assert ft.config["adversary"] is None
        else:
            assert ft.config["adversary"]["eps"] == 0.1
    evals = plan.of_kind("evaluate")
    assert {(e.axes["norm"], e.axes["eps"]) for e in evals} == {
        ("Linf", 0.05),
        ("Linf", 0.1),
        ("L2", 0.5),
    }
    for ev in evals:
        assert list(ev.config["threats"]) == [ev.axes["norm"]]
        assert ev.path.parent.parent == ev.target


def test_evaluate_entry_runs_for_its_seeds_only(tmp_path: Path) -> None:
    raw = tiny_study(tmp_path / "data", tmp_path / "study", seeds=[0, 1, 2])
    raw["evaluate"]["aa"] = {**raw["evaluate"]["rob"], "seeds": [0, 2]}
    raw["evaluate"]["aa"]["overrides"] = {"data": {"n": 7}}  # another config: its own stages
    plan = plan_of(raw)
    evals = plan.of_kind("evaluate")
    seeds = {e: sorted(s.seed for s in evals if s.entry == e) for e in raw["evaluate"]}
    assert seeds["rob"] == [0, 0, 1, 1, 2, 2]  # 2 learning rates per seed
    assert seeds["aa"] == [0, 0, 2, 2]
    assert sorted(s.seed for s in plan.of_kind("finetune")) == [0, 0, 1, 1, 2, 2]
    # the entries' other stages are the same ones as without the restriction
    del raw["evaluate"]["aa"]["seeds"]
    unrestricted = {s.id for s in plan_of(raw)}
    assert {s.id for s in plan} < unrestricted
    assert len(unrestricted - {s.id for s in plan}) == 2


def test_overriding_seeds_narrows_entries_run_on_some_seeds(tmp_path: Path) -> None:
    """``seeds=[1]`` runs seed 1's chain of the file (a study directory per seed): an entry run
    on seed 0 only has no stage there, the others keep their ids; a typo still fails."""
    raw = tiny_study(tmp_path / "data", tmp_path / "study", seeds=[0, 1, 2])
    raw["evaluate"]["aa"] = {**raw["evaluate"]["rob"], "seeds": [0, 2]}
    raw["evaluate"]["aa"]["overrides"] = {"data": {"n": 7}}
    full = {s.id: s for s in plan_of(raw)}
    one = plan_of(raw, ("seeds=[1]",))
    assert {s.id for s in one} == {i for i, s in full.items() if s.seed == 1}
    assert {s.entry for s in one.of_kind("evaluate")} == {"rob"}
    two = plan_of(raw, ("seeds=[2]",))
    assert {s.entry for s in two.of_kind("evaluate")} == {"rob", "aa"}
    assert "aa" in raw["evaluate"] and raw["seeds"] == [0, 1, 2]  # the mapping is left as it was
    raw["evaluate"]["aa"]["seeds"] = [0, 5]
    with pytest.raises(ValueError, match=r"evaluate.aa.seeds \[0, 5\] names seeds \[5\]"):
        plan_of(raw, ("seeds=[1]",))
    assert len(plan_of(raw, ("seeds=[5, 1]",)).of_kind("finetune")) == 4


def test_identical_stages_run_once(tmp_path: Path) -> None:
    raw = tiny_study(tmp_path / "data", tmp_path / "study")
    raw["pretrain"]["twin"] = dict(raw["pretrain"]["sup"])  # the same runs under another name
    raw["finetune"]["slf"]["pretrain"] = ["sup", "twin"]
    plan = plan_of(raw)
    assert len(plan.of_kind("pretrain")) == 2
    assert len(plan.of_kind("finetune")) == 2
    assert len(plan.of_kind("evaluate")) == 2
    assert len({s.id for s in plan}) == len(plan)


def test_ids_ignore_location_and_display_keys(tmp_path: Path) -> None:
    a = plan_of(tiny_study(tmp_path / "data", tmp_path / "a"))
    b = plan_of(tiny_study(tmp_path / "elsewhere", tmp_path / "b"), ("name=renamed",))
    assert [s.id for s in a] == [s.id for s in b]
    c = plan_of(tiny_study(tmp_path / "data", tmp_path / "a"), ("seeds=[1]",))
    assert not {s.id for s in a} & {s.id for s in c}
    # a change in an upstream stage changes every stage below it
    d = plan_of(
        tiny_study(tmp_path / "data", tmp_path / "a"),
        ("defaults.pretrain.trainer.max_epochs=2",),
    )
    assert not {s.id for s in a} & {s.id for s in d}


def test_pretrain_reference_becomes_a_dependency(tmp_path: Path) -> None:
    raw = tiny_study(tmp_path / "data", tmp_path / "study")
    raw["pretrain"]["sup"]["grid"] = {}
    raw["pretrain"]["at"] = {
        "config": str(CONFIGS / "supervised_at.yaml"),
        "overrides": {"model.init_from": "@pretrain:sup"},
    }
    plan = plan_of(raw)
    sup, at = plan.of_kind("pretrain")
    assert at.deps == (sup.id,)
    assert at.config["model"]["init_from"] == str(sup.path)


def test_teacher_and_encoder_references_resolve(tmp_path: Path) -> None:
    """DeACL's ``method.teacher`` and DynACL++'s ``method.encoder`` name another entry's run."""
    raw = tiny_study(tmp_path / "data", tmp_path / "study")
    raw["pretrain"]["sup"]["grid"] = {}
    raw["pretrain"]["deacl"] = {
        "config": str(CONFIGS / "deacl.yaml"),
        "overrides": {"method.teacher": "@pretrain:sup"},
    }
    raw["pretrain"]["dyn"] = {"config": str(CONFIGS / "dynacl.yaml")}
    raw["pretrain"]["pp"] = {
        "config": str(CONFIGS / "dynacl_pp.yaml"),
        "overrides": {"method.encoder": "@pretrain:dyn"},
    }
    plan = plan_of(raw)
    stages = {s.entry: s for s in plan.of_kind("pretrain")}
    assert stages["deacl"].deps == (stages["sup"].id,)
    assert stages["deacl"].config["method"]["teacher"] == str(stages["sup"].path)
    assert stages["pp"].deps == (stages["dyn"].id,)
    assert stages["pp"].config["method"]["encoder"] == str(stages["dyn"].path)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"finetune": {"slf": {"pretrain": "nope"}}}, "unknown pretrain entries ['nope']"),
        ({"pretrain": {"sup": {"overrides": {"optim.lrr": 1}}}}, "lrr"),
        ({"pretrain": {"sup": {"config": "missing.yaml"}}}, "missing.yaml"),
        ({"pretrain": {"sup": {"grid": {"optim.lr": []}}}}, "no values"),
        ({"seeds": [0, 0]}, "repeat"),
        ({"evaluate": {"rob": {"overrides": {"metrics": ["sa", "nope"]}}}}, "nope"),
        ({"finetune": {"slf": {"protocols": ["xlf"]}}}, "xlf"),
        ({"pretrain": {"sup": {"overrides": {"model.init_from": "@pretrain:ghost"}}}}, "ghost"),
        ({"evaluate": {"rob": {"seeds": [3]}}}, "evaluate.rob.seeds [3] names seeds [3]"),
        ({"evaluate": {"rob": {"seeds": [0, 0]}}}, "evaluate.rob.seeds [0, 0] repeats"),
        ({"evaluate": {"rob": {"seeds": []}}}, "seeds"),
    ],
)
def test_bad_experiments_fail_before_compute(tmp_path: Path, change: dict, message: str) -> None:
    raw = tiny_study(tmp_path / "data", tmp_path / "study")
    for key, value in change.items():
        if isinstance(value, dict):
            for entry, fields in value.items():
                raw[key][entry] = {**raw[key][entry], **fields}
        else:
            raw[key] = value
    with pytest.raises((ConfigError, ValueError), match=message.replace("[", r"\[")):
        plan_of(raw)
    assert not (tmp_path / "study").exists()


def test_override_of_unknown_experiment_key_is_named(tmp_path: Path) -> None:
    raw = tiny_study(tmp_path / "data", tmp_path / "study")
    with pytest.raises(ConfigError, match="seedz"):
        load_experiment(None, ("seedz=[1]",), raw=raw)


def test_dry_run_prints_plan_and_writes_nothing(tmp_path: Path) -> None:
    from fakedata import write_fake_fashion_mnist

    root = write_fake_fashion_mnist(tmp_path / "data")
    plan = plan_of(tiny_study(root, tmp_path / "study"))
    text = format_plan(plan, estimate=True)
    assert "6 stages (0 cached, 0 to resume, 6 to run)" in text
    assert text.count(" run ") >= 6
    assert "estimated compute" in text and "not timed" not in text
    assert not (tmp_path / "study").exists()


@pytest.mark.parametrize(
    "path",
    [
        REPO / "configs" / "quickstart.yaml",
        *sorted((REPO / "configs" / "reproduce").glob("*.yaml")),
    ],
    ids=lambda p: p.name,
)
def test_shipped_experiments_expand(path: Path, tmp_path: Path) -> None:
    plan = plan_of_file(path, tmp_path)
    assert plan.of_kind("pretrain") and plan.of_kind("evaluate")


def plan_of_file(path: Path, tmp_path: Path):
    from robustssl.experiments.plan import expand

    return expand(load_experiment(path, (f"study_dir={tmp_path / 'study'}",)))


def test_finetune_label_separates_variants_of_one_protocol(tmp_path: Path) -> None:
    raw = tiny_study(tmp_path / "data", tmp_path / "study")
    variant = {"label": "B", "overrides": {"optim.lr": 0.02}}
    raw["finetune"]["slf_b"] = {**raw["finetune"]["slf"], **variant}
    plan = plan_of(raw)
    methods = {s.labels["method"] for s in plan.of_kind("finetune")}
    pre = {s.labels["method"] for s in plan.of_kind("pretrain")}
    assert methods == pre | {f"{m} · B" for m in pre}


# sha256 of the sorted stage ids of configs/reproduce/seed001_table1_fmnist.yaml as planned before
# the config owners moved, the smoke flag and the loggers were added (a study in progress kept its
# stages). A config change that alters the numbers changes ids on purpose: then update this digest
# and say so in CHANGELOG.md (earlier runs will not be reused).
SEED001_FMNIST_IDS = "1c1e0e0f19106e2e5791438cb60a6a2bc65cd6d49826efb5fe2e16901be0128a"


def test_shipped_study_keeps_its_stage_ids() -> None:
    import hashlib

    from robustssl.experiments.plan import expand

    file = REPO / "configs" / "reproduce" / "seed001_table1_fmnist.yaml"
    plan = expand(load_experiment(file, ("study_dir=/tmp/ids-only",)))
    ids = "\n".join(sorted(s.id for s in plan))
    assert len(plan) == 196
    assert hashlib.sha256(ids.encode()).hexdigest() == SEED001_FMNIST_IDS
