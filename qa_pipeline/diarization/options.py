"""Options of the diarization stage: speech detection, embedding windows and clustering."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from qa_pipeline.errors import ConfigError


@dataclass(frozen=True)
class DiarizationOptions:
    """How a mono recording is split into speakers.

    The defaults were tuned on rendered telephone calls (8 kHz μ-law, 300–3400 Hz band) with
    ``benchmarks/diarization.py``; see that script for the figures they reach.

    Attributes:
        vad_threshold: Silero speech probability above which a frame is speech.
        min_silence_seconds: A pause at least this long splits speech into two regions.
            Turn changes usually come with a short pause, so keeping this small lets most
            changes fall between regions rather than inside an embedding window.
        speech_pad_seconds: Padding added to each side of a speech region.
        window_seconds: Length of the embedding windows slid over each speech region.
        hop_seconds: Step between windows.
        min_window_seconds: Regions shorter than this are embedded whole but do not shape
            the speaker clusters (their voiceprints are too noisy); they are assigned to
            the nearest speaker afterwards.
        max_speakers: Most speakers a call may be split into (a transfer adds one or two).
        new_speaker_distance: Average-linkage cosine distance above which clusters beyond
            the second count as extra speakers. Higher than the two-party split on
            purpose: a third speaker needs clear evidence.
        min_speaker_seconds: A cluster with less speech than this is folded into the
            nearest other speaker.
        single_speaker_similarity: When the centroids of the best two-speaker split are at
            least this similar (cosine), the call has one speaker. On rendered calls, where
            both parties are one synthetic voice shifted in pitch by 0.1–0.3, two parties
            measured 0.68–0.87 and one voice split in two 0.90–0.96; real, different people
            are further apart.
        similar_voices_similarity: Two speakers whose centroids are at least this similar
            sound alike: words may be given to the wrong one, so the call is flagged for
            review whatever the role evidence says.
        switch_penalty: Cost of a change of speaker between consecutive windows when
            smoothing window labels (in cosine similarity × √seconds); a short window
            that resembles both speakers about equally follows its neighbours.
        turn_pause_seconds: A change of speaker across a pause this long costs a tenth of
            ``switch_penalty`` (less for shorter pauses): parties take turns at pauses.
        frame_seconds: Resolution of the speaker labels over time.
        smoothing_seconds: Label runs shorter than this inside a region are absorbed by
            their neighbours.
        bridge_seconds: A pause shorter than this between two runs of one speaker is kept
            inside that speaker's segment (a breath or a comma, not a turn change).
        overlap_margin: A frame inside one speech region where windows of two speakers
            meet, each window closer to its own speaker than to the other by at least this
            cosine margin, is marked as overlap (both parties active).
        batch_windows: Windows embedded per forward pass.
        cpu_threads: Torch threads for the embedding model; 0 = leave torch's setting.
    """

    vad_threshold: float = 0.5
    min_silence_seconds: float = 0.2
    speech_pad_seconds: float = 0.05
    window_seconds: float = 1.5
    hop_seconds: float = 0.75
    min_window_seconds: float = 0.6
    max_speakers: int = 4
    new_speaker_distance: float = 0.45
    min_speaker_seconds: float = 4.0
    single_speaker_similarity: float = 0.89
    similar_voices_similarity: float = 0.85
    switch_penalty: float = 0.04
    turn_pause_seconds: float = 0.5
    frame_seconds: float = 0.05
    smoothing_seconds: float = 0.3
    bridge_seconds: float = 0.5
    overlap_margin: float = 0.05
    batch_windows: int = 64
    cpu_threads: int = 0

    def __post_init__(self) -> None:
        if not 0.0 < self.vad_threshold < 1.0:
            raise ConfigError(f"vad_threshold must be within 0..1, got {self.vad_threshold}")
        for name in ("window_seconds", "hop_seconds", "frame_seconds", "min_speaker_seconds"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be positive, got {getattr(self, name)}")
        for name in ("min_silence_seconds", "speech_pad_seconds", "min_window_seconds", "smoothing_seconds",
                     "switch_penalty", "turn_pause_seconds", "bridge_seconds", "overlap_margin"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must not be negative, got {getattr(self, name)}")
        if self.hop_seconds > self.window_seconds:
            raise ConfigError("hop_seconds must not exceed window_seconds")
        if self.max_speakers < 1:
            raise ConfigError(f"max_speakers must be at least 1, got {self.max_speakers}")
        if not 0.0 < self.new_speaker_distance < 2.0:
            raise ConfigError(f"new_speaker_distance must be within 0..2, got {self.new_speaker_distance}")
        if not 0.0 < self.single_speaker_similarity <= 1.0:
            raise ConfigError(f"single_speaker_similarity must be within 0..1, got {self.single_speaker_similarity}")
        if not 0.0 < self.similar_voices_similarity <= self.single_speaker_similarity:
            raise ConfigError("similar_voices_similarity must be within 0..single_speaker_similarity")
        if self.batch_windows < 1 or self.cpu_threads < 0:
            raise ConfigError("batch_windows must be >= 1 and cpu_threads >= 0")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: "dict[str, Any] | DiarizationOptions | None") -> "DiarizationOptions":
        if data is None:
            return cls()
        if isinstance(data, cls):
            return data
        if not isinstance(data, dict):
            raise ConfigError(f"DiarizationOptions: expected a mapping, got {type(data).__name__}")
        unknown = sorted(set(data) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            raise ConfigError(f"DiarizationOptions: unknown option(s) {', '.join(unknown)}")
        try:
            return cls(**data)
        except TypeError as exc:
            raise ConfigError(f"DiarizationOptions: {exc}") from exc
