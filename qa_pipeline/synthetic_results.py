"""A synthetic results dataset: the calls and criteria frames of N agents over D days.

For tests, benchmarks and notebooks that need realistic statistics without transcribing audio.
Each agent has a profile — ``stable``, ``improving``, ``declining`` or ``erratic`` — that moves
a latent skill over time; each criterion's failure probability follows the skill, the
criterion's own difficulty and the agent's propensity to fail it (planted individual problems).
One criterion (empathy) is hard for everyone (a planted common problem); one (positive
language) is critical and zeroes the score. One agent has a Chinese name and speaks Chinese in
evidence and transcripts. Everything is deterministic given the seed.

:func:`write_transcripts` (from :mod:`qa_pipeline.synthetic_transcripts`, importable here too)
writes matching :class:`~qa_pipeline.transcript.Transcript` files (and optionally silent
recordings) for chosen calls, with evidence whose times point at the words that justify each
verdict.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from qa_pipeline.options import from_dict
from qa_pipeline.stats.frames import Frames, prepare_frames
from qa_pipeline.synthetic_transcripts import line_evidence, write_transcripts

__all__ = [
    "AVERAGE_SKILL",
    "CHINESE_NAME",
    "CRITERIA",
    "FIRST_NAMES",
    "LAST_NAMES",
    "PROFILES",
    "TEAMS",
    "AgentProfile",
    "CriterionSpec",
    "SynthFrames",
    "SynthStoreOptions",
    "pick_calls",
    "synth_frames",
    "write_transcripts",
]


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


@dataclass(frozen=True)
class PlantedAgent:
    """An agent whose trajectory is fixed rather than drawn, so a test can expect its flag.

    Attributes:
        profile: ``stable``, ``improving``, ``declining`` or ``erratic``.
        base: Latent skill at the start (score points).
        drift: Change of the skill over the whole span (points).
        noise: Call-to-call standard deviation (points).
        problems: Criteria this agent is prone to fail (planted individual problems).
    """

    profile: str
    base: float
    drift: float
    noise: float
    problems: tuple[str, ...] = ()


# Planted agents first, so tests can rely on them.
PLANTED: tuple[PlantedAgent, ...] = (
    PlantedAgent("improving", 48.0, 30.0, 4.0, ("self_identification",)),  # A001, North: encourage
    PlantedAgent("declining", 97.0, -26.0, 4.0),  # A002, South: early warning
    PlantedAgent("stable", 92.0, 0.0, 4.0),  # A003, North: recognise
    PlantedAgent("erratic", 84.0, 0.0, 8.0),  # A004, South: inconsistent
    PlantedAgent("stable", 62.0, 0.0, 4.0, ("active_listening",)),  # A005, North: coach
    PlantedAgent("stable", 76.0, 0.0, 4.0),  # A006, South: the Chinese-speaking agent
)


def _roster(opts: SynthStoreOptions, rng: np.random.Generator, planted: tuple[PlantedAgent, ...]) -> tuple[AgentProfile, ...]:
    out = []
    criterion_ids = [c.criterion_id for c in CRITERIA if not c.critical]
    chinese_at = min(5, opts.agents - 1) if opts.chinese_agent else -1
    for i in range(opts.agents):
        team = TEAMS[i % opts.teams]
        if i < len(planted):
            p = planted[i]
            profile, base, drift, noise, problems = p.profile, p.base, p.drift, p.noise, p.problems
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
                    items = line_evidence(spec.criterion_id, verdict == "pass", lang, start, start + 3.0, name="")
                    texts.append(json.dumps(items, ensure_ascii=False))
                pool[(spec.criterion_id, verdict, lang)] = np.array(texts, dtype=object)
            pool[(spec.criterion_id, "na", lang)] = np.array(["[]"], dtype=object)
    return pool


def synth_frames(
    options: SynthStoreOptions | dict[str, Any] | None = None, planted: tuple[PlantedAgent, ...] = PLANTED
) -> SynthFrames:
    """Generate a synthetic calls/criteria dataset.

    Args:
        options: Shape and seed; see :class:`SynthStoreOptions`.
        planted: The first agents' fixed trajectories (the rest are drawn).

    Returns:
        Prepared frames (no transcripts yet; see :func:`write_transcripts`) and the agents'
        planted profiles.
    """
    opts = SynthStoreOptions.from_dict(options)
    rng = np.random.default_rng(opts.seed)
    roster = _roster(opts, rng, tuple(planted))
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
