"""Run directories (below every training layer; imports no torch): the layout and its file names,
what "done" means, which config keys change the numbers, atomic writes, locks and signals.
Pretraining, finetuning, evaluation and the study runner all use it.
"""

from robustssl.runs.atomic import (
    DiskFullError,
    atomic_path,
    atomic_write_bytes,
    atomic_write_text,
    is_disk_full,
    remove_temp_files,
)
from robustssl.runs.compare import DISPLAY_KEYS, LINK_KEYS, config_differences, identity_config
from robustssl.runs.layout import stage_state
from robustssl.runs.lock import DirLock, Holder, LockedError, lock_holder
from robustssl.runs.rundir import RunDir
from robustssl.runs.signals import Terminated

__all__ = [
    "DISPLAY_KEYS",
    "LINK_KEYS",
    "DirLock",
    "DiskFullError",
    "Holder",
    "LockedError",
    "RunDir",
    "Terminated",
    "atomic_path",
    "atomic_write_bytes",
    "atomic_write_text",
    "config_differences",
    "identity_config",
    "is_disk_full",
    "lock_holder",
    "remove_temp_files",
    "stage_state",
]
