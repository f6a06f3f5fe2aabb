"""Your own model from ``pkg.module:factory`` + a ``.safetensors`` state dict (issue 18):
what ``robustssl evaluate --model ... --weights ...`` evaluates.

The factory is any importable callable taking no arguments and returning an ``nn.Module`` that
maps images in [0, 1] to logits (normalisation inside the model). The weights are read with
safetensors (never unpickled) and loaded strictly: a missing, unexpected or mis-shaped key is an
error naming the keys.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from torch import nn

from robustssl.models.checkpoint import load_state_strict
from robustssl.utils.checkpoint import load_weights, non_finite_keys

FORM = "pkg.module:factory"


@contextmanager
def _searching(directory: str | Path | None) -> Iterator[None]:
    """``directory`` appended to ``sys.path`` (after everything else) for the block's duration."""
    entry = str(Path(directory).resolve()) if directory is not None else None
    added = entry is not None and entry not in sys.path
    if entry is not None and added:
        sys.path.append(entry)
    try:
        yield
    finally:
        if entry is not None and added and entry in sys.path:
            sys.path.remove(entry)


def import_factory(spec: str, search: str | Path | None = ".") -> Callable[[], nn.Module]:
    """The callable ``spec`` (``pkg.module:factory``, ``factory`` may be dotted) names;
    ``search`` (default: the working directory) is tried after ``sys.path`` for the module.
    A ValueError names what could not be found or imported."""
    module_name, colon, attr = spec.partition(":")
    if not colon or not module_name or not attr:
        raise ValueError(f"--model {spec!r}: expected the form {FORM} (e.g. mypkg.models:build)")
    with _searching(search):
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as err:
            raise ValueError(
                f"--model {spec!r}: cannot import module {module_name!r} ({err}); run from the "
                "directory holding it or add its directory to PYTHONPATH"
            ) from None
        except Exception as err:  # the user's module fails on import: bad input, no traceback
            raise ValueError(
                f"--model {spec!r}: importing {module_name!r} failed: {type(err).__name__}: {err}"
            ) from err
    target: object = module
    for part in attr.split("."):
        if not hasattr(target, part):
            raise ValueError(f"--model {spec!r}: module {module_name!r} has no {attr!r}")
        target = getattr(target, part)
    if not callable(target):
        raise ValueError(
            f"--model {spec!r}: {attr!r} is not callable (a function returning an nn.Module)"
        )
    return target


def model_from_factory(
    spec: str, weights: str | Path, search: str | Path | None = "."
) -> nn.Module:
    """``factory()`` with the state dict of ``weights`` (.safetensors) strictly loaded, in eval
    mode on the CPU (``search`` as for :func:`import_factory`, also while the factory runs)."""
    with _searching(search):
        factory = import_factory(spec, None)
        try:
            model = factory()
        except Exception as err:  # the user's code: report it as bad input, not a traceback
            raise ValueError(
                f"--model {spec!r}: calling it failed: {type(err).__name__}: {err}"
            ) from err
    if not isinstance(model, nn.Module):
        raise ValueError(f"--model {spec!r} returned {type(model).__name__}, not a torch.nn.Module")
    path = Path(weights)
    state = load_weights(path, "cpu")
    if bad := non_finite_keys(state):
        raise ValueError(
            f"{path} holds NaN or infinite weights ({', '.join(bad[:3])}): the training run "
            "diverged or the file is damaged"
        )
    load_state_strict(model, state, f"{path} (weights for {spec})")
    return model.eval()
