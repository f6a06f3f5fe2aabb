"""Stopping: Ctrl-C (SIGINT) and ``kill PID`` (SIGTERM) end every command the same way — an
exception that unwinds it (files are written atomically, locks released, the study's store told),
then exit status 128 + signal (130, 143) and the line saying how to resume.

:func:`die_with_parent` makes a worker process end with the process that started it, even when
that one is killed with ``kill -9`` (Linux: the kernel's parent-death signal; everywhere: a
watchdog thread polling the parent's pid).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


class Terminated(KeyboardInterrupt):
    """SIGTERM (``kill PID``), raised like Ctrl-C's KeyboardInterrupt."""

    signum = signal.SIGTERM


def exit_status(interrupt: BaseException) -> int:
    """128 + the signal: 130 for Ctrl-C, 143 for ``kill``."""
    return 128 + int(getattr(interrupt, "signum", signal.SIGINT))


def signal_name(interrupt: BaseException) -> str:
    return "SIGTERM (kill)" if isinstance(interrupt, Terminated) else "SIGINT (Ctrl-C)"


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    raise Terminated()


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def raise_on_sigterm() -> None:
    """From now on SIGTERM raises :class:`Terminated` in the main thread (no-op elsewhere)."""
    if _in_main_thread():
        signal.signal(signal.SIGTERM, _raise_terminated)


@contextmanager
def signal_handlers_kept() -> Iterator[None]:
    """Restore SIGINT and SIGTERM handlers afterwards: Lightning ignores SIGINT while it shuts
    down after a Ctrl-C and would leave it ignored."""
    if not _in_main_thread():
        yield
        return
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in saved.items():
            if handler is not None and signal.getsignal(signum) != handler:
                signal.signal(signum, handler)


def _set_parent_death_signal(signum: int) -> bool:
    """Linux's PR_SET_PDEATHSIG: the kernel sends ``signum`` when the parent ends."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, int(signum), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _watchdog(parent_pid: int, poll_seconds: float, grace_seconds: float) -> None:
    while os.getppid() == parent_pid:
        time.sleep(poll_seconds)
    os.kill(os.getpid(), signal.SIGTERM)  # unwinds like `kill PID`...
    time.sleep(grace_seconds)
    os._exit(128 + signal.SIGKILL)  # ...or ends the process if that did not


def die_with_parent(
    parent_pid: int, poll_seconds: float = 1.0, grace_seconds: float = 10.0
) -> None:
    """End this process (SIGTERM, then a hard exit after ``grace_seconds``) when process
    ``parent_pid`` ends. Call first thing in a worker; exits at once if the parent is gone."""
    raise_on_sigterm()
    _set_parent_death_signal(signal.SIGTERM)
    if os.getppid() != parent_pid:  # the parent died before the signal was armed
        os._exit(128 + signal.SIGTERM)
    thread = threading.Thread(
        target=_watchdog,
        args=(parent_pid, poll_seconds, grace_seconds),
        name="robustssl-parent-watchdog",
        daemon=True,
    )
    thread.start()
