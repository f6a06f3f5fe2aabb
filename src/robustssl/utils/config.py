"""YAML configs with ``key.sub=value`` overrides, validated by pydantic before any compute."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


class ConfigError(ValueError):
    """A config file, override or value is wrong; the message names the key and the fix."""


def apply_overrides(raw: dict[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """Set dotted keys from ``key=value`` strings; values parse as YAML (``0.1``, ``[1,2]``)."""
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(
                f"override {item!r} is not of the form key=value (e.g. optim.lr=0.01)"
            )
        node = raw
        parts = key.split(".")
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"override {item!r}: {part!r} is a value, not a section")
            node = child
        node[parts[-1]] = yaml.safe_load(value)
    return raw


def format_validation_error(err: ValidationError, model: type[BaseModel]) -> str:
    lines = [f"invalid {model.__name__}:"]
    for e in err.errors():
        key = ".".join(str(p) for p in e["loc"])
        msg = e["msg"]
        if e["type"] == "extra_forbidden":
            msg = f"unknown key; allowed keys here: {', '.join(_allowed_keys(model, e['loc']))}"
        lines.append(f"  {key}: {msg}")
    return "\n".join(lines)


def _allowed_keys(model: type[BaseModel], loc: tuple) -> list[str]:
    node: Any = model
    for part in loc[:-1]:
        node = _descend(node, part)
    models = _models_in(node)
    return sorted(models[0].model_fields) if models else []


def _descend(node: Any, part: Any) -> Any:
    """The annotation under ``part``: a field of a model in ``node``, or a tagged-union member."""
    models = _models_in(node)
    for m in models:
        if part in m.model_fields:
            return m.model_fields[part].annotation
    for m in models:
        tag = m.model_fields.get("name")
        if tag is not None and tag.default == part:
            return m
    return None


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """Pydantic models inside an annotation (unions, Optional, Annotated), in order, no repeats."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    candidates = list(getattr(annotation, "__args__", None) or ())
    origin = getattr(annotation, "__origin__", None)
    if origin is not None:
        candidates.append(origin)
    found = [m for c in candidates for m in _models_in(c)]
    return list(dict.fromkeys(found))


def validate_config(raw: dict[str, Any], model: type[M]) -> M:
    try:
        return model.model_validate(raw)
    except ValidationError as err:
        raise ConfigError(format_validation_error(err, model)) from None


def read_yaml(path: Path, where: str = "") -> dict[str, Any]:
    """The YAML mapping in ``path``; errors name the file (prefixed by ``where``)."""
    head = f"{where}: " if where else ""
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"{head}{path} is not valid YAML: {err}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{head}{path} must hold a mapping of keys, got {type(raw).__name__}")
    return raw


def load_config(
    path: str | Path | None, model: type[M], overrides: Sequence[str] = ()
) -> M:
    """Read YAML ``path`` (or start from defaults when None), apply overrides, validate.
    ``path`` may name a shipped config (``fashion_mnist/simclr``), see ``config_files``."""
    raw: dict[str, Any] = {}
    if path is not None:
        from robustssl.utils.config_files import find_config

        raw = read_yaml(find_config(path))
    return validate_config(apply_overrides(raw, overrides), model)
