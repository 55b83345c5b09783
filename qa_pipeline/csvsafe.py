"""CSV cells that spreadsheets cannot run as formulas.

Agent names, teams and evidence come from metadata files and from what callers say, so a cell
may begin with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage return) and be run as a
formula by Excel, LibreOffice or Google Sheets when the CSV is opened. As OWASP recommends,
such a cell is written with a single quote in front; spreadsheets show the text as it was.

Reading our own CSVs back removes that quote again, so an export read by ``qa report`` holds
the original text. A text that itself starts with quotes before a formula character gets one
more quote, so the round trip is exact.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

FORMULA_STARTS: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")


def _risky(text: str) -> bool:
    """Whether ``text`` starts with a formula character, possibly behind single quotes."""
    return text.lstrip("'").startswith(FORMULA_STARTS)


def neutralise_cell(value: Any) -> Any:
    """``value`` with a single quote in front when a spreadsheet would read it as a formula.

    Only text is changed: numbers (a negative score) stay numbers.
    """
    if isinstance(value, str) and _risky(value):
        return "'" + value
    return value


def restore_cell(value: Any) -> Any:
    """The text :func:`neutralise_cell` was given (other values unchanged)."""
    if isinstance(value, str) and value.startswith("'") and _risky(value[1:]):
        return value[1:]
    return value


# RFC 4180 line ends: Python's csv quotes a cell holding a carriage return only when the
# line terminator contains one, and an unquoted CR splits the row when read back.
LINE_TERMINATOR = "\r\n"


def write_csv(df: pd.DataFrame, path: Any) -> None:
    """Write ``df`` as CSV with every text cell neutralised (no index)."""
    neutralise_frame(df).to_csv(path, index=False, lineterminator=LINE_TERMINATOR)


def neutralise_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` with every text cell neutralised, ready for ``to_csv``."""
    out = df.copy()
    for col in out.columns:
        if _textual(out[col]):
            out[col] = [neutralise_cell(v) for v in out[col]]
    return out


def restore_frame(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` read from a CSV this project wrote, with the protective quotes removed."""
    for col in df.columns:
        if _textual(df[col]):
            df[col] = [restore_cell(v) for v in df[col]]
    return df


def _textual(column: pd.Series) -> bool:
    return pd.api.types.is_object_dtype(column) or pd.api.types.is_string_dtype(column)
