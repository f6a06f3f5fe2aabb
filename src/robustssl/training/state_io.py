"""Lightning's training state (weights, optimizer slots, loop counters, callback states) as one
safetensors file: every tensor a safetensors entry, everything else JSON in its header. Loading
never unpickles anything. :class:`SafetensorsCheckpointIO` plugs this into a Trainer, so
``trainer.save_checkpoint`` / ``fit(ckpt_path=…)`` resume a run exactly (same loops, optimizer
and callback state as an uninterrupted run) without ``torch.load``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from lightning.fabric.plugins import CheckpointIO

from robustssl.utils.checkpoint import load_weights, load_weights_metadata, save_weights

_TENSOR, _ITEMS, _TUPLE = "__tensor__", "__items__", "__tuple__"


def encode_tree(tree: Any) -> tuple[dict[str, torch.Tensor], Any]:
    """(tensors by name, a JSON-able tree with ``{"__tensor__": name}`` in their places). Dicts
    with non-string keys (optimizer slots by parameter index) keep their keys' types."""
    tensors: dict[str, torch.Tensor] = {}

    def walk(node: Any) -> Any:
        if isinstance(node, torch.Tensor):
            name = str(len(tensors))
            tensors[name] = node
            return {_TENSOR: name}
        if isinstance(node, dict):
            if all(isinstance(k, str) for k in node):
                return {k: walk(v) for k, v in node.items()}
            return {_ITEMS: [[k, walk(v)] for k, v in node.items()]}
        if isinstance(node, tuple):
            return {_TUPLE: [walk(v) for v in node]}
        if isinstance(node, list):
            return [walk(v) for v in node]
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        raise TypeError(f"cannot store a {type(node).__name__} in a safetensors checkpoint")

    return tensors, walk(tree)


def decode_tree(tensors: dict[str, torch.Tensor], tree: Any) -> Any:
    """The inverse of :func:`encode_tree`."""

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            if set(node) == {_TENSOR}:
                return tensors[node[_TENSOR]]
            if set(node) == {_ITEMS}:
                return {k: walk(v) for k, v in node[_ITEMS]}
            if set(node) == {_TUPLE}:
                return tuple(walk(v) for v in node[_TUPLE])
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return walk(tree)


def save_tree(tree: dict[str, Any], path: Path) -> None:
    """``tree`` to ``path`` atomically (tensors copied to the CPU); its top-level non-tensor
    entries read back directly from the header with ``load_weights_metadata``."""
    tensors, meta = encode_tree(tree)
    save_weights(tensors, Path(path), meta)


def load_tree(path: Path) -> dict[str, Any]:
    """The tree :func:`save_tree` wrote (tensors on the CPU); a ValueError when ``path`` is not
    a readable safetensors file or holds no tree."""
    meta = load_weights_metadata(Path(path))
    if not isinstance(meta, dict):
        raise ValueError(f"{path} holds no training state")
    tree = decode_tree(load_weights(Path(path), "cpu"), meta)
    assert isinstance(tree, dict)
    return tree


class SafetensorsCheckpointIO(CheckpointIO):
    """Lightning checkpoints as :func:`save_tree` files (written by global rank 0 only)."""

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: Any, storage_options: Any | None = None
    ) -> None:
        save_tree(checkpoint, Path(path))

    def load_checkpoint(
        self, path: Any, map_location: Any | None = None, weights_only: bool | None = None
    ) -> dict[str, Any]:
        return load_tree(Path(path))

    def remove_checkpoint(self, path: Any) -> None:
        Path(path).unlink(missing_ok=True)
