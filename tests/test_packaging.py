"""The package carries what it needs: an installed wheel runs without the source tree."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from transcript_factory import make_transcript

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "qa_pipeline"
# Documented copies in the repository and the copies the package ships.
COPIES = {
    ROOT / "scorecards" / "default.en.yaml": PACKAGE / "data" / "scorecards" / "default.en.yaml",
    ROOT / "scorecards" / "default.zh.yaml": PACKAGE / "data" / "scorecards" / "default.zh.yaml",
    ROOT / "samples" / "drift.yaml": PACKAGE / "data" / "scenarios" / "drift.yaml",
}


@pytest.mark.parametrize("documented", list(COPIES), ids=lambda p: p.name)
def test_shipped_copies_match_the_documented_files(documented: Path) -> None:
    assert COPIES[documented].read_bytes() == documented.read_bytes(), (
        f"{COPIES[documented]} differs from {documented}: copy the documented file over it"
    )


def test_the_default_scorecard_is_found_inside_the_package() -> None:
    from qa_pipeline.config import bundled_scorecard

    assert bundled_scorecard("zh") == COPIES[ROOT / "scorecards" / "default.zh.yaml"].resolve()
    assert bundled_scorecard("fr") == COPIES[ROOT / "scorecards" / "default.en.yaml"].resolve()


@pytest.mark.e2e
def test_an_installed_wheel_validates_and_scores_outside_the_source_tree(tmp_path: Path) -> None:
    # Build from a copy, so the checkout gets no build/ or egg-info of its own.
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(PACKAGE, src / "qa_pipeline", ignore=shutil.ignore_patterns("__pycache__", "*.so", "*.pyc"))
    wheels = tmp_path / "wheels"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(wheels), str(src)],
        capture_output=True, text=True, check=False,
    )
    assert build.returncode == 0, build.stderr
    (wheel,) = wheels.glob("qa_pipeline-*.whl")

    # A fresh environment: the wheel in its own site-packages, the shared dependencies after it.
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                               capture_output=True, text=True, check=True).stdout.strip())
    (site / "shared-dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n", encoding="utf-8")
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site), str(wheel)],
        capture_output=True, text=True, check=False,
    )
    assert install.returncode == 0, install.stderr

    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(python), *args], cwd=work, env=env, capture_output=True, text=True, check=False)

    where = run("-c", "import qa_pipeline, qa_pipeline.config as c; print(qa_pipeline.__file__); print(c.bundled_scorecard())")
    assert where.returncode == 0, where.stderr
    module, card = where.stdout.split()
    assert Path(module).is_relative_to(site) and Path(card).is_relative_to(site)

    validate = run("-m", "qa_pipeline.cli.main", "scorecard", "validate", card)
    assert validate.returncode == 0, validate.stdout + validate.stderr

    call = make_transcript([
        ("agent", 0.0, "Thank you for calling Riverside Bank, my name is Sarah, how can I help you today?"),
        ("customer", 4.0, "Hi, I'd like to check my balance please."),
        ("agent", 7.0, "Of course. Is there anything else I can help you with? Have a great day."),
    ])
    path = call.save(work / "call.json")
    score = run("-m", "qa_pipeline.cli.main", "score", str(path), "--scorecard", card, "--json")
    assert score.returncode == 0, score.stdout + score.stderr
    record = json.loads(score.stdout)
    assert record["call_id"] == call.call_id and record["criteria"]
