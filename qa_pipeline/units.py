"""Parsing of values with explicit units, as written in scorecards and config files.

Durations always carry a unit (``15s``, ``500ms``, ``2m``, ``1h``, or a sum such as ``1m30s``);
a bare ``15`` is refused because call-analytics tools disagree on whether it means seconds or
milliseconds. Shares are written as percentages (``40%``).
"""

from __future__ import annotations

import re

from qa_pipeline.errors import ConfigError

_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}
_PART = r"(\d+(?:\.\d+)?)(ms|min|s|m|h)"
_DURATION_RE = re.compile(rf"^(?:{_PART})+$")
_PART_RE = re.compile(_PART)
_PERCENT_RE = re.compile(r"^(\d+(?:\.\d+)?)%$")

DURATION_HELP = "a number followed by ms, s, m or h, e.g. 15s, 500ms, 2m, 1m30s"


class UnitError(ConfigError):
    """A value is missing its unit or is written in a form that cannot be read."""


def parse_duration(value: object) -> float:
    """Read a duration such as ``15s`` or ``1m30s`` into seconds.

    Args:
        value: The raw value from a config file.

    Returns:
        The duration in seconds (never negative).

    Raises:
        UnitError: The value is a bare number, has an unknown unit or is not a string.
    """
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise UnitError(f"expected a duration ({DURATION_HELP}), got {type(value).__name__}")
    if isinstance(value, (int, float)):
        raise UnitError(f"duration {value!r} has no unit: write e.g. {value}s or {value}ms")
    text = value.strip()
    if not _DURATION_RE.match(text):
        raise UnitError(f"bad duration {value!r}: expected {DURATION_HELP}")
    return sum(float(num) * _UNIT_SECONDS[unit] for num, unit in _PART_RE.findall(text))


def parse_percentage(value: object) -> float:
    """Read a percentage such as ``40%`` into a fraction (0.4).

    Raises:
        UnitError: The value has no ``%`` sign or is outside 0–100 %.
    """
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise UnitError(f"expected a percentage such as 40%, got {type(value).__name__}")
    if isinstance(value, (int, float)):
        raise UnitError(f"percentage {value!r} has no % sign: write e.g. {value}%")
    match = _PERCENT_RE.match(value.strip())
    if not match:
        raise UnitError(f"bad percentage {value!r}: expected a number followed by %, e.g. 40%")
    fraction = float(match.group(1)) / 100.0
    if fraction > 1.0:
        raise UnitError(f"percentage {value!r} is above 100%")
    return fraction


def format_seconds(seconds: float) -> str:
    """Write seconds compactly for messages and evidence: ``15s``, ``0.5s``, ``2m``, ``1m30s``."""
    if seconds >= 60 and float(seconds).is_integer():
        minutes, rest = divmod(int(seconds), 60)
        return f"{minutes}m{rest}s" if rest else f"{minutes}m"
    return f"{seconds:g}s"
