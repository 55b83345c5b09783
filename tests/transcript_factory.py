"""Build hand-made transcripts for scoring tests.

``make_transcript([("agent", 0.0, "Thank you for calling"), ("customer", 2.5, "Hi")])``
gives a transcript whose words are evenly spaced: each word lasts ``word_seconds`` with
``gap_seconds`` between words, so a turn's end is predictable. Chinese text (no spaces) is
split into one word per character.
"""

from __future__ import annotations

from typing import Iterable

from qa_pipeline.transcript import (
    AudioInfo,
    RoleAssignment,
    RolesSource,
    Speaker,
    Transcript,
    Turn,
    Word,
    merge_turns,
)

WORD_SECONDS = 0.3
GAP_SECONDS = 0.1


def _split(text: str) -> list[str]:
    if " " not in text.strip() and any("\u4e00" <= ch <= "\u9fff" for ch in text):
        return [ch for ch in text if not ch.isspace()]
    return text.split()


def make_turn(
    speaker: str,
    start: float,
    text: str,
    word_seconds: float = WORD_SECONDS,
    gap_seconds: float = GAP_SECONDS,
) -> Turn:
    """One turn with evenly spaced words starting at ``start``."""
    words = []
    t = start
    for w in _split(text):
        words.append(Word(w, round(t, 3), round(t + word_seconds, 3), 0.9))
        t += word_seconds + gap_seconds
    return Turn(Speaker(speaker), tuple(words), 0 if speaker == "agent" else 1)


def turn_end(
    start: float, text: str, word_seconds: float = WORD_SECONDS, gap_seconds: float = GAP_SECONDS
) -> float:
    """Where :func:`make_turn` would end a turn."""
    n = len(_split(text))
    return start + n * word_seconds + (n - 1) * gap_seconds


def make_transcript(
    script: Iterable[tuple[str, float, str]],
    *,
    duration: float | None = None,
    language: str = "en",
    roles_inferred: bool = False,
    call_id: str = "call-1",
    word_seconds: float = WORD_SECONDS,
    gap_seconds: float = GAP_SECONDS,
) -> Transcript:
    """A transcript from ``(speaker, start_seconds, text)`` lines.

    Args:
        script: The lines; ``speaker`` is ``agent`` or ``customer``.
        duration: Recording length; default: 1 s after the last word.
        language: Transcript language code.
        roles_inferred: Mark the roles as guessed from a mono recording.
        call_id: The call id.
        word_seconds: Length of each word.
        gap_seconds: Pause between words within a turn.
    """
    turns = [make_turn(s, start, text, word_seconds, gap_seconds) for s, start, text in script]
    last = max((t.end for t in turns), default=0.0)
    roles = (
        RoleAssignment(RolesSource.INFERRED, "mono_alternation", None, 0.6, "test: roles guessed")
        if roles_inferred
        else RoleAssignment(RolesSource.CHANNEL, "configured", 0, 1.0, "test: agent on channel 0")
    )
    return Transcript(
        call_id=call_id,
        audio=AudioInfo(
            f"{call_id}.wav",
            "0" * 64,
            duration if duration is not None else last + 1.0,
            8000,
            1 if roles_inferred else 2,
        ),
        roles=roles,
        language=language,
        engine="test",
        model="hand-made",
        turns=merge_turns(turns),
    )
