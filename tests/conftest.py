"""Shared fixtures. Paths are built from this file so tests run from any folder."""

from __future__ import annotations

import os
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


# --------------------------------------------------------------------------------------------
# Shared real-model work and the parallel schedule (`make test` runs `pytest -n 2 --dist
# loadfile`: each test file runs whole on one worker, so a module-scoped fixture such as a
# rendered batch is built once). Kept in one block: other fixtures go above.


@pytest.fixture(scope="session")
def sample_transcripts(fw_engine, asr_cache) -> dict:
    """Every shipped sample call transcribed once with the default options, by call id.

    The end-to-end transcription and scoring tests check different facts about the same
    transcripts; through the session cache each recording goes through the model once.
    """
    from qa_pipeline.pipeline import transcribe_call
    from qa_pipeline.synth import GroundTruth

    truths = [GroundTruth.read(p) for p in sorted(RECORDINGS.glob("*.truth.json"))]
    return {
        t.call_id: transcribe_call(RECORDINGS / t.audio_file, fw_engine, call_id=t.call_id, cache=asr_cache)
        for t in truths
    }


def pytest_collection_modifyitems(config, items) -> None:
    """On a parallel worker, run the files with end-to-end tests first.

    xdist hands out whole files in collection order; a long end-to-end file dealt out last
    would leave one worker running it alone at the end. Sorting is stable, so files keep their
    order within each half, and a serial run keeps the plain file order.
    """
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return
    slow = {item.nodeid.split("::")[0] for item in items if item.get_closest_marker("e2e") is not None}
    items.sort(key=lambda item: item.nodeid.split("::")[0] not in slow)
