"""From a mono recording's words to agent and customer turns, via diarization.

The words come from the recogniser (one stream for the mixed channel); diarization says who
spoke when; each word is given its speaker; the role evidence (:mod:`qa_pipeline.roles`)
decides which speaker is the agent; words are grouped into turns per party exactly as for a
stereo channel.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from qa_pipeline.diarization.diarize import assign_words, diarize
from qa_pipeline.diarization.encoder import SpeakerEncoder
from qa_pipeline.diarization.options import DiarizationOptions
from qa_pipeline.diarization.records import DiarizationResult, SpeakerWord
from qa_pipeline.log import get_logger
from qa_pipeline.roles import DEFAULT_REVIEW_BELOW, RoleCues, assign_speaker_roles
from qa_pipeline.transcript import RoleAssignment, Speaker, Turn, Word, merge_turns, words_to_turns

log = get_logger("diarization")


@dataclass(frozen=True)
class MonoAttribution:
    """A mono call split into parties.

    Attributes:
        turns: Agent and customer turns, time ordered (channel 0).
        roles: How the agent was chosen (``source: diarization``).
        diarization: Who spoke when.
        words: Every word with its speaker and overlap mark.
        agents: The speakers taken as agents.
    """

    turns: tuple[Turn, ...]
    roles: RoleAssignment
    diarization: DiarizationResult
    words: tuple[SpeakerWord, ...]
    agents: tuple[int, ...]

    def party_of(self, speaker: int) -> Speaker:
        return Speaker.AGENT if speaker in self.agents else Speaker.CUSTOMER


def attribute_mono(
    samples: np.ndarray,
    sample_rate: int,
    words: Sequence[Word],
    turn_gap_seconds: float,
    review_below: float = DEFAULT_REVIEW_BELOW,
    agent_phrases: Sequence[str] = (),
    options: DiarizationOptions | None = None,
    encoder: SpeakerEncoder | None = None,
    cues: RoleCues | None = None,
) -> MonoAttribution:
    """Diarize a mono channel, give each word its speaker and decide the roles.

    Args:
        samples: The channel's float32 samples at 16 kHz.
        sample_rate: 16000.
        words: Its recognised words, time ordered.
        turn_gap_seconds: A pause longer than this splits a party's speech into two turns.
        review_below: Role confidence under which the call is flagged for review.
        agent_phrases: The scorecard's agent phrases, when a scorecard is at hand.
        options: Diarization thresholds.
        encoder: A loaded speaker encoder to reuse.
        cues: Role cue phrases; the shipped ones by default.

    Raises:
        EngineUnavailableError: The diarization extra is not installed.
        ModelError: The speaker encoder cannot be loaded.
    """
    options = options or DiarizationOptions()
    result = diarize(samples, sample_rate, options, encoder)
    attributed = assign_words(words, result)
    speakers = sorted({sw.speaker for sw in attributed})
    # Parties are the speakers that said at least one word, renumbered in order.
    index = {s: i for i, s in enumerate(speakers)}
    attributed = [SpeakerWord(sw.word, index[sw.speaker], sw.overlap) for sw in attributed]
    per_speaker: list[list[Word]] = [[] for _ in speakers]
    for sw in attributed:
        per_speaker[sw.speaker].append(sw.word)
    agents, roles = assign_speaker_roles(per_speaker, agent_phrases, review_below, cues)
    marked = sum(sw.overlap for sw in attributed)
    notes: list[str] = []
    review = roles.review
    if len(speakers) >= 2 and result.separation >= options.similar_voices_similarity:
        # The voices are hard to tell apart: who said which word is itself uncertain.
        notes.append(f"the voices sound alike (similarity {result.separation:.2f}), so words may be misattributed")
        review = True
    if result.overlaps:
        notes.append(f"{len(result.overlaps)} overlap region(s) ({result.overlap_seconds:.1f}s, {marked} word(s))")
    if notes:
        roles = RoleAssignment(roles.source, roles.method, roles.agent_channel, roles.confidence,
                               "; ".join([roles.reason, *notes]), review)
    parties: dict[Speaker, list[Word]] = {Speaker.AGENT: [], Speaker.CUSTOMER: []}
    for sw in attributed:
        parties[Speaker.AGENT if sw.speaker in agents else Speaker.CUSTOMER].append(sw.word)
    turns = merge_turns(*(words_to_turns(ws, sp, 0, turn_gap_seconds) for sp, ws in parties.items()))
    log.info(
        "mono diarization: %d voice(s) with words, agent speaker(s) %s, confidence %.2f%s",
        len(speakers), list(agents), roles.confidence, " (flagged for review)" if roles.review else "",
    )
    return MonoAttribution(turns, roles, result, tuple(attributed), tuple(agents))
