"""The scoring kernels: plain-Python behaviour, the compiled build's equality with it, and
which of the two the library loads."""

from __future__ import annotations

import bisect
import os
import random
from pathlib import Path

import pytest
from transcript_factory import make_turn

from qa_pipeline import textmatch
from qa_pipeline.textmatch import (
    NEGATIONS,
    PROTECTED,
    TokenTrack,
    build_is_current,
    kernels_from_source,
    normalise_text,
    token_similarity,
)
from qa_pipeline.transcript import Speaker, Turn, Word

SOURCE = Path(textmatch.__file__).with_name("kernels.py")
PLAIN = kernels_from_source(SOURCE)
COMPILED = not str(textmatch.kernels.__file__).endswith(".py")

# Spoken tokens with slips of the phrase words below, short and protected words.
SPOKEN = "hold hole holding holing place put you on a brief hold to two my your not thank for calling um please".split()
PHRASE_WORDS = "hold holding place put you on a brief to my not thank for calling please".split()


def _random_alignment(rng: random.Random) -> tuple:
    tokens = [rng.choice(SPOKEN) for _ in range(rng.randint(1, 30))]
    breaks = frozenset(t for t in range(len(tokens)) if rng.random() < 0.1)
    shapes = []
    for _ in range(rng.randint(1, 4)):
        ptoks = tuple(rng.choice(PHRASE_WORDS) for _ in range(rng.randint(1, 9)))
        shapes.append((ptoks, len(ptoks), rng.randint(0, 2), rng.randint(0, 1)))
    pos = rng.randrange(len(tokens))
    hits = []
    for pi, (ptoks, n, _, _) in enumerate(shapes):
        j = rng.randrange(n)
        hits.append((pi, j, 1.0 if tokens[pos] == ptoks[j] else token_similarity(tokens[pos], ptoks[j])))
    threshold = rng.choice((0.8, 1.0))
    return tokens, breaks, tuple(shapes), threshold, pos, tuple(hits)


def test_alignment_takes_a_slip_and_an_extra_word_but_not_a_long_pause() -> None:
    shapes = ((("may", "i", "place", "you", "on", "hold"), 6, 1, 0),)
    # Anchor "place" at token 2.
    spoken = ["may", "i", "place", "you", "on", "a", "hole"]
    spans = PLAIN.align_hits(
        spoken, frozenset(), shapes, 0.8, 2, ((0, 2, 1.0),), textmatch._SIM_CACHE, token_similarity, PROTECTED, NEGATIONS
    )
    assert [span[:3] for span in spans] == [(0, 0, 6)]
    assert spans[0][3] == pytest.approx((6 * 1.0 - 0.2) / 7)
    # A long pause before "you" breaks the phrase.
    assert not PLAIN.align_hits(
        spoken, frozenset({3}), shapes, 0.8, 2, ((0, 2, 1.0),), textmatch._SIM_CACHE, token_similarity, PROTECTED, NEGATIONS
    )


def test_turn_kernels_follow_their_definitions() -> None:
    rng = random.Random(3)
    for _ in range(300):
        starts = sorted(round(rng.uniform(0, 60), 1) for _ in range(rng.randint(0, 8)))
        ends = [s + round(rng.uniform(0.1, 6), 1) for s in starts]
        other_starts = sorted(round(rng.uniform(0, 60), 1) for _ in range(rng.randint(0, 8)))
        other_ends = [s + round(rng.uniform(0.1, 6), 1) for s in other_starts]
        expected = []
        for i, (start, end) in enumerate(zip(starts, ends)):
            k = bisect.bisect_left(other_starts, start) - 1
            if k >= 0 and other_ends[k] > start and min(end, other_ends[k]) - start >= 0.5:
                expected.append((i, k, min(end, other_ends[k]) - start))
        assert PLAIN.turn_overlaps(starts, ends, other_starts, other_ends, 0.5) == expected

        texts = [rng.choice(["hello", "I'm", "um", "okay"]) for _ in range(len(starts))]
        single = {"hello": "hello", "okay": "okay"}
        assert PLAIN.single_tokens(texts, single) == [single.get(t, "") for t in texts]
        gaps = PLAIN.turn_gaps(starts, ends)
        assert gaps == [starts[i] - ends[i - 1] for i in range(1, len(starts))]
        breaks = PLAIN.longer_than(gaps, 3.0)
        assert breaks == [i for i in range(1, len(starts)) if starts[i] - ends[i - 1] > 3.0]
        if starts:
            cuts = [0, *breaks, len(starts)]
            assert PLAIN.turn_runs(starts, ends, breaks) == [
                (starts[a], ends[b - 1]) for a, b in zip(cuts, cuts[1:])
            ]

        runs = sorted(zip(starts + other_starts, ends + other_ends))
        if not runs:
            continue
        gaps = []
        covered = runs[0][1]
        for start, end in runs[1:]:
            if start - covered >= 3.0:
                gaps.append((covered, start))
            covered = max(covered, end)
        assert PLAIN.silences(runs, 3.0) == (gaps, covered)


def test_token_track_splices_words_that_expand_or_vanish() -> None:
    rng = random.Random(11)
    vocab = ["um", "I'm", "hello", "uh", "can't", "okay", "it's", "the", "follow-up", "—", "您好"]
    for trial in range(400):
        texts = [rng.choice(vocab) if rng.random() < 0.9 else f"unseen{trial}x{k}" for k in range(rng.randint(1, 14))]
        words = [Word(text, float(k), k + 0.5) for k, text in enumerate(texts)]
        cut = rng.randint(1, len(words))
        turns = [Turn(Speaker.AGENT, tuple(part)) for part in (words[:cut], words[cut:]) if part]
        track = TokenTrack(Speaker.AGENT, turns)
        counts = [len(normalise_text(text)) for text in texts]
        assert track.tokens == [tok for text in texts for tok in normalise_text(text)]
        assert track.token_cum == [sum(counts[: k + 1]) for k in range(len(counts))]
        for t in range(len(track.tokens)):
            assert track.word_of(t) == bisect.bisect_right(track.token_cum, t)


def test_token_track_turn_tokens_and_pauses() -> None:
    track = TokenTrack(
        Speaker.AGENT, [make_turn("agent", 0.0, "um I'm here"), make_turn("agent", 10.0, "it's me")], 1.0
    )
    assert track.tokens == ["i", "am", "here", "it", "is", "me"]
    assert track.turn_tokens(0) == ["i", "am", "here"] and track.turn_tokens(1) == ["it", "is", "me"]
    assert track.pauses(3.0) == frozenset({3})
    assert track.token_range(9.0, 11.0) == (3, 6)


def test_stale_build_is_not_current(tmp_path: Path) -> None:
    built = tmp_path / "kernels.cpython-311-x86_64-linux-gnu.so"
    source = tmp_path / "kernels.py"
    built.write_bytes(b"")
    source.write_text("", encoding="utf-8")
    os.utime(built, (1_000, 1_000))
    os.utime(source, (2_000, 2_000))
    assert not build_is_current(built, source)
    # A rebuild rewrites the code library and may leave the unchanged import shim as it was.
    library = tmp_path / "kernels__mypyc.cpython-311-x86_64-linux-gnu.so"
    library.write_bytes(b"")
    os.utime(library, (2_500, 2_500))
    assert build_is_current(built, source)
    os.utime(library, (1_500, 1_500))
    assert not build_is_current(built, source)
    os.utime(built, (3_000, 3_000))
    assert build_is_current(built, source)
    source.unlink()
    assert build_is_current(built, source)
    assert not build_is_current(tmp_path / "missing.so", library)


def test_library_runs_a_current_build_or_the_source() -> None:
    loaded = Path(str(textmatch.kernels.__file__))
    if loaded.suffix == ".py":
        assert loaded == SOURCE
    else:
        assert loaded.parent == SOURCE.parent and build_is_current(loaded, SOURCE)


@pytest.mark.skipif(not COMPILED, reason="no current mypyc build of qa_pipeline/kernels.py")
def test_compiled_kernels_equal_the_source() -> None:
    compiled = textmatch.kernels
    rng = random.Random(5)
    cache, similarity = textmatch._SIM_CACHE, token_similarity
    for _ in range(3000):
        args = _random_alignment(rng)
        assert compiled.align_hits(*args, cache, similarity, PROTECTED, NEGATIONS) == PLAIN.align_hits(
            *args, cache, similarity, PROTECTED, NEGATIONS
        )
    for _ in range(300):
        firsts = [rng.randrange(20) for _ in range(6)]
        spans = [(rng.randrange(3), a, a + rng.randrange(4), rng.random()) for a in firsts]
        assert compiled.select_spans(list(spans)) == PLAIN.select_spans(list(spans))
        starts = sorted(rng.uniform(0, 60) for _ in range(6))
        ends = [s + rng.uniform(0.1, 6) for s in starts]
        other = sorted(rng.uniform(0, 60) for _ in range(6))
        other_ends = [s + rng.uniform(0.1, 6) for s in other]
        assert compiled.turn_overlaps(starts, ends, other, other_ends, 0.5) == PLAIN.turn_overlaps(
            starts, ends, other, other_ends, 0.5
        )
        runs = sorted(zip(starts + other, ends + other_ends))
        assert compiled.silences(runs, 3.0) == PLAIN.silences(runs, 3.0)
        single = {"hello": "hello", "we're": "we", "ok": "okay"}
        texts = [rng.choice(["hello", "we're", "ok", "um", "I'm", "unseen"]) for _ in range(rng.randrange(8))]
        assert compiled.single_tokens(texts, single) == PLAIN.single_tokens(texts, single)
        gaps = PLAIN.turn_gaps(starts, ends)
        assert compiled.turn_gaps(starts, ends) == gaps
        assert compiled.longer_than(gaps, 1.5) == PLAIN.longer_than(gaps, 1.5)
        breaks = PLAIN.longer_than(gaps, 1.5)
        assert compiled.turn_runs(starts, ends, breaks) == PLAIN.turn_runs(starts, ends, breaks)
        found = [tuple((sid, ((rng.randrange(4), 0, 1.0),)) for sid in range(rng.randrange(3))) for _ in range(20)]
        assert compiled.group_hits(found) == PLAIN.group_hits(found)
