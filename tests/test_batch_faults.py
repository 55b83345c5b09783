"""The batch under faults: duplicate call ids, broken manifests, its own output inside the
recordings folder, files that are not regular files, folders it cannot write, a killed run,
workers whose parent dies.

Recordings are the session's cached clips, so no test here runs the recogniser.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from batch_fixtures import CARD, audio, batch_options, run_cli  # noqa: F401 - fixtures
from batch_support import (
    SAMPLES,
    SCORECARD,
    good_calls,
    manifest_row,
    qa_run_command,
    sample_rows,
    subprocess_env,
    wait_for,
    worker_pids,
    write_manifest,
)
from qa_pipeline.batch import Action, plan_run, run_batch
from qa_pipeline.store import ErrorKind, RunStatus, Store


def _stored(store: Store) -> dict[str, tuple]:
    calls, _ = store.load_frames()
    return {r.call_id: (r.audio_path, r.call_score) for r in calls.itertuples()}


# --------------------------------------------------------------------------- duplicate call ids
def test_a_duplicate_call_id_fails_the_later_file_and_never_touches_the_stored_call(audio, tmp_path: Path) -> None:
    rec = tmp_path / "rec"
    good_calls(rec, audio.clips, ("call-001", "call-002"))
    write_manifest(rec, [manifest_row("call-001.wav", "X1"), manifest_row("call-002.wav", "X1")])
    first, second = (rec / "call-001.wav").resolve(), (rec / "call-002.wav").resolve()
    with Store.open(tmp_path / "qa.db") as store:
        stored = None
        for attempt in range(3):
            summary = run_batch(store, batch_options(rec, tmp_path, audio.cache))
            # The same outcome every run: the first file scored once, the second refused.
            assert summary.status is RunStatus.FAILED, attempt
            [failure] = summary.failures
            assert failure.path == str(second) and failure.error_kind is ErrorKind.METADATA
            assert failure.error == f"{second}: call_id 'X1' is already used by {first}; give each recording its own call_id"
            assert summary.counts.transcribed == (1 if attempt == 0 else 0), attempt
            now = _stored(store)
            assert list(now) == ["X1"] and now["X1"][0] == str(first) and now["X1"][1] is not None
            assert stored is None or now == stored
            stored = now
            [row] = [k for k in store.known_calls(CARD.content_hash) if k.call_id == "X1"]
            assert row.status.value == "ok" and row.path == str(first)
        assert store.failures(None) == []  # the refusal is reported, never stored over the call
        # ... and kept beside the calls, once however many runs refused the file.
        [refused] = store.rejections(None)
        assert (refused.call_id, refused.path, refused.error) == ("X1", str(second), failure.error)

    from qa_pipeline.cli.status import app as status_app

    shown = CliRunner().invoke(status_app, ["status", "--db", str(tmp_path / "qa.db"), "--json"])
    assert shown.exit_code == 0, shown.output
    assert [(f["call_id"], f["path"]) for f in json.loads(shown.stdout)["not_stored"]] == [("X1", str(second))]
    shown = CliRunner().invoke(status_app, ["status", "--db", str(tmp_path / "qa.db")], env={"COLUMNS": "400"})
    assert "Recordings the last run could not store (1)" in shown.stdout and "is already used by" in shown.stdout

    # Given its own call id, the file is scored and no longer listed.
    write_manifest(rec, [manifest_row("call-001.wav", "X1"), manifest_row("call-002.wav", "X2")])
    with Store.open(tmp_path / "qa.db") as store:
        assert run_batch(store, batch_options(rec, tmp_path, audio.cache)).status is RunStatus.OK
        assert store.rejections(None) == []


def test_the_stored_owner_of_a_call_id_keeps_it_when_a_new_file_claims_it(audio, tmp_path: Path) -> None:
    rec = tmp_path / "rec"
    good_calls(rec, audio.clips, ("call-002",))
    write_manifest(rec, [manifest_row("call-002.wav", "X1")])
    opts = batch_options(rec, tmp_path, audio.cache)
    with Store.open(tmp_path / "qa.db") as store:
        assert run_batch(store, opts).status is RunStatus.OK
        # A file sorting before the stored one now claims the same call id.
        shutil.copyfile(audio.clips / "call-001.wav", rec / "a-new.wav")
        write_manifest(rec, [manifest_row("a-new.wav", "X1"), manifest_row("call-002.wav", "X1")])
        plan = {c.meta.path.name: c for c in plan_run(store, opts, CARD.content_hash).calls}
        assert plan["call-002.wav"].action is Action.SKIP and plan["call-002.wav"].reason == "already done"
        assert plan["a-new.wav"].action is Action.FAIL and not plan["a-new.wav"].record
        assert "call_id 'X1' is already used by" in plan["a-new.wav"].error


# --------------------------------------------------------------------------- manifests
def test_a_manifest_syntax_error_stops_the_run_naming_file_and_line(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    rec = tmp_path / "rec"
    rec.mkdir()
    (rec / "calls.csv").write_text(
        'file,call_id,agent_id\na.wav,"a1,A1\nb.wav,b1,B1\nc.wav,c1,C1\n', encoding="utf-8"
    )
    result = run_cli("rec", "--scorecard", str(SCORECARD), "--db", str(tmp_path / "qa.db"), "--no-report")
    assert result.exit_code == 2, result.output
    manifest = (rec / "calls.csv").resolve()
    assert result.stderr.startswith(f"Error: {manifest}:2: a quoted field opened on line 2 is never closed")


# --------------------------------------------------------------------------- the run's own output
def test_output_folders_inside_the_recordings_folder_are_never_read_as_recordings(audio, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    good_calls(tmp_path, audio.clips, ("call-001",))
    write_manifest(tmp_path, [manifest_row("call-001.wav", "c1")])
    for folder in ("reports/audio", "logs", "cache", "redacted", "elsewhere"):
        (tmp_path / folder).mkdir(parents=True)
        shutil.copyfile(audio.clips / "call-002.wav", tmp_path / folder / "copy.wav")
    result = run_cli(".", "--scorecard", str(SCORECARD), "--db", "qa.db", "--cache-dir", "cache", "--logs", "logs",
                  "--redact-audio", "redacted", "--dry-run")
    assert result.exit_code == 0, result.output
    listed = sorted(line.split()[1] for line in result.stdout.splitlines()[1:])
    assert listed == [str((tmp_path / p).resolve()) for p in ("call-001.wav", "elsewhere/copy.wav")], result.stdout


# --------------------------------------------------------------------------- files that are not regular files
def test_fifos_and_links_to_devices_are_skipped_and_said_so(audio, tmp_path: Path) -> None:
    rec = tmp_path / "rec"
    good_calls(rec, audio.clips, ("call-001",))
    os.mkfifo(rec / "pipe.wav")
    (rec / "zero.wav").symlink_to("/dev/zero")
    (rec / "gone.wav").symlink_to(rec / "no-such-file.wav")
    write_manifest(rec, [manifest_row("call-001.wav", "c1")])
    result = run_cli(str(rec), "--scorecard", str(SCORECARD), "--db", str(tmp_path / "qa.db"), "--cache-dir", str(audio.cache),
                  "--logs", str(tmp_path / "logs"), "--no-report")
    assert result.exit_code == 0, result.output
    assert "1 call(s) found" in result.stdout
    assert f"Skipped {rec.resolve() / 'pipe.wav'}: not a regular file: FIFO" in result.stderr
    assert f"Skipped {rec.resolve() / 'zero.wav'}: not a regular file: character device (a link to one)" in result.stderr
    assert f"Skipped {rec.resolve() / 'gone.wav'}: not a regular file (a broken link" in result.stderr
    log = next((tmp_path / "logs").glob("run-*.jsonl")).read_text(encoding="utf-8")
    assert "pipe.wav: skipped: not a regular file: FIFO" in log


# --------------------------------------------------------------------------- folders it cannot write
def test_calls_are_stored_when_reports_and_logs_cannot_be_written(audio, tmp_path: Path) -> None:
    rec = tmp_path / "rec"
    write_manifest(rec, good_calls(rec, audio.clips, ("call-001", "call-003")))
    # Files where the folders should be: unwritable even for root, which ignores permissions.
    (tmp_path / "reports").write_text("not a folder", encoding="utf-8")
    (tmp_path / "logs").write_text("not a folder", encoding="utf-8")
    db = tmp_path / "qa.db"
    result = run_cli(str(rec), "--scorecard", str(SCORECARD), "--db", str(db), "--cache-dir", str(audio.cache),
                  "--reports", str(tmp_path / "reports"), "--logs", str(tmp_path / "logs"))
    assert result.exit_code == 1, result.output
    assert "2 processed: 2 ok, 0 failed" in result.stdout
    assert "Traceback" not in result.output
    assert f"Error: {tmp_path / 'reports' / 'transcripts'}: cannot write transcript copies (" in result.stderr
    assert "cannot write the run log (" in result.stderr
    assert "Error: reports not refreshed: " in result.stderr
    with Store.open(db, create=False) as store:
        assert len(_stored(store)) == 2 and all(score is not None for _, score in _stored(store).values())
        [run] = store.runs()
        assert run.status is RunStatus.FAILED and run.counts.succeeded == 2
        assert "cannot write transcript copies" in run.error and "reports not refreshed" in run.error
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_a_page_that_cannot_be_written_leaves_no_partial_file(tmp_path: Path) -> None:
    import resource
    import signal

    from qa_pipeline.errors import ReportError
    from qa_pipeline.report.render import _write

    # A file-size limit stands in for a full disk: writes past it fail with EFBIG.
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, hard))
    try:
        with pytest.raises(ReportError, match=r"cannot write .*index\.html: File too large"):
            _write(tmp_path / "index.html", "<p>page</p>" * 10_000)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- terminal output
def test_control_characters_in_ids_and_file_names_are_shown_escaped(tmp_path: Path, monkeypatch) -> None:
    from qa_pipeline.cli.status import app as status_app

    monkeypatch.setenv("COLUMNS", "400")
    rec = tmp_path / "rec"
    rec.mkdir()
    (rec / "bad\x1b[2J.wav").write_bytes(b"")  # empty: fails while planning, no worker needed
    write_manifest(rec, [manifest_row("bad\x1b[2J.wav", "call\x1b]0;pwned\x07", agent="A\x1b[31m9")])
    db = str(tmp_path / "qa.db")
    result = run_cli(str(rec), "--scorecard", str(SCORECARD), "--db", db, "--no-report", "--logs", str(tmp_path / "logs"))
    assert result.exit_code == 1, result.output
    assert "\x1b" not in result.output and "\x07" not in result.output
    assert "bad\\x1b[2J.wav: empty file (0 bytes)" in result.stderr
    shown = CliRunner().invoke(status_app, ["status", "--db", db])
    assert shown.exit_code == 0, shown.output
    assert "\x1b" not in shown.stdout and "\x07" not in shown.stdout
    assert "call\\x1b]0;pwned\\x07" in shown.stdout and "bad\\x1b[2J.wav" in shown.stdout


# --------------------------------------------------------------------------- workers of a killed run
def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"  # a zombie has ended; only its parent (now init) has yet to reap it


def _end(pids: list[int]) -> None:
    for pid in pids:
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)


@pytest.mark.e2e
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_workers_end_when_qa_run_is_killed(audio, tmp_path: Path) -> None:
    rec = tmp_path / "rec"
    rows = good_calls(rec, audio.clips, ("call-001",))
    shutil.copyfile(SAMPLES / "call-005.wav", rec / "call-005.wav")  # long and not cached: the worker is busy
    write_manifest(rec, rows + [dict(sample_rows()["call-005"], file="call-005.wav")])
    proc = subprocess.Popen(qa_run_command(rec, str(tmp_path / "qa.db"), audio.cache), cwd=tmp_path, env=subprocess_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    workers: list[int] = []
    try:
        wait_for(lambda: bool(workers.extend(worker_pids(proc.pid)) or workers), 120, "a worker to start", proc)
        os.kill(proc.pid, signal.SIGKILL)  # the parent alone, as a scheduler's timeout would
        proc.wait(timeout=30)
        wait_for(lambda: not any(_alive(pid) for pid in workers), 60, "the orphaned workers to end")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
        _end(workers)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_the_watchdog_alone_ends_a_pool_worker_whose_parent_died(tmp_path: Path) -> None:
    # Without the kernel's parent-death signal (other systems): the watchdog thread must do it.
    parent = textwrap.dedent("""
        import multiprocessing as mp, os, sys, time
        from concurrent.futures import ProcessPoolExecutor
        from qa_pipeline.executors.lifeline import die_with_parent

        if __name__ == "__main__":
            pool = ProcessPoolExecutor(1, mp_context=mp.get_context("spawn"), initializer=die_with_parent,
                                       initargs=(os.getpid(), False, 0.1))
            print(pool.submit(os.getpid).result(), flush=True)
            pool.submit(time.sleep, 600)
            time.sleep(600)
    """)
    script = tmp_path / "parent.py"
    script.write_text(parent, encoding="utf-8")
    proc = subprocess.Popen([sys.executable, str(script)], env=subprocess_env(), stdout=subprocess.PIPE, text=True,
                            start_new_session=True)
    worker = 0
    try:
        worker = int(proc.stdout.readline())
        assert _alive(worker)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        wait_for(lambda: not _alive(worker), 60, "the orphaned worker to end")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
        if worker:
            _end([worker])


def test_an_output_folder_holding_the_recordings_folder_hides_nothing(audio, tmp_path: Path) -> None:
    rec = tmp_path / "rec"
    write_manifest(rec, good_calls(rec, audio.clips, ("call-001",)))
    with Store.open(tmp_path / "qa.db") as store:
        for folder in (rec, tmp_path):  # --logs . inside the recordings, or a log folder above them
            plan = plan_run(store, batch_options(rec, tmp_path, audio.cache, log_dir=folder), CARD.content_hash)
            assert [c.meta.call_id for c in plan.calls] == ["call-001"], folder
