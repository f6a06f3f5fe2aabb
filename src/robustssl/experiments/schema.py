"""JSON schemas of the config files (pydantic's), for editor completion and checking: point the
YAML language server at one (``# yaml-language-server: $schema=pretrain.schema.json``) or map it
in the editor's settings. ``robustssl config schema KIND [--out FILE]`` writes one."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from robustssl.runs.compare import CONFIG_KINDS
from robustssl.utils.config_files import INCLUDE_KEY


def _model(kind: str) -> type[BaseModel]:
    if kind == "pretrain":
        from robustssl.methods.config import PretrainConfig

        return PretrainConfig
    if kind == "finetune":
        from robustssl.finetune.config import FinetuneConfig

        return FinetuneConfig
    if kind == "evaluate":
        from robustssl.evaluation.config import EvaluateConfig

        return EvaluateConfig
    if kind == "experiment":
        from robustssl.experiments.spec import ExperimentConfig

        return ExperimentConfig
    raise ValueError(f"unknown config kind {kind!r}; one of {', '.join(CONFIG_KINDS)}")


def config_schema(kind: str) -> dict[str, Any]:
    """The JSON schema of a ``kind`` config file. Stage configs (pretrain / finetune / evaluate)
    also allow the top-level ``defaults`` list of included files (robustssl.utils.config_files);
    in an experiment file ``defaults`` is its own per-kind section."""
    schema = _model(kind).model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    if kind != "experiment":
        schema.setdefault("properties", {})[INCLUDE_KEY] = {
            "type": "array",
            "items": {"type": "string"},
            "title": "Defaults",
            "description": "config files merged under this one, in order (paths relative to "
            "this file; .yaml optional); this file's own keys win",
        }
    return schema
