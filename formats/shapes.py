"""One value of a report as the shape it should have, or nothing: the readers of ``reports.py`` build on these.

A number that is a string, a text that is a list, a section that is not an object: each reads as absent (None,
or an empty mapping or tuple), never as an error and never guessed (``"0.9"`` is not 0.9).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def number(value: Any) -> float | None:
    """``value`` when it is a JSON number (not a bool, not a string), else None; kept as written (``1`` stays an
    int), so that what is read and written back keeps its bytes."""
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def count(value: Any) -> int | None:
    """``value`` when it is a whole JSON number (not a bool), else None."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def text(value: Any) -> str | None:
    """``value`` when it is a string, else None."""
    return value if isinstance(value, str) else None


def flag(value: Any) -> bool | None:
    """``value`` when it is a JSON boolean, else None (``"yes"`` and ``1`` are not booleans)."""
    return value if isinstance(value, bool) else None


def section(value: Any) -> Mapping[str, Any]:
    """``value`` when it is a JSON object, else an empty one."""
    return value if isinstance(value, Mapping) else {}


def numbers(value: Any) -> dict[str, float]:
    return {key: v for key, v in section(value).items() if number(v) is not None}


def counts(value: Any) -> dict[str, int]:
    return {key: v for key, v in section(value).items() if count(v) is not None}


def texts(value: Any) -> dict[str, str]:
    return {key: v for key, v in section(value).items() if isinstance(v, str)}


def strings(value: Any) -> tuple[str, ...]:
    return tuple(item for item in value if isinstance(item, str)) if isinstance(value, list) else ()
