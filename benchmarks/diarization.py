"""Mono diarization benchmark: rendered stereo calls mixed down to mono, then diarized.

Renders (or reuses) synthetic stereo calls from ``samples/drift.yaml`` (each speaker with its
own voice: the scenario gives agent and customer pitches at least 0.1 apart, plus their own
speaking rates), mixes each down to one 8 kHz μ-law channel, and runs both versions through
the pipeline with the real tiny.en model. Reports, per call and overall:

- **DER** (collar 0.25 s) of the diarization against the rendered script timing (each
  utterance's start and end; the parties' speech is known exactly from the stereo render);
- **word accuracy**: share of the mono transcript's words given the right party
  (agent/customer, so diarization and role assignment together);
- **roles**: whether the mono call's agent is the true agent, and whether it was flagged;
- **verdicts**: agreement of the mono call's scorecard verdicts with the stereo call's, and
  each one's agreement with the planted ground truth;
- **speed**: diarization wall time (VAD, embeddings, clustering, word assignment) over
  audio time, with the model warm.

One-speaker calls (an agent leaving a voicemail) are added with ``--voicemails``; they must
come out as one voice and flagged for review.

Usage:
    python benchmarks/diarization.py [--calls 20] [--voicemails 3] [--threads 2] [--data DIR] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CHECKED = ("greeting", "active_listening", "empathy", "interruptions", "hold_etiquette", "closing")
VOICEMAIL_LINES = (
    "Hello, this is Maria from Riverside Bank, calling about the card you ordered last week.",
    "It has been sent to the address we have on file, and it should arrive within five working days.",
    "If you have any questions, please call us back on the number on the back of your card.",
    "Thank you, and have a good day.",
)


def render_set(data: Path, calls: int, voicemails: int) -> list:
    """Render the stereo calls and voicemails once; later runs reuse them."""
    from qa_pipeline.synth import CallScript, GroundTruth, Line, RenderOptions, VoiceSpec, load_scenario, render_call
    from qa_pipeline.transcript import Speaker

    stereo = data / "stereo"
    stereo.mkdir(parents=True, exist_ok=True)
    scripts = load_scenario(ROOT / "samples" / "drift.yaml").scripts()
    # Every few scripts, so the set spans many agents and customer voices.
    step = max(1, len(scripts) // max(calls, 1))
    chosen = scripts[::step][:calls]
    for v in range(voicemails):
        chosen.append(CallScript(
            call_id=f"voicemail-{v + 1}", agent_id="VM", agent_name="Maria", team="Cards",
            started_at=datetime(2024, 3, 1, 9, 0), steps=tuple(Line(Speaker.AGENT, t) for t in VOICEMAIL_LINES),
            agent_voice=VoiceSpec(pitch=0.9 + 0.1 * v, speed=1.0),
        ))
    truths = []
    for script in chosen:
        path = stereo / f"{script.call_id}.truth.json"
        truths.append(GroundTruth.read(path) if path.is_file() else render_call(script, stereo, RenderOptions()))
    return truths


def mixdown(stereo_path: Path, out: Path) -> Path:
    """The stereo call as one 8 kHz μ-law channel, as a mono recorder would have written it."""
    import soundfile as sf

    from qa_pipeline.audio import write_audio

    if out.is_file():
        return out
    data, rate = sf.read(str(stereo_path), dtype="float32", always_2d=True)
    mixed = data.sum(axis=1)
    peak = float(np.max(np.abs(mixed))) if mixed.size else 0.0
    if peak > 0.98:
        mixed *= np.float32(0.98 / peak)
    out.parent.mkdir(parents=True, exist_ok=True)
    return write_audio(out, [mixed], rate, format="wav", subtype="ULAW")


def truth_speaker(truth, start: float, end: float) -> str | None:
    """The party speaking at a word's midpoint (None inside talk-over: either is right)."""
    mid = (start + end) / 2
    inside = {u.speaker.value for u in truth.utterances if u.start - 0.05 <= mid <= u.end + 0.05}
    if len(inside) == 1:
        return inside.pop()
    if inside:
        return None
    nearest = min(truth.utterances, key=lambda u: min(abs(u.start - mid), abs(u.end - mid)))
    return nearest.speaker.value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=20, help="two-party calls (default 20)")
    parser.add_argument("--voicemails", type=int, default=3, help="one-speaker calls (default 3)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads for the speaker encoder")
    parser.add_argument("--data", type=Path, default=Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "qa_pipeline" / "bench-diarization")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()

    from qa_pipeline.asr import create_engine
    from qa_pipeline.audio import load_audio
    from qa_pipeline.cache import TranscriptCache
    from qa_pipeline.diarization import DiarizationOptions, SpeakerEncoder, diarize
    from qa_pipeline.diarization.evaluate import diarization_error
    from qa_pipeline.options import AudioOptions, TranscribeOptions
    from qa_pipeline.pipeline import StageTimings, transcribe_audio, transcribe_call
    from qa_pipeline.role_step import assign_roles
    from qa_pipeline.roles import scorecard_agent_phrases
    from qa_pipeline.scorecard import load_scorecard
    from qa_pipeline.scoring import score_transcript
    from qa_pipeline.transcript import Speaker

    started = time.perf_counter()
    truths = render_set(args.data, args.calls, args.voicemails)
    print(f"{len(truths)} calls ready in {time.perf_counter() - started:.0f}s")
    engine = create_engine(TranscribeOptions())
    cache = TranscriptCache(args.data / "cache")
    card = load_scorecard(ROOT / "scorecards" / "default.en.yaml")
    phrases = scorecard_agent_phrases(card)
    dopts = DiarizationOptions(cpu_threads=args.threads)
    encoder = SpeakerEncoder(args.threads)
    audio_opts = AudioOptions()

    rows = []
    header = f"{'call':<18}{'dur s':>7}{'voices':>7}{'DER':>7}{'miss':>6}{'FA':>6}{'conf':>6}{'words':>7}{'roles':>7}{'conf.':>7}{'review':>7}{'agree':>7}{'diar×RT':>9}"
    print(header)
    for truth in truths:
        stereo_path = args.data / "stereo" / truth.audio_file
        mono_path = mixdown(stereo_path, args.data / "mono" / f"{truth.call_id}.wav")
        audio = load_audio(mono_path, audio_opts)
        stage = StageTimings()
        mono = transcribe_audio(audio, engine, audio_opts, TranscribeOptions(), truth.call_id, stage, agent_phrases=phrases)
        t0 = time.perf_counter()
        result = diarize(audio.channels[0], audio.sample_rate, dopts, encoder)
        diar_s = time.perf_counter() - t0
        voicemail = truth.call_id.startswith("voicemail")
        ref = [(u.speaker.value, u.start, u.end) for u in truth.utterances]
        hyp = [(s.speaker, s.start, s.end) for s in result.segments]
        err = diarization_error(ref, hyp, 0.25)
        right = total = 0
        for speaker, w in mono.iter_words():
            want = truth_speaker(truth, w.start, w.end)
            if want is None:
                continue
            total += 1
            right += speaker.value == want
        word_acc = right / total if total else 1.0
        agent_words = [w for sp, w in mono.iter_words() if sp is Speaker.AGENT]
        agent_true = sum(truth_speaker(truth, w.start, w.end) == "agent" for w in agent_words)
        roles_ok = bool(agent_words) and agent_true >= len(agent_words) / 2
        row = {
            "call_id": truth.call_id, "duration_s": round(truth.duration, 2), "voicemail": voicemail,
            "voices": result.num_speakers, "der": round(err.der, 4), "diarization": err.to_dict(),
            "word_accuracy": round(word_acc, 4), "words": total, "roles_correct": roles_ok,
            "roles_confidence": mono.roles.confidence, "roles_review": mono.roles.review,
            "roles_method": mono.roles.method, "diarize_s": round(diar_s, 3),
            "pipeline_diarize_merge_s": round(stage.merge, 3),
        }
        if not voicemail:
            stereo = assign_roles(transcribe_call(stereo_path, engine, call_id=truth.call_id, cache=cache), phrases)
            s_score, m_score = score_transcript(stereo, card), score_transcript(mono, card)
            ids = [r.id for r in s_score.results]
            row["verdicts_same"] = sum(s_score.result(c).verdict == m_score.result(c).verdict for c in ids)
            row["verdicts_total"] = len(ids)
            row["stereo_truth_agree"] = sum(s_score.result(c).verdict.value == truth.expected[c] for c in CHECKED)
            row["mono_truth_agree"] = sum(m_score.result(c).verdict.value == truth.expected[c] for c in CHECKED)
            row["truth_total"] = len(CHECKED)
            row["differs"] = [f"{c}: stereo {s_score.result(c).verdict.value}, mono {m_score.result(c).verdict.value}"
                              for c in ids if s_score.result(c).verdict != m_score.result(c).verdict]
        rows.append(row)
        agree = f"{row['verdicts_same']}/{row['verdicts_total']}" if not voicemail else "-"
        print(f"{truth.call_id:<18}{truth.duration:>7.1f}{result.num_speakers:>7}{err.der:>7.3f}{err.missed_seconds:>6.1f}"
              f"{err.false_alarm_seconds:>6.1f}{err.confusion_seconds:>6.1f}{word_acc:>7.1%}{'ok' if roles_ok else 'WRONG':>7}"
              f"{mono.roles.confidence:>7.2f}{'yes' if mono.roles.review else 'no':>7}{agree:>7}{diar_s / truth.duration:>9.4f}")

    two = [r for r in rows if not r["voicemail"]]
    vm = [r for r in rows if r["voicemail"]]
    scored = sum(r["diarization"]["scored_seconds"] for r in two)
    wrong = sum(r["diarization"]["missed_seconds"] + r["diarization"]["false_alarm_seconds"]
                + r["diarization"]["confusion_seconds"] for r in two)
    words = sum(r["words"] for r in two)
    summary = {
        "calls": len(two),
        "audio_s": round(sum(r["duration_s"] for r in rows), 1),
        "der": round(wrong / scored, 4) if scored else 0.0,
        "confusion_share": round(sum(r["diarization"]["confusion_seconds"] for r in two) / scored, 4) if scored else 0.0,
        "word_accuracy": round(sum(r["word_accuracy"] * r["words"] for r in two) / words, 4) if words else 1.0,
        "roles_accuracy": round(sum(r["roles_correct"] for r in two) / len(two), 4) if two else 1.0,
        "roles_flagged": sum(r["roles_review"] for r in two),
        "verdict_agreement_mono_vs_stereo": round(sum(r["verdicts_same"] for r in two) / max(1, sum(r["verdicts_total"] for r in two)), 4),
        "stereo_truth_agreement": round(sum(r["stereo_truth_agree"] for r in two) / max(1, sum(r["truth_total"] for r in two)), 4),
        "mono_truth_agreement": round(sum(r["mono_truth_agree"] for r in two) / max(1, sum(r["truth_total"] for r in two)), 4),
        "voicemails_one_voice_and_flagged": f"{sum(r['voices'] == 1 and r['roles_review'] for r in vm)}/{len(vm)}",
        "diarize_x_realtime": round(sum(r["diarize_s"] for r in rows) / sum(r["duration_s"] for r in rows), 4),
        "threads": args.threads,
    }
    print()
    for key, value in summary.items():
        print(f"  {key:<36} {value}")
    for r in two:
        for d in r.get("differs", []):
            print(f"  differs {r['call_id']}: {d}")
    if args.json:
        args.json.write_text(json.dumps({"summary": summary, "calls": rows}, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
