"""Small hand-drawn SVGs: sparklines and the call timeline.

These are drawn directly rather than with matplotlib because there is one per criterion row or
call page: a few hundred bytes of markup each, in microseconds. Every text is escaped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np
from markupsafe import Markup, escape

from qa_pipeline.callrecord import CHARACTERISTICS_SOURCE, CallEvent, EventKind, EventParty
from qa_pipeline.report.filters import mmss

AGENT_COLOUR = "#0072B2"
CUSTOMER_COLOUR = "#E69F00"
OVERLAP_COLOUR = "#D55E00"
SILENCE_COLOUR = "#8C8C8C"
HOLD_COLOUR = "#CC79A7"
PASS_COLOUR = "#009E73"
FAIL_COLOUR = "#D55E00"


def sparkline(values: Sequence[float], width: int = 90, height: int = 18, lo: float = 0.0, hi: float = 1.0,
              label: str = "") -> Markup:
    """A tiny line of values (NaN gaps skipped) with the last point dotted."""
    vals = [float(v) for v in values if v is not None and np.isfinite(v)]
    if len(vals) < 2:
        return Markup("")
    span = (hi - lo) or 1.0
    step = (width - 4) / (len(vals) - 1)
    pts = [(2 + i * step, height - 2 - (v - lo) / span * (height - 4)) for i, v in enumerate(vals)]
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
    x, y = pts[-1]
    return Markup(
        f'<svg class="spark" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(label)}"><polyline points="{path}" fill="none" stroke="{AGENT_COLOUR}" '
        f'stroke-width="1.3"/><circle cx="{x:.1f}" cy="{y:.1f}" r="1.8" fill="{AGENT_COLOUR}"/></svg>'
    )


@dataclass(frozen=True)
class Span:
    """A stretch of the timeline.

    Attributes:
        kind: ``agent``, ``customer``, ``overlap``, ``interruption``, ``silence`` or ``hold``.
        start: Seconds from the start of the recording.
        end: Seconds.
        label: Tooltip text.
    """

    kind: str
    start: float
    end: float
    label: str = ""


def _merge(intervals: Iterable[tuple[float, float]]) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    for s, e in sorted(intervals):
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


def _intersect(a: list[tuple[float, float]], b: list[tuple[float, float]]) -> list[tuple[float, float]]:
    i = j = 0
    out = []
    while i < len(a) and j < len(b):
        s, e = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if s < e:
            out.append((s, e))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def timeline_spans(
    agent: Sequence[tuple[float, float]],
    customer: Sequence[tuple[float, float]],
    duration: float,
    holds: Sequence[tuple[float, float]] = (),
    silence_seconds: float = 3.0,
    overlap_seconds: float = 0.3,
    events: Sequence[CallEvent] | None = None,
) -> list[Span]:
    """Who spoke when, where both did, and the gaps.

    Args:
        agent: Agent speech intervals (turns) in seconds.
        customer: Customer speech intervals.
        duration: Length of the recording.
        holds: Without ``events`` only: intervals where hold evidence was found; gaps that
            touch them are shown as holds.
        silence_seconds: Shorter gaps in all speech are not marked.
        overlap_seconds: Shorter overlaps are not marked.
        events: The call's stored events: holds, silences (at least ``silence_seconds``)
            and interruptions are drawn where they are; a gap no hold or silence event
            covers (before the first word, say) is still drawn as silence.
    """
    a, c = _merge(agent), _merge(customer)
    spans = [Span("agent", s, e, f"agent {mmss(s)}–{mmss(e)}") for s, e in a]
    spans += [Span("customer", s, e, f"customer {mmss(s)}–{mmss(e)}") for s, e in c]
    for s, e in _intersect(a, c):
        if e - s >= overlap_seconds:
            spans.append(Span("overlap", s, e, f"both speaking {e - s:.1f} s at {mmss(s)}"))
    speech = _merge(list(a) + list(c))
    edges = [0.0] + [x for iv in speech for x in iv] + [duration]
    if events is not None:
        return spans + _event_spans(events, edges, silence_seconds)
    hold_ivs = _merge(holds)
    for s, e in zip(edges[0::2], edges[1::2]):
        if e - s < silence_seconds:
            continue
        is_hold = any(hs < e and he > s for hs, he in hold_ivs)
        kind = "hold" if is_hold else "silence"
        spans.append(Span(kind, s, e, f"{'hold' if is_hold else 'no one speaking'} {e - s:.1f} s at {mmss(s)}"))
    return spans


def _event_spans(events: Sequence[CallEvent], edges: list[float], silence_seconds: float) -> list[Span]:
    gaps: list[Span] = []
    timed: list[Span] = []
    quiet: list[tuple[float, float]] = []
    for ev in events:
        s, e = ev.start_s, ev.end_s
        if ev.kind is EventKind.HOLD:
            timed.append(Span("hold", s, e, _hold_label(ev)))
            quiet.append((s, e))
        elif ev.kind is EventKind.SILENCE:
            quiet.append((s, e))
            if e - s >= silence_seconds:
                timed.append(Span("silence", s, e, f"no one speaking {e - s:.1f} s at {mmss(s)}"))
        elif ev.kind is EventKind.INTERRUPTION:
            other = "customer" if ev.who is EventParty.AGENT else "agent"
            timed.append(Span("interruption", s, e, f"{ev.who.value} interrupted the {other} at {mmss(s)}, both speaking {e - s:.1f} s"))
    quiet = _merge(quiet)
    for s, e in zip(edges[0::2], edges[1::2]):
        if e - s >= silence_seconds and not any(qs < e and qe > s for qs, qe in quiet):
            gaps.append(Span("silence", s, e, f"no one speaking {e - s:.1f} s at {mmss(s)}"))
    # In time order, as gaps always were: the same call draws the same markup.
    return sorted(gaps + timed, key=lambda sp: (sp.start, sp.end, sp.kind))


def _hold_label(ev: CallEvent) -> str:
    label = f"hold {ev.duration_s:.1f} s at {mmss(ev.start_s)}"
    if ev.text:
        label += f" {ev.text}"
    if ev.source != CHARACTERISTICS_SOURCE:
        label += f"; announced at {mmss(ev.announced_s)}" if ev.announced_s is not None else "; not announced"
        if ev.thanked_s is not None:
            label += f"; caller thanked at {mmss(ev.thanked_s)}"
    return label


def _ticks(duration: float) -> list[float]:
    for step in (5, 10, 15, 30, 60, 120, 300, 600, 900, 1800):
        if duration / step <= 10:
            return list(np.arange(0, duration + 1e-9, step))
    return list(np.linspace(0, duration, 6))


def timeline(spans: Sequence[Span], duration: float, marks: Sequence[tuple[float, str, str]] = (), width: int = 760) -> Markup:
    """The call timeline as SVG: agent and customer rows, overlaps, silences and holds, evidence.

    Args:
        spans: From :func:`timeline_spans`.
        duration: Seconds.
        marks: Evidence points ``(time, verdict, label)``; verdict colours the marker.
        width: Pixels.
    """
    left, right, top = 74, 10, 6
    row_h, gap = 16, 6
    rows = {"agent": 0, "customer": 1, "overlap": 2, "interruption": 2, "silence": 2, "hold": 2}
    colours = {"agent": AGENT_COLOUR, "customer": CUSTOMER_COLOUR, "overlap": OVERLAP_COLOUR,
               "interruption": OVERLAP_COLOUR, "silence": SILENCE_COLOUR, "hold": HOLD_COLOUR}
    names = ("Agent", "Customer", "Overlap/gap")
    plot_w = width - left - right
    dur = max(duration, 1e-6)
    height = top + 3 * (row_h + gap) + 14 + (12 if marks else 0)

    def x(t: float) -> float:
        return left + max(0.0, min(t, dur)) / dur * plot_w

    out = [f'<svg class="timeline" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
           f'aria-label="Who spoke when">']
    for i, name in enumerate(names):
        y = top + i * (row_h + gap)
        out.append(f'<rect x="{left}" y="{y}" width="{plot_w}" height="{row_h}" fill="#F4F4F4"/>')
        out.append(f'<text x="{left - 6}" y="{y + row_h - 4}" text-anchor="end" font-size="11">{name}</text>')
    for sp in spans:
        y = top + rows[sp.kind] * (row_h + gap)
        x0, x1 = x(sp.start), x(sp.end)
        w = max(x1 - x0, 1.0)
        extra = ""
        if sp.kind == "silence":
            extra = ' fill-opacity="0.45"'
        elif sp.kind == "hold":
            extra = ' stroke="#000" stroke-dasharray="3,2" stroke-width="0.8"'
        elif sp.kind == "interruption":
            # Drawn over the overlap it belongs to, outlined so it reads as more than overlap.
            extra = ' stroke="#000" stroke-width="1"'
        out.append(f'<rect class="{sp.kind}" x="{x0:.1f}" y="{y + 1}" width="{w:.1f}" height="{row_h - 2}" '
                   f'fill="{colours[sp.kind]}"{extra}><title>{escape(sp.label)}</title></rect>')
        if sp.kind == "hold" and w > 30:
            out.append(f'<text x="{x0 + w / 2:.1f}" y="{y + row_h - 4}" text-anchor="middle" font-size="10">hold</text>')
    axis_y = top + 3 * (row_h + gap)
    for t in _ticks(dur):
        out.append(f'<line x1="{x(t):.1f}" x2="{x(t):.1f}" y1="{top}" y2="{axis_y - gap + 2}" stroke="#CCC" stroke-width="0.5"/>')
        out.append(f'<text x="{x(t):.1f}" y="{axis_y + 8}" text-anchor="middle" font-size="10">{mmss(t)}</text>')
    for t, verdict, label in marks:
        colour = PASS_COLOUR if verdict == "pass" else FAIL_COLOUR
        cx, cy = x(t), axis_y + 16
        shape = (f'<circle cx="{cx:.1f}" cy="{cy}" r="3.5" fill="{colour}">' if verdict == "pass" else
                 f'<path d="M{cx - 4:.1f},{cy + 3} L{cx + 4:.1f},{cy + 3} L{cx:.1f},{cy - 4} Z" fill="{colour}">')
        tag = "circle" if verdict == "pass" else "path"
        out.append(f"{shape}<title>{escape(label)}</title></{tag}>")
    out.append("</svg>")
    return Markup("".join(out))
