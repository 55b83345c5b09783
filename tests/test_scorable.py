"""A call without words is refused with its reason, from what the transcription measured."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from qa_pipeline.batch import SILENT_ACTIVITY, check_scorable
from qa_pipeline.errors import AudioError
from qa_pipeline.options import AudioOptions
from transcript_factory import make_transcript


def _wordless(seconds: float = 10.0):
    t = make_transcript([("agent", 0.0, "hello")])
    return replace(t, turns=(), audio=replace(t.audio, duration=seconds))


def test_measured_activity_decides_without_decoding_again(tmp_path: Path) -> None:
    gone = tmp_path / "moved-away.wav"  # decoding it would fail with "no such file"
    with pytest.raises(AudioError, match=r"moved-away\.wav: silent"):
        check_scorable(_wordless(), gone, AudioOptions(), 2.0, activity=0.0)
    with pytest.raises(AudioError, match=r"moved-away\.wav: no speech recognised"):
        check_scorable(_wordless(), gone, AudioOptions(), 2.0, activity=SILENT_ACTIVITY * 10)


def test_unknown_activity_decodes_the_recording(tmp_path: Path) -> None:
    gone = tmp_path / "moved-away.wav"
    with pytest.raises(AudioError, match=r"moved-away\.wav"):
        check_scorable(_wordless(), gone, AudioOptions(), 2.0)
