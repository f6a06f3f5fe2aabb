"""Progress output: tqdm bars in a terminal, a few plain lines everywhere else.

When stdout or stderr is not a terminal (``robustssl run … > log 2>&1``, ``| tee``, CI, a SLURM
job), redrawn bars would fill the file with carriage returns; there :func:`tqdm` gives a
:class:`PlainBar` instead, which writes a start line, a line at each further ~10 % (at most one
every :data:`PLAIN_MIN_SECONDS` seconds) and an end line with the rate, to stderr.
``ROBUSTSSL_PROGRESS=bars|plain`` forces either style. Without tqdm (the core install, extra
``[train]`` brings it) the plain lines are used in a terminal too.

Import ``tqdm`` from here, not from the tqdm package.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable, Iterator
from types import TracebackType
from typing import IO, Any, Generic, TypeVar

T = TypeVar("T")
ENV = "ROBUSTSSL_PROGRESS"
PLAIN_MIN_SECONDS = 5.0  # no two progress lines of one loop closer together than this


def interactive() -> bool:
    """Whether progress is drawn as redrawn bars: both stdout and stderr are terminals (or
    ``ROBUSTSSL_PROGRESS=bars``; ``=plain`` forces plain lines)."""
    forced = os.environ.get(ENV, "").strip().lower()
    if forced in ("bars", "plain"):
        return forced == "bars"
    return all(_isatty(s) for s in (sys.stdout, sys.stderr))


def _isatty(stream: IO[str] | None) -> bool:
    try:
        return stream is not None and stream.isatty()
    except (AttributeError, ValueError):  # a replaced or closed stream
        return False


def format_rate(n: float, seconds: float, unit: str = "it") -> str:
    """``12.3 it/s`` (or ``4.0 s/it`` when slower than one per second)."""
    if n <= 0 or seconds <= 0:
        return f"- {unit}/s"
    rate = n / seconds
    return f"{rate:.3g} {unit}/s" if rate >= 1 else f"{seconds / n:.3g} s/{unit}"


class SilentBar(Generic[T]):
    """The part of tqdm's interface used here (iterate, update, postfix, close); draws nothing."""

    def __init__(self, iterable: Iterable[T] | None = None, *args: Any, **kwargs: Any) -> None:
        self.iterable = iterable
        self.n = int(kwargs.get("initial", 0))
        total = kwargs.get("total")
        if total is None and iterable is not None and hasattr(iterable, "__len__"):
            total = len(iterable)  # type: ignore[arg-type]
        self.total: int | None = None if total is None else int(total)
        self.desc = str(kwargs.get("desc") or "")
        self.unit = str(kwargs.get("unit") or "it")
        self.postfix = ""

    def __iter__(self) -> Iterator[T]:
        if self.iterable is None:
            raise TypeError("this bar has no iterable; call update() instead")
        for item in self.iterable:
            yield item
            self.update(1)
        self.close()

    def __len__(self) -> int:
        return int(self.total or 0)

    def update(self, n: float = 1) -> None:
        self.n += int(n)

    def set_postfix(self, *args: Any, **kwargs: Any) -> None:
        items = dict(*args, **{k: v for k, v in kwargs.items() if k != "refresh"})
        self.postfix = ", ".join(f"{k}={v}" for k, v in items.items())

    def set_postfix_str(self, s: str = "", *args: Any, **kwargs: Any) -> None:
        self.postfix = str(s)

    def set_description(self, desc: str | None = None, *args: Any, **kwargs: Any) -> None:
        self.desc = str(desc or "")

    def refresh(self) -> None:
        pass

    def close(self) -> None:
        pass

    @staticmethod
    def write(text: str, *args: Any, **kwargs: Any) -> None:
        print(text, file=kwargs.get("file") or sys.stderr)

    def __enter__(self) -> SilentBar[T]:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class PlainBar(SilentBar[T]):
    """Progress as plain lines for logs and pipes: ``desc: started (N it)``, then at each further
    ~10 % (throttled) ``desc: 40% 4/10 it, 1.2 it/s``, then ``desc: done 10 it in 8.1 s
    (1.23 it/s)`` — each on its own line, never redrawn. One-step loops still print start and
    end, so a long single batch is visible; ``announce=False`` leaves out the start line."""

    def __init__(self, iterable: Iterable[T] | None = None, *args: Any, **kwargs: Any) -> None:
        super().__init__(iterable, *args, **kwargs)
        self.file: IO[str] = kwargs.get("file") or sys.stderr
        self.min_seconds = float(kwargs.get("min_seconds", PLAIN_MIN_SECONDS))
        self.start = self.last_time = time.perf_counter()
        self.last_tenth = self._tenth()
        self.closed = False
        if kwargs.get("announce", True):
            total = f" ({self.total} {self.unit})" if self.total else ""
            self._line(f"started{total}")

    def _tenth(self) -> int:
        return 10 * self.n // self.total if self.total else 0

    def _line(self, text: str) -> None:
        desc = f"{self.desc}: " if self.desc else ""
        post = f" [{self.postfix}]" if self.postfix else ""
        print(f"{desc}{text}{post}", file=self.file, flush=True)

    def update(self, n: float = 1) -> None:
        super().update(n)
        now, tenth = time.perf_counter(), self._tenth()
        if tenth > self.last_tenth and now - self.last_time >= self.min_seconds and tenth < 10:
            rate = format_rate(self.n, now - self.start, self.unit)
            self._line(f"{10 * tenth}% {self.n}/{self.total} {self.unit}, {rate}")
            self.last_tenth, self.last_time = tenth, now

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        seconds = time.perf_counter() - self.start
        rate = format_rate(self.n, seconds, self.unit)
        self._line(f"done {self.n} {self.unit} in {seconds:.1f} s ({rate})")


try:
    from tqdm.auto import tqdm as _tqdm_bar
except ModuleNotFoundError:  # the core install has no tqdm
    _tqdm_bar = None


def tqdm(iterable: Iterable[T] | None = None, *args: Any, **kwargs: Any) -> Any:
    """A progress bar with tqdm's interface: nothing when ``disable``, a tqdm bar in a terminal,
    a :class:`PlainBar` otherwise (see the module docstring)."""
    if kwargs.get("disable"):
        return SilentBar(iterable, *args, **kwargs)
    if _tqdm_bar is not None and interactive():
        return _tqdm_bar(iterable, *args, **kwargs)
    return PlainBar(iterable, *args, **kwargs)


__all__ = ["PlainBar", "SilentBar", "format_rate", "interactive", "tqdm"]
