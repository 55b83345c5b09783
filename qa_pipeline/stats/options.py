"""The options of the statistics stage and the reporting period they resolve to."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from qa_pipeline.errors import ConfigError
from qa_pipeline.optionspec import from_dict, option

if TYPE_CHECKING:  # pandas is loaded by the statistics, not by the flags declared from these options
    import pandas as pd


def _as_date(value: Any, name: str) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError as exc:
            raise ValueError(f"{name} must be a date YYYY-MM-DD, got {value!r}") from exc
    raise ValueError(f"{name} must be a date YYYY-MM-DD, got {value!r}")


@dataclass(frozen=True)
class Period:
    """A reporting period of whole days, both ends included.

    Attributes:
        start: First day.
        end: Last day.
    """

    start: date
    end: date

    @property
    def start_ts(self) -> pd.Timestamp:
        """Midnight at the start of the first day."""
        import pandas as pd

        return pd.Timestamp(self.start)

    @property
    def end_ts(self) -> pd.Timestamp:
        """Midnight after the last day (exclusive bound)."""
        import pandas as pd

        return pd.Timestamp(self.end + timedelta(days=1))

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def label(self) -> str:
        return f"{self.start.isoformat()} – {self.end.isoformat()}"

    def to_dict(self) -> dict[str, Any]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Period":
        return cls(start=date.fromisoformat(str(data["start"])), end=date.fromisoformat(str(data["end"])))


@dataclass(frozen=True)
class StatsOptions:
    """How agent statistics are computed.

    Attributes:
        period_from: First day of the period (inclusive); None = ``default_days`` before
            ``period_to``.
        period_to: Last day of the period (inclusive); None = the day of the latest call, so a
            report over an old export still shows data.
        default_days: Length of the default period in days.
        alpha: Significance level for trends, individual problems and trend confidence
            intervals (a ``1 - alpha`` interval).
        min_calls: Agents with fewer calls in the period are flagged ``insufficient_data`` and
            get no other flag.
        cv_factor: An agent whose coefficient of variation exceeds this multiple of the team's
            median agent CV is flagged ``inconsistent``.
        common_call_rate: A criterion failed on at least this share of applicable calls is a
            common problem.
        common_agent_share: A criterion that at least this share of agents fail often is a
            common problem.
        agent_fail_rate: An agent "fails a criterion often" when their failure rate on it is at
            least this.
        examples: Example calls listed per individual problem.
        min_trend_calls: Fewer calls than this (agent, team or centre): no trend, no slope, no
            "improving"/"declining"; the figures read "not enough calls yet".
        min_trend_days: A trend also needs calls on at least this many different days, so a
            burst of calls on two days is no slope.
        min_limit_calls: Fewer calls than this in a team: no control limits and no calls
            "outside the limits".
        min_compare_calls: The comparison with the previous period tests a change only when
            both periods have at least this many calls.
        min_problem_calls: An individual problem needs at least this many applicable calls of
            the agent on the criterion before it can be called significant.
        min_common_calls: A criterion is a retraining candidate only once it applied to at
            least this many calls…
        min_common_fails: …and failed on at least this many.
        min_list_calls: An agent's best and worst calls are listed only from this many calls.
    """

    period_from: date | None = option(
        None, flag="--from", value_type=datetime, help="First day of the period (default: 30 days before --to).")
    period_to: date | None = option(
        None, flag="--to", value_type=datetime, help="Last day of the period (default: the day of the latest call).")
    default_days: int = option(30, minimum=1, help="Days in the period when --from is not given.")
    alpha: float = option(0.05, minimum=0.0001, maximum=0.5, help="Significance level for trends and problems.")
    min_calls: int = option(8, minimum=3, help="Fewer calls than this: flagged insufficient data.")
    cv_factor: float = option(
        1.5, help="Flag an agent inconsistent when their coefficient of variation exceeds this multiple of the team's median.")
    common_call_rate: float = option(
        0.20, help="A criterion failed on at least this share of applicable calls (0-1) is a common problem.")
    common_agent_share: float = option(
        0.30, help="A criterion that at least this share of agents (0-1) fail often is a common problem.")
    agent_fail_rate: float = option(
        0.25, help="An agent fails a criterion often from this failure rate on it (0-1).")
    examples: int = option(3, minimum=0, help="Example calls listed per individual problem.")
    min_trend_calls: int = option(10, minimum=3, help="Fewer calls than this: no trend.")
    min_trend_days: int = option(7, minimum=2, help="A trend also needs calls on at least this many different days.")
    min_limit_calls: int = option(20, minimum=3, help="Fewer calls than this in a team: no control limits.")
    min_compare_calls: int = option(
        5, minimum=2, help="Compare with the previous period only when both have at least this many calls.")
    min_problem_calls: int = option(
        8, minimum=1, help="Applicable calls an agent needs on a criterion before an individual problem is called.")
    min_common_calls: int = option(
        30, minimum=1, help="Applicable calls a criterion needs before it is a retraining candidate.")
    min_common_fails: int = option(5, minimum=1, help="Failures a criterion needs before it is a retraining candidate.")
    min_list_calls: int = option(5, minimum=1, help="Calls an agent needs before their best and worst calls are listed.")

    def __post_init__(self) -> None:
        object.__setattr__(self, "period_from", _as_date(self.period_from, "period_from"))
        object.__setattr__(self, "period_to", _as_date(self.period_to, "period_to"))
        if self.period_from and self.period_to and self.period_from > self.period_to:
            raise ValueError(f"period_from {self.period_from} is after period_to {self.period_to}")
        if self.default_days < 1:
            raise ValueError("default_days must be >= 1")
        if not 0 < self.alpha < 1:
            raise ValueError(f"alpha must be between 0 and 1, got {self.alpha}")
        if self.min_calls < 3:
            raise ValueError("min_calls must be >= 3 (a trend needs three points)")
        if self.cv_factor <= 0:
            raise ValueError("cv_factor must be positive")
        for name in ("common_call_rate", "common_agent_share", "agent_fail_rate"):
            value = getattr(self, name)
            if not 0 < value <= 1:
                raise ValueError(f"{name} must be in (0, 1], got {value}")
        if self.examples < 0:
            raise ValueError("examples must be >= 0")
        if self.min_trend_calls < 3 or self.min_trend_days < 2:
            raise ValueError("min_trend_calls must be >= 3 and min_trend_days >= 2 (a trend needs three points on two days)")
        if self.min_limit_calls < 3:
            raise ValueError("min_limit_calls must be >= 3")
        if self.min_compare_calls < 2:
            raise ValueError("min_compare_calls must be >= 2 (a variance needs two calls)")
        for name in ("min_problem_calls", "min_common_calls", "min_common_fails", "min_list_calls"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1")

    @classmethod
    def from_dict(cls, data: "dict[str, Any] | StatsOptions | None") -> "StatsOptions":
        return from_dict(cls, data)

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        for key in ("period_from", "period_to"):
            out[key] = out[key].isoformat() if out[key] else None
        return out

    def previous_period(self, period: Period) -> Period:
        """The period of equal length that ends the day before ``period`` starts."""
        end = period.start - timedelta(days=1)
        return Period(end - timedelta(days=period.days - 1), end)

    def resolve_period(self, started_at: pd.Series) -> Period:
        """The period these options select, given the calls' start times.

        Raises:
            ConfigError: No end date is given and there are no calls to take it from.
        """
        import pandas as pd

        end = self.period_to
        if end is None:
            if started_at.empty or started_at.isna().all():
                raise ConfigError("no calls to take the reporting period from; pass --to")
            end = pd.Timestamp(started_at.max()).date()
        start = self.period_from or end - timedelta(days=self.default_days - 1)
        if start > end:
            raise ConfigError(f"period start {start} is after its end {end}")
        return Period(start, end)


def not_enough(n: int, need: int) -> str:
    """The one wording for a figure withheld for lack of calls."""
    return f"not enough calls yet ({int(n)}, need {int(need)})"
