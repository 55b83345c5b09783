"""Synthetic test calls: scripted two-party phone calls with planted QA behaviours.

Calls are spoken by the bundled piper voice (altered per speaker), placed on a telephone-like
stereo timeline, and written with a ground-truth file that records every utterance and planted
behaviour with exact times and the verdict a correct scorer must reach per criterion. The
speech voice is optional (``pip install qa_pipeline[synth]``) and loaded only when rendering.

Typical use::

    from qa_pipeline.synth import RenderOptions, load_scenario, render_scenario

    truths = render_scenario(load_scenario("samples/scenario.yaml"), "out/", RenderOptions())
"""

from qa_pipeline.synth.behaviours import (
    DEAD_AIR_FAIL_SECONDS,
    Behaviours,
    build_steps,
    expected_verdicts,
)
from qa_pipeline.synth.records import (
    CRITERIA,
    FORMATS,
    TRUTH_SUFFIX,
    CallScript,
    Event,
    EventType,
    GroundTruth,
    Line,
    Pause,
    Utterance,
    VoiceSpec,
)
from qa_pipeline.synth.render import (
    CALLS_CSV,
    RenderOptions,
    render_call,
    render_scenario,
    render_scripts,
    write_calls_csv,
)
from qa_pipeline.synth.scenario import (
    AgentSpec,
    CallSpec,
    GeneratorSpec,
    Scenario,
    draw_behaviours,
)
from qa_pipeline.synth.scenario_file import load_scenario, parse_scenario

__all__ = [
    "CALLS_CSV",
    "CRITERIA",
    "DEAD_AIR_FAIL_SECONDS",
    "FORMATS",
    "TRUTH_SUFFIX",
    "AgentSpec",
    "Behaviours",
    "CallScript",
    "CallSpec",
    "Event",
    "EventType",
    "GeneratorSpec",
    "GroundTruth",
    "Line",
    "Pause",
    "RenderOptions",
    "Scenario",
    "Utterance",
    "VoiceSpec",
    "build_steps",
    "draw_behaviours",
    "expected_verdicts",
    "load_scenario",
    "parse_scenario",
    "render_call",
    "render_scenario",
    "render_scripts",
    "write_calls_csv",
]
