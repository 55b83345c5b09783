"""A synthetic results dataset: the calls and criteria frames of N agents over D days.

For tests, benchmarks and notebooks that need realistic statistics without transcribing audio.
Each agent has a profile — ``stable``, ``improving``, ``declining`` or ``erratic`` — that moves
a latent skill over time; each criterion's failure probability follows the skill, the
criterion's own difficulty and the agent's propensity to fail it (planted individual problems).
One criterion (empathy) is hard for everyone (a planted common problem); one (positive
language) is critical and zeroes the score. One agent has a Chinese name and speaks Chinese in
evidence and transcripts. Everything is deterministic given the seed.

:func:`write_transcripts` writes matching :class:`~qa_pipeline.transcript.Transcript` files
(and optionally silent recordings) for chosen calls, with evidence whose times point at the
words that justify each verdict.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd

from qa_pipeline.options import from_dict
from qa_pipeline.stats.frames import Frames, prepare_frames
from qa_pipeline.transcript import (
    AudioInfo,
    RoleAssignment,
    RolesSource,
    Speaker,
    Transcript,
    Turn,
    Word,
    merge_turns,
)


@dataclass(frozen=True)
class CriterionSpec:
    """A criterion of the synthetic scorecard.

    Attributes:
        criterion_id: Id, as in the default scorecard.
        title: Display title.
        points: Weight in the score.
        fail_rate: Failure probability of an agent of average skill (75).
        na_rate: Share of calls where the criterion does not apply.
        critical: A failure zeroes the call's score.
        missing: What a failure did not find.
        missing_zh: The same in Chinese.
    """

    criterion_id: str
    title: str
    points: float
    fail_rate: float
    na_rate: float = 0.0
    critical: bool = False
    missing: str = ""
    missing_zh: str = ""


CRITERIA: tuple[CriterionSpec, ...] = (
    CriterionSpec("greeting", "Greeting", 10, 0.08, missing="no greeting in the first 15 s", missing_zh="前15秒内没有问候语"),
    CriterionSpec("self_identification", "Self-identification", 10, 0.12, missing="agent did not give their name", missing_zh="坐席没有报姓名"),
    CriterionSpec("active_listening", "Active listening", 15, 0.18, missing="no paraphrase of the customer's issue", missing_zh="没有复述客户的问题"),
    CriterionSpec("empathy", "Empathy", 15, 0.40, na_rate=0.45, missing="no empathy after customer frustration", missing_zh="客户不满后没有表达同理心"),
    CriterionSpec("interruptions", "No interruptions", 10, 0.12, missing="", missing_zh=""),
    CriterionSpec("hold_etiquette", "Hold etiquette", 10, 0.15, na_rate=0.6, missing="hold not announced", missing_zh="保持前没有告知客户"),
    CriterionSpec("positive_language", "Positive language", 10, 0.006, critical=True, missing="", missing_zh=""),
    CriterionSpec("closing", "Closing", 10, 0.10, missing="no closing offer of further help", missing_zh="没有结束语"),
    CriterionSpec("dead_air", "No dead air", 10, 0.10, missing="", missing_zh=""),
)

PROFILES: tuple[str, ...] = ("stable", "improving", "declining", "erratic")
TEAMS: tuple[str, ...] = ("North", "South", "East", "West", "Central", "Harbour", "Valley", "Ridge")
FIRST_NAMES: tuple[str, ...] = (
    "Alice", "Bruno", "Chloe", "Dmitri", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kemi", "Lars",
    "Maya", "Nikhil", "Olga", "Pedro", "Quinn", "Rosa", "Sami", "Tara", "Umar", "Vera", "Wen", "Ximena",
    "Yusuf", "Zoe",
)
LAST_NAMES: tuple[str, ...] = (
    "Adams", "Berg", "Costa", "Dubois", "Evans", "Fischer", "Garcia", "Hansen", "Ito", "Jensen", "Kowalski",
    "Lopez", "Meyer", "Novak", "Okafor", "Petrov", "Quispe", "Rossi", "Silva", "Tanaka",
)
CHINESE_NAME = "王小明"
AVERAGE_SKILL = 75.0


@dataclass(frozen=True)
class SynthStoreOptions:
    """Shape of the synthetic dataset.

    Attributes:
        agents: Number of agents.
        days: Number of days, starting at ``start``.
        calls_per_day: Mean calls per agent per day (Poisson).
        teams: Number of teams (agents are spread round-robin).
        start: First day, ``YYYY-MM-DD``.
        seed: Random seed; the same options give the same frames.
        chinese_agent: Make the sixth agent (or the last, with fewer) Chinese-named and
            Chinese-speaking.
    """

    agents: int = 12
    days: int = 60
    calls_per_day: float = 3.0
    teams: int = 2
    start: str = "2026-09-01"
    seed: int = 0
    chinese_agent: bool = True

    def __post_init__(self) -> None:
        if self.agents < 1 or self.days < 1:
            raise ValueError("agents and days must be >= 1")
        if self.calls_per_day <= 0:
            raise ValueError("calls_per_day must be positive")
        if not 1 <= self.teams <= len(TEAMS):
            raise ValueError(f"teams must be 1..{len(TEAMS)}")
        date.fromisoformat(self.start)

    @classmethod
    def from_dict(cls, data: "dict[str, Any] | SynthStoreOptions | None") -> "SynthStoreOptions":
        return from_dict(cls, data)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class AgentProfile:
    """The planted truth about one synthetic agent.

    Attributes:
        agent_id: Id (``A001``…).
        agent_name: Display name.
        team: Team.
        profile: ``stable``, ``improving``, ``declining`` or ``erratic``.
        base: Skill (≈ expected score) on the first day.
        drift: Skill change over the whole span (points).
        noise: Standard deviation of the per-call skill (points).
        aht_s: Mean handle time in seconds.
        language: ``en`` or ``zh``.
        problems: Criteria this agent fails far more than others.
    """

    agent_id: str
    agent_name: str
    team: str
    profile: str
    base: float
    drift: float
    noise: float
    aht_s: float
    language: str = "en"
    problems: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["problems"] = list(self.problems)
        return out


@dataclass(frozen=True)
class SynthFrames:
    """A synthetic dataset and the truth planted in it."""

    frames: Frames
    agents: tuple[AgentProfile, ...]

    def profile(self, agent_id: str) -> AgentProfile:
        for a in self.agents:
            if a.agent_id == agent_id:
                return a
        raise KeyError(agent_id)


# Planted agents first, so tests can rely on them: (profile, base, drift, noise, problems).
_PLANTED: tuple[tuple[str, float, float, float, tuple[str, ...]], ...] = (
    ("improving", 48.0, 30.0, 4.0, ("self_identification",)),  # A001, North: encourage
    ("declining", 97.0, -26.0, 4.0, ()),  # A002, South: early warning
    ("stable", 92.0, 0.0, 4.0, ()),  # A003, North: recognise
    ("erratic", 84.0, 0.0, 8.0, ()),  # A004, South: inconsistent
    ("stable", 62.0, 0.0, 4.0, ("active_listening",)),  # A005, North: coach
    ("stable", 76.0, 0.0, 4.0, ()),  # A006, South: the Chinese-speaking agent
)


def _roster(opts: SynthStoreOptions, rng: np.random.Generator) -> tuple[AgentProfile, ...]:
    out = []
    criterion_ids = [c.criterion_id for c in CRITERIA if not c.critical]
    chinese_at = min(5, opts.agents - 1) if opts.chinese_agent else -1
    for i in range(opts.agents):
        team = TEAMS[i % opts.teams]
        if i < len(_PLANTED):
            profile, base, drift, noise, problems = _PLANTED[i]
        else:
            profile = str(rng.choice(PROFILES, p=[0.6, 0.15, 0.15, 0.10]))
            base = float(rng.uniform(66, 82))
            drift = {"improving": 20.0, "declining": -20.0}.get(profile, 0.0)
            base -= drift / 2  # keep the period mean where the base was drawn
            noise = 8.0 if profile == "erratic" else 4.0
            problems = (str(rng.choice(criterion_ids)),) if rng.random() < 0.5 else ()
        if i == chinese_at:
            name, language = CHINESE_NAME, "zh"
        else:
            name = f"{FIRST_NAMES[i % len(FIRST_NAMES)]} {LAST_NAMES[(i * 7) % len(LAST_NAMES)]}"
            if i >= len(FIRST_NAMES):
                name += f" {i // len(FIRST_NAMES) + 1}"
            language = "en"
        aht = float(rng.uniform(240, 480))
        out.append(AgentProfile(f"A{i + 1:03d}", name, team, profile, base, drift, noise, aht, language, problems))
    return tuple(out)


def _evidence_pool(rng: np.random.Generator) -> dict[tuple[str, str, str], np.ndarray]:
    """A few JSON evidence strings per (criterion, verdict, language), with plausible times."""
    pool: dict[tuple[str, str, str], np.ndarray] = {}
    for spec in CRITERIA:
        for lang in ("en", "zh"):
            for verdict in ("pass", "fail"):
                texts = []
                for _ in range(4):
                    start = float(np.round(rng.uniform(1, 120), 2))
                    items = _line_evidence(spec.criterion_id, verdict == "pass", lang, start, start + 3.0, name="")
                    texts.append(json.dumps(items, ensure_ascii=False))
                pool[(spec.criterion_id, verdict, lang)] = np.array(texts, dtype=object)
            pool[(spec.criterion_id, "na", lang)] = np.array(["[]"], dtype=object)
    return pool


def synth_frames(options: SynthStoreOptions | dict[str, Any] | None = None) -> SynthFrames:
    """Generate a synthetic calls/criteria dataset.

    Args:
        options: Shape and seed; see :class:`SynthStoreOptions`.

    Returns:
        Prepared frames (no transcripts yet; see :func:`write_transcripts`) and the agents'
        planted profiles.
    """
    opts = SynthStoreOptions.from_dict(options)
    rng = np.random.default_rng(opts.seed)
    roster = _roster(opts, rng)
    n_agents, n_days = len(roster), opts.days
    counts = rng.poisson(opts.calls_per_day, size=(n_agents, n_days))
    agent_idx = np.repeat(np.repeat(np.arange(n_agents), n_days), counts.ravel())
    day_idx = np.repeat(np.tile(np.arange(n_days), n_agents), counts.ravel())
    m = len(agent_idx)
    seconds = rng.uniform(8 * 3600, 18 * 3600, m)
    started = pd.Timestamp(opts.start) + pd.to_timedelta(day_idx * 86400 + np.round(seconds), unit="s")
    frac = (day_idx + seconds / 86400) / max(n_days, 1)

    base = np.array([a.base for a in roster])
    drift = np.array([a.drift for a in roster])
    noise = np.array([a.noise for a in roster])
    skill = base[agent_idx] + drift[agent_idx] * frac + noise[agent_idx] * rng.standard_normal(m)
    # Erratic agents alternate between good calls and bad ones, not just noisier calls.
    erratic = np.array([a.profile == "erratic" for a in roster])[agent_idx]
    bad_day = erratic & (rng.random(m) < 0.35)
    skill = np.where(erratic, skill + np.where(bad_day, -40.0, 12.0), skill)

    n_crit = len(CRITERIA)
    boost = np.zeros((n_agents, n_crit))
    cindex = {c.criterion_id: j for j, c in enumerate(CRITERIA)}
    for i, a in enumerate(roster):
        for p in a.problems:
            boost[i, cindex[p]] = 2.0
    base_logit = np.array([np.log(c.fail_rate / (1 - c.fail_rate)) for c in CRITERIA])
    logits = base_logit[None, :] + (AVERAGE_SKILL - skill)[:, None] / 8.0 + boost[agent_idx]
    fail = rng.random((m, n_crit)) < 1 / (1 + np.exp(-logits))
    na = rng.random((m, n_crit)) < np.array([c.na_rate for c in CRITERIA])[None, :]
    fail &= ~na
    points = np.array([c.points for c in CRITERIA])
    applicable = (~na) * points[None, :]
    earned = ((~na) & ~fail) * points[None, :]
    score = 100 * earned.sum(1) / np.maximum(applicable.sum(1), 1)
    critical = np.array([c.critical for c in CRITERIA])
    critical_failed = (fail & critical[None, :]).any(1)
    score = np.where(critical_failed, 0.0, np.round(score, 1))

    aht = np.array([a.aht_s for a in roster])
    duration = np.round(aht[agent_idx] * rng.lognormal(-0.06, 0.35, m), 1)

    order = np.argsort(started.to_numpy(), kind="stable")
    call_ids = np.array([f"C{k + 1:07d}" for k in range(m)], dtype=object)
    ids = np.empty(m, dtype=object)
    ids[order] = call_ids
    calls = pd.DataFrame(
        {
            "call_id": ids,
            "agent_id": [roster[i].agent_id for i in agent_idx],
            "agent_name": [roster[i].agent_name for i in agent_idx],
            "team": [roster[i].team for i in agent_idx],
            "started_at": started,
            "duration_s": duration,
            "call_score": score,
            "critical_failed": critical_failed,
            "roles_inferred": rng.random(m) < 0.1,
            "audio_path": None,
            "transcript_path": None,
        }
    )

    verdict = np.where(na, "na", np.where(fail, "fail", "pass"))
    lang = np.array([a.language for a in roster])[agent_idx]
    pool = _evidence_pool(rng)
    evidence = np.empty((m, n_crit), dtype=object)
    missing = np.full((m, n_crit), None, dtype=object)
    pick = rng.integers(0, 4, size=(m, n_crit))
    for j, spec in enumerate(CRITERIA):
        for lg in ("en", "zh"):
            for v in ("pass", "fail", "na"):
                sel = (verdict[:, j] == v) & (lang == lg)
                choices = pool[(spec.criterion_id, v, lg)]
                evidence[sel, j] = choices[pick[sel, j] % len(choices)]
                if v == "fail":
                    text = spec.missing_zh if lg == "zh" else spec.missing
                    missing[sel, j] = text or None
    criteria = pd.DataFrame(
        {
            "call_id": np.repeat(ids, n_crit),
            "criterion_id": np.tile([c.criterion_id for c in CRITERIA], m),
            "criterion_title": np.tile([c.title for c in CRITERIA], m),
            "verdict": verdict.ravel(),
            "points": earned.ravel(),
            "max_points": np.where(na, 0.0, points[None, :]).ravel(),
            "evidence": evidence.ravel(),
            "missing": missing.ravel(),
        }
    )
    return SynthFrames(prepare_frames(calls, criteria, "synthetic"), roster)


def pick_calls(frames: Frames, worst: int = 3, best: int = 2, sample: int = 0, seed: int = 0) -> list[str]:
    """Call ids worth a transcript: each agent's worst and best calls, plus a random sample.

    The order of worst and best matches the report's (score, then most recent first).
    """
    calls = frames.calls
    out: list[str] = []
    for n, asc in ((worst, True), (best, False)):
        if n:
            ranked = calls.sort_values(["call_score", "started_at"], ascending=[asc, False], kind="stable")
            out.extend(ranked.groupby("agent_id", sort=False).head(n)["call_id"])
    if sample:
        rng = np.random.default_rng(seed)
        out.extend(rng.choice(calls["call_id"].to_numpy(), size=min(sample, len(calls)), replace=False))
    return list(dict.fromkeys(out))


# ---------------------------------------------------------------- transcripts

_LINES: dict[str, dict[str, tuple[str, str]]] = {
    # criterion: language: (line when passed, line when failed)
    "greeting": {
        "en": ("Thank you for calling Northwind, good morning.", "Yeah, hello."),
        "zh": ("您好，感谢致电北风公司。", "喂。"),
    },
    "self_identification": {
        "en": ("My name is {name}, how can I help you today?", "What do you need?"),
        "zh": ("我是{name}，请问有什么可以帮您？", "什么事？"),
    },
    "active_listening": {
        "en": ("So if I understand correctly, you were charged twice this month.", "Okay."),
        "zh": ("我确认一下，您这个月被扣了两次费用，对吗？", "嗯。"),
    },
    "empathy": {
        "en": ("I am so sorry about that, I understand how frustrating this is.", "Right, give me the account number."),
        "zh": ("非常抱歉给您带来不便，我理解您的心情。", "账号是多少？"),
    },
    "interruptions": {
        "en": ("Thank you, I have found your account.", "Yes yes I have it already."),
        "zh": ("谢谢，我已经找到您的账户了。", "好好我知道了。"),
    },
    "hold_etiquette": {
        "en": ("May I place you on a brief hold while I check?", "Okay I am back."),
        "zh": ("请您稍等，我帮您查一下。", "好了。"),
    },
    "positive_language": {
        "en": ("I will be happy to fix that for you right away.", "That is not my problem, it is the billing team's fault."),
        "zh": ("我很乐意马上为您解决。", "这不是我的问题，是账单部门的错。"),
    },
    "closing": {
        "en": ("Is there anything else I can help you with? Thank you for calling, have a great day.", "Okay, bye."),
        "zh": ("请问还有其他可以帮您的吗？感谢您的来电，祝您愉快。", "好，再见。"),
    },
}
_CUSTOMER: dict[str, dict[str, str]] = {
    "issue": {"en": "Hi, I am calling about my last bill, I was charged twice.", "zh": "你好，我的账单有问题，被重复扣费了。"},
    "frustration": {"en": "This is the third time I call and I am really frustrated.", "zh": "这已经是第三次了，我真的很生气。"},
    "account": {"en": "My account number is four four seven two and the address is on file.", "zh": "我的账号是四四七二，地址在系统里有。"},
    "thanks": {"en": "Thank you, that helps a lot.", "zh": "谢谢，这样就好了。"},
}
_HOLD_THANKS = {"en": "Thank you for holding.", "zh": "感谢您的耐心等待。"}
_RULES = {
    "greeting": "greeting phrase in the first 15 s",
    "self_identification": "agent states their name",
    "active_listening": "paraphrase of the issue",
    "empathy": "empathy after frustration",
    "interruptions": "agent talks over the customer for more than 1 s",
    "hold_etiquette": "hold announced and thanked",
    "positive_language": "no blaming or refusing phrases",
    "closing": "offer of further help and thanks",
    "dead_air": "no silence longer than 10 s",
}
_INTERRUPT_OVERLAP_S = 1.4
_HOLD_S = 35.0
_DEAD_AIR_S = 14.0


def _tokens(text: str, language: str) -> list[str]:
    if language != "zh":
        return text.split()
    out: list[str] = []
    for ch in text:
        if out and (ch in "，。？！、：；" or len(out[-1]) < 2 and out[-1][-1] not in "，。？！、：；"):
            out[-1] += ch
        else:
            out.append(ch)
    return out


def _words(text: str, language: str, start: float) -> tuple[Word, ...]:
    words = []
    t = start
    for tok in _tokens(text, language):
        length = 0.22 * len(tok) if language == "zh" else 0.12 + 0.055 * len(tok)
        words.append(Word(tok, round(t, 3), round(t + length, 3), 0.95))
        t += length + 0.04
    return tuple(words)


def _line_evidence(criterion: str, passed: bool, language: str, start: float, end: float, name: str) -> list[dict[str, Any]]:
    """Evidence items of one criterion whose evidence is one agent line at [start, end]."""
    rule = _RULES[criterion]
    if criterion == "dead_air":
        if passed:
            return []
        return [{"speaker": None, "start": start, "end": start + _DEAD_AIR_S, "text": f"{_DEAD_AIR_S:.0f} s of silence", "rule": rule}]
    if criterion not in _LINES:
        return []
    text = _LINES[criterion][language][0 if passed else 1].format(name=name or ("Sam" if language == "en" else "小王"))
    if criterion == "interruptions" and passed:
        return []
    if criterion == "hold_etiquette" and not passed:
        return [{"speaker": None, "start": start, "end": end, "text": f"{_HOLD_S:.0f} s hold without announcement", "rule": rule}]
    if criterion in ("greeting", "closing", "self_identification", "active_listening", "empathy", "hold_etiquette") and not passed:
        return []
    return [{"speaker": "agent", "start": start, "end": end, "text": text, "rule": rule}]


def _script(call: pd.Series, verdicts: dict[str, str], language: str) -> tuple[list[Turn], dict[str, list[dict[str, Any]]]]:
    """Lay out one call whose behaviour matches its verdicts; return turns and evidence."""
    name = str(call["agent_name"]).split()[0] if language == "en" else str(call["agent_name"])
    turns: list[Turn] = []
    evidence: dict[str, list[dict[str, Any]]] = {c: [] for c in verdicts}
    t = 0.6

    def say(speaker: Speaker, text: str, at: float) -> Turn:
        turn = Turn(speaker, _words(text, language, at), 0 if speaker is Speaker.AGENT else 1)
        turns.append(turn)
        return turn

    def agent_line(criterion: str, at: float) -> Turn:
        passed = verdicts.get(criterion) == "pass"
        text = _LINES[criterion][language][0 if passed else 1].format(name=name)
        turn = say(Speaker.AGENT, text, at)
        evidence[criterion] = _line_evidence(criterion, passed, language, turn.start, turn.end, name)
        return turn

    t = agent_line("greeting", t).end + 0.5
    t = agent_line("self_identification", t).end + 0.7
    t = say(Speaker.CUSTOMER, _CUSTOMER["issue"][language], t).end + 0.4
    if verdicts.get("empathy") != "na":
        frustrated = say(Speaker.CUSTOMER, _CUSTOMER["frustration"][language], t)
        t = frustrated.end + 0.7
    t = agent_line("active_listening", t).end + 0.6
    if verdicts.get("empathy") != "na":
        t = agent_line("empathy", t).end + 0.6
    account = say(Speaker.CUSTOMER, _CUSTOMER["account"][language], t)
    interrupted = verdicts.get("interruptions") == "fail"
    at = account.end - _INTERRUPT_OVERLAP_S if interrupted else account.end + 0.6
    t = max(agent_line("interruptions", at).end, account.end) + 0.6
    if interrupted:
        first = turns[-1]
        evidence["interruptions"] = [
            {"speaker": "agent", "start": first.start, "end": account.end, "text": first.text, "rule": _RULES["interruptions"]}
        ]
    if verdicts.get("hold_etiquette") != "na":
        announced = verdicts["hold_etiquette"] == "pass"
        if announced:
            ask = agent_line("hold_etiquette", t)
            hold_start = ask.end + 0.3
        else:
            hold_start = t
        back = say(Speaker.AGENT, _HOLD_THANKS[language] if announced else _LINES["hold_etiquette"][language][1], hold_start + _HOLD_S)
        if announced:
            evidence["hold_etiquette"].append(
                {"speaker": "agent", "start": back.start, "end": back.end, "text": back.text, "rule": _RULES["hold_etiquette"]}
            )
        else:
            evidence["hold_etiquette"] = [
                {"speaker": None, "start": hold_start, "end": back.start, "text": f"{_HOLD_S:.0f} s hold without announcement", "rule": _RULES["hold_etiquette"]}
            ]
        t = back.end + 0.6
    t = agent_line("positive_language", t).end + 0.6
    if verdicts.get("dead_air") == "fail":
        evidence["dead_air"] = _line_evidence("dead_air", False, language, round(t, 3), 0, name)
        t += _DEAD_AIR_S
    t = say(Speaker.CUSTOMER, _CUSTOMER["thanks"][language], t).end + 0.5
    agent_line("closing", t)
    for c, v in verdicts.items():
        if v == "na":
            evidence[c] = []
    return turns, evidence


def write_transcripts(
    frames: Frames, folder: str | Path, call_ids: Iterable[str], audio: bool = False
) -> Frames:
    """Write a transcript (and optionally a silent stereo WAV) for each chosen call.

    The chosen calls' criteria rows get evidence that points at the transcript's words, and
    their ``transcript_path`` (and ``audio_path``) are set.

    Args:
        frames: Synthetic frames (from :func:`synth_frames`).
        folder: Output folder; transcripts go to ``<folder>/transcripts``, audio to
            ``<folder>/audio``.
        call_ids: Calls to write.
        audio: Also write 8 kHz silent recordings of the right length.

    Returns:
        New frames with the paths and evidence filled in.
    """
    folder = Path(folder)
    wanted = list(dict.fromkeys(str(c) for c in call_ids))
    calls = frames.calls.set_index("call_id", drop=False)
    crit = frames.criteria
    rows = crit.loc[crit["call_id"].isin(wanted)]
    verdicts: dict[str, dict[str, str]] = {}
    for cid, cr, v in zip(rows["call_id"], rows["criterion_id"], rows["verdict"]):
        verdicts.setdefault(cid, {})[cr] = v
    chinese = {a for a, n in zip(frames.calls["agent_id"], frames.calls["agent_name"]) if n == CHINESE_NAME}
    new_evidence: dict[tuple[str, str], list[dict[str, Any]]] = {}
    transcript_paths: dict[str, str] = {}
    audio_paths: dict[str, str] = {}
    (folder / "transcripts").mkdir(parents=True, exist_ok=True)
    for cid in wanted:
        call = calls.loc[cid]
        language = "zh" if call["agent_id"] in chinese else "en"
        turns, evidence = _script(call, verdicts.get(cid, {}), language)
        duration = round(max(t.end for t in turns) + 1.0, 3)
        wav = folder / "audio" / f"{cid}.wav"
        inferred = bool(call["roles_inferred"])
        transcript = Transcript(
            call_id=cid,
            audio=AudioInfo(str(wav), "0" * 64, duration, 8000, 1 if inferred else 2, "pcm_s16le", "wav"),
            roles=RoleAssignment(
                RolesSource.INFERRED if inferred else RolesSource.CHANNEL,
                "mono_alternation" if inferred else "configured",
                None if inferred else 0,
                0.7 if inferred else 1.0,
                "synthetic call",
            ),
            language=language,
            engine="synthetic",
            model="none",
            turns=merge_turns(turns),
        )
        path = transcript.save(folder / "transcripts" / f"{cid}.json")
        transcript_paths[cid] = str(path)
        if audio:
            import soundfile as sf

            wav.parent.mkdir(parents=True, exist_ok=True)
            channels = 1 if inferred else 2
            sf.write(wav, np.zeros((int(duration * 8000), channels), dtype=np.int16), 8000, subtype="PCM_16")
            audio_paths[cid] = str(wav)
        for criterion, items in evidence.items():
            new_evidence[(cid, criterion)] = items
    new_calls = frames.calls.copy()
    new_calls["transcript_path"] = [transcript_paths.get(c, p) for c, p in zip(new_calls["call_id"], new_calls["transcript_path"])]
    new_calls["audio_path"] = [audio_paths.get(c, p) for c, p in zip(new_calls["call_id"], new_calls["audio_path"])]
    new_crit = crit.copy()
    mask = new_crit["call_id"].isin(wanted).to_numpy()
    keys = zip(new_crit.loc[mask, "call_id"], new_crit.loc[mask, "criterion_id"])
    new_crit.loc[mask, "evidence"] = pd.Series([new_evidence.get(k, []) for k in keys], index=new_crit.index[mask], dtype=object)
    return Frames(new_calls, new_crit)
