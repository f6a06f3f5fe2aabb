"""Atomic writes: a file is written next to its target as ``<name>.tmp`` and renamed over it, so
a crash, a kill or a full disk never leaves a half-written file under the real name.

When the write fails the temporary file is removed. A full disk (``ENOSPC``, a quota, a file-size
limit) becomes a :class:`DiskFullError` naming the file, the free space and the fix.

The file gets the permissions of any newly created file, ``0666 & ~umask`` (0644 under the usual
umask 022, group-readable under 002), whatever the writer used for its temporary file (the
safetensors library creates 0600 files).
"""

from __future__ import annotations

import errno
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from robustssl.runs.layout import TMP_SUFFIX

DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


class DiskFullError(OSError):
    """A write failed for lack of space; the message names the file, the free space and the
    fix. Files written before are intact."""

    def __str__(self) -> str:  # the message alone, without OSError's "[Errno 28] "
        return str(self.strerror)


def is_disk_full(err: BaseException) -> bool:
    """True for an OSError (or sqlite3 error) that says the disk or a quota is full."""
    if isinstance(err, OSError) and err.errno in DISK_FULL_ERRNOS:
        return True
    text = str(err).lower()
    return "disk is full" in text or "no space left" in text


def _free(path: Path) -> str:
    for candidate in (path, *path.parents):
        try:
            free = shutil.disk_usage(candidate).free
        except OSError:
            continue
        return f"{free / 2**20:.1f} MiB free"
    return "free space unknown"


def disk_full_error(path: str | Path, err: BaseException) -> DiskFullError:
    """The :class:`DiskFullError` for a failed write of ``path``."""
    path = Path(path)
    return DiskFullError(
        errno.ENOSPC,
        f"no space left on the disk holding {path} ({_free(path.parent)}; {err}): "
        f"{path.name} was not written and the file it would replace is intact; free some space "
        "(or move the directory to a larger disk) and run the same command again",
    )


def current_umask() -> int:
    """The process's umask, read without changing it where the OS tells (Linux:
    ``/proc/self/status``), else by setting it and setting it back."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def new_file_mode() -> int:
    """The mode a newly created file gets: ``0666 & ~umask``."""
    return 0o666 & ~current_umask()


def temp_path(path: Path) -> Path:
    """``<path>.tmp``: where :func:`atomic_path` writes before the rename."""
    return path.with_name(path.name + TMP_SUFFIX)


def _unlink(path: Path) -> None:
    with suppress(FileNotFoundError):
        path.unlink()


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield the temporary path to write ``path`` through; on success it is renamed over
    ``path``, on any error (or interrupt) it is removed. A full disk raises
    :class:`DiskFullError`."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise (disk_full_error(path, err) if is_disk_full(err) else err) from None
    tmp = temp_path(path)
    try:
        yield tmp
        if os.name == "posix":
            os.chmod(tmp, new_file_mode())  # the umask, not the writer's (safetensors: 0600)
        os.replace(tmp, path)
    except BaseException as err:
        _unlink(tmp)
        if isinstance(err, OSError) and is_disk_full(err) and not isinstance(err, DiskFullError):
            raise disk_full_error(path, err) from None
        raise


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (see the module docstring)."""
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    atomic_write_bytes(path, text.encode("utf-8"))


def remove_temp_files(root: str | Path) -> list[Path]:
    """Delete every ``*.tmp`` file under ``root`` (left by a write that a full disk or a kill
    interrupted); returns what was removed."""
    root = Path(root)
    if not root.is_dir():
        return []
    removed = []
    for tmp in root.rglob(f"*{TMP_SUFFIX}"):
        if tmp.is_file():
            _unlink(tmp)
            removed.append(tmp)
    return removed
