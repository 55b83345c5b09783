"""Report charts: matplotlib figures rendered to inline SVG.

Text stays text in the SVG (``svg.fonttype: none``) so the page's fonts render it, CJK
included; the font list falls back to Noto Sans CJK where it is installed. Colours are the
Okabe–Ito palette, safe for colour-blind readers, and every series also differs by marker or
line style so charts survive black-and-white printing. Figures are built with
:class:`matplotlib.figure.Figure` on an Agg canvas, never through pyplot, so no global state or
GUI backend is involved. ``text.parse_math`` is off: agent names are untrusted and a ``$`` in a
name must not be read as mathtext.
"""

from __future__ import annotations

import io
import itertools
import re
import warnings
from functools import lru_cache
from typing import Any, Sequence

import numpy as np
import pandas as pd
from markupsafe import Markup

OKABE_ITO: tuple[str, ...] = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#D55E00",  # vermillion
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#F0E442",  # yellow
    "#000000",  # black
)
GREY = "#8C8C8C"
FLAG_STYLE: dict[str, tuple[str, str]] = {
    # flag: (colour, marker)
    "recognise": ("#0072B2", "o"),
    "encourage": ("#009E73", "^"),
    "early_warning": ("#E69F00", "v"),
    "declining": ("#CC79A7", "v"),
    "coach": ("#D55E00", "s"),
    "insufficient_data": (GREY, "x"),
}
LINESTYLES: tuple[str, ...] = ("-", "--", "-.", ":")
CJK_FAMILIES: tuple[str, ...] = ("Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Sans CJK TC", "WenQuanYi Zen Hei", "Droid Sans Fallback")
WEEK = pd.Timedelta(days=7)
HALF_WEEK = pd.Timedelta(days=3.5)
# Scores are 0–100; the axis keeps a little room so points on the bounds are not cut.
SCORE_LIMITS: tuple[float, float] = (-3.0, 103.0)


@lru_cache(maxsize=1)
def font_families() -> tuple[str, ...]:
    """DejaVu Sans, then the CJK fallbacks that are installed (asking for missing ones warns)."""
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    return ("DejaVu Sans",) + tuple(f for f in CJK_FAMILIES if f in installed)


def rc(cjk: bool = True) -> dict[str, Any]:
    """The matplotlib settings every report chart is drawn with.

    Args:
        cjk: Include the CJK fallback fonts; charts that draw no untrusted text skip them,
            which saves a font lookup per text element.
    """
    from cycler import cycler

    return {
        "svg.fonttype": "none",
        "svg.hashsalt": "qa_pipeline",
        "font.family": list(font_families()) if cjk else ["DejaVu Sans"],
        "font.size": 8.5,
        "text.parse_math": False,
        "axes.prop_cycle": cycler(color=OKABE_ITO),
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.grid": True,
        "grid.color": "#DDDDDD",
        "grid.linewidth": 0.6,
        "axes.titlesize": 9.5,
        "axes.titleweight": "bold",
        "axes.labelsize": 8.5,
        "legend.fontsize": 7.5,
        "legend.frameon": False,
        "lines.linewidth": 1.6,
        "figure.dpi": 100,
    }


_ID = re.compile(r'id="([^"]+)"')
_counter = itertools.count(1)


def to_svg(fig: Any, title: str = "", tight: bool = True) -> Markup:
    """Render a figure to an SVG fragment for inline use.

    Element ids are prefixed per chart so that several charts on one page never share an id.
    """
    buf = io.StringIO()
    with warnings.catch_warnings():
        # Missing glyphs only affect layout metrics; the browser draws the text.
        warnings.filterwarnings("ignore", message="Glyph .* missing from")
        if tight:
            fig.savefig(buf, format="svg", bbox_inches="tight", pad_inches=0.05)
        else:
            fig.savefig(buf, format="svg")
    svg = buf.getvalue()
    svg = svg[svg.index("<svg") :]
    prefix = f"c{next(_counter)}-"
    svg = _ID.sub(lambda m: f'id="{prefix}{m.group(1)}"', svg)
    svg = svg.replace('url(#', f"url(#{prefix}").replace('xlink:href="#', f'xlink:href="#{prefix}').replace(' href="#', f' href="#{prefix}')
    svg = svg.replace("<svg ", f'<svg class="chart" role="img" aria-label="{_attr(title)}" ', 1)
    return Markup(svg)


def _attr(text: str) -> str:
    return str(Markup.escape(text))


def new_figure(width: float, height: float, nrows: int = 1, ncols: int = 1, layout: str | None = "constrained",
               **kw: Any) -> tuple[Any, Any]:
    """A figure on an Agg canvas and its axes (no pyplot)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout=layout)
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, squeeze=False, **kw)
    return fig, axes


class _Context:
    """``with charting():`` applies :func:`rc` for the duration."""

    def __init__(self, cjk: bool):
        self.cjk = cjk

    def __enter__(self) -> None:
        import matplotlib

        self._ctx = matplotlib.rc_context(rc(self.cjk))
        self._ctx.__enter__()

    def __exit__(self, *exc: Any) -> None:
        self._ctx.__exit__(*exc)


def charting(cjk: bool = True) -> _Context:
    return _Context(cjk)


def _legend(ax: Any, **kw: Any) -> None:
    """A legend only when something carries a label (an empty one only warns)."""
    handles, _ = ax.get_legend_handles_labels()
    if handles:
        ax.legend(**kw)


def _clamp_score_axis(ax: Any) -> None:
    """Keep an autoscaled score axis inside :data:`SCORE_LIMITS`."""
    lo, hi = ax.get_ylim()
    ax.set_ylim(max(lo, SCORE_LIMITS[0]), min(hi, SCORE_LIMITS[1]))


def _mmss_axis() -> Any:
    """Tick labels for an axis in minutes, written as m:ss like every duration in the reports."""
    from matplotlib.ticker import FuncFormatter

    from qa_pipeline.report.filters import mmss

    return FuncFormatter(lambda v, _pos: mmss(v * 60.0))


def _nothing_to_show(ax: Any, text: str) -> None:
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", fontsize=8, color="#555555")


def _short(name: str, n: int = 18) -> str:
    name = str(name)
    return name if len(name) <= n else name[: n - 1] + "…"


def fit_span(weeks: Any, origin: pd.Timestamp, intercept: float, slope: float) -> tuple[list[pd.Timestamp], list[float]] | None:
    """The fitted line's end points across the observed weeks only.

    The line runs from the middle of the first observed week to the middle of the last, where
    the weekly means are drawn: extended over weeks without data, a slope fitted to a week or
    two runs far outside the 0–100 score range.

    Args:
        weeks: Week starts that have data.
        origin: Time zero of the fit.
        intercept: Fitted score at ``origin``.
        slope: Fitted score points per week.

    Returns:
        ``(times, scores)`` of the two end points, or None when the fit is undefined or fewer
        than two weeks have data.
    """
    if not (np.isfinite(intercept) and np.isfinite(slope)):
        return None
    observed = np.asarray(weeks, dtype="datetime64[ns]")
    observed = observed[~np.isnat(observed)]
    if len(observed) == 0 or observed.min() == observed.max():
        return None
    xs = [pd.Timestamp(observed.min()) + HALF_WEEK, pd.Timestamp(observed.max()) + HALF_WEEK]
    return xs, [float(intercept + slope * ((x - origin) / WEEK)) for x in xs]


def _fit_line(ax: Any, origin: pd.Timestamp, weeks: Any, intercept: float, slope: float, colour: str) -> None:
    span = fit_span(weeks, origin, intercept, slope)
    if span is not None:
        ax.plot(span[0], span[1], color=colour, ls="--", lw=1.1)


def team_trends(team_weekly: pd.DataFrame, teams: pd.DataFrame, origin: pd.Timestamp, end: pd.Timestamp) -> Markup:
    """Weekly mean score per team with each team's fitted OLS line."""
    import matplotlib.dates as mdates

    with charting():
        fig, axes = new_figure(6.4, 3.2)
        ax = axes[0, 0]
        for i, row in enumerate(teams.itertuples(index=False)):
            colour = OKABE_ITO[i % len(OKABE_ITO)]
            wk = team_weekly.loc[team_weekly["team"] == row.team]
            ax.plot(wk["week"] + HALF_WEEK, wk["mean"], marker="os^Dv<>p"[i % 8], ms=4, color=colour,
                    ls=LINESTYLES[i % len(LINESTYLES)], label=f"{_short(row.team)} ({row.direction})")
            _fit_line(ax, origin, wk["week"], row.intercept, row.slope_per_week, colour)
        ax.set_xlim(origin, end)
        ax.set_ylim(*SCORE_LIMITS)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(ax.xaxis.get_major_locator()))
        ax.set_ylabel("weekly mean score")
        ax.set_title("Team trend (weekly means, dashed: fitted trend)")
        _legend(ax, loc="best")
        return to_svg(fig, "Team weekly mean scores")


def agent_trend_grid(weekly: pd.DataFrame, agents: pd.DataFrame, origin: pd.Timestamp, end: pd.Timestamp,
                     ncols: int = 4) -> Markup:
    """Small multiples: weekly means and fitted trend of a few agents, shared axes."""
    from matplotlib.ticker import FixedFormatter, FixedLocator
    import matplotlib.dates as mdates

    n = len(agents)
    nrows = max(1, int(np.ceil(n / ncols)))
    with charting():
        fig, axes = new_figure(7.0, 1.45 * nrows + 0.3, nrows, ncols, sharex=True, sharey=True)
        by_agent = {k: g for k, g in weekly.groupby("agent_id", sort=False)}
        mid = origin + (end - origin) / 2
        ticks = [mdates.date2num(t) for t in (origin, mid, end)]
        labels = [pd.Timestamp(t).strftime("%d %b") for t in (origin, mid, end)]
        for k, ax in enumerate(axes.ravel()):
            if k >= n:
                ax.set_visible(False)
                continue
            row = agents.iloc[k]
            colour, marker = FLAG_STYLE.get(row["flag"], (GREY, "o"))
            wk = by_agent.get(row["agent_id"])
            if wk is not None:
                ax.plot(wk["week"] + HALF_WEEK, wk["mean"], marker=marker, ms=3, color=colour, lw=1.2)
                _fit_line(ax, origin, wk["week"], row["intercept"], row["slope_per_week"], "#000000")
            if pd.notna(row["team_median"]):
                ax.axhline(row["team_median"], color=GREY, lw=0.7, ls=":")
            ax.set_title(f"{_short(row['agent_name'], 16)} · {row['flag'].replace('_', ' ')}", fontsize=7, fontweight="normal")
            ax.grid(False)
            ax.tick_params(labelsize=6.5)
            ax.set_ylim(*SCORE_LIMITS)
            ax.yaxis.set_major_locator(FixedLocator([0, 50, 100]))
            ax.xaxis.set_major_locator(FixedLocator(ticks))
            ax.xaxis.set_major_formatter(FixedFormatter(labels))
        return to_svg(fig, "Agent trends")


def pass_rate_heatmap(rates: pd.DataFrame, agents: pd.DataFrame) -> Markup | None:
    """Criterion × agent pass-rate grid (cividis: readable in grey and for colour-blind readers).

    Args:
        rates: Rows of ``agent_id``, ``criterion_id``, ``criterion_title``, ``pass_rate``.
        agents: The agents to show, in display order (``agent_id``, ``agent_name``).

    Returns:
        The chart, or None when there are no criterion results.
    """
    if rates.empty or agents.empty:
        return None
    grid = rates.pivot_table(index="agent_id", columns="criterion_id", values="pass_rate", aggfunc="first")
    grid = grid.reindex(agents["agent_id"])
    titles = rates.drop_duplicates("criterion_id").set_index("criterion_id")["criterion_title"]
    cols = list(grid.columns)
    values = grid.to_numpy(dtype=float)
    with charting():
        fig, axes = new_figure(min(1.6 + 0.62 * len(cols), 7.2), 0.9 + 0.2 * len(grid))
        ax = axes[0, 0]
        ax.grid(False)
        im = ax.imshow(np.ma.masked_invalid(values), cmap="cividis", vmin=0, vmax=1, aspect="auto", interpolation="nearest")
        # Upright labels: slanted ones overlap their neighbours' boxes when columns are narrow.
        ax.set_xticks(range(len(cols)), [_short(titles.get(c, c), 16) for c in cols], rotation=90, ha="center", va="bottom", fontsize=7)
        ax.set_yticks(range(len(grid)), [_short(n, 22) for n in agents["agent_name"]], fontsize=7)
        ax.xaxis.set_ticks_position("top")
        ax.xaxis.set_label_position("top")
        # Numbers in the cells keep the chart readable in grey print, but each is an SVG
        # element: large grids rely on the colour scale alone.
        annotate = values.size <= 400
        for (i, j), v in np.ndenumerate(values):
            if annotate and np.isfinite(v):
                ax.text(j, i, f"{100 * v:.0f}", ha="center", va="center", fontsize=6, color="white" if v < 0.55 else "black")
        from matplotlib.ticker import PercentFormatter

        cbar = fig.colorbar(im, ax=ax, shrink=0.6, pad=0.02)
        cbar.ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        cbar.set_label("pass rate")
        return to_svg(fig, "Pass rate by criterion and agent")


def aht_distribution(calls: pd.DataFrame, teams: Sequence[str]) -> Markup:
    """Histogram of handle time (minutes) per team, as outlined steps."""
    with charting():
        fig, axes = new_figure(6.4, 2.8)
        ax = axes[0, 0]
        minutes = calls["duration_s"] / 60.0
        hi = float(np.nanpercentile(minutes, 99.5)) if len(minutes) else 1.0
        bins = np.linspace(0, max(hi, 1.0), 40)
        for i, team in enumerate(teams):
            sub = minutes.loc[calls["team"] == team]
            ax.hist(sub.clip(upper=bins[-1]), bins=bins, histtype="step", lw=1.4, color=OKABE_ITO[i % len(OKABE_ITO)],
                    ls=LINESTYLES[i % len(LINESTYLES)], label=_short(team))
        ax.xaxis.set_major_formatter(_mmss_axis())
        ax.set_xlabel("handle time (m:ss)")
        ax.set_ylabel("calls")
        ax.set_title("Handle time distribution")
        _legend(ax)
        return to_svg(fig, "Handle time distribution")


def agent_aht(agents: pd.DataFrame) -> Markup:
    """Dot plot of each shown agent's mean handle time against their team's."""
    data = agents.sort_values("aht_s")
    with charting():
        fig, axes = new_figure(6.4, 0.8 + 0.17 * len(data))
        ax = axes[0, 0]
        y = np.arange(len(data))
        ax.hlines(y, 0, data["aht_s"] / 60, color="#DDDDDD", lw=0.8)
        ax.plot(data["aht_s"] / 60, y, "o", color=OKABE_ITO[0], ms=4, label="agent")
        if "team_aht_s" in data:
            ax.plot(data["team_aht_s"] / 60, y, "|", color=OKABE_ITO[3], ms=8, mew=1.5, label="team mean")
        ax.set_yticks(y, [_short(n, 22) for n in data["agent_name"]], fontsize=6.5)
        ax.xaxis.set_major_formatter(_mmss_axis())
        ax.set_xlabel("average handle time (m:ss)")
        ax.set_title("Average handle time per agent")
        ax.grid(axis="y", visible=False)
        _legend(ax, loc="lower right")
        return to_svg(fig, "Average handle time per agent")


class AgentChart:
    """Draws agent charts on one reused figure.

    Axes, ticks and styling are built once per render and only the data changes between
    agents, which makes an agent's chart several times cheaper than a fresh figure. The legend
    is left to the page (see the agent template) for the same reason.

    Args:
        start: Period start (left edge).
        end: Period end (right edge).
    """

    def __init__(self, start: pd.Timestamp, end: pd.Timestamp):
        import matplotlib.dates as mdates
        from matplotlib.ticker import FixedFormatter, FixedLocator

        self.origin = pd.Timestamp(start)
        self.end = pd.Timestamp(end)
        with charting(cjk=False):
            fig, axes = new_figure(7.0, 3.9, 2, 1, layout=None, sharex=True, gridspec_kw={"height_ratios": [2.3, 1]})
            fig.subplots_adjust(left=0.075, right=0.99, top=0.98, bottom=0.075, hspace=0.08)
            ax, ax2 = axes[0, 0], axes[1, 0]
            self.band = ax.axhspan(0, 0, color="#56B4E9", alpha=0.15, lw=0)
            self.lcl3 = ax.axhline(np.nan, color=OKABE_ITO[3], lw=0.8, ls=":")
            self.ucl3 = ax.axhline(np.nan, color=OKABE_ITO[3], lw=0.8, ls=":")
            self.mean = ax.axhline(np.nan, color=GREY, lw=0.8)
            self.calls = ax.plot([], [], "o", ms=2.6, color="#777777", alpha=0.55)[0]
            self.flagged = ax.plot([], [], "D", ms=4, color=OKABE_ITO[3])[0]
            self.weekly = ax.plot([], [], "o-", ms=4, color=OKABE_ITO[0])[0]
            self.fit = ax.plot([], [], color="#000000", ls="--", lw=1.1)[0]
            ax.set_ylim(*SCORE_LIMITS)
            ax.yaxis.set_major_locator(FixedLocator([0, 20, 40, 60, 80, 100]))
            ax.set_ylabel("QA score")
            self.team_aht = ax2.plot([], [], "s--", ms=3, color=GREY, lw=1)[0]
            self.agent_aht = ax2.plot([], [], "o-", ms=3.5, color=OKABE_ITO[1])[0]
            ax2.yaxis.set_major_formatter(_mmss_axis())
            ax2.set_ylabel("handle time")
            ax.set_xlim(self.origin, self.end)
            # The period is the same for every agent: fix the date ticks once.
            lo, hi = mdates.date2num(self.origin), mdates.date2num(self.end)
            ticks = [t for t in mdates.AutoDateLocator(maxticks=8).tick_values(self.origin, self.end) if lo <= t <= hi]
            ax2.xaxis.set_major_locator(FixedLocator(ticks))
            ax2.xaxis.set_major_formatter(FixedFormatter([mdates.num2date(t).strftime("%d %b") for t in ticks]))
            self.fig, self.ax, self.ax2 = fig, ax, ax2

    def render(
        self,
        times: np.ndarray,
        scores: np.ndarray,
        flagged: np.ndarray,
        weeks: np.ndarray,
        week_means: np.ndarray,
        limits: dict[str, float],
        fit: tuple[float, float],
        aht_weeks: np.ndarray,
        aht_means_s: np.ndarray,
        team_aht_weeks: np.ndarray,
        team_aht_means_s: np.ndarray,
    ) -> Markup:
        """One agent's chart: calls, weekly means, fitted trend and team control limits above;
        weekly handle time against the team's below.

        Args:
            times: Call start times.
            scores: Call scores.
            flagged: Calls beyond the team's 2σ limits.
            weeks: Week starts of the weekly means.
            week_means: Weekly mean scores.
            limits: The team's ``mean``, ``lcl2``, ``ucl2``, ``lcl3``, ``ucl3``.
            fit: OLS ``(intercept, slope per week)`` with time zero at the period start; drawn
                across the observed weeks only (see :func:`fit_span`).
            aht_weeks: Week starts of the agent's weekly handle time.
            aht_means_s: The agent's weekly mean handle time, seconds.
            team_aht_weeks: Week starts of the team's weekly handle time.
            team_aht_means_s: The team's weekly mean handle time, seconds.
        """
        half_week = np.timedelta64(84, "h")
        lo2, hi2 = limits.get("lcl2", np.nan), limits.get("ucl2", np.nan)
        if np.isfinite(lo2) and np.isfinite(hi2):
            self.band.set_visible(True)
            self.band.set_y(max(lo2, -5.0))
            self.band.set_height(min(hi2, 105.0) - max(lo2, -5.0))
        else:
            self.band.set_visible(False)
        for line, key in ((self.lcl3, "lcl3"), (self.ucl3, "ucl3"), (self.mean, "mean")):
            v = limits.get(key, np.nan)
            line.set_visible(bool(np.isfinite(v) and -5 < v < 105))
            line.set_ydata([v, v])
        ok = ~flagged
        self.calls.set_data(times[ok], scores[ok])
        self.flagged.set_data(times[flagged], scores[flagged])
        self.weekly.set_data(weeks + half_week, week_means)
        span = fit_span(weeks, self.origin, *fit)
        if span is not None:
            self.fit.set_data(*span)
            self.fit.set_visible(True)
        else:
            self.fit.set_visible(False)
        self.team_aht.set_data(team_aht_weeks + half_week, team_aht_means_s / 60.0)
        self.agent_aht.set_data(aht_weeks + half_week, aht_means_s / 60.0)
        values = np.concatenate([aht_means_s, team_aht_means_s]) / 60.0
        values = values[np.isfinite(values)]
        if len(values):
            pad = max(0.25, 0.1 * float(values.max() - values.min()))
            self.ax2.set_ylim(float(values.min()) - pad, float(values.max()) + pad)
        with charting(cjk=False):
            return to_svg(self.fig, "Score trend with control limits, and handle time", tight=False)


