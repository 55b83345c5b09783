"""Formatting filters for the report templates, and safe file names for untrusted ids."""

from __future__ import annotations

import hashlib
import math
import re
from datetime import date, datetime
from typing import Any, Callable, Iterable

import pandas as pd

DASH = "–"


def _missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def mmss(seconds: Any) -> str:
    """Seconds as ``m:ss`` (``h:mm:ss`` from an hour): 125.4 → ``2:05``."""
    if _missing(seconds):
        return DASH
    total = int(round(float(seconds)))
    sign = "-" if total < 0 else ""
    total = abs(total)
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    return f"{sign}{h}:{m:02d}:{s:02d}" if h else f"{sign}{m}:{s:02d}"


def percent(value: Any, digits: int = 0) -> str:
    """A share 0–1 as a percentage: 0.853 → ``85%``."""
    if _missing(value):
        return DASH
    return f"{100 * float(value):.{digits}f}%"


def score(value: Any, digits: int = 1) -> str:
    """A QA score with fixed decimals."""
    if _missing(value):
        return DASH
    return f"{float(value):.{digits}f}"


def number(value: Any, digits: int = 2) -> str:
    if _missing(value):
        return DASH
    return f"{float(value):.{digits}f}"


def signed(value: Any, digits: int = 2) -> str:
    """A number with an explicit sign: 1.234 → ``+1.23``; uses a true minus sign."""
    if _missing(value):
        return DASH
    v = float(value)
    text = f"{abs(v):.{digits}f}"
    if float(text) == 0:
        return text
    return ("+" if v > 0 else "\u2212") + text


def points(value: Any, digits: int = 1) -> str:
    """A difference in points (score points or percentage points of a rate), signed:
    4.25 → ``+4.3 points``, −3.2 → ``−3.2 points``; one convention on every page: positive is
    better for the agent, negative worse."""
    if _missing(value):
        return DASH
    return f"{signed(value, digits)}\u00a0points"


def mmss_signed(seconds: Any) -> str:
    """A change of duration as signed ``m:ss``: 12.4 → ``+0:12``, −75 → ``−1:15``."""
    if _missing(seconds):
        return DASH
    v = float(seconds)
    text = mmss(abs(v))
    if int(round(abs(v))) == 0:
        return text
    return ("+" if v > 0 else "\u2212") + text


def pvalue(value: Any) -> str:
    """A p-value: ``<0.001`` below a thousandth, else three decimals."""
    if _missing(value):
        return DASH
    v = float(value)
    return "<0.001" if v < 0.001 else f"{v:.3f}"


def datefmt(value: Any, fmt: str = "%Y-%m-%d") -> str:
    """A date or timestamp formatted with ``strftime``."""
    if _missing(value):
        return DASH
    if isinstance(value, (datetime, date)):
        return value.strftime(fmt)
    return pd.Timestamp(value).strftime(fmt)


def seconds(value: Any, digits: int = 1) -> str:
    """Seconds with a unit: ``12.3 s``."""
    if _missing(value):
        return DASH
    return f"{float(value):.{digits}f}\u00a0s"


def na(value: Any) -> str:
    """The value as text, or a dash when it is missing."""
    return DASH if _missing(value) else str(value)


FILTERS: dict[str, Callable[..., str]] = {
    "na": na,
    "mmss": mmss,
    "mmss_signed": mmss_signed,
    "points": points,
    "percent": percent,
    "score": score,
    "number": number,
    "signed": signed,
    "pvalue": pvalue,
    "date": datefmt,
    "seconds": seconds,
}

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_RESERVED = {"CON", "PRN", "AUX", "NUL"} | {f"{p}{i}" for p in ("COM", "LPT") for i in range(1, 10)}


def slugify(text: str, max_length: int = 60) -> str:
    """A file-name-safe form of an untrusted id, unique per id.

    Ids that are already safe keep their form; anything else (path separators, dots at the
    ends, non-ASCII, Windows device names) is replaced and gets a short hash of the original
    so that two ids never share a file.
    """
    text = str(text)
    clean = _UNSAFE.sub("-", text).strip("-.")[:max_length]
    if clean and clean == text and clean.split(".")[0].upper() not in _RESERVED:
        return clean
    digest = hashlib.sha1(text.encode("utf-8")).hexdigest()[:8]
    return f"{clean}-{digest}" if clean else f"id-{digest}"


def unique_slugs(ids: Iterable[str]) -> dict[str, str]:
    """Slugs for many ids, unique even on case-insensitive file systems (Windows shares)."""
    out: dict[str, str] = {}
    seen: dict[str, str] = {}
    for i in ids:
        slug = slugify(i)
        key = slug.lower()
        if key in seen and seen[key] != i:
            slug = f"{slug}-{hashlib.sha1(str(i).encode('utf-8')).hexdigest()[:8]}"
            key = slug.lower()
        seen[key] = i
        out[i] = slug
    return out


def nan_to_none(value: Any) -> Any:
    """None for NaN/NaT, the value otherwise (templates test with ``is none``)."""
    return None if _missing(value) else value


def finite(value: Any) -> bool:
    """True for a real, finite number."""
    try:
        return not _missing(value) and math.isfinite(float(value))
    except (TypeError, ValueError):
        return False
