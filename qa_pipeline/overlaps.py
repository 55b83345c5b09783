"""Overlapping speech, classified the way a QA lead counts interruptions.

Every time one party starts a turn while the other party's turn is in progress, the overlap
is measured on the words (not on whole turns or ASR segments) and given one kind. Only
``interruption`` is counted against the party that started; the other kinds say why an
overlap was not counted, so a reviewer can check. Checked in this order:

* ``acknowledgement``: the new turn is only backchannels and short acknowledgements
  ("uh-huh", "got it", "no problem, no problem", "对对"), at most ``backchannel_max_words``
  words (characters for Chinese; fillers such as "um" not counted), however long it lasts.
  The phrases come from each language file's ``backchannels`` (``data/lang/<code>.yaml``)
  or the scorecard.
* ``echo``: the new turn (at most ``backchannel_max_words`` words) only repeats words the
  other party said in the turn being overlapped, plus acknowledgements: a confirmation such
  as "A 2019." while the customer says "it's a 2019 model".
* ``latched``: the other party's words end within ``latch_tolerance_seconds`` after the new
  speaker starts: a quick turn change, not a talk-over.
* ``sentence_end``: the other party was on the last word of a sentence (the word sounding
  at the start ends with ``.``, ``?``, ``!``, ``。``, ``...``), or had just finished one and
  not yet got into the next: whatever follows is a new start by both.
* ``simultaneous_start``: both parties started their turns within
  ``simultaneous_start_seconds`` of each other: nobody took the floor from anybody.
* ``trailing_off``: the other party's words during the overlap are only fillers and
  acknowledgements ("um", "okay so"): the turn was ending.
* ``brief``: the other party's words continue for less than
  ``interruption_min_overlap_seconds`` after the start.
* ``interruption``: none of the above: the new speaker came in while the other was
  mid-sentence and talked over at least ``interruption_min_overlap_seconds`` of their words.

The overlap time is the stretch from the later of the two starts to the earlier of the new
turn's end and the end of the other party's last word spoken before that end.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache
from operator import attrgetter
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

from qa_pipeline.lang import load_language, shipped_languages
from qa_pipeline.textmatch import TokenTrack, kernels, normalise_text
from qa_pipeline.transcript import Speaker

if TYPE_CHECKING:
    from qa_pipeline.characteristics import CharacteristicsOptions

_KNOWN_LIMIT = 4096
_START = attrgetter("start")
_END = attrgetter("end")
# Whisper writes sentence punctuation onto the last word of a sentence.
SENTENCE_END_MARKS = (".", "?", "!", "。", "？", "！", "…")


class OverlapKind(str, Enum):
    """How one overlap was classified (see the module docstring)."""

    INTERRUPTION = "interruption"
    ACKNOWLEDGEMENT = "acknowledgement"
    ECHO = "echo"
    LATCHED = "latched"
    SENTENCE_END = "sentence_end"
    SIMULTANEOUS_START = "simultaneous_start"
    TRAILING_OFF = "trailing_off"
    BRIEF = "brief"


# For evidence: (one, several).
KIND_NAMES: dict[OverlapKind, tuple[str, str]] = {
    OverlapKind.INTERRUPTION: ("interruption", "interruptions"),
    OverlapKind.ACKNOWLEDGEMENT: ("acknowledgement", "acknowledgements"),
    OverlapKind.ECHO: ("echo confirmation", "echo confirmations"),
    OverlapKind.LATCHED: ("latched turn end", "latched turn ends"),
    OverlapKind.SENTENCE_END: ("start at a sentence end", "starts at a sentence end"),
    OverlapKind.SIMULTANEOUS_START: ("simultaneous start", "simultaneous starts"),
    OverlapKind.TRAILING_OFF: ("start while the other trailed off", "starts while the other trailed off"),
    OverlapKind.BRIEF: ("brief overlap", "brief overlaps"),
}


# Not frozen: a call has a dozen of these (every backchannel), and a frozen dataclass takes
# about three times as long to build. Nothing changes one after it is made.
@dataclass(slots=True)
class Overlap:
    """One party starting a turn while the other party's turn was in progress.

    Attributes:
        speaker: Who started talking.
        kind: How it was classified.
        start: When the overlap began (the later of the two parties' starts).
        duration_seconds: How long both talked together, measured on words.
        turn_start: Start of the new turn.
        other_turn_start: Start of the other party's turn that was overlapped.
    """

    speaker: Speaker
    kind: OverlapKind
    start: float
    duration_seconds: float
    turn_start: float
    other_turn_start: float

    @property
    def end(self) -> float:
        return self.start + self.duration_seconds

    def to_dict(self) -> dict[str, Any]:
        return {
            "speaker": self.speaker.value,
            "kind": self.kind.value,
            "start": round(self.start, 3),
            "duration_seconds": round(self.duration_seconds, 3),
            "turn_start": round(self.turn_start, 3),
            "other_turn_start": round(self.other_turn_start, 3),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Overlap":
        return cls(
            speaker=Speaker(data["speaker"]),
            kind=OverlapKind(data["kind"]),
            start=float(data["start"]),
            duration_seconds=float(data["duration_seconds"]),
            turn_start=float(data["turn_start"]),
            other_turn_start=float(data["other_turn_start"]),
        )


@lru_cache(maxsize=1)
def default_backchannels() -> dict[str, tuple[str, ...]]:
    """The backchannel phrases shipped with the package, by language (each language file's
    ``backchannels``)."""
    return {code: load_language(code).backchannels for code in shipped_languages()}


class PhraseCover:
    """Decides whether a token sequence is made only of given phrases (repeats allowed)."""

    __slots__ = ("phrases", "longest", "_known")

    def __init__(self, phrases: Iterable[str]) -> None:
        token_phrases = {normalise_text(p) for p in phrases}
        token_phrases.discard(())
        self.phrases = frozenset(token_phrases)
        self.longest = max((len(p) for p in self.phrases), default=0)
        # The same few backchannels come back call after call: decide each token run once.
        self._known: dict[tuple[str, ...], bool] = {}

    def covers(self, tokens: Sequence[str]) -> bool:
        """True when the tokens split into a run of the phrases (no tokens: fillers only)."""
        key = tuple(tokens)
        known = self._known.get(key)
        if known is None:
            if len(self._known) >= _KNOWN_LIMIT:
                self._known.clear()
            known = self._known[key] = self._split(key)
        return known

    def _split(self, tokens: tuple[str, ...]) -> bool:
        n = len(tokens)
        # reach[j]: tokens[:j] splits into phrases.
        reach = [True] + [False] * n
        phrases = self.phrases
        for j in range(1, n + 1):
            for length in range(1, min(self.longest, j) + 1):
                if reach[j - length] and tokens[j - length : j] in phrases:
                    reach[j] = True
                    break
        return reach[n]


def _ends_sentence(text: str) -> bool:
    return text.rstrip().endswith(SENTENCE_END_MARKS)


def classify_overlaps(
    mine: TokenTrack,
    theirs: TokenTrack,
    options: "CharacteristicsOptions",
    cover: PhraseCover,
) -> list[Overlap]:
    """Every overlap started by ``mine``'s party, classified.

    Args:
        mine: Tokens and words of the party that starts the turns examined.
        theirs: The other party's.
        options: The thresholds.
        cover: The backchannel phrases.

    Returns:
        The overlaps, in turn order.
    """
    starts, ends = mine.turn_times()
    their_starts, their_ends = theirs.turn_times()
    # Every turn that starts inside one of theirs; the words then decide.
    candidates = kernels.turn_overlaps(starts, ends, their_starts, their_ends, 0.0)
    if not candidates:
        return []
    # This runs for every backchannel of every call: the common path stays in this loop.
    speaker = mine.speaker
    their_turns = theirs.turns
    my_bounds = mine.turn_token_bounds()
    my_all_tokens = mine.tokens
    max_words = options.backchannel_max_words
    covers = cover.covers
    found: list[Overlap] = []
    for i, k, _ in candidates:
        s = starts[i]
        e = ends[i]
        words = their_turns[k].words
        # Their words still going at s: the first one ending after it, up to the last one
        # that starts before my turn ends.
        a = bisect.bisect_right(words, s, key=_END)
        b = bisect.bisect_left(words, e, a, len(words), key=_START)
        if a >= b:
            continue  # my whole turn fell in a pause of theirs
        begin = words[a].start
        if begin < s:
            begin = s
        last_end = words[b - 1].end
        talked_over = (e if e < last_end else last_end) - begin
        if talked_over <= 0:
            continue
        lo, hi = my_bounds[i]
        # Counted in tokens: words, but characters for Chinese, and fillers ("um") not at all.
        if hi - lo <= max_words and covers(my_all_tokens[lo:hi]):
            kind = OverlapKind.ACKNOWLEDGEMENT
        else:
            kind = _kind(mine, theirs, options, cover, i, k, a, b, talked_over)
        found.append(Overlap(speaker, kind, begin, talked_over, s, their_starts[k]))
    return found


def _kind(
    mine: TokenTrack,
    theirs: TokenTrack,
    opts: "CharacteristicsOptions",
    cover: PhraseCover,
    i: int,
    k: int,
    a: int,
    b: int,
    talked_over: float,
) -> OverlapKind:
    """Why my turn ``i``, over their turn ``k``'s words ``a`` to ``b - 1``, counts or not.

    The acknowledgement test has been made already.
    """
    s = mine.turn_times()[0][i]
    their_start = theirs.turn_times()[0][k]
    words = theirs.turns[k].words
    latch = opts.latch_tolerance_seconds
    simultaneous = opts.simultaneous_start_seconds
    # Their token index just after word j of the turn: token_cum[offset + j].
    offset = theirs.turn_word_offsets()[k]
    token_end = theirs.token_cum
    my_tokens = mine.turn_tokens(i)
    if len(my_tokens) <= opts.backchannel_max_words:
        # What they said in this turn up to the end of the overlap: what an echo repeats.
        said = set(theirs.tokens[theirs.turn_token_bounds()[k][0] : token_end[offset + b - 1]])
        vocab = opts.backchannel_vocab
        own = [t for t in my_tokens if t not in vocab]
        if own and said.issuperset(own):
            return OverlapKind.ECHO
    if words[-1].end <= s + latch:
        return OverlapKind.LATCHED
    current = words[a]
    # The recogniser often stretches a sentence's last word over the silence after it
    # (a 3 s "chance."), so starting anywhere inside that word is starting at its end.
    if (_ends_sentence(current.text) and (current.start <= s or current.end <= s + latch)) or (
        a > 0 and _ends_sentence(words[a - 1].text) and current.start >= s - simultaneous
    ):
        return OverlapKind.SENTENCE_END
    if s - their_start <= simultaneous:
        return OverlapKind.SIMULTANEOUS_START
    first_token = token_end[offset + a - 1] if offset + a else 0
    if cover.covers(theirs.tokens[first_token : token_end[offset + b - 1]]):
        return OverlapKind.TRAILING_OFF
    if talked_over < opts.interruption_min_overlap_seconds:
        return OverlapKind.BRIEF
    return OverlapKind.INTERRUPTION


def not_counted_summary(overlaps: Sequence[Overlap]) -> str:
    """``2 overlaps not counted: 1 acknowledgement, 1 latched turn end`` ("" for none)."""
    if not overlaps:
        return ""
    counts: dict[OverlapKind, int] = {}
    for o in overlaps:
        counts[o.kind] = counts.get(o.kind, 0) + 1
    parts = [f"{n} {KIND_NAMES[kind][0 if n == 1 else 1]}" for kind, n in counts.items()]
    total = len(overlaps)
    return f"{total} overlap{'' if total == 1 else 's'} not counted: {', '.join(parts)}"
