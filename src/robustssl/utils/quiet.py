"""Lightning's chatter, silenced where robustssl builds a Trainer.

Lightning prints, on every ``Trainer(...)`` and ``fit``, banners ("GPU available: False, used:
False", "TPU available"), an advertising tip ("💡 Tip: ... litlogger"), the "`Trainer.fit`
stopped" note and a few deprecation / sizing warnings that are not about the user's run. They
would scroll a study's progress away and repeat in every pretraining stage. Its loggers are set
to WARNING and the known noise warnings ignored inside :func:`quiet_lightning`; real warnings
(and every error) still reach the user. Levels and filters are restored afterwards.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

LIGHTNING_LOGGERS = ("lightning.pytorch", "lightning.fabric", "pytorch_lightning", "lightning")
# warnings about Lightning itself or about settings robustssl chose, never about the user's run
LIGHTNING_NOISE = (
    ".*smaller than the logging interval.*",
    ".*isinstance.treespec, LeafSpec.*",
    ".*does not have many workers.*",
    ".*litlogger.*",
    ".*in eval mode at the start of training.*",  # frozen modules on purpose, e.g. DeACL's teacher
)


@contextmanager
def quiet_lightning() -> Iterator[None]:
    """Lightning's info messages and known noise warnings off inside the block."""
    loggers = [logging.getLogger(name) for name in LIGHTNING_LOGGERS]
    levels = [lg.level for lg in loggers]
    with warnings.catch_warnings():
        for message in LIGHTNING_NOISE:
            warnings.filterwarnings("ignore", message=message)
        for category in (DeprecationWarning, FutureWarning):  # library internals, not the run
            warnings.filterwarnings("ignore", category=category)
        for lg in loggers:
            lg.setLevel(logging.WARNING)
        try:
            yield
        finally:
            for lg, level in zip(loggers, levels, strict=True):
                lg.setLevel(level)
