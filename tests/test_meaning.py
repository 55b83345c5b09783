"""Judging by meaning: names, the customer's state, cut-off recordings, plain evidence, determinism."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from transcript_factory import make_transcript

from qa_pipeline.criteria import Verdict
from qa_pipeline.errors import ScorecardError
from qa_pipeline.scorecard import load_scorecard, parse_scorecard
from qa_pipeline.scoring import score_transcript
from qa_pipeline.semantic import split_utterances
from qa_pipeline.textmatch import is_name_like
from qa_pipeline.transcript import Speaker

ROOT = Path(__file__).resolve().parent.parent
EN = load_scorecard(ROOT / "scorecards" / "default.en.yaml")
REQUEST = ("customer", 8.0, "Hi, I would like to move my plan to the annual one.")


@pytest.mark.parametrize(
    ("token", "written", "expected"),
    [
        ("michelle", "Michelle,", True),
        ("travis", "Travis.", True),
        ("declan", "Declan.", True),  # not a census name, but capitalised by the recogniser
        ("originally", "originally", False),
        ("here", "here", False),
        ("serviced", "serviced", False),
        ("calling", "Calling", False),
        ("the", "The", False),
    ],
)
def test_name_like_words(token: str, written: str, expected: bool) -> None:
    assert is_name_like(token, written) is expected


@pytest.mark.parametrize(
    "line",
    ["I'm Michelle, how can I help you today?", "This is Travis.", "Terry speaking, how can I help you?",
     "Hi there, I'm Declan.", "My name is Ingrid and I'm with support."],
)
def test_ordinary_self_introductions_pass(line: str) -> None:
    r = score_transcript(make_transcript([("agent", 0.5, line), REQUEST]), EN).result("self_identification")
    assert r.verdict is Verdict.PASS, r.reason
    assert r.evidence[0].rule.startswith('Agent at 0:0')
    assert "— introduces themself by name" in r.evidence[0].rule


@pytest.mark.parametrize(
    ("line", "expected"),
    [("My name is angry and I'm with support.", Verdict.PASS),  # "Ingrid" as the recogniser heard it
     ("Hi, my name's deck, how can I help?", Verdict.PASS),
     ("My name is the best, how can I help?", Verdict.FAIL)],
)
def test_my_name_is_takes_a_misheard_name(line: str, expected: Verdict) -> None:
    r = score_transcript(make_transcript([("agent", 0.5, line), REQUEST]), EN).result("self_identification")
    assert r.verdict is expected, r.reason


@pytest.mark.parametrize(
    "script",
    [
        [("agent", 0.5, "Good morning, how can I help?"), ("customer", 4.0, "Hi, I'm originally from Ohio.")],
        [("agent", 0.5, "Good morning, how can I help?"), ("customer", 4.0, "It was serviced here last month.")],
        [("agent", 0.5, "I'm calling about your order, this is serviced here.")],
    ],
)
def test_words_that_are_no_names_do_not_introduce(script: list) -> None:
    r = score_transcript(make_transcript(script), EN).result("self_identification")
    assert r.verdict is Verdict.FAIL


@pytest.mark.parametrize(
    ("token", "following", "expected"),
    [("王", "磊", True), ("张", "", True), ("金", "卡", False), ("江", "西", False), ("是", "", False),
     ("在", "网", False)],
)
def test_chinese_name_characters(token: str, following: str, expected: bool) -> None:
    assert is_name_like(token, token, following) is expected


# Phrases alone, so the verdict shows what the name rule accepts, not what meaning adds.
_ZH_NAMES = (
    "schema_version: 1\nname: t\nlanguages: [zh]\ncriteria:\n  - id: self_identification\n"
    "    title: Name\n    type: phrase\n    weight: 1\n    speaker: agent\n"
    "    phrases: ['我是{name}', '我是小{name}', '我姓{name}']\n"
)


@pytest.mark.parametrize(
    ("line", "expected"),
    [("您好，我是小王，请问有什么可以帮您？", Verdict.PASS), ("我是王磊，很高兴为您服务。", Verdict.PASS),
     ("您好，我姓张。", Verdict.PASS), ("我是金卡会员。", Verdict.FAIL), ("我是在网上买的。", Verdict.FAIL),
     ("我是江西的。", Verdict.FAIL)],
)
def test_chinese_self_introductions_by_name(line: str, expected: Verdict) -> None:
    call = make_transcript([("agent", 0.5, line), ("customer", 8.0, "你好，我想问一下我的订单。")], language="zh")
    r = score_transcript(call, parse_scorecard(_ZH_NAMES)).result("self_identification")
    assert r.verdict is expected, r.reason


def test_apology_answers_a_complaint_without_frustration_words() -> None:
    call = make_transcript(
        [
            ("agent", 0.5, "Thank you for calling, this is Anna."),
            ("customer", 4.0, "I'm really worried about the missing money."),
            ("agent", 12.0, "Oh no, I'm so sorry for the inconvenience."),
        ]
    )
    r = score_transcript(call, EN).result("empathy")
    assert r.verdict is Verdict.PASS, r.reason
    cue, answer = r.evidence[0], r.evidence[1]
    assert cue.speaker is Speaker.CUSTOMER and "voices a complaint or distress" in cue.rule
    assert answer.speaker is Speaker.AGENT and answer.rule.startswith('Agent at 0:12: "')


def test_a_plain_request_needs_no_empathy() -> None:
    call = make_transcript([("agent", 0.5, "Thank you for calling, this is Anna."), REQUEST])
    assert score_transcript(call, EN).result("empathy").verdict is Verdict.NA


def test_semantic_evidence_quotes_the_example() -> None:
    call = make_transcript(
        [("agent", 0.5, "Lovely to have you on the line, what can I do today?"), REQUEST], duration=30.0
    )
    r = score_transcript(call, EN).result("greeting")
    assert r.verdict is Verdict.PASS
    assert '— greets the caller: means the same as "' in r.evidence[0].rule
    assert r.evidence[0].rule.endswith("(a scorecard example)")


def _unclosed(tail: float):
    # The opening lies outside the closing window (the last 45 s), so only the end counts.
    last = ("agent", 60.0, "Let me pull up the plans.")
    return make_transcript(
        [("agent", 0.5, "Thank you for calling, this is Anna."), REQUEST, last],
        duration=60.0 + 5 * 0.3 + 4 * 0.1 + tail,
    )


def test_a_recording_that_ends_mid_call_leaves_closing_na() -> None:
    r = score_transcript(_unclosed(0.2), EN).result("closing")
    assert r.verdict is Verdict.NA
    assert r.reason == "the recording ends mid-conversation at 1:02"


def test_a_call_that_ends_without_a_closing_fails_it() -> None:
    assert score_transcript(_unclosed(5.0), EN).result("closing").verdict is Verdict.FAIL


def test_a_customer_goodbye_is_no_cut_off() -> None:
    call = make_transcript(
        [("agent", 0.5, "Thank you for calling, this is Anna."), REQUEST, ("agent", 60.0, "Done."),
         ("customer", 62.0, "Great, goodbye.")],
        duration=62.0 + 2 * 0.3 + 0.1 + 0.2,
    )
    assert score_transcript(call, EN).result("closing").verdict is Verdict.FAIL


def test_long_sentences_are_cut_into_clauses_once() -> None:
    t = make_transcript(
        [("customer", 0.0, "I bought the car from you two weeks ago and I'm just a little baffled about why the light came on.")]
    )
    utts = split_utterances(Speaker.CUSTOMER, t.turns)
    assert [u.text for u in utts] == [
        "I bought the car from you two weeks ago",
        "and I'm just a little baffled about why the light came on.",
    ]


def test_a_one_word_sentence_is_judged_with_the_next_one() -> None:
    t = make_transcript([("agent", 0.0, "Apology. That should never have happened. Okay. Let me fix it.")])
    texts = [u.text for u in split_utterances(Speaker.AGENT, t.turns)]
    assert "Apology. That should never have happened." in texts
    # An acknowledgement closes what came before; it does not open the next sentence.
    assert "Okay. Let me fix it." not in texts and "Let me fix it." in texts


def test_verdicts_do_not_depend_on_torch_threads() -> None:
    import torch

    call = make_transcript(
        [
            ("agent", 0.5, "Hello and welcome, you're on the line with support."),
            ("customer", 4.0, "I've been without internet for a whole week."),
            ("agent", 10.0, "That sounds exhausting, I'm sorry."),
        ]
    )
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = score_transcript(call, EN).to_json()
        torch.set_num_threads(2)
        two = score_transcript(call, EN).to_json()
    finally:
        torch.set_num_threads(before)
    assert one == two


def _greeting_card(criterion_lines: str = "", top_lines: str = "") -> str:
    """A one-criterion scorecard (a greeting with the phrase "hello") with extra YAML lines
    under the criterion and at the top level."""
    return (
        "schema_version: 1\nname: t\nlanguages: [en]\n" + top_lines
        + "criteria:\n  - id: greeting\n    title: Greeting\n    type: phrase\n    weight: 1\n"
        + "    speaker: agent\n    phrases: [hello]\n" + criterion_lines
    )


def test_counter_examples_need_examples() -> None:
    body = _greeting_card("    counter_examples: [what is your account number]\n")
    with pytest.raises(ScorecardError, match="criterion 'greeting': field 'counter_examples': needs 'examples'"):
        parse_scorecard(body)


def test_example_similarity_is_a_cosine() -> None:
    body = _greeting_card("    examples: [welcome to the help line]\n    min_example_similarity: 1.5\n")
    with pytest.raises(ScorecardError, match="field 'min_example_similarity': must be <= 1"):
        parse_scorecard(body)


# Floors on the held-out half of the independent phrasing set (benchmarks/phrasings.py),
# set a few points under the measured figures (English 173/180 right with no false positive;
# Chinese 158/180 with three) so a regression fails.
def _load_phrasings_benchmark():
    """The benchmark module, loaded from its file: putting benchmarks/ on sys.path would let
    its script names shadow installed packages for the rest of the run."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("phrasings_benchmark", ROOT / "benchmarks" / "phrasings.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve their module by name
    spec.loader.exec_module(module)
    return module


def test_phrasing_test_half_floor() -> None:
    phrasings = _load_phrasings_benchmark()

    cards = {lang: load_scorecard(path) for lang, path in phrasings.CARDS.items()}
    counts = phrasings.evaluate(phrasings.load_items("test"), cards)
    right = {lang: 0 for lang in cards}
    total = {lang: 0 for lang in cards}
    false_pos = {lang: 0 for lang in cards}
    for (_, lang), c in counts.items():
        right[lang] += c["tp"] + c["tn"]
        total[lang] += sum(c.values())
        false_pos[lang] += c["fp"]
    assert right["en"] / total["en"] >= 0.93, counts
    assert false_pos["en"] <= 1, counts
    assert right["zh"] / total["zh"] >= 0.84, counts
    assert false_pos["zh"] <= 5, counts


def test_phrasing_probe_lines_build_the_hand_made_calls() -> None:
    # The probe calls as they were written before both modes shared one line list.
    phrasings = _load_phrasings_benchmark()
    items = phrasings.load_items()
    greeting = next(i for i in items if i["criterion"] == "greeting" and i["language"] == "en")
    thanks = next(i for i in items if i["criterion"] == "hold_thanks" and i["language"] == "zh")
    written = [
        (greeting, [("agent", 1.0, greeting["text"]), ("customer", 12.0, "Hi, I have a question about my order."),
                    ("agent", 20.0, "Sure, let me check that order for you.")]),
        (thanks, [("customer", 1.0, "你好，我想问一下我的订单。"), ("agent", 8.0, "请您稍等，我帮您查询一下。"),
                  ("agent", 40.0, thanks["text"])]),
    ]
    for item, lines in written:
        lang = item["language"]
        end = make_transcript(lines, language=lang).audio.duration
        assert phrasings.build_probe(item).transcript == make_transcript(lines, language=lang, duration=end + 5.0)


def test_rendered_phrasing_call_keeps_the_probe_lines_and_silences() -> None:
    phrasings = _load_phrasings_benchmark()
    from qa_pipeline.synth import Line, Pause

    item = next(i for i in phrasings.load_items() if i["criterion"] == "hold_announce" and i["language"] == "en")
    call = phrasings.probe_call(item)
    script = phrasings.render_script(call)
    lines = [s for s in script.steps if isinstance(s, Line)]
    assert [(line.speaker.value, line.text) for line in lines] == [(s, t) for s, _, t in call.lines]
    assert lines[call.tested].text == item["text"]
    assert lines[0].gap_seconds == 1.0
    assert lines[2].gap_seconds >= 20.0  # the hold
    assert script.steps[-1] == Pause("dead_air", phrasings.TAIL_SECONDS)
    assert phrasings.render_script(call) == script  # the call id is a content hash


def _normalised(text: str) -> str:
    return " ".join(re.sub(r"[^\w' ]+", " ", text.lower()).split())


def test_phrasings_are_independent_of_scorecards_and_renderer() -> None:
    phrasings = _load_phrasings_benchmark()

    def lines_of(paths) -> list[tuple[str, str]]:
        return [
            (f"{p.relative_to(ROOT)}:{n}", _normalised(line))
            for p in paths
            for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        ]

    def holding(lines: list[tuple[str, str]], items: list[dict]) -> list[str]:
        # Only the file side is named, so a failure never shows a held-out phrasing.
        texts = [_normalised(i["text"]) for i in items]
        return [where for where, line in lines if any(t and t in line for t in texts)]

    renderer = lines_of([*(ROOT / "qa_pipeline" / "synth").rglob("*.py"), *(ROOT / "samples").glob("*.yaml")])
    # Tune items may become scorecard examples; held-out ones never.
    cards = lines_of(sorted((ROOT / "scorecards").glob("*.yaml")))
    assert not holding(renderer, phrasings.load_items())
    assert not holding(cards, phrasings.load_items("test"))


def test_no_scorecard_example_copies_a_held_out_phrasing() -> None:
    phrasings = _load_phrasings_benchmark()

    from qa_pipeline.semantic import embed, model_for, similarity_matrix

    examples: dict[str, list[str]] = {}
    for card in (EN, load_scorecard(ROOT / "scorecards" / "default.zh.yaml")):
        specs = [card.frustration_meaning]
        for c in card.criteria:
            rule = c.rule
            specs += [getattr(rule, name, None) for name in ("meaning", "response_meaning", "announce_meaning", "thank_meaning")]
        for spec in specs:
            if spec is not None:
                for mapping in (spec.examples, spec.counter_examples):
                    for lang, items in mapping.items():
                        examples.setdefault(lang, []).extend(items)
    close: list[str] = []
    for lang, mine in examples.items():
        held_out = [i["text"] for i in phrasings.load_items("test") if i["language"] == lang]
        model = model_for(lang)  # each language is compared by the model that judges it
        sims = similarity_matrix(embed(mine, model), embed(held_out, model))
        # Only the scorecard side is named: the held-out phrasings stay unseen.
        close += [mine[a] for a in sorted(set((sims >= 0.9).nonzero()[0]))]
    assert not close


def test_example_neighbours_must_be_a_whole_number_of_at_least_one() -> None:
    body = _greeting_card("    examples: [welcome to the help line]\n    example_neighbours: {value}\n")
    for value, message in (("0", "must be >= 1"), ("1.5", "expected a whole number")):
        with pytest.raises(ScorecardError, match=f"criterion 'greeting': field 'example_neighbours': {message}"):
            parse_scorecard(body.format(value=value))


def test_example_neighbours_need_examples() -> None:
    body = _greeting_card(top_lines="frustration_phrases: [fed up]\nfrustration_example_neighbours: 3\n")
    with pytest.raises(ScorecardError, match="field 'frustration_example_neighbours': needs 'frustration_examples'"):
        parse_scorecard(body)


def test_the_score_is_the_mean_of_the_nearest_examples_and_quotes_the_nearest() -> None:
    from qa_pipeline.semantic import MeaningSpec, Utterance, embed, judge, similarity_matrix

    examples = ("thanks for waiting", "thank you for your patience", "the parcel left the depot")
    utt = Utterance(Speaker.AGENT, 0.0, 1.0, "thanks so much for holding on", 0)
    vec = embed([utt.text])
    sims = sorted(similarity_matrix(vec, embed(list(examples)))[0].tolist(), reverse=True)
    one = MeaningSpec({"en": examples}, {}, 0.1)
    two = MeaningSpec({"en": examples}, {}, 0.1, neighbours=2)
    nearest = judge([utt], vec, one, "en")[0]
    mean = judge([utt], vec, two, "en")[0]
    assert nearest is not None and mean is not None
    assert nearest.similarity == sims[0]
    assert mean.similarity == round((sims[0] + sims[1]) / 2, 3)
    assert mean.example == nearest.example  # the evidence still quotes the nearest example
    # A threshold between the two scores separates them: averaging asks for more than one alike.
    strict = MeaningSpec({"en": examples}, {}, round((sims[0] + mean.similarity) / 2, 3) + 0.001, neighbours=2)
    assert judge([utt], vec, strict, "en")[0] is None
