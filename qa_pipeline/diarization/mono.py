"""From a mono recording's words to turns per voice, via diarization.

The words come from the recogniser (one stream for the mixed channel); diarization says who
spoke when; each word is given its voice and grouped into turns per voice exactly as for a
stereo channel. Which voice is the agent is decided later by the role step
(:mod:`qa_pipeline.role_step`), from the same evidence as for stereo.
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
from qa_pipeline.parties import DIARIZATION, Parties
from qa_pipeline.role_step import voice_turns
from qa_pipeline.transcript import Turn, Word

log = get_logger("diarization")


@dataclass(frozen=True)
class MonoVoices:
    """A mono call split into diarized voices, before roles are decided.

    Attributes:
        turns: Turns per voice (``voice`` set, channel 0), time ordered; the speaker is a
            placeholder until the role step (:func:`qa_pipeline.role_step.assign_roles`).
        parties: What the role step needs: the number of voices and the diarization's notes.
        diarization: Who spoke when.
        words: Every word with its voice and overlap mark.
    """

    turns: tuple[Turn, ...]
    parties: Parties
    diarization: DiarizationResult
    words: tuple[SpeakerWord, ...]


def diarize_mono(
    samples: np.ndarray,
    sample_rate: int,
    words: Sequence[Word],
    turn_gap_seconds: float,
    options: DiarizationOptions | None = None,
    encoder: SpeakerEncoder | None = None,
) -> MonoVoices:
    """Diarize a mono channel and give each word its voice.

    Args:
        samples: The channel's float32 samples at 16 kHz.
        sample_rate: 16000.
        words: Its recognised words, time ordered.
        turn_gap_seconds: A pause longer than this splits a voice's speech into two turns.
        options: Diarization thresholds.
        encoder: A loaded speaker encoder to reuse.

    Raises:
        EngineUnavailableError: The diarization extra is not installed.
        ModelError: The speaker encoder cannot be loaded.
    """
    options = options or DiarizationOptions()
    result = diarize(samples, sample_rate, options, encoder)
    attributed = assign_words(words, result)
    speakers = sorted({sw.speaker for sw in attributed})
    # Voices are the speakers that said at least one word, renumbered in order.
    index = {s: i for i, s in enumerate(speakers)}
    attributed = [SpeakerWord(sw.word, index[sw.speaker], sw.overlap) for sw in attributed]
    marked = sum(sw.overlap for sw in attributed)
    notes: list[str] = []
    alike = len(speakers) >= 2 and result.separation >= options.similar_voices_similarity
    if alike:
        # The voices are hard to tell apart: who said which word is itself uncertain.
        notes.append(f"the voices sound alike (similarity {result.separation:.2f}), so words may be misattributed")
    if result.overlaps:
        notes.append(f"{len(result.overlaps)} overlap region(s) ({result.overlap_seconds:.1f}s, {marked} word(s))")
    turns = voice_turns([sw.word for sw in attributed], [sw.speaker for sw in attributed], turn_gap_seconds)
    log.info("mono diarization: %d voice(s) with words%s", len(speakers), " (voices alike)" if alike else "")
    parties = Parties(DIARIZATION, voices=len(speakers), notes=tuple(notes), notes_review=alike)
    return MonoVoices(turns, parties, result, tuple(attributed))
