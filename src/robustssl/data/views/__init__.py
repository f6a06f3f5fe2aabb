"""Batched view pipelines that run on the training device (SimCLR, the robustness library's
training augmentation, rotation, jigsaw, frequency).

Every op takes a float batch (B, C, H, W) in [0, 1] and, when random, a ``torch.Generator``;
random parameters are drawn on the CPU (one draw per sample) and then moved to the data's device.
"""

from robustssl.data.views.blur import blur_with_sigma, default_kernel_size, gaussian_blur
from robustssl.data.views.build import Views, build_views
from robustssl.data.views.color import (
    adjust_brightness,
    adjust_contrast,
    adjust_saturation,
    rgb_to_grayscale,
)
from robustssl.data.views.config import RobustnessViewConfig, SimCLRViewConfig, ViewConfig
from robustssl.data.views.crop import random_resized_crop, resized_crop, sample_crop_boxes
from robustssl.data.views.flip import horizontal_flip
from robustssl.data.views.frequency import (
    frequency_split,
    high_frequency,
    low_frequency,
    low_pass_mask,
)
from robustssl.data.views.grayscale import random_grayscale
from robustssl.data.views.hsv import adjust_hue, hsv_to_rgb, rgb_to_hsv
from robustssl.data.views.jigsaw import JigsawPuzzle, select_permutations
from robustssl.data.views.jitter import (
    JitterParams,
    apply_color_jitter_,
    color_jitter,
    sample_jitter_params,
)
from robustssl.data.views.robustness import RobustnessParams, RobustnessViews, rotate_nearest
from robustssl.data.views.rotation import all_rotations, random_rotation, rotate
from robustssl.data.views.schedule import DYNACL_BASE_VIEWS, dynacl_strength, dynacl_views
from robustssl.data.views.simclr import SimCLRParams, SimCLRViews

__all__ = [
    "DYNACL_BASE_VIEWS",
    "JigsawPuzzle",
    "JitterParams",
    "RobustnessParams",
    "RobustnessViewConfig",
    "RobustnessViews",
    "SimCLRParams",
    "SimCLRViewConfig",
    "SimCLRViews",
    "ViewConfig",
    "Views",
    "adjust_brightness",
    "adjust_contrast",
    "adjust_hue",
    "adjust_saturation",
    "all_rotations",
    "apply_color_jitter_",
    "blur_with_sigma",
    "build_views",
    "color_jitter",
    "default_kernel_size",
    "dynacl_strength",
    "dynacl_views",
    "frequency_split",
    "gaussian_blur",
    "high_frequency",
    "horizontal_flip",
    "hsv_to_rgb",
    "low_frequency",
    "low_pass_mask",
    "random_grayscale",
    "random_resized_crop",
    "random_rotation",
    "resized_crop",
    "rgb_to_grayscale",
    "rgb_to_hsv",
    "rotate",
    "rotate_nearest",
    "sample_crop_boxes",
    "sample_jitter_params",
    "select_permutations",
]
