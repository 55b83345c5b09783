"""Scenario files: which calls to synthesise, by whom, when, and with which behaviours.

A scenario (YAML) names the agents and then lists calls explicitly, describes a generator that
draws calls from each agent's behaviour profile over a number of weeks, or both::

    name: example
    seed: 7
    company: Riverside Bank
    agents:
      - {id: A01, name: Sarah, team: Cards, profile: improving, quality: 0.3}
      - {id: A02, name: David, team: Cards, voice: {pitch: 0.9, speed: 1.05}}
    calls:
      - id: call-001
        agent: A01
        started_at: 2024-03-04T09:15:00
        problem: billing
        behaviours: {frustration: true, empathy: false, hold: true, hold_seconds: 15}
      - id: call-002
        agent: A02
        started_at: 2024-03-04T10:02:00
        lines:
          - {agent: "Thank you for calling Riverside Bank, my name is David.", marks: [greeting, self_identification]}
          - {customer: "Hi, I lost my card."}
          - {hold: 12, music: true}
          - {dead_air: 11}
    generator:
      start: 2024-01-01
      weeks: 8
      calls_per_agent_per_week: 2

Profiles: ``stable`` keeps the agent's ``quality`` (0..1, the chance of each good behaviour);
``improving`` and ``declining`` move it linearly by ``change`` (default 0.5) from the first
week to the last; ``erratic`` moves it each week by a random amount within ±``change``.
Everything random comes from ``seed``, so a scenario always yields the same calls.

This module holds the scenario model and the generator; reading and checking the YAML is
:mod:`qa_pipeline.synth.scenario_file`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Literal

import numpy as np

from qa_pipeline.errors import ScenarioError
from qa_pipeline.synth.behaviours import Behaviours, build_steps, pick_problem
from qa_pipeline.synth.records import CallScript, Step, VoiceSpec
from qa_pipeline.synth.seeding import rng_for

Profile = Literal["stable", "improving", "declining", "erratic"]
PROFILES: tuple[str, ...] = ("stable", "improving", "declining", "erratic")

# Chance per generated call of situations that do not depend on the agent.
FRUSTRATION_CHANCE = 0.4
HOLD_CHANCE = 0.35
HOLD_MUSIC_CHANCE = 0.6
VERIFICATION_CHANCE = 0.5
FOLLOW_UP_CHANCE = 0.5
_QUALITY_RANGE = (0.02, 0.98)


@dataclass(frozen=True)
class AgentSpec:
    """An agent of the scenario.

    Attributes:
        id: Unique agent id.
        name: First name, spoken in the self-identification.
        team: Team name.
        voice: How the agent sounds; None = derived from the id.
        profile: How the agent's quality develops over the generator's weeks.
        quality: Chance of each good behaviour at the start, 0..1.
        change: How far ``improving``/``declining`` move over all weeks, or the weekly swing
            of ``erratic``.
    """

    id: str
    name: str
    team: str
    voice: VoiceSpec | None = None
    profile: Profile = "stable"
    quality: float = 0.8
    change: float = 0.5

    def resolved_voice(self) -> VoiceSpec:
        """The agent's voice, derived deterministically from the id when not given."""
        if self.voice is not None:
            return self.voice
        rng = rng_for("agent-voice", self.id)
        return VoiceSpec(
            pitch=round(float(rng.uniform(0.88, 1.12)), 3),
            speed=round(float(rng.uniform(0.92, 1.05)), 3),
        )

    def quality_at(self, week: int, weeks: int, seed: int) -> float:
        """The agent's quality in ``week`` (0-based) of ``weeks``."""
        progress = week / (weeks - 1) if weeks > 1 else 0.0
        if self.profile == "improving":
            q = self.quality + self.change * progress
        elif self.profile == "declining":
            q = self.quality - self.change * progress
        elif self.profile == "erratic":
            q = self.quality + float(rng_for(seed, "erratic", self.id, week).uniform(-self.change, self.change))
        else:
            q = self.quality
        return float(np.clip(q, *_QUALITY_RANGE))


@dataclass(frozen=True)
class CallSpec:
    """One explicitly listed call: behaviours to plant, or the exact steps.

    Attributes:
        id: Unique call id.
        agent_id: The agent's id.
        started_at: When the call started.
        problem: Topic of the customer's problem; None = chosen at random.
        behaviours: Behaviours to plant (used when ``steps`` is empty).
        steps: Exact lines and pauses, instead of behaviours.
        customer_voice: How the customer sounds; None = chosen at random.
        format, subtype, stereo, swap_channels: Output overrides for this call.
    """

    id: str
    agent_id: str
    started_at: datetime
    problem: str | None = None
    behaviours: Behaviours = dataclasses.field(default_factory=Behaviours)
    steps: tuple[Step, ...] = ()
    customer_voice: VoiceSpec | None = None
    format: str | None = None
    subtype: str | None = None
    stereo: bool | None = None
    swap_channels: bool | None = None


@dataclass(frozen=True)
class GeneratorSpec:
    """Calls drawn from the agents' profiles.

    Attributes:
        start: Monday of the first week.
        weeks: Number of weeks.
        calls_per_agent_per_week: Calls per agent per week.
        agents: Ids of the agents to generate for; empty = all.
        hold_seconds: Range of hold lengths. Keep it above 15 s: a shorter silence reads as
            dead air, not a hold, to the default scorecard.
        dead_air_seconds: Range of dead-air lengths. Keep it within 10–15 s: from 10 s the
            ground truth counts dead air as a failure (the default scorecard from 8 s), and
            from 15 s the scorecard reads a silence as a hold.
    """

    start: date
    weeks: int
    calls_per_agent_per_week: int
    agents: tuple[str, ...] = ()
    hold_seconds: tuple[float, float] = (20.0, 40.0)
    dead_air_seconds: tuple[float, float] = (10.0, 14.0)


@dataclass(frozen=True)
class Scenario:
    """A validated scenario file.

    Attributes:
        path: Where it was read from (for messages).
        name: Free-text name.
        seed: Seed of every random choice.
        company: Company name the agents speak.
        agents: The agents.
        calls: Explicitly listed calls.
        generator: The call generator, if any.
    """

    path: Path
    name: str
    seed: int
    company: str
    agents: tuple[AgentSpec, ...]
    calls: tuple[CallSpec, ...] = ()
    generator: GeneratorSpec | None = None

    def agent(self, agent_id: str) -> AgentSpec:
        """The agent with this id; ScenarioError when there is none."""
        for a in self.agents:
            if a.id == agent_id:
                return a
        raise ScenarioError(f"{self.path}: unknown agent {agent_id!r}")

    def scripts(self) -> list[CallScript]:
        """Expand the scenario into call scripts: the listed calls, then the generated ones.

        Raises:
            ScenarioError: A generated call id collides with a listed one.
        """
        scripts = [self._explicit_script(c, i) for i, c in enumerate(self.calls)]
        if self.generator is not None:
            taken = {s.call_id for s in scripts}
            for script in self._generated_scripts(self.generator):
                if script.call_id in taken:
                    raise ScenarioError(
                        f"{self.path}: generator: call id {script.call_id!r} is also listed in calls"
                    )
                scripts.append(script)
        return scripts

    def _customer_voice(self, call_id: str, agent_voice: VoiceSpec) -> VoiceSpec:
        rng = rng_for(self.seed, call_id, "customer-voice")
        # Keep the customer clearly apart from the agent in pitch.
        pitch = float(rng.uniform(0.86, 1.16))
        while abs(pitch - agent_voice.pitch) < 0.1:
            pitch = float(rng.uniform(0.86, 1.16))
        return VoiceSpec(
            pitch=round(pitch, 3),
            speed=round(float(rng.uniform(0.92, 1.08)), 3),
            gain_db=round(float(rng.uniform(-2.0, 1.0)), 2),
        )

    def _explicit_script(self, call: CallSpec, index: int) -> CallScript:
        agent = self.agent(call.agent_id)
        agent_voice = agent.resolved_voice()
        problem = None
        if call.steps:
            steps = call.steps
        else:
            problem = pick_problem(rng_for(self.seed, call.id, "problem"), call.problem)
            steps = build_steps(
                call.behaviours, problem, agent.name, self.company, rng_for(self.seed, call.id, "script")
            )
        try:
            return CallScript(
                call_id=call.id,
                agent_id=agent.id,
                agent_name=agent.name,
                team=agent.team,
                started_at=call.started_at,
                steps=steps,
                agent_voice=agent_voice,
                customer_voice=call.customer_voice or self._customer_voice(call.id, agent_voice),
                problem=problem.topic if problem else call.problem,
                format=call.format,
                subtype=call.subtype,
                stereo=call.stereo,
                swap_channels=call.swap_channels,
            )
        except ValueError as exc:
            raise ScenarioError(f"{self.path}: calls[{index}]: {exc}") from exc

    def _generated_scripts(self, gen: GeneratorSpec) -> list[CallScript]:
        agents = [self.agent(a) for a in gen.agents] if gen.agents else list(self.agents)
        scripts: list[CallScript] = []
        for week in range(gen.weeks):
            for agent in agents:
                quality = agent.quality_at(week, gen.weeks, self.seed)
                for k in range(gen.calls_per_agent_per_week):
                    call_id = f"{agent.id}-w{week + 1:02d}-{k + 1}"
                    rng = rng_for(self.seed, "generator", agent.id, week, k)
                    behaviours = draw_behaviours(quality, rng, gen.hold_seconds, gen.dead_air_seconds)
                    day = int(rng.integers(5))
                    minute = int(rng.integers(9 * 60, 17 * 60))
                    started_at = datetime.combine(
                        gen.start + timedelta(weeks=week, days=day), time(minute // 60, minute % 60)
                    )
                    problem = pick_problem(rng)
                    agent_voice = agent.resolved_voice()
                    scripts.append(
                        CallScript(
                            call_id=call_id,
                            agent_id=agent.id,
                            agent_name=agent.name,
                            team=agent.team,
                            started_at=started_at,
                            steps=build_steps(behaviours, problem, agent.name, self.company, rng),
                            agent_voice=agent_voice,
                            customer_voice=self._customer_voice(call_id, agent_voice),
                            problem=problem.topic,
                            quality=round(quality, 4),
                        )
                    )
        return scripts


def draw_behaviours(
    quality: float,
    rng: np.random.Generator,
    hold_seconds: tuple[float, float] = (20.0, 40.0),
    dead_air_seconds: tuple[float, float] = (10.0, 14.0),
) -> Behaviours:
    """Draw one call's behaviours for an agent of the given quality.

    Each good behaviour is present with a chance that follows ``quality``; bad ones (talking
    over the customer, prohibited phrases, dead air) with a chance that falls as it rises.
    Situations outside the agent's control (frustration, a hold) have fixed chances. Every
    draw is made in the same order whatever the outcome, so changing one chance does not
    reshuffle the rest.
    """

    def chance(p: float) -> bool:
        return bool(rng.random() < float(np.clip(p, 0.0, 1.0)))

    q = quality
    greeting = chance(q + 0.1)
    self_identification = chance(q)
    paraphrase = chance(q - 0.05)
    frustration = chance(FRUSTRATION_CHANCE)
    empathy = chance(q)
    positive = chance(q)
    verification = chance(VERIFICATION_CHANCE)
    dead_air = chance((1 - q) * 0.4)
    dead_air_length = float(rng.uniform(*dead_air_seconds))
    hold = chance(HOLD_CHANCE)
    hold_announced = chance(q + 0.05)
    hold_thanked = chance(q + 0.05)
    hold_length = float(rng.uniform(*hold_seconds))
    hold_music = chance(HOLD_MUSIC_CHANCE)
    interruption = chance((1 - q) * 0.7)
    prohibited = chance((1 - q) * 0.5)
    follow_up = prohibited or chance(FOLLOW_UP_CHANCE)
    closing = chance(q)
    return Behaviours(
        greeting=greeting,
        self_identification=self_identification,
        paraphrase=paraphrase,
        frustration=frustration,
        empathy=empathy,
        positive=positive,
        verification=verification,
        dead_air_seconds=round(dead_air_length, 2) if dead_air else 0.0,
        hold=hold,
        hold_announced=hold_announced,
        hold_thanked=hold_thanked,
        hold_seconds=round(hold_length, 2),
        hold_music=hold_music,
        interruption=interruption,
        follow_up=follow_up,
        prohibited=prohibited,
        closing=closing,
    )
