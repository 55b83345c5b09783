"""Precision and recall of the default scorecards on phrasings nobody wrote them for.

``tests/data/phrasings/phrasings.yaml`` holds utterances per criterion and language, each
labelled (does it show what the criterion looks for?) and assigned once to ``tune`` or
``test``. Each utterance is placed in a small hand-made call built around the criterion (a
greeting opens the call, a closing ends it, an empathy statement answers a complaint, a
hold announcement precedes 20 s of silence, …) and the call is scored with the default
scorecard of its language; the criterion's verdict is the prediction.

Run: ``python benchmarks/phrasings.py [--split tune|test|both]``
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from qa_pipeline.criteria.base import Verdict  # noqa: E402
from qa_pipeline.scorecard import Scorecard, load_scorecard  # noqa: E402
from qa_pipeline.scoring import score_transcript  # noqa: E402
from qa_pipeline.transcript import Transcript  # noqa: E402
from transcript_factory import make_transcript  # noqa: E402

DATA = ROOT / "tests" / "data" / "phrasings" / "phrasings.yaml"
CARDS = {"en": ROOT / "scorecards" / "default.en.yaml", "zh": ROOT / "scorecards" / "default.zh.yaml"}

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
    predicted: Any


def _call(lines: list[tuple[str, float, str]], language: str, tail: float = 5.0) -> Transcript:
    base = make_transcript(lines, language=language)
    return make_transcript(lines, language=language, duration=base.audio.duration + tail)


def build_probe(item: Mapping[str, Any]) -> Probe:
    """The call and verdict reader for one phrasing item."""
    crit, lang, text = item["criterion"], item["language"], item["text"]
    L = _LINES[lang]
    passed = lambda r: r.verdict is Verdict.PASS  # noqa: E731
    if crit == "greeting":
        lines = [("agent", 1.0, text), ("customer", 12.0, L["request"]), ("agent", 20.0, L["reply"])]
        return Probe(_call(lines, lang), "greeting", passed)
    if crit == "self_identification":
        lines = [("agent", 1.0, text), ("customer", 12.0, L["request"]), ("agent", 20.0, L["reply"])]
        return Probe(_call(lines, lang), "self_identification", passed)
    if crit == "closing":
        lines = [("customer", 1.0, L["request"]), ("agent", 8.0, L["reply"]), ("customer", 15.0, L["done"]),
                 ("agent", 21.0, text)]
        return Probe(_call(lines, lang), "closing", passed)
    if crit == "positive_language":
        lines = [("customer", 1.0, L["request"]), ("agent", 8.0, text), ("customer", 18.0, L["fine"])]
        return Probe(_call(lines, lang), "positive_language", lambda r: r.verdict is Verdict.FAIL)
    if crit == "empathy":
        lines = [("customer", 1.0, L["complaint"]), ("agent", 10.0, text), ("customer", 20.0, L["fine"])]
        return Probe(_call(lines, lang), "empathy", passed)
    if crit == "customer_state":
        lines = [("agent", 0.5, L["opening"]), ("customer", 4.0, text), ("agent", 14.0, L["sorry"])]
        return Probe(_call(lines, lang), "empathy", lambda r: r.verdict is not Verdict.NA)
    if crit == "hold_announce":
        lines = [("customer", 1.0, L["request"]), ("agent", 8.0, text), ("agent", 40.0, L["thanks"])]
        return Probe(_call(lines, lang), "hold_etiquette", passed)
    if crit == "hold_thanks":
        lines = [("customer", 1.0, L["request"]), ("agent", 8.0, L["announce"]), ("agent", 40.0, text)]
        return Probe(_call(lines, lang), "hold_etiquette", passed)
    if crit == "active_listening":
        lines = [("agent", 0.5, L["opening"]), ("customer", 4.0, item["customer"]), ("agent", 16.0, text)]
        return Probe(_call(lines, lang), "active_listening", passed)
    raise ValueError(f"{DATA}: unknown criterion {crit!r}")


def load_items(split: str | None = None) -> list[dict[str, Any]]:
    """The phrasing items, optionally of one split."""
    items = yaml.safe_load(DATA.read_text(encoding="utf-8"))["items"]
    return [i for i in items if split is None or i["split"] == split]


def evaluate(items: list[Mapping[str, Any]], cards: Mapping[str, Scorecard]) -> dict[tuple[str, str], dict[str, int]]:
    """Confusion counts (tp, fp, fn, tn) per (criterion, language)."""
    out: dict[tuple[str, str], dict[str, int]] = {}
    for item in items:
        probe = build_probe(item)
        score = score_transcript(probe.transcript, cards[item["language"]])
        got = bool(probe.predicted(score.result(probe.criterion)))
        want = bool(item["counts"])
        c = out.setdefault((item["criterion"], item["language"]), {"tp": 0, "fp": 0, "fn": 0, "tn": 0})
        c[("t" if got == want else "f") + ("p" if got else "n")] += 1
    return out


def precision_recall(c: Mapping[str, int]) -> tuple[float, float, float]:
    """(precision, recall, accuracy) from confusion counts (precision 1.0 with no positives)."""
    p = c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else 1.0
    r = c["tp"] / (c["tp"] + c["fn"]) if c["tp"] + c["fn"] else 1.0
    acc = (c["tp"] + c["tn"]) / sum(c.values())
    return p, r, acc


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--split", choices=("tune", "test", "both"), default="both")
    ap.add_argument("--verbose", action="store_true", help="list every wrong item")
    args = ap.parse_args()
    cards = {lang: load_scorecard(path) for lang, path in CARDS.items()}
    for split in ("tune", "test") if args.split == "both" else (args.split,):
        items = load_items(split)
        t0 = time.perf_counter()
        counts = evaluate(items, cards)
        print(f"\n{split} half: {len(items)} items, {time.perf_counter() - t0:.1f}s")
        print(f"{'criterion':22s} {'lang':4s} {'precision':>9s} {'recall':>7s} {'accuracy':>8s}  n")
        for (crit, lang), c in sorted(counts.items()):
            p, r, acc = precision_recall(c)
            print(f"{crit:22s} {lang:4s} {p:9.2f} {r:7.2f} {acc:8.2f}  {sum(c.values())}")
        if args.verbose:
            for item in items:
                probe = build_probe(item)
                res = score_transcript(probe.transcript, cards[item["language"]]).result(probe.criterion)
                if bool(probe.predicted(res)) != bool(item["counts"]):
                    print(f"  WRONG {item['criterion']}/{item['language']} counts={item['counts']}: {item['text']}")


if __name__ == "__main__":
    main()
