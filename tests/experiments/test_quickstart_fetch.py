"""``robustssl quickstart`` on a machine without the dataset gets it itself (Debian's package via
a fake apt-get here) and runs to the report; when no way works it stops before any compute with
the ways left and what was tried."""

from __future__ import annotations

import json
import stat
import sys
from pathlib import Path

import pytest

from fakedata import write_fake_fashion_mnist
from robustssl.cli import main
from robustssl.data import download as download_module
from robustssl.data import mnist
from tinystudy import tiny_study, write_yaml

FAKE_APT = f"""#!{sys.executable}
import json, os, shutil, sys
from pathlib import Path
with open(os.environ["FAKE_LOG"], "a") as f:
    f.write(json.dumps(sys.argv[1:]) + "\\n")
target = Path(os.environ["FAKE_APT_TARGET"])
target.mkdir(parents=True, exist_ok=True)
for f in Path(os.environ["FAKE_APT_SOURCE"]).glob("*.gz"):
    shutil.copy(f, target / f.name)
"""


@pytest.fixture
def bare_machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No Debian copy, an empty data root, a PATH holding only what the test puts there."""
    debian = tmp_path / "debian" / "fashion-mnist"
    monkeypatch.setitem(mnist.SYSTEM_DIRS, "fashion_mnist", (debian,))
    (tmp_path / "bin").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def experiment(tmp: Path) -> Path:
    raw = tiny_study(tmp / "data", tmp / "study")
    raw["pretrain"]["sup"]["grid"] = {"optim.lr": [0.002]}
    return write_yaml(tmp / "tiny.yaml", raw)


def test_quickstart_installs_the_dataset_then_reaches_the_report(
    bare_machine: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    apt = bare_machine / "bin" / "apt-get"
    apt.write_text(FAKE_APT)
    apt.chmod(apt.stat().st_mode | stat.S_IXUSR)
    source = write_fake_fashion_mnist(bare_machine / "package") / "FashionMNIST" / "raw"
    monkeypatch.setenv("FAKE_LOG", str(bare_machine / "apt.jsonl"))
    monkeypatch.setenv("FAKE_APT_SOURCE", str(source))
    monkeypatch.setenv("FAKE_APT_TARGET", str(bare_machine / "debian" / "fashion-mnist"))
    monkeypatch.setattr("os.geteuid", lambda: 0)

    code = main(["quickstart", "--config", str(experiment(bare_machine)), "--no-progress"])
    out = capsys.readouterr().out
    assert code == 0, out
    calls = [json.loads(line) for line in (bare_machine / "apt.jsonl").read_text().splitlines()]
    assert calls == [["install", "-y", "-q", "--no-install-recommends", "dataset-fashion-mnist"]]
    assert "fashion_mnist: ready in" in out and "(apt)" in out
    assert (bare_machine / "study" / "report" / "index.html").is_file()
    assert "report:" in out


def test_quickstart_without_any_way_stops_before_compute(
    bare_machine: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def offline(name: str, root: Path, split: str) -> None:
        raise OSError("[Errno 101] Network is unreachable")

    monkeypatch.setattr(download_module, "torchvision_download", offline)
    code = main(["quickstart", "--config", str(experiment(bare_machine)), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2
    assert "dataset 'fashion_mnist' is not on this machine" in err
    assert "robustssl datasets fetch" not in err  # that is what just failed
    assert "apt-get install dataset-fashion-mnist: not possible here" in err
    assert "Network is unreachable" in err and "Traceback" not in err
    assert not (bare_machine / "study").exists()


def test_no_fetch_and_dry_run_never_fetch(
    bare_machine: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    exp = str(experiment(bare_machine))
    assert main(["quickstart", "--config", exp, "--no-fetch", "--no-progress"]) == 2
    assert "Tried:" not in capsys.readouterr().err
    assert main(["quickstart", "--config", exp, "--dry-run", "--no-estimate"]) == 0
    out = capsys.readouterr().out
    assert "not on this machine" in out  # the plan warns, nothing was fetched
    assert not (bare_machine / "data").exists() and not (bare_machine / "study").exists()
