"""Which scorecard scores a call: the one of the call's spoken language.

A run names one scorecard. A call in a language that scorecard covers is scored with it; a
call in another language is scored with the scorecard given for that language, and without
one it fails alone with a reason naming the call and its language. When the run's scorecard
is one of the packaged defaults (``default.en.yaml``), the other packaged defaults
(``default.zh.yaml``) stand ready for their languages, so a Chinese call in an English batch
is scored with the Chinese default instead of failing.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Mapping

from qa_pipeline.errors import ScorecardError
from qa_pipeline.scorecard import Scorecard, base_language, load_scorecard

PACKAGED = Path(__file__).resolve().parent / "data" / "scorecards"

_lock = threading.Lock()
# Companions by the run scorecard's content hash: loaded once per process.
_companions: dict[str, dict[str, Scorecard]] = {}


def packaged_defaults() -> dict[str, Path]:
    """The packaged default scorecards by language (``default.<language>.yaml``)."""
    return {p.name.split(".")[1]: p for p in sorted(PACKAGED.glob("default.*.yaml"))}


def companion_scorecards(card: Scorecard) -> dict[str, Scorecard]:
    """Scorecards for the languages a run's scorecard does not cover.

    Only a packaged default scorecard (same content) has companions, the other packaged
    defaults; a scorecard a team wrote or changed has none, since its criteria and weights
    would not match theirs.

    Args:
        card: The run's scorecard.
    """
    defaults = {lang: load_scorecard(path) for lang, path in packaged_defaults().items()}
    if card.content_hash not in {d.content_hash for d in defaults.values()}:
        return {}
    return {lang: d for lang, d in defaults.items() if lang not in card.languages}


def scorecard_for(
    call_id: str,
    language: str,
    card: Scorecard,
    by_language: Mapping[str, Scorecard],
) -> Scorecard:
    """The scorecard that scores a call spoken in ``language``.

    Args:
        call_id: The call, named in the error.
        language: The transcript's language code (``en``, ``zh-CN``).
        card: The run's scorecard, used whenever it covers the language.
        by_language: Scorecards for other languages (:func:`companion_scorecards`).

    Raises:
        ScorecardError: No scorecard covers the language.
    """
    lang = base_language(language or "")
    if lang in card.languages or not lang:
        return card
    other = by_language.get(lang)
    if other is not None and lang in other.languages:
        return other
    covered = sorted({*card.languages, *(k for k, c in by_language.items() if k in c.languages)})
    raise ScorecardError(
        f"call {call_id}: spoken language is {lang!r}, and no scorecard covers it "
        f"({card.source or card.name} covers {', '.join(card.languages)}; scorecards are ready for "
        f"{', '.join(covered)}); score it with a scorecard written for {lang!r}"
    )


def scorecard_for_call(call_id: str, language: str, card: Scorecard) -> Scorecard:
    """:func:`scorecard_for` with the run scorecard's companions, loaded once per process.

    Raises:
        ScorecardError: No scorecard covers the call's language.
    """
    lang = base_language(language or "")
    if not lang or lang in card.languages:
        return card
    with _lock:
        others = _companions.get(card.content_hash)
        if others is None:
            others = _companions[card.content_hash] = companion_scorecards(card)
    return scorecard_for(call_id, language, card, others)


def scoring_hashes(card: Scorecard) -> tuple[str, ...]:
    """Content hashes of every scorecard a run with ``card`` may score a call with.

    A call routed to a companion scorecard is stored with that scorecard's hash; the planner
    counts it as done, so a nightly run does not score it again.
    """
    return (card.content_hash, *(c.content_hash for c in companion_scorecards(card).values()))
