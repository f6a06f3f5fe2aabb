"""Getting a dataset (``robustssl datasets fetch``, run by the quickstart): Debian's package when
apt may run (root, or passwordless sudo), else torchvision's download, else a clear error.

apt-get and sudo are fake programs on PATH (they log their arguments and copy tiny IDX files
where Debian's package would put them); the download is a fake function. Nothing is installed
or downloaded for real.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from fakedata import write_fake_fashion_mnist
from robustssl.cli import main
from robustssl.data import find_local, mnist
from robustssl.data.fetch import FetchError, apt_prefix, fetch_dataset

FAKE_APT = f"""#!{sys.executable}
import json, os, shutil, sys
from pathlib import Path
log = Path(os.environ["FAKE_LOG"])
with log.open("a") as f:
    f.write(json.dumps(["apt-get", *sys.argv[1:]]) + "\\n")
mode = os.environ.get("FAKE_APT_MODE", "ok")
updated = log.with_suffix(".updated")
if sys.argv[1] == "update":
    updated.touch()
    sys.exit(0)
if mode == "fail" or (mode == "needs-update" and not updated.exists()):
    print("E: Unable to locate package " + sys.argv[-1], file=sys.stderr)
    sys.exit(100)
target = Path(os.environ["FAKE_APT_TARGET"])
target.mkdir(parents=True, exist_ok=True)
for f in Path(os.environ["FAKE_APT_SOURCE"]).glob("*.gz"):
    shutil.copy(f, target / f.name)
"""

FAKE_SUDO = f"""#!{sys.executable}
import json, os, sys
with open(os.environ["FAKE_LOG"], "a") as f:
    f.write(json.dumps(["sudo", *sys.argv[1:]]) + "\\n")
if os.environ.get("FAKE_SUDO_OK") != "1":
    print("sudo: a password is required", file=sys.stderr)
    sys.exit(1)
args = sys.argv[2:] if sys.argv[1] == "-n" else sys.argv[1:]
if args == ["true"]:
    sys.exit(0)
os.execv(args[0], args)
"""


class Machine:
    """A fake machine: which programs are on PATH, who we are, what the network does."""

    def __init__(self, tmp: Path, monkeypatch: pytest.MonkeyPatch, system_dir: Path) -> None:
        self.bin = tmp / "bin"
        self.bin.mkdir()
        self.log = tmp / "calls.jsonl"
        self.root = tmp / "data"
        self.system_dir = system_dir
        self.downloads: list[tuple[str, Path, str]] = []
        source = write_fake_fashion_mnist(tmp / "package-src") / "FashionMNIST" / "raw"
        monkeypatch.setenv("PATH", str(self.bin))
        monkeypatch.setenv("FAKE_LOG", str(self.log))
        monkeypatch.setenv("FAKE_APT_SOURCE", str(source))
        monkeypatch.setenv("FAKE_APT_TARGET", str(system_dir))
        self.monkeypatch = monkeypatch
        self.user(root=True)

    def program(self, name: str, text: str) -> None:
        path = self.bin / name
        path.write_text(text)
        path.chmod(path.stat().st_mode | stat.S_IXUSR)

    def apt(self, mode: str = "ok") -> None:
        self.program("apt-get", FAKE_APT)
        self.monkeypatch.setenv("FAKE_APT_MODE", mode)

    def sudo(self, passwordless: bool) -> None:
        self.program("sudo", FAKE_SUDO)
        self.monkeypatch.setenv("FAKE_SUDO_OK", "1" if passwordless else "0")

    def user(self, root: bool) -> None:
        self.monkeypatch.setattr(os, "geteuid", lambda: 0 if root else 1000)

    def calls(self) -> list[list[str]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]

    def downloader(self, works: bool) -> Callable[[str, Path, str], None]:
        def download(name: str, root: Path, split: str) -> None:
            self.downloads.append((name, root, split))
            if not works:  # like torchvision: folders first, then the network fails
                (root / "FashionMNIST" / "raw").mkdir(parents=True, exist_ok=True)
                raise OSError("[Errno 101] Network is unreachable\n(retried)")
            write_fake_fashion_mnist(root)

        return download


@pytest.fixture
def machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_system_dirs: Path) -> Machine:
    return Machine(tmp_path, monkeypatch, no_system_dirs)


def strip(call: list[str]) -> list[str]:
    """A logged call with program paths reduced to their names."""
    return [Path(call[0]).name, *(Path(a).name if "/" in a else a for a in call[1:])]


def test_root_with_apt_installs_debians_package(machine: Machine) -> None:
    machine.apt()
    fetched = fetch_dataset("fashion_mnist", machine.root, download=machine.downloader(True))
    assert (fetched.how, fetched.location) == ("apt", machine.system_dir)
    assert machine.calls() == [
        ["apt-get", "install", "-y", "-q", "--no-install-recommends", "dataset-fashion-mnist"]
    ]
    assert machine.downloads == []
    assert find_local("fashion_mnist", machine.root) == machine.system_dir


def test_passwordless_sudo_runs_apt_through_sudo(machine: Machine) -> None:
    machine.apt()
    machine.sudo(passwordless=True)
    machine.user(root=False)
    fetched = fetch_dataset("fashion_mnist", machine.root, download=machine.downloader(True))
    assert fetched.how == "apt"
    calls = [strip(c) for c in machine.calls()]
    assert calls[0] == ["sudo", "-n", "true"]
    assert calls[1][:4] == ["sudo", "-n", "apt-get", "install"]
    assert calls[2][0] == "apt-get" and "dataset-fashion-mnist" in calls[2]


def test_sudo_that_wants_a_password_is_never_asked_and_the_download_is_used(
    machine: Machine,
) -> None:
    machine.apt()
    machine.sudo(passwordless=False)
    machine.user(root=False)
    fetched = fetch_dataset("fashion_mnist", machine.root, download=machine.downloader(True))
    assert (fetched.how, fetched.location) == ("download", machine.root / "FashionMNIST" / "raw")
    assert [strip(c) for c in machine.calls()] == [["sudo", "-n", "true"]]  # no apt-get run
    assert [(n, s) for n, _, s in machine.downloads] == [
        ("fashion_mnist", "train"),
        ("fashion_mnist", "test"),
    ]


def test_no_apt_on_the_machine_downloads(machine: Machine) -> None:
    fetched = fetch_dataset("fashion_mnist", machine.root, download=machine.downloader(True))
    assert fetched.how == "download" and machine.calls() == []
    assert apt_prefix() is None


def test_fresh_apt_lists_are_updated_then_installed_again(machine: Machine) -> None:
    machine.apt(mode="needs-update")
    fetched = fetch_dataset("fashion_mnist", machine.root, download=machine.downloader(True))
    assert fetched.how == "apt"
    assert [c[1] for c in machine.calls()] == ["install", "update", "install"]


def test_failed_apt_falls_back_to_the_download(machine: Machine) -> None:
    machine.apt(mode="fail")
    fetched = fetch_dataset("fashion_mnist", machine.root, download=machine.downloader(True))
    assert fetched.how == "download"
    assert [c[1] for c in machine.calls()] == ["install", "update", "install"]


def test_nothing_works_names_each_attempt_and_the_ways_left(machine: Machine) -> None:
    machine.apt(mode="fail")
    with pytest.raises(FetchError) as err:
        fetch_dataset("fashion_mnist", machine.root, download=machine.downloader(False))
    msg = str(err.value)
    assert "E: Unable to locate package dataset-fashion-mnist" in msg
    assert "Network is unreachable" in msg
    assert "sudo apt-get install dataset-fashion-mnist" in msg and str(machine.root) in msg
    assert len(err.value.attempts) == 2
    assert "Network is unreachable (retried)" in err.value.attempts[1]  # one line per attempt
    assert find_local("fashion_mnist", machine.root) is None
    assert not machine.root.exists()  # the failed download's empty folders are gone


def test_a_failed_download_keeps_what_was_in_the_data_root(machine: Machine) -> None:
    (machine.root / "mine").mkdir(parents=True)
    (machine.root / "empty-but-mine").mkdir()
    with pytest.raises(FetchError):
        fetch_dataset(
            "fashion_mnist", machine.root, use_apt=False, download=machine.downloader(False)
        )
    assert sorted(p.name for p in machine.root.iterdir()) == ["empty-but-mine", "mine"]


def test_already_present_does_nothing(machine: Machine) -> None:
    machine.apt()
    write_fake_fashion_mnist(machine.root)
    fetched = fetch_dataset("fashion_mnist", machine.root, download=machine.downloader(True))
    assert fetched.how == "present"
    assert machine.calls() == [] and machine.downloads == []


def test_switches_turn_ways_off(machine: Machine) -> None:
    machine.apt()
    with pytest.raises(FetchError) as err:
        fetch_dataset(
            "fashion_mnist",
            machine.root,
            use_apt=False,
            use_download=False,
            download=machine.downloader(True),
        )
    assert err.value.attempts == [] and "nothing could be tried" in str(err.value)
    assert machine.calls() == [] and machine.downloads == []


def test_dataset_without_a_debian_package_only_downloads(machine: Machine) -> None:
    machine.apt()
    calls: list[str] = []

    def download(name: str, root: Path, split: str) -> None:
        calls.append(split)
        raise OSError("offline")

    with pytest.raises(FetchError, match="offline"):
        fetch_dataset("mnist", machine.root, download=download)
    assert machine.calls() == [] and calls == ["train"]


def test_imagefolder_cannot_be_fetched(machine: Machine) -> None:
    with pytest.raises(ValueError, match="cannot be fetched"):
        fetch_dataset("imagefolder", machine.root)


def test_cli_fetch_installs_and_reports(
    machine: Machine, capsys: pytest.CaptureFixture[str]
) -> None:
    machine.apt()
    assert main(["datasets", "fetch", "Fashion-MNIST", "--root", str(machine.root)]) == 0
    out = capsys.readouterr().out
    assert "installed with apt" in out and str(machine.system_dir) in out
    assert main(["datasets", "fetch", "fashion_mnist", "--root", str(machine.root)]) == 0
    assert "already here" in capsys.readouterr().out
    assert len(machine.calls()) == 1


def test_cli_fetch_failure_exits_2_without_traceback(
    machine: Machine, capsys: pytest.CaptureFixture[str]
) -> None:
    machine.apt(mode="fail")
    code = main(
        ["datasets", "fetch", "fashion_mnist", "--root", str(machine.root), "--no-download"]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert "could not get dataset 'fashion_mnist'" in err and "Traceback" not in err


def test_debian_location_follows_the_environment(tmp_path: Path) -> None:
    """``$ROBUSTSSL_DEBIAN_DATASETS`` moves where Debian's copy is looked for (how the
    fresh-machine checks hide the installed package)."""
    import subprocess

    env = {**os.environ, "ROBUSTSSL_DEBIAN_DATASETS": str(tmp_path)}
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "from robustssl.data import mnist; print(mnist.SYSTEM_DIRS['fashion_mnist'][0])",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == str(tmp_path / "fashion-mnist")
    assert mnist.SYSTEM_DIRS["fashion_mnist"][0].name == "fashion-mnist"
