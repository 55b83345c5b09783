"""The batch on Ray workers (``--executor ray``): the same stored results as local workers,
idempotent re-runs, workers killed in the middle of a call.

Needs Ray (``pip install 'qa-pipeline[ray]'``); those tests are skipped without it. The
in-process tests share one local cluster of 2 CPUs; the command-line test runs ``qa run`` as
a separate process, which starts and stops a cluster of its own. Workers are killed with
SIGKILL from outside, as the out-of-memory killer would.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from batch_fixtures import CARD, N_CRITERIA, audio, batch_options, log_events, stored_rows  # noqa: F401 - fixtures
from batch_support import (
    SCORECARD,
    good_calls,
    postgres_database,
    postgres_server,
    sample_rows,
    subprocess_env,
    write_manifest,
)
from qa_pipeline.batch import BatchOptions, run_batch
from qa_pipeline.cli.run import app as run_app
from qa_pipeline.errors import ConfigError
from qa_pipeline.executors.ray_cluster import ActorShape, NodeCapacity, plan_actors
from qa_pipeline.scorecard import load_scorecard
from qa_pipeline.store import ErrorKind, RunStatus, Store

HAVE_RAY = importlib.util.find_spec("ray") is not None
needs_ray = pytest.mark.skipif(not HAVE_RAY, reason="Ray is not installed (pip install 'qa-pipeline[ray]')")


@pytest.fixture(scope="module")
def ray_cluster():
    """A local Ray cluster of 2 CPUs for this module; the runs reuse the connection."""
    import ray

    started = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
    print(f"\nray.init(num_cpus=2): {time.perf_counter() - started:.1f}s")
    yield ray
    ray.shutdown()


def _options(rec: Path, cache: Path, tmp_path: Path, **changes) -> BatchOptions:
    return batch_options(rec, tmp_path, cache, **{"workers": 2, "executor": "ray", **changes})


def _stored_bytes(store: Store) -> dict[str, tuple[str, str]]:
    """Each call's stored transcript and score documents, byte for byte."""
    return {
        k.call_id: (store.transcript_json(k.pk), store.score(k.call_id).to_json())
        for k in store.known_calls(CARD.content_hash)
    }


def _stored_scores(store: Store) -> tuple[list, list]:
    calls, criteria = store.load_frames()
    per_call = sorted(calls[["call_id", "call_score", "duration_s", "critical_failed"]].itertuples(index=False, name=None))
    per_criterion = sorted(
        (r.call_id, r.criterion_id, r.verdict, r.points, json.dumps(r.evidence, sort_keys=True, default=str))
        for r in criteria.itertuples(index=False)
    )
    return per_call, per_criterion


# --------------------------------------------------------------------------- workers killed from outside
def _worker_pids(busy: bool = False) -> set[int]:
    """Pids of this project's Ray workers; ``busy``: only those in a call (Ray titles an
    actor's process by the method it runs)."""
    title = b"ray::QACallWorker.process" if busy else b"ray::QACallWorker"
    pids = set()
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            raw = cmdline.read_bytes()
        except OSError:
            continue  # ended while we looked
        if raw.startswith(title):
            pids.add(int(cmdline.parent.name))
    return pids


class _Killer(threading.Thread):
    """SIGKILLs a worker once it has been busy for ``after_seconds`` (well into a transcription,
    not a cached call), ``times`` times."""

    def __init__(self, times: int, after_seconds: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.times = times
        self.after_seconds = after_seconds
        self.killed: list[int] = []
        self.done = threading.Event()

    def run(self) -> None:
        first_seen: dict[int, float] = {}
        while len(self.killed) < self.times and not self.done.is_set():
            now = time.monotonic()
            busy = _worker_pids(busy=True) - set(self.killed)
            first_seen = {pid: first_seen.get(pid, now) for pid in busy}
            for pid, since in first_seen.items():
                if now - since >= self.after_seconds:
                    os.kill(pid, signal.SIGKILL)
                    self.killed.append(pid)
                    break
            time.sleep(0.02)


# --------------------------------------------------------------------------- sizing (no Ray needed)
def test_workers_are_sized_so_that_all_of_them_fit_on_the_cluster() -> None:
    two = [NodeCapacity(2)]
    assert plan_actors(two, 2) == ActorShape(2, 1.0)
    assert plan_actors(two, 1) == ActorShape(1, 2.0)
    # As many CPUs each as still lets every worker fit on some node.
    assert plan_actors([NodeCapacity(8), NodeCapacity(4)], 3) == ActorShape(3, 4.0)
    assert plan_actors([NodeCapacity(4), NodeCapacity(2)], 2) == ActorShape(2, 2.0)
    assert plan_actors([NodeCapacity(8)], 2, cpu_threads=3) == ActorShape(2, 3.0)
    # GPUs are used when the device allows it; workers share a GPU when there are more of them.
    gpus = [NodeCapacity(8, 2)]
    assert plan_actors(gpus, 2) == ActorShape(2, 1.0, 1.0)
    assert plan_actors(gpus, 3, device="cuda") == ActorShape(3, 1.0, 0.5)
    assert plan_actors([NodeCapacity(8, 1)], 3).num_gpus == 0.3333
    assert plan_actors(gpus, 2, device="cpu") == ActorShape(2, 4.0)

    too_many = r"--workers 3: the Ray cluster has room for 2 worker\(s\) of one CPU \(1 node\(s\), 2 CPU\(s\)\)"
    with pytest.raises(ConfigError, match=too_many):
        plan_actors(two, 3)
    with pytest.raises(ConfigError, match=r"--workers 2 with --threads 2: the Ray cluster has room for 1 such worker"):
        plan_actors([NodeCapacity(3)], 2, cpu_threads=2)
    with pytest.raises(ConfigError, match=r"--device cuda: the Ray cluster has no GPU \(1 node\(s\), 2 CPU\(s\)\)"):
        plan_actors(two, 1, device="cuda")
    with pytest.raises(ConfigError, match="room for 1 GPU worker"):
        plan_actors([NodeCapacity(1, 2)], 2)


def test_executor_choice_is_validated_and_missing_ray_names_the_extra(tmp_path: Path, monkeypatch) -> None:
    with pytest.raises(ConfigError, match="executor must be one of local, ray, got 'spark'"):
        BatchOptions(recordings=tmp_path, scorecard=SCORECARD, executor="spark")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "rec").mkdir()
    (tmp_path / "qa.toml").write_text('executor = "rays"\n', encoding="utf-8")
    result = CliRunner().invoke(run_app, ["run", "rec", "--scorecard", str(SCORECARD), "--dry-run"])
    assert result.exit_code == 2 and "executor = 'rays' is not valid (expected one of local, ray)" in result.stderr
    (tmp_path / "qa.toml").unlink()

    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed
    result = CliRunner().invoke(run_app, ["run", "rec", "--scorecard", str(SCORECARD), "--executor", "ray", "--no-report"])
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("Error: --executor ray needs Ray, which is not installed: pip install 'qa-pipeline[ray]'")


# --------------------------------------------------------------------------- qa run on its own cluster
@needs_ray
def test_qa_run_executor_ray_starts_a_local_cluster_and_prints_only_its_summary(audio, tmp_path: Path) -> None:
    rec = tmp_path / "rec"
    write_manifest(rec, good_calls(rec, audio.clips, ("call-001", "call-003")))
    command = [
        sys.executable, "-m", "qa_pipeline.cli.run", "run", str(rec), "--db", str(tmp_path / "qa.db"),
        "--scorecard", str(SCORECARD), "--cache-dir", str(audio.cache), "--no-report", "--logs", str(tmp_path / "logs"),
        "--executor", "ray", "--workers", "2",
    ]
    # An address where no head node listens fails in seconds, before anything is processed.
    started = time.perf_counter()
    refused = subprocess.run([*command, "--ray-address", "127.0.0.1:9"], cwd=tmp_path, env=subprocess_env(),
                             capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2, refused.stderr
    assert "Error: --ray-address 127.0.0.1:9: cannot reach the Ray head node" in refused.stderr
    assert time.perf_counter() - started < 60

    started = time.perf_counter()
    done = subprocess.run(command, cwd=tmp_path, env=subprocess_env(), capture_output=True, text=True, timeout=300)
    wall = time.perf_counter() - started
    print(f"\nqa run --executor ray (2 cached calls, own local cluster): {wall:.1f}s")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Run 2: 2 call(s) found, 0 skipped; 2 processed: 2 ok, 0 failed (0 transcribed, 2 from the transcript cache, 0 re-scored).")
    assert len(done.stdout.splitlines()) == 2, done.stdout  # the summary, and nothing from Ray
    assert done.stderr == ""
    with Store.open(str(tmp_path / "qa.db")) as store:
        assert stored_rows(store) == {"calls": 2, "calls_ok": 2, "calls_failed": 0, "transcripts": 2, "call_scores": 2,
                                      "criterion_results": 2 * N_CRITERIA}
        latest = store.runs()[0]
        assert latest.options["executor"] == "ray"


# --------------------------------------------------------------------------- on a shared local cluster
@needs_ray
def test_ray_workers_store_what_local_workers_store_and_a_rerun_skips_everything(
    ray_cluster, audio, tmp_path: Path
) -> None:
    rec = tmp_path / "rec"
    write_manifest(rec, good_calls(rec, audio.clips))
    stored, documents = {}, {}
    for executor in ("local", "ray"):
        # call-002 is not cached: it is transcribed by a worker in both runs.
        cache = audio.cache_without(("call-002",), tmp_path / f"cache-{executor}")
        with Store.open(str(tmp_path / f"{executor}.db")) as store:
            started = time.perf_counter()
            summary = run_batch(store, _options(rec, cache, tmp_path, executor=executor))
            print(f"\n{executor}: 3 calls (1 transcribed) with 2 workers in {time.perf_counter() - started:.1f}s")
            assert summary.status is RunStatus.OK and summary.counts.succeeded == 3, summary.failures
            assert stored_rows(store) == {"calls": 3, "calls_ok": 3, "calls_failed": 0, "transcripts": 3, "call_scores": 3,
                                          "criterion_results": 3 * N_CRITERIA}
            stored[executor] = _stored_scores(store)
            documents[executor] = _stored_bytes(store)
    # Same audio and options: the same bytes, whichever executor (and device, threads and
    # process layout it chose) transcribed call-002.
    assert sorted(documents["ray"]) == sorted(documents["local"]) and len(documents["ray"]) == 3
    for call_id, (transcript, score) in documents["local"].items():
        assert documents["ray"][call_id][0] == transcript, call_id
        assert documents["ray"][call_id][1] == score, call_id
    assert stored["ray"] == stored["local"]
    assert len(stored["ray"][1]) == 3 * N_CRITERIA

    with Store.open(str(tmp_path / "ray.db")) as store:
        again = run_batch(store, _options(rec, tmp_path / "cache-ray", tmp_path))
        assert again.counts.skipped == 3 and again.counts.transcribed == 0 and again.status is RunStatus.OK
        assert [e["event"] for e in log_events(again.log_path)] == ["run_start", "plan", "run_end"]
        assert stored_rows(store)["call_scores"] == 3
        assert _stored_scores(store) == stored["ray"]


@needs_ray
def test_ray_workers_with_a_shared_postgresql_store(ray_cluster, audio, tmp_path: Path) -> None:
    rec = tmp_path / "rec"
    write_manifest(rec, good_calls(rec, audio.clips, ("call-001", "call-003")))
    with postgres_server() as server, postgres_database(server, "qa_ray") as url:
        with Store.open(url.replace("postgresql://", "postgresql+psycopg://", 1)) as store:
            assert store.dialect == "postgresql"
            first = run_batch(store, _options(rec, audio.cache, tmp_path))
            assert first.status is RunStatus.OK and first.counts.succeeded == 2, first.failures
            again = run_batch(store, _options(rec, audio.cache, tmp_path))
            assert again.counts.skipped == 2 and again.counts.transcribed == 0
            assert stored_rows(store) == {"calls": 2, "calls_ok": 2, "calls_failed": 0, "transcripts": 2, "call_scores": 2,
                                          "criterion_results": 2 * N_CRITERIA}


@needs_ray
def test_a_ray_worker_killed_mid_call_is_replaced_and_every_call_is_stored_once(
    ray_cluster, audio, tmp_path: Path
) -> None:
    rec = tmp_path / "rec"
    write_manifest(rec, good_calls(rec, audio.clips))
    ids = tuple(sample_rows()[cid]["call_id"] for cid in ("call-001", "call-002", "call-003"))
    cache = audio.cache_without(("call-001", "call-002", "call-003"), tmp_path / "cache")  # every call transcribed

    killer = _Killer(times=1)
    killer.start()
    try:
        with Store.open(str(tmp_path / "qa.db")) as store:
            summary = run_batch(store, _options(rec, cache, tmp_path))
            rows = stored_rows(store)
    finally:
        killer.done.set()
        killer.join(timeout=10)
    assert len(killer.killed) == 1, "no worker was caught in the middle of a call"
    assert summary.status is RunStatus.OK and summary.counts.succeeded == 3, summary.failures
    assert rows == {"calls": 3, "calls_ok": 3, "calls_failed": 0, "transcripts": 3, "call_scores": 3,
                    "criterion_results": 3 * N_CRITERIA}
    events = log_events(summary.log_path)
    saved = sorted(e["call_id"] for e in events if e["event"] == "call")
    assert saved == sorted(ids)  # each call saved exactly once
    died = [e["message"] for e in events if e["event"] == "log" and "Ray worker process died" in e["message"]]
    assert len(died) == 1 and f"pid {killer.killed[0]} on " in died[0]


@needs_ray
def test_a_call_that_kills_its_worker_twice_is_recorded_as_a_crash_and_the_others_are_kept(
    ray_cluster, audio, tmp_path: Path
) -> None:
    rec = tmp_path / "rec"
    rows = good_calls(rec, audio.clips, ("call-001",))
    # First in the plan and not cached: every worker that starts takes it first and dies on it.
    shutil.copyfile(audio.clips / "call-002.wav", rec / "a-crash.wav")
    rows.append(dict(sample_rows()["call-002"], file="a-crash.wav", call_id="crash-1"))
    write_manifest(rec, rows)
    cache = audio.cache_without(("call-002",), tmp_path / "cache")

    killer = _Killer(times=2, after_seconds=0.3)
    killer.start()
    try:
        with Store.open(str(tmp_path / "qa.db")) as store:
            summary = run_batch(store, _options(rec, cache, tmp_path, workers=1))
            failures = store.failures(None)
            counts = stored_rows(store)
    finally:
        killer.done.set()
        killer.join(timeout=10)
    assert len(killer.killed) == 2
    assert summary.status is RunStatus.FAILED
    [failure] = summary.failures
    assert failure.call_id == "crash-1" and failure.error_kind is ErrorKind.CRASH
    assert failure.error == f"{rec.resolve() / 'a-crash.wav'}: the worker process died twice while processing this call " \
                            "(the decoder or recogniser crashed on it, or the machine ran out of memory)"
    assert [f.call_id for f in failures] == ["crash-1"] and failures[0].error_kind is ErrorKind.CRASH
    # The call queued behind it on the same worker died with it twice, and is not blamed.
    assert counts == {"calls": 2, "calls_ok": 1, "calls_failed": 1, "transcripts": 1, "call_scores": 1,
                      "criterion_results": N_CRITERIA}
    died = [e for e in log_events(summary.log_path) if e["event"] == "log" and "Ray worker process died" in e["message"]]
    assert len(died) == 2


@needs_ray
def test_a_worker_that_cannot_load_its_model_stops_the_run_and_leaves_no_worker_behind(
    ray_cluster, audio, tmp_path: Path
) -> None:
    from qa_pipeline.options import TranscribeOptions

    rec = tmp_path / "rec"
    write_manifest(rec, good_calls(rec, audio.clips, ("call-001",)))
    missing = tmp_path / "no-such-model"
    with Store.open(str(tmp_path / "qa.db")) as store:
        with pytest.raises(ConfigError, match=r"^cannot start a worker: .*no-such-model"):
            run_batch(store, _options(rec, tmp_path / "cache", tmp_path, transcribe=TranscribeOptions(model=str(missing))))
        [run] = store.runs()
        assert run.status is RunStatus.ERROR and "cannot start a worker" in run.error
        assert stored_rows(store)["calls"] == 0
    deadline = time.monotonic() + 30
    while _worker_pids() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _worker_pids()



@needs_ray
def test_a_worker_on_a_node_without_the_scorecard_file_scores_with_the_drivers_copy(
    ray_cluster, audio, tmp_path: Path
) -> None:
    import tempfile

    from qa_pipeline.batch import CallTask, WorkerConfig
    from qa_pipeline.executors.ray_executor import QACallWorker
    from qa_pipeline.options import AudioOptions, TranscribeOptions
    from qa_pipeline.scoring import ScoringOptions

    card = load_scorecard(SCORECARD)
    elsewhere = tmp_path / "only-on-the-driver" / "card.yaml"  # not on this "node"
    config = WorkerConfig(
        scorecard=str(elsewhere), scorecard_hash=card.content_hash, audio=AudioOptions(), transcribe=TranscribeOptions(),
        scoring=ScoringOptions(), cache_dir=str(audio.cache), load_engine=True, engine_threads=1, min_duration_seconds=1.0,
    )
    worker_class = ray_cluster.remote(num_cpus=1, max_restarts=0)(QACallWorker)
    worker = worker_class.remote(config, None, SCORECARD.read_text(encoding="utf-8"))
    try:
        outcome = ray_cluster.get(worker.process.remote(CallTask("call-001", str(audio.clips / "call-001.wav"))), timeout=120)
    finally:
        ray_cluster.kill(worker)
    assert outcome.ok and not outcome.fatal, outcome.error
    assert outcome.score.scorecard_hash == card.content_hash
    copy = Path(tempfile.gettempdir()) / "qa-scorecards" / card.content_hash[:16] / "card.yaml"
    assert load_scorecard(copy).content_hash == card.content_hash
