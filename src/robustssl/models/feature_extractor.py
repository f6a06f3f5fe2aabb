"""Named intermediate activations via forward hooks (seed 002 §5.2: the "Feature Extractor" that
reads any node of the network, used there for t-SNE of layers, §5.3–5.4)."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from types import TracebackType
from typing import Any

import torch
from torch import nn
from torch.utils.hooks import RemovableHandle

OUTPUT_KEY = "output"


def available_layers(model: nn.Module) -> list[str]:
    """Dotted names of every submodule of ``model`` (what :class:`FeatureExtractor` accepts)."""
    return [name for name, _ in model.named_modules() if name]


def _unknown_layer_error(name: str, names: list[str]) -> ValueError:
    close = difflib.get_close_matches(name, names, n=5, cutoff=0.6)
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    return ValueError(
        f"model has no submodule {name!r}{hint} (list all names with "
        "robustssl.models.available_layers(model))"
    )


class FeatureExtractor(nn.Module):
    """Run ``model`` and return ``{layer name: that submodule's output}`` for the given layers.

    Hooks only read outputs, so the model's output and gradients are unchanged; captured
    tensors stay in the autograd graph unless ``detach=True``. With ``include_output=True``
    the model's own output is added under ``"output"``. Remove the hooks with :meth:`close`
    or use the extractor as a context manager. Each named submodule must run once per forward.
    """

    def __init__(
        self,
        model: nn.Module,
        layers: Sequence[str],
        include_output: bool = False,
        detach: bool = False,
    ) -> None:
        super().__init__()
        if isinstance(layers, str):
            raise ValueError(
                f"layers must be a sequence of names, got the string {layers!r}; "
                f"use layers=[{layers!r}]"
            )
        names = available_layers(model)
        modules = dict(model.named_modules())
        for name in layers:
            if name not in modules or not name:
                raise _unknown_layer_error(name, names)
        if len(set(layers)) != len(layers):
            raise ValueError(f"layers contains duplicates: {list(layers)}")
        if include_output and OUTPUT_KEY in layers:
            raise ValueError(
                f"layer name {OUTPUT_KEY!r} clashes with include_output=True; "
                "set include_output=False and request the layer by name"
            )
        self.model = model
        self.layers: tuple[str, ...] = tuple(layers)
        self.include_output = include_output
        self.detach = detach
        self._captured: dict[str, list[torch.Tensor]] = {}
        self._versions: dict[str, int] = {}
        self._handles: list[RemovableHandle] = [
            modules[name].register_forward_hook(self._make_hook(name)) for name in self.layers
        ]

    def _make_hook(self, name: str) -> Any:
        def hook(_module: nn.Module, _inputs: Any, output: Any) -> None:
            self._captured.setdefault(name, []).append(output)
            if isinstance(output, torch.Tensor):
                self._versions[name] = output._version

        return hook

    @property
    def closed(self) -> bool:
        """True once the hooks were removed."""
        return not self._handles

    def close(self) -> None:
        """Remove all hooks from the model (idempotent)."""
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def __enter__(self) -> FeatureExtractor:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def forward(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        if self.closed:
            raise RuntimeError("FeatureExtractor is closed; build a new one to extract again")
        self._captured, self._versions = {}, {}
        try:
            output = self.model(*args, **kwargs)
            features = {name: self._collect(name) for name in self.layers}
        finally:
            self._captured, self._versions = {}, {}
        if self.include_output:
            features[OUTPUT_KEY] = output.detach() if self.detach else output
        return features

    def _collect(self, name: str) -> Any:
        outs = self._captured.get(name, [])
        if len(outs) != 1:
            raise RuntimeError(
                f"submodule {name!r} ran {len(outs)} times in one forward; pick a submodule "
                "that runs exactly once (shared modules such as a reused ReLU run several times)"
            )
        out = outs[0]
        if isinstance(out, torch.Tensor):
            if out._version != self._versions[name]:
                raise RuntimeError(
                    f"the output of {name!r} was modified in place later in the forward (e.g. "
                    "by ReLU(inplace=True)); extract the next layer instead or disable inplace"
                )
            return out.detach() if self.detach else out
        return out
