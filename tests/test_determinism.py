"""Determinism: the same recording, model and scorecard give byte-identical transcripts, scores
and evidence, run after run — in one process (whatever was transcribed in between) and in
separate ``qa run`` processes with different hash seeds, worker counts, inference threads and
BLAS threads.

The two sample calls cover the paths most likely to drift: a stereo μ-law call with hold music
(hold etiquette, silences) and a mono MP3 whose speakers are told apart by inference.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from qa_pipeline.pipeline import transcribe_call
from qa_pipeline.scorecard import load_scorecard
from qa_pipeline.scoring import score_transcript
from qa_pipeline.store import Store, schema

ROOT = Path(__file__).resolve().parent.parent
RECORDINGS = ROOT / "samples" / "recordings"
SCORECARD = ROOT / "scorecards" / "default.en.yaml"
CALLS = {"call-001": "call-001.wav", "call-004": "call-004.mp3"}

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def recordings(tmp_path_factory) -> Path:
    """The two sample calls and their manifest rows, in a folder of their own."""
    folder = tmp_path_factory.mktemp("determinism") / "recordings"
    folder.mkdir()
    with (RECORDINGS / "calls.csv").open(newline="", encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["call_id"] in CALLS]
    with (folder / "calls.csv").open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    for name in CALLS.values():
        shutil.copyfile(RECORDINGS / name, folder / name)
    return folder


def _documents(folder: Path, engine, card) -> dict[str, tuple[str, str]]:
    out = {}
    for call_id, name in CALLS.items():
        transcript = transcribe_call(folder / name, engine, call_id=call_id, cache=None)
        out[call_id] = (transcript.to_json(), score_transcript(transcript, card).to_json())
    return out


@pytest.fixture(scope="module")
def in_process(recordings: Path, fw_engine) -> dict[str, tuple[str, str]]:
    return _documents(recordings, fw_engine, load_scorecard(SCORECARD))


def test_twice_in_one_process_is_byte_identical(recordings: Path, fw_engine, in_process) -> None:
    # A second scorecard object (phrase sets compiled again) and the calls in the other order,
    # so nothing a first pass leaves behind in the engine or the scorer can go unnoticed.
    card = load_scorecard(SCORECARD)
    again = {}
    for call_id, name in reversed(list(CALLS.items())):
        transcript = transcribe_call(recordings / name, fw_engine, call_id=call_id, cache=None)
        again[call_id] = (transcript.to_json(), score_transcript(transcript, card).to_json())
    assert again == in_process
    # Not a comparison of empty documents: words, verdicts and quoted evidence are there.
    verdicts = set()
    for transcript_json, score_json in in_process.values():
        assert json.loads(transcript_json)["turns"]
        score = json.loads(score_json)
        assert any(e["text"] for c in score["criteria"] for e in c["evidence"])
        verdicts |= {c["verdict"] for c in score["criteria"]}
    assert verdicts == {"pass", "fail", "na"}


def _qa_run(recordings: Path, db: Path, seed: str, workers: int, blas_threads: str) -> None:
    env = dict(os.environ)
    env["OMP_NUM_THREADS"] = env["OPENBLAS_NUM_THREADS"] = blas_threads
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env["PYTHONHASHSEED"] = seed  # set and dict orders differ between the two processes
    cmd = [
        sys.executable, "-m", "qa_pipeline.cli.main", "run", str(recordings), "--db", str(db), "--scorecard", str(SCORECARD),
        "--no-cache", "--no-report", "--logs", str(db.parent / f"logs-{db.stem}"), "--workers", str(workers),
    ]
    done = subprocess.run(cmd, cwd=db.parent, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr


# Everything a run stores about a call's results except row ids and wall-clock times.
RESULT_COLUMNS = {
    schema.transcripts: ("engine", "model", "language", "options", "content_sha256", "transcript"),
    schema.characteristics: ("scorecard_hash", "data"),
    schema.call_scores: ("scorecard_name", "scorecard_hash", "language", "total", "points", "max_points", "auto_failed",
                         "auto_failed_by", "roles_inferred", "scoring_version"),
    schema.criterion_results: ("scorecard_hash", "criterion_id", "position", "title", "type", "verdict", "points", "max_points",
                               "credit", "critical", "reason", "evidence", "missing", "roles_inferred"),
}


def _stored(db: Path) -> dict[str, list[tuple]]:
    out = {}
    with Store.open(db, create=False) as store, store.engine.connect() as conn:
        c = schema.calls.c
        for table, columns in RESULT_COLUMNS.items():
            query = (
                select(c.call_id, *(table.c[name] for name in columns))
                .join(schema.calls, c.id == table.c.call_pk)
                .order_by(c.call_id, *((table.c.position,) if "position" in columns else ()))
            )
            out[table.name] = [tuple(row) for row in conn.execute(query)]
        out["calls"] = [tuple(r) for r in conn.execute(select(c.call_id, c.status, c.duration_s, c.roles_source, c.roles_method, c.roles_confidence).order_by(c.call_id))]
    return out


def test_two_separate_runs_store_byte_identical_results(recordings: Path, tmp_path: Path, in_process) -> None:
    # One worker using every core against two workers of one thread each: a different hash
    # seed, process layout and thread count for the same recordings, model and scorecard.
    # The first starts as Ray's workers and many batch schedulers start a process, with
    # OMP_NUM_THREADS=1 (numpy's BLAS on one thread), the second with three BLAS threads:
    # OpenBLAS's float32 products differ in their last bits between the two, and recognition's
    # features and scoring's similarities must not follow them.
    _qa_run(recordings, tmp_path / "first.db", "1", workers=1, blas_threads="1")
    _qa_run(recordings, tmp_path / "second.db", "2", workers=2, blas_threads="3")
    first, second = _stored(tmp_path / "first.db"), _stored(tmp_path / "second.db")
    assert len(first["criterion_results"]) == len(CALLS) * len(load_scorecard(SCORECARD).criteria)
    assert [r[0] for r in first["calls"]] == sorted(CALLS) and {r[1] for r in first["calls"]} == {"ok"}
    for table in first:
        assert first[table] == second[table], table
    # The batch stores what the library computes: the same score documents, byte for byte.
    with Store.open(tmp_path / "second.db", create=False) as store:
        for call_id, (_, score_json) in in_process.items():
            assert store.score(call_id).to_json() == score_json
