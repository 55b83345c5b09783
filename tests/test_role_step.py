"""Roles are decided after transcription, so the scorecard never shapes a cached transcript."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from qa_pipeline.asr.base import ChannelResult
from qa_pipeline.cache import TranscriptCache
from qa_pipeline.options import AudioOptions, TranscribeOptions
from qa_pipeline.parties import DIARIZATION, Parties
from qa_pipeline.pipeline import StageTimings, transcribe_call
from qa_pipeline.role_step import assign_roles, voice_turns
from qa_pipeline.roles import scorecard_agent_phrases
from qa_pipeline.scorecard import load_scorecard
from qa_pipeline.transcript import Speaker, Transcript, Word
from transcript_factory import make_transcript

ROOT = Path(__file__).resolve().parent.parent
SCORECARD = ROOT / "scorecards" / "default.en.yaml"
RATE = 16000
# The customer answers first; the agent, on channel 0, then says the scorecard's phrases.
CUSTOMER = (0.5, "hello there yes")
AGENT = (4.0, "is there anything else I can help you with have a great day take care thank you for choosing us")


def _words(start: float, text: str) -> tuple[Word, ...]:
    return tuple(Word(t, start + 0.3 * i, start + 0.3 * i + 0.25) for i, t in enumerate(text.split()))


class WordsByLevel:
    """A recogniser double: tells the channels apart by their level and returns fixed words."""

    name = "fake"
    model_name = "fake-by-level"
    multilingual = True

    def __init__(self) -> None:
        self.calls = 0

    def transcribe(self, samples: np.ndarray, language: str | None) -> ChannelResult:
        self.calls += 1
        start, text = AGENT if float(np.abs(samples).max()) > 0.25 else CUSTOMER
        words = _words(start, text)
        spans = ((words[0].start, words[-1].end),)
        return ChannelResult(words, "en", 1.0, (), spans[0][1] - spans[0][0], speech_spans=spans)


def _stereo_call(path: Path) -> Path:
    t = np.arange(int(RATE * 10.0)) / RATE
    tone = np.sin(2 * np.pi * 220 * t).astype(np.float32)
    left, right = np.zeros_like(tone), np.zeros_like(tone)
    for channel, level, (start, text) in ((left, 0.3, AGENT), (right, 0.2, CUSTOMER)):
        end = start + 0.3 * len(text.split())
        channel[int(start * RATE):int(end * RATE)] = level * tone[int(start * RATE):int(end * RATE)]
    sf.write(str(path), np.stack([left, right], axis=1), RATE, subtype="PCM_16")
    return path


def test_scorecard_phrases_decide_roles_after_a_cached_transcription(tmp_path: Path) -> None:
    call = _stereo_call(tmp_path / "call.wav")
    cache = TranscriptCache(tmp_path / "cache")
    engine = WordsByLevel()
    options = TranscribeOptions(redecode_uncovered=False)
    # As `qa transcribe` does: no scorecard, so the first speaker (channel 1) is taken as the agent.
    plain = transcribe_call(call, engine, AudioOptions(), options, cache=cache)
    assert plain.roles.agent_channel == 1 and plain.roles.method == "first_speaker"
    assert engine.calls == 2
    # As a `qa run` worker does with the scorecard, on the same cache: the cached transcript
    # is reused, and the scorecard's phrases decide channel 0.
    timings = StageTimings()
    cached = transcribe_call(call, engine, AudioOptions(), options, cache=cache, timings=timings)
    assert timings.cached and engine.calls == 2
    scored = assign_roles(cached, scorecard_agent_phrases(load_scorecard(SCORECARD)), 0.7)
    assert scored.roles.agent_channel == 0 and scored.roles.method == "scorecard_phrases"
    assert {t.channel for t in scored.turns_of(Speaker.AGENT)} == {0}
    assert scored.turns_of(Speaker.AGENT)[0].text.startswith("is there anything else")
    # The cache entry holds no scorecard's decision: read back, it decides the same as before.
    (entry,) = cache.entries(scored.audio.sha256)
    stored = Transcript.load(entry)
    assert stored.parties is not None and stored.parties.onsets[0] > stored.parties.onsets[1]
    assert assign_roles(stored, (), 0.7).roles == plain.roles
    # Written and read back (the store keeps the JSON), the roles can be decided again.
    again = Transcript.from_dict(json.loads(scored.to_json()))
    assert assign_roles(again, (), 0.7).roles == plain.roles
    assert assign_roles(again, scorecard_agent_phrases(load_scorecard(SCORECARD)), 0.7) == again


def test_review_threshold_is_an_input_of_the_role_step_only(tmp_path: Path) -> None:
    call = _stereo_call(tmp_path / "call.wav")
    cache = TranscriptCache(tmp_path / "cache")
    engine = WordsByLevel()
    options = TranscribeOptions(redecode_uncovered=False)
    lenient = transcribe_call(call, engine, AudioOptions(roles_review_below=0.5), options, cache=cache)
    strict = transcribe_call(call, engine, AudioOptions(roles_review_below=0.99), options, cache=cache)
    assert engine.calls == 2  # the second came from the cache
    assert not lenient.roles.review and strict.roles.review


def test_mono_voices_are_labelled_by_the_role_step() -> None:
    greeting = _words(0.0, "thank you for calling how can I help")
    question = _words(3.0, "I'm calling about my card")
    words = greeting + question
    voices = [1] * len(greeting) + [0] * len(question)
    turns = voice_turns(words, voices, 1.0)
    assert [t.voice for t in turns] == [1, 0]
    base = make_transcript([("agent", 0.0, "x")])
    parties = Parties(DIARIZATION, voices=2, notes=("the voices sound alike (similarity 0.90)",), notes_review=True)
    t = assign_roles(replace(base, turns=turns, parties=parties))
    assert [(x.speaker, x.voice) for x in t.turns] == [(Speaker.AGENT, 1), (Speaker.CUSTOMER, 0)]
    assert t.roles.source.value == "diarization" and t.roles.review
    assert t.roles.reason.endswith("the voices sound alike (similarity 0.90)")
    assert Transcript.from_dict(json.loads(t.to_json())) == t


def test_a_transcript_from_before_the_role_step_keeps_its_roles() -> None:
    old = make_transcript([("agent", 0.0, "hello"), ("customer", 1.0, "I'm calling about my card")])
    assert old.parties is None and "parties" not in old.to_dict()
    assert assign_roles(old, ("hello there",), 0.99) is old


def test_transcribe_refuses_a_bad_scorecard_before_loading_a_model(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from qa_pipeline.cli.main import app

    card = tmp_path / "card.yaml"
    card.write_text("name: broken\ncriteria: 3\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["transcribe", str(_stereo_call(tmp_path / "call.wav")), "--out",
                                      str(tmp_path / "out"), "--scorecard", str(card), "--no-cache"])
    assert result.exit_code == 1
    assert "card.yaml" in result.output and not (tmp_path / "out").exists()


@pytest.fixture
def worker(tmp_path: Path):
    """A batch worker of this process, with the recogniser double in place of a model."""
    from qa_pipeline.batch import worker as batch
    from qa_pipeline.log import LOGGER_NAME
    from qa_pipeline.scoring import ScoringOptions

    logger = logging.getLogger(LOGGER_NAME)
    saved = (logger.handlers[:], logger.level, logger.propagate, batch._STATE)
    card = load_scorecard(SCORECARD)
    batch.init_worker(batch.WorkerConfig(
        scorecard=str(SCORECARD), scorecard_hash=card.content_hash, audio=AudioOptions(),
        transcribe=TranscribeOptions(redecode_uncovered=False), scoring=ScoringOptions(),
        cache_dir=str(tmp_path / "cache"), load_engine=False, engine_threads=1, min_duration_seconds=2.0,
    ))
    assert batch._STATE is not None and batch._STATE.fatal is None, batch._STATE and batch._STATE.fatal
    batch._STATE.engine = WordsByLevel()
    try:
        yield batch
    finally:
        logger.handlers[:], logger.level, logger.propagate, batch._STATE = saved


def test_the_batch_worker_decides_roles_with_its_scorecard_on_a_cached_transcript(tmp_path: Path, worker) -> None:
    call = _stereo_call(tmp_path / "call.wav")
    # `qa transcribe` first, into the cache the worker uses.
    plain = transcribe_call(call, WordsByLevel(), AudioOptions(), TranscribeOptions(redecode_uncovered=False),
                            cache=TranscriptCache(tmp_path / "cache"))
    assert plain.roles.agent_channel == 1
    outcome = worker.process_call(worker.CallTask("call", str(call)))
    assert outcome.ok, outcome.error
    assert outcome.timings.cached and worker._STATE.engine.calls == 0
    assert outcome.transcript.roles.agent_channel == 0
    # A transcript stored with other roles (another scorecard) is decided again when re-scored.
    rescored = worker.process_call(worker.CallTask("call", str(call), transcript_json=plain.to_json()))
    assert rescored.ok and rescored.transcript is not None
    assert rescored.transcript.roles.agent_channel == 0
