"""Control limits of call scores per team (Shewhart style) and the calls outside them."""

from __future__ import annotations

import numpy as np
import pandas as pd

from qa_pipeline.stats.options import not_enough


SCALE = (0.0, 100.0)


def control_limits(calls: pd.DataFrame, by: str = "team", min_calls: int = 3) -> pd.DataFrame:
    """Team mean ± 2σ (warning) and ± 3σ (action) of individual call scores.

    Args:
        calls: A prepared calls table.
        by: Grouping column.
        min_calls: Teams with fewer calls get no limits (all missing, with a ``note``): a
            standard deviation of a handful of calls gives limits like −25 to 159.

    Returns:
        One row per team: ``n``, ``mean``, ``sd`` (ddof=1), ``lcl2``, ``ucl2``, ``lcl3``,
        ``ucl3`` and ``note`` (None, or why there are no limits). Limits are clipped to the
        0–100 score scale; a limit at the edge of the scale means no call can cross it.
    """
    g = calls.groupby(by, sort=True)["call_score"]
    out = pd.DataFrame({"n": g.size(), "mean": g.mean(), "sd": g.std(ddof=1)})
    short = out["n"] < min_calls
    for k in (2, 3):
        out[f"lcl{k}"] = (out["mean"] - k * out["sd"]).clip(*SCALE).where(~short)
        out[f"ucl{k}"] = (out["mean"] + k * out["sd"]).clip(*SCALE).where(~short)
    out.loc[short, "sd"] = np.nan
    out["note"] = [not_enough(n, min_calls) if s else None for n, s in zip(out["n"], short)]
    return out.reset_index()


def out_of_limits(calls: pd.DataFrame, limits: pd.DataFrame, by: str = "team") -> pd.DataFrame:
    """Calls whose score lies beyond their team's 2σ limits.

    Returns:
        The calls' ``call_id``, ``agent_id``, ``team``, ``started_at`` and ``call_score`` plus
        ``z`` (σ from the team mean), ``zone`` (``warning`` beyond 2σ, ``action`` beyond 3σ)
        and ``side`` (``low``/``high``), lowest z first.
    """
    lim = limits.set_index(by)
    mean = calls[by].map(lim["mean"]).to_numpy(dtype=float)
    sd = calls[by].map(lim["sd"]).to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = (calls["call_score"].to_numpy(dtype=float) - mean) / sd
    mask = np.abs(np.nan_to_num(z)) > 2
    out = calls.loc[mask, ["call_id", "agent_id", "team", "started_at", "call_score"]].copy()
    out["z"] = z[mask]
    out["zone"] = np.where(np.abs(out["z"]) > 3, "action", "warning")
    out["side"] = np.where(out["z"] < 0, "low", "high")
    return out.sort_values("z", kind="stable").reset_index(drop=True)
