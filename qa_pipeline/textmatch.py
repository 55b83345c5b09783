"""Text normalisation and fuzzy phrase matching over word-timed speech, English and Chinese.

Both scorecard phrases and transcript words go through the same :func:`normalise_text`
(:mod:`qa_pipeline.lang`'s one normaliser, cached in :mod:`qa_pipeline.matchwords`, with the
word lists of ``qa_pipeline/data/lang/``): NFKC (full/half width), casefold, apostrophes
unified, contractions expanded (``I'm`` → ``i am``, ``can't``/``cannot`` → ``can not``), small
numbers spelled out (``2`` → ``two``), traditional Chinese characters simplified,
punctuation dropped and true fillers (``um``, ``uh``, ``嗯``…) removed. Latin-script text
becomes word tokens; every CJK character is its own token, so Chinese needs no word
segmentation and spacing differences vanish.

A phrase matches a stretch of one speaker's tokens when its tokens align in order with:

* each aligned pair similar enough: equal, a listed equivalent (``to``/``two``, ``你``/``您``),
  for words of 5+ letters a difflib ratio ≥ ``token_similarity`` or a single edit
  (``colling``/``calling``), for 4-letter words one changed letter (``hole``/``hold``); shorter
  words, digits, CJK characters and protected words (negations, possessives: ``not``,
  ``nothing``, ``my``, ``不``) only exactly, because one letter changes their meaning;
* for phrases of 5+ tokens, at most ``(n - 1) // 4`` edits: a phrase token missing or
  misheard beyond that, or an extra token inside the match (``may I place you on brief
  hold``); no missing tokens at all when the policy forbids it, as it does for must-not-say
  lists where a false hit costs an agent points;
* for phrases of 3–4 tokens, one extra token inside the match (``thank you all for
  calling``), nothing missing; up to 2 tokens, exact sequence;
* no pause longer than ``max_word_gap_seconds`` between consecutive matched words. The
  speaker's words are one stream across turns, so a phrase split over two turns of the same
  speaker still matches.

The phrase's rarest word (its anchor), its first and its last word must be said (allowing
for slips); the edit budget applies to the words in between.

Speed: phrases are compiled once per scorecard. One pass over a speaker's tokens looks every
token up in a per-index cache of anchor hits (fuzzy look-ups are computed once per distinct
word and kept); only hits near the time window a criterion asks about are aligned, each at
most once per call, all hits at one token in one call of the aligner. The aligner and the
other inner loops live in :mod:`qa_pipeline.kernels`, which can be compiled with mypyc.
"""

from __future__ import annotations

import bisect
import importlib.util
import math
import re
from dataclasses import dataclass
from itertools import chain
from operator import attrgetter
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Iterable, Mapping, Sequence

from qa_pipeline.errors import ConfigError
from qa_pipeline.lang import is_cjk
from qa_pipeline.log import get_logger
# Token knowledge lives in matchwords; its public names stay importable from here.
from qa_pipeline.matchwords import (  # noqa: F401
    _CACHE_LIMIT,
    _SIM_CACHE,
    _SINGLE_TOKEN,
    _ANY_TOKEN,
    _WILDCARD_TOKEN,
    ANY_WORD,
    FILLERS,
    NEGATIONS,
    NOT_NAMES,
    PROTECTED,
    STOP_CHARS,
    STOPWORDS,
    WILDCARD,
    _commonness,
    content_unit_set,
    content_units,
    is_name_like,
    normalise_text,
    to_simplified,
    token_similarity,
)
from qa_pipeline.transcript import Speaker, Turn, Word, join_words

if TYPE_CHECKING:
    from qa_pipeline.kernels import AnchorHit, Shape, Span

log = get_logger("textmatch")


def load_kernels() -> ModuleType:
    """The module :mod:`qa_pipeline.kernels`: its compiled build when a current one is
    present, else its source (the results are the same; only the speed differs)."""
    source = Path(__file__).with_name("kernels.py")
    try:
        from qa_pipeline import kernels
    except ImportError as exc:  # a build for another platform, or a broken one
        log.warning("cannot import the compiled %s (%s); using the source", source.stem, exc)
        return kernels_from_source(source)
    built = Path(kernels.__file__ or "")
    if built.suffix == ".py":
        return kernels
    if not build_is_current(built, source):
        # A build older than its source may not match it: it must never decide a verdict.
        log.warning("%s is older than %s; using the source (rebuild: mypyc %s)", built.name, source.name, source)
        return kernels_from_source(source)
    log.debug("scoring runs the compiled %s", built.name)
    return kernels


def build_is_current(built: Path, source: Path) -> bool:
    """Whether a compiled module is at least as new as its source (True without a source).

    A mypyc build is the module's small import shim plus a ``<name>__mypyc`` library holding
    the code; a rebuild rewrites the library but may keep an unchanged shim with its old time,
    so the newer of the two counts.
    """
    try:
        source_time = source.stat().st_mtime
    except FileNotFoundError:
        return True
    try:
        times = [built.stat().st_mtime]
    except FileNotFoundError:
        return False
    times += [lib.stat().st_mtime for lib in built.parent.glob(f"{source.stem}__mypyc.*")]
    return source_time <= max(times)


def kernels_from_source(source: Path) -> ModuleType:
    """Load the kernels module from its Python source, bypassing any compiled build."""
    spec = importlib.util.spec_from_file_location("qa_pipeline.kernels", source)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {source}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


kernels = load_kernels()
select_spans = kernels.select_spans

def names_plausible(match: "PhraseMatch", track: "TokenTrack") -> bool:
    """Whether the words a ``{name}`` wildcard took in a match are name-like (see
    :func:`is_name_like`), and those a ``{word}`` took are no function words; True for
    phrases without either. Words the match let in besides the phrase's own are judged the
    same way, so "my name is the best" is no "my name is {word}"."""
    names = WILDCARD in match.phrase
    if not names and ANY_WORD not in match.phrase:
        return True
    literal = set(normalise_text(_SLOTS.sub(" ", match.phrase)))
    tokens, cum = track.tokens, track.token_cum
    # Token by token, not word by word: a Chinese word as recognised can run on past the
    # match ("我是小王请问"), and only the matched characters are the name.
    word = bisect.bisect_right(cum, match.first_token)
    for i in range(match.first_token, match.last_token + 1):
        token = tokens[i]
        while cum[word] <= i:
            word += 1
        if token in literal or token in FILLERS:
            continue
        if not names:
            if token in STOPWORDS:
                return False
            continue
        following = tokens[i + 1] if i + 1 < len(tokens) else ""
        if not is_name_like(token, track.words[word].text, following):
            return False
    return True


_CJK_RANGE = "\u3000-\u9fff\uff00-\uffef\uac00-\ud7af"
_SPACE_TO_DROP = re.compile(rf" (?=[,.!?;:%)\]}}'\"，。！？；：、）])|(?<=[{_CJK_RANGE}]) (?=[{_CJK_RANGE}])")
# What of that can occur in ASCII text (a quicker test that there is nothing to drop).
_ASCII_SPACE_TO_DROP = re.compile(r" [,.!?;:%)\]}'\"]")


def fast_join(texts: Sequence[str]) -> str:
    """The same text as :func:`qa_pipeline.transcript.join_words` for stripped, non-empty
    words (as transcripts hold them), several times faster; evidence quotes use it."""
    joined = " ".join(texts)
    # Fall back where a word is empty or carries whitespace of its own.
    if not all(texts) or joined.count(" ") != len(texts) - 1 or not joined.isprintable():
        return join_words(texts)
    # Plain English with no word opening on closing punctuation keeps every space.
    if joined.isascii() and _ASCII_SPACE_TO_DROP.search(joined) is None:
        return joined
    return _SPACE_TO_DROP.sub("", joined)


class PhraseError(ConfigError):
    """A scorecard phrase cannot be compiled (e.g. it has no words after normalisation)."""


@dataclass(frozen=True)
class MatchPolicy:
    """How tolerant phrase matching is.

    Attributes:
        token_similarity: Minimum similarity of a spoken word to a phrase word (0..1).
        allow_missing: Let long phrases match with a word missing or misheard (off for
            must-not-say lists).
        allow_insertions: Let a few extra words sit inside a match.
        max_word_gap_seconds: Longest pause between two consecutive matched words.
    """

    token_similarity: float = 0.8
    allow_missing: bool = True
    allow_insertions: bool = True
    max_word_gap_seconds: float = 3.0

    def to_dict(self) -> dict[str, object]:
        return {
            "token_similarity": self.token_similarity,
            "allow_missing": self.allow_missing,
            "allow_insertions": self.allow_insertions,
            "max_word_gap_seconds": self.max_word_gap_seconds,
        }


@dataclass(frozen=True)
class CompiledPhrase:
    """A phrase ready for matching.

    Attributes:
        text: The phrase as written.
        tokens: Its normalised tokens (``{name}`` as a wildcard token).
        anchors: Index of the anchor token (the rarest word), which must be said.
        max_edits: Words that may be missing, misheard or inserted, in total.
        free_insertions: Extra words allowed inside the match on top of ``max_edits``.
    """

    text: str
    tokens: tuple[str, ...]
    anchors: tuple[int, ...]
    max_edits: int
    free_insertions: int


_SLOTS = re.compile(f"({re.escape(WILDCARD)}|{re.escape(ANY_WORD)})")
_SLOT_TOKENS = frozenset({_WILDCARD_TOKEN, _ANY_TOKEN})


def compile_phrase(text: str, policy: MatchPolicy) -> CompiledPhrase:
    """Normalise one phrase and choose its anchor and tolerances.

    Tolerances by length: up to 2 words exact; 3–4 words one extra word inside; 5 and more
    ``(n - 1) // 4`` edits (a missing, misheard or extra word each), where the first and last
    word and the protected words (negations, possessives) must always be said.

    Raises:
        PhraseError: The phrase has no words after normalisation, or only a wildcard.
    """
    tokens: list[str] = []
    for part in _SLOTS.split(text):
        if part == WILDCARD:
            tokens.append(_WILDCARD_TOKEN)
        elif part == ANY_WORD:
            tokens.append(_ANY_TOKEN)
        else:
            tokens.extend(normalise_text(part))
    real = [t for t in tokens if t not in _SLOT_TOKENS]
    if not real:
        raise PhraseError(
            f"phrase {text!r} has no words after normalisation (fillers and punctuation are ignored)"
        )
    n = len(tokens)
    max_edits = (n - 1) // 4 if policy.allow_missing else 0
    free_insertions = 1 if policy.allow_insertions and 3 <= n and max_edits == 0 else 0
    if not policy.allow_insertions and not policy.allow_missing:
        max_edits = 0
    # One anchor, the rarest word: it must be said (possibly with a slip). Anchoring on
    # common words would align hundreds of hits per call.
    anchor = min(
        (i for i, t in enumerate(tokens) if t not in _SLOT_TOKENS), key=lambda i: (_commonness(tokens[i]), i)
    )
    return CompiledPhrase(text, tuple(tokens), (anchor,), max_edits, free_insertions)


@dataclass(frozen=True)
class PhraseSet:
    """The compiled phrases of one criterion field for one language.

    Attributes:
        set_id: Id given by :meth:`PhraseLibrary.add`.
        name: ``criterion.field`` for messages.
        phrases: The compiled phrases.
        policy: How tolerant matching is.
        speakers: Whose speech the set is searched in.
        texts: The phrases as written.
        reach: The furthest an anchor can lie from its match's first token, in tokens.
    """

    set_id: int
    name: str
    phrases: tuple[CompiledPhrase, ...]
    policy: MatchPolicy
    speakers: frozenset[Speaker] = frozenset(Speaker)
    texts: tuple[str, ...] = ()
    reach: int = 0


class PhraseMatch:
    """One occurrence of a phrase in one speaker's speech (read-only).

    A plain slotted class rather than a frozen dataclass: matches are made for every call on
    the scoring hot path, and the quoted text is only joined when someone reads it.

    Attributes:
        phrase: The scorecard phrase as written.
        speaker: Who said it.
        first_token: Index of the first matched token in the speaker's track.
        last_token: Index of the last matched token.
        first_word: Index of the first matched word in the speaker's track.
        last_word: Index of the last matched word.
        start: Start of the first matched word, seconds.
        end: End of the last matched word, seconds.
        score: Alignment quality 0..1 (1.0 = every word exact, nothing inserted).
        text: The spoken words of the match, as recognised.
    """

    __slots__ = (
        "phrase",
        "speaker",
        "first_token",
        "last_token",
        "first_word",
        "last_word",
        "start",
        "end",
        "score",
        "_track",
        "_text",
    )

    def __init__(
        self, track: "TokenTrack", phrase: str, first_token: int, last_token: int, score: float
    ) -> None:
        self._track = track
        self._text: str | None = None
        self.phrase = phrase
        self.speaker = track.speaker
        self.first_token = first_token
        self.last_token = last_token
        if track._identity:
            first_word = first_token
            last_word = last_token
        else:
            first_word = bisect.bisect_right(track.token_cum, first_token)
            last_word = bisect.bisect_right(track.token_cum, last_token)
        self.first_word = first_word
        self.last_word = last_word
        words = track.words
        self.start = words[first_word].start
        self.end = words[last_word].end
        self.score = round(score, 3)

    @property
    def text(self) -> str:
        if self._text is None:
            self._text = self._track.words_text(self.first_word, self.last_word)
        return self._text

    def __repr__(self) -> str:
        return f"PhraseMatch({self.phrase!r}, {self.speaker.value}, {self.start:.2f}–{self.end:.2f}s, {self.score})"


_get_words = attrgetter("words")
_get_text = attrgetter("text")
_get_start = attrgetter("start")


class TokenTrack:
    """One speaker's words as a single token stream, shared by every criterion of a call.

    Attributes:
        speaker: The party.
        turns: The speaker's turns, in time order.
        words: All words of the speaker, in time order, across turns.
        tokens: Normalised match tokens.
        token_cum: For each word, the number of tokens up to and including it (so word ``w``
            holds tokens ``token_cum[w-1]`` to ``token_cum[w] - 1``).
        max_turn_pause_seconds: The longest pause between two words of one turn, when the
            transcript guarantees one (its ``turn_gap_seconds``); None when unknown. Longer
            pauses then only occur between turns, which saves reading every word's end.
    """

    __slots__ = (
        "speaker",
        "turns",
        "words",
        "tokens",
        "token_cum",
        "max_turn_pause_seconds",
        "_word_starts",
        "_word_ends",
        "_turn_times",
        "_identity",
        "_word_offsets",
        "_turn_bounds",
        "_pauses",
        "_turn_gaps",
    )

    def __init__(
        self, speaker: Speaker, turns: Sequence[Turn], max_turn_pause_seconds: float | None = None
    ) -> None:
        self.speaker = speaker
        self.turns = tuple(turns)
        self.max_turn_pause_seconds = max_turn_pause_seconds
        # This runs for every word of every call: one C-level pass for the words and one
        # comprehension (the fastest way to read an attribute per item) for their tokens.
        words = list(chain.from_iterable(map(_get_words, self.turns)))
        n_words = len(words)
        # Nearly every word is one token: look those up, then splice in the few others
        # (words that expand, vanish or were never seen) found with C-speed scans. "" marks
        # them: no token is empty, and strings compare with it quickly.
        single = kernels.single_tokens(list(map(_get_text, words)), _SINGLE_TOKEN)
        index = single.index
        try:
            i = index("")
        except ValueError:
            i = -1
        if i < 0:
            tokens = single
            token_cum = list(range(1, n_words + 1))
            identity = True
        else:
            # Between such words the running token count goes up one per word, so it is
            # built from ranges; ``extra`` is how far it is ahead of the word count.
            tokens = single[:i]
            token_cum = list(range(1, i + 1))
            extra = 0
            identity = True
            while True:
                toks = normalise_text(words[i].text)
                tokens += toks
                if len(toks) != 1:
                    extra += len(toks) - 1
                    identity = False
                token_cum.append(i + 1 + extra)
                start = i + 1
                try:
                    i = index("", start)
                except ValueError:
                    break
                tokens += single[start:i]
                token_cum += range(start + 1 + extra, i + 1 + extra)
            tokens += single[start:]
            token_cum += range(start + 1 + extra, n_words + 1 + extra)
            # Most calls have a word that expands ("I'm") or vanishes ("um"), but where none
            # does, token and word indices coincide and look-ups skip the bisection.
        self.words = words
        self.tokens = tokens
        self.token_cum = token_cum
        self._identity = identity
        self._word_starts: list[float] | None = None
        self._word_ends: list[float] | None = None
        self._turn_times: tuple[list[float], list[float]] | None = None
        self._word_offsets: list[int] | None = None
        self._pauses: dict[float, frozenset[int]] = {}
        self._turn_bounds: list[tuple[int, int]] | None = None
        self._turn_gaps: list[float] | None = None

    @property
    def word_starts(self) -> list[float]:
        """Start of each word (read on first use)."""
        if self._word_starts is None:
            self._word_starts = [w.start for w in self.words]
        return self._word_starts

    @property
    def word_ends(self) -> list[float]:
        """End of each word (read on first use)."""
        if self._word_ends is None:
            self._word_ends = [w.end for w in self.words]
        return self._word_ends

    def turn_times(self) -> tuple[list[float], list[float]]:
        """Start and end of each turn, as two lists (computed once)."""
        if self._turn_times is None:
            words = [t.words for t in self.turns]
            self._turn_times = ([w[0].start for w in words], [w[-1].end for w in words])
        return self._turn_times

    def pause_turns(self, longer_than_seconds: float) -> list[int] | None:
        """Indices of the turns preceded by a pause longer than the given length, in order.

        None when the transcript does not guarantee that such pauses fall between turns
        only (see ``max_turn_pause_seconds``); then :meth:`pause_starts` reads every word.
        """
        if self.max_turn_pause_seconds is None or self.max_turn_pause_seconds > longer_than_seconds:
            return None
        gaps = self._turn_gaps
        if gaps is None:
            gaps = self._turn_gaps = kernels.turn_gaps(*self.turn_times())
        return kernels.longer_than(gaps, longer_than_seconds)

    def pause_starts(self, longer_than_seconds: float) -> list[int]:
        """Indices of the words preceded by a pause longer than the given length, in order."""
        turns = self.pause_turns(longer_than_seconds)
        if turns is not None:
            return list(map(self._offsets().__getitem__, turns))
        starts = self.word_starts
        ends = self.word_ends
        return [i for i in range(1, len(starts)) if starts[i] - ends[i - 1] > longer_than_seconds]

    def pauses(self, longer_than_seconds: float) -> frozenset[int]:
        """Token indices preceded by a pause longer than the given length (a phrase never spans one)."""
        found = self._pauses.get(longer_than_seconds)
        if found is None:
            words = self.pause_starts(longer_than_seconds)
            if not self._identity:
                # Never the first word, so each one's first token is the count before it.
                cum = self.token_cum
                words = [cum[w - 1] for w in words]
            found = self._pauses[longer_than_seconds] = frozenset(words)
        return found

    def turn_word_offsets(self) -> list[int]:
        """Index of each turn's first word, plus the word count at the end."""
        return self._offsets()

    def _offsets(self) -> list[int]:
        if self._word_offsets is None:
            offsets = [0]
            total = 0
            for turn in self.turns:
                total += len(turn.words)
                offsets.append(total)
            self._word_offsets = offsets
        return self._word_offsets

    def turn_of_word(self, word_index: int) -> int:
        """Index in ``turns`` of the turn a word belongs to."""
        return bisect.bisect_right(self._offsets(), word_index) - 1

    def word_of(self, token_index: int) -> int:
        """Index of the word a token came from."""
        return token_index if self._identity else bisect.bisect_right(self.token_cum, token_index)

    def turn_token_bounds(self) -> list[tuple[int, int]]:
        """For each turn, the indices [lo, hi) of its tokens in ``tokens`` (computed once)."""
        if self._turn_bounds is None:
            cuts = self._offsets()
            if not self._identity:
                cum = self.token_cum
                cuts = [0, *[cum[off - 1] for off in cuts[1:]]]
            self._turn_bounds = list(zip(cuts, cuts[1:]))
        return self._turn_bounds

    def turn_tokens(self, turn_index: int) -> list[str]:
        """The tokens of one of the speaker's turns."""
        lo, hi = self.turn_token_bounds()[turn_index]
        return self.tokens[lo:hi]

    def token_range(self, start: float, end: float) -> tuple[int, int]:
        """Indices [lo, hi) of the tokens whose word starts within [start, end]."""
        # The words themselves are searched, so only the dozen probed are read.
        words = self.words
        lo = bisect.bisect_left(words, start, key=_get_start)
        hi = bisect.bisect_right(words, end, key=_get_start)
        if self._identity:
            return lo, hi
        cum = self.token_cum
        return (cum[lo - 1] if lo else 0, cum[hi - 1] if hi else 0)

    def token_start(self, token_index: int) -> float:
        return self.words[self.word_of(token_index)].start

    def words_text(self, first_word: int, last_word: int) -> str:
        return fast_join([w.text for w in self.words[first_word : last_word + 1]])


class _AnchorCache(dict):
    """Token → anchor hits grouped by set (``((set id, (AnchorHit, ...)), ...)``) for one speaker.

    A dict whose misses are resolved on the spot, so a scan is one C-level look-up per token.
    """

    __slots__ = ("index", "speaker")

    def __init__(self, index: "PhraseIndex", speaker: Speaker) -> None:
        super().__init__()
        self.index = index
        self.speaker = speaker

    def __missing__(self, token: str) -> tuple[tuple[int, tuple[AnchorHit, ...]], ...]:
        return self.index._resolve(self.speaker, token)


@dataclass(eq=False)
class PhraseIndex:
    """Every phrase set of a scorecard for one language, with the anchor look-up cache.

    One index serves all calls (and all processes that load the scorecard), so its cache of
    which spoken words hit which anchors warms up across calls.
    """

    language: str
    sets: dict[int, PhraseSet]

    def __post_init__(self) -> None:
        # One anchor map and look-up cache per speaker, holding only the sets searched in
        # that speaker's speech.
        self._exact: dict[Speaker, dict[str, list[tuple[int, int, int]]]] = {sp: {} for sp in Speaker}
        self._cache: dict[Speaker, _AnchorCache] = {sp: _AnchorCache(self, sp) for sp in Speaker}
        for sid, pset in self.sets.items():
            for sp in pset.speakers:
                for pi, phrase in enumerate(pset.phrases):
                    for j in phrase.anchors:
                        self._exact[sp].setdefault(phrase.tokens[j], []).append((sid, pi, j))
        self._vocab = {sp: sorted(exact) for sp, exact in self._exact.items()}
        # What the aligner reads of each phrase, as one tuple.
        self._shapes = {
            sid: tuple((p.tokens, len(p.tokens), p.max_edits, p.free_insertions) for p in pset.phrases)
            for sid, pset in self.sets.items()
        }

    def _resolve(self, speaker: Speaker, token: str) -> tuple[tuple[int, tuple[AnchorHit, ...]], ...]:
        exact = self._exact[speaker]
        hits = list(exact.get(token, ()))
        if len(token) >= 4 and token.isalpha() and not is_cjk(token[0]):
            for anchor in self._vocab[speaker]:
                if anchor == token or abs(len(anchor) - len(token)) > max(1, len(anchor) // 4):
                    continue
                sim = token_similarity(token, anchor)
                if sim <= 0.0:
                    continue
                for sid, pi, j in exact[anchor]:
                    if sim >= self.sets[sid].policy.token_similarity:
                        hits.append((sid, pi, j))
        groups: dict[int, list[AnchorHit]] = {}
        for sid, pi, j in sorted(set(hits)):
            anchor = self.sets[sid].phrases[pi].tokens[j]
            sim = 1.0 if token == anchor else token_similarity(token, anchor)
            groups.setdefault(sid, []).append((pi, j, sim))
        result = tuple((sid, tuple(group)) for sid, group in groups.items())
        cache = self._cache[speaker]
        if len(cache) >= _CACHE_LIMIT:
            cache.clear()
        cache[token] = result
        return result

    def scan_sets(self, track: TokenTrack) -> dict[int, tuple[list[int], list[tuple[AnchorHit, ...]]]]:
        """Find every anchor hit in a track, by set: set id → (token positions, hits at each).

        Positions are in order and distinct; each holds the set's hits at that token.
        """
        return kernels.group_hits(list(map(self._cache[track.speaker].__getitem__, track.tokens)))

    def scan(self, track: TokenTrack) -> dict[int, list[tuple[int, int, int]]]:
        """Find every anchor hit in a track: set id → [(token position, phrase, anchor)], by position."""
        return {
            sid: [(pos, pi, j) for pos, hits in zip(positions, groups) for pi, j, _ in hits]
            for sid, (positions, groups) in self.scan_sets(track).items()
        }

    def hits(
        self,
        track: TokenTrack,
        set_id: int,
        scanned: tuple[list[int], list[tuple[AnchorHit, ...]]] | None,
    ) -> "PhraseHits":
        """The hits of one set in a track (from :meth:`scan_sets`), ready to align per window."""
        positions, groups = scanned if scanned is not None else ([], [])
        return PhraseHits(track, self.sets[set_id], positions, groups, self._shapes[set_id])

    def verify(
        self, track: TokenTrack, set_id: int, hits: Iterable[tuple[int, int, int]]
    ) -> list[PhraseMatch]:
        """Align anchor hits; return the matches (one phrase per overlapping span), in time order."""
        pset = self.sets[set_id]
        shapes = self._shapes[set_id]
        breaks = track.pauses(pset.policy.max_word_gap_seconds)
        tokens = track.tokens
        thr = pset.policy.token_similarity
        spans: list[Span] = []
        for pos, pi, j in hits:
            sim = _sim(tokens[pos], pset.phrases[pi].tokens[j])
            spans += _align_hits(tokens, breaks, shapes, thr, pos, ((pi, j, sim),))
        return [to_match(track, pset, span) for span in select_spans(spans)]


class PhraseHits:
    """The anchor hits of one phrase set in one track, aligned lazily per time window.

    Criteria ask about narrow windows (the first 20 seconds, 30 seconds before a hold), so
    only hits near a window are aligned, and each hit at most once per call.
    """

    __slots__ = ("track", "pset", "positions", "groups", "shapes", "breaks", "_spans", "_matches")

    def __init__(
        self,
        track: TokenTrack,
        pset: PhraseSet,
        positions: list[int],
        groups: list[tuple[AnchorHit, ...]],
        shapes: tuple[tuple[tuple[str, ...], int, int, int], ...],
    ) -> None:
        self.track = track
        self.pset = pset
        self.positions = positions
        self.groups = groups
        self.shapes = shapes
        self.breaks = track.pauses(pset.policy.max_word_gap_seconds) if positions else frozenset()
        # The matched spans of the hits at each position; None = not aligned yet.
        self._spans: list[list[Span] | None] = [None] * len(positions)
        self._matches: dict[Span, PhraseMatch] = {}

    def find(self, start: float, end: float) -> list[PhraseMatch]:
        """Matches starting within [start, end], one phrase per overlapping span, in time order."""
        positions = self.positions
        if not positions:
            return []
        track = self.track
        whole = start == -math.inf and end == math.inf
        if whole:
            k_lo, k_hi = 0, len(positions)
        else:
            # A match starting in the window has its anchor at or after its first token, and at
            # most ``reach`` tokens after the window's last token.
            lo, hi = track.token_range(start, end)
            k_lo = bisect.bisect_left(positions, lo)
            k_hi = bisect.bisect_left(positions, hi + self.pset.reach)
        spans = kernels.align_range(
            self._spans,
            positions,
            self.groups,
            k_lo,
            k_hi,
            track.tokens,
            self.breaks,
            self.shapes,
            self.pset.policy.token_similarity,
            _SIM_CACHE,
            token_similarity,
            PROTECTED,
            NEGATIONS,
        )
        if spans and not whole:
            spans = [span for span in spans if start <= track.token_start(span[1]) <= end]
        if not spans:
            return []
        out = []
        matches = self._matches
        for span in select_spans(spans):
            match = matches.get(span)
            if match is None:
                match = matches[span] = to_match(track, self.pset, span)
            out.append(match)
        return out


def to_match(track: TokenTrack, pset: PhraseSet, span: Span) -> PhraseMatch:
    pi, first_tok, last_tok, score = span
    return PhraseMatch(track, pset.phrases[pi].text, first_tok, last_tok, score)


def _sim(a: str, b: str) -> float:
    if a == b:
        return 1.0
    sim = _SIM_CACHE.get((a, b))
    return token_similarity(a, b) if sim is None else sim


def _align_hits(
    tokens: list[str],
    breaks: frozenset[int],
    shapes: tuple[Shape, ...],
    thr: float,
    pos: int,
    hits: tuple[AnchorHit, ...],
) -> list[Span]:
    """Align phrases around their anchor hits at token ``pos`` (see :func:`kernels.align_hits`)."""
    return kernels.align_hits(
        tokens, breaks, shapes, thr, pos, hits, _SIM_CACHE, token_similarity, PROTECTED, NEGATIONS
    )


class PhraseLibrary:
    """Collects a scorecard's phrase lists while it is parsed, then builds one index per language."""

    def __init__(self) -> None:
        self._entries: list[
            tuple[str, dict[str, tuple[CompiledPhrase, ...]], MatchPolicy, frozenset[Speaker]]
        ] = []

    def add(
        self,
        name: str,
        phrases: Mapping[str, Sequence[str]],
        policy: MatchPolicy,
        speakers: Iterable[Speaker] = tuple(Speaker),
    ) -> int:
        """Compile a phrase list (``{language: [phrases]}``; key ``*`` = every language).

        Args:
            name: ``criterion.field``, for messages.
            phrases: The phrases per language.
            policy: Matching tolerance.
            speakers: Whose speech the list will be searched in.

        Returns:
            The set id, for :class:`PhraseIndex` look-ups.

        Raises:
            PhraseError: A phrase cannot be compiled.
        """
        compiled = {lang: tuple(compile_phrase(p, policy) for p in items) for lang, items in phrases.items()}
        self._entries.append((name, compiled, policy, frozenset(speakers)))
        return len(self._entries) - 1

    def build(self, languages: Iterable[str]) -> dict[str, PhraseIndex]:
        indexes: dict[str, PhraseIndex] = {}
        for lang in languages:
            sets: dict[int, PhraseSet] = {}
            for sid, (name, compiled, policy, speakers) in enumerate(self._entries):
                phrases = compiled.get(lang, compiled.get("*"))
                if phrases:
                    reach = max(p.anchors[0] + p.max_edits + p.free_insertions for p in phrases)
                    sets[sid] = PhraseSet(
                        sid, name, phrases, policy, speakers, tuple(p.text for p in phrases), reach
                    )
            indexes[lang] = PhraseIndex(lang, sets)
        return indexes


def match_text(text: str, phrases: Sequence[str], policy: MatchPolicy | None = None) -> list[PhraseMatch]:
    """Match phrases against a plain string (for tests, notebooks and quick checks).

    The text is treated as one speaker's speech with one word per second.
    """
    policy = policy or MatchPolicy()
    words = tuple(Word(w, float(i), float(i) + 0.9) for i, w in enumerate(text.split()))
    if not words:
        return []
    track = TokenTrack(Speaker.AGENT, [Turn(Speaker.AGENT, words)])
    lib = PhraseLibrary()
    sid = lib.add("phrases", {"*": list(phrases)}, policy)
    index = lib.build(["*"])["*"]
    return index.verify(track, sid, index.scan(track).get(sid, []))
