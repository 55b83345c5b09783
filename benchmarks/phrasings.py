"""Precision and recall of the default scorecards on phrasings nobody wrote them for.

``tests/data/phrasings/phrasings.yaml`` holds utterances per criterion and language, each
labelled (does it show what the criterion looks for?) and assigned once to ``tune`` or
``test``. Each utterance is placed in a small hand-made call built around the criterion (a
greeting opens the call, a closing ends it, an empathy statement answers a complaint, a
hold announcement precedes 20 s of silence, …) and the call is scored with the default
scorecard of its language; the criterion's verdict is the prediction.

``--rendered`` measures the same calls as recordings: each English probe call (the same
speakers, order and texts, the same silence before every line — 20+ s for a hold — and 5 s of
tail) is spoken by the bundled piper voice as 8 kHz mu-law stereo, agent on channel 0 and
customer on channel 1 like the rendered test calls, transcribed by the default recogniser
(offline tiny.en, default options; ``--model`` and ``--beam-size`` choose another) through
:func:`qa_pipeline.pipeline.transcribe_call`, its roles decided with the English scorecard's
agent phrases as a scoring run does, and scored
with ``scorecards/default.en.yaml``. The table adds the word error rate of the utterance under
test (the recogniser's words on its speaker's channel, within a second of where it was
spoken); ``--verbose`` lists each wrong item with what the recogniser wrote. By default the
agent's channel is configured (as the transcript mode configures it): several probe calls open
with the customer and no greeting, which ``--agent-channel auto`` lets the role step take for
the agent. Audio, ground truth and transcripts are cached under ``--cache`` (default
``<qa cache>/phrasings``; see :func:`qa_pipeline.cache.default_cache_dir`), named by hashes of
the script and every option, so a second run only scores again; delete the folder after
changing the voice or the recogniser. The voice speaks English only: Chinese items are measured
on transcripts only. Minutes for a whole half on two cores.

Run: ``python benchmarks/phrasings.py [--split tune|test|both] [--verbose]``, or
``python benchmarks/phrasings.py --rendered [--split ...] [--limit N] [--agent-channel 0|auto]
[--cache DIR] [--model NAME] [--beam-size N]``
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import zip_longest
from pathlib import Path
from typing import Any, Mapping

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from qa_pipeline.cache import default_cache_dir  # noqa: E402
from qa_pipeline.criteria.base import Verdict  # noqa: E402
from qa_pipeline.options import AudioOptions, TranscribeOptions  # noqa: E402
from qa_pipeline.pii import RedactionOptions  # noqa: E402
from qa_pipeline.scorecard import Scorecard, load_scorecard  # noqa: E402
from qa_pipeline.scoring import CriterionResult, score_transcript  # noqa: E402
from qa_pipeline.synth import TRUTH_SUFFIX, CallScript, Line, Pause, RenderOptions  # noqa: E402
from qa_pipeline.transcript import Speaker, Transcript  # noqa: E402
from qa_pipeline.wer import WordErrors, word_errors  # noqa: E402
from transcript_factory import make_transcript, turn_end  # noqa: E402

DATA = ROOT / "tests" / "data" / "phrasings" / "phrasings.yaml"
CARDS = {"en": ROOT / "scorecards" / "default.en.yaml", "zh": ROOT / "scorecards" / "default.zh.yaml"}
# Silence after the last line of every probe call.
TAIL_SECONDS = 5.0
# Raised when what a cached rendered call or transcript holds changes.
RENDER_CACHE_LAYOUT = 3

# Fixed lines around the utterance under test, per language.
_LINES = {
    "en": {
        "opening": "Hello, thank you for calling.",
        "request": "Hi, I have a question about my order.",
        "reply": "Sure, let me check that order for you.",
        "done": "Okay, thanks, that's all I needed.",
        "complaint": "My order arrived broken and I'm really frustrated about it.",
        "sorry": "I'm so sorry to hear that.",
        "announce": "May I place you on hold for a moment?",
        "thanks": "Thank you for holding.",
        "fine": "Okay.",
    },
    "zh": {
        "opening": "您好，感谢您的来电。",
        "request": "你好，我想问一下我的订单。",
        "reply": "好的，我帮您查一下这个订单。",
        "done": "好的，谢谢，就这些。",
        "complaint": "我的东西到的时候是坏的，我真的很生气。",
        "sorry": "非常抱歉听到这个情况。",
        "announce": "请您稍等，我帮您查询一下。",
        "thanks": "感谢您的耐心等待。",
        "fine": "好的。",
    },
}


@dataclass(frozen=True)
class ProbeCall:
    """One probe call: the lines around the utterance under test and what to read from its score.

    The one definition of each probe call; the transcript mode builds a hand-made transcript
    from it and the rendered mode speaks it.

    Attributes:
        lines: ``(speaker, start seconds, text)`` in order, as :func:`make_transcript` takes them.
        tested: Index in ``lines`` of the utterance under test.
        criterion: The scorecard criterion judged.
        predicted: Reads the criterion's result: True when the utterance was taken to show
            what the criterion looks for.
        language: The call's language.
    """

    lines: tuple[tuple[str, float, str], ...]
    tested: int
    criterion: str
    predicted: Callable[[CriterionResult], bool]
    language: str


@dataclass(frozen=True)
class Probe:
    """A call built around one utterance and what to read from its score.

    Attributes:
        transcript: The call.
        criterion: The scorecard criterion judged.
        predicted: Reads the criterion's result: True when the utterance was taken to show
            what the criterion looks for.
    """

    transcript: Transcript
    criterion: str
    predicted: Callable[[CriterionResult], bool]


def _call(lines: Sequence[tuple[str, float, str]], language: str, tail: float = TAIL_SECONDS) -> Transcript:
    base = make_transcript(lines, language=language)
    return make_transcript(lines, language=language, duration=base.audio.duration + tail)


def _passed(r: CriterionResult) -> bool:
    return r.verdict is Verdict.PASS


def _failed(r: CriterionResult) -> bool:
    return r.verdict is Verdict.FAIL


def _judged(r: CriterionResult) -> bool:
    return r.verdict is not Verdict.NA


def probe_call(item: Mapping[str, Any]) -> ProbeCall:
    """The probe call of one phrasing item: its lines, the utterance under test and the reader.

    Raises:
        ValueError: The item names a criterion no probe is built for.
    """
    crit, lang, text = item["criterion"], item["language"], item["text"]
    L = _LINES[lang]
    if crit in ("greeting", "self_identification"):
        lines = [("agent", 1.0, text), ("customer", 12.0, L["request"]), ("agent", 20.0, L["reply"])]
        return ProbeCall(tuple(lines), 0, crit, _passed, lang)
    if crit == "closing":
        lines = [("customer", 1.0, L["request"]), ("agent", 8.0, L["reply"]), ("customer", 15.0, L["done"]),
                 ("agent", 21.0, text)]
        return ProbeCall(tuple(lines), 3, "closing", _passed, lang)
    if crit == "positive_language":
        lines = [("customer", 1.0, L["request"]), ("agent", 8.0, text), ("customer", 18.0, L["fine"])]
        return ProbeCall(tuple(lines), 1, "positive_language", _failed, lang)
    if crit == "empathy":
        lines = [("customer", 1.0, L["complaint"]), ("agent", 10.0, text), ("customer", 20.0, L["fine"])]
        return ProbeCall(tuple(lines), 1, "empathy", _passed, lang)
    if crit == "customer_state":
        lines = [("agent", 0.5, L["opening"]), ("customer", 4.0, text), ("agent", 14.0, L["sorry"])]
        return ProbeCall(tuple(lines), 1, "empathy", _judged, lang)
    if crit == "hold_announce":
        lines = [("customer", 1.0, L["request"]), ("agent", 8.0, text), ("agent", 40.0, L["thanks"])]
        return ProbeCall(tuple(lines), 1, "hold_etiquette", _passed, lang)
    if crit == "hold_thanks":
        lines = [("customer", 1.0, L["request"]), ("agent", 8.0, L["announce"]), ("agent", 40.0, text)]
        return ProbeCall(tuple(lines), 2, "hold_etiquette", _passed, lang)
    if crit == "active_listening":
        lines = [("agent", 0.5, L["opening"]), ("customer", 4.0, item["customer"]), ("agent", 16.0, text)]
        return ProbeCall(tuple(lines), 2, "active_listening", _passed, lang)
    raise ValueError(f"{DATA}: unknown criterion {crit!r}")


def build_probe(item: Mapping[str, Any]) -> Probe:
    """The hand-made transcript and verdict reader for one phrasing item."""
    call = probe_call(item)
    return Probe(_call(call.lines, call.language), call.criterion, call.predicted)


def load_items(split: str | None = None) -> list[dict[str, Any]]:
    """The phrasing items, optionally of one split."""
    items = yaml.safe_load(DATA.read_text(encoding="utf-8"))["items"]
    return [i for i in items if split is None or i["split"] == split]


def _count(out: dict[tuple[str, str], dict[str, int]], item: Mapping[str, Any], got: bool) -> None:
    want = bool(item["counts"])
    c = out.setdefault((item["criterion"], item["language"]), {"tp": 0, "fp": 0, "fn": 0, "tn": 0})
    c[("t" if got == want else "f") + ("p" if got else "n")] += 1


def evaluate(
    items: Sequence[Mapping[str, Any]],
    cards: Mapping[str, Scorecard],
    wrong: list[Mapping[str, Any]] | None = None,
) -> dict[tuple[str, str], dict[str, int]]:
    """Confusion counts (tp, fp, fn, tn) per (criterion, language).

    Args:
        items: Phrasing items.
        cards: The default scorecard of each language.
        wrong: When given, each item whose prediction misses its label is appended to it.
    """
    out: dict[tuple[str, str], dict[str, int]] = {}
    for item in items:
        probe = build_probe(item)
        score = score_transcript(probe.transcript, cards[item["language"]])
        got = bool(probe.predicted(score.result(probe.criterion)))
        _count(out, item, got)
        if wrong is not None and got != bool(item["counts"]):
            wrong.append(item)
    return out


# --- rendered mode ----------------------------------------------------------------------------


def render_script(call: ProbeCall) -> CallScript:
    """The probe call as a script for the synthesiser, with a call id derived from its content.

    Each line keeps the silence before it that the hand-made transcript has (the time from the
    end of the line before, as :func:`make_transcript` lays words out, to the line's start),
    so a hold item keeps its 20+ s of silence; the call ends with the same tail of silence.
    Speech lengths are the voice's own.
    """
    steps: list[Line | Pause] = []
    previous_end = 0.0
    for speaker, start, text in call.lines:
        # Never negative: lines follow each other; no probe makes one party talk over the other.
        steps.append(Line(Speaker(speaker), text, gap_seconds=round(max(start - previous_end, 0.0), 3)))
        previous_end = turn_end(start, text)
    steps.append(Pause("dead_air", TAIL_SECONDS))
    script = CallScript(
        call_id="phrasing",
        agent_id="phrasings",
        agent_name="Alex",
        team="phrasings",
        started_at=datetime(2024, 1, 1, 9, 0),
        steps=tuple(steps),
    )
    recipe = {
        "layout": RENDER_CACHE_LAYOUT,
        "script": {k: v for k, v in script.to_dict().items() if k != "call_id"},
        "render": RenderOptions().to_dict(),
    }
    return dataclasses.replace(script, call_id=f"phrasing-{_digest(recipe)}")


def _digest(recipe: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:20]


@dataclass(frozen=True)
class RenderedCall:
    """A probe call rendered and transcribed.

    Attributes:
        transcript: What the recogniser made of the recording, roles decided.
        heard: The recogniser's words for the utterance under test (on its speaker's channel,
            within a second of where the voice spoke it).
        agent_on_channel: The role step put the agent on the channel the agent was rendered on.
    """

    transcript: Transcript
    heard: str
    agent_on_channel: bool


class RenderedCalls:
    """Renders, transcribes and caches probe calls (audio, ground truth and transcript per call).

    Audio is named by the call id of :func:`render_script`, a hash of the lines, voices and
    render options; a transcript by that id and a hash of every transcription, channel and
    redaction option. A second run only scores again.

    Args:
        cache: Folder for the files; created if missing.
        agent_phrases: The English scorecard's agent phrases, which the role step weighs as
            a scoring run does.
        audio_options: Decoding and channel options of transcription.
        options: Recognition options (default: the bundled tiny.en, greedy).
    """

    def __init__(
        self,
        cache: Path,
        agent_phrases: Sequence[str],
        audio_options: AudioOptions,
        options: TranscribeOptions | None = None,
    ) -> None:
        self.cache = cache
        self.agent_phrases = tuple(agent_phrases)
        self.audio_options = audio_options
        self.options = options or TranscribeOptions()
        self._transcript_key = _digest(
            {
                "layout": RENDER_CACHE_LAYOUT,
                "transcribe": self.options.to_dict(),
                "audio": audio_options.to_dict(),
                "redaction": RedactionOptions().cache_key(),
            }
        )
        self._engine: Any = None
        self.rendered = 0
        self.transcribed = 0

    def _engine_for_run(self) -> Any:
        if self._engine is None:
            from qa_pipeline.asr import create_engine
            from qa_pipeline.asr.device import reproducible_gemm

            # As the batch worker does, before the engine loads MKL.
            reproducible_gemm()

            self._engine = create_engine(self.options)
        return self._engine

    def render_missing(self, calls: Sequence[ProbeCall]) -> None:
        """Render the calls not in the cache yet, one per core at once."""
        from qa_pipeline.synth import render_scripts

        scripts = {s.call_id: s for s in map(render_script, calls)}
        # The truth file is written after the audio, so its presence marks a complete render.
        missing = [s for cid, s in scripts.items() if not (self.cache / f"{cid}{TRUTH_SUFFIX}").is_file()]
        if missing:
            render_scripts(missing, self.cache, RenderOptions())
            self.rendered += len(missing)

    def get(self, call: ProbeCall) -> RenderedCall:
        """The rendered and transcribed call, from the cache where it is there."""
        from qa_pipeline.pipeline import transcribe_call
        from qa_pipeline.role_step import assign_roles
        from qa_pipeline.synth import GroundTruth

        script = render_script(call)
        self.render_missing([call])
        truth = GroundTruth.read(self.cache / f"{script.call_id}{TRUTH_SUFFIX}")
        transcript_path = self.cache / f"{script.call_id}-{self._transcript_key}.transcript.json"
        if transcript_path.is_file():
            transcript = Transcript.load(transcript_path)
        else:
            transcript = transcribe_call(
                self.cache / truth.audio_file,
                self._engine_for_run(),
                self.audio_options,
                self.options,
                call_id=script.call_id,
            )
            transcript.save(transcript_path)
            self.transcribed += 1
        transcript = assign_roles(transcript, self.agent_phrases, self.audio_options.roles_review_below)
        said = truth.utterances[call.tested]
        channel = truth.channel_map[said.speaker.value]
        heard = " ".join(
            w.text
            for t in transcript.turns
            if t.channel == channel
            for w in t.words
            if said.start - 1.0 <= (w.start + w.end) / 2 <= said.end + 1.0
        )
        return RenderedCall(transcript, heard, transcript.roles.agent_channel == truth.channel_map["agent"])


@dataclass(frozen=True)
class RenderedResult:
    """One item's outcome in the rendered mode.

    Attributes:
        item: The phrasing item.
        right: The prediction matched the item's label.
        heard: What the recogniser wrote for the utterance under test.
        errors: Word errors of ``heard`` against the item's text.
        agent_on_channel: Roles were decided as rendered.
    """

    item: Mapping[str, Any]
    right: bool
    heard: str
    errors: WordErrors
    agent_on_channel: bool


def evaluate_rendered(
    items: Sequence[Mapping[str, Any]],
    card: Scorecard,
    calls: RenderedCalls,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[dict[tuple[str, str], dict[str, int]], list[RenderedResult]]:
    """Confusion counts per (criterion, language) and per-item results on rendered calls.

    Args:
        items: English phrasing items.
        card: The English default scorecard.
        calls: Renders, transcribes and caches the calls.
        progress: Called as ``progress(done, total)`` after each item.
    """
    out: dict[tuple[str, str], dict[str, int]] = {}
    results: list[RenderedResult] = []
    calls.render_missing([probe_call(item) for item in items])
    for done, item in enumerate(items, start=1):
        call = probe_call(item)
        rendered = calls.get(call)
        score = score_transcript(rendered.transcript, card)
        got = bool(call.predicted(score.result(call.criterion)))
        _count(out, item, got)
        results.append(
            RenderedResult(
                item, got == bool(item["counts"]), rendered.heard, word_errors(item["text"], rendered.heard),
                rendered.agent_on_channel,
            )
        )
        if progress is not None:
            progress(done, len(items))
    return out, results


def precision_recall(c: Mapping[str, int]) -> tuple[float, float, float]:
    """(precision, recall, accuracy) from confusion counts (precision 1.0 with no positives)."""
    p = c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else 1.0
    r = c["tp"] / (c["tp"] + c["fn"]) if c["tp"] + c["fn"] else 1.0
    acc = (c["tp"] + c["tn"]) / sum(c.values())
    return p, r, acc


def _print_table(counts: Mapping[tuple[str, str], Mapping[str, int]], wer: Mapping[str, WordErrors] | None = None) -> None:
    print(f"{'criterion':22s} {'lang':4s} {'precision':>9s} {'recall':>7s} {'accuracy':>8s}  {'n':>3s}"
          + ("    wer" if wer is not None else ""))
    for (crit, lang), c in sorted(counts.items()):
        p, r, acc = precision_recall(c)
        row = f"{crit:22s} {lang:4s} {p:9.2f} {r:7.2f} {acc:8.2f}  {sum(c.values()):3d}"
        print(row + (f"  {wer[crit].rate:5.3f}" if wer is not None else ""))


def _run_transcripts(split: str, cards: Mapping[str, Scorecard], verbose: bool) -> None:
    items = load_items(split)
    t0 = time.perf_counter()
    wrong: list[Mapping[str, Any]] = []
    counts = evaluate(items, cards, wrong)
    print(f"\n{split} half: {len(items)} items, {time.perf_counter() - t0:.1f}s")
    _print_table(counts)
    if verbose:
        for item in wrong:
            print(f"  WRONG {item['criterion']}/{item['language']} counts={item['counts']}: {item['text']}")


def _spread(items: list[dict[str, Any]], limit: int | None) -> list[dict[str, Any]]:
    """The first ``limit`` items taken in turn from each criterion, so a short run covers every
    probe call; all items, in file order, without a limit."""
    if limit is None:
        return items
    by_criterion: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        by_criterion.setdefault(item["criterion"], []).append(item)
    turns = [item for row in zip_longest(*by_criterion.values()) for item in row if item is not None]
    return turns[:limit]


def _run_rendered(split: str, card: Scorecard, calls: RenderedCalls, limit: int | None, verbose: bool) -> None:
    items = load_items(split)
    english = _spread([i for i in items if i["language"] == "en"], limit)
    chinese = sum(1 for i in items if i["language"] != "en")

    def progress(done: int, total: int) -> None:
        if done % 20 == 0 or done == total:
            print(f"  {done}/{total} calls", file=sys.stderr, flush=True)

    t0 = time.perf_counter()
    counts, results = evaluate_rendered(english, card, calls, progress)
    wer: dict[str, WordErrors] = {}
    for r in results:
        wer[r.item["criterion"]] = wer.get(r.item["criterion"], WordErrors(0, 0, 0, 0)) + r.errors
    total = sum(wer.values(), WordErrors(0, 0, 0, 0))
    right = sum(r.right for r in results)
    model = f"{calls.options.model or 'tiny.en'}, beam {calls.options.beam_size}"
    print(f"\n{split} half, rendered ({model}): {len(english)} English calls ({calls.rendered} rendered, "
          f"{calls.transcribed} transcribed, the rest from {calls.cache}), {time.perf_counter() - t0:.1f}s")
    _print_table(counts, wer)
    if results:
        print(f"all: {right}/{len(results)} right ({right / len(results):.2f}); word error rate of the utterance "
              f"under test {total.rate:.3f}; roles as rendered in {sum(r.agent_on_channel for r in results)}"
              f"/{len(results)} calls")
    print(f"Chinese ({chinese} items): measured on transcripts only, the synthesis voice speaks English "
          "(run without --rendered)")
    if verbose:
        for r in results:
            if not r.right:
                roles = "" if r.agent_on_channel else " [roles swapped]"
                print(f"  WRONG {r.item['criterion']}/en counts={r.item['counts']}{roles}: {r.item['text']}\n"
                      f"        heard: {r.heard or '(nothing)'}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--split", choices=("tune", "test", "both"), default="both")
    ap.add_argument("--verbose", action="store_true", help="list every wrong item")
    ap.add_argument("--rendered", action="store_true",
                    help="speak the English calls, transcribe them with the default recogniser, then score")
    ap.add_argument("--limit", type=int, default=None, help="rendered mode: N English items of each half, taken in turn from each criterion")
    ap.add_argument("--agent-channel", choices=("0", "auto"), default="0",
                    help="rendered mode: the agent's channel as rendered (default, as the transcript mode "
                         "configures it) or decided by the role step")
    ap.add_argument("--cache", type=Path, default=None,
                    help="rendered mode: folder for audio and transcripts (default: <qa cache>/phrasings)")
    ap.add_argument("--model", default=None,
                    help="rendered mode: recognition model (default: the bundled tiny.en; base: the multilingual extra's)")
    ap.add_argument("--beam-size", type=int, default=1, help="rendered mode: beam size (1: greedy, the default)")
    args = ap.parse_args()
    if args.limit is not None and args.limit < 1:
        ap.error("--limit must be at least 1")
    cards = {lang: load_scorecard(path) for lang, path in CARDS.items()}
    calls = None
    if args.rendered:
        from qa_pipeline.roles import scorecard_agent_phrases

        # Several probe calls open with the customer and no greeting, which the role step
        # reads as the agent speaking first; the default measures the phrasing, not that.
        audio = AudioOptions(agent_channel="auto" if args.agent_channel == "auto" else int(args.agent_channel))
        calls = RenderedCalls(
            args.cache or default_cache_dir() / "phrasings",
            scorecard_agent_phrases(cards["en"]),
            audio,
            TranscribeOptions(model=args.model, beam_size=args.beam_size),
        )
    for split in ("tune", "test") if args.split == "both" else (args.split,):
        if calls is None:
            _run_transcripts(split, cards, args.verbose)
        else:
            _run_rendered(split, cards["en"], calls, args.limit, args.verbose)


if __name__ == "__main__":
    main()
