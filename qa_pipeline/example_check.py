"""How well a scorecard's example lists carry over to wordings they do not contain.

A criterion judged by meaning counts an utterance when it is worded like the criterion's
examples (:func:`qa_pipeline.semantic.judge`). Whether that carries over to what agents and
customers actually say cannot be read off the examples themselves: every example matches
itself. Leaving each line out in turn and judging it with the rest of the list shows it. An
example the others do not recognise is a wording no other example covers (add a sibling
wording, or accept that only near-copies of it count); a counter-example that counts once it
is left out is a near miss the examples would let through (keep it, and consider a sibling).
Lines as close as :data:`NEAR_COPY` to the left-out line are left out with it, since a
near-copy would recognise it by wording alone.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from qa_pipeline import semantic
from qa_pipeline.scorecard import Scorecard, meaning_fields
from qa_pipeline.semantic import MeaningSpec, Utterance
from qa_pipeline.transcript import Speaker

# Cosine similarity above which two lines are the same wording (left out together).
NEAR_COPY = 0.85


@dataclass(frozen=True)
class ExampleCheck:
    """Leave-one-out results for one example list of one criterion in one language.

    Attributes:
        criterion_id: The criterion (``frustration`` for the scorecard's customer-state list).
        field: The scorecard field that holds the examples (``response_examples``, …).
        language: The language of the lists.
        examples: How many examples the list has.
        missed: Examples the rest of the list does not recognise, in scorecard order.
        counters: How many counter-examples the list has.
        passing_counters: Counter-examples that count once left out, in scorecard order.
    """

    criterion_id: str
    field: str
    language: str
    examples: int
    missed: tuple[str, ...]
    counters: int
    passing_counters: tuple[str, ...]

    @property
    def recognised(self) -> int:
        """Examples the rest of the list recognises."""
        return self.examples - len(self.missed)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (the inverse of :meth:`from_dict`)."""
        out = dataclasses.asdict(self)
        out["missed"] = list(self.missed)
        out["passing_counters"] = list(self.passing_counters)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ExampleCheck":
        """Rebuild from :meth:`to_dict` output."""
        return cls(
            data["criterion_id"],
            data["field"],
            data["language"],
            int(data["examples"]),
            tuple(data["missed"]),
            int(data["counters"]),
            tuple(data["passing_counters"]),
        )


def check_examples(
    card: Scorecard,
    languages: Sequence[str] | None = None,
    criteria: Sequence[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[ExampleCheck]:
    """Judge every example and counter-example of a scorecard with the rest of its list.

    Each line is judged as the scorer would judge an utterance worded like it, by the
    criterion's own spec (threshold, neighbours, counter-examples, and for a probe its
    contrast) with the line and its near-copies removed; a probe is refitted without them.

    Args:
        card: A loaded scorecard.
        languages: Languages to check (default: the scorecard's); others are skipped.
        criteria: Criterion ids to check (default: all; ``frustration`` names the
            customer-state list, see :func:`checked_ids`).
        progress: Called with (lists checked, lists in all) after each list.

    Returns:
        One result per criterion, field and language that has examples, in scorecard order
        (the customer-state list first).
    """
    lists = []
    for cid, field, spec in _specs(card):
        if criteria is not None and cid not in criteria:
            continue
        for language in languages or card.languages:
            examples, counters = spec.for_language(language)
            if examples:
                lists.append((cid, field, language, spec, examples, counters))
    out: list[ExampleCheck] = []
    for args in lists:
        out.append(_check_list(*args))
        if progress is not None:
            progress(len(out), len(lists))
    return out


def checked_ids(card: Scorecard) -> list[str]:
    """The ids :func:`check_examples` reports under: ``frustration`` (the scorecard's
    customer-state list) and each criterion judged by examples, in scorecard order."""
    return list(dict.fromkeys(cid for cid, _, _ in _specs(card)))


def _specs(card: Scorecard) -> list[tuple[str, str, MeaningSpec]]:
    """Every meaning spec of a scorecard with its criterion id and examples field."""
    specs: list[tuple[str, str, MeaningSpec]] = []
    if card.frustration_meaning is not None:
        specs.append(("frustration", "frustration_examples", card.frustration_meaning))
    for criterion in card.criteria:
        for name, spec in meaning_fields(criterion.rule):
            specs.append((criterion.id, name.removesuffix("meaning") + "examples", spec))
    return specs


def _check_list(
    cid: str,
    field: str,
    language: str,
    spec: MeaningSpec,
    examples: tuple[str, ...],
    counters: tuple[str, ...],
) -> ExampleCheck:
    model = semantic.model_for(language)
    ex_vectors = semantic.example_vectors(examples, model)
    # No empty list goes to the example store.
    c_vectors = semantic.example_vectors(counters, model) if counters else ex_vectors[:0]
    # Which lines stay in when each example, or each counter-example, is left out.
    ex_keep = semantic.similarity_matrix(ex_vectors, ex_vectors) < NEAR_COPY
    c_keep_ex = semantic.similarity_matrix(c_vectors, ex_vectors) < NEAR_COPY
    c_keep_c = semantic.similarity_matrix(c_vectors, c_vectors) < NEAR_COPY
    missed = tuple(
        line
        for i, line in enumerate(examples)
        if not _counts(line, ex_vectors[i], spec, language, _seeded(examples, ex_vectors, ex_keep[i], model), counters)
    )
    passing = tuple(
        line
        for i, line in enumerate(counters)
        if _counts(
            line,
            c_vectors[i],
            spec,
            language,
            _seeded(examples, ex_vectors, c_keep_ex[i], model),
            _seeded(counters, c_vectors, c_keep_c[i], model),
        )
    )
    return ExampleCheck(cid, field, language, len(examples), missed, len(counters), passing)


def _seeded(lines: tuple[str, ...], vectors: Any, keep: Any, model: str) -> tuple[str, ...]:
    """The kept lines, their embeddings known to the judge (sliced, not computed again)."""
    rest = tuple(line for line, k in zip(lines, keep) if k)
    semantic.seed_example_vectors(rest, vectors[keep], model)
    return rest


def _counts(
    line: str,
    vector: Any,
    spec: MeaningSpec,
    language: str,
    examples: tuple[str, ...],
    counters: tuple[str, ...],
) -> bool:
    """Whether the spec, judging with these lists in place of its own, credits the line."""
    spec = dataclasses.replace(spec, examples={language: examples}, counter_examples={language: counters})
    utterance = Utterance(Speaker.AGENT, 0.0, 0.0, line, 0)
    return semantic.judge([utterance], vector[None, :], spec, language)[0] is not None
