"""Speaker diarization of mono recordings: who spoke when, and which speaker said each word.

Needs the optional ``diarization`` extra (resemblyzer, whose wheel carries its pretrained
speaker encoder, and torch)::

    pip install 'qa-pipeline[diarization]'

Typical use::

    from qa_pipeline.diarization import assign_words, diarize

    result = diarize(samples, 16000)
    attributed = assign_words(words, result)
"""

from qa_pipeline.diarization.cluster import Clustering, cluster_speakers
from qa_pipeline.diarization.diarize import assign_words, diarize, plan_windows
from qa_pipeline.diarization.encoder import (
    EXTRA_INSTALL,
    MISSING_EXTRA,
    SpeakerEncoder,
    diarization_available,
    require_diarization,
)
from qa_pipeline.diarization.mono import MonoVoices, diarize_mono
from qa_pipeline.diarization.options import DiarizationOptions
from qa_pipeline.diarization.records import DiarizationResult, SpeakerSegment, SpeakerWord, Span
from qa_pipeline.diarization.vad import speech_regions

__all__ = [
    "EXTRA_INSTALL",
    "MISSING_EXTRA",
    "Clustering",
    "DiarizationOptions",
    "DiarizationResult",
    "MonoVoices",
    "SpeakerEncoder",
    "SpeakerSegment",
    "SpeakerWord",
    "Span",
    "assign_words",
    "diarize_mono",
    "cluster_speakers",
    "diarization_available",
    "diarize",
    "plan_windows",
    "require_diarization",
    "speech_regions",
]
