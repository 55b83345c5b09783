"""Redact personal data in a transcript: the words that said it become one token per entity.

Each party's words are read on their own (numbers, e-mail addresses, dates of birth, IBANs);
prompts are heard from both parties, so the agent's "what's the security code?" makes the
customer's "seven three one" a CVV. Every found span of words is replaced by a single word
(``[CARD]``, ``[PHONE]``…) that keeps the first word's start and the last word's end, so
timing-based measures (talk time, silences, interruptions) are unchanged. The result also
lists the redacted spans — entity, speaker, channel and times, never the text — for the
redacted audio copy and for reports.
"""

from __future__ import annotations

import bisect
import re
from collections import Counter
from dataclasses import dataclass, replace
from typing import Any, Callable, Sequence

from qa_pipeline.lang import load_languages
from qa_pipeline.log import get_logger
from qa_pipeline.pii.context import CueIndex, cue_at
from qa_pipeline.pii.findings import Finding, PartyWords
from qa_pipeline.pii.options import DETECTOR_VERSION, TOKENS, Entity, RedactionOptions
from qa_pipeline.transcript import Speaker, Transcript, Word

log = get_logger("pii")

# When two findings overlap they become one span of the entity listed first here.
PRIORITY: tuple[Entity, ...] = (
    Entity.CN_ID, Entity.IBAN, Entity.CARD, Entity.SSN, Entity.BANK_ACCOUNT, Entity.PHONE, Entity.EMAIL,
    Entity.CVV, Entity.DOB,
)
_TOKEN_ENTITY = {token: entity for entity, token in TOKENS.items()}
_TOKEN = re.compile(r"(\[[A-Z_]+\])([.,!?;:。，！？]*)")
_TRAILING = ".,!?;:。，！？"
_DOB_WORDS_BACK = 10
_DOB_SECONDS_AFTER = 3.0
# How many words (either party) an e-mail prompt still covers: a long question ("can I get
# your email address so we can send…") and a hesitant answer put the address far from it.
_EMAIL_PROMPT_WORDS = 40


@dataclass(frozen=True)
class RedactedSpan:
    """A stretch of one party's speech that was redacted.

    Attributes:
        entity: What it was.
        speaker: Who said it.
        channel: The audio channel the words came from (0 for mono).
        start: Start of the first redacted word, in seconds.
        end: End of the last redacted word, in seconds.
    """

    entity: Entity
    speaker: Speaker
    channel: int
    start: float
    end: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "entity": self.entity.value,
            "speaker": self.speaker.value,
            "channel": self.channel,
            "start": round(self.start, 3),
            "end": round(self.end, 3),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "RedactedSpan":
        return cls(
            entity=Entity(data["entity"]),
            speaker=Speaker(data["speaker"]),
            channel=int(data.get("channel", 0)),
            start=float(data["start"]),
            end=float(data["end"]),
        )


@dataclass(frozen=True)
class RedactionResult:
    """A redacted transcript and what was redacted in it.

    Attributes:
        transcript: The transcript with personal data replaced by tokens; its ``options``
            carry a ``redaction`` entry (enabled, entities, counts).
        spans: The redacted spans in time order.
    """

    transcript: Transcript
    spans: tuple[RedactedSpan, ...]

    def counts(self) -> dict[str, int]:
        """How many spans of each entity were redacted."""
        return dict(Counter(s.entity.value for s in self.spans))


@dataclass(frozen=True)
class _Party:
    speaker: Speaker
    words: tuple[Word, ...]
    where: tuple[tuple[int, int], ...]  # (turn index, word index) of each word


def _parties(transcript: Transcript) -> list[_Party]:
    parties = []
    for speaker in Speaker:
        words: list[Word] = []
        where: list[tuple[int, int]] = []
        for ti, turn in enumerate(transcript.turns):
            if turn.speaker is speaker:
                for wi, w in enumerate(turn.words):
                    words.append(w)
                    where.append((ti, wi))
        if words:
            parties.append(_Party(speaker, tuple(words), tuple(where)))
    return parties


def find_pii(transcript: Transcript, options: RedactionOptions | None = None) -> dict[Speaker, list[Finding]]:
    """Personal data in a transcript, by party, as word ranges (nothing is changed).

    Args:
        transcript: The transcript.
        options: What to look for; defaults to everything.

    Returns:
        For each party, findings with indices into that party's words in time order
        (:meth:`Transcript.words_of` order), merged where they overlap.
    """
    options = options or RedactionOptions()
    active = options.active
    out: dict[Speaker, list[Finding]] = {}
    if not active:
        return out
    cues = CueIndex((w.start, w.text) for _, w in transcript.iter_words())
    parties = _parties(transcript)
    for party in parties:
        others = _OtherParty(transcript, party.speaker)
        out[party.speaker] = _detect(party.words, cues, options, active, others.spoke)
    if transcript.roles.inferred and len(parties) > 1:
        # One mixed channel: a number may be split between the guessed parties, so the
        # call's words are also read as one stream and findings are mapped back.
        for speaker, extra in _whole_call_findings(parties, cues, options, active).items():
            out[speaker] = _merge(out[speaker] + extra)
    return out


def _detect(
    words: Sequence[Word],
    cues: CueIndex,
    options: RedactionOptions,
    active: frozenset[Entity],
    interrupted: Callable[[float, float], bool] | None,
) -> list[Finding]:
    """Every entity among one stream of words (indices into ``words``), overlaps merged."""
    from qa_pipeline.pii.dates import dob_findings
    from qa_pipeline.pii.email import email_findings
    from qa_pipeline.pii.numbers import iban_findings, number_findings
    from qa_pipeline.pii.spoken import tokenize

    view = PartyWords(words)
    texts = view.texts
    pieces = tokenize(texts)
    found: list[Finding] = []
    if active & {Entity.CARD, Entity.PHONE, Entity.SSN, Entity.CN_ID, Entity.BANK_ACCOUNT, Entity.CVV}:
        found += [f for f in number_findings(pieces, view, cues, options, active, interrupted) if f.entity in active]
    if Entity.IBAN in active:
        found += iban_findings(pieces, view, options)
    if Entity.EMAIL in active:
        def prompted(i: int) -> bool:
            cue = cues.nearest(words[i].start, options.context_seconds, frozenset({"email"}))
            return cue is not None and cue.distance <= _EMAIL_PROMPT_WORDS

        found += email_findings(texts, prompted)
    if Entity.DOB in active:
        found += dob_findings(pieces, _dob_cue(words, texts, cues, options))
    return _merge(found)


def _whole_call_findings(
    parties: Sequence[_Party],
    cues: CueIndex,
    options: RedactionOptions,
    active: frozenset[Entity],
) -> dict[Speaker, list[Finding]]:
    # (speaker, index into that party's words) of every word, in time order.
    stream = sorted(
        ((p.speaker, i, w) for p in parties for i, w in enumerate(p.words)),
        key=lambda item: (item[2].start, item[0].value),
    )
    out: dict[Speaker, list[Finding]] = {p.speaker: [] for p in parties}
    for f in _detect([w for _, _, w in stream], cues, options, active, None):
        covered: dict[Speaker, list[int]] = {}
        for sp, i, _ in stream[f.first : f.last + 1]:
            covered.setdefault(sp, []).append(i)
        for sp, indices in covered.items():
            out[sp].append(Finding(f.entity, min(indices), max(indices), f.rule))
    return out


# What a listener says while the other party reads out a number, without ending it.
BACKCHANNELS = load_languages().pii.listener_words

class _OtherParty:
    """When the other party said more than a backchannel, for breaking numbers apart."""

    def __init__(self, transcript: Transcript, speaker: Speaker) -> None:
        from qa_pipeline.pii.spoken import normalise_word

        self.starts = sorted(
            w.start for s, w in transcript.iter_words() if s is not speaker and normalise_word(w.text) not in BACKCHANNELS
        )

    def spoke(self, after: float, before: float) -> bool:
        i = bisect.bisect_right(self.starts, after)
        return i < len(self.starts) and self.starts[i] < before


def _dob_cue(words: Sequence[Word], texts: Sequence[str], cues: CueIndex, options: RedactionOptions):
    from qa_pipeline.pii.spoken import normalise_word

    def has_cue(first: int, last: int) -> bool:
        own = [normalise_word(t) for t in texts[first : last + 1]]
        if any(cue_at(own, k) == "dob" for k in range(len(own))):
            return True  # 1985年3月3日出生 in one word
        before = cues.nearest(words[first].start, options.context_seconds, frozenset({"dob"}))
        if before is not None and before.distance <= _DOB_WORDS_BACK:
            return True
        return cues.following(words[last].start, _DOB_SECONDS_AFTER, frozenset({"dob"})) is not None

    return has_cue


def _merge(findings: list[Finding]) -> list[Finding]:
    """Overlapping findings become one, of the higher-priority entity."""
    rank = {e: n for n, e in enumerate(PRIORITY)}
    merged: list[Finding] = []
    for f in sorted(findings, key=lambda f: (f.first, -f.last)):
        if merged and f.first <= merged[-1].last:
            top = merged[-1]
            entity = min(top.entity, f.entity, key=lambda e: rank[e])
            merged[-1] = Finding(entity, top.first, max(top.last, f.last), top.rule if entity is top.entity else f.rule)
        else:
            merged.append(f)
    return merged


def redact_transcript(transcript: Transcript, options: RedactionOptions | None = None) -> RedactionResult:
    """Replace personal data in a transcript by entity tokens.

    Each found span of words becomes one word, ``[CARD]``, ``[PHONE]``…, from the first
    word's start to the last word's end (punctuation after the last word is kept). A span
    that runs over two turns of a party (a number read with a long pause) becomes one token
    in each, so turns keep their times. The transcript's ``options`` record the redaction (``redaction``: enabled,
    entities, counts) so a reader knows what was removed.

    Args:
        transcript: The transcript as recognised.
        options: What to redact; defaults to everything. When disabled, the transcript is
            returned unchanged apart from the ``redaction`` record.

    Returns:
        The redacted transcript and the spans redacted (entity, speaker, channel, times).
    """
    options = options or RedactionOptions()
    found = find_pii(transcript, options)
    parties = {p.speaker: p for p in _parties(transcript)}
    turns = [list(t.words) for t in transcript.turns]
    removed: set[tuple[int, int]] = set()
    spans: list[RedactedSpan] = []
    for speaker, findings in found.items():
        party = parties[speaker]
        for f in findings:
            # One token per turn the span touches, so every turn keeps its own times (a
            # number read over two turns must not stretch the first over the other party).
            by_turn: dict[int, list[int]] = {}
            for n in range(f.first, f.last + 1):
                by_turn.setdefault(party.where[n][0], []).append(n)
            for ti, positions in by_turn.items():
                covered = [party.words[n] for n in positions]
                token = f.entity.token + _trailing_punctuation(covered[-1].text)
                probability = min(w.probability for w in covered)
                turns[ti][party.where[positions[0]][1]] = Word(token, covered[0].start, covered[-1].end, probability)
                removed.update(party.where[n] for n in positions[1:])
            ti = party.where[f.first][0]
            first, last = party.words[f.first], party.words[f.last]
            spans.append(RedactedSpan(f.entity, speaker, transcript.turns[ti].channel, first.start, last.end))
    new_turns = [
        replace(turn, words=tuple(w for wi, w in enumerate(words) if (ti, wi) not in removed))
        for ti, (turn, words) in enumerate(zip(transcript.turns, turns))
    ]
    spans.sort(key=lambda s: (s.start, s.end, s.speaker.value))
    counts = dict(Counter(s.entity.value for s in spans))
    record = {
        "enabled": options.enabled,
        "entities": list(options.entities) if options.enabled else [],
        "version": DETECTOR_VERSION,
        "counts": counts,
    }
    redacted = replace(
        transcript,
        turns=tuple(new_turns) if spans else transcript.turns,
        options={**transcript.options, "redaction": record},
    )
    if spans:
        log.info("%s: redacted %s", transcript.call_id, ", ".join(f"{n} {e}" for e, n in sorted(counts.items())))
    return RedactionResult(redacted, tuple(spans))


def _trailing_punctuation(text: str) -> str:
    stripped = text.rstrip(_TRAILING)
    tail = text[len(stripped) :]
    return tail[-1:] if tail else ""


def redaction_record(transcript: Transcript) -> dict[str, Any] | None:
    """What :func:`redact_transcript` recorded in the transcript, or None if it never ran."""
    record = transcript.options.get("redaction") if isinstance(transcript.options, dict) else None
    return dict(record) if isinstance(record, dict) else None


def spans_from_transcript(transcript: Transcript) -> tuple[RedactedSpan, ...]:
    """The redacted spans of an already redacted transcript, read from its tokens.

    Lets a stored or cached transcript drive the redacted audio copy without redetecting. A
    span that :func:`redact_transcript` split over two turns (one token in each, nothing
    else of that party between them) is read back as one.
    """
    spans = []
    for party in _parties(transcript):
        previous: tuple[int, int] | None = None  # (word position, turn) of the last token
        for n, (w, (ti, _)) in enumerate(zip(party.words, party.where)):
            m = _TOKEN.fullmatch(w.text)
            if not (m and m.group(1) in _TOKEN_ENTITY):
                continue
            entity = _TOKEN_ENTITY[m.group(1)]
            continues = previous is not None and previous[0] == n - 1 and previous[1] != ti
            if continues and spans[-1].entity is entity:
                spans[-1] = replace(spans[-1], end=w.end)
            else:
                spans.append(RedactedSpan(entity, party.speaker, transcript.turns[ti].channel, w.start, w.end))
            previous = (n, ti)
    spans.sort(key=lambda s: (s.start, s.end, s.speaker.value))
    return tuple(spans)
