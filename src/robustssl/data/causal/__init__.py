"""Causal3DIdent (seed 000 §7): the published-layout loader, the spotlight-angle task with its δ*,
R² latent readouts (eq. 23–26) and a procedural 2-D generator with the same interface."""

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
from robustssl.data.causal.readout import fit_linear_readout, linear_readout_r2, r2_score
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
    "fit_linear_readout",
    "generate_scenes",
    "linear_readout_r2",
    "load_causal3dident",
    "r2_score",
    "relabel",
    "render_scenes",
    "render_units",
    "sample_latents",
    "spotlight_angle",
    "spotlight_dataset",
    "write_causal3dident",
]
