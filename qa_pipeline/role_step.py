"""The role step: which party of a transcript is the agent.

Transcription is a function of the audio and the recognition options alone; which party is
the agent also depends on the scorecard (its agent phrases are evidence) and on
``roles_review_below``. So roles are decided here, on the transcript, every time one is
used: after recognition, after a cache hit and before a stored transcript is re-scored.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Sequence

from qa_pipeline.parties import DIARIZATION, Parties
from qa_pipeline.roles import DEFAULT_REVIEW_BELOW, RoleCues, assign_speaker_roles, assign_stereo_roles
from qa_pipeline.transcript import RoleAssignment, Speaker, Transcript, Turn, Word, merge_turns, words_to_turns


def assign_roles(
    transcript: Transcript,
    agent_phrases: Sequence[str] = (),
    review_below: float = DEFAULT_REVIEW_BELOW,
    cues: RoleCues | None = None,
) -> Transcript:
    """Decide agent and customer from the transcript's parties and label its turns.

    Args:
        transcript: A transcript whose ``parties`` are known. One written before roles were
            a separate step (``parties`` None) keeps the roles it was written with.
        agent_phrases: The scorecard's agent phrases
            (:func:`qa_pipeline.roles.scorecard_agent_phrases`), when one is at hand.
        review_below: Confidence under which the call is flagged for review.
        cues: Role cue phrases; the shipped ones by default.

    Returns:
        The transcript with ``roles`` and every turn's ``speaker`` decided; ``transcript``
        itself when nothing changes.
    """
    parties = transcript.parties
    if parties is None:
        return transcript
    if parties.kind == DIARIZATION:
        roles, turns = _mono(transcript, parties, agent_phrases, review_below, cues)
    else:
        roles, turns = _stereo(transcript, parties, agent_phrases, review_below, cues)
    if roles == transcript.roles and turns == transcript.turns:
        return transcript
    return replace(transcript, roles=roles, turns=turns)


def _stereo(
    t: Transcript, parties: Parties, agent_phrases: Sequence[str], review_below: float, cues: RoleCues | None
) -> tuple[RoleAssignment, tuple[Turn, ...]]:
    channel_words: list[list[Word]] = [[] for _ in parties.channels]
    index = {ch: i for i, ch in enumerate(parties.channels)}
    for turn in t.turns:
        channel_words[index[turn.channel]].extend(turn.words)
    roles = assign_stereo_roles(
        channel_words, parties.onsets, parties.configured, parties.channels, agent_phrases, review_below, cues
    )
    labelled = [
        replace(turn, speaker=Speaker.AGENT if turn.channel == roles.agent_channel else Speaker.CUSTOMER)
        for turn in t.turns
    ]
    return roles, merge_turns(labelled)


def _mono(
    t: Transcript, parties: Parties, agent_phrases: Sequence[str], review_below: float, cues: RoleCues | None
) -> tuple[RoleAssignment, tuple[Turn, ...]]:
    voice_words: list[list[Word]] = [[] for _ in range(parties.voices)]
    for turn in t.turns:
        voice_words[turn.voice or 0].extend(turn.words)
    agents, roles = assign_speaker_roles(voice_words, agent_phrases, review_below, cues)
    if parties.notes:
        roles = replace(roles, reason="; ".join([roles.reason, *parties.notes]),
                        review=roles.review or parties.notes_review)
    elif parties.notes_review:
        roles = replace(roles, review=True)
    labelled = [
        replace(turn, speaker=Speaker.AGENT if turn.voice in agents else Speaker.CUSTOMER) for turn in t.turns
    ]
    return roles, merge_turns(labelled)


def voice_turns(words: Sequence[Word], voices: Sequence[int], max_gap: float) -> tuple[Turn, ...]:
    """Turns of a mono recording per diarized voice, before roles are known.

    A turn never spans two voices; the speaker is a placeholder until :func:`assign_roles`.

    Args:
        words: The recording's words in time order.
        voices: The voice of each word.
        max_gap: A pause longer than this many seconds starts a new turn.
    """
    per_voice: dict[int, list[Word]] = {}
    for w, v in zip(words, voices):
        per_voice.setdefault(v, []).append(w)
    turns = [
        replace(turn, voice=v)
        for v, ws in sorted(per_voice.items())
        for turn in words_to_turns(ws, Speaker.CUSTOMER, 0, max_gap)
    ]
    return merge_turns(turns)
