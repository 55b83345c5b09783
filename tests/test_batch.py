"""The batch on real recordings and a real database: bad files, SIGKILL, concurrent runs,
re-runs, re-scoring.

The robustness tests take a ``db_url`` fixture; ``test_batch_postgres.py`` runs the same
tests against a PostgreSQL server.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from dataclasses import replace
from datetime import date
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.exc import SQLAlchemyError

from batch_fixtures import CARD, N_CRITERIA, audio, batch_options, db_url, log_events, run_cli, stored_rows  # noqa: F401 - fixtures
from batch_support import (
    SAMPLES,
    SCORECARD,
    bad_calls,
    good_calls,
    kill_group,
    manifest_row,
    qa_run_command,
    revised_scorecard,
    sample_rows,
    subprocess_env,
    wait_for,
    worker_pids,
    write_manifest,
)
from qa_pipeline.batch import Action, plan_run, run_batch
from qa_pipeline.lock import run_lock
from qa_pipeline.scorecard import load_scorecard
from qa_pipeline.store import ErrorKind, RunStatus, Store, database_url


def _base_args(db_url: str, cache: Path) -> list[str]:
    return ["--db", db_url, "--scorecard", str(SCORECARD), "--cache-dir", str(cache), "--no-report"]


def _assert_no_partial_rows(store: Store) -> None:
    """Every ok call has exactly one transcript, one score and a full set of verdicts."""
    with store.engine.connect() as conn:
        per_call = conn.execute(
            text(
                "SELECT c.call_id, c.status,"
                " (SELECT COUNT(*) FROM transcripts t WHERE t.call_pk = c.id),"
                " (SELECT COUNT(*) FROM call_scores s WHERE s.call_pk = c.id),"
                " (SELECT COUNT(*) FROM criterion_results r WHERE r.call_pk = c.id) FROM calls c"
            )
        ).all()
    for call_id, status, transcripts, scores, verdicts in per_call:
        expected = (1, 1, N_CRITERIA) if status == "ok" else (0, 0, 0)
        assert (transcripts, scores, verdicts) == expected, call_id


# --------------------------------------------------------------------------- robustness
def test_bad_recordings_fail_alone_and_nothing_is_lost(db_url: str, audio, tmp_path: Path, monkeypatch) -> None:
    rec = tmp_path / "rec"
    rows = good_calls(rec, audio.clips, ("call-001", "call-002"))
    expected = bad_calls(rec, audio.clips)
    rows += [manifest_row(name, Path(name).stem) for name in expected]
    write_manifest(rec, rows)
    shutil.copyfile(audio.clips / "call-003.wav", rec / "stray.wav")  # not in the manifest: no agent
    monkeypatch.chdir(tmp_path)

    result = run_cli("rec", *_base_args(db_url, audio.cache))
    assert result.exit_code == 1, result.output
    assert f"{len(expected) + 1} call(s) failed:" in result.stderr
    for name, phrase in expected.items():
        line = next(x for x in result.stderr.splitlines() if x.strip().startswith(f"{rec / name}: "))
        assert phrase in line, line
    assert f"{rec / 'stray.wav'}: no agent for this call" in result.stderr

    with Store.open(db_url) as store:
        failures = {Path(f.path).name: f for f in store.failures(None)}
        assert set(failures) == set(expected) | {"stray.wav"}
        for name, phrase in expected.items():
            assert phrase in failures[name].error and failures[name].error.startswith(str(rec / name))
            assert failures[name].error_kind is ErrorKind.AUDIO
        assert failures["stray.wav"].error_kind is ErrorKind.METADATA
        assert stored_rows(store) == {"calls": 11, "calls_ok": 2, "calls_failed": 9, "transcripts": 2, "call_scores": 2,
                                      "criterion_results": 2 * N_CRITERIA}
        _assert_no_partial_rows(store)
        calls, _ = store.load_frames()
        assert sorted(calls["call_id"]) == ["call-001", "call-002"]
        [run] = store.runs()
        assert run.status is RunStatus.FAILED and (run.counts.succeeded, run.counts.failed) == (2, 9)
        # Both good calls came from the transcript cache: the summary does not call them transcribed.
        assert run.counts.from_cache == 2
        assert "(7 transcribed, 2 from the transcript cache, 0 re-scored)" in result.stdout
        events = log_events(run.log_path)
        assert events[0]["event"] == "run_start" and events[-1]["event"] == "run_end"
        logged = {Path(e["path"]).name: e for e in events if e["event"] == "call"}
        assert logged["truncated.wav"]["status"] == "failed" and "truncated" in logged["truncated.wav"]["error"]
        assert logged["call-001.wav"]["status"] == "ok" and logged["call-001.wav"]["timings"]["cached"]

    # The same folder again: the failures are known, nothing new happens, exit 0.
    started = time.perf_counter()
    again = run_cli("rec", *_base_args(db_url, audio.cache))
    assert again.exit_code == 0, again.output
    assert time.perf_counter() - started < 10
    assert "11 call(s) found, 11 skipped (2 already done, 9 failed before); 0 processed" in again.stdout
    with Store.open(db_url) as store:
        latest = store.runs()[0]
        assert latest.counts.transcribed == 0 and latest.counts.skipped == 11 and latest.status is RunStatus.OK
        assert not [e for e in log_events(latest.log_path) if e["event"] == "call"]
        assert stored_rows(store)["calls"] == 11

    retry = run_cli("rec", *_base_args(db_url, audio.cache), "--retry-failed", "--dry-run")
    assert retry.exit_code == 0, retry.output
    assert "would transcribe 7, re-score 0, record 2 failure(s), skip 2 (2 already done)" in retry.stdout


def _scalar(engine, sql: str):
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql)).scalar()
    except SQLAlchemyError:
        return None  # not created yet


def test_sigkill_mid_run_then_rerun_scores_every_call_once(db_url: str, audio, tmp_path: Path) -> None:
    rec = tmp_path / "rec"
    write_manifest(rec, good_calls(rec, audio.clips))
    # call-002 and call-003 are not cached: whichever call is committed first, the run is still
    # transcribing another when it is stopped.
    uncached = ("call-002", "call-003")
    cache = audio.cache_without(uncached, tmp_path / "cache")
    cmd = qa_run_command(rec, db_url, cache)
    env = subprocess_env()
    engine = create_engine(database_url(db_url))
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        wait_for(lambda: (_scalar(engine, "SELECT COUNT(*) FROM calls WHERE status = 'ok'") or 0) >= 1, 120,
                 "the first call to be committed", proc)
        # Frozen mid-run, still holding the store: however fast the second process starts, the
        # first cannot finish meanwhile.
        os.killpg(proc.pid, signal.SIGSTOP)
        second = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
        assert second.returncode == 2, second.stderr
        assert "Error: " in second.stderr and "another qa run is using this store" in second.stderr
        kill_group(proc)
    finally:
        if proc.poll() is None:
            kill_group(proc)
        proc.communicate()

    with Store.open(db_url) as store:
        committed = stored_rows(store)["calls_ok"]
        assert 1 <= committed < 3
        _assert_no_partial_rows(store)
        assert store.runs()[0].status is RunStatus.RUNNING  # killed: nobody closed it

    audio.restore(uncached, cache)
    rerun = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    with Store.open(db_url) as store:
        assert stored_rows(store) == {"calls": 3, "calls_ok": 3, "calls_failed": 0, "transcripts": 3, "call_scores": 3,
                                      "criterion_results": 3 * N_CRITERIA}
        _assert_no_partial_rows(store)
        latest, killed = store.runs()[:2]
        assert killed.status is RunStatus.INTERRUPTED
        # What the killed run found, and the calls it stored, not zeros.
        assert (killed.counts.discovered, killed.counts.succeeded, killed.counts.failed) == (3, committed, 0)
        assert latest.status is RunStatus.OK
        assert (latest.counts.transcribed, latest.counts.skipped) == (3 - committed, committed)

    # Nothing new: no transcription, done in seconds (most of it Python starting up).
    started = time.perf_counter()
    idle = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    elapsed = time.perf_counter() - started
    assert idle.returncode == 0, idle.stderr
    assert elapsed < 15, elapsed
    with Store.open(db_url) as store:
        latest = store.runs()[0]
        assert latest.counts.transcribed == 0 and latest.counts.rescored == 0 and latest.counts.skipped == 3
        assert latest.wall_seconds < 5
        assert [e["event"] for e in log_events(latest.log_path)] == ["run_start", "plan", "run_end"]
        assert stored_rows(store)["call_scores"] == 3
    engine.dispose()


def test_a_worker_killed_mid_call_is_replaced_and_the_call_retried(audio, tmp_path: Path) -> None:
    rec = tmp_path / "rec"
    rows = good_calls(rec, audio.clips, ("call-001",))
    shutil.copyfile(SAMPLES / "call-005.wav", rec / "call-005.wav")  # long and not cached: still busy when killed
    write_manifest(rec, rows + [dict(sample_rows()["call-005"], file="call-005.wav")])
    db = str(tmp_path / "qa.db")
    engine = create_engine(database_url(db))
    proc = subprocess.Popen(qa_run_command(rec, db, audio.cache), cwd=tmp_path, env=subprocess_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        wait_for(lambda: (_scalar(engine, "SELECT COUNT(*) FROM calls WHERE status = 'ok'") or 0) >= 1, 120,
                 "the first call to be committed", proc)
        [worker] = worker_pids(proc.pid)
        os.kill(worker, signal.SIGKILL)  # as the kernel's out-of-memory killer would
        out, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            kill_group(proc)
    assert proc.returncode == 0, err
    with Store.open(db) as store:
        assert stored_rows(store) == {"calls": 2, "calls_ok": 2, "calls_failed": 0, "transcripts": 2, "call_scores": 2,
                                      "criterion_results": 2 * N_CRITERIA}
        events = log_events(store.runs()[0].log_path)
    assert any(e["event"] == "log" and "worker process died" in e["message"] for e in events)
    engine.dispose()


def test_a_second_run_on_a_locked_store_exits_2(db_url: str, tmp_path: Path, monkeypatch) -> None:
    rec = tmp_path / "rec"
    rec.mkdir()
    monkeypatch.chdir(tmp_path)
    with Store.open(db_url) as store, run_lock(store):
        result = run_cli("rec", *_base_args(db_url, tmp_path / "cache"))
        assert result.exit_code == 2, result.output
        assert result.stderr.startswith("Error: ") and "another qa run is using this store" in result.stderr
    with Store.open(db_url) as store:
        assert store.runs() == []
    result = run_cli("rec", *_base_args(db_url, tmp_path / "cache"))
    assert result.exit_code == 0, result.output  # released: an empty folder is a clean run


def test_rescore_after_a_scorecard_change_keeps_history(db_url: str, audio, tmp_path: Path, monkeypatch) -> None:
    rec = tmp_path / "rec"
    write_manifest(rec, good_calls(rec, audio.clips, ("call-001", "call-003")))
    monkeypatch.chdir(tmp_path)
    first = run_cli("rec", *_base_args(db_url, audio.cache))
    assert first.exit_code == 0, first.output
    changed = tmp_path / "card.yaml"
    _, new_title = revised_scorecard(changed)
    new_hash = load_scorecard(changed).content_hash
    assert new_hash != CARD.content_hash

    rescored = run_cli("--rescore", "--db", db_url, "--scorecard", str(changed), "--no-report")
    assert rescored.exit_code == 0, rescored.output
    assert "0 transcribed, 2 re-scored" in rescored.stdout
    with Store.open(db_url) as store:
        assert stored_rows(store)["call_scores"] == 4 and stored_rows(store)["transcripts"] == 2
        calls, criteria = store.load_frames()
        assert set(calls["scorecard_hash"]) == {new_hash} and new_title in set(criteria["criterion_title"])
        assert store.runs()[0].counts.rescored == 2 and store.runs()[0].counts.transcribed == 0

    for card in (changed, SCORECARD):  # both scorecards' scores are kept: nothing to do for either
        idle = run_cli("rec", "--db", db_url, "--scorecard", str(card), "--cache-dir", str(audio.cache), "--no-report")
        assert idle.exit_code == 0 and "2 skipped (2 already done); 0 processed" in idle.stdout, idle.output


# --------------------------------------------------------------------------- planning (SQLite only)
def test_plan_follows_renames_duplicates_metadata_since_and_limit(audio, tmp_path: Path) -> None:
    rec = tmp_path / "rec"
    write_manifest(rec, good_calls(rec, audio.clips, ("call-001", "call-002")))
    opts = batch_options(rec, tmp_path, audio.cache)
    with Store.open(tmp_path / "qa.db") as store:
        assert run_batch(store, opts).counts.transcribed == 2
        # Renamed file, corrected agent, and a copy of the same audio under a new call id.
        (rec / "call-001.wav").rename(rec / "renamed.wav")
        shutil.copyfile(rec / "call-002.wav", rec / "copy.wav")
        write_manifest(rec, [manifest_row("renamed.wav", "call-001", agent="A55"), manifest_row("call-002.wav", "call-002"),
                             manifest_row("copy.wav", "copy-of-2")])
        plan = plan_run(store, opts, CARD.content_hash)
        reasons = {c.meta.call_id: (c.action, c.reason) for c in plan.calls}
        assert reasons["call-001"] == (Action.SKIP, "already done")
        assert reasons["copy-of-2"][0] is Action.SKIP and reasons["copy-of-2"][1].startswith("same audio as")
        summary = run_batch(store, opts)
        assert summary.counts.transcribed == 0 and summary.status is RunStatus.OK
        calls, _ = store.load_frames()
        row = calls.set_index("call_id").loc["call-001"]
        assert row["agent_id"] == "A55" and row["audio_path"] == str((rec / "renamed.wav").resolve())

        shutil.copyfile(audio.clips / "call-003.wav", rec / "new.wav")
        write_manifest(rec, [manifest_row("renamed.wav", "call-001", agent="A55"), manifest_row("call-002.wav", "call-002"),
                             manifest_row("new.wav", "new", started_at="2024-04-02T08:00:00")])
        dry = run_batch(store, replace(opts, dry_run=True))
        assert dry.dry_run and [c.meta.call_id for c in dry.plan.of(Action.TRANSCRIBE)] == ["new"]
        assert store.counts()["runs"] == 2  # a dry run writes nothing
        late = plan_run(store, replace(opts, since=date(2024, 4, 3)), CARD.content_hash)
        assert not late.of(Action.TRANSCRIBE)
        assert late.skipped_by_reason() == {"started before": 3, "same audio as": 1}  # copy.wav: still a copy
        limited = plan_run(store, replace(opts, limit=0), CARD.content_hash)
        assert limited.skipped_by_reason()["beyond --limit"] == 1


def test_usage_errors_exit_2(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "rec").mkdir()
    # Without --scorecard the project's default scorecard is used.
    result = run_cli("rec", "--dry-run")
    assert result.exit_code == 0 and "Dry run: 0 call(s) found" in result.stdout
    result = run_cli("--scorecard", str(SCORECARD))
    assert result.exit_code == 2 and "no recordings folder" in result.stderr
    result = run_cli("rec", "--scorecard", str(tmp_path / "nope.yaml"))
    assert result.exit_code == 2 and "nope.yaml: scorecard file not found" in result.stderr
    (tmp_path / "qa.toml").write_text("workers = 'many'\n", encoding="utf-8")
    result = run_cli("rec", "--scorecard", str(SCORECARD))
    assert result.exit_code == 2 and "workers = 'many' is not valid (expected a whole number)" in result.stderr
    (tmp_path / "qa.toml").unlink()
    result = run_cli(str(tmp_path / "missing"), "--scorecard", str(SCORECARD), "--no-report")
    assert result.exit_code == 2 and "missing: no such recordings folder" in result.stderr
    result = run_cli("rec", "--scorecard", str(SCORECARD), "--dry-run")
    assert result.exit_code == 0 and "Dry run: 0 call(s) found" in result.stdout
    assert not (tmp_path / "qa.db").exists()
    # Everything from qa.toml: no arguments at all.
    (tmp_path / "qa.toml").write_text(f'recordings = "rec"\nscorecard = "{SCORECARD}"\n[transcribe]\nvad = "no"\n', encoding="utf-8")
    result = run_cli("--dry-run")
    assert result.exit_code == 2 and "qa.toml: [transcribe] vad = 'no' is not valid (expected true or false)" in result.stderr
    (tmp_path / "qa.toml").write_text(f'recordings = "rec"\nscorecard = "{SCORECARD}"\n[transcribe]\nbeam_size = 0\n', encoding="utf-8")
    result = run_cli("--dry-run")
    assert result.exit_code == 2 and "[transcribe] beam_size = 0 is not valid (expected at least 1)" in result.stderr  # the file's value is used…
    assert run_cli("--dry-run", "--beam-size", "2").exit_code == 0  # …unless a flag overrides it
    (tmp_path / "qa.toml").write_text(f'recordings = "rec"\nscorecard = "{SCORECARD}"\n[transcribe]\nvad = false\n', encoding="utf-8")
    result = run_cli("--dry-run")
    assert result.exit_code == 0 and "Dry run: 0 call(s) found" in result.stdout
