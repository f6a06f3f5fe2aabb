"""YAML configs with ``key.sub=value`` overrides, validated by pydantic before any compute."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

M = TypeVar("M", bound=BaseModel)


class ConfigError(ValueError):
    """A config file, override or value is wrong; the message names the key and the fix."""


class StrictConfig(BaseModel):
    """The base of every config section: an unknown key is an error (it names the allowed keys,
    see :func:`format_validation_error`), never silently ignored."""

    model_config = ConfigDict(extra="forbid")


def parse_fraction(value: Any) -> Any:
    """Accept ``"8/255"`` style fractions as well as numbers (YAML reads 8/255 as a string)."""
    if isinstance(value, str) and "/" in value:
        num, _, den = value.partition("/")
        try:
            return float(num) / float(den)
        except (ValueError, ZeroDivisionError):
            raise ValueError(f"cannot read {value!r} as a number or a fraction (8/255)") from None
    return value


def parse_override(item: str, where: str = "override") -> tuple[str, Any]:
    """``"key=value"`` → (key, value parsed as YAML); errors name the key and the fix. An empty
    value is refused (``key=null`` unsets a key): ``data.root=`` is usually a shell variable
    that was not set, and would silently mean "the default"."""
    key, sep, value = str(item).partition("=")
    if not sep or not key:
        raise ConfigError(f"{where} {item!r} is not of the form key=value (e.g. optim.lr=0.01)")
    if not value.strip():
        raise ConfigError(
            f"{where} {item!r} gives {key} no value; write {key}=null to unset it (the default), "
            f"or give a value (an empty shell variable leaves {key}= like this)"
        )
    try:
        parsed = yaml.safe_load(value)
    except yaml.YAMLError as err:
        problem = str(err).splitlines()[0]
        raise ConfigError(
            f"{where} {item!r}: the value of {key} is not valid YAML ({problem}); close brackets "
            "and quotes, e.g. optim.milestones=[30,60] or name='a b' (quote it for the shell)"
        ) from None
    return key, parsed


def apply_overrides(raw: dict[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """Set dotted keys from ``key=value`` strings; values parse as YAML (``0.1``, ``[1,2]``)."""
    for item in overrides:
        key, parsed = parse_override(item)
        node = raw
        parts = key.split(".")
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"override {item!r}: {part!r} is a value, not a section")
            node = child
        node[parts[-1]] = parsed
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


def check_config_file(path: Path, what: str = "config file") -> Path:
    """``path`` if it is a readable file; else a ConfigError saying what it is instead."""
    path = Path(path)
    if path.is_dir():
        raise ConfigError(
            f"{what} {path} is a directory; pass a YAML file (e.g. one of the .yaml files in it)"
        )
    if not path.is_file():
        raise ConfigError(f"{what} {path} does not exist")
    return path


def read_yaml(path: Path, where: str = "") -> dict[str, Any]:
    """The YAML mapping in ``path``; errors name the file (prefixed by ``where``). An empty file
    (or one of comments only) is refused: it would silently mean "every default"."""
    head = f"{where}: " if where else ""
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise ConfigError(f"{head}{path} is not valid YAML: {err}") from None
    except UnicodeDecodeError as err:
        raise ConfigError(f"{head}{path} is not a text (YAML) file: {err}") from None
    except IsADirectoryError:
        raise ConfigError(f"{head}{path} is a directory; pass a YAML file") from None
    if raw is None:
        raise ConfigError(
            f"{head}{path} is empty (no keys); a config file must set at least one key. To use "
            "every default, give no config file; to start from an example, copy one from configs/"
        )
    if not isinstance(raw, dict):
        raise ConfigError(f"{head}{path} must hold a mapping of keys, got {type(raw).__name__}")
    return raw


def load_config(path: str | Path | None, model: type[M], overrides: Sequence[str] = ()) -> M:
    """Read YAML ``path`` (or start from defaults when None) with its ``defaults:`` includes,
    apply overrides, validate. ``path`` may name a shipped config (``fashion_mnist/simclr``); both:
    see :mod:`robustssl.utils.config_files`."""
    raw: dict[str, Any] = {}
    if path is not None:
        from robustssl.utils.config_files import find_config, read_config_file

        raw = read_config_file(find_config(path))
    return validate_config(apply_overrides(raw, overrides), model)
