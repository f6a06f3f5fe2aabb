"""Small helpers shared by every layer (seeding, devices)."""

from robustssl.utils.device import resolve_device
from robustssl.utils.seeding import make_generator, mix_seed, seed_everything

__all__ = ["make_generator", "mix_seed", "resolve_device", "seed_everything"]
