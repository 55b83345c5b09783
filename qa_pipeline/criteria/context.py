"""The per-call state every criterion reads: token tracks, phrase hits and characteristics.

Built once per call by the scorer and shared by all criteria, so each speaker's words are
normalised once and each phrase list is matched at most once per speaker, whatever the number
of windows a criterion asks about.
"""

from __future__ import annotations

import bisect
import dataclasses
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from qa_pipeline.characteristics import Characteristics
from qa_pipeline.criteria.base import Evidence, clock, window_text
from qa_pipeline.semantic import (
    MeaningMatch,
    MeaningSpec,
    Utterance,
    embed,
    judge,
    judged_size,
    model_for,
    split_utterances,
)
from qa_pipeline.textmatch import (
    PhraseHits,
    PhraseIndex,
    PhraseMatch,
    TokenTrack,
    fast_join,
    names_plausible,
    ANY_WORD,
    WILDCARD,
)
from qa_pipeline.transcript import Speaker, Transcript, Turn

if TYPE_CHECKING:
    from qa_pipeline.kernels import AnchorHit


@dataclass(frozen=True)
class Cue:
    """A moment the customer voiced a complaint, frustration or distress.

    Attributes:
        start: Start of the words, seconds.
        end: End of the words, seconds.
        turn_start: Start of the customer turn holding them.
        evidence: What was said and why it counts.
    """

    start: float
    end: float
    turn_start: float
    evidence: Evidence


class ScoringContext:
    """Everything a criterion may look at for one call.

    Attributes:
        transcript: The call.
        characteristics: Its measured characteristics.
        language: The transcript's language as the scorecard names it (``en``, ``zh``).
        index: The scorecard's compiled phrases for that language.
        frustration_set: Set id of the scorecard's frustration phrases, if it has them.
        frustration_meaning: The scorecard's frustration examples, if it has them.
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
        frustration_meaning: MeaningSpec | None = None,
    ) -> None:
        self.transcript = transcript
        self.characteristics = characteristics
        self.language = language
        self.index = index
        self.frustration_set = frustration_set
        self.frustration_meaning = frustration_meaning
        self._distress: list[Cue] | None = None
        self._answered_spec: MeaningSpec | None = None
        self.roles_inferred = transcript.roles.inferred
        self._tracks = {Speaker.AGENT: agent, Speaker.CUSTOMER: customer}
        self._hits: dict[Speaker, dict[int, tuple[list[int], list[tuple[AnchorHit, ...]]]]] = {}
        self._matches: dict[tuple[int, Speaker], PhraseHits] = {}
        self._turn_text: dict[tuple[Speaker, int], str] = {}
        self._utterances: dict[Speaker, list[Utterance]] = {}
        # Embeddings by (speaker, utterance index), computed only for utterances some
        # criterion asks about, each once per call.
        self._vectors: dict[tuple[Speaker, int], Any] = {}
        self._judged: dict[tuple[int, Speaker, int], MeaningMatch | None] = {}
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
        found = hits.find(start, end)
        if any(WILDCARD in t or ANY_WORD in t for t in self.index.sets[set_id].texts):
            track = self.track(speaker)
            found = [m for m in found if names_plausible(m, track)]
        return found

    def customer_distress(self) -> list[Cue]:
        """Where the customer voiced complaint, frustration or distress, in time order.

        A listed frustration phrase is the fast path; an utterance that means what a
        scorecard frustration example means counts too. Words found both ways count once.
        """
        if self._distress is not None:
            return self._distress
        track = self.track(Speaker.CUSTOMER)
        offsets = track.turn_word_offsets()
        turn_starts = track.turn_times()[0]
        cues: list[Cue] = []
        if self.frustration_set is not None:
            for m in self.find(self.frustration_set, Speaker.CUSTOMER):
                opens = turn_starts[bisect.bisect_right(offsets, m.first_word) - 1]
                why = "voices frustration"
                cues.append(Cue(m.start, m.end, opens, self.match_evidence(m, "frustration phrase", why=why)))
        if self.frustration_meaning is not None:
            for mm in self.meaning(self.frustration_meaning, Speaker.CUSTOMER):
                u = mm.utterance
                if any(c.start < u.end and u.start < c.end for c in cues):
                    continue
                why = f"voices a complaint or distress: {mm.reason()}"
                cues.append(Cue(u.start, u.end, self.turns(Speaker.CUSTOMER)[u.turn].start, self.meaning_evidence(mm, why)))
        cues.sort(key=lambda c: (c.start, c.end))
        self._distress = cues
        return cues

    def distress_if_answered(self) -> list[Cue]:
        """Customer utterances that count as distress only if the agent answers them with empathy.

        Those alike to a frustration example by at least the scorecard's
        ``frustration_answered_similarity`` but less than ``frustration_min_similarity``, and
        not already a cue (:meth:`customer_distress`). A complaint worded unlike every example
        is told by the agent treating it as one; the agent's reply is what the empathy
        criterion checks, so such a cue can make empathy pass but never fail.
        """
        spec = self.frustration_meaning
        if spec is None or spec.answered_similarity is None:
            return []
        if self._answered_spec is None:
            self._answered_spec = dataclasses.replace(spec, min_similarity=spec.answered_similarity)
        cues = self.customer_distress()
        out: list[Cue] = []
        for mm in self.meaning(self._answered_spec, Speaker.CUSTOMER):
            u = mm.utterance
            if any(c.start < u.end and u.start < c.end for c in cues + out):
                continue
            why = (
                "voices a complaint or distress, as the agent's empathy confirms: "
                f'close to "{mm.example}" (a scorecard example)'
            )
            out.append(Cue(u.start, u.end, self.turns(Speaker.CUSTOMER)[u.turn].start, self.meaning_evidence(mm, why)))
        return out

    def utterances(self, speaker: Speaker) -> list[Utterance]:
        """The speaker's sentences (and clauses of long sentences), in time order."""
        found = self._utterances.get(speaker)
        if found is None:
            found = self._utterances[speaker] = split_utterances(speaker, self.turns(speaker))
        return found

    def meaning(
        self,
        spec: MeaningSpec,
        speaker: Speaker | None,
        start: float = -math.inf,
        end: float = math.inf,
    ) -> list[MeaningMatch]:
        """Utterances starting within [start, end] that mean what the spec's examples mean.

        Args:
            spec: Examples, counter-examples and threshold.
            speaker: Whose speech to search; None searches both parties.
            start: Earliest utterance start, seconds.
            end: Latest utterance start, seconds.
        """
        examples, _ = spec.for_language(self.language)
        if not examples:
            return []
        speakers = tuple(Speaker) if speaker is None else (speaker,)
        out: list[MeaningMatch] = []
        for sp in speakers:
            utts = self.utterances(sp)
            wanted = [i for i, u in enumerate(utts) if start <= u.start <= end and judged_size(u.text)]
            todo = [i for i in wanted if (id(spec), sp, i) not in self._judged]
            if todo:
                self._embed(sp, todo)
                import numpy as np

                vectors = np.stack([self._vectors[(sp, i)] for i in todo])
                verdicts = judge([utts[i] for i in todo], vectors, spec, self.language)
                for i, v in zip(todo, verdicts):
                    self._judged[(id(spec), sp, i)] = v
            out.extend(m for i in wanted if (m := self._judged[(id(spec), sp, i)]) is not None)
        out.sort(key=lambda m: (m.utterance.start, m.utterance.speaker.value, -len(m.utterance.text)))
        return out

    def _embed(self, speaker: Speaker, indices: list[int]) -> None:
        missing = [i for i in indices if (speaker, i) not in self._vectors]
        if not missing:
            return
        utts = self.utterances(speaker)
        vectors = embed([utts[i].text for i in missing], model_for(self.language))
        for i, v in zip(missing, vectors):
            self._vectors[(speaker, i)] = v

    def meaning_evidence(self, match: MeaningMatch, why: str | None = None) -> Evidence:
        """Evidence for an utterance judged by meaning, in plain words."""
        utt = match.utterance
        reason = why or match.reason()
        rule = f'{utt.speaker.value.capitalize()} at {clock(utt.start)}: "{utt.text}" — {reason}'
        return Evidence("match", rule, utt.speaker, utt.start, utt.end, utt.text, self.turn_text(utt.speaker, utt.turn))

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
        self,
        match: PhraseMatch,
        label: str,
        window: tuple[float, float] | None = None,
        why: str | None = None,
    ) -> Evidence:
        """Evidence for a phrase match in plain words: who said what, when, and why it counts.

        Args:
            match: The match.
            label: What the scorecard list is (``phrase``, ``empathy statement``, …).
            window: The window searched, shown when the criterion has one.
            why: What the words show (a criterion's ``shows`` field); default: the list named.
        """
        speaker = match.speaker
        text = match.text
        listed = f'scorecard {label} "{match.phrase}"'
        if match.score < 0.995:
            # A fuzzy match (a slip of recognition, a contraction): say how close it was.
            listed += f", {match.score:.0%} alike"
        reason = f"{why} ({listed})" if why else f"says the {listed}"
        rule = f'{speaker.value.capitalize()} at {clock(match.start)}: "{text}" — {reason}'
        if window is not None:
            lo = max(window[0], 0.0)
            hi = min(window[1], self.characteristics.duration_seconds)
            rule += f", within {clock(lo)}–{clock(hi)}"
        return Evidence("match", rule, speaker, match.start, match.end, text, self.context_of(match))
