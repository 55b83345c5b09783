"""End to end: the shipped sample calls through the real tiny.en model, both engines.

Checks what the foundation promises: word error rate on clean synthetic speech, planted
utterance starts recovered within 0.5 s, agent/customer roles right (including a recording
with swapped channels), mono calls separated by speaker diarization, the cache, the CLI, and
the default scorecard's verdicts on those transcripts against what each call planted.
"""

from __future__ import annotations

import json
from pathlib import Path
from statistics import median

import pytest
from typer.testing import CliRunner

from qa_pipeline.asr import create_engine
from qa_pipeline.cache import TranscriptCache
from qa_pipeline.cli.main import app
from qa_pipeline.wer import corpus_word_error_rate
from qa_pipeline.options import TranscribeOptions
from qa_pipeline.pipeline import StageTimings, transcribe_call
from qa_pipeline.roles import METHODS
from qa_pipeline.scorecard import load_scorecard
from qa_pipeline.scoring import score_transcript
from qa_pipeline.synth import GroundTruth
from qa_pipeline.transcript import RolesSource, Speaker, Transcript, join_words
from verdict_agreement import agreement, unbacked_passes

ROOT = Path(__file__).resolve().parent.parent
RECORDINGS = ROOT / "samples" / "recordings"
TRUTHS = {t.call_id: t for t in (GroundTruth.read(p) for p in sorted(RECORDINGS.glob("*.truth.json")))}
STEREO = sorted(cid for cid, t in TRUTHS.items() if not t.mono)
MONO = sorted(cid for cid, t in TRUTHS.items() if t.mono)

pytestmark = pytest.mark.e2e


def audio_path(call_id: str) -> Path:
    return RECORDINGS / TRUTHS[call_id].audio_file


@pytest.fixture(scope="module")
def fw_transcripts(fw_engine, asr_cache) -> dict[str, Transcript]:
    """Every sample call transcribed once with the default options, by call id."""
    return {cid: transcribe_call(audio_path(cid), fw_engine, call_id=cid, cache=asr_cache) for cid in TRUTHS}


def speaker_pairs(truth: GroundTruth, t: Transcript) -> list[tuple[str, str]]:
    pairs = []
    for speaker in Speaker:
        ref = " ".join(u.text for u in truth.utterances if u.speaker == speaker)
        hyp = join_words(w.text for w in t.words_of(speaker))
        pairs.append((ref, hyp))
    return pairs


def start_errors(truth: GroundTruth, t: Transcript) -> list[float]:
    """Per planted utterance: distance from its start to the nearest word start of that party."""
    errors = []
    for u in truth.utterances:
        starts = [w.start for w in t.words_of(u.speaker)]
        errors.append(min((abs(s - u.start) for s in starts), default=float("inf")))
    return errors


def test_stereo_roles_follow_the_channels(fw_transcripts):
    for cid in STEREO:
        t, truth = fw_transcripts[cid], TRUTHS[cid]
        assert t.roles.agent_channel == truth.channel_map["agent"], (cid, t.roles)
        assert not t.roles.inferred
        # Decided from what was said, not by a fallback.
        assert t.roles.method in METHODS and t.roles.method not in {"configured", "default", "single_speaker"}, (cid, t.roles)
    swapped = [cid for cid in STEREO if TRUTHS[cid].channel_map["agent"] == 1]
    assert swapped, "the sample set should contain a call with the agent on channel 1"


def test_word_error_rate_on_clean_synthetic_speech(fw_transcripts):
    pairs = [p for cid in STEREO for p in speaker_pairs(TRUTHS[cid], fw_transcripts[cid])]
    wer = corpus_word_error_rate(pairs)
    print(f"faster-whisper tiny.en WER over {len(STEREO)} stereo sample calls: {wer:.3f}")
    assert wer <= 0.15


def test_planted_utterance_starts_recovered(fw_transcripts):
    errors = [e for cid in STEREO for e in start_errors(TRUTHS[cid], fw_transcripts[cid])]
    within = sum(e <= 0.5 for e in errors) / len(errors)
    print(f"utterance starts within 0.5 s: {within:.1%}, median error {median(errors):.3f}s")
    assert within >= 0.95
    assert median(errors) <= 0.2


def test_overlapping_speech_keeps_both_parties(fw_transcripts):
    overlaps = 0
    for cid in STEREO:
        for e in TRUTHS[cid].events:
            if e.type.value != "interruption":
                continue
            t = fw_transcripts[cid]
            agent = [w for w in t.words_of(Speaker.AGENT) if e.start - 0.5 <= w.start <= e.end]
            customer = [w for w in t.words_of(Speaker.CUSTOMER) if w.start <= e.start <= w.end + 0.5]
            assert agent and customer, (cid, e)
            overlaps += 1
    assert overlaps >= 1


def test_mono_call_is_diarized_with_words_given_to_the_right_party(fw_transcripts):
    pytest.importorskip("resemblyzer", reason="mono calls need the diarization extra: pip install 'qa-pipeline[diarization]'")
    assert MONO, "the sample set should contain a mono call"
    for cid in MONO:
        t = fw_transcripts[cid]
        assert t.audio.channels == 1 and t.roles.inferred and t.roles.source is RolesSource.DIARIZATION
        # Each word against the party the script says was speaking at its midpoint.
        scored = right = 0
        for speaker, w in t.iter_words():
            mid = (w.start + w.end) / 2
            said = [u.speaker for u in TRUTHS[cid].utterances if u.start - 0.2 <= mid <= u.end + 0.2]
            if len(set(said)) == 1:
                scored += 1
                right += said[0] == speaker
        assert scored >= 20 and right / scored >= 0.9, (cid, right, scored, t.roles)
        truth_text = " ".join(u.text for u in TRUTHS[cid].utterances)
        assert corpus_word_error_rate([(truth_text, join_words(w.text for _, w in t.iter_words()))]) <= 0.25


def test_sample_verdicts_agree_with_planted_ground_truth(fw_transcripts):
    # The drifting team's 36 calls are checked the same way through `qa run`
    # (test_e2e_report.py); these are the calls a new user scores first.
    card = load_scorecard(ROOT / "scorecards" / "default.en.yaml")
    # Mono calls' roles come from diarization, which test_diarization_e2e.py measures.
    scored = [(TRUTHS[c], score_transcript(fw_transcripts[c], card)) for c in STEREO]
    agree, total, lines = agreement(scored)
    print("\n" + "\n".join(lines))
    assert agree / total >= 0.95, lines
    assert unbacked_passes(scored) == []


def test_cache_skips_second_transcription(fw_engine, tmp_path):
    cache = TranscriptCache(tmp_path / "cache")
    cid = STEREO[0]
    first_t = StageTimings()
    first = transcribe_call(audio_path(cid), fw_engine, call_id=cid, cache=cache, timings=first_t)
    second_t = StageTimings()
    second = transcribe_call(audio_path(cid), fw_engine, call_id=cid, cache=cache, timings=second_t)
    assert not first_t.cached and second_t.cached and second_t.asr == 0.0
    assert second == first
    # Another beam size is another transcript.
    other = TranscriptCache.key(first.audio.sha256, fw_engine.name, fw_engine.model_name,
                                TranscribeOptions(beam_size=5), __import__("qa_pipeline.options").options.AudioOptions())
    assert cache.get(other) is None


def test_cli_transcribes_a_folder_and_reports_bad_files(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    cid = STEREO[0]
    (src / audio_path(cid).name).write_bytes(audio_path(cid).read_bytes())
    (src / "broken.wav").write_bytes(b"RIFF....WAVEfmt not really audio")
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app, ["transcribe", str(src), "--out", str(out), "--format", "vtt,srt,txt", "--cache-dir", str(tmp_path / "c")]
    )
    assert result.exit_code == 1, result.output
    assert "Error: " in result.output and "broken.wav" in result.output
    assert "Transcribed 1 of 2 calls" in result.output
    stem = audio_path(cid).stem
    data = json.loads((out / f"{stem}.json").read_text())
    assert data["schema_version"] == 1 and data["turns"]
    for ext in ("vtt", "srt", "txt"):
        assert (out / f"{stem}.{ext}").read_text().strip()
    assert not (out / "broken.json").exists()


@pytest.mark.openai
def test_openai_whisper_engine_on_a_sample_call():
    pytest.importorskip("whisper", reason="the openai-whisper engine needs the 'openai' extra")
    # One inference thread: the suite runs two test files at once on two cores, where PyTorch's
    # default of a thread per core spins against the other file (42 s against about 12 s).
    engine = create_engine(TranscribeOptions(engine="openai-whisper", cpu_threads=1))
    cid = STEREO[0]
    t = transcribe_call(audio_path(cid), engine, call_id=cid)
    assert t.engine == "openai-whisper" and t.roles.agent_channel == TRUTHS[cid].channel_map["agent"]
    wer = corpus_word_error_rate(speaker_pairs(TRUTHS[cid], t))
    errors = start_errors(TRUTHS[cid], t)
    print(f"openai-whisper tiny.en WER on {cid}: {wer:.3f}")
    assert wer <= 0.15
    assert sum(e <= 0.5 for e in errors) / len(errors) >= 0.9
