"""Filters on result rows: ``key=value`` pairs as typed on the command line or passed from
Python (numbers within a relative 1e-9, fractions such as ``8/255``, ``none`` for missing)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any


def number(value: Any) -> float | None:
    """``value`` as a finite float, or None (booleans, text, NaN and ∞ are not numbers)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def parse_number(text: str) -> float | None:
    """A number typed as text ("0.1", "8/255"), or None when it is not one."""
    try:
        if "/" in text:
            num, den = text.split("/", 1)
            return float(num) / float(den)
        return float(text)
    except (ValueError, ZeroDivisionError):
        return None


def value_matches(actual: Any, wanted: Any) -> bool:
    """Filter equality: numbers within 1e-9 (relative), text forms of numbers and fractions
    ("8/255") compare as numbers, ``None`` matches None / "none" / "null", else equal text."""
    if isinstance(wanted, (list, tuple, set)):
        return any(value_matches(actual, w) for w in wanted)
    if actual is None or wanted is None:
        return actual is None and (wanted is None or str(wanted).lower() in ("none", "null"))
    a = number(actual)
    w = number(wanted) if not isinstance(wanted, str) else parse_number(wanted)
    if a is not None and w is not None:
        return math.isclose(a, w, rel_tol=1e-9, abs_tol=1e-12)
    return str(actual) == str(wanted)


def filter_rows(rows: list[dict[str, Any]], filters: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The rows matching every filter (see :func:`value_matches`)."""
    return [r for r in rows if all(value_matches(r.get(k), v) for k, v in filters.items())]
