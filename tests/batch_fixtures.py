"""Fixtures and helpers shared by the batch tests (``test_batch``, ``test_batch_faults``,
``test_batch_postgres``, ``test_ray_executor``).

A test module imports the fixtures it uses by name (``from batch_fixtures import audio``);
``db_url`` is the SQLite default that ``test_batch_postgres`` replaces with its own.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from batch_support import SCORECARD, SessionAudio, session_audio
from qa_pipeline.batch import BatchOptions
from qa_pipeline.scorecard import load_scorecard
from qa_pipeline.store import Store

CARD = load_scorecard(SCORECARD)
N_CRITERIA = len(CARD.criteria)
# The store's tables that a run fills, counted by :func:`stored_rows`.
ROW_COUNTS = ("calls", "calls_ok", "calls_failed", "transcripts", "call_scores", "criterion_results")


@pytest.fixture(scope="session")
def audio(tmp_path_factory: pytest.TempPathFactory) -> SessionAudio:
    """Clips of the sample calls with their transcripts cached once per session."""
    return session_audio(tmp_path_factory)


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """A fresh SQLite store per test."""
    return str(tmp_path / "qa.db")


def run_cli(*args: str) -> Result:
    """``qa run ARGS`` in this process."""
    from qa_pipeline.cli.run import app as run_app

    return CliRunner().invoke(run_app, ["run", *args])


def batch_options(rec: Path, tmp_path: Path, cache: Path, **changes: Any) -> BatchOptions:
    """A run over ``rec`` with the session's scorecard and transcript cache, logging under
    ``tmp_path / "logs"``."""
    return BatchOptions(**{"recordings": rec, "scorecard": SCORECARD, "cache_dir": cache, "log_dir": tmp_path / "logs", **changes})


def stored_rows(store: Store) -> dict[str, int]:
    """Row counts of the tables a run fills."""
    counts = store.counts()
    return {k: counts.get(k, 0) for k in ROW_COUNTS}


def log_events(path: str | Path) -> list[dict]:
    """The events of a JSON-lines run log, in order."""
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines()]
