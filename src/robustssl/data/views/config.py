"""Typed, validated configuration of the view pipelines (embedded in experiment YAML): the SimCLR
family (the default) and the robustness-library family (``family: robustness``)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Discriminator, Field, Tag, field_validator

from robustssl.utils.config import StrictConfig


class SimCLRViewConfig(StrictConfig):
    """SimCLR augmentation settings; defaults are the CIFAR setting (seed 002 §5.2, seed 004).

    Colour strengths 0.4/0.4/0.4/0.1 are Chen et al.'s colour strength s = 0.5
    (brightness = contrast = saturation = 0.8·s, hue = 0.2·s). Blur is off by default as in the
    CIFAR setting of Chen et al.; seed 002 §5.2 turns it on (``blur_p=0.5``).
    ``size=None`` keeps the input size.
    """

    model_config = ConfigDict(frozen=True)  # and extra="forbid" (StrictConfig)

    size: int | None = Field(default=None, gt=0)
    crop_scale: tuple[float, float] = (0.08, 1.0)
    crop_ratio: tuple[float, float] = (3 / 4, 4 / 3)
    hflip_p: float = Field(default=0.5, ge=0.0, le=1.0)
    brightness: float = Field(default=0.4, ge=0.0)
    contrast: float = Field(default=0.4, ge=0.0)
    saturation: float = Field(default=0.4, ge=0.0)
    hue: float = Field(default=0.1, ge=0.0, le=0.5)
    jitter_p: float = Field(default=0.8, ge=0.0, le=1.0)
    grayscale_p: float = Field(default=0.2, ge=0.0, le=1.0)
    blur_p: float = Field(default=0.0, ge=0.0, le=1.0)
    blur_sigma: tuple[float, float] = (0.1, 2.0)
    blur_kernel_size: int | None = Field(default=None, gt=0)

    @classmethod
    def with_strength(cls, strength: float, **overrides: Any) -> SimCLRViewConfig:
        """Config with Chen et al.'s colour strength ``s`` (0.8·s, 0.8·s, 0.8·s, 0.2·s)."""
        colour = {
            "brightness": 0.8 * strength,
            "contrast": 0.8 * strength,
            "saturation": 0.8 * strength,
            "hue": 0.2 * strength,
        }
        return cls(**{**colour, **overrides})

    @field_validator("crop_scale")
    @classmethod
    def _scale_ordered(cls, v: tuple[float, float]) -> tuple[float, float]:
        if not 0.0 < v[0] <= v[1] <= 1.0:
            raise ValueError(f"crop_scale={v} must satisfy 0 < lo <= hi <= 1, e.g. (0.08, 1.0)")
        return v

    @field_validator("crop_ratio")
    @classmethod
    def _ratio_ordered(cls, v: tuple[float, float]) -> tuple[float, float]:
        if not 0.0 < v[0] <= v[1]:
            raise ValueError(f"crop_ratio={v} must satisfy 0 < lo <= hi, e.g. (0.75, 1.3333)")
        return v

    @field_validator("blur_sigma")
    @classmethod
    def _sigma_ordered(cls, v: tuple[float, float]) -> tuple[float, float]:
        if not 0.0 < v[0] <= v[1]:
            raise ValueError(f"blur_sigma={v} must satisfy 0 < lo <= hi, e.g. (0.1, 2.0)")
        return v

    @field_validator("blur_kernel_size")
    @classmethod
    def _kernel_odd(cls, v: int | None) -> int | None:
        if v is not None and v % 2 == 0:
            raise ValueError(f"blur_kernel_size={v} must be odd (e.g. {v + 1}) or None for ~10 %")
        return v


class RobustnessViewConfig(StrictConfig):
    """The CIFAR training augmentation of the MadryLab robustness library (its
    ``data_augmentation.py``, which seed 003 builds on): RandomCrop(size, padding=4) →
    RandomHorizontalFlip → ColorJitter(0.25, 0.25, 0.25) → RandomRotation(2°), every sample with its
    own draws. ``family: robustness`` selects it wherever a ``views`` section is accepted."""

    model_config = ConfigDict(frozen=True)  # and extra="forbid" (StrictConfig)

    family: Literal["robustness"]
    padding: int = Field(default=4, ge=0)
    hflip_p: float = Field(default=0.5, ge=0.0, le=1.0)
    brightness: float = Field(default=0.25, ge=0.0)
    contrast: float = Field(default=0.25, ge=0.0)
    saturation: float = Field(default=0.25, ge=0.0)
    hue: float = Field(default=0.0, ge=0.0, le=0.5)
    degrees: float = Field(default=2.0, ge=0.0, le=180.0)


def _family(value: Any) -> str:
    """``robustness`` when the section says so, else the SimCLR family (whose configs predate the
    ``family`` key and do not carry it)."""
    family = value.get("family") if isinstance(value, dict) else getattr(value, "family", None)
    return "robustness" if family == "robustness" else "simclr"


ViewConfig = Annotated[
    Annotated[SimCLRViewConfig, Tag("simclr")] | Annotated[RobustnessViewConfig, Tag("robustness")],
    Discriminator(_family),
]
