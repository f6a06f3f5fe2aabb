"""A restricted unpickler that can rebuild numpy arrays and nothing else.

Project rule: never unpickle untrusted files. CIFAR's python batches are pickles, so they are read
with an allowlist of the globals numpy array reconstruction needs; any other global (``os.system``,
``builtins.eval``, ...) raises :class:`UnsafePickleError` before anything is called.
"""

from __future__ import annotations

import importlib
import pickle
from pathlib import Path
from typing import Any

from robustssl.data.errors import CorruptDatasetError, UnsafePickleError

ALLOWED_GLOBALS: frozenset[tuple[str, str]] = frozenset(
    {
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy.core.numeric", "_frombuffer"),
        ("numpy._core.numeric", "_frombuffer"),
        ("_codecs", "encode"),
    }
)


def _import_global(module: str, name: str) -> Any:
    """Resolve an allowed global, mapping numpy.core ↔ numpy._core across numpy versions."""
    alternatives = [module]
    if module.startswith("numpy.core."):
        alternatives.insert(0, "numpy._core." + module.removeprefix("numpy.core."))
    elif module.startswith("numpy._core."):
        alternatives.append("numpy.core." + module.removeprefix("numpy._core."))
    for candidate in alternatives:
        try:
            return getattr(importlib.import_module(candidate), name)
        except (ImportError, AttributeError):
            continue
    raise pickle.UnpicklingError(f"cannot import {module}.{name}")


class RestrictedUnpickler(pickle.Unpickler):
    """``pickle.Unpickler`` whose ``find_class`` only allows :data:`ALLOWED_GLOBALS`."""

    def __init__(self, file: Any, path: Path) -> None:
        super().__init__(file, encoding="latin1")
        self.path = path

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in ALLOWED_GLOBALS:
            raise UnsafePickleError(
                self.path,
                f"disallowed pickle global {module}.{name} (only numpy array reconstruction is "
                "allowed; nothing from the file was executed)",
            )
        return _import_global(module, name)


def load_numpy_pickle(path: str | Path) -> Any:
    """Unpickle ``path`` with :class:`RestrictedUnpickler`; broken files → CorruptDatasetError."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            return RestrictedUnpickler(fh, path).load()
    except UnsafePickleError:
        raise
    except (
        pickle.UnpicklingError,
        EOFError,
        ValueError,
        TypeError,
        KeyError,
        IndexError,
        AttributeError,
        MemoryError,
    ) as exc:
        raise CorruptDatasetError(
            path, f"not a readable pickle ({type(exc).__name__}: {exc})"
        ) from exc
