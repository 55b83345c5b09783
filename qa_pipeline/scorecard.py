"""Scorecards: load and validate a YAML scorecard into a typed, compiled model.

A scorecard file::

    schema_version: 1
    name: Default (English)
    languages: [en]
    matching: {token_similarity: 0.8, max_word_gap: 3s}        # optional
    characteristics: {non_talk_min: 3s, hold_min: 15s,          # optional
                      interruption_min_overlap: 500ms, backchannel_max: 1s,
                      latch_tolerance: 300ms, simultaneous_start: 500ms,
                      backchannel_max_words: 6, backchannel_words: [uh-huh, right, …]}
    frustration_phrases: {en: [...]}                            # optional, see applies_when
    frustration_examples: {en: [...]}       # optional: the customer's state judged by meaning
    frustration_counter_examples: {en: [...]}
    frustration_min_similarity: 0.6
    frustration_answered_similarity: 0.45   # optional: enough when the agent answers with empathy
    criteria:
      - id: greeting
        title: Agent greets the caller
        type: phrase                  # one of qa_pipeline.criteria.CRITERION_TYPES
        weight: 10                    # > 0; points = weight × credit
        critical: false               # true: failing it makes the call score 0
        applies_when: {...}           # optional; otherwise N/A
        guidance: text for reviewers  # optional
        ...                           # the type's own fields (see its module)

``applies_when`` conditions (all must hold, else the criterion is N/A for the call):
``hold_occurred: true|false``, ``customer_frustrated: true|false`` (a scorecard
``frustration_phrases`` match in customer speech, or a customer utterance that means what a
``frustration_examples`` item means: a complaint, frustration or distress), ``customer_spoke: true|false``,
``roles_inferred: true|false``, ``min_duration: 60s``, ``max_duration: 30m``,
``language: zh`` (or a list).

An optional top-level ``abilities:`` block groups criteria for the reports' ability profile::

    abilities:
      Listening: [active_listening, interruptions]
      Expression: [greeting, positive_language, closing]

Each ability lists criterion ids of this scorecard (a criterion may serve several abilities).
The block is for reporting only and is left out of the content hash.

Every problem is reported as ``FILE:LINE: criterion 'ID': field 'NAME': what is wrong``;
all criteria are checked and every problem found is listed in one :class:`ScorecardError`.

The content hash is the SHA-256 of the canonical JSON of the validated model (durations in
seconds, shares as fractions, phrases as written), so comments, whitespace, key order and
equivalent spellings (``1m`` / ``60s``) do not change it, while any change to what is scored
or shown (including titles) does. It is stored with every score.
"""

from __future__ import annotations

import dataclasses
import difflib

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from qa_pipeline.characteristics import DEFAULT_BACKCHANNELS, CharacteristicsOptions
from qa_pipeline.criteria import CRITERION_TYPES, known_types
from qa_pipeline.criteria.base import BuildContext, Criterion, meaning_to_dict, phrases_to_dict, read_neighbours
from qa_pipeline.criteria.fields import (
    FieldProblem,
    FieldReader,
    LineDict,
    LineList,
    format_problem,
    load_yaml_with_lines,
)
from qa_pipeline.errors import ConfigError, ScorecardError
from qa_pipeline.semantic import MeaningSpec
from qa_pipeline import semantic
from qa_pipeline.textmatch import MatchPolicy, PhraseIndex, PhraseLibrary
from qa_pipeline.transcript import Speaker

if TYPE_CHECKING:
    from qa_pipeline.criteria.context import ScoringContext

SCHEMA_VERSION = 1
_ID_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
_LANG_RE = re.compile(r"^[a-z]{2,3}$")
COMMON_FIELDS = ("id", "title", "type", "weight", "critical", "applies_when", "guidance")


def base_language(code: str) -> str:
    """``zh-CN`` → ``zh``; ``EN`` → ``en``."""
    return code.replace("_", "-").split("-")[0].lower()


@dataclass(frozen=True)
class Conditions:
    """When a criterion applies (``applies_when``); every given condition must hold.

    Attributes:
        hold_occurred: The call had a hold (or had none, when False).
        customer_frustrated: The customer said one of the scorecard's frustration phrases.
        customer_spoke: The customer said anything.
        roles_inferred: Agent/customer were guessed from a mono recording.
        min_duration_seconds: Handle time at least this long.
        max_duration_seconds: Handle time at most this long.
        languages: The transcript's language is one of these.
    """

    hold_occurred: bool | None = None
    customer_frustrated: bool | None = None
    customer_spoke: bool | None = None
    roles_inferred: bool | None = None
    min_duration_seconds: float | None = None
    max_duration_seconds: float | None = None
    languages: tuple[str, ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {
            "hold_occurred": self.hold_occurred,
            "customer_frustrated": self.customer_frustrated,
            "customer_spoke": self.customer_spoke,
            "roles_inferred": self.roles_inferred,
            "min_duration_seconds": self.min_duration_seconds,
            "max_duration_seconds": self.max_duration_seconds,
            "languages": None if self.languages is None else list(self.languages),
        }
        return {k: v for k, v in out.items() if v is not None}

    def not_applicable_reason(self, ctx: "ScoringContext") -> str | None:
        """None when the criterion applies to the call, else why it does not."""
        ch = ctx.characteristics
        if self.hold_occurred is not None and bool(ch.holds) != self.hold_occurred:
            return (
                "applies only when a hold occurred"
                if self.hold_occurred
                else "applies only to calls without a hold"
            )
        if self.customer_spoke is not None and bool(ctx.turns(Speaker.CUSTOMER)) != self.customer_spoke:
            return (
                "applies only when the customer spoke"
                if self.customer_spoke
                else "applies only when the customer did not speak"
            )
        if self.roles_inferred is not None and ctx.roles_inferred != self.roles_inferred:
            return (
                "applies only when roles were inferred"
                if self.roles_inferred
                else "applies only when roles come from channels"
            )
        if self.min_duration_seconds is not None and ch.duration_seconds < self.min_duration_seconds:
            return f"applies only to calls of at least {self.min_duration_seconds:g}s"
        if self.max_duration_seconds is not None and ch.duration_seconds > self.max_duration_seconds:
            return f"applies only to calls of at most {self.max_duration_seconds:g}s"
        if self.languages is not None and ctx.language not in self.languages:
            return f"applies only to language(s) {', '.join(self.languages)}"
        if self.customer_frustrated is not None:
            frustrated = bool(ctx.customer_distress())
            if frustrated != self.customer_frustrated:
                return (
                    "applies only when the customer voiced frustration"
                    if self.customer_frustrated
                    else "applies only when the customer voiced no frustration"
                )
        return None


def _read_conditions(reader: FieldReader, has_frustration: bool) -> Conditions:
    lang = reader.raw("language", None)
    languages: tuple[str, ...] | None = None
    if lang is not None:
        items = lang if isinstance(lang, list) else [lang]
        if not items or not all(isinstance(x, str) and _LANG_RE.match(x) for x in items):
            raise reader.problem("language", "expected a language code such as en or zh, or a list of them")
        languages = tuple(items)
    customer_frustrated = (
        reader.boolean("customer_frustrated", None) if reader.has("customer_frustrated") else None
    )
    if customer_frustrated is not None and not has_frustration:
        raise reader.problem("customer_frustrated", "needs the scorecard's frustration_phrases or frustration_examples")
    cond = Conditions(
        hold_occurred=reader.boolean("hold_occurred") if reader.has("hold_occurred") else None,
        customer_frustrated=customer_frustrated,
        customer_spoke=reader.boolean("customer_spoke") if reader.has("customer_spoke") else None,
        roles_inferred=reader.boolean("roles_inferred") if reader.has("roles_inferred") else None,
        min_duration_seconds=reader.duration("min_duration", None),
        max_duration_seconds=reader.duration("max_duration", None),
        languages=languages,
    )
    reader.finish(
        (
            "hold_occurred",
            "customer_frustrated",
            "customer_spoke",
            "roles_inferred",
            "min_duration",
            "max_duration",
            "language",
        )
    )
    return cond


@dataclass(frozen=True)
class CriterionSpec:
    """One criterion of a scorecard: the common fields plus its type's rule.

    Attributes:
        id: Unique id within the scorecard (stable across versions; reports key on it).
        title: Short human title.
        type: The criterion type name.
        weight: Points at stake (> 0).
        critical: Failing it makes the call score 0.
        guidance: Optional text for reviewers.
        applies_when: Conditions; otherwise the criterion is N/A.
        rule: The parsed type-specific rule.
        line: Line of the criterion in the scorecard file.
    """

    id: str
    title: str
    type: str
    weight: float
    critical: bool
    guidance: str
    applies_when: Conditions
    rule: Criterion
    line: int = field(default=0, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "type": self.type,
            "weight": self.weight,
            "critical": self.critical,
            "guidance": self.guidance,
            "applies_when": self.applies_when.to_dict(),
            "params": self.rule.to_dict(),
        }


@dataclass(frozen=True)
class Scorecard:
    """A validated, compiled scorecard.

    Attributes:
        name: Display name.
        description: Free text.
        languages: Languages the phrase lists cover.
        criteria: The criteria, in file order.
        characteristics: Thresholds for measuring calls.
        matching: Default phrase-matching policy.
        frustration_phrases: Customer frustration cues (``applies_when: customer_frustrated``
            and the default triggers of ``empathy_response``), or None.
        source: Where it was loaded from.
        content_hash: SHA-256 hex of the canonical model (see the module docstring).
        schema_version: The file's layout version.
        abilities: Ability name → the ids of the criteria that show it (the optional
            top-level ``abilities:`` block), in file order; empty when the block is absent.
    """

    name: str
    description: str
    languages: tuple[str, ...]
    criteria: tuple[CriterionSpec, ...]
    characteristics: CharacteristicsOptions
    matching: MatchPolicy
    frustration_phrases: Mapping[str, tuple[str, ...]] | None
    source: str = ""
    frustration_meaning: MeaningSpec | None = None
    content_hash: str = ""
    schema_version: int = SCHEMA_VERSION
    frustration_set: int | None = field(default=None, compare=False, repr=False)
    indexes: Mapping[str, PhraseIndex] = field(default_factory=dict, compare=False, repr=False)
    # Reporting groups only: left out of to_dict, so regrouping abilities never changes the
    # content hash and never makes stored scores look stale.
    abilities: Mapping[str, tuple[str, ...]] = field(default_factory=dict, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """The canonical model (what the content hash covers)."""
        return {
            "schema_version": self.schema_version,
            "name": self.name,
            "description": self.description,
            "languages": list(self.languages),
            "matching": self.matching.to_dict(),
            "characteristics": self.characteristics.to_dict(),
            "frustration_phrases": None
            if self.frustration_phrases is None
            else phrases_to_dict(self.frustration_phrases),
            **_frustration_meaning_dict(self.frustration_meaning),
            "criteria": [c.to_dict() for c in self.criteria],
        }

    @property
    def short_hash(self) -> str:
        return self.content_hash[:12]

    def criterion(self, criterion_id: str) -> CriterionSpec:
        for c in self.criteria:
            if c.id == criterion_id:
                return c
        raise KeyError(criterion_id)

    def language_for(self, transcript_language: str, call_id: str = "") -> str:
        """The scorecard language to use for a transcript.

        Raises:
            ScorecardError: The scorecard has no phrases for that language.
        """
        lang = base_language(transcript_language or "")
        if lang in self.languages:
            return lang
        what = f"transcript {call_id!r}" if call_id else "the transcript"
        raise ScorecardError(
            f"{self.source or self.name}: scorecard covers {', '.join(self.languages)} "
            f"but {what} is in {transcript_language!r}"
        )


def _frustration_meaning_dict(spec: MeaningSpec | None) -> dict[str, Any]:
    # Absent keys for scorecards without examples, so their content hashes stay as they were.
    if spec is None:
        return {}
    out = {**meaning_to_dict(spec, "frustration_"), "frustration_min_similarity": spec.min_similarity}
    if spec.answered_similarity is not None:
        out["frustration_answered_similarity"] = spec.answered_similarity
    return out


def content_hash(model: Mapping[str, Any]) -> str:
    """SHA-256 hex of a model's canonical JSON (sorted keys, no whitespace, UTF-8)."""
    blob = json.dumps(model, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def load_scorecard(path: str | Path) -> Scorecard:
    """Load, validate and compile a scorecard file.

    Raises:
        ScorecardError: The file is missing, unreadable or invalid; the message lists every
            problem as ``FILE:LINE: criterion 'ID': field 'NAME': what is wrong``.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScorecardError(f"{path}: no such scorecard file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScorecardError(f"{path}: cannot read scorecard ({exc})") from None
    return parse_scorecard(text, source=str(path))


def parse_scorecard(text: str, source: str = "<scorecard>") -> Scorecard:
    """Validate and compile scorecard YAML text (see :func:`load_scorecard`)."""
    try:
        data = load_yaml_with_lines(text)
    except FieldProblem as problem:
        raise ScorecardError(format_problem(source, problem, None)) from None
    if not isinstance(data, LineDict):
        raise ScorecardError(
            f"{source}: a scorecard must be a YAML mapping with name, languages and criteria"
        )
    problems: list[str] = []
    try:
        header = _parse_header(FieldReader(data))
    except FieldProblem as problem:
        raise ScorecardError(format_problem(source, problem, None)) from None
    name, description, languages, matching, characteristics, frustration, frustration_meaning, raw_criteria = header

    library = PhraseLibrary()
    frustration_set = (
        library.add("frustration_phrases", frustration, matching, (Speaker.CUSTOMER,))
        if frustration is not None
        else None
    )
    specs: list[CriterionSpec] = []
    raws: list[LineDict] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(raw_criteria):
        line = raw_criteria.line_of(i)
        cid = raw.get("id") if isinstance(raw, LineDict) and isinstance(raw.get("id"), str) else None
        try:
            spec = _parse_criterion(
                raw, line, languages, library, matching, frustration_set, frustration_meaning
            )
        except FieldProblem as problem:
            problems.append(format_problem(source, problem, cid if cid else f"#{i + 1}"))
            continue
        if spec.id in seen:
            problems.append(
                format_problem(
                    source,
                    FieldProblem(
                        raw.line_of("id"), "id", f"duplicate id (first used on line {seen[spec.id]})"
                    ),
                    spec.id,
                )
            )
            continue
        seen[spec.id] = raw.line_of("id")
        specs.append(spec)
        raws.append(raw)
    if problems:
        raise ScorecardError("\n".join(problems))
    specs = _resolve_contrasts(source, specs, raws, languages)
    try:
        abilities = _parse_abilities(data, seen)
    except FieldProblem as problem:
        raise ScorecardError(format_problem(source, problem, None)) from None

    card = Scorecard(
        name=name,
        description=description,
        languages=languages,
        criteria=tuple(specs),
        characteristics=characteristics,
        matching=matching,
        frustration_phrases=frustration,
        source=source,
        frustration_meaning=frustration_meaning,
    )
    digest = content_hash(card.to_dict())
    indexes = library.build(languages)
    return Scorecard(
        name=name,
        description=description,
        languages=languages,
        criteria=tuple(specs),
        characteristics=characteristics,
        matching=matching,
        frustration_phrases=frustration,
        source=source,
        frustration_meaning=frustration_meaning,
        content_hash=digest,
        frustration_set=frustration_set,
        indexes=indexes,
        abilities=abilities,
    )


def _parse_header(top: FieldReader) -> tuple:
    version = top.raw("schema_version")
    if version != SCHEMA_VERSION:
        raise top.problem(
            "schema_version", f"unsupported schema_version {version!r} (this version reads {SCHEMA_VERSION})"
        )
    name = top.string("name")
    description = top.string("description", "") if top.has("description") else ""
    raw_langs = top.raw("languages")
    if not isinstance(raw_langs, LineList) or not raw_langs:
        raise top.problem("languages", "expected a non-empty list of language codes, e.g. [en]")
    for i, lang in enumerate(raw_langs):
        if not isinstance(lang, str) or not _LANG_RE.match(lang):
            raise FieldProblem(
                raw_langs.line_of(i), "languages", f"{lang!r} is not a language code such as en or zh"
            )
    if len(set(raw_langs)) != len(raw_langs):
        raise top.problem("languages", "a language is listed twice")
    languages = tuple(raw_langs)

    matching = MatchPolicy()
    m = top.mapping("matching", None)
    if m is not None:
        matching = MatchPolicy(
            token_similarity=m.number(
                "token_similarity", matching.token_similarity, minimum=0.5, maximum=1.0
            ),
            allow_missing=m.boolean("allow_missing", matching.allow_missing),
            allow_insertions=m.boolean("allow_insertions", matching.allow_insertions),
            max_word_gap_seconds=m.duration("max_word_gap", matching.max_word_gap_seconds),
        )
        m.finish()

    characteristics = CharacteristicsOptions()
    c = top.mapping("characteristics", None)
    if c is not None:
        d = characteristics
        values = dict(
            non_talk_min_seconds=c.duration("non_talk_min", d.non_talk_min_seconds),
            hold_min_seconds=c.duration("hold_min", d.hold_min_seconds),
            interruption_min_overlap_seconds=c.duration(
                "interruption_min_overlap", d.interruption_min_overlap_seconds
            ),
            backchannel_max_seconds=c.duration("backchannel_max", d.backchannel_max_seconds),
            latch_tolerance_seconds=c.duration("latch_tolerance", d.latch_tolerance_seconds),
            simultaneous_start_seconds=c.duration("simultaneous_start", d.simultaneous_start_seconds),
            backchannel_max_words=c.number("backchannel_max_words", d.backchannel_max_words, minimum=0, integer=True),
        )
        words = c.phrases("backchannel_words", languages, None)
        if words is not None:
            values["backchannel_tokens"] = tuple(dict.fromkeys(w for items in words.values() for w in items))
        else:
            values["backchannel_tokens"] = DEFAULT_BACKCHANNELS
        c.finish()
        try:
            characteristics = CharacteristicsOptions(**values)
        except ConfigError as exc:
            raise top.problem("characteristics", str(exc)) from None

    frustration = top.phrases("frustration_phrases", languages, None)
    frustration_meaning = _read_frustration_meaning(top, languages)
    raw_criteria = top.raw("criteria")
    if not isinstance(raw_criteria, LineList) or not raw_criteria:
        raise top.problem("criteria", "expected a non-empty list of criteria")
    top.finish(also_known=("abilities",))  # read by _parse_abilities once criterion ids are known
    return name, description, languages, matching, characteristics, frustration, frustration_meaning, raw_criteria


def _read_frustration_meaning(top: FieldReader, languages: tuple[str, ...]) -> MeaningSpec | None:
    examples = top.phrases("frustration_examples", languages, None)
    counters = top.phrases("frustration_counter_examples", languages, None)
    threshold = top.number(
        "frustration_min_similarity", 0.6, minimum=0.0, maximum=1.0, exclusive_minimum=True
    )
    answered = top.number("frustration_answered_similarity", None, minimum=0.0, maximum=1.0, exclusive_minimum=True)
    if examples is None:
        read_neighbours(top, "frustration_", None)
        for key, value in (("frustration_counter_examples", counters), ("frustration_answered_similarity", answered)):
            if value is not None:
                raise top.problem(key, "needs 'frustration_examples' beside it")
        return None
    if answered is not None and answered > threshold:
        raise top.problem(
            "frustration_answered_similarity",
            f"must not exceed frustration_min_similarity ({threshold}): it is the lower bar for answered cues",
        )
    missing = semantic.missing_package([lang for lang in examples if lang != "*"] or languages)
    if missing:
        raise top.problem("frustration_examples", missing)
    neighbours = read_neighbours(top, "frustration_", examples)
    return MeaningSpec(
        examples, counters or {}, float(threshold), None if answered is None else float(answered), neighbours
    )


def _parse_criterion(
    raw: Any,
    line: int,
    languages: tuple[str, ...],
    library: PhraseLibrary,
    matching: MatchPolicy,
    frustration_set: int | None,
    frustration_meaning: MeaningSpec | None = None,
) -> CriterionSpec:
    if not isinstance(raw, LineDict):
        raise FieldProblem(line, None, "a criterion must be a mapping with id, title, type and weight")
    fields = FieldReader(raw)
    cid = fields.string("id")
    if not _ID_RE.match(cid):
        raise fields.problem("id", "use letters, digits, '_', '-' and '.' only")
    title = fields.string("title")
    type_name = fields.raw("type")
    cls = CRITERION_TYPES.get(type_name) if isinstance(type_name, str) else None
    if cls is None:
        raise fields.problem("type", f"unknown type {type_name!r}; known types: {', '.join(known_types())}")
    weight = fields.number("weight", minimum=0, exclusive_minimum=True)
    critical = fields.boolean("critical", False)
    guidance = fields.string("guidance", "") if fields.has("guidance") else ""
    when = fields.mapping("applies_when", None)
    has_frustration = frustration_set is not None or frustration_meaning is not None
    conditions = _read_conditions(when, has_frustration) if when is not None else Conditions()
    build = BuildContext(languages, library, matching, frustration_set, cid, frustration_meaning)
    rule = cls.parse(fields, build)
    fields.finish()
    return CriterionSpec(cid, title, type_name, weight, critical, guidance, conditions, rule, line)


def unknown_criterion(cid: str, known: Mapping[str, Any]) -> str:
    """The message for a criterion id the scorecard does not have, with the closest one."""
    hint = difflib.get_close_matches(str(cid), list(known), n=1)
    more = f"; did you mean '{hint[0]}'?" if hint else f"; criteria: {', '.join(known)}"
    return f"unknown criterion {cid!r}{more}"


def meaning_fields(rule: Any) -> list[tuple[str, MeaningSpec]]:
    """A rule's meaning specs, by the name of the field that holds each."""
    if not dataclasses.is_dataclass(rule):
        return []
    return [
        (f.name, value)
        for f in dataclasses.fields(rule)
        if isinstance(value := getattr(rule, f.name), MeaningSpec)
    ]


def _resolve_contrasts(
    source: Path | str,
    specs: list[CriterionSpec],
    raws: list[LineDict],
    languages: tuple[str, ...],
) -> list[CriterionSpec]:
    """Fill in each probe's ``contrast``: the examples of the criteria it names.

    Raises:
        ScorecardError: A named criterion does not exist or judges nothing by examples.
    """
    by_id = {spec.id: spec for spec in specs}
    out: list[CriterionSpec] = []
    problems: list[str] = []
    for spec, raw in zip(specs, raws):
        changed: dict[str, MeaningSpec] = {}
        for name, meaning in meaning_fields(spec.rule):
            if not meaning.contrast_ids:
                continue
            key = next(
                (
                    k for k in raw
                    if isinstance(k, str) and k.endswith("probe_contrast") and isinstance(raw[k], list)
                    and [str(x).strip() for x in raw[k]] == list(meaning.contrast_ids)
                ),
                None,
            )
            line = raw.line_of(key) if key is not None else spec.line
            contrast: dict[str, tuple[tuple[str, ...], ...]] = {}
            for cid in meaning.contrast_ids:
                other = by_id.get(cid)
                if other is None:
                    problems.append(format_problem(source, FieldProblem(line, key, unknown_criterion(cid, by_id)), spec.id))
                    continue
                theirs = meaning_fields(other.rule)
                if not theirs:
                    problems.append(
                        format_problem(source, FieldProblem(line, key, f"criterion {cid!r} has no examples to contrast with"), spec.id)
                    )
                    continue
                for lang in languages:
                    # Each list as that criterion holds it, so its embeddings are shared.
                    lists = tuple(ex for _, m in theirs if (ex := m.for_language(lang)[0]))
                    contrast[lang] = contrast.get(lang, ()) + lists
            changed[name] = dataclasses.replace(meaning, contrast=contrast)
        out.append(dataclasses.replace(spec, rule=dataclasses.replace(spec.rule, **changed)) if changed else spec)
    if problems:
        raise ScorecardError("\n".join(problems))
    return out


def _parse_abilities(data: LineDict, criterion_ids: Mapping[str, int]) -> dict[str, tuple[str, ...]]:
    """The ``abilities:`` block: a mapping of ability name to a list of criterion ids.

    Raises:
        FieldProblem: The block is not such a mapping, an ability is empty, or names a
            criterion the scorecard does not have (field ``abilities.NAME``).
    """
    raw = data.get("abilities")
    if raw is None:
        return {}
    line = data.line_of("abilities")
    if not isinstance(raw, LineDict) or not raw:
        raise FieldProblem(line, "abilities", "expected a mapping of ability name to a list of criterion ids")
    out: dict[str, tuple[str, ...]] = {}
    for name, ids in raw.items():
        where = f"abilities.{name}"
        at = raw.line_of(name)
        if not isinstance(name, str) or not name.strip():
            raise FieldProblem(at, "abilities", f"ability names must be text, got {name!r}")
        if not isinstance(ids, LineList) or not ids:
            raise FieldProblem(at, where, "expected a non-empty list of criterion ids")
        for i, cid in enumerate(ids):
            if not isinstance(cid, str):
                raise FieldProblem(ids.line_of(i), where, f"criterion ids are text, got {cid!r}")
            if cid not in criterion_ids:
                raise FieldProblem(ids.line_of(i), where, unknown_criterion(cid, criterion_ids))
        if len(set(ids)) != len(ids):
            raise FieldProblem(at, where, "a criterion is listed twice")
        out[name] = tuple(ids)
    return out
