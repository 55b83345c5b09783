"""Reading scenario files: the YAML checked field by field into a :class:`Scenario`.

Every error is a :class:`~qa_pipeline.errors.ScenarioError` that names the file and the
field (``calls[2].behaviours.hold_seconds``) and says what was expected. The format itself
is described in :mod:`qa_pipeline.synth.scenario`.
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, NoReturn

from qa_pipeline.errors import ScenarioError
from qa_pipeline.synth import phrases
from qa_pipeline.synth.behaviours import Behaviours
from qa_pipeline.synth.records import FORMATS, LINE_MARKS, EventType, Line, Pause, Step, VoiceSpec
from qa_pipeline.synth.scenario import PROFILES, AgentSpec, CallSpec, GeneratorSpec, Scenario
from qa_pipeline.transcript import Speaker


class _Reader:
    """Typed access to YAML values that names the file and field in every error."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, where: str, message: str) -> NoReturn:
        raise ScenarioError(f"{self.path}: {where}: {message}")

    def mapping(
        self, value: Any, where: str, allowed: set[str], required: frozenset[str] | set[str] = frozenset()
    ) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.fail(where, f"expected a mapping, got {type(value).__name__}")
        unknown = sorted(str(k) for k in value if k not in allowed)
        if unknown:
            self.fail(where, f"unknown field(s) {', '.join(unknown)} (allowed: {', '.join(sorted(allowed))})")
        for key in sorted(required):
            if value.get(key) is None:
                self.fail(f"{where}.{key}" if where else key, "missing required field")
        return value

    def list(self, value: Any, where: str) -> list[Any]:
        if not isinstance(value, list):
            self.fail(where, f"expected a list, got {type(value).__name__}")
        return value

    def text(self, value: Any, where: str) -> str:
        if isinstance(value, bool) or not isinstance(value, (str, int)) or not str(value).strip():
            self.fail(where, f"expected non-empty text, got {value!r}")
        return str(value)

    def integer(self, value: Any, where: str, minimum: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(where, f"expected a whole number, got {value!r}")
        if value < minimum:
            self.fail(where, f"must be at least {minimum}, got {value}")
        return value

    def number(self, value: Any, where: str, low: float, high: float) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.fail(where, f"expected a number, got {value!r}")
        if not low <= value <= high:
            self.fail(where, f"must be within {low:g}..{high:g}, got {value}")
        return float(value)

    def flag(self, value: Any, where: str) -> bool:
        if not isinstance(value, bool):
            self.fail(where, f"expected true or false, got {value!r}")
        return value

    def timestamp(self, value: Any, where: str) -> datetime:
        if isinstance(value, datetime):
            return value
        if isinstance(value, date):
            return datetime.combine(value, time())
        if isinstance(value, str):
            try:
                return datetime.fromisoformat(value)
            except ValueError:
                pass
        self.fail(where, f"expected an ISO date-time like 2024-03-04T09:15:00, got {value!r}")

    def day(self, value: Any, where: str) -> date:
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        if isinstance(value, str):
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass
        self.fail(where, f"expected an ISO date like 2024-01-01, got {value!r}")

    def seconds_range(self, value: Any, where: str) -> tuple[float, float]:
        items = self.list(value, where)
        if len(items) != 2:
            self.fail(where, f"expected [min, max], got {value!r}")
        low = self.number(items[0], f"{where}[0]", 0.1, 3600)
        high = self.number(items[1], f"{where}[1]", 0.1, 3600)
        if low > high:
            self.fail(where, f"min {low:g} is above max {high:g}")
        return low, high

    def voice(self, value: Any, where: str) -> VoiceSpec:
        data = self.mapping(value, where, {"pitch", "speed", "gain_db"})
        return VoiceSpec(
            pitch=self.number(data.get("pitch", 1.0), f"{where}.pitch", 0.7, 1.4),
            speed=self.number(data.get("speed", 1.0), f"{where}.speed", 0.6, 1.6),
            gain_db=self.number(data.get("gain_db", 0.0), f"{where}.gain_db", -12.0, 6.0),
        )


_BEHAVIOUR_FIELDS = {f.name: f for f in dataclasses.fields(Behaviours)}
_OUTPUT_FIELDS = {"format", "subtype", "stereo", "swap_channels"}


def _behaviours(r: _Reader, value: Any, where: str) -> Behaviours:
    data = r.mapping(value, where, set(_BEHAVIOUR_FIELDS))
    values: dict[str, Any] = {}
    for key, raw in data.items():
        field_where = f"{where}.{key}"
        kind = _BEHAVIOUR_FIELDS[key].type
        if key == "dead_air_seconds":
            values[key] = r.number(raw, field_where, 0.0, 600.0)
        elif key == "hold_seconds":
            values[key] = r.number(raw, field_where, 0.5, 600.0)
        elif key == "interruption_seconds":
            values[key] = None if raw is None else r.number(raw, field_where, 0.2, 4.0)
        elif key == "follow_up":
            values[key] = None if raw is None else r.flag(raw, field_where)
        elif kind in ("bool", bool):
            values[key] = r.flag(raw, field_where)
        else:  # pragma: no cover - every field is handled above
            r.fail(field_where, "unsupported field")
    try:
        return Behaviours(**values)
    except ValueError as exc:
        r.fail(where, str(exc))


def _steps(r: _Reader, value: Any, where: str) -> tuple[Step, ...]:
    steps: list[Step] = []
    for i, item in enumerate(r.list(value, where)):
        w = f"{where}[{i}]"
        data = r.mapping(item, w, {"agent", "customer", "hold", "dead_air", "marks", "gap", "overlap", "music"})
        kinds = [k for k in ("agent", "customer", "hold", "dead_air") if k in data]
        if len(kinds) != 1:
            r.fail(w, "needs exactly one of agent, customer, hold, dead_air")
        kind = kinds[0]
        if kind in ("hold", "dead_air"):
            extra = sorted(set(data) - {kind, "music"})
            if extra or (kind == "dead_air" and "music" in data):
                r.fail(w, f"a {kind} step takes only its length in seconds" + (" and music" if kind == "hold" else ""))
            seconds = r.number(data[kind], f"{w}.{kind}", 0.1, 3600.0)
            music = r.flag(data.get("music", False), f"{w}.music")
            steps.append(Pause(kind, seconds, music=music))
            continue
        if "music" in data:
            r.fail(f"{w}.music", "only a hold step has music")
        marks: list[EventType] = []
        for j, m in enumerate(r.list(data.get("marks", []), f"{w}.marks")):
            try:
                mark = EventType(m)
            except ValueError:
                mark = None
            if mark is None or mark not in LINE_MARKS:
                r.fail(f"{w}.marks[{j}]", f"unknown mark {m!r} (allowed: {', '.join(sorted(x.value for x in LINE_MARKS))})")
            marks.append(mark)
        gap = None if data.get("gap") is None else r.number(data["gap"], f"{w}.gap", 0.0, 600.0)
        overlap = None if data.get("overlap") is None else r.number(data["overlap"], f"{w}.overlap", 0.05, 10.0)
        try:
            steps.append(
                Line(Speaker(kind), r.text(data[kind], f"{w}.{kind}"), tuple(marks), gap, overlap)
            )
        except ValueError as exc:
            r.fail(w, str(exc))
    if not any(isinstance(s, Line) for s in steps):
        r.fail(where, "needs at least one agent or customer line")
    return tuple(steps)


def _agent(r: _Reader, value: Any, where: str) -> AgentSpec:
    data = r.mapping(value, where, {"id", "name", "team", "voice", "profile", "quality", "change"}, {"id", "name", "team"})
    profile = data.get("profile", "stable")
    if profile not in PROFILES:
        r.fail(f"{where}.profile", f"unknown profile {profile!r} (allowed: {', '.join(PROFILES)})")
    return AgentSpec(
        id=r.text(data["id"], f"{where}.id"),
        name=r.text(data["name"], f"{where}.name"),
        team=r.text(data["team"], f"{where}.team"),
        voice=None if data.get("voice") is None else r.voice(data["voice"], f"{where}.voice"),
        profile=profile,
        quality=r.number(data.get("quality", 0.8), f"{where}.quality", 0.0, 1.0),
        change=r.number(data.get("change", 0.5), f"{where}.change", 0.0, 1.0),
    )


def _call(r: _Reader, value: Any, where: str, agent_ids: set[str]) -> CallSpec:
    allowed = {"id", "agent", "started_at", "problem", "behaviours", "lines", "customer_voice"} | _OUTPUT_FIELDS
    data = r.mapping(value, where, allowed, {"id", "agent", "started_at"})
    call_id = r.text(data["id"], f"{where}.id")
    agent_id = r.text(data["agent"], f"{where}.agent")
    if agent_id not in agent_ids:
        r.fail(f"{where}.agent", f"unknown agent {agent_id!r}")
    if "behaviours" in data and "lines" in data:
        r.fail(where, "give either behaviours or lines, not both")
    problem = data.get("problem")
    if problem is not None and problem not in phrases.TOPICS:
        r.fail(f"{where}.problem", f"unknown problem {problem!r} (allowed: {', '.join(phrases.TOPICS)})")
    fmt = data.get("format")
    if fmt is not None and fmt not in FORMATS:
        r.fail(f"{where}.format", f"unknown format {fmt!r} (allowed: {', '.join(FORMATS)})")
    return CallSpec(
        id=call_id,
        agent_id=agent_id,
        started_at=r.timestamp(data["started_at"], f"{where}.started_at"),
        problem=problem,
        behaviours=_behaviours(r, data.get("behaviours") or {}, f"{where}.behaviours"),
        steps=_steps(r, data["lines"], f"{where}.lines") if "lines" in data else (),
        customer_voice=(
            None if data.get("customer_voice") is None else r.voice(data["customer_voice"], f"{where}.customer_voice")
        ),
        format=fmt,
        subtype=None if data.get("subtype") is None else r.text(data["subtype"], f"{where}.subtype"),
        stereo=None if data.get("stereo") is None else r.flag(data["stereo"], f"{where}.stereo"),
        swap_channels=(
            None if data.get("swap_channels") is None else r.flag(data["swap_channels"], f"{where}.swap_channels")
        ),
    )


def _generator(r: _Reader, value: Any, agent_ids: set[str]) -> GeneratorSpec:
    where = "generator"
    data = r.mapping(
        value,
        where,
        {"start", "weeks", "calls_per_agent_per_week", "agents", "hold_seconds", "dead_air_seconds"},
        {"start", "weeks", "calls_per_agent_per_week"},
    )
    chosen: list[str] = []
    for i, a in enumerate(r.list(data.get("agents", []), f"{where}.agents")):
        agent_id = r.text(a, f"{where}.agents[{i}]")
        if agent_id not in agent_ids:
            r.fail(f"{where}.agents[{i}]", f"unknown agent {agent_id!r}")
        chosen.append(agent_id)
    return GeneratorSpec(
        start=r.day(data["start"], f"{where}.start"),
        weeks=r.integer(data["weeks"], f"{where}.weeks", 1),
        calls_per_agent_per_week=r.integer(data["calls_per_agent_per_week"], f"{where}.calls_per_agent_per_week", 1),
        agents=tuple(chosen),
        hold_seconds=r.seconds_range(data.get("hold_seconds", [20, 40]), f"{where}.hold_seconds"),
        dead_air_seconds=r.seconds_range(data.get("dead_air_seconds", [10, 14]), f"{where}.dead_air_seconds"),
    )


def parse_scenario(data: Any, path: str | Path = "<scenario>") -> Scenario:
    """Validate an already-parsed scenario mapping.

    Args:
        data: The YAML document as Python objects.
        path: Where it came from, for messages.

    Raises:
        ScenarioError: Naming the file and the field that is wrong.
    """
    path = Path(path)
    r = _Reader(path)
    doc = r.mapping(data, "top level", {"name", "seed", "company", "agents", "calls", "generator"}, {"agents"})
    agents: list[AgentSpec] = []
    for i, item in enumerate(r.list(doc["agents"], "agents")):
        agent = _agent(r, item, f"agents[{i}]")
        if any(a.id == agent.id for a in agents):
            r.fail(f"agents[{i}].id", f"duplicate agent id {agent.id!r}")
        agents.append(agent)
    if not agents:
        r.fail("agents", "needs at least one agent")
    agent_ids = {a.id for a in agents}
    calls: list[CallSpec] = []
    for i, item in enumerate(r.list(doc.get("calls") or [], "calls")):
        call = _call(r, item, f"calls[{i}]", agent_ids)
        if any(c.id == call.id for c in calls):
            r.fail(f"calls[{i}].id", f"duplicate call id {call.id!r}")
        calls.append(call)
    generator = None if doc.get("generator") is None else _generator(r, doc["generator"], agent_ids)
    if not calls and generator is None:
        r.fail("top level", "needs calls, a generator, or both")
    scenario = Scenario(
        path=path,
        name=str(doc.get("name") or path.stem),
        seed=r.integer(doc.get("seed", 0), "seed", 0),
        company=r.text(doc.get("company", phrases.DEFAULT_COMPANY), "company"),
        agents=tuple(agents),
        calls=tuple(calls),
        generator=generator,
    )
    # Building the scripts is cheap (no audio) and catches what only a whole call can show,
    # such as a talk-over that follows the same speaker.
    scenario.scripts()
    return scenario


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file.

    Args:
        path: The YAML file.

    Raises:
        ScenarioError: The file is missing, is not YAML, or a field is wrong; the message
            names the file and the field.
    """
    import yaml

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ScenarioError(f"{path}: scenario file not found") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{path}: cannot read scenario file ({exc})") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{path}: not valid YAML ({exc})") from exc
    return parse_scenario(data, path)
