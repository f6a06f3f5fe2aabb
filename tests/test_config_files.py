"""Configs ship with the package: ``--config fashion_mnist/simclr`` and the quickstart/reproduce
experiment files resolve from it when no such local file exists; ``robustssl configs list|copy``."""

from __future__ import annotations

from pathlib import Path

import pytest
import tomllib

from robustssl.cli import main
from robustssl.experiments.plan import expand
from robustssl.experiments.quickstart import quickstart_file
from robustssl.experiments.spec import load_experiment
from robustssl.methods import PretrainConfig
from robustssl.utils.config import ConfigError, load_config
from robustssl.utils.config_files import configs_dir, copy_configs, find_config, list_configs

REPO = Path(__file__).resolve().parents[1]
REPO_CONFIGS = REPO / "configs"
SIMCLR = REPO_CONFIGS / "fashion_mnist" / "simclr.yaml"


@pytest.fixture
def empty_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


def test_shipped_configs_are_the_repositorys(empty_cwd: Path) -> None:
    assert configs_dir().resolve() == REPO_CONFIGS.resolve()
    on_disk = sorted(p.relative_to(REPO_CONFIGS).as_posix() for p in REPO_CONFIGS.rglob("*.yaml"))
    assert list_configs() == on_disk
    assert {"quickstart.yaml", "fashion_mnist/simclr.yaml"} <= set(on_disk)
    assert any(n.startswith("reproduce/") for n in on_disk)


def test_package_data_globs_cover_every_config() -> None:
    """A config in a deeper folder (or not .yaml) would silently miss the wheel."""
    setup = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    globs = setup["package-data"]["robustssl"]
    files = [p.relative_to(REPO_CONFIGS).as_posix() for p in REPO_CONFIGS.rglob("*") if p.is_file()]
    package = REPO / "src" / "robustssl"  # setuptools globs: ``*`` stops at a folder, as here
    shipped = {p.relative_to(package).as_posix() for g in globs for p in package.glob(g)}
    missed = [f for f in files if f"configs/{f}" not in shipped]
    assert files and not missed and any("/_base/" in f for f in files)
    assert (REPO / "src" / "robustssl" / "configs").resolve() == REPO_CONFIGS.resolve()


@pytest.mark.parametrize(
    "ref",
    ["fashion_mnist/simclr", "fashion_mnist/simclr.yaml", "configs/fashion_mnist/simclr.yaml"],
)
def test_stage_config_resolves_from_the_package(empty_cwd: Path, ref: str) -> None:
    assert find_config(ref).resolve() == SIMCLR.resolve()
    cfg = load_config(ref, PretrainConfig, ["trainer.max_epochs=1"])
    assert cfg.method.name == "simclr" and cfg.trainer.max_epochs == 1


def test_a_local_file_wins_over_the_shipped_one(empty_cwd: Path) -> None:
    local = empty_cwd / "fashion_mnist" / "simclr.yaml"
    local.parent.mkdir()
    local.write_text(SIMCLR.read_text().replace("name: simclr_fashion_mnist", "name: mine"))
    assert find_config("fashion_mnist/simclr") == empty_cwd / "fashion_mnist" / "simclr.yaml"
    assert load_config("fashion_mnist/simclr", PretrainConfig).name == "mine"


def test_missing_config_names_every_place_and_the_fix(empty_cwd: Path) -> None:
    with pytest.raises(ConfigError) as err:
        find_config("fashion_mnist/simclrr")
    msg = str(err.value)
    assert str(empty_cwd / "fashion_mnist" / "simclrr.yaml") in msg
    assert str(configs_dir() / "fashion_mnist" / "simclrr.yaml") in msg
    assert "robustssl configs list" in msg


def test_paths_climbing_out_are_not_looked_up_in_the_package(empty_cwd: Path) -> None:
    with pytest.raises(ConfigError) as err:
        find_config("../fashion_mnist/simclr.yaml")
    assert str(configs_dir()) not in str(err.value)


@pytest.mark.parametrize("ref", ["reproduce/seed001_table1_fmnist", "quickstart.yaml"])
def test_experiment_files_and_their_stage_configs_resolve_from_the_package(
    empty_cwd: Path, ref: str
) -> None:
    exp = load_experiment(ref)
    assert exp.source is not None and exp.source.is_relative_to(REPO_CONFIGS.resolve())
    assert exp.study_dir.is_relative_to(empty_cwd)  # results go to the working directory
    plan = expand(exp)
    assert {s.kind for s in plan} == {"pretrain", "finetune", "evaluate"}


def test_quickstart_file_is_the_shipped_one(empty_cwd: Path) -> None:
    assert quickstart_file().resolve() == (REPO_CONFIGS / "quickstart.yaml").resolve()


def test_own_experiment_file_may_name_shipped_stage_configs(empty_cwd: Path) -> None:
    exp = empty_cwd / "mine.yaml"
    exp.write_text("name: mine\nseeds: [0]\npretrain:\n  simclr: {config: fashion_mnist/simclr}\n")
    plan = expand(load_experiment(exp))
    (stage,) = list(plan)
    assert stage.config["method"]["name"] == "simclr"
    assert stage.config["data"]["dataset"] == "fashion_mnist"


def test_cli_configs_list(empty_cwd: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["configs", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("# configs shipped with robustssl")
    assert lines[1:] == list_configs()


def test_cli_pretrain_takes_a_shipped_config(
    empty_cwd: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["pretrain", "--config", "fashion_mnist/simclr", "--print-config"]) == 0
    assert '"name": "simclr_fashion_mnist"' in capsys.readouterr().out


def test_cli_configs_copy_never_overwrites_without_force(
    empty_cwd: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dest = empty_cwd / "my-configs"
    assert main(["configs", "copy", str(dest)]) == 0
    copied = sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file())
    assert copied == list_configs()
    assert (dest / "fashion_mnist" / "simclr.yaml").read_bytes() == SIMCLR.read_bytes()
    assert not (dest / "fashion_mnist" / "simclr.yaml").is_symlink()

    edited = dest / "quickstart.yaml"
    edited.write_text("# my edits\n")
    assert main(["configs", "copy", str(dest)]) == 2
    err = capsys.readouterr().err
    assert "already holds" in err and "--force" in err
    assert edited.read_text() == "# my edits\n"
    assert main(["configs", "copy", str(dest), "--force"]) == 0
    assert edited.read_bytes() == (REPO_CONFIGS / "quickstart.yaml").read_bytes()


def test_copy_into_a_file_is_refused(empty_cwd: Path) -> None:
    target = empty_cwd / "afile"
    target.write_text("keep")
    with pytest.raises(ConfigError, match="not a directory"):
        copy_configs(target)
    assert target.read_text() == "keep"
