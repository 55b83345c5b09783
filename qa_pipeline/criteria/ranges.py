"""Shared reading of ``min``/``max`` range fields."""

from __future__ import annotations

from typing import Any, Callable

from qa_pipeline.criteria.fields import FieldReader


def read_range(fields: FieldReader, read: Callable[[str, Any], Any], what: str) -> tuple[Any, Any]:
    """Read ``min`` and/or ``max`` (at least one) with ``read(name, default)``."""
    low = read("min", None)
    high = read("max", None)
    if low is None and high is None:
        raise fields.problem(None, f"give min and/or max {what}")
    if low is not None and high is not None and high < low:
        raise fields.problem("max", "must not be below min")
    return low, high


def in_range(value: float, low: float | None, high: float | None) -> bool:
    return (low is None or value >= low) and (high is None or value <= high)


def range_text(low: Any, high: Any, fmt: Callable[[Any], str]) -> str:
    if low is not None and high is not None:
        return f"{fmt(low)}–{fmt(high)}"
    if low is not None:
        return f"≥ {fmt(low)}"
    return f"≤ {fmt(high)}"
