"""E-mail addresses, written (``john.smith@example.com``) or spoken (``john dot smith at
example dot com``), however the recogniser split or glued the words (``mari .jones at
example .com.``, ``jamesmithatoutlook .com``).

An address is anchored on its end, a top-level domain after a dot (``.com``, ``dot com``),
or on an ``@``. Walking left, labels joined by dots, ``at``, underscores or dashes belong to
it. Without an ``at`` (the recogniser dropped it) an e-mail prompt just before it ("my email
is…") is needed, and then the words between the prompt and the domain are the address.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Callable, Sequence

from qa_pipeline.lang import load_languages
from qa_pipeline.pii.findings import Finding
from qa_pipeline.pii.options import Entity

TLDS = frozenset({
    "com", "net", "org", "edu", "gov", "mil", "int", "io", "co", "uk", "us", "ca", "de", "fr", "cn", "jp", "au",
    "in", "info", "biz", "me", "ai", "app", "dev", "ru", "nl", "es", "it", "ch", "se", "no", "eu", "tv", "xyz",
    "ie", "nz", "za", "br", "mx", "hk", "sg", "tw", "kr", "online", "site", "email", "at", "be", "dk", "fi",
    "pl", "pt", "cz", "il",
})
_PII = load_languages().pii
DOT_WORDS = _PII.dot_words | {"."}
AT_WORDS = _PII.at_words | {"@"}
# What a recogniser writes for a spoken "at" it did not catch; trusted only after an e-mail prompt.
AT_SOUNDALIKES = _PII.at_soundalikes
JOIN_WORDS = _PII.join_words | {"_", "-"}
EMAIL_CUES = _PII.email_cues
# Words that are never part of a spoken address: they end the walk to the left.
STOP_WORDS = _PII.email_stop_words
_LABEL = re.compile(r"[a-z0-9][a-z0-9._+@-]*|[._@-][a-z0-9][a-z0-9._+@-]*")
_WRITTEN = re.compile(r"[a-z0-9._%+-]+@[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}")
_MAX_WORDS = 12
_CUE_WORDS_BACK = 8
_MAX_SPELLED = 40


def _trim(text: str) -> str:
    # Only the punctuation around a word goes (not lang.normalise_text): dots, "@", "_" and
    # "-" inside it are the address; a leading dot (".com") is kept too.
    t = unicodedata.normalize("NFKC", text).strip().lower()
    t = t.lstrip("\"'([{«“‘")
    t = t.rstrip("\"')]}»”’,!?;:")
    return t.rstrip(".") if len(t) > 1 else t


def _tld_end(tokens: Sequence[str], k: int) -> bool:
    """Whether ``tokens[k]`` ends a domain: ``x.com``, ``.com``, or ``com`` after ``dot``."""
    t = tokens[k]
    if "." in t[1:] or t.startswith("."):
        tail = t.rsplit(".", 1)[1]
        if tail in TLDS and not t.replace(".", "").isdigit():
            return True
    return t in TLDS and k > 0 and tokens[k - 1] in DOT_WORDS


def _is_label(t: str) -> bool:
    return bool(_LABEL.fullmatch(t)) and t not in STOP_WORDS


def _cue_before(tokens: Sequence[str], k: int) -> int | None:
    """Index of an e-mail cue among the few words before ``tokens[k]``, or None."""
    for j in range(k - 1, max(-1, k - 1 - _CUE_WORDS_BACK), -1):
        if tokens[j] in EMAIL_CUES:
            return j
    return None


def _starts_joined(t: str) -> bool:
    return bool(t) and t[0] in "._@-"


def _walk_left(tokens: Sequence[str], end: int, floor: int, at_words: frozenset[str]) -> tuple[int, bool]:
    """First index of the address ending at ``end`` and whether it holds an ``at``.

    Labels are joined while a connector (dot, at, underscore, dash) separates them, either
    as a word of its own or as the label's first or last character (``.jones``). Words at or
    before ``floor`` are not taken.
    """
    connectors = DOT_WORDS | at_words | JOIN_WORDS
    has_at = "@" in tokens[end]
    j = end
    while j - 1 > floor and end - j < _MAX_WORDS:
        here, left = tokens[j], tokens[j - 1]
        if left in connectors:
            if j - 2 <= floor or not _is_label(tokens[j - 2]):
                break
            has_at = has_at or left in at_words
            j -= 2
        elif (_starts_joined(here) or left[-1:] in "._@-") and _is_label(left):
            j -= 1
        else:
            break
        has_at = has_at or "@" in tokens[j]
    return j, has_at


def email_findings(texts: Sequence[str], prompted: Callable[[int], bool] | None = None) -> list[Finding]:
    """E-mail addresses among one party's words.

    Args:
        texts: The party's words in time order.
        prompted: Tells whether the other party asked for an e-mail address just before word
            ``i`` (the party's own "my email is…" is found here).

    Returns:
        Findings with indices into ``texts``.
    """
    tokens = [_trim(t) for t in texts]
    findings: list[Finding] = []
    taken = -1
    for k in range(len(tokens)):
        if k <= taken:
            continue
        end = _domain_end(tokens, k, prompted)
        if end is None:
            continue
        start, has_at = _walk_left(tokens, end, taken, AT_WORDS)
        if (has_at and start < end) or _WRITTEN.search(tokens[start]):
            start = _extend_left(tokens, start, taken, AT_WORDS)
            findings.append(Finding(Entity.EMAIL, start, end, "format"))
            taken = end
            continue
        cue = _cue_before(tokens, start)
        if cue is None and not (prompted is not None and prompted(start)):
            continue
        # The "at" was lost or misheard: after the prompt, the words up to the domain are the address.
        floor = taken if cue is None else max(taken, cue)
        start, _ = _walk_left(tokens, end, floor, AT_WORDS | AT_SOUNDALIKES)
        first = _extend_left(tokens, start, floor, AT_WORDS | AT_SOUNDALIKES)
        while first - 1 > floor and end - first < 7 and _is_label(tokens[first - 1]):
            first -= 1
        first = _extend_left(tokens, first, floor, AT_WORDS | AT_SOUNDALIKES)
        findings.append(Finding(Entity.EMAIL, first, end, "context"))
        taken = end
    return findings


def _letter(t: str) -> bool:
    return len(t) == 1 and t.isalnum()


def _extend_left(tokens: Sequence[str], start: int, floor: int, at_words: frozenset[str]) -> int:
    """``start`` moved left over spelled runs and the labels joined to them, in turn.

    A local part is often a word joined by "dot" to a spelled name (``mary dot j o n e s``):
    the spelled run takes the letters, and the walk then takes ``mary dot`` before them.
    """
    while True:
        moved = _spelled_run(tokens, start, floor)
        moved, _ = _walk_left(tokens, moved, floor, at_words)
        if moved == start:
            return start
        start = moved


def _spelled_run(tokens: Sequence[str], start: int, floor: int) -> int:
    """``start`` moved left over a run of spelled letters or digits (``j o h n at…``).

    A name spelled out letter by letter is recognised as one word per letter; the whole run
    belongs to the address, not just its last letter. "a" and "i" at the left edge of the
    run are read as the words they usually are ("it's a…", "I…").
    """
    if not (_letter(tokens[start]) or (start > floor + 1 and _letter(tokens[start - 1]))):
        return start
    j = start
    while j - 1 > floor and _letter(tokens[j - 1]) and start - j < _MAX_SPELLED:
        j -= 1
    while j < start and tokens[j] in ("a", "i") and not _letter(tokens[j - 1] if j > 0 else ""):
        j += 1
    return j


def _domain_end(tokens: Sequence[str], k: int, prompted: Callable[[int], bool] | None) -> int | None:
    """The last word of an address that ends at or after ``tokens[k]``, or None.

    Anchors: a word ending in a top-level domain, a written address (``a@b.c``), or, right
    after an e-mail prompt, ``at`` followed by a domain label (``at examples``).
    """
    tok = tokens[k]
    if _WRITTEN.fullmatch(tok):
        return _extend_domain(tokens, k)
    if _tld_end(tokens, k):
        return _extend_domain(tokens, k)
    if "@" in tok and len(tok) > 1:
        nxt = k + 1
        if tok.endswith("@") and nxt < len(tokens) and _is_label(tokens[nxt]):
            return _extend_domain(tokens, nxt)
        return _extend_domain(tokens, k)
    if tok in AT_WORDS and k + 1 < len(tokens) and _is_label(tokens[k + 1]) and k > 0 and _is_label(tokens[k - 1]):
        if _cue_before(tokens, k) is not None or (prompted is not None and prompted(k)):
            return _extend_domain(tokens, k + 1)
    return None


def _extend_domain(tokens: Sequence[str], k: int) -> int:
    """Take in ``.co .uk`` / ``dot uk`` after a domain end."""
    end = k
    while end + 1 < len(tokens):
        nxt = tokens[end + 1]
        if nxt.startswith(".") and nxt[1:].isalnum():
            end += 1
        elif nxt in DOT_WORDS and end + 2 < len(tokens) and tokens[end + 2] in TLDS:
            end += 2
        else:
            break
    return end
