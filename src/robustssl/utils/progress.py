"""Progress bars: tqdm's when it is installed (extra ``[train]``), else a silent stand-in with the
small part of tqdm's interface robustssl uses, so the core (attacks, evaluation) runs without it.

Import ``tqdm`` from here, not from the tqdm package.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from types import TracebackType
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class SilentBar(Generic[T]):
    """The part of tqdm's interface used here (iterate, update, postfix, close); draws nothing."""

    def __init__(self, iterable: Iterable[T] | None = None, *args: Any, **kwargs: Any) -> None:
        self.iterable = iterable
        self.n = int(kwargs.get("initial", 0))
        self.total = kwargs.get("total")

    def __iter__(self) -> Iterator[T]:
        if self.iterable is None:
            raise TypeError("this bar has no iterable; call update() instead")
        for item in self.iterable:
            yield item
            self.n += 1

    def __len__(self) -> int:
        if self.iterable is None:
            return int(self.total or 0)
        return len(self.iterable)  # type: ignore[arg-type]

    def update(self, n: float = 1) -> None:
        self.n += int(n)

    def set_postfix(self, *args: Any, **kwargs: Any) -> None:
        pass

    def set_postfix_str(self, *args: Any, **kwargs: Any) -> None:
        pass

    def set_description(self, *args: Any, **kwargs: Any) -> None:
        pass

    def refresh(self) -> None:
        pass

    def close(self) -> None:
        pass

    @staticmethod
    def write(text: str, *args: Any, **kwargs: Any) -> None:
        print(text, file=kwargs.get("file"))

    def __enter__(self) -> SilentBar[T]:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


try:
    from tqdm.auto import tqdm
except ModuleNotFoundError:  # the core install has no tqdm
    tqdm = SilentBar

__all__ = ["SilentBar", "tqdm"]
