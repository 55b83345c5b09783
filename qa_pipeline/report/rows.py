"""Report tables as rows: mappings for templates, arrays per group for charts."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as mappings with NaN/NaT turned into None (templates test ``is none``)."""
    return df.astype(object).where(df.notna(), None).to_dict("records")


def group_records(df: pd.DataFrame, key: str) -> dict[Any, list[dict[str, Any]]]:
    """Rows as mappings grouped by one column, in row order (one conversion for all groups)."""
    out: dict[Any, list[dict[str, Any]]] = {}
    for rec in records(df):
        out.setdefault(rec[key], []).append(rec)
    return out


class Series:
    """One table's columns as arrays with each group's row positions (no per-group frames)."""

    def __init__(self, df: pd.DataFrame, key: str, columns: tuple[str, ...]):
        df = df.sort_values([key, "week"], kind="stable") if "week" in df.columns else df
        self.index = df.groupby(key, sort=False).indices
        self.columns = {c: df[c].to_numpy() for c in columns}
        self.empty = {c: v[:0] for c, v in self.columns.items()}

    def get(self, group: Any, column: str) -> np.ndarray:
        pos = self.index.get(group)
        return self.empty[column] if pos is None else self.columns[column][pos]
