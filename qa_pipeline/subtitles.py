"""Transcript exports for people and players: WebVTT, SubRip and plain text."""

from __future__ import annotations

from typing import Callable

from qa_pipeline.transcript import Transcript

FORMATS = ("json", "vtt", "srt", "txt")


def _clock(seconds: float, sep: str) -> str:
    ms = int(round(seconds * 1000))
    h, rem = divmod(ms, 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, ms = divmod(rem, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def to_vtt(t: Transcript) -> str:
    """WebVTT with one cue per turn and the speaker as a voice tag (``<v Agent>``)."""
    lines = ["WEBVTT", ""]
    for i, turn in enumerate(t.turns, 1):
        lines += [
            str(i),
            f"{_clock(turn.start, '.')} --> {_clock(turn.end, '.')}",
            f"<v {turn.speaker.value.title()}>{_escape_vtt(turn.text)}",
            "",
        ]
    return "\n".join(lines)


def _escape_vtt(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_srt(t: Transcript) -> str:
    """SubRip with one numbered cue per turn, prefixed by the speaker."""
    lines: list[str] = []
    for i, turn in enumerate(t.turns, 1):
        lines += [
            str(i),
            f"{_clock(turn.start, ',')} --> {_clock(turn.end, ',')}",
            f"{turn.speaker.value.upper()}: {turn.text}",
            "",
        ]
    return "\n".join(lines)


def to_txt(t: Transcript) -> str:
    """A readable conversation: ``[mm:ss] AGENT: text`` per turn."""
    lines = [
        f"# {t.call_id} — {t.audio.duration:.1f}s, {t.language}, {t.engine} {t.model}; "
        f"roles: {t.roles.method} ({t.roles.reason})"
    ]
    for turn in t.turns:
        m, s = divmod(int(turn.start), 60)
        lines.append(f"[{m:02d}:{s:02d}] {turn.speaker.value.upper()}: {turn.text}")
    return "\n".join(lines) + "\n"


def to_json(t: Transcript) -> str:
    return t.to_json()


WRITERS: dict[str, Callable[[Transcript], str]] = {
    "json": to_json,
    "vtt": to_vtt,
    "srt": to_srt,
    "txt": to_txt,
}
