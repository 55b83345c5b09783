"""The call page's content: conversation with evidence marked in place, verdicts, timeline."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any
from urllib.parse import quote

from markupsafe import Markup

from qa_pipeline.callrecord import EVENTS_COLUMN, parse_events
from qa_pipeline.errors import ConfigError, ReportError
from qa_pipeline.report import svg
from qa_pipeline.report.audio import site_audio
from qa_pipeline.stats.frames import EvidenceItem, parse_evidence
from qa_pipeline.transcript import Transcript, join_words

# A word belongs to an evidence span when it overlaps it by more than this (seconds), so a
# word that merely touches the span's edge is not marked.
_EDGE_SECONDS = 0.02
# For calls scored before events were stored: hold evidence marks a gap as a hold when it
# lies within this many seconds of it.
_HOLD_REACH_SECONDS = 2.0


@dataclass(frozen=True)
class Segment:
    """A run of words in a turn that share the same evidence marks.

    Attributes:
        lead: Space before the run (empty between CJK characters or before punctuation).
        text: The words.
        verdict: ``fail`` or ``pass`` when the run is evidence (fail wins), else empty.
        labels: The criteria the run is evidence for.
    """

    lead: str
    text: str
    verdict: str = ""
    labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class TurnView:
    speaker: str
    start: float
    end: float
    segments: tuple[Segment, ...]


@dataclass(frozen=True)
class EvidenceView:
    item: EvidenceItem
    verdict: str
    title: str


@dataclass(frozen=True)
class VerdictView:
    criterion_id: str
    title: str
    verdict: str
    points: float
    max_points: float
    evidence: tuple[EvidenceItem, ...]
    missing: str | None
    roles_review: bool = False


def _depends_on_party(row: dict[str, Any], items: tuple[EvidenceItem, ...], missing: str | None) -> bool:
    """Whether a verdict hangs on who is the agent.

    Rows that carry the scorer's own ``roles_review`` flag use it; otherwise a verdict whose
    evidence quotes a party, or that failed for what a party did not say, depends on it.
    """
    if "roles_review" in row and row["roles_review"] is not None:
        return bool(row["roles_review"])
    return any(item.speaker for item in items) or bool(missing)


@dataclass(frozen=True)
class CallView:
    """Everything the call page shows.

    Attributes:
        call: The call's row of the calls table, as a mapping.
        transcript: The transcript.
        turns: The conversation, evidence marked.
        verdicts: One per criterion, failures first.
        timeline: The timeline SVG.
        audio_src: URL of the recording relative to the page, or None when unreachable.
        language: The transcript's language code (for the page's ``lang``).
    """

    call: dict[str, Any]
    transcript: Transcript
    turns: tuple[TurnView, ...]
    verdicts: tuple[VerdictView, ...]
    timeline: Markup
    audio_src: str | None
    language: str


def _space_before(prev: str, word: str) -> str:
    """The separator :func:`join_words` would put between two words."""
    return "" if join_words([prev, word]) == prev.strip() + word.strip() else " "


def _mark_turns(transcript: Transcript, evidence: list[EvidenceView]) -> tuple[TurnView, ...]:
    by_speaker: dict[str, list[EvidenceView]] = {}
    for ev in evidence:
        if ev.item.speaker:
            by_speaker.setdefault(ev.item.speaker, []).append(ev)
    out = []
    for turn in transcript.turns:
        spans = by_speaker.get(turn.speaker.value, [])
        segments: list[Segment] = []
        prev = ""
        for w in turn.words:
            text = w.text.strip()
            if not text:
                continue
            hits = [
                ev for ev in spans
                if min(w.end, ev.item.end) - max(w.start, ev.item.start) > _EDGE_SECONDS
            ]
            verdict = "fail" if any(h.verdict == "fail" for h in hits) else ("pass" if hits else "")
            labels = tuple(dict.fromkeys(h.title for h in hits))
            lead = _space_before(prev, text) if prev else ""
            prev = text
            if segments and segments[-1].verdict == verdict and segments[-1].labels == labels:
                last = segments[-1]
                segments[-1] = Segment(last.lead, last.text + lead + text, verdict, labels)
            else:
                segments.append(Segment(lead, text, verdict, labels))
        out.append(TurnView(turn.speaker.value, turn.start, turn.end, tuple(segments)))
    return tuple(out)


def audio_url(
    audio_path: str | None,
    page_dir: Path,
    copy_dir: Path | None = None,
    copy_name: str = "",
    transcript: Transcript | None = None,
) -> str | None:
    """The URL of the audio a page plays, relative to the page; None when there is none.

    Args:
        audio_path: The recording.
        page_dir: Folder of the page.
        copy_dir: The site's audio folder: the page plays a copy there (redacted when the
            transcript was, see :func:`~qa_pipeline.report.audio.site_audio`); None links
            the recording as it is.
        copy_name: File-name-safe stem of that copy.
        transcript: The call's transcript, which says what to redact in the copy.
    """
    if not audio_path:
        return None
    path = Path(audio_path)
    if not path.is_file():
        return None
    if copy_dir is not None:
        copy = site_audio(path, copy_dir, copy_name, transcript)
        if copy is None:
            return None
        path = copy
    try:
        rel = os.path.relpath(path.resolve(), page_dir.resolve())
    except ValueError:  # another drive on Windows: fall back to an absolute file URL
        return path.resolve().as_uri()
    return quote(PurePath(rel).as_posix())


def build_call_view(
    call: dict[str, Any],
    criteria_rows: list[dict[str, Any]],
    transcript: Transcript,
    page_dir: Path,
    silence_seconds: float = 3.0,
    overlap_seconds: float = 0.3,
    audio_dir: Path | None = None,
    audio_name: str = "",
) -> CallView:
    """Assemble the call page.

    Args:
        call: The call's row (``call_id``, ``audio_path``, ``events``…); its stored events
            place holds, silences and interruptions on the timeline.
        criteria_rows: The call's rows of the criteria table, as mappings.
        transcript: Its transcript.
        page_dir: Folder of the call page (for the recording's relative URL).
        silence_seconds: Gaps at least this long are marked on the timeline.
        overlap_seconds: Overlaps at least this long are marked.
        audio_dir: Folder for browser-playable copies of recordings browsers cannot play;
            None links every recording as it is.
        audio_name: File-name-safe stem of the call's copy (the page's slug).
    """
    verdicts: list[VerdictView] = []
    evidence: list[EvidenceView] = []
    # Uncertain roles: flag the verdicts that would change if agent and customer were swapped.
    review = transcript.roles.review
    for row in criteria_rows:
        items = parse_evidence(row["evidence"], f"call {call['call_id']}, criterion {row['criterion_id']}")
        missing = row.get("missing")
        missing = missing if isinstance(missing, str) else None
        verdicts.append(
            VerdictView(row["criterion_id"], row["criterion_title"], row["verdict"], float(row["points"]),
                        float(row["max_points"]), items, missing,
                        review and row["verdict"] != "na" and _depends_on_party(row, items, missing))
        )
        if row["verdict"] != "na":
            evidence += [EvidenceView(item, row["verdict"], row["criterion_title"]) for item in items]
    order = {"fail": 0, "pass": 1, "na": 2}
    verdicts.sort(key=lambda v: order.get(v.verdict, 3))
    agent = [(t.start, t.end) for t in transcript.turns if t.speaker.value == "agent"]
    customer = [(t.start, t.end) for t in transcript.turns if t.speaker.value == "customer"]
    try:
        events = parse_events(call.get(EVENTS_COLUMN), f"call {call['call_id']}")
    except ConfigError as exc:
        raise ReportError(str(exc)) from exc
    holds: list[tuple[float, float]] = []
    if events is None:
        # Scored before events were stored: a gap in speech is a hold when hold evidence
        # (the announcement, the thanks, or the hold itself) touches it, as pages always did.
        holds = [
            (e.item.start - _HOLD_REACH_SECONDS, e.item.end + _HOLD_REACH_SECONDS) for e in evidence
            if "hold" in (e.item.rule + " " + e.title).lower()
        ]
    duration = max([transcript.duration] + [e for _, e in agent + customer])
    spans = svg.timeline_spans(agent, customer, duration, holds, silence_seconds, overlap_seconds, events)
    marks = [(e.item.start, e.verdict, f"{e.title}: {e.verdict} — {e.item.text}") for e in evidence]
    return CallView(
        call=call,
        transcript=transcript,
        turns=_mark_turns(transcript, evidence),
        verdicts=tuple(verdicts),
        timeline=svg.timeline(spans, duration, marks),
        audio_src=audio_url(call.get("audio_path"), page_dir, audio_dir, audio_name, transcript),
        language=transcript.language or "en",
    )
