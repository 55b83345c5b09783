"""Language data files: reading, validating and merging them.

Every word list the pipeline reads — fillers, stopwords, protected words, number words,
contractions, backchannels, role cues, personal-data cue words, Whisper's silence
hallucinations — lives in one YAML file per language, ``qa_pipeline/data/lang/<code>.yaml``
(Chinese's traditional→simplified table in a TSV file beside it). :func:`load_language`
reads and validates one file into a :class:`LanguageData`; :func:`load_languages` merges
every shipped file, which is what text of unknown or mixed language is read with (calls
switch language, and Whisper may write either script). Adding a language is adding a file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Mapping

import yaml

from qa_pipeline.errors import ConfigError

ALL = "*"
REQUIRED_KEYS = ("name", "fillers", "stopwords", "protected", "backchannels")
_OPTIONAL_KEYS = (
    "frequent_words", "not_names", "surnames", "negations", "stem_suffixes", "number_words", "contractions",
    "contraction_suffixes", "possessive_is", "equivalents", "traditional_to_simplified", "hallucinations", "role_cues", "pii", "wer",
)
_PII_LISTS = (
    "number_fillers", "listener_words", "letter_x", "zero_like", "currency_words", "months", "ordinal_words",
    "date_connectors", "dot_words", "at_words", "at_soundalikes", "join_words", "email_cues", "email_stop_words",
)
_PII_COUNTS = ("digits", "teens", "tens", "repeats")
_CODE = re.compile(r"[a-z]{2,3}(?:-[a-z0-9]+)?")


class LanguageDataError(ConfigError):
    """A language data file is missing, malformed or lacks a required key."""


@dataclass(frozen=True)
class RoleCuePhrases:
    """Phrases that tell agent from customer (see :mod:`qa_pipeline.roles`)."""

    greeting: tuple[str, ...] = ()
    verification: tuple[str, ...] = ()
    customer: tuple[str, ...] = ()


@dataclass(frozen=True)
class PiiWords:
    """Words personal-data detection reads (see :mod:`qa_pipeline.pii`).

    Attributes:
        cues: Cue phrases by kind (``card``, ``phone``, …; ``negative`` = not personal data).
        number_fillers: Words said between the digit groups of one number.
        listener_words: What a listener says while a number is read out, without ending it.
        letter_x: The spoken letter X (last character of a Chinese ID).
        digits: Spoken digits and their values (``nine: 9``, ``九: 9``).
        zero_like: Words that are zero only next to other digits (``oh``).
        teens: ``ten`` … ``nineteen`` with their values.
        tens: ``twenty`` … ``ninety`` with their tens digit.
        repeats: ``double``, ``triple``.
        hundred: The word for hundred, if the language says numbers that way.
        currency_words: Words that make a number an amount.
        months: Month names and abbreviations.
        ordinal_words: Day ordinals (``first``, ``twenty-first``).
        date_connectors: Words inside a spoken date (``the third of March``).
        dot_words, at_words, at_soundalikes, join_words: Spoken parts of an e-mail address.
        email_cues: Words that announce an address.
        email_stop_words: Words never part of a spoken address.
    """

    cues: dict[str, tuple[str, ...]] = field(default_factory=dict)
    number_fillers: frozenset[str] = frozenset()
    listener_words: frozenset[str] = frozenset()
    letter_x: frozenset[str] = frozenset()
    digits: dict[str, int] = field(default_factory=dict)
    zero_like: frozenset[str] = frozenset()
    teens: dict[str, int] = field(default_factory=dict)
    tens: dict[str, int] = field(default_factory=dict)
    repeats: dict[str, int] = field(default_factory=dict)
    hundred: str = ""
    currency_words: frozenset[str] = frozenset()
    months: frozenset[str] = frozenset()
    ordinal_words: frozenset[str] = frozenset()
    date_connectors: frozenset[str] = frozenset()
    dot_words: frozenset[str] = frozenset()
    at_words: frozenset[str] = frozenset()
    at_soundalikes: frozenset[str] = frozenset()
    join_words: frozenset[str] = frozenset()
    email_cues: frozenset[str] = frozenset()
    email_stop_words: frozenset[str] = frozenset()


@dataclass(frozen=True)
class WerWords:
    """How word error rate spells numbers out (see :mod:`qa_pipeline.wer`).

    Attributes:
        ones: Names of 0 … 19.
        tens: Names of 20, 30, … 90.
        hundred: The word for hundred.
        thousand: The word for thousand.
        ordinals: Irregular ordinals of a last number word (``one`` → ``first``).
        spellings: Variant spellings and their canonical form (``ok`` → ``okay``).
    """

    ones: tuple[str, ...]
    tens: tuple[str, ...]
    hundred: str
    thousand: str
    ordinals: dict[str, str] = field(default_factory=dict)
    spellings: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class LanguageData:
    """One language's word lists (or several merged, code ``*``). Read-only by convention:
    the dict fields are shared by every caller.

    Attributes:
        code: Language code (``en``), or ``*`` for every shipped language merged.
        name: Its name in English.
        source: The file(s) it was read from, for messages.
        fillers: Sounds that carry no word, dropped before matching.
        stopwords: Function words (poor anchors, never names, not content).
        protected: Words a match may never skip or accept misheard.
        backchannels: Acknowledgement phrases (not interruptions).
        frequent_words: Most frequent call words, most frequent first.
        not_names: Words a ``{name}`` wildcard never stands for (in a language written
            without spaces, also a surname character with the character after it: ``金卡``).
        surnames: Characters that begin a personal name, for a language written without
            spaces: there a ``{name}`` wildcard takes one character, and only one of these.
        negations: Words that turn a statement into its opposite ("not", 不): a phrase match
            may never take one in as an extra word ("that is a problem" is not said in
            "that is not a problem").
        stem_suffixes: Word endings cut off for overlap measures (``charged`` → ``charg``), in order.
        number_words: Digit strings spelled out before matching.
        contractions: Whole words expanded before matching.
        contraction_suffixes: Apostrophe endings expanded, tried in order.
        possessive_is: Words after which ``'s`` means ``is``.
        equivalents: Groups of words that count as the same word.
        traditional_to_simplified: Character table (Chinese).
        hallucinations: Whole-segment texts Whisper invents over silence.
        hallucination_prefixes: Openings of such texts whose tail varies.
        role_cues: Agent and customer cue phrases.
        pii: Personal-data detection words.
        wer: Number spelling for word error rate, when the language has one.
    """

    code: str
    name: str
    source: str
    fillers: frozenset[str]
    stopwords: frozenset[str]
    protected: frozenset[str]
    backchannels: tuple[str, ...]
    frequent_words: tuple[str, ...] = ()
    not_names: frozenset[str] = frozenset()
    surnames: frozenset[str] = frozenset()
    negations: frozenset[str] = frozenset()
    stem_suffixes: tuple[str, ...] = ()
    number_words: dict[str, tuple[str, ...]] = field(default_factory=dict)
    contractions: dict[str, tuple[str, ...]] = field(default_factory=dict)
    contraction_suffixes: tuple[tuple[str, tuple[str, ...]], ...] = ()
    possessive_is: frozenset[str] = frozenset()
    equivalents: tuple[tuple[str, ...], ...] = ()
    traditional_to_simplified: dict[str, str] = field(default_factory=dict)
    hallucinations: frozenset[str] = frozenset()
    hallucination_prefixes: tuple[str, ...] = ()
    role_cues: RoleCuePhrases = RoleCuePhrases()
    pii: PiiWords = PiiWords()
    wer: WerWords | None = None


def data_dir() -> Path:
    """The folder of the language files shipped with the package."""
    return Path(str(resources.files("qa_pipeline").joinpath("data/lang")))


def shipped_languages(directory: Path | None = None) -> tuple[str, ...]:
    """Codes of the language files in a folder (default: the shipped ones), sorted."""
    folder = directory or data_dir()
    return tuple(sorted(p.stem for p in folder.glob("*.yaml") if _CODE.fullmatch(p.stem)))


def load_language(code: str, directory: Path | None = None) -> LanguageData:
    """Read and validate one language file (cached per code and folder).

    Args:
        code: Language code (the file's name without ``.yaml``); ``*`` merges every file of
            the folder (see :func:`load_languages`).
        directory: Folder holding ``<code>.yaml``; default: the shipped files.

    Raises:
        LanguageDataError: No such file, malformed YAML, a missing required key or a value of
            the wrong type (the message names the file and the key).
    """
    if code == ALL:
        return load_languages(directory)
    return _load(code, str(directory or data_dir()))


def load_languages(directory: Path | None = None) -> LanguageData:
    """Every language file of a folder (default: the shipped ones) merged into one, code ``*``.

    Sets are united; ordered lists and tables are concatenated in code order, the first
    language keeping a key that two define.
    """
    return _merged(str(directory or data_dir()))


@lru_cache(maxsize=None)
def _load(code: str, folder: str) -> LanguageData:
    path = Path(folder) / f"{code}.yaml"
    if not _CODE.fullmatch(code):
        raise LanguageDataError(f"{path}: {code!r} is not a language code (e.g. en, zh, pt-br)")
    if not path.is_file():
        known = ", ".join(shipped_languages(Path(folder))) or "none"
        raise LanguageDataError(f"{path}: no data file for language {code!r} (known: {known})")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise LanguageDataError(f"{path}: not valid YAML: {exc}") from exc
    return _parse(code, path, data)


@lru_cache(maxsize=None)
def _merged(folder: str) -> LanguageData:
    codes = shipped_languages(Path(folder))
    if not codes:
        raise LanguageDataError(f"{folder}: no language data files (<code>.yaml)")
    return merge_languages([_load(code, folder) for code in codes])


class _Reader:
    """Typed reads of one file's keys, every error naming the file and the key."""

    def __init__(self, path: Path, data: Mapping[str, Any], prefix: str = "") -> None:
        self.path = path
        self.data = data
        self.prefix = prefix

    def fail(self, key: str, what: str) -> LanguageDataError:
        return LanguageDataError(f"{self.path}: key {self.prefix}{key}: {what}")

    def words(self, key: str) -> tuple[str, ...]:
        value = self.data.get(key, [])
        if not isinstance(value, list):
            raise self.fail(key, "expected a list of words")
        for item in value:
            # YAML reads a bare yes/no/on/off as a boolean: quote such words.
            if not isinstance(item, str) or not item.strip():
                raise self.fail(key, f"expected words, got {item!r} (quote yes, no, on, off and numbers)")
        return tuple(value)

    def table(self, key: str, numbers: bool = False) -> dict[str, Any]:
        """A mapping of word to word (or to a whole number, with ``numbers``)."""
        value = self.data.get(key, {})
        if not isinstance(value, dict):
            raise self.fail(key, "expected a mapping of word: value")
        for k, v in value.items():
            ok = (isinstance(v, int) and not isinstance(v, bool)) if numbers else (isinstance(v, str) and v.strip())
            if not isinstance(k, str) or not ok:
                raise self.fail(key, f"bad entry {k!r}: {v!r} (quote words that YAML reads as numbers or booleans)")
        return dict(value)

    def section(self, key: str, allowed: tuple[str, ...] | None = None) -> "_Reader":
        """A nested mapping; with ``allowed``, any other key in it is an error (a typo)."""
        value = self.data.get(key, {})
        if not isinstance(value, dict):
            raise self.fail(key, "expected a mapping")
        unknown = sorted(set(map(str, value)) - set(allowed)) if allowed is not None else []
        if unknown:
            raise self.fail(key, f"unknown key(s): {', '.join(unknown)}")
        return _Reader(self.path, value, f"{self.prefix}{key}.")

    def text(self, key: str) -> str:
        value = self.data.get(key, "")
        if not isinstance(value, str):
            raise self.fail(key, "expected a word")
        return value


def _parse(code: str, path: Path, data: Any) -> LanguageData:
    if not isinstance(data, dict):
        raise LanguageDataError(f"{path}: expected a mapping of keys ({', '.join(REQUIRED_KEYS)}, …)")
    missing = [k for k in REQUIRED_KEYS if k not in data]
    if missing:
        raise LanguageDataError(f"{path}: missing required key(s): {', '.join(missing)}")
    unknown = sorted(set(map(str, data)) - set(REQUIRED_KEYS) - set(_OPTIONAL_KEYS))
    if unknown:
        raise LanguageDataError(f"{path}: unknown key(s): {', '.join(unknown)}")
    r = _Reader(path, data)
    name = r.text("name")
    if not name.strip():
        raise r.fail("name", "expected the language's name")
    equivalents = data.get("equivalents", [])
    if not isinstance(equivalents, list) or not all(
        isinstance(g, list) and len(g) >= 2 and all(isinstance(w, str) for w in g) for g in equivalents
    ):
        raise r.fail("equivalents", "expected a list of word groups ([to, too, two])")
    hall = r.section("hallucinations", ("phrases", "prefixes"))
    roles = r.section("role_cues", ("greeting", "verification", "customer"))
    wer = r.section("wer", ("ones", "tens", "hundred", "thousand", "ordinals", "spellings"))
    t2s_name = r.text("traditional_to_simplified")
    if any(len(c) != 1 for c in r.words("surnames")):
        raise r.fail("surnames", "expected single characters (a wildcard there takes one character)")
    return LanguageData(
        code=code,
        name=name,
        source=str(path),
        fillers=frozenset(r.words("fillers")),
        stopwords=frozenset(r.words("stopwords")),
        protected=frozenset(r.words("protected")),
        backchannels=r.words("backchannels"),
        frequent_words=r.words("frequent_words"),
        not_names=frozenset(r.words("not_names")),
        surnames=frozenset(r.words("surnames")),
        negations=frozenset(r.words("negations")),
        stem_suffixes=r.words("stem_suffixes"),
        number_words={k: tuple(v.split()) for k, v in r.table("number_words").items()},
        contractions={k: tuple(v.split()) for k, v in r.table("contractions").items()},
        contraction_suffixes=tuple((k, tuple(v.split())) for k, v in r.table("contraction_suffixes").items()),
        possessive_is=frozenset(r.words("possessive_is")),
        equivalents=tuple(tuple(g) for g in equivalents),
        traditional_to_simplified=_read_table(path, t2s_name) if t2s_name else {},
        hallucinations=frozenset(hall.words("phrases")),
        hallucination_prefixes=hall.words("prefixes"),
        role_cues=RoleCuePhrases(roles.words("greeting"), roles.words("verification"), roles.words("customer")),
        pii=_parse_pii(r.section("pii", ("cues", "hundred") + _PII_LISTS + _PII_COUNTS)),
        wer=_parse_wer(wer) if wer.data else None,
    )


def _parse_pii(r: _Reader) -> PiiWords:
    cues = r.section("cues")

    def words(key: str) -> frozenset[str]:
        return frozenset(r.words(key))

    return PiiWords(
        cues={str(kind): cues.words(str(kind)) for kind in cues.data},
        hundred=r.text("hundred"),
        **{key: r.table(key, numbers=True) for key in _PII_COUNTS},
        **{key: words(key) for key in _PII_LISTS},
    )


def _parse_wer(r: _Reader) -> WerWords:
    ones, tens = r.words("ones"), r.words("tens")
    if len(ones) != 20 or len(tens) != 8:
        raise r.fail("ones" if len(ones) != 20 else "tens", "expected the names of 0-19 (ones) and 20-90 (tens)")
    return WerWords(ones, tens, r.text("hundred"), r.text("thousand"), r.table("ordinals"), r.table("spellings"))


def _read_table(path: Path, name: str) -> dict[str, str]:
    table_path = path.parent / name
    if not table_path.is_file():
        raise LanguageDataError(f"{path}: key traditional_to_simplified: no file {table_path}")
    out: dict[str, str] = {}
    for n, line in enumerate(table_path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) != 2 or len(parts[0]) != 1 or len(parts[1]) != 1:
            raise LanguageDataError(f"{table_path}: line {n}: expected one character, a tab, one character")
        out[parts[0]] = parts[1]
    return out


def merge_languages(languages: list[LanguageData]) -> LanguageData:
    """Several languages' data as one (code ``*``): what text of unknown language is read with."""

    def union(attr: str) -> frozenset[str]:
        return frozenset().union(*(getattr(lang, attr) for lang in languages))

    def chain(attr: str) -> tuple[Any, ...]:
        return tuple(dict.fromkeys(x for lang in languages for x in getattr(lang, attr)))

    def tables(get: Callable[[LanguageData], Mapping[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for lang in languages:
            for k, v in get(lang).items():
                out.setdefault(k, v)
        return out

    def pii_union(attr: str) -> frozenset[str]:
        return frozenset().union(*(getattr(lang.pii, attr) for lang in languages))

    cues: dict[str, tuple[str, ...]] = {}
    for lang in languages:
        for kind, phrases in lang.pii.cues.items():
            cues[kind] = cues.get(kind, ()) + phrases
    pii = PiiWords(
        cues=cues,
        digits=tables(lambda lang: lang.pii.digits),
        teens=tables(lambda lang: lang.pii.teens),
        tens=tables(lambda lang: lang.pii.tens),
        repeats=tables(lambda lang: lang.pii.repeats),
        hundred=next((lang.pii.hundred for lang in languages if lang.pii.hundred), ""),
        **{key: pii_union(key) for key in _PII_LISTS},
    )
    return LanguageData(
        code=ALL,
        name=" + ".join(lang.name for lang in languages),
        source=", ".join(lang.source for lang in languages),
        fillers=union("fillers"),
        stopwords=union("stopwords"),
        protected=union("protected"),
        backchannels=chain("backchannels"),
        frequent_words=chain("frequent_words"),
        not_names=union("not_names"),
        surnames=union("surnames"),
        negations=union("negations"),
        stem_suffixes=chain("stem_suffixes"),
        number_words=tables(lambda lang: lang.number_words),
        contractions=tables(lambda lang: lang.contractions),
        contraction_suffixes=tuple(tables(lambda lang: dict(lang.contraction_suffixes)).items()),
        possessive_is=union("possessive_is"),
        equivalents=chain("equivalents"),
        traditional_to_simplified=tables(lambda lang: lang.traditional_to_simplified),
        hallucinations=union("hallucinations"),
        hallucination_prefixes=chain("hallucination_prefixes"),
        role_cues=RoleCuePhrases(chain_roles(languages, "greeting"), chain_roles(languages, "verification"),
                                 chain_roles(languages, "customer")),
        pii=pii,
        wer=next((lang.wer for lang in languages if lang.wer is not None), None),
    )


def chain_roles(languages: list[LanguageData], kind: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(p for lang in languages for p in getattr(lang.role_cues, kind)))
