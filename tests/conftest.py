"""Shared fixtures. Paths are built from this file so tests run from any folder."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
RECORDINGS = SAMPLES / "recordings"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def asr_cache(tmp_path_factory):
    """One transcript cache for the whole run, so each rendered call is transcribed once."""
    from qa_pipeline.cache import TranscriptCache

    return TranscriptCache(tmp_path_factory.mktemp("asr-cache"))


@pytest.fixture(scope="session")
def fw_engine():
    """The default engine (faster-whisper, bundled tiny.en), loaded once per run."""
    from qa_pipeline.asr import create_engine
    from qa_pipeline.options import TranscribeOptions

    return create_engine(TranscribeOptions())


@pytest.fixture(scope="session")
def generated_calls(tmp_path_factory):
    """The first calls of the drifting-agents scenario, rendered as 8 kHz mu-law stereo WAV.

    Returns:
        The folder and the ground truths, in scenario order.
    """
    from qa_pipeline.synth import RenderOptions, load_scenario, render_scripts

    out = tmp_path_factory.mktemp("generated-calls")
    scripts = load_scenario(SAMPLES / "drift.yaml").scripts()[:12]
    truths = render_scripts(scripts, out, RenderOptions())
    return out, truths
