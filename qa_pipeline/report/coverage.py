"""What a report's period leaves out, said on every page.

A report covers one period (by default the 30 days up to the latest call); calls before or
after it are not shown. Readers must be told, with the command that would include them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd

from qa_pipeline.stats.options import Period


@dataclass(frozen=True)
class Coverage:
    """Calls outside the report's period.

    Attributes:
        older: Calls before the period.
        newer: Calls after the period.
        first: Day of the oldest call left out (None when none is older).
        last: Day of the newest call left out (None when none is newer).
    """

    older: int = 0
    newer: int = 0
    first: date | None = None
    last: date | None = None

    @property
    def complete(self) -> bool:
        return self.older == 0 and self.newer == 0

    def sentence(self) -> str:
        """Plain words, with the command that would show the missing calls."""
        parts = []
        if self.older:
            parts.append(f"{self.older:,} older call{'s' if self.older != 1 else ''} (from {self.first.isoformat() if self.first else '?'}) not shown; "
                         f"run `qa report --from {self.first.isoformat() if self.first else 'YYYY-MM-DD'}` to include them")
        if self.newer:
            parts.append(f"{self.newer:,} newer call{'s' if self.newer != 1 else ''} (to {self.last.isoformat() if self.last else '?'}) not shown; "
                         f"run `qa report --to {self.last.isoformat() if self.last else 'YYYY-MM-DD'}` to include them")
        return ". ".join(parts) + "." if parts else "Every scored call is in this period."

    def to_dict(self) -> dict[str, Any]:
        return {"older": self.older, "newer": self.newer, "first": self.first.isoformat() if self.first else None,
                "last": self.last.isoformat() if self.last else None}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Coverage":
        return cls(int(data.get("older", 0)), int(data.get("newer", 0)),
                   date.fromisoformat(data["first"]) if data.get("first") else None,
                   date.fromisoformat(data["last"]) if data.get("last") else None)


def coverage(started_at: pd.Series, period: Period) -> Coverage:
    """Count the calls (by start time) before and after a period.

    Args:
        started_at: Start times of every call that could have been reported.
        period: The period reported.
    """
    times = pd.to_datetime(started_at)
    before = times.loc[times < period.start_ts]
    after = times.loc[times >= period.end_ts]
    return Coverage(
        older=int(len(before)),
        newer=int(len(after)),
        first=before.min().date() if len(before) else None,
        last=after.max().date() if len(after) else None,
    )


def agent_outside_hint(calls: pd.DataFrame, agent_id: str, period: Period) -> str:
    """For an agent without calls in the period: where their calls are, and how to see them.

    Returns:
        A sentence to append to the error, or an empty string when the agent has no calls at all.
    """
    times = pd.to_datetime(calls.loc[calls["agent_id"].astype(str) == str(agent_id), "started_at"])
    if times.empty:
        return ""
    first, last = times.min().date().isoformat(), times.max().date().isoformat()
    return (f"; {agent_id} has {len(times):,} call{'s' if len(times) != 1 else ''} from {first} to {last}, "
            f"outside {period.label}: pass --from {first} --to {last}")
