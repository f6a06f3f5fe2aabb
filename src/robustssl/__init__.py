"""robustssl: self-supervised vision models and their adversarial robustness.

Layers (lower never imports higher): runs → utils → data → models → objectives → attacks →
methods/finetune → evaluation → experiments/toy → cli. See docs/architecture.md.
"""

__version__ = "0.1.0"
