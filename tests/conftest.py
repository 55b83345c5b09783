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


# --------------------------------------------------------------------------------------------
# The parallel schedule (`make test` runs `pytest -n 2 --dist loadfile`: each test file runs
# whole on one worker, so a module-scoped fixture such as a rendered batch is built once; work
# two files need is shared by checking both facts in one file, not by a session fixture).


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
