"""What every criterion type shares: verdicts, evidence, outcomes and the type interface."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any, ClassVar, Mapping, Sequence

from qa_pipeline import semantic
from qa_pipeline.callrecord import CallEvent, EvidenceKind
from qa_pipeline.semantic import MeaningSpec
from qa_pipeline.textmatch import MatchPolicy, PhraseError, PhraseLibrary
from qa_pipeline.transcript import Speaker
from qa_pipeline.units import format_seconds

if TYPE_CHECKING:
    from qa_pipeline.criteria.context import ScoringContext
    from qa_pipeline.criteria.fields import FieldReader


class Verdict(str, Enum):
    """A criterion's answer for one call."""

    PASS = "pass"
    FAIL = "fail"
    NA = "na"


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 3)


@dataclass(frozen=True)
class Evidence:
    """Why a verdict was given, checkable by a person in seconds.

    Attributes:
        kind: ``match`` (something said), ``missing`` (something expected but not found, with
            the window where it was expected), ``event`` (a measured event: a hold, an
            interruption, a silence) or ``note``.
        rule: Who said what, when and why it counts, in plain words, e.g. ``Agent at 0:01:
            "This is Travis." — introduces themself by name (scorecard phrase "this is
            {name}")`` or, judged by meaning, ``… — means the same as "…" (a scorecard
            example)`` (by a probe: ``… — worded like the scorecard's examples (nearest:
            "…")``); for ``missing``, what was looked for and where.
        speaker: Who said it, or whose speech was searched; None for silences.
        start: Start in seconds (for ``missing``: start of the window searched).
        end: End in seconds (for ``missing``: end of the window searched).
        text: The quoted words as recognised.
        context: The turn(s) the words belong to.
    """

    kind: EvidenceKind
    rule: str
    speaker: Speaker | None = None
    start: float | None = None
    end: float | None = None
    text: str = ""
    context: str = ""

    def __post_init__(self) -> None:
        # Criteria name kinds as plain strings; an unknown one is a programming error that
        # must not reach the store, where it would be read back as something else.
        object.__setattr__(self, "kind", EvidenceKind.parse(self.kind))

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "rule": self.rule,
            "speaker": None if self.speaker is None else self.speaker.value,
            "start": _r(self.start),
            "end": _r(self.end),
            "text": self.text,
            "context": self.context,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "evidence") -> "Evidence":
        """Evidence as :meth:`to_dict` wrote it (a stored score, a score file).

        Raises:
            ConfigError: The kind is missing or unknown; the message names ``where``.
        """
        speaker = data.get("speaker")
        start = data.get("start")
        end = data.get("end")
        return cls(
            kind=EvidenceKind.parse(data.get("kind"), where),
            rule=str(data["rule"]),
            speaker=None if speaker is None else Speaker(speaker),
            start=None if start is None else float(start),
            end=None if end is None else float(end),
            text=str(data.get("text", "")),
            context=str(data.get("context", "")),
        )


@dataclass(frozen=True)
class Outcome:
    """What a criterion type decides for one call, before weights turn it into points.

    Attributes:
        verdict: pass, fail or na.
        credit: Share of the points earned, 0..1 (partial credit is possible on a fail, and a
            pass may earn less than 1 where a type grades quality, e.g. a hold announced
            without its expected duration).
        reason: One sentence for the verdict table.
        evidence: Supporting records, in time order.
        events: Timed events the criterion judged (holds with their announcement and
            thanks), for call pages; their ``source`` is filled in by the scorer.
    """

    verdict: Verdict
    credit: float
    reason: str
    evidence: tuple[Evidence, ...] = ()
    events: tuple[CallEvent, ...] = ()

    @classmethod
    def passed(cls, reason: str, evidence: Sequence[Evidence] = (), credit: float = 1.0) -> "Outcome":
        return cls(Verdict.PASS, credit, reason, tuple(evidence))

    @classmethod
    def failed(cls, reason: str, evidence: Sequence[Evidence] = (), credit: float = 0.0) -> "Outcome":
        return cls(Verdict.FAIL, credit, reason, tuple(evidence))

    @classmethod
    def not_applicable(cls, reason: str, evidence: Sequence[Evidence] = ()) -> "Outcome":
        return cls(Verdict.NA, 0.0, reason, tuple(evidence))


@dataclass
class BuildContext:
    """What a criterion type needs while its fields are parsed.

    Attributes:
        languages: The scorecard's languages.
        library: Where phrase lists are compiled (returns set ids).
        policy: The scorecard's default phrase-matching policy.
        frustration_set: Set id of the scorecard's ``frustration_phrases``, if any.
        criterion_id: The criterion being parsed (for phrase-set names).
        frustration_meaning: The scorecard's ``frustration_examples``, if any.
    """

    languages: tuple[str, ...]
    library: PhraseLibrary
    policy: MatchPolicy
    frustration_set: int | None
    criterion_id: str
    frustration_meaning: MeaningSpec | None = None

    def compile(
        self,
        fields: "FieldReader",
        field: str,
        phrases: Mapping[str, Sequence[str]],
        speaker: Speaker | None,
        policy: MatchPolicy | None = None,
    ) -> int:
        """Compile a phrase field searched in one speaker's speech (None: both parties).

        A phrase that cannot be compiled is reported on that field.
        """
        speakers = tuple(Speaker) if speaker is None else (speaker,)
        try:
            return self.library.add(f"{self.criterion_id}.{field}", phrases, policy or self.policy, speakers)
        except PhraseError as exc:
            raise fields.problem(field, str(exc)) from None


class Criterion:
    """Interface of a criterion type (the rule part of a scorecard criterion).

    Subclasses are frozen dataclasses holding their parsed, unit-converted fields.
    """

    type_name: ClassVar[str] = ""
    #: True when the verdict depends on who is the agent (flagged when roles were inferred).
    role_dependent: ClassVar[bool] = True

    @classmethod
    def parse(cls, fields: "FieldReader", build: BuildContext) -> "Criterion":
        """Read the type's own fields (the common ones are already taken)."""
        raise NotImplementedError

    def evaluate(self, ctx: "ScoringContext") -> Outcome:
        """Decide the verdict for one call."""
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        """The type's fields in canonical form (seconds, fractions, phrases as written)."""
        raise NotImplementedError

    def depends_on_roles(self) -> bool:
        return self.role_dependent


def speaker_of(value: str) -> Speaker | None:
    """The party a ``speaker`` field names: ``agent``, ``customer`` or ``any`` (None)."""
    return _SPEAKER_OF[value]


# A dict rather than the enum's constructor: criteria ask on every call.
_SPEAKER_OF: dict[str, Speaker | None] = {"any": None, **{sp.value: sp for sp in Speaker}}


def window_text(start: float, end: float) -> str:
    """``0.0–15.0s`` for evidence and messages."""
    return f"{start:.1f}–{end:.1f}s"


def phrase_examples(phrases: Sequence[str], n: int = 2) -> str:
    """``"a", "b", … (N phrases)``: the first ``n`` phrases of a list, for messages."""
    # Missing-phrase evidence quotes the same scorecard lists call after call.
    key = (id(phrases), n)
    cached = _EXAMPLES.get(key)
    if cached is not None and cached[0] is phrases:
        return cached[1]
    shown = ", ".join(f'"{p}"' for p in phrases[:n])
    more = len(phrases) - n
    text = f"{shown}, … ({len(phrases)} phrases)" if more > 0 else shown
    if isinstance(phrases, tuple) and len(_EXAMPLES) < 4096:
        # Tuples only (they cannot change); the entry keeps the tuple alive, so its id stays its own.
        _EXAMPLES[key] = (phrases, text)
    return text


_EXAMPLES: dict[tuple[int, int], tuple[Sequence[str], str]] = {}


def clock(x: float) -> str:
    """Seconds as ``m:ss`` for evidence a person reads: 61.4 → ``1:01``."""
    total = int(max(x, 0.0))
    if total >= 3600:
        return f"{total // 3600}:{total % 3600 // 60:02d}:{total % 60:02d}"
    return f"{total // 60}:{total % 60:02d}"


def seconds(x: float) -> str:
    return format_seconds(round(x, 3))


def phrases_to_dict(phrases: Mapping[str, Sequence[str]]) -> Any:
    if set(phrases) == {"*"}:
        return list(phrases["*"])
    return {lang: list(items) for lang, items in sorted(phrases.items())}


# Cosine similarity an utterance needs with its nearest scorecard example when a criterion
# does not say (all-MiniLM-L6-v2; see the README's scoring section for how it was chosen).
DEFAULT_EXAMPLE_SIMILARITY = 0.5


def read_example_similarity(fields: "FieldReader") -> float:
    """The ``min_example_similarity`` field (a cosine similarity in (0, 1])."""
    return float(
        fields.number(
            "min_example_similarity",
            DEFAULT_EXAMPLE_SIMILARITY,
            minimum=0.0,
            maximum=1.0,
            exclusive_minimum=True,
        )
    )


def read_meaning(
    fields: "FieldReader", build: BuildContext, prefix: str, threshold: float
) -> MeaningSpec | None:
    """Read ``{prefix}examples`` and ``{prefix}counter_examples`` (None when no examples).

    Raises:
        FieldProblem: Counter-examples without examples, or the model package is missing.
    """
    examples = fields.phrases(f"{prefix}examples", build.languages, None)
    counters = fields.phrases(f"{prefix}counter_examples", build.languages, None)
    if examples is None:
        if counters is not None:
            raise fields.problem(f"{prefix}counter_examples", f"needs '{prefix}examples' beside it")
        read_neighbours(fields, prefix, None)
        for key in (
            f"{prefix}example_method",
            f"{prefix}min_probe_probability",
            f"{prefix}probe_contrast",
            f"{prefix}near_copy_similarity",
        ):
            if key in fields.data:
                raise fields.problem(key, f"needs '{prefix}examples' beside it")
        return None
    missing = semantic.missing_package([lang for lang in examples if lang != "*"] or build.languages)
    if missing:
        raise fields.problem(f"{prefix}examples", missing)
    method, min_probability, contrast_ids = read_method(fields, prefix, build.criterion_id)
    return MeaningSpec(
        examples,
        counters or {},
        threshold,
        neighbours=read_neighbours(fields, prefix, examples),
        method=method,
        min_probability=min_probability,
        near_copy_similarity=read_near_copy(fields, prefix, method, threshold),
        contrast_ids=contrast_ids,
    )


def read_near_copy(fields: "FieldReader", prefix: str, method: str, floor: float) -> float | None:
    """The ``{prefix}near_copy_similarity`` field: probe method only, a cosine similarity
    no lower than the criterion's similarity floor (None when absent).

    Raises:
        FieldProblem: Given without ``example_method: probe``, or out of range.
    """
    key = f"{prefix}near_copy_similarity"
    if key not in fields.data:
        return None
    if method != semantic.PROBE:
        raise fields.problem(key, f"needs '{prefix}example_method: probe' beside it")
    value = float(fields.number(key, minimum=0.0, maximum=1.0, exclusive_minimum=True))
    if value < floor:
        raise fields.problem(key, f"must be at least the similarity floor ({floor:g}): a near copy is closer than that")
    return value


def read_method(
    fields: "FieldReader", prefix: str, criterion_id: str
) -> tuple[str, float | None, tuple[str, ...]]:
    """The ``{prefix}example_method``, ``{prefix}min_probe_probability`` and
    ``{prefix}probe_contrast`` fields.

    ``example_method: probe`` needs ``min_probe_probability`` (a probability between 0 and 1)
    and ``probe_contrast``: ids of other criteria of the scorecard whose examples the probe learns to
    tell apart (checked when the whole scorecard is read).

    Raises:
        FieldProblem: An unknown method, probe fields without ``example_method: probe``, or a
            missing or malformed probe field.
    """
    method = fields.choice(f"{prefix}example_method", semantic.METHODS, semantic.NEIGHBOURS)
    probability_key, contrast_key = f"{prefix}min_probe_probability", f"{prefix}probe_contrast"
    if method != semantic.PROBE:
        for key in (probability_key, contrast_key):
            if key in fields.data:
                raise fields.problem(key, f"needs '{prefix}example_method: probe' beside it")
        return method, None, ()
    if probability_key not in fields.data:
        raise fields.problem(None, f"'{prefix}example_method: probe' needs '{probability_key}'")
    probability = float(fields.number(probability_key, minimum=0.0, maximum=1.0, exclusive_minimum=True))
    raw = fields.raw(contrast_key, None)
    if raw is None:
        raise fields.problem(None, f"'{prefix}example_method: probe' needs '{contrast_key}' (criterion ids)")
    if not isinstance(raw, list) or not raw or not all(isinstance(x, str) and x.strip() for x in raw):
        raise fields.problem(contrast_key, "expected a non-empty list of criterion ids")
    ids = tuple(x.strip() for x in raw)
    if len(set(ids)) != len(ids):
        raise fields.problem(contrast_key, "a criterion is listed twice")
    if criterion_id in ids:
        raise fields.problem(contrast_key, "a criterion cannot contrast with itself")
    return method, probability, ids


def read_neighbours(fields: "FieldReader", prefix: str, examples: Mapping[str, Any] | None) -> int:
    """The ``{prefix}example_neighbours`` field: how many nearest examples a score averages.

    Args:
        fields: The criterion's (or scorecard's) fields.
        prefix: The prefix of its example fields (``""``, ``"response_"``, ``"frustration_"``).
        examples: The examples read beside it; None when there are none.

    Raises:
        FieldProblem: Given without examples, or not a whole number of at least 1.
    """
    key = f"{prefix}example_neighbours"
    if examples is None:
        if key in fields.data:
            raise fields.problem(key, f"needs '{prefix}examples' beside it")
        return 1
    return int(fields.number(key, 1, minimum=1, integer=True))


def meaning_to_dict(spec: MeaningSpec | None, prefix: str = "") -> dict[str, Any]:
    """A meaning spec's fields in canonical form (empty when there is none)."""
    if spec is None:
        return {}
    out: dict[str, Any] = {
        f"{prefix}examples": phrases_to_dict(spec.examples),
        f"{prefix}counter_examples": phrases_to_dict(spec.counter_examples) if spec.counter_examples else [],
    }
    # Absent when 1 (the nearest example alone), so older scorecards' content hashes stay.
    if spec.neighbours != 1:
        out[f"{prefix}example_neighbours"] = spec.neighbours
    # Absent for the default method, for the same reason.
    if spec.method != semantic.NEIGHBOURS:
        out[f"{prefix}example_method"] = spec.method
        out[f"{prefix}min_probe_probability"] = spec.min_probability
        out[f"{prefix}probe_contrast"] = list(spec.contrast_ids)
        if spec.near_copy_similarity is not None:
            out[f"{prefix}near_copy_similarity"] = spec.near_copy_similarity
    return out
