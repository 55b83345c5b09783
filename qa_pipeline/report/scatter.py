"""Where each agent stands: one row of three scatters per team.

Flags compare an agent with their own team's median, so each team gets its own panels with
that median drawn: level against trend, level against consistency, and level against average
handle time. Names are placed by :mod:`qa_pipeline.report.labels` (no overlaps, no point
hidden, leader lines when a name sits away from its point); quadrant names sit in bands above
and below the data that the axis limits keep empty, so they can hide nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from markupsafe import Markup

from qa_pipeline.report.charts import FLAG_STYLE, GREY, OKABE_ITO, _short, charting, new_figure, to_svg
from qa_pipeline.report.filters import mmss
from qa_pipeline.report.labels import Box, covers, intersects, place_labels

MARKER_RADIUS_PX = 3.5
# The ring around an inconsistent agent's marker (s=95 points², about 14 px across).
RING_RADIUS_PX = 7.0
LABEL_FONT = 6.5
QUADRANT_FONT = 7.0
# Pixels kept free of points above and below the data for the quadrant names.
BAND_PX = 15.0
PRIORITY_FLAGS = ("coach", "early_warning", "encourage")


@dataclass
class PanelLayout:
    """Pixel geometry of one panel, for checking that nothing is hidden.

    Attributes:
        name: Panel name.
        points: Every point drawn.
        radii: Half-size of each point's marker (ringed points are larger).
        labels: Boxes of the agent names placed.
        fixed: Boxes of the quadrant names.
        bounds: The plot area.
    """

    name: str
    points: list[tuple[float, float]] = field(default_factory=list)
    radii: list[float] = field(default_factory=list)
    labels: list[Box] = field(default_factory=list)
    fixed: list[Box] = field(default_factory=list)
    bounds: Box = (0.0, 0.0, 0.0, 0.0)


def _priority(agents: pd.DataFrame, xs: np.ndarray, ys: np.ndarray) -> list[int]:
    """Label order: the best and worst agent, flagged agents, the extremes of either axis, the rest."""
    if len(agents) == 0:
        return []
    flagged = agents["flag"].isin(PRIORITY_FLAGS).to_numpy() | agents["inconsistent"].astype(bool).to_numpy()

    def extremity(v: np.ndarray) -> np.ndarray:
        sd = float(np.std(v)) or 1.0
        return np.abs(v - np.median(v)) / sd

    top = np.zeros(len(agents))
    top[int(np.argmax(ys))] = 10.0
    top[int(np.argmin(ys))] = 9.0
    rank = flagged * 4.0 + top + extremity(ys) + extremity(xs)
    # Stable on ties: agents keep their table order.
    return [int(i) for i in np.argsort(-rank, kind="stable")]


def _panel(ax: Any, agents: pd.DataFrame, x: str, x_scale: float, vline: float, median: float, quadrants: tuple[str, str, str, str]) -> None:
    xs = agents[x].to_numpy(dtype=float) * x_scale
    ys = agents["mean"].to_numpy(dtype=float)
    for flag, (colour, marker) in FLAG_STYLE.items():
        sel = (agents["flag"] == flag).to_numpy()
        if not sel.any():
            continue
        style = {"c": colour} if marker == "x" else {"facecolors": colour, "edgecolors": "white"}
        ax.scatter(xs[sel], ys[sel], s=30, marker=marker, linewidths=0.5, label=flag.replace("_", " "), zorder=3, **style)
    inc = agents["inconsistent"].astype(bool).to_numpy()
    if inc.any():
        ax.scatter(xs[inc], ys[inc], s=95, facecolors="none", edgecolors="#000000", linewidths=0.9, label="inconsistent (ringed)", zorder=2)
    if np.isfinite(median):
        ax.axhline(median, color=GREY, lw=0.9, ls="--", label="team median", zorder=1)
    if np.isfinite(vline):
        ax.axvline(vline * x_scale, color=GREY, lw=0.8, zorder=1)


def _fix_limits(ax: Any, xs: np.ndarray, ys: np.ndarray, median: float, vline: float, symmetric: bool) -> None:
    ok = np.isfinite(xs) & np.isfinite(ys)
    yv = np.concatenate([ys[ok], [median] if np.isfinite(median) else []])
    lo, hi = (float(yv.min()), float(yv.max())) if len(yv) else (0.0, 100.0)
    span = max(hi - lo, 4.0)
    height = max(ax.get_window_extent().height, 60.0)
    # Bands of BAND_PX above and below the data, in data units once the limits are set.
    # The band also clears the largest marker (a ring) drawn on the data's edge.
    edge = BAND_PX + RING_RADIUS_PX
    pad = edge * span / max(height - 2 * edge, 20.0)
    ax.set_ylim(lo - pad, hi + pad)
    xv = np.concatenate([xs[ok], [vline] if np.isfinite(vline) else []])
    if symmetric:
        lim = max(float(np.abs(xv).max()) * 1.15 if len(xv) else 0.0, 0.5)
        ax.set_xlim(-lim, lim)
    elif len(xv):
        xlo, xhi = float(xv.min()), float(xv.max())
        margin = max(0.08 * (xhi - xlo), 0.02 * max(abs(xhi), 1e-9), 1e-3)
        ax.set_xlim(xlo - margin, xhi + margin)


def _quadrant_texts(ax: Any, names: tuple[str, str, str, str], renderer: Any) -> list[Box]:
    """Quadrant names in the empty bands: top-left, top-right, bottom-left, bottom-right."""
    spots = ((0.01, 0.99, "left", "top"), (0.99, 0.99, "right", "top"), (0.01, 0.01, "left", "bottom"), (0.99, 0.01, "right", "bottom"))
    boxes = []
    for text, (x, y, ha, va) in zip(names, spots):
        if not text:
            continue
        t = ax.text(x, y, text, transform=ax.transAxes, ha=ha, va=va, fontsize=QUADRANT_FONT, color="#555555", style="italic")
        e = t.get_window_extent(renderer)
        boxes.append((e.x0, e.y0, e.x1, e.y1))
    return boxes


def _place_names(ax: Any, agents: pd.DataFrame, xs: np.ndarray, ys: np.ndarray, max_labels: int, fixed: list[Box],
                 renderer: Any, layout: PanelLayout) -> None:
    ok = np.isfinite(xs) & np.isfinite(ys)
    pix = ax.transData.transform(np.column_stack([np.where(ok, xs, 0.0), np.where(ok, ys, 0.0)]))
    bb = ax.get_window_extent(renderer)
    bounds = (bb.x0 + 1, bb.y0 + 1, bb.x1 - 1, bb.y1 - 1)
    points = [(float(px), float(py)) for (px, py), good in zip(pix, ok) if good]
    index = [i for i, good in enumerate(ok) if good]
    ringed = agents["inconsistent"].astype(bool).to_numpy()
    radii = [RING_RADIUS_PX if ringed[i] else MARKER_RADIUS_PX for i in index]
    order = _priority(agents.iloc[index], xs[ok], ys[ok])[:max_labels]
    names = agents["agent_name"].to_numpy()
    texts: dict[int, Any] = {}
    sizes: list[tuple[float, float] | None] = [None] * len(points)
    for j in order:
        t = ax.text(0, 0, _short(names[index[j]], 16), fontsize=LABEL_FONT, color="#333333", ha="left", va="bottom", zorder=4)
        e = t.get_window_extent(renderer)
        texts[j] = t
        sizes[j] = (e.width, e.height)
    ranked = order + [j for j in range(len(points)) if j not in texts]
    # place_labels takes priority from the order of ``sizes``: feed it re-ordered.
    placed = place_labels([points[j] for j in ranked], [sizes[j] for j in ranked], bounds, [radii[j] for j in ranked], fixed)
    inverse = ax.transData.inverted()
    done = set()
    for p in placed:
        j = ranked[p.index]
        x0, y0, x1, y1 = p.box
        t = texts[j]
        t.set_position(inverse.transform((x0, y0)))
        done.add(j)
        layout.labels.append(p.box)
        if p.leader:
            px, py = points[j]
            cx, cy = min(max(px, x0), x1), min(max(py, y0), y1)
            (lx0, ly0), (lx1, ly1) = inverse.transform((px, py)), inverse.transform((cx, cy))
            ax.plot([lx0, lx1], [ly0, ly1], color="#999999", lw=0.5, zorder=2)
    for j, t in texts.items():
        if j not in done:
            t.remove()
    layout.points = points
    layout.radii = radii
    layout.bounds = bounds


def team_scatter_layout(agents: pd.DataFrame, team: str, team_aht_s: float, cv_factor: float, max_labels: int = 15) -> tuple[Any, list[PanelLayout]]:
    """The figure of one team's three scatters and the pixel geometry of each panel.

    Args:
        agents: The team's agents (rows of ``Analysis.agents``).
        team: The team's name, for the title.
        team_aht_s: The team's average handle time, seconds.
        cv_factor: Inconsistency threshold as a multiple of the team's median agent CV.
        max_labels: Names per panel at most.
    """
    from matplotlib.ticker import FuncFormatter

    median = float(agents["team_median"].dropna().iloc[0]) if agents["team_median"].notna().any() else float("nan")
    team_cv = float(agents["team_cv"].dropna().iloc[0]) if agents["team_cv"].notna().any() else float("nan")
    panels = (
        ("trend", "slope_per_week", 1.0, 0.0, True, "trend, points per week", ("↖ declining", "improving ↗", "↙ declining", "improving ↘")),
        ("consistency", "cv", 1.0, cv_factor * team_cv, False, "spread of call scores (CV)", ("↖ consistent", "inconsistent ↗", "", "")),
        ("handle time", "aht_s", 1.0 / 60.0, team_aht_s, False, "average handle time (m:ss)", ("↖ shorter calls", "longer calls ↗", "", "")),
    )
    fig, axes = new_figure(9.6, 3.3, 1, 3, layout="constrained")
    for ax, (_, col, scale, vline, _, xlabel, _) in zip(axes[0], panels):
        _panel(ax, agents, col, scale, vline, median, ("", "", "", ""))
        ax.set_xlabel(xlabel)
    axes[0, 0].set_ylabel("mean QA score")
    axes[0, 2].xaxis.set_major_formatter(FuncFormatter(lambda v, _: mmss(v * 60)))
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=min(len(labels), 7), fontsize=7)
    fig.suptitle(f"Team {_short(team, 40)}", fontsize=9.5, fontweight="bold")
    renderer = fig.canvas.get_renderer()
    # Layout passes only: constrained layout and the limits need text sizes, not pixels, so
    # nothing is rasterised (the chart itself is written as SVG).
    fig.draw_without_rendering()
    for ax, (_, col, scale, vline, sym, _, _) in zip(axes[0], panels):
        _fix_limits(ax, agents[col].to_numpy(dtype=float) * scale, agents["mean"].to_numpy(dtype=float), median,
                    vline * scale if np.isfinite(vline) else vline, sym)
    fig.draw_without_rendering()
    # From here on nothing may move: the names are placed in pixels.
    fig.set_layout_engine("none")
    layouts = []
    for ax, (name, col, scale, _, _, _, quads) in zip(axes[0], panels):
        layout = PanelLayout(name)
        layout.fixed = _quadrant_texts(ax, quads, renderer)
        _place_names(ax, agents, agents[col].to_numpy(dtype=float) * scale, agents["mean"].to_numpy(dtype=float),
                     max_labels, layout.fixed, renderer, layout)
        layouts.append(layout)
    return fig, layouts


def team_scatter(agents: pd.DataFrame, team: str, team_aht_s: float, cv_factor: float, max_labels: int = 15) -> Markup:
    """One team's three scatters as inline SVG (see :func:`team_scatter_layout`)."""
    with charting():
        fig, _ = team_scatter_layout(agents, team, team_aht_s, cv_factor, max_labels)
        return to_svg(fig, f"Agents of team {team} by mean score against trend, consistency and handle time", tight=False)


def overlaps(layout: PanelLayout) -> list[str]:
    """What hides what in one panel (empty when nothing does)."""
    problems = []
    boxes = layout.labels + layout.fixed
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            if intersects(a, b):
                problems.append(f"{layout.name}: boxes {a} and {b} overlap")
        for (x, y), r in zip(layout.points, layout.radii):
            if covers(a, x, y, r):
                problems.append(f"{layout.name}: box {a} covers the point at {x:.0f},{y:.0f}")
    return problems
