"""Agent statistics over a period: scores, pass rates, handle time, trends, flags, problems, goals.

Reports and the terminal show these figures through :mod:`qa_pipeline.stats.display` (one
unit per quantity); the method, flags and minimums are described in ``docs/statistics.md``.

Input is two data frames (calls and criteria; see :mod:`qa_pipeline.stats.frames` for the
columns), as ``qa export`` writes them or the results store loads them. Start with
:func:`load_frames` or :func:`prepare_frames`, then :func:`analyse`.
"""

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
