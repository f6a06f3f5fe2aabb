"""glibc allocator tuning for CPU training.

Each training step frees and re-allocates tens of MB of activations. glibc serves such blocks with
mmap/munmap, so every step pays page faults to zero fresh pages (seen here as ~30 % system time).
Keeping freed memory in the heap removes that cost: about 25 % faster small-CNN SimCLR steps on
this 2-core machine (benchmarks/pretrain.py). A no-op where glibc is absent.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

_M_TRIM_THRESHOLD = -1
_M_TOP_PAD = -2
_M_MMAP_MAX = -4
_done = False


def keep_freed_memory_in_heap() -> bool:
    """Ask glibc not to mmap large blocks nor trim the heap; True when applied."""
    global _done
    if _done:
        return True
    if not sys.platform.startswith("linux"):
        return False
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    ok = mallopt(_M_MMAP_MAX, 0) and mallopt(_M_TRIM_THRESHOLD, 2**31 - 1)
    ok = ok and mallopt(_M_TOP_PAD, 256 * 2**20)
    _done = bool(ok)
    return _done
