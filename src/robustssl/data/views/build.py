"""The view pipeline a ``views`` config section describes (SimCLR or robustness-library family)."""

from __future__ import annotations

from robustssl.data.views.config import RobustnessViewConfig, SimCLRViewConfig
from robustssl.data.views.robustness import RobustnessViews
from robustssl.data.views.simclr import SimCLRViews

Views = SimCLRViews | RobustnessViews


def build_views(config: SimCLRViewConfig | RobustnessViewConfig) -> Views:
    """SimCLRViews for a SimCLR config, RobustnessViews for ``family: robustness``."""
    if isinstance(config, RobustnessViewConfig):
        return RobustnessViews(config)
    return SimCLRViews(config)
