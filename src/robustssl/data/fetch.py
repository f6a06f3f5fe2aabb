"""Get a dataset onto this machine: Debian's package where there is one and apt may be used,
else torchvision's download where the network allows, else an error naming what was tried and
the ways left (``robustssl datasets fetch NAME``, run by ``robustssl quickstart`` and
``scripts/dev-install.sh``).

apt is used when ``apt-get`` is on PATH and the user is root or has passwordless sudo
(``sudo -n``); nothing ever asks for a password. Tests put fake ``apt-get`` / ``sudo`` programs
on PATH and pass their own ``download``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from robustssl.data import download as downloads
from robustssl.data.errors import DatasetError
from robustssl.data.load import default_data_root, find_local
from robustssl.data.registry import canonical_name, get_info

Downloader = Callable[[str, Path, str], None]
Log = Callable[[str], None]
DOWNLOAD_TIMEOUT_S = 60.0  # per socket operation: a machine without network fails, not hangs


class FetchError(DatasetError, FileNotFoundError):
    """Every way to get the dataset failed; the message lists each attempt and what is left."""

    def __init__(self, name: str, attempts: list[str], hint: str) -> None:
        self.name = name
        self.attempts = attempts
        tried = "\n".join(f"  - {a}" for a in attempts) or "  (nothing could be tried)"
        super().__init__(f"could not get dataset {name!r}; tried:\n{tried}\n{hint}")

    def __str__(self) -> str:  # OSError's __str__ would format errno/filename instead
        return str(self.args[0])


@dataclass(frozen=True)
class Fetched:
    """Where the dataset is now and how it got there ("present", "apt" or "download")."""

    name: str
    location: Path
    how: str


def apt_prefix() -> list[str] | None:
    """The command that runs ``apt-get`` as root: ``[apt-get]`` for root, ``[sudo, -n, apt-get]``
    with passwordless sudo; None when apt cannot be used without asking for a password."""
    apt = shutil.which("apt-get")
    if apt is None:
        return None
    if os.geteuid() == 0:
        return [apt]
    sudo = shutil.which("sudo")
    if sudo is None:
        return None
    probe = subprocess.run(
        [sudo, "-n", "true"], stdin=subprocess.DEVNULL, capture_output=True, check=False
    )
    return [sudo, "-n", apt] if probe.returncode == 0 else None


def _run(cmd: list[str], log: Log) -> tuple[bool, str]:
    log(f"$ {' '.join(cmd)}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    done = subprocess.run(
        cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, env=env, check=False
    )
    lines = (done.stderr or done.stdout).strip().splitlines()
    return done.returncode == 0, (lines[-1] if lines else f"exit status {done.returncode}")


def apt_install(package: str, prefix: list[str], log: Log) -> tuple[bool, str]:
    """``apt-get install -y package``; on failure (e.g. package lists never fetched on a fresh
    machine) ``apt-get update`` and once more. Returns (success, last line of apt's output)."""
    install = [*prefix, "install", "-y", "-q", "--no-install-recommends", package]
    ok, detail = _run(install, log)
    if ok:
        return ok, detail
    updated, update_detail = _run([*prefix, "update", "-q"], log)
    if not updated:
        return False, f"apt-get update failed: {update_detail}"
    return _run(install, log)


@contextmanager
def _socket_timeout(seconds: float) -> Iterator[None]:
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(previous)


def fetch_dataset(
    name: str,
    root: str | Path | None = None,
    *,
    use_apt: bool = True,
    use_download: bool = True,
    download: Downloader | None = None,
    log: Log = print,
) -> Fetched:
    """Make ``name`` available locally (see the module docstring for the order of the ways).

    ``root`` is where a download goes (``$ROBUSTSSL_DATA`` or ``./data`` by default);
    ``download`` replaces torchvision's downloader. Returns where the files are; raises
    :class:`FetchError` when no way worked.
    """
    key = canonical_name(name)
    if key == "imagefolder":
        raise ValueError(
            "imagefolder data cannot be fetched; arrange it as <root>/<split>/<class>/<image>"
        )
    base = Path(root).expanduser() if root is not None else default_data_root()
    found = find_local(key, base)
    if found is not None:
        return Fetched(key, found, "present")
    info = get_info(key)
    attempts: list[str] = []
    if info.debian_package and use_apt:
        prefix = apt_prefix()
        if prefix is None:
            attempts.append(
                f"apt-get install {info.debian_package}: not possible here (no apt-get, or "
                "neither root nor passwordless sudo)"
            )
        else:
            log(f"{key}: installing Debian's {info.debian_package}")
            ok, detail = apt_install(info.debian_package, prefix, log)
            found = find_local(key, base)
            if found is not None:
                return Fetched(key, found, "apt")
            why = detail if not ok else "installed, but its files are not where expected"
            attempts.append(f"apt-get install {info.debian_package}: {why}")
    if use_download:
        log(f"{key}: downloading with torchvision into {base}")
        before = set(base.iterdir()) if base.is_dir() else None
        try:
            with _socket_timeout(DOWNLOAD_TIMEOUT_S):
                for split in (s for s in ("train", "test") if s in info.splits):
                    (download or downloads.torchvision_download)(key, base, split)
        except Exception as exc:  # network, disk or checksum errors from torchvision
            _remove_new_empty_dirs(base, before)
            detail = " ".join(str(exc).split())  # torchvision's messages span lines
            attempts.append(f"download into {base}: {type(exc).__name__}: {detail}")
        else:
            found = find_local(key, base)
            if found is not None:
                return Fetched(key, found, "download")
            attempts.append(f"download into {base}: finished, but the files are not there")
    raise FetchError(key, attempts, _ways_left(key, base))


def _remove_new_empty_dirs(root: Path, before: set[Path] | None) -> None:
    """Remove the folders a failed download made under ``root`` (``before``: its entries then,
    None when it did not exist) that hold no file; nothing that was there before is touched."""
    if not root.is_dir():
        return
    for entry in set(root.iterdir()) - (before or set()):
        if entry.is_dir() and not any(p.is_file() for p in entry.rglob("*")):
            shutil.rmtree(entry)
    if before is None and not any(root.iterdir()):
        root.rmdir()


def _ways_left(key: str, root: Path) -> str:
    info = get_info(key)
    ways = []
    if info.debian_package:
        ways.append(f"sudo apt-get install {info.debian_package}   (Debian's copy, read in place)")
    ways.append(f"robustssl datasets fetch {key}   on a machine with network access to its host")
    ways.append(f"or put the files under {root} (or set ROBUSTSSL_DATA to their folder)")
    return "Get it:\n" + "\n".join(f"  {i}. {w}" for i, w in enumerate(ways, 1))
