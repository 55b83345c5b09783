"""Normalisation and fuzzy phrase matching, English and Chinese."""

from __future__ import annotations

import pytest
from transcript_factory import make_turn

from qa_pipeline.textmatch import (
    MatchPolicy,
    PhraseError,
    PhraseLibrary,
    TokenTrack,
    compile_phrase,
    content_units,
    fast_join,
    match_text,
    normalise_text,
    token_similarity,
)
from qa_pipeline.transcript import Speaker, join_words


def phrases_found(text: str, phrases: list[str], policy: MatchPolicy | None = None) -> list[str]:
    return [m.phrase for m in match_text(text, phrases, policy)]


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("I'm SO sorry.", ("i", "am", "so", "sorry")),
        ("I am so sorry", ("i", "am", "so", "sorry")),
        ("I can't", ("i", "can", "not")),
        ("I cannot", ("i", "can", "not")),
        ("I can not", ("i", "can", "not")),
        ("won't", ("will", "not")),
        ("That's it", ("that", "is", "it")),
        ("my name's Sarah", ("my", "name", "is", "sarah")),
        ("John's card", ("john", "card")),
        ("you’re", ("you", "are")),  # typographic apostrophe
        ("dont", ("do", "not")),  # ASR without the apostrophe
        ("um, uh, hmm okay", ("okay",)),
        ("about 2 minutes", ("about", "two", "minutes")),
        ("follow-up", ("follow", "up")),
        ("ＨＥＬＬＯ，ｗｏｒｌｄ", ("hello", "world")),  # full width
    ],
)
def test_normalise_english(text: str, tokens: tuple[str, ...]) -> None:
    assert normalise_text(text) == tokens


def test_normalise_keeps_filler_like_words_that_carry_meaning() -> None:
    # "like", "so", "well" are not dropped: only true fillers are.
    assert normalise_text("so I like it well") == ("so", "i", "like", "it", "well")


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("您好！", ("您", "好")),
        ("您 好", ("您", "好")),
        ("請稍等", ("请", "稍", "等")),  # traditional → simplified
        ("嗯，好的", ("好", "的")),  # filler 嗯 dropped
        ("ＯＫ，没问题", ("okay", "没", "问", "题")),
        ("打了3次", ("打", "了", "three", "次")),
    ],
)
def test_normalise_chinese(text: str, tokens: tuple[str, ...]) -> None:
    assert normalise_text(text) == tokens


def test_token_similarity_rules() -> None:
    assert token_similarity("colling", "calling") >= 0.8
    assert token_similarity("frustratin", "frustrating") >= 0.8
    assert token_similarity("hole", "hold") >= 0.8  # one slip in a 4-letter word
    assert token_similarity("heard", "hear") == 0.0  # another word form, not a slip
    assert token_similarity("anything", "nothing") == 0.0  # protected words match exactly
    assert token_similarity("can", "man") == 0.0  # short words must be exact
    assert token_similarity("two", "to") > 0.8  # listed equivalents
    assert token_similarity("你", "您") > 0.8
    assert token_similarity("frustrating", "fascinating") < 0.8


def test_exact_and_case_punctuation_insensitive() -> None:
    assert phrases_found("THANK you, for calling!", ["thank you for calling"]) == ["thank you for calling"]


def test_contractions_match_both_ways() -> None:
    assert phrases_found("I am sorry about that", ["I'm sorry about that"]) == ["I'm sorry about that"]
    assert phrases_found("I'm sorry about that", ["I am sorry about that"]) == ["I am sorry about that"]
    assert phrases_found("there is nothing I cannot do", ["nothing I can't do"]) == ["nothing I can't do"]


def test_fillers_inside_phrase_are_ignored() -> None:
    assert phrases_found("thank you um for uh calling", ["thank you for calling"]) == [
        "thank you for calling"
    ]


def test_asr_slip_in_long_word() -> None:
    found = match_text("may I place you on a brief hole for two minutes", ["may I place you on a brief hold"])
    assert [m.phrase for m in found] == ["may I place you on a brief hold"]
    assert 0.9 < found[0].score < 1.0


def test_one_word_missing_in_a_long_phrase() -> None:
    assert phrases_found("may I place you on brief hold", ["may I place you on a brief hold"])


def test_short_phrase_needs_every_word() -> None:
    assert phrases_found("thank you for call", ["thank you for calling"]) == []
    assert phrases_found("thank for calling", ["thank you for calling"]) == []


def test_one_extra_word_inside_a_phrase() -> None:
    assert phrases_found("thank you all for calling", ["thank you for calling"])
    assert phrases_found("thank you very much for calling", ["thank you for calling"]) == []


def test_protected_words_cannot_be_skipped() -> None:
    # "my" flips the meaning; a near miss must not count as the prohibited phrase.
    assert phrases_found("that is not a problem at all", ["that is not my problem"]) == []
    assert phrases_found("that's not my problem", ["that is not my problem"])


def test_a_negation_is_never_an_extra_word() -> None:
    assert phrases_found("you are not lying", ["you are lying"]) == []
    assert phrases_found("that is not a problem", ["that is a problem"]) == []
    assert phrases_found("我们没有办法处理", ["我们有办法"]) == []
    assert phrases_found("you are clearly lying", ["you are lying"]) == ["you are lying"]


def test_edges_of_a_phrase_must_be_said() -> None:
    # "let me read that back" must not match "let me just read that reference".
    assert phrases_found("let me just read that reference number", ["let me read that back"]) == []


def test_wildcard_name() -> None:
    assert phrases_found("Hi, Sara speaking", ["{name} speaking"]) == ["{name} speaking"]
    assert phrases_found("I am speaking", ["{name} speaking"]) == []
    assert phrases_found("my name is Priya how can I help", ["my name is {name}"]) == ["my name is {name}"]


def test_overlapping_phrases_report_the_longest() -> None:
    found = match_text("thank you for calling", ["thank you", "thank you for calling", "for calling"])
    assert [m.phrase for m in found] == ["thank you for calling"]


def test_exact_policy_refuses_slips() -> None:
    exact = MatchPolicy(token_similarity=1.0, allow_missing=False, allow_insertions=False)
    assert phrases_found("brief hole please", ["brief hold"], exact) == []
    assert phrases_found("brief hold please", ["brief hold"], exact) == ["brief hold"]


def _track(*turns: tuple[float, str]) -> TokenTrack:
    return TokenTrack(Speaker.AGENT, [make_turn("agent", start, text) for start, text in turns])


def _find(track: TokenTrack, phrases: list[str], policy: MatchPolicy | None = None) -> list:
    lib = PhraseLibrary()
    sid = lib.add("test", {"*": phrases}, policy or MatchPolicy())
    index = lib.build(["*"])["*"]
    return index.verify(track, sid, index.scan(track).get(sid, []))


def test_phrase_split_across_two_turns_of_the_same_speaker() -> None:
    track = _track((0.0, "is there anything"), (2.0, "else I can help with"))
    found = _find(track, ["is there anything else I can help with"])
    assert len(found) == 1
    assert found[0].start == 0.0
    assert found[0].end == pytest.approx(2.0 + 5 * 0.3 + 4 * 0.1)


def test_long_pause_breaks_a_phrase() -> None:
    track = _track((0.0, "thank you"), (30.0, "for calling"))
    assert _find(track, ["thank you for calling"]) == []
    assert _find(track, ["thank you for calling"], MatchPolicy(max_word_gap_seconds=60.0))


def test_match_records_times_and_quoted_text() -> None:
    track = _track((10.0, "Okay, thank you for holding!"))
    (m,) = _find(track, ["thank you for holding"])
    assert m.text == "thank you for holding!"
    assert m.start == pytest.approx(10.4)
    assert m.end == pytest.approx(10.4 + 4 * 0.3 + 3 * 0.1)
    assert m.score == 1.0


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("感谢您的耐心等待", "感谢您的耐心等待"),
        ("感谢 您 的 耐心 等待", "感谢您的耐心等待"),  # spacing
        ("感谢你的耐心等待", "感谢您的耐心等待"),  # 你/您
        ("感谢您耐心等待", "感谢您的耐心等待"),  # one character missing in 8
        ("請您稍等", "请您稍等"),  # traditional
        ("非常抱歉給您帶來不便", "给您带来不便"),
    ],
)
def test_chinese_matching(text: str, phrase: str) -> None:
    assert phrases_found(text, [phrase]) == [phrase]


def test_chinese_short_phrase_is_exact() -> None:
    assert phrases_found("您好", ["你好吗"]) == []
    assert phrases_found("我不是说了", ["我是"]) == []


def test_chinese_split_across_turns() -> None:
    track = TokenTrack(
        Speaker.AGENT, [make_turn("agent", 0.0, "还有什么"), make_turn("agent", 2.0, "可以帮您")]
    )
    assert len(_find(track, ["还有什么可以帮您"])) == 1


def test_compile_refuses_empty_phrases() -> None:
    with pytest.raises(PhraseError, match="no words"):
        compile_phrase("um, uh...", MatchPolicy())
    with pytest.raises(PhraseError, match="no words"):
        compile_phrase("{name}", MatchPolicy())


def test_anchor_is_the_rarest_word() -> None:
    phrase = compile_phrase("thank you for holding", MatchPolicy())
    assert phrase.tokens[phrase.anchors[0]] == "holding"


def test_content_units_stem_and_drop_stopwords() -> None:
    units = content_units(normalise_text("I was charged twice for my subscriptions"))
    assert set(units) == {"charg", "twic", "subscription"}
    assert set(content_units(normalise_text("you were charging me twice on the subscription"))) >= {
        "charg",
        "twic",
        "subscription",
    }


def test_content_units_chinese_bigrams() -> None:
    units = content_units(normalise_text("我的信用卡被扣了两次费"))
    assert "信用" in units and "用卡" in units
    assert not any("的" in u for u in units)


def test_fast_join_equals_join_words() -> None:
    import random

    words = [
        "Hello,",
        "world",
        "!",
        "我",
        "是",
        "小李",
        "，",
        "OK",
        "(note)",
        ")",
        "it's",
        "'",
        "100%",
        "、",
        "ＡＢ",
        "한국",
        " padded ",
        "",
        "a\tb",
    ]
    rng = random.Random(7)
    for _ in range(3000):
        sample = [rng.choice(words) for _ in range(rng.randint(1, 8))]
        assert fast_join(sample) == join_words(sample), sample
