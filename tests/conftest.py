"""Shared fixtures. Paths are built from this file so tests run from any folder."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT
