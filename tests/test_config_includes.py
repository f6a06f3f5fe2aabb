"""``defaults:`` includes in config files (robustssl.utils.config_files) and the JSON schema
export (``robustssl config schema``): merge order, strict checking kept, clear errors for cycles and
missing files, resolution in a clone, from the shipped configs and in copies."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from robustssl.cli import main
from robustssl.experiments.schema import config_schema
from robustssl.finetune import FinetuneConfig
from robustssl.methods import PretrainConfig
from robustssl.utils.config import ConfigError, load_config
from robustssl.utils.config_files import configs_dir, copy_configs, read_config_file

REPO_CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_includes_merge_in_order_and_the_file_wins(tmp_path: Path) -> None:
    _write(tmp_path / "_base" / "a.yaml", "data: {batch_size: 64, label_fraction: 0.5}\nseed: 1\n")
    _write(tmp_path / "_base" / "b.yaml", "defaults: [a]\ndata: {batch_size: 32}\nseed: 2\n")
    cfg = _write(tmp_path / "run.yaml", "defaults: [_base/b.yaml]\nseed: 3\nname: x\n")
    raw = read_config_file(cfg)
    assert raw == {"data": {"batch_size": 32, "label_fraction": 0.5}, "seed": 3, "name": "x"}
    loaded = load_config(cfg, PretrainConfig, ["data.batch_size=16"])
    assert (loaded.data.batch_size, loaded.data.label_fraction, loaded.seed) == (16, 0.5, 3)


def test_lists_replace_and_mappings_merge(tmp_path: Path) -> None:
    _write(tmp_path / "base.yaml", "optim: {name: sgd, milestones: [5, 8], gamma: 0.5}\n")
    cfg = _write(tmp_path / "run.yaml", "defaults: [base]\noptim: {milestones: [3]}\n")
    assert read_config_file(cfg)["optim"] == {"name": "sgd", "milestones": [3], "gamma": 0.5}


def test_an_unknown_key_in_an_included_file_is_still_rejected(tmp_path: Path) -> None:
    _write(tmp_path / "base.yaml", "optim: {lr: 0.1, lrr: 0.2}\n")
    cfg = _write(tmp_path / "run.yaml", "defaults: [base]\nname: x\n")
    with pytest.raises(ConfigError, match=r"optim\.lrr: unknown key; allowed keys here:.*\blr\b"):
        load_config(cfg, PretrainConfig)


def test_an_include_cycle_names_the_files(tmp_path: Path) -> None:
    _write(tmp_path / "a.yaml", "defaults: [b]\nseed: 1\n")
    _write(tmp_path / "b.yaml", "defaults: [a]\nseed: 2\n")
    cfg = _write(tmp_path / "run.yaml", "defaults: [a]\nname: x\n")
    with pytest.raises(ConfigError, match="include cycle") as err:
        load_config(cfg, PretrainConfig)
    assert str(tmp_path / "a.yaml") in str(err.value) and str(tmp_path / "b.yaml") in str(err.value)
    _write(tmp_path / "self.yaml", "defaults: [self]\nseed: 1\n")
    with pytest.raises(ConfigError, match="include cycle"):
        read_config_file(tmp_path / "self.yaml")


def test_a_missing_include_names_the_including_file_and_the_fix(tmp_path: Path) -> None:
    cfg = _write(tmp_path / "sub" / "run.yaml", "defaults: [_base/nope]\nname: x\n")
    with pytest.raises(ConfigError) as err:
        load_config(cfg, PretrainConfig)
    msg = str(err.value)
    assert str(cfg) in msg and "'_base/nope' not found" in msg and "robustssl configs copy" in msg


@pytest.mark.parametrize(
    ("value", "message"),
    [("{a: 1}", "must be a list of files"), ("[1]", "must be a file path"), ("['']", "file path")],
)
def test_a_malformed_defaults_entry_is_refused(tmp_path: Path, value: str, message: str) -> None:
    cfg = _write(tmp_path / "run.yaml", f"defaults: {value}\nname: x\n")
    with pytest.raises(ConfigError, match=message):
        read_config_file(cfg)


def test_a_shipped_config_with_includes_loads_from_any_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    raw = read_config_file(configs_dir() / "fashion_mnist" / "finetune_alf.yaml")
    assert raw["adversary"] == {
        "attack": "pgd",
        "norm": "Linf",
        "eps": 0.1,
        "steps": 5,
        "step_size_rule": "madry",
    }
    cfg = load_config("fashion_mnist/finetune_alf", FinetuneConfig)
    assert (cfg.data.label_fraction, cfg.optim.epochs, cfg.adversary.steps) == (0.2, 5, 5)
    assert cfg.adversary.alpha == pytest.approx(2.5 * 0.1 / 5)


def test_a_copy_uses_its_own_base_files_and_a_single_copied_file_the_shipped_ones(
    tmp_path: Path,
) -> None:
    copy_configs(tmp_path / "mine")
    base = tmp_path / "mine" / "fashion_mnist" / "_base" / "contrastive.yaml"
    base.write_text(base.read_text().replace("lr: 0.002", "lr: 0.004"))
    assert (
        load_config(tmp_path / "mine" / "fashion_mnist" / "simclr.yaml", PretrainConfig).optim.lr
        == 0.004
    )
    single = _write(
        tmp_path / "alone" / "simclr.yaml",
        (REPO_CONFIGS / "fashion_mnist" / "simclr.yaml").read_text(),
    )
    assert load_config(single, PretrainConfig).optim.lr == 0.002


def test_every_base_file_is_included() -> None:
    """A _base file nobody includes would be dead weight (or a config that is never checked)."""
    bases = {p.resolve() for p in REPO_CONFIGS.rglob("_base/*.yaml")}
    used: set[Path] = set()
    for path in [*REPO_CONFIGS.glob("*/*.yaml"), *bases]:
        entries = yaml.safe_load(path.read_text()).get("defaults", [])
        if isinstance(entries, list):  # experiment files use ``defaults`` for something else
            used |= {(REPO_CONFIGS / f"{e}.yaml").resolve() for e in entries}
    assert bases and bases <= used


@pytest.mark.parametrize("kind", ["pretrain", "finetune", "evaluate", "experiment"])
def test_config_schema_is_written_and_describes_the_keys(
    tmp_path: Path, kind: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / f"{kind}.schema.json"
    assert main(["config", "schema", kind, "--out", str(out)]) == 0
    schema = json.loads(out.read_text())
    assert schema == config_schema(kind)
    assert schema["additionalProperties"] is False  # unknown keys are errors in the editor too
    props = schema["properties"]
    assert {"seed"} <= set(props) if kind != "experiment" else {"pretrain", "seeds"} <= set(props)
    if kind != "experiment":  # an experiment file's ``defaults`` is its per-kind section
        assert props["defaults"]["type"] == "array"
    if kind == "pretrain":
        assert "defaults" in props and props["defaults"]["items"] == {"type": "string"}
        names = {
            m["properties"]["name"]["const"]
            for m in schema["$defs"].values()
            if "name" in m.get("properties", {}) and "const" in m["properties"]["name"]
        }
        from robustssl.methods import METHODS

        assert names == set(METHODS)  # every registered method is in the union
    assert f"wrote the {kind} config schema" in capsys.readouterr().out
    assert main(["configs", "schema", kind]) == 0  # ``config`` and ``configs``: one command
    assert json.loads(capsys.readouterr().out) == schema


def test_config_schema_rejects_an_unknown_kind(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as err:
        main(["config", "schema", "pretraining"])
    assert err.value.code == 2
    assert "invalid choice" in capsys.readouterr().err
