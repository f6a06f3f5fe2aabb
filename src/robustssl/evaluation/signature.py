"""(input channels, number of classes) of a classifier, read from its modules."""

from __future__ import annotations

from torch import nn


def model_signature(model: nn.Module) -> tuple[int | None, int | None]:
    """(input channels, number of classes) read from the modules, without a forward pass."""
    encoder = getattr(model, "encoder", None)
    channels = getattr(encoder, "in_channels", None)
    head = getattr(model, "head", None)
    classes = getattr(head, "out_dim", None)
    if classes is None:
        linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
        classes = linears[-1].out_features if linears else None
    return (
        channels if isinstance(channels, int) else None,
        classes if isinstance(classes, int) else None,
    )
