"""The per-call state every criterion reads: token tracks, phrase hits and characteristics.

Built once per call by the scorer and shared by all criteria, so each speaker's words are
normalised once and each phrase list is matched at most once per speaker, whatever the number
of windows a criterion asks about.
"""

from __future__ import annotations

import bisect
import math
from typing import TYPE_CHECKING

from qa_pipeline.characteristics import Characteristics
from qa_pipeline.criteria.base import Evidence, window_text
from qa_pipeline.textmatch import (
    PhraseHits,
    PhraseIndex,
    PhraseMatch,
    TokenTrack,
    fast_join,
)
from qa_pipeline.transcript import Speaker, Transcript, Turn

if TYPE_CHECKING:
    from qa_pipeline.kernels import AnchorHit


# " in agent speech", by speaker (an enum's ``value`` is slow to read on the hot path).
_IN_SPEECH = {sp: f" in {sp.value} speech" for sp in Speaker}


class ScoringContext:
    """Everything a criterion may look at for one call.

    Attributes:
        transcript: The call.
        characteristics: Its measured characteristics.
        language: The transcript's language as the scorecard names it (``en``, ``zh``).
        index: The scorecard's compiled phrases for that language.
        frustration_set: Set id of the scorecard's frustration phrases, if it has them.
        roles_inferred: True when agent/customer were guessed from a mono recording.
        speech_start: Start of the first word of the call (0.0 without speech).
        speech_end: End of the last word of the call (0.0 without speech).
    """

    def __init__(
        self,
        transcript: Transcript,
        characteristics: Characteristics,
        language: str,
        index: PhraseIndex,
        frustration_set: int | None,
        agent: TokenTrack,
        customer: TokenTrack,
    ) -> None:
        self.transcript = transcript
        self.characteristics = characteristics
        self.language = language
        self.index = index
        self.frustration_set = frustration_set
        self.roles_inferred = transcript.roles.inferred
        self._tracks = {Speaker.AGENT: agent, Speaker.CUSTOMER: customer}
        self._hits: dict[Speaker, dict[int, tuple[list[int], list[tuple[AnchorHit, ...]]]]] = {}
        self._matches: dict[tuple[int, Speaker], PhraseHits] = {}
        self._turn_text: dict[tuple[Speaker, int], str] = {}
        starts = [tr.turn_times()[0][0] for tr in (agent, customer) if tr.turns]
        ends = [tr.turn_times()[1][-1] for tr in (agent, customer) if tr.turns]
        self.speech_start = min(starts) if starts else 0.0
        self.speech_end = max(ends) if ends else 0.0

    def turns(self, speaker: Speaker) -> tuple[Turn, ...]:
        """The speaker's turns in time order."""
        return self._tracks[speaker].turns

    def track(self, speaker: Speaker) -> TokenTrack:
        """The speaker's normalised token stream."""
        return self._tracks[speaker]

    def has_phrases(self, set_id: int) -> bool:
        return set_id in self.index.sets

    def phrases(self, set_id: int) -> tuple[str, ...]:
        """The phrases of a set as written in the scorecard."""
        pset = self.index.sets.get(set_id)
        return pset.texts if pset else ()

    def find(
        self,
        set_id: int,
        speaker: Speaker | None,
        start: float = -math.inf,
        end: float = math.inf,
    ) -> list[PhraseMatch]:
        """Matches of a phrase set that start within [start, end], in time order.

        Args:
            set_id: The compiled phrase set.
            speaker: Whose speech to search; None searches both parties.
            start: Earliest match start, seconds.
            end: Latest match start, seconds.
        """
        if speaker is None:
            both = self.find(set_id, Speaker.AGENT, start, end) + self.find(
                set_id, Speaker.CUSTOMER, start, end
            )
            both.sort(key=lambda m: (m.start, m.speaker.value, m.phrase))
            return both
        key = (set_id, speaker)
        hits = self._matches.get(key)
        if hits is None:
            pset = self.index.sets.get(set_id)
            if pset is None:
                return []
            scanned = self._hits.get(speaker)
            if scanned is None:
                scanned = self._hits[speaker] = self.index.scan_sets(self.track(speaker))
            hits = self._matches[key] = self.index.hits(self.track(speaker), set_id, scanned.get(set_id))
        return hits.find(start, end)

    def context_of(self, match: PhraseMatch) -> str:
        """The text of the turn(s) a match lies in."""
        speaker = match.speaker
        offsets = self._tracks[speaker].turn_word_offsets()
        first = bisect.bisect_right(offsets, match.first_word) - 1
        last = bisect.bisect_right(offsets, match.last_word) - 1
        if first == last:
            return self.turn_text(speaker, first)
        return " / ".join([self.turn_text(speaker, i) for i in range(first, last + 1)])

    def turn_text(self, speaker: Speaker, turn_index: int) -> str:
        """A turn's text (joined once per call however many verdicts quote it)."""
        key = (speaker, turn_index)
        text = self._turn_text.get(key)
        if text is None:
            words = self._tracks[speaker].turns[turn_index].words
            text = self._turn_text[key] = fast_join([w.text for w in words])
        return text

    def match_evidence(
        self, match: PhraseMatch, label: str, window: tuple[float, float] | None = None
    ) -> Evidence:
        """Evidence for a phrase match, naming the rule that fired."""
        speaker = match.speaker
        where = _IN_SPEECH[speaker]
        if window is not None:
            where += (
                f" {window_text(max(window[0], 0.0), min(window[1], self.characteristics.duration_seconds))}"
            )
        text = match.text
        rule = f'{label} "{match.phrase}" ≈ "{text}" (score {match.score:.2f}){where}'
        return Evidence("match", rule, speaker, match.start, match.end, text, self.context_of(match))

    def turn_evidence(self, turn: Turn, rule: str, kind: str = "match") -> Evidence:
        return Evidence(
            kind=kind,
            rule=rule,
            speaker=turn.speaker,
            start=turn.start,
            end=turn.end,
            text=turn.text,
            context=turn.text,
        )
