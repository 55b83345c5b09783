"""Call characteristics measured from word timings: talk time, non-talk, holds, interruptions, speed.

Names follow Amazon Transcribe Call Analytics' ``ConversationCharacteristics`` (snake_case,
seconds instead of milliseconds, units in the names). Everything is derived from the words'
times, so it works the same for stereo and mono transcripts; music and silence never become
words (the ASR stage drops them), so a hold is simply a long stretch with no words from
either party.

Definitions (thresholds are :class:`CharacteristicsOptions`, overridable from a scorecard's
``characteristics:`` block):

* **talk time** of a party: the summed duration of its turns (speech including the short
  pauses inside a turn).
* **agent talk share**: agent talk time / (agent + customer talk time).
* **hold**: a gap in both parties' words of at least ``hold_min_seconds`` (default 15 s).
  Silence after the last word of the call counts as a hold *at call end* when it is that
  long (the customer left while on hold); silence before the first word (ringing,
  connecting) never counts.
* **non-talk instance**: a gap in both parties' words of at least ``non_talk_min_seconds``
  (default 3 s) between two words of the call, that is not a hold.
* **interruption**: a party starts a turn while the other party is mid-sentence and the
  other's words go on for at least ``interruption_min_overlap_seconds`` (default 0.5 s).
  Latched turn ends (``latch_tolerance_seconds``, 0.3 s), starts at a sentence end,
  simultaneous starts (``simultaneous_start_seconds``, 0.5 s), acknowledgements and echo
  confirmations (up to ``backchannel_max_words``, 6) and trailing off are overlaps, not
  interruptions; they are kept, with their reason, in ``overlaps_not_counted``. All measured on
  word times; see :mod:`qa_pipeline.overlaps`.
* **talk speed**: words per minute of talk time; for Chinese, characters per minute.
* **duration** (handle time): the recording's length, or the end of the last word if that is
  later.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from operator import sub
from typing import Any, Sequence

from qa_pipeline.callrecord import CHARACTERISTICS_SOURCE, CallEvent, EventKind, EventParty, sort_events
from qa_pipeline.errors import ConfigError
from qa_pipeline.overlaps import KIND_NAMES, Overlap, OverlapKind, PhraseCover, classify_overlaps, default_backchannels
from qa_pipeline.textmatch import TokenTrack, kernels, normalise_text
from qa_pipeline.transcript import Speaker, Transcript

# Every language's phrases: a scorecard without its own list hears them all (calls switch
# language, and "OK" is said in Chinese calls too).
DEFAULT_BACKCHANNELS: tuple[str, ...] = tuple(
    dict.fromkeys(p for phrases in default_backchannels().values() for p in phrases)
)


@dataclass(frozen=True)
class CharacteristicsOptions:
    """Thresholds for measuring a call.

    Attributes:
        non_talk_min_seconds: Shortest silence of both parties reported as non-talk time.
        hold_min_seconds: Shortest silence of both parties treated as a hold.
        interruption_min_overlap_seconds: Shortest stretch of the other party's words, after
            a turn starts, that makes the start an interruption.
        backchannel_max_seconds: Longest turn that can be a backchannel where duration
            decides (the ``active_listening`` criterion).
        backchannel_tokens: Words (or short phrases) that make up backchannels.
        latch_tolerance_seconds: A turn that starts at most this long before the other
            party's last word ends is a quick turn change, not an interruption.
        simultaneous_start_seconds: Two parties starting within this of each other both
            started; neither interrupted.
        backchannel_max_words: Longest turn (in words; characters for Chinese) that can be an
            acknowledgement or an echo confirmation however long it overlaps.
    """

    non_talk_min_seconds: float = 3.0
    hold_min_seconds: float = 15.0
    interruption_min_overlap_seconds: float = 0.5
    backchannel_max_seconds: float = 1.0
    backchannel_tokens: tuple[str, ...] = DEFAULT_BACKCHANNELS
    latch_tolerance_seconds: float = 0.3
    simultaneous_start_seconds: float = 0.5
    backchannel_max_words: int = 6

    def __post_init__(self) -> None:
        if self.non_talk_min_seconds <= 0:
            raise ConfigError("non_talk_min_seconds must be positive")
        if self.hold_min_seconds < self.non_talk_min_seconds:
            raise ConfigError("hold_min_seconds must be at least non_talk_min_seconds")
        if self.interruption_min_overlap_seconds < 0:
            raise ConfigError("interruption_min_overlap_seconds must not be negative")
        if self.backchannel_max_seconds < 0:
            raise ConfigError("backchannel_max_seconds must not be negative")
        if self.latch_tolerance_seconds < 0:
            raise ConfigError("latch_tolerance_seconds must not be negative")
        if self.simultaneous_start_seconds < 0:
            raise ConfigError("simultaneous_start_seconds must not be negative")
        if isinstance(self.backchannel_max_words, bool) or not isinstance(self.backchannel_max_words, int):
            raise ConfigError("backchannel_max_words must be a whole number of words")
        if self.backchannel_max_words < 0:
            raise ConfigError("backchannel_max_words must not be negative")
        object.__setattr__(self, "backchannel_tokens", tuple(self.backchannel_tokens))
        vocab = frozenset(tok for phrase in self.backchannel_tokens for tok in normalise_text(phrase))
        object.__setattr__(self, "_backchannel_vocab", vocab)
        object.__setattr__(self, "_backchannel_cover", PhraseCover(self.backchannel_tokens))

    @property
    def backchannel_vocab(self) -> frozenset[str]:
        """The backchannel words as normalised match tokens."""
        return self._backchannel_vocab  # type: ignore[attr-defined]

    @property
    def backchannel_cover(self) -> PhraseCover:
        """The backchannel phrases, for telling whether a turn is made only of them."""
        return self._backchannel_cover  # type: ignore[attr-defined]

    def to_dict(self) -> dict[str, Any]:
        return {
            "non_talk_min_seconds": self.non_talk_min_seconds,
            "hold_min_seconds": self.hold_min_seconds,
            "interruption_min_overlap_seconds": self.interruption_min_overlap_seconds,
            "backchannel_max_seconds": self.backchannel_max_seconds,
            "backchannel_tokens": list(self.backchannel_tokens),
            "latch_tolerance_seconds": self.latch_tolerance_seconds,
            "simultaneous_start_seconds": self.simultaneous_start_seconds,
            "backchannel_max_words": self.backchannel_max_words,
        }

    @classmethod
    def from_dict(cls, data: "dict[str, Any] | CharacteristicsOptions | None") -> "CharacteristicsOptions":
        if data is None:
            return cls()
        if isinstance(data, cls):
            return data
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ConfigError(f"CharacteristicsOptions: unknown option(s) {', '.join(unknown)}")
        values = dict(data)
        if "backchannel_tokens" in values:
            values["backchannel_tokens"] = tuple(values["backchannel_tokens"])
        return cls(**values)


def _r(x: float) -> float:
    return round(x, 3)


@dataclass(frozen=True)
class PartyStats:
    """Talk measures of one party.

    Attributes:
        speaker: The party.
        talk_time_seconds: Summed turn durations.
        turn_count: Number of turns.
        word_count: Words spoken; characters for Chinese (see ``Characteristics.speed_unit``).
        talk_speed_per_minute: ``word_count`` per minute of talk time; None without speech.
    """

    speaker: Speaker
    talk_time_seconds: float
    turn_count: int
    word_count: int
    talk_speed_per_minute: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "speaker": self.speaker.value,
            "talk_time_seconds": _r(self.talk_time_seconds),
            "turn_count": self.turn_count,
            "word_count": self.word_count,
            "talk_speed_per_minute": None
            if self.talk_speed_per_minute is None
            else round(self.talk_speed_per_minute, 1),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "PartyStats":
        speed = data.get("talk_speed_per_minute")
        return cls(
            speaker=Speaker(data["speaker"]),
            talk_time_seconds=float(data["talk_time_seconds"]),
            turn_count=int(data["turn_count"]),
            word_count=int(data["word_count"]),
            talk_speed_per_minute=None if speed is None else float(speed),
        )


@dataclass(frozen=True)
class NonTalk:
    """A silence of both parties (not a hold)."""

    start: float
    end: float

    @property
    def duration_seconds(self) -> float:
        return self.end - self.start

    def to_dict(self) -> dict[str, Any]:
        return {"start": _r(self.start), "end": _r(self.end), "duration_seconds": _r(self.duration_seconds)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "NonTalk":
        return cls(start=float(data["start"]), end=float(data["end"]))


@dataclass(frozen=True)
class Hold:
    """A long silence of both parties: hold music or an agent away from the line.

    Attributes:
        start: End of the last word before the hold.
        end: Start of the first word after it, or the end of the recording.
        at_call_end: Nobody spoke after it (the call ended on hold).
    """

    start: float
    end: float
    at_call_end: bool = False

    @property
    def duration_seconds(self) -> float:
        return self.end - self.start

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": _r(self.start),
            "end": _r(self.end),
            "duration_seconds": _r(self.duration_seconds),
            "at_call_end": self.at_call_end,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Hold":
        return cls(
            start=float(data["start"]),
            end=float(data["end"]),
            at_call_end=bool(data.get("at_call_end", False)),
        )


@dataclass(frozen=True)
class Interruption:
    """One party starting to talk over the other.

    Attributes:
        interrupter: Who started talking.
        start: When the interrupting turn started.
        duration_seconds: How long both talked together.
        interrupted_turn_start: Start of the turn that was talked over (to find it again).
    """

    interrupter: Speaker
    start: float
    duration_seconds: float
    interrupted_turn_start: float

    @property
    def end(self) -> float:
        return self.start + self.duration_seconds

    def to_dict(self) -> dict[str, Any]:
        return {
            "interrupter": self.interrupter.value,
            "start": _r(self.start),
            "duration_seconds": _r(self.duration_seconds),
            "interrupted_turn_start": _r(self.interrupted_turn_start),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Interruption":
        return cls(
            interrupter=Speaker(data["interrupter"]),
            start=float(data["start"]),
            duration_seconds=float(data["duration_seconds"]),
            interrupted_turn_start=float(data["interrupted_turn_start"]),
        )


@dataclass(frozen=True)
class Characteristics:
    """What happened in a call, independent of any scorecard.

    Attributes:
        duration_seconds: Handle time.
        speed_unit: ``words`` or ``characters`` (Chinese), the unit of word counts and speeds.
        agent: The agent's talk measures.
        customer: The customer's talk measures.
        agent_talk_share: Agent talk time over both parties' talk time, 0..1; None when
            nobody spoke.
        non_talk: Silences of both parties that are not holds.
        holds: Holds, in time order.
        interruptions: Interruptions by either party, in time order.
        options: The thresholds used.
        overlaps_not_counted: The other overlaps, each with why it is not an interruption,
            in time order.
    """

    duration_seconds: float
    speed_unit: str
    agent: PartyStats
    customer: PartyStats
    agent_talk_share: float | None
    non_talk: tuple[NonTalk, ...]
    holds: tuple[Hold, ...]
    interruptions: tuple[Interruption, ...]
    options: CharacteristicsOptions
    overlaps_not_counted: tuple[Overlap, ...] = ()

    @property
    def non_talk_time_seconds(self) -> float:
        return sum(n.duration_seconds for n in self.non_talk)

    @property
    def hold_time_seconds(self) -> float:
        return sum(h.duration_seconds for h in self.holds)

    def party(self, speaker: Speaker) -> PartyStats:
        return self.agent if speaker is Speaker.AGENT else self.customer

    def interruptions_by(self, interrupter: Speaker) -> tuple[Interruption, ...]:
        return tuple(i for i in self.interruptions if i.interrupter is interrupter)

    def overlaps_not_counted_by(self, speaker: Speaker) -> tuple[Overlap, ...]:
        """The overlaps ``speaker`` started that were not counted as interruptions."""
        return tuple(o for o in self.overlaps_not_counted if o.speaker is speaker)

    def events(self) -> tuple[CallEvent, ...]:
        """The call's holds, silences, interruptions and other overlaps as timed events, in
        time order (source ``characteristics``)."""
        src = CHARACTERISTICS_SOURCE
        out = [
            CallEvent(EventKind.HOLD, h.start, h.end, EventParty.BOTH, src, "until the call ended" if h.at_call_end else "")
            for h in self.holds
        ]
        out += [CallEvent(EventKind.SILENCE, n.start, n.end, EventParty.BOTH, src) for n in self.non_talk]
        out += [
            CallEvent(EventKind.INTERRUPTION, i.start, i.end, EventParty(i.interrupter.value), src)
            for i in self.interruptions
        ]
        out += [
            CallEvent(EventKind.OVERLAP, o.start, o.end, EventParty(o.speaker.value), src, KIND_NAMES[o.kind][0])
            for o in self.overlaps_not_counted
        ]
        return sort_events(out)

    def to_dict(self) -> dict[str, Any]:
        return {
            "duration_seconds": _r(self.duration_seconds),
            "speed_unit": self.speed_unit,
            "agent": self.agent.to_dict(),
            "customer": self.customer.to_dict(),
            "agent_talk_share": None if self.agent_talk_share is None else round(self.agent_talk_share, 4),
            "non_talk_time_seconds": _r(self.non_talk_time_seconds),
            "non_talk": [n.to_dict() for n in self.non_talk],
            "hold_time_seconds": _r(self.hold_time_seconds),
            "holds": [h.to_dict() for h in self.holds],
            "interruption_count": len(self.interruptions),
            "interruption_time_seconds": _r(sum(i.duration_seconds for i in self.interruptions)),
            "interruptions": [i.to_dict() for i in self.interruptions],
            # Amazon Transcribe Call Analytics' Interruptions.InterruptionsByInterrupter.
            "interruptions_by_interrupter": {
                sp.value: [
                    {"start": _r(i.start), "end": _r(i.end), "duration_seconds": _r(i.duration_seconds)}
                    for i in self.interruptions_by(sp)
                ]
                for sp in Speaker
            },
            "overlaps_not_counted": [o.to_dict() for o in self.overlaps_not_counted],
            "options": self.options.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Characteristics":
        share = data.get("agent_talk_share")
        return cls(
            duration_seconds=float(data["duration_seconds"]),
            speed_unit=str(data["speed_unit"]),
            agent=PartyStats.from_dict(data["agent"]),
            customer=PartyStats.from_dict(data["customer"]),
            agent_talk_share=None if share is None else float(share),
            non_talk=tuple(NonTalk.from_dict(n) for n in data.get("non_talk", ())),
            holds=tuple(Hold.from_dict(h) for h in data.get("holds", ())),
            interruptions=tuple(Interruption.from_dict(i) for i in data.get("interruptions", ())),
            options=CharacteristicsOptions.from_dict(data.get("options")),
            overlaps_not_counted=tuple(Overlap.from_dict(o) for o in data.get("overlaps_not_counted", ())),
        )


def uses_characters(language: str) -> bool:
    """True for languages measured in characters rather than words (Chinese, Japanese)."""
    return language.split("-")[0].lower() in ("zh", "ja", "yue", "cmn")


class _Party:
    """Turn-level times of one party."""

    __slots__ = ("track", "starts", "ends")

    def __init__(self, track: TokenTrack) -> None:
        self.track = track
        self.starts, self.ends = track.turn_times()

    def stats(self, characters: bool) -> PartyStats:
        talk = sum(map(sub, self.ends, self.starts))
        # Chinese counts characters: every CJK character is a token of its own, and Latin
        # words inside Chinese speech (brand names, "OK") count once each.
        count = len(self.track.tokens) if characters else len(self.track.words)
        speed = count / (talk / 60.0) if talk > 0 else None
        return PartyStats(self.track.speaker, talk, len(self.starts), count, speed)

    def runs(self, split_gap: float) -> list[tuple[float, float]]:
        """Stretches of speech with no pause of ``split_gap`` or more inside."""
        track = self.track
        if not track.words:
            return []
        # Pauses of at least split_gap.
        shorter = math.nextafter(split_gap, -math.inf)
        starts = self.starts
        ends = self.ends
        turns = track.pause_turns(shorter)
        if turns is not None:
            # Such pauses fall between turns only: each run is a stretch of whole turns.
            return kernels.turn_runs(starts, ends, turns)
        # The word indices that follow a pause.
        breaks = track.pause_starts(shorter)
        words = track.words
        word_ends = track.word_ends
        run_starts = [starts[0], *[words[b].start for b in breaks]]
        run_ends = [*[word_ends[b - 1] for b in breaks], ends[-1]]
        return list(zip(run_starts, run_ends))


def _silences(
    parties: Sequence[_Party], duration: float, options: CharacteristicsOptions
) -> tuple[tuple[NonTalk, ...], tuple[Hold, ...]]:
    runs = sorted([run for party in parties for run in party.runs(options.non_talk_min_seconds)])
    if not runs:
        return (), ()
    non_talk: list[NonTalk] = []
    holds: list[Hold] = []
    hold_min = options.hold_min_seconds
    # hold_min >= non_talk_min: every silence is at least non_talk_min long.
    gaps, covered_to = kernels.silences(runs, options.non_talk_min_seconds)
    for start, end in gaps:
        if end - start >= hold_min:
            holds.append(Hold(start, end))
        else:
            non_talk.append(NonTalk(start, end))
    if duration - covered_to >= hold_min:
        holds.append(Hold(covered_to, duration, at_call_end=True))
    return tuple(non_talk), tuple(holds)


def _overlaps(
    agent: _Party, customer: _Party, options: CharacteristicsOptions
) -> tuple[tuple[Interruption, ...], tuple[Overlap, ...]]:
    """Interruptions, and the overlaps not counted as such (see :mod:`qa_pipeline.overlaps`)."""
    counted: list[Interruption] = []
    others: list[Overlap] = []
    cover = options.backchannel_cover
    for mine, theirs in ((agent, customer), (customer, agent)):
        for o in classify_overlaps(mine.track, theirs.track, options, cover):
            if o.kind is OverlapKind.INTERRUPTION:
                counted.append(Interruption(o.speaker, o.turn_start, o.duration_seconds, o.other_turn_start))
            else:
                others.append(o)
    counted.sort(key=lambda x: (x.start, x.interrupter.value))
    others.sort(key=lambda x: (x.start, x.speaker.value))
    return tuple(counted), tuple(others)


def turn_pause_bound(transcript: Transcript) -> float | None:
    """The longest pause a turn of this transcript can contain, if its options record one.

    Transcripts made by the pipeline split turns at ``turn_gap_seconds``; hand-made or
    edited ones may not say, and then every word's timing is read.
    """
    value = transcript.options.get("turn_gap_seconds") if isinstance(transcript.options, dict) else None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
        return float(value)
    return None


def compute_characteristics(
    transcript: Transcript, options: CharacteristicsOptions | None = None
) -> Characteristics:
    """Measure a call.

    Args:
        transcript: The call's transcript.
        options: Thresholds; defaults as documented on :class:`CharacteristicsOptions`.

    Returns:
        The call's characteristics.
    """
    options = options or CharacteristicsOptions()
    bound = turn_pause_bound(transcript)
    agent = TokenTrack(Speaker.AGENT, [t for t in transcript.turns if t.speaker is Speaker.AGENT], bound)
    customer = TokenTrack(
        Speaker.CUSTOMER, [t for t in transcript.turns if t.speaker is Speaker.CUSTOMER], bound
    )
    return measure_tracks(agent, customer, transcript.duration, transcript.language, options)


def measure_tracks(
    agent_track: TokenTrack,
    customer_track: TokenTrack,
    duration: float,
    language: str,
    options: CharacteristicsOptions,
) -> Characteristics:
    """Measure a call from its parties' token tracks.

    This is :func:`compute_characteristics` for callers (the scorer) that already built the
    tracks, so each word of the call is read once.
    """
    characters = uses_characters(language)
    agent = _Party(agent_track)
    customer = _Party(customer_track)
    duration = max([duration, *agent.ends[-1:], *customer.ends[-1:]])
    a_stats = agent.stats(characters)
    c_stats = customer.stats(characters)
    total_talk = a_stats.talk_time_seconds + c_stats.talk_time_seconds
    share = a_stats.talk_time_seconds / total_talk if total_talk > 0 else None
    non_talk, holds = _silences((agent, customer), duration, options)
    interruptions, not_counted = _overlaps(agent, customer, options)
    return Characteristics(
        duration_seconds=duration,
        speed_unit="characters" if characters else "words",
        agent=a_stats,
        customer=c_stats,
        agent_talk_share=share,
        non_talk=non_talk,
        holds=holds,
        interruptions=interruptions,
        options=options,
        overlaps_not_counted=not_counted,
    )
