"""Small helpers shared by every layer (seeding, devices)."""

from robustssl.utils.device import resolve_device
from robustssl.utils.seeding import make_generator, seed_everything

__all__ = ["make_generator", "resolve_device", "seed_everything"]
