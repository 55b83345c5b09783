"""``interruptions``: a party talks over the other at most ``max_count`` times.

Fields::

    interrupter: agent          # whose interruptions count (agent | customer)
    max_count: 0                # pass when the count is at most this

What counts as an interruption (overlap, latching, simultaneous starts, acknowledgements and
echo confirmations) is defined by the call characteristics; see
:mod:`qa_pipeline.overlaps`. Each interruption is quoted in plain words::

    Agent at 2:48 started "let me stop" while the customer was still saying "refunded
    please" — talked over them for 1.2 s

and the overlaps the party started that were not counted are summed up by reason, with a
note for each of the five longest, so a reviewer can check them.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Any

from qa_pipeline.criteria.base import BuildContext, Criterion, Evidence, Outcome
from qa_pipeline.criteria.context import ScoringContext
from qa_pipeline.criteria.fields import FieldReader
from qa_pipeline.overlaps import KIND_NAMES, Overlap, not_counted_summary
from qa_pipeline.textmatch import TokenTrack, fast_join
from qa_pipeline.transcript import Speaker

# Overlaps not counted that are quoted one by one.
_MAX_NOTES = 5
# Longest quote in an evidence sentence, in words; longer ones keep their start and end.
_QUOTE_WORDS = 8


def clock(seconds: float) -> str:
    """``m:ss`` (``h:mm:ss`` from an hour), rounded down so it points into the moment."""
    total = int(max(seconds, 0.0))
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def _quote(track: TokenTrack, lo: int, hi: int) -> str:
    words = [w.text for w in track.words[lo:hi]]
    if len(words) > _QUOTE_WORDS:
        half = _QUOTE_WORDS // 2
        words = [*words[:half], "…", *words[-half:]]
    return fast_join(words)


def _words_from(track: TokenTrack, start: float, end: float) -> str:
    """The speaker's words that start within [start, end]; at least the first from ``start``."""
    starts = track.word_starts
    lo = bisect.bisect_left(starts, start - 1e-6)
    hi = max(bisect.bisect_right(starts, end), min(lo + 1, len(starts)))
    return _quote(track, lo, hi)


def _words_during(track: TokenTrack, start: float, end: float) -> str:
    """The speaker's words sounding at some time within (start, end)."""
    ends = track.word_ends
    lo = bisect.bisect_right(ends, start)
    hi = bisect.bisect_left(track.word_starts, end)
    return _quote(track, lo, max(hi, lo))


def _turn_text_at(ctx: ScoringContext, speaker: Speaker, start: float) -> str | None:
    """The text of the speaker's turn that starts at ``start``, if there is one."""
    starts = ctx.track(speaker).turn_times()[0]
    k = bisect.bisect_left(starts, start)
    return ctx.turn_text(speaker, k) if k < len(starts) and abs(starts[k] - start) < 1e-6 else None


def _not_counted_note(ctx: ScoringContext, o: Overlap) -> Evidence:
    who = o.speaker
    said = _words_from(ctx.track(who), o.turn_start, max(o.end, o.turn_start))
    name = KIND_NAMES[o.kind][0]
    return Evidence(
        "note",
        f"{who.value.capitalize()} at {clock(o.turn_start)} said \"{said}\" over the {who.other().value} for "
        f"{o.duration_seconds:.1f} s: {name}, not counted",
        who,
        o.start,
        o.end,
        said,
    )


@dataclass(frozen=True)
class InterruptionsCriterion(Criterion):
    """At most ``max_count`` interruptions by one party."""

    type_name = "interruptions"

    interrupter: str
    max_count: int

    @classmethod
    def parse(cls, fields: FieldReader, build: BuildContext) -> "InterruptionsCriterion":
        interrupter = fields.choice("interrupter", ("agent", "customer"), "agent")
        max_count = fields.number("max_count", 0, minimum=0, integer=True)
        return cls(interrupter, max_count)

    def to_dict(self) -> dict[str, Any]:
        return {"interrupter": self.interrupter, "max_count": self.max_count}

    def evaluate(self, ctx: ScoringContext) -> Outcome:
        who = Speaker(self.interrupter)  # parse allows agent | customer only
        other = who.other()
        found = ctx.characteristics.interruptions_by(who)
        evidence = []
        for item in found:
            mine = _turn_text_at(ctx, who, item.start)
            theirs = _turn_text_at(ctx, other, item.interrupted_turn_start)
            started = _words_from(ctx.track(who), item.start, item.end)
            talked_over = _words_during(ctx.track(other), item.start, item.end)
            evidence.append(
                Evidence(
                    "event",
                    f"{who.value.capitalize()} at {clock(item.start)} started \"{started}\" while the {other.value} "
                    f"was still saying \"{talked_over}\" — talked over them for {item.duration_seconds:.1f} s",
                    who,
                    item.start,
                    item.end,
                    mine if mine is not None else started,
                    f"{other.value}: {theirs}" if theirs is not None else "",
                )
            )
        skipped = ctx.characteristics.overlaps_not_counted_by(who)
        # A listener's every "mm-hmm" is an overlap: the summary counts them all, and notes
        # quote the few that talked over longest, the ones worth a second look.
        noted = sorted(sorted(skipped, key=lambda o: -o.duration_seconds)[:_MAX_NOTES], key=lambda o: o.start)
        evidence.extend(_not_counted_note(ctx, o) for o in noted)
        summary = f"{len(found)} {who.value} interruption(s), at most {self.max_count} allowed"
        note = not_counted_summary(skipped)
        if note:
            summary = f"{summary}; {note}"
        if len(found) <= self.max_count:
            return Outcome.passed(summary, evidence)
        return Outcome.failed(summary, evidence)
