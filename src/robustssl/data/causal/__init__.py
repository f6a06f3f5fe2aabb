"""Causal3DIdent (seed 000 §7): the published-layout loader, the spotlight-angle task with its δ*
and a procedural 2-D generator with the same interface (the R² latent readouts, eq. 23–26, are
analysis: :mod:`robustssl.evaluation.causal_readout`)."""

from robustssl.data.causal.generate import (
    SHAPES,
    generate_scenes,
    render_scenes,
    render_units,
    sample_latents,
    write_causal3dident,
)
from robustssl.data.causal.layout import (
    LATENT_NAMES,
    OBJECT_CLASSES,
    SPOTLIGHT_COLUMN,
    CausalData,
    load_causal3dident,
)
from robustssl.data.causal.task import (
    SPOTLIGHT_TASK,
    IntervalTask,
    relabel,
    spotlight_angle,
    spotlight_dataset,
)

__all__ = [
    "LATENT_NAMES",
    "OBJECT_CLASSES",
    "SHAPES",
    "SPOTLIGHT_COLUMN",
    "SPOTLIGHT_TASK",
    "CausalData",
    "IntervalTask",
    "generate_scenes",
    "load_causal3dident",
    "relabel",
    "render_scenes",
    "render_units",
    "sample_latents",
    "spotlight_angle",
    "spotlight_dataset",
    "write_causal3dident",
]
