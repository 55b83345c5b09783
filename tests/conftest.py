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
# loadgroup`). Kept in one block: other fixtures go above.

# Tests that take one of these session fixtures share their expensive products (transcripts
# in the session cache, rendered calls), so they run on one worker and each product is made once.
_SHARED_ASR_FIXTURES = frozenset({"asr_cache", "generated_calls", "sample_transcripts"})
_SHARED_ASR_GROUP = "shared-asr"


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


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items) -> None:
    """Give every test an ``xdist_group`` (its module, or the shared-ASR group) and, on a
    parallel worker, start with the end-to-end groups.

    Module-scoped fixtures (a rendered batch, a ``qa run``) are then built once, on one worker,
    instead of once per worker that gets one of the module's tests. The slow groups go first so
    that the two workers finish together instead of one of them ending the run alone with a
    long end-to-end module. Runs before xdist reads the marks (``tryfirst``); a serial run keeps
    the file order.
    """
    for item in items:
        if item.get_closest_marker("xdist_group") is not None:
            continue
        if _SHARED_ASR_FIXTURES & set(getattr(item, "fixturenames", ())):
            group = _SHARED_ASR_GROUP
        else:
            group = item.module.__name__ if getattr(item, "module", None) is not None else item.nodeid.split("::")[0]
        item.add_marker(pytest.mark.xdist_group(group))
    if os.environ.get("PYTEST_XDIST_WORKER"):
        slow = {_group(item) for item in items if item.get_closest_marker("e2e") is not None}
        items.sort(key=lambda item: _group(item) not in slow)


def _group(item) -> str:
    return item.get_closest_marker("xdist_group").args[0]
