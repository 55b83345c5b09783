"""Which party is the agent: evidence, a decision, and how sure it is.

The same evidence decides for both kinds of recording: which stereo channel is the agent
(``agent_channel: auto``), and which diarized speaker of a mono recording is. Per party:

- **greeting** — agent phrases in the first seconds of the party's speech ("thank you for
  calling", "my name is", "how can I help", "欢迎致电"…; ``role_cues`` of ``data/lang/<code>.yaml``);
- **verification** — asking for account details anywhere in the call ("date of birth",
  "account number", "can you confirm"…);
- **scorecard phrases** — the scorecard's own agent phrases (the agent is who says them);
- **customer phrases** — "I'm calling about", "my card"…, counting against;
- **first speaker** — agents answer the phone, so speaking first is weak evidence, stronger
  with a longer head start;
- **talk share** — a very weak prior that the agent talks more.

Each kind adds log-odds for a party; the difference between the two parties gives the
probability that the decision is right, reported as ``confidence``. The kind that contributed
most names the ``method`` (``greeting``, ``verification``, ``scorecard_phrases``,
``customer_phrases``, ``first_speaker``, ``talk_share``). Below the configured
``roles_review_below`` the call is still scored, but flagged ``review`` so role-dependent
verdicts are marked for a person to check. A mono recording with one voice only is always
flagged.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import yaml

from qa_pipeline.lang import is_cjk, load_language, normalise_text, shipped_languages
from qa_pipeline.matchwords import WILDCARD, is_name_like
from qa_pipeline.transcript import RoleAssignment, RolesSource, Word, join_words

if TYPE_CHECKING:
    from qa_pipeline.scorecard import Scorecard

DEFAULT_REVIEW_BELOW = 0.7
# Every ``method`` a RoleAssignment can carry from this module.
METHODS = (
    "configured", "greeting", "verification", "scorecard_phrases", "customer_phrases", "first_speaker",
    "talk_share", "single_speaker", "default",
)

# Log-odds each kind of evidence adds for the party showing it. Greetings are the strongest
# cue (scripted, said first); asking for account details is nearly as telling; scorecard
# phrases are many and some are everyday words, so each counts little.
_GREETING_FIRST = 2.0
_GREETING_MORE = 0.5  # each further distinct greeting phrase, up to _MAX_GREETING
_MAX_GREETING = 3
_VERIFICATION = 1.25  # per distinct phrase, up to 2
_SCORECARD = 0.4  # per distinct phrase, up to 4
_CUSTOMER = 1.0  # per distinct phrase, up to 2, against
_FIRST_SPEAKER = 0.5  # plus up to _FIRST_SPEAKER_LEAD for a head start of 3 s or more
_FIRST_SPEAKER_LEAD = 1.0
_ALONE = 2.2  # the other party never speaks
_TALK_SHARE = 1.0  # times (share − 0.5)


@dataclass(frozen=True)
class RoleCues:
    """Phrases that tell agent from customer, per language.

    Attributes:
        window_seconds: How far into a party's speech greetings are looked for.
        cues: Agent greeting and self-identification phrases.
        verification: Agent requests for account details, anywhere in the call.
        customer: Customer phrases, looked for in the same opening window.
    """

    window_seconds: float
    cues: dict[str, tuple[str, ...]]
    verification: dict[str, tuple[str, ...]] = field(default_factory=dict)
    customer: dict[str, tuple[str, ...]] = field(default_factory=dict)


@lru_cache(maxsize=1)
def default_cues() -> RoleCues:
    """The cue phrases shipped with the package: each language file's ``role_cues``, looked
    for in the window ``data/role_cues.yaml`` sets."""
    text = resources.files("qa_pipeline").joinpath("data/role_cues.yaml").read_text(encoding="utf-8")
    window = float(str(yaml.safe_load(text)["window"]).rstrip("s"))
    langs = [load_language(code) for code in shipped_languages()]
    return RoleCues(
        window,
        {lang.code: lang.role_cues.greeting for lang in langs if lang.role_cues.greeting},
        {lang.code: lang.role_cues.verification for lang in langs if lang.role_cues.verification},
        {lang.code: lang.role_cues.customer for lang in langs if lang.role_cues.customer},
    )


_NAME = re.compile(r"\{\w+\}")
_NAME_SPLIT = re.compile(r"(\{\w+\})")
_CJK_CHAR = "[\u3400-\u4dbf\u4e00-\u9fff]"


def _norm(text: str) -> str:
    # Words one space apart and padded, so a phrase is found as a substring on word bounds;
    # braces stay part of words so "{name}" survives.
    words = normalise_text(
        text, apostrophes="split", numbers="keep", drop_fillers=False, simplify=False, split_cjk=False, keep="{}_"
    )
    return " " + " ".join(words) + " "


@lru_cache(maxsize=4096)
def _phrase_form(phrase: str, lang: str) -> tuple[bool, str, re.Pattern[str] | None, tuple[str, ...]]:
    """How a phrase is looked for, worked out once per phrase.

    Returns:
        Whether it is matched over the text without spaces (a CJK phrase, whatever list it
        came in), the literal to find when it has no slot, else a pattern with one group per
        slot, and its slots in order. A slot stands for one word, or in a CJK phrase for one
        character: a Chinese ``{name}`` is a surname (我是王), ``{word}`` any character.
    """
    cjk = lang == "zh" or any(is_cjk(ch) for ch in phrase)
    if "{" not in phrase:
        return cjk, phrase.replace(" ", "") if cjk else _norm(phrase), None, ()
    slots: list[str] = []
    pieces: list[str] = []
    tokens = [t for t in _NAME_SPLIT.split(phrase) if t] if cjk else _norm(phrase).split()
    for token in tokens:
        if _NAME.fullmatch(token):
            slots.append(token)
            pieces.append(f"({_CJK_CHAR})" if cjk else r"(\w+)")
        else:
            pieces.append(re.escape(token))
    body = "".join(pieces) if cjk else r"\s" + r"\s".join(pieces) + r"\s"
    return cjk, "", re.compile(body), tuple(slots)


def _slots_fit(match: re.Match[str], slots: Sequence[str], text: str) -> bool:
    """Every Chinese ``{name}`` slot of a match holds a surname (金 of 金卡 is not one).

    An English slot may hold any word: "this is the billing desk" sounds like an agent
    though it names no person, and the lower-cased text has lost the capital of a name.
    """
    for i, slot in enumerate(slots, start=1):
        token = match.group(i)
        if slot == WILDCARD and is_cjk(token[0]):
            if not is_name_like(token, following=text[match.end(i) : match.end(i) + 1]):
                return False
    return True


def _hits(text: str, phrases: Mapping[str, Sequence[str]]) -> list[str]:
    """Phrases found in a normalised text.

    A phrase in a CJK script (whatever list it came from: a scorecard's agent phrases arrive
    as one list of every language) is matched over the text without spaces, others on word
    bounds (see :func:`_slots_fit` for what a ``{name}`` slot may hold).
    """
    compact = text.replace(" ", "")
    found: list[str] = []
    for lang, items in phrases.items():
        for p in items:
            cjk, literal, pattern, slots = _phrase_form(p, lang)
            haystack = compact if cjk else text
            if pattern is None:
                if literal in haystack:
                    found.append(p)
                continue
            match = pattern.search(haystack)
            while match is not None and not _slots_fit(match, slots, haystack):
                # Overlapping candidates too: 我是金卡我是王 fails at 金, then finds 王.
                match = pattern.search(haystack, match.start() + 1)
            if match is not None:
                found.append(p)
    return list(dict.fromkeys(found))


def _opening_text(words: Sequence[Word], window_seconds: float) -> str:
    if not words:
        return " "
    limit = words[0].start + window_seconds
    return _norm(join_words(w.text for w in words if w.start <= limit))


def greeting_hits(words: Sequence[Word], cues: RoleCues | None = None) -> list[str]:
    """Agent cue phrases said within the first seconds of a party's speech."""
    cues = cues or default_cues()
    if not words:
        return []
    return _hits(_opening_text(words, cues.window_seconds), cues.cues)


def scorecard_agent_phrases(scorecard: "Scorecard") -> tuple[str, ...]:
    """The phrases a scorecard expects the agent to say (``phrase`` criteria, not negated)."""
    out: list[str] = []
    for spec in scorecard.criteria:
        rule = spec.rule
        if spec.type != "phrase" or getattr(rule, "speaker", None) != "agent" or getattr(rule, "negate", True):
            continue
        for items in getattr(rule, "phrases", {}).values():
            # One-word phrases ("hello", "sure") are said by everyone.
            out.extend(p for p in items if len(p.split()) >= 2 or any(ord(c) > 0x2E80 for c in p))
    return tuple(dict.fromkeys(out))


@dataclass(frozen=True)
class PartyEvidence:
    """What one party (a channel, or a diarized speaker) said and did that tells its role.

    Attributes:
        greeting: Agent greeting phrases in the opening seconds of its speech.
        verification: Requests for account details anywhere.
        scorecard: The scorecard's agent phrases it said.
        customer: Customer phrases in its opening seconds.
        first_start: When it first speaks (seconds), or None when it never does.
        talk_seconds: Seconds of its words.
    """

    greeting: tuple[str, ...] = ()
    verification: tuple[str, ...] = ()
    scorecard: tuple[str, ...] = ()
    customer: tuple[str, ...] = ()
    first_start: float | None = None
    talk_seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "greeting": list(self.greeting),
            "verification": list(self.verification),
            "scorecard": list(self.scorecard),
            "customer": list(self.customer),
            "first_start": self.first_start,
            "talk_seconds": round(self.talk_seconds, 3),
        }


def gather_evidence(
    words: Sequence[Word],
    onset: float | None = None,
    cues: RoleCues | None = None,
    agent_phrases: Sequence[str] = (),
) -> PartyEvidence:
    """Collect one party's evidence.

    Args:
        words: The party's words in time order.
        onset: When its sustained speech energy starts, if measured (more reliable than the
            first recognised word on a stereo channel).
        cues: Cue phrases; the shipped ones by default.
        agent_phrases: The scorecard's agent phrases (:func:`scorecard_agent_phrases`).
    """
    cues = cues or default_cues()
    starts = [t for t in (onset, words[0].start if words else None) if t is not None]
    if not words:
        return PartyEvidence(first_start=min(starts) if starts else None)
    opening = _opening_text(words, cues.window_seconds)
    whole = _norm(join_words(w.text for w in words))
    return PartyEvidence(
        greeting=tuple(_hits(opening, cues.cues)),
        verification=tuple(_hits(whole, cues.verification)),
        scorecard=tuple(_hits(whole, {"*": tuple(agent_phrases)})) if agent_phrases else (),
        customer=tuple(_hits(opening, cues.customer)),
        first_start=min(starts),
        talk_seconds=sum(max(0.0, w.end - w.start) for w in words),
    )


def _contributions(parties: Sequence[PartyEvidence]) -> list[dict[str, float]]:
    """Log-odds per party and kind of evidence that the party is the agent."""
    starts = [p.first_start for p in parties]
    spoken = sorted((s, i) for i, s in enumerate(starts) if s is not None)
    talk = sum(p.talk_seconds for p in parties)
    out: list[dict[str, float]] = []
    for i, p in enumerate(parties):
        c: dict[str, float] = {}
        if p.greeting:
            c["greeting"] = _GREETING_FIRST + _GREETING_MORE * (min(len(p.greeting), _MAX_GREETING) - 1)
        if p.verification:
            c["verification"] = _VERIFICATION * min(len(p.verification), 2)
        if p.scorecard:
            c["scorecard_phrases"] = _SCORECARD * min(len(p.scorecard), 4)
        if p.customer:
            c["customer_phrases"] = -_CUSTOMER * min(len(p.customer), 2)
        if len(parties) > 1 and spoken and spoken[0][1] == i:
            if len(spoken) == 1:
                c["first_speaker"] = _ALONE
            else:
                lead = spoken[1][0] - spoken[0][0]
                c["first_speaker"] = _FIRST_SPEAKER + _FIRST_SPEAKER_LEAD * min(lead, 3.0) / 3.0
        if talk > 0 and len(parties) > 1:
            c["talk_share"] = _TALK_SHARE * (p.talk_seconds / talk - 0.5)
        out.append(c)
    return out


@dataclass(frozen=True)
class RoleDecision:
    """Which parties are agents, and why.

    Attributes:
        agents: Indexes of the parties taken as agents (one, or two after a transfer).
        confidence: Probability the decision is right, 0.5..1 (0 when nobody speaks).
        method: The kind of evidence that contributed most.
        reason: One sentence for reviewers.
        scores: Log-odds per party that it is the agent.
        evidence: The evidence per party.
    """

    agents: tuple[int, ...]
    confidence: float
    method: str
    reason: str
    scores: tuple[float, ...]
    evidence: tuple[PartyEvidence, ...]


def _describe(kind: str, p: PartyEvidence, parties: Sequence[PartyEvidence], i: int) -> str:
    if kind == "greeting":
        return "opens with agent phrases: " + ", ".join(repr(h) for h in p.greeting[:3])
    if kind == "verification":
        return "asks for account details: " + ", ".join(repr(h) for h in p.verification[:2])
    if kind == "scorecard_phrases":
        return "says the scorecard's agent phrases: " + ", ".join(repr(h) for h in p.scorecard[:2])
    if kind == "customer_phrases":
        return "the other party opens like a customer"
    if kind == "first_speaker":
        others = [q.first_start for j, q in enumerate(parties) if j != i and q.first_start is not None]
        if not others:
            return "the other party is silent"
        return f"it speaks {min(others) - (p.first_start or 0.0):.1f}s before the other"
    return "it talks more"


def decide_roles(parties: Sequence[PartyEvidence], labels: Sequence[str] | None = None) -> RoleDecision:
    """Weigh the evidence of two or more parties and pick the agent.

    A third or later party is also taken as an agent when its own evidence says so clearly
    (a greeting or verification after a transfer).

    Args:
        parties: Evidence per party.
        labels: How to name each party in the reason (``channel 0``, ``speaker 1``).
    """
    labels = list(labels or [f"party {i}" for i in range(len(parties))])
    if not parties or all(p.first_start is None for p in parties):
        return RoleDecision((0,) if parties else (), 0.0, "default",
                            "no speech from any party; the first taken as the agent",
                            tuple(0.0 for _ in parties), tuple(parties))
    contrib = _contributions(parties)
    scores = [sum(c.values()) for c in contrib]
    order = sorted(range(len(parties)), key=lambda i: (-scores[i], i))
    agent = order[0]
    if len(parties) == 1:
        margin = scores[0]
        agents = (0,) if margin >= 0 else ()
    else:
        margin = scores[agent] - scores[order[1]]
        agents = (agent,) + tuple(
            i for i in order[1:]
            if len(parties) > 2 and i != agent and (parties[i].greeting or parties[i].verification) and scores[i] > 1.0
        )
    confidence = 1.0 / (1.0 + math.exp(-abs(margin)))
    # The method is what set the agent apart from the runner-up the most.
    ref = contrib[order[1]] if len(parties) > 1 else {}
    target = contrib[agent] if agents else contrib[0]
    kinds = set(target) | set(ref)
    diffs = {k: target.get(k, 0.0) - ref.get(k, 0.0) for k in kinds}
    if not agents:
        diffs = {k: -v for k, v in diffs.items()}
    method = max(sorted(diffs), key=lambda k: diffs[k]) if diffs else "default"
    who = labels[agent] if agents else labels[0]
    if agents:
        reason = f"{who} is the agent: {_describe(method, parties[agent], parties, agent)}"
        if len(agents) > 1:
            reason += f"; {', '.join(labels[i] for i in agents[1:])} also speak(s) as an agent (a transfer)"
    else:
        reason = f"{who} is the customer: nothing it says sounds like an agent"
    return RoleDecision(tuple(agents), round(confidence, 3), method, reason, tuple(round(s, 3) for s in scores),
                        tuple(parties))


def assign_stereo_roles(
    channel_words: Sequence[Sequence[Word]],
    onsets: Sequence[float | None],
    configured: int | None,
    channel_ids: Sequence[int] = (0, 1),
    agent_phrases: Sequence[str] = (),
    review_below: float = DEFAULT_REVIEW_BELOW,
    cues: RoleCues | None = None,
) -> RoleAssignment:
    """Decide which of two channels is the agent.

    Args:
        channel_words: Recognised words of each of the two channels.
        onsets: Seconds of each channel's first sustained speech energy (None: silent).
        configured: The agent channel the user fixed, or None for ``auto``.
        channel_ids: The file channel numbers of the two channels.
        agent_phrases: The scorecard's agent phrases, when a scorecard is at hand.
        review_below: Confidence under which the call is flagged for review.
        cues: Cue phrases; the shipped ones by default.

    Returns:
        The assignment with the evidence that decided and a one-sentence reason.
    """
    if configured is not None:
        return RoleAssignment(RolesSource.CHANNEL, "configured", configured, 1.0,
                              f"agent channel {configured} set in the options")
    parties = [gather_evidence(w, o, cues, agent_phrases) for w, o in zip(channel_words, onsets)]
    decision = decide_roles(parties, [f"channel {c}" for c in channel_ids])
    if decision.method == "default":
        return RoleAssignment(RolesSource.CHANNEL, "default", channel_ids[0], 0.0,
                              "no speech on either channel; channel order assumed agent first", review=True)
    agent = decision.agents[0]
    return RoleAssignment(
        RolesSource.CHANNEL, decision.method, channel_ids[agent], decision.confidence,
        f"{decision.reason} (confidence {decision.confidence:.2f})",
        review=decision.confidence < review_below,
    )


def assign_speaker_roles(
    speaker_words: Sequence[Sequence[Word]],
    agent_phrases: Sequence[str] = (),
    review_below: float = DEFAULT_REVIEW_BELOW,
    cues: RoleCues | None = None,
) -> tuple[tuple[int, ...], RoleAssignment]:
    """Decide which diarized speakers of a mono recording are agents.

    Args:
        speaker_words: Words of each speaker, in speaker order.
        agent_phrases: The scorecard's agent phrases, when a scorecard is at hand.
        review_below: Confidence under which the call is flagged for review.
        cues: Cue phrases; the shipped ones by default.

    Returns:
        The agent speakers (empty when the only voice is a customer's) and the assignment
        (``source: diarization``). One voice only is always flagged for review.
    """
    parties = [gather_evidence(w, None, cues, agent_phrases) for w in speaker_words]
    labels = [f"speaker {i}" for i in range(len(parties))]
    decision = decide_roles(parties, labels)
    n = len(parties)
    if decision.method == "default":
        return (), RoleAssignment(RolesSource.DIARIZATION, "default", None, 0.0,
                                  "mono recording without recognised speech", review=True)
    if n == 1:
        role = "agent" if decision.agents else "customer"
        return decision.agents, RoleAssignment(
            RolesSource.DIARIZATION, "single_speaker", None, decision.confidence,
            f"mono recording with one voice only (voicemail or monologue), taken as the {role}: "
            f"{decision.reason}", review=True,
        )
    return decision.agents, RoleAssignment(
        RolesSource.DIARIZATION, decision.method, None, decision.confidence,
        f"mono recording, {n} voices: {decision.reason} (confidence {decision.confidence:.2f})",
        review=decision.confidence < review_below,
    )
