"""Exclusive OS file locks on a study, a run directory or an evaluation folder.

:class:`DirLock` holds ``flock(LOCK_EX)`` on ``<dir>/.robustssl.lock`` for as long as a process
works there. The kernel releases the lock when the process ends however it ends (``kill -9``
included), so a lock is never stale; the file's JSON body (pid, host, command, start time) only
serves to name the holder in the error a second process gets. The file is removed on release.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
import time
import warnings
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import TracebackType

from robustssl.runs.atomic import disk_full_error, is_disk_full
from robustssl.runs.layout import LOCK

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


@dataclass(frozen=True)
class Holder:
    """Who holds a lock, as written in the lock file (fields None when unknown)."""

    pid: int | None = None
    host: str | None = None
    command: str | None = None
    since: str | None = None

    def describe(self) -> str:
        who = f"pid {self.pid}" if self.pid is not None else "another process (pid unknown)"
        if self.host and self.host != socket.gethostname():
            who += f" on host {self.host}"
        details = [
            f"`{self.command}`" if self.command else "",
            f"since {self.since}" if self.since else "",
        ]
        shown = ", ".join(d for d in details if d)
        return f"{who} ({shown})" if shown else who


class LockedError(ValueError):
    """Another live process holds the lock; the message names it and how to wait or stop it."""

    def __init__(self, message: str, holder: Holder) -> None:
        super().__init__(message)
        self.holder = holder


def read_holder(path: Path) -> Holder:
    """The holder recorded in lock file ``path`` (an empty :class:`Holder` when unreadable)."""
    try:
        raw = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return Holder()
    if not isinstance(raw, dict):
        return Holder()
    pid = raw.get("pid")
    return Holder(
        pid if isinstance(pid, int) else None,
        raw.get("host"),
        raw.get("command"),
        raw.get("since"),
    )


def lock_holder(directory: str | Path) -> Holder | None:
    """The holder of ``directory``'s lock, or None when no live process holds it (a lock file
    left by a killed process is not held). This process's own locks count as held."""
    if fcntl is None:  # pragma: no cover - Windows
        return None
    path = Path(directory) / LOCK
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            return read_holder(path)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def wait_hint(holder: Holder, stop_note: str) -> str:
    """How to wait for or stop ``holder`` (shell commands naming its pid)."""
    if holder.pid is None:
        return "wait for the other process to finish, then run this command again"
    pid = holder.pid
    return (
        f"wait for it to finish (`tail --pid={pid} -f /dev/null` returns when it does) or stop "
        f"it (`kill {pid}`; {stop_note}), then run this command again"
    )


def _mkdirs(directory: Path) -> list[Path]:
    """Create ``directory`` and missing parents; the ones created, outermost first."""
    missing = [d for d in (directory, *directory.parents) if not d.exists()]
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise (disk_full_error(directory, err) if is_disk_full(err) else err) from None
    return list(reversed(missing))


class DirLock:
    """``with DirLock(dir, "study"):`` — exclusive use of ``dir`` (created when missing, and
    removed again on release if this lock created it and it is still empty).

    A second process gets :class:`LockedError` naming the holder (after ``timeout`` seconds of
    retries, which only bridge another process's brief check of the lock). ``stop_note`` says
    what stopping the holder costs (shown in that error); ``command`` is what the holder is
    doing (default: this process's command line)."""

    def __init__(
        self,
        directory: str | Path,
        what: str,
        stop_note: str = "the work it finished is kept",
        command: str | None = None,
        timeout: float = 0.3,
    ) -> None:
        self.directory = Path(directory)
        self.what, self.stop_note, self.timeout = what, stop_note, timeout
        self.command = command or " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])[:300]
        self._fd: int | None = None
        self._created: list[Path] = []

    @property
    def path(self) -> Path:
        return self.directory / LOCK

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> DirLock:
        if self._fd is not None:
            raise RuntimeError(f"{self.path} is already held by this DirLock")
        if fcntl is None:  # pragma: no cover - Windows
            warnings.warn(
                "file locks need fcntl (POSIX); a second robustssl process on "
                f"{self.directory} is not refused on this platform",
                stacklevel=2,
            )
            return self
        self._created = _mkdirs(self.directory)
        try:
            return self._acquire()
        except BaseException:
            self._remove_created()
            raise

    def _acquire(self) -> DirLock:
        deadline = time.monotonic() + self.timeout
        while True:
            fd = self._try_lock()
            if fd is not None:
                self._fd = fd
                self._write_holder()
                return self
            if time.monotonic() >= deadline:
                holder = read_holder(self.path)
                raise LockedError(
                    f"{self.what} {self.directory} is in use by {holder.describe()}; two "
                    f"processes must not write one {self.what}: "
                    f"{wait_hint(holder, self.stop_note)}",
                    holder,
                )
            time.sleep(0.05)

    def _try_lock(self) -> int | None:
        """An fd holding the lock on the file now at ``self.path``, or None when it is held."""
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as err:
            raise (disk_full_error(self.path, err) if is_disk_full(err) else err) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return None
        try:  # a releasing holder may have unlinked the file we opened: lock the new one
            same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
        except FileNotFoundError:
            same = False
        if not same:
            os.close(fd)
            return self._try_lock()
        return fd

    def _write_holder(self) -> None:
        assert self._fd is not None
        body = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "command": self.command,
            "since": datetime.now().isoformat(timespec="seconds"),
        }
        try:
            os.ftruncate(self._fd, 0)
            os.pwrite(self._fd, json.dumps(body).encode(), 0)
        except OSError:  # a full disk: the lock holds, only the holder's name is missing
            pass

    def release(self) -> None:
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            self.path.unlink()
        os.close(self._fd)
        self._fd = None
        self._remove_created()

    def _remove_created(self) -> None:
        for directory in reversed(self._created):
            try:
                directory.rmdir()
            except OSError:
                break
        self._created = []

    def __enter__(self) -> DirLock:
        return self.acquire()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
