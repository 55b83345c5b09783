"""Agent statistics over a period: scores, pass rates, handle time, trends, flags, problems, goals.

Reports and the terminal show these figures through :mod:`qa_pipeline.stats.display` (one
unit per quantity); the method, flags and minimums are described in ``docs/statistics.md``.

Input is two data frames (calls and criteria; see :mod:`qa_pipeline.stats.frames` for the
columns), as ``qa export`` writes them or the results store loads them. Start with
:func:`load_frames` or :func:`prepare_frames`, then :func:`analyse`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from qa_pipeline.stats.analysis import Analysis, analyse
    from qa_pipeline.stats.compare import COMPARE_COLUMNS, compare_periods
    from qa_pipeline.stats.control import control_limits, out_of_limits
    from qa_pipeline.stats.describe import describe_scores, pass_rates, weekly_means, weekly_pass_rates
    from qa_pipeline.stats.flags import FLAG_ADVICE, FLAG_LABELS, Flag, coaching_flags
    from qa_pipeline.stats.frames import (
        CALL_COLUMNS,
        CRITERIA_COLUMNS,
        EvidenceItem,
        Frames,
        load_frames,
        parse_evidence,
        prepare_calls,
        prepare_criteria,
        prepare_frames,
        read_table,
        write_frames,
    )
    from qa_pipeline.stats.goals import Target, goal_attainment, goal_label, load_targets, period_bounds
    from qa_pipeline.stats.options import Period, StatsOptions, not_enough
    from qa_pipeline.stats.problems import common_problems, fisher_greater, individual_problems, rank_by_impact
    from qa_pipeline.stats.profiles import ability_profile, style_profile
    from qa_pipeline.stats.trend import Direction, classify, ols_by_group, robust_by_group, trend_table

# Where each public name lives: imported on first use (PEP 562), so that reading the
# statistics options (qa_pipeline.stats.options, needed to declare the flags of qa report at
# start-up) does not load pandas and scipy.
_EXPORTS = {
    "Analysis": "analysis",
    "CALL_COLUMNS": "frames",
    "COMPARE_COLUMNS": "compare",
    "CRITERIA_COLUMNS": "frames",
    "Direction": "trend",
    "EvidenceItem": "frames",
    "FLAG_ADVICE": "flags",
    "FLAG_LABELS": "flags",
    "Flag": "flags",
    "Frames": "frames",
    "Period": "options",
    "StatsOptions": "options",
    "Target": "goals",
    "ability_profile": "profiles",
    "analyse": "analysis",
    "classify": "trend",
    "coaching_flags": "flags",
    "common_problems": "problems",
    "compare_periods": "compare",
    "control_limits": "control",
    "describe_scores": "describe",
    "fisher_greater": "problems",
    "goal_attainment": "goals",
    "goal_label": "goals",
    "individual_problems": "problems",
    "load_frames": "frames",
    "load_targets": "goals",
    "not_enough": "options",
    "ols_by_group": "trend",
    "out_of_limits": "control",
    "parse_evidence": "frames",
    "pass_rates": "describe",
    "period_bounds": "goals",
    "prepare_calls": "frames",
    "prepare_criteria": "frames",
    "prepare_frames": "frames",
    "rank_by_impact": "problems",
    "read_table": "frames",
    "robust_by_group": "trend",
    "style_profile": "profiles",
    "trend_table": "trend",
    "weekly_means": "describe",
    "weekly_pass_rates": "describe",
    "write_frames": "frames",
}

__all__ = [
    "Analysis",
    "CALL_COLUMNS",
    "COMPARE_COLUMNS",
    "CRITERIA_COLUMNS",
    "Direction",
    "EvidenceItem",
    "FLAG_ADVICE",
    "FLAG_LABELS",
    "Flag",
    "Frames",
    "Period",
    "StatsOptions",
    "Target",
    "ability_profile",
    "analyse",
    "classify",
    "coaching_flags",
    "common_problems",
    "compare_periods",
    "control_limits",
    "describe_scores",
    "fisher_greater",
    "goal_attainment",
    "goal_label",
    "individual_problems",
    "load_frames",
    "load_targets",
    "not_enough",
    "ols_by_group",
    "out_of_limits",
    "parse_evidence",
    "pass_rates",
    "period_bounds",
    "prepare_calls",
    "prepare_criteria",
    "prepare_frames",
    "rank_by_impact",
    "read_table",
    "robust_by_group",
    "style_profile",
    "trend_table",
    "weekly_means",
    "weekly_pass_rates",
    "write_frames",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
