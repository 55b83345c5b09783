"""Recordings, caches, stores and a PostgreSQL server for the store and batch tests.

Short clips of the sample calls keep real transcription cheap; their transcripts are made once
per test session into a shared cache, so tests about storage and orchestration reuse them
instead of running the recogniser again.
"""

from __future__ import annotations

import atexit
import csv
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest
import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples" / "recordings"


# Fields that only judging by meaning reads (each needs the examples beside it).
_MEANING_FIELDS = (
    "examples", "example_neighbours", "answered_similarity", "example_method", "probe_probability",
    "probe_contrast", "response_counter_phrases",
)


def _without_examples(node: object) -> object:
    if isinstance(node, dict):
        return {k: _without_examples(v) for k, v in node.items() if not k.endswith(_MEANING_FIELDS)}
    if isinstance(node, list):
        return [_without_examples(v) for v in node]
    return node


def write_lexical_scorecard(source: Path, out: Path) -> Path:
    """``source`` without its meaning examples, written to ``out``: it judges by its phrase
    lists only, so scoring with it never loads a sentence-embedding model."""
    import yaml

    card = yaml.safe_load(source.read_text(encoding="utf-8"))
    out.write_text(yaml.safe_dump(_without_examples(card), allow_unicode=True, sort_keys=False), encoding="utf-8")
    return out


def _snapshot(path: Path) -> Path:
    """A copy taken once per session: runs compare scorecard hashes, so the file must not
    change under the tests while the repository's copy is being edited.

    The copy judges by its phrase lists only (the meaning examples are left out): these tests
    are about the batch, the store and their faults, and every worker process of every run
    would otherwise load the sentence-embedding model (seconds of CPU each). Judging by
    meaning has its own tests (test_meaning*, test_e2e_report, test_realcall_verdicts).
    """
    folder = Path(tempfile.mkdtemp(prefix="qa-batch-card-"))
    atexit.register(shutil.rmtree, folder, True)
    return write_lexical_scorecard(path, folder / path.name)


SCORECARD = _snapshot(ROOT / "scorecards" / "default.en.yaml")
CLIP_SECONDS = 12.0
# Clips of these sample calls are transcribed once per session.
CLIP_IDS = ("call-001", "call-002", "call-003")
MANIFEST_FIELDS = ("file", "call_id", "agent_id", "agent_name", "team", "started_at")


def sample_rows() -> dict[str, dict[str, str]]:
    """The sample manifest's rows by call id."""
    with (SAMPLES / "calls.csv").open(newline="", encoding="utf-8") as f:
        return {row["call_id"]: row for row in csv.DictReader(f)}


def write_clip(call_id: str, target: Path, seconds: float = CLIP_SECONDS) -> Path:
    """The first ``seconds`` of a sample call as 16-bit WAV (same bytes every time)."""
    data, rate = sf.read(str(SAMPLES / f"{call_id}.wav"), dtype="float32")
    target.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(target), data[: int(rate * seconds)], rate, subtype="PCM_16")
    return target


def write_manifest(folder: Path, rows: list[dict[str, str]]) -> Path:
    path = folder / "calls.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=MANIFEST_FIELDS)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: row.get(k, "") for k in MANIFEST_FIELDS})
    return path


def manifest_row(file: str, call_id: str, agent: str = "A09", started_at: str = "2024-03-09T09:00:00") -> dict[str, str]:
    return {"file": file, "call_id": call_id, "agent_id": agent, "agent_name": f"Agent {agent}", "team": "Cards", "started_at": started_at}


def good_calls(folder: Path, clips: Path, ids: tuple[str, ...] = CLIP_IDS) -> list[dict[str, str]]:
    """Copy session clips into ``folder``; returns their manifest rows."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    samples = sample_rows()
    for cid in ids:
        shutil.copyfile(clips / f"{cid}.wav", folder / f"{cid}.wav")
        rows.append(dict(samples[cid], file=f"{cid}.wav"))
    return rows


def bad_calls(folder: Path, clips: Path) -> dict[str, str]:
    """Write one recording of each kind of trouble; returns file name → the phrase its
    failure message must contain."""
    from qa_pipeline.synth.music import hold_music

    folder.mkdir(parents=True, exist_ok=True)
    rate = 8000
    good = (clips / "call-003.wav").read_bytes()
    rng = np.random.default_rng(7)
    (folder / "corrupt.wav").write_bytes(good[:4] + rng.integers(0, 256, 40_000, dtype=np.uint8).tobytes())
    (folder / "truncated.wav").write_bytes(good[: len(good) // 2])
    (folder / "zero.wav").write_bytes(b"")
    (folder / "notes.wav").write_text("Call notes: the customer asked about a card payment.\n" * 40, encoding="utf-8")
    sf.write(str(folder / "silent.wav"), np.zeros((rate * 5, 2), dtype="float32"), rate, subtype="PCM_16")
    music = hold_music(5.0, rate)
    sf.write(str(folder / "music.wav"), np.stack([music, music], axis=1), rate, subtype="PCM_16")
    speech, srate = sf.read(str(clips / "call-003.wav"), dtype="float32")
    sf.write(str(folder / "three.wav"), np.stack([speech[: srate * 3, 0], speech[: srate * 3, 1], speech[: srate * 3, 0]], axis=1), srate, subtype="PCM_16")
    sf.write(str(folder / "short.wav"), speech[: int(srate * 0.4)], srate, subtype="PCM_16")
    return {
        "corrupt.wav": "unreadable or corrupt",
        "truncated.wav": "truncated: header declares",
        "zero.wav": "empty file (0 bytes)",
        "notes.wav": "not an audio file",
        "silent.wav": "silent: no sound above",
        "music.wav": "no speech recognised",
        "three.wav": "3 channels and no channel mapping",
        "short.wav": "too short to score: 0.40s",
    }


@dataclass(frozen=True)
class SessionAudio:
    """Clips and a transcript cache holding their transcripts.

    Attributes:
        clips: Folder of ``<call>.wav`` clips.
        cache: Transcript cache with every clip transcribed with default options.
    """

    clips: Path
    cache: Path

    def cache_without(self, call_ids: tuple[str, ...], target: Path) -> Path:
        """A copy of the cache lacking the given clips' transcripts (so they need ASR)."""
        from qa_pipeline.audio import file_sha256

        shutil.copytree(self.cache, target)
        for cid in call_ids:
            sha = file_sha256(self.clips / f"{cid}.wav")
            for entry in (target / "transcripts").rglob(f"{sha}-*.json"):
                entry.unlink()
        return target

    def restore(self, call_ids: tuple[str, ...], target: Path) -> None:
        """Put clips' transcripts back into a cache made by :meth:`cache_without`."""
        from qa_pipeline.audio import file_sha256

        for cid in call_ids:
            sha = file_sha256(self.clips / f"{cid}.wav")
            for entry in (self.cache / "transcripts").rglob(f"{sha}-*.json"):
                dest = target / entry.relative_to(self.cache)
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(entry, dest)


def session_audio(factory: pytest.TempPathFactory) -> SessionAudio:
    """Clips transcribed into a cache once per session (idempotent: reuses a warm cache)."""
    from qa_pipeline.asr import create_engine
    from qa_pipeline.cache import TranscriptCache
    from qa_pipeline.options import AudioOptions, TranscribeOptions
    from qa_pipeline.pipeline import transcribe_call

    base = factory.getbasetemp() / "qa-batch-audio"
    clips, cache = base / "clips", base / "cache"
    done = base / "ready"
    if not done.exists():
        for cid in CLIP_IDS:
            write_clip(cid, clips / f"{cid}.wav")
        engine = create_engine(TranscribeOptions())
        tc = TranscriptCache(cache)
        for cid in CLIP_IDS:
            transcribe_call(clips / f"{cid}.wav", engine, AudioOptions(), TranscribeOptions(), cid, tc)
        done.write_text("ok")
    return SessionAudio(clips, cache)


# --------------------------------------------------------------------------- subprocess runs
def qa_run_command(recordings: Path, db: str, cache: Path, *extra: str, scorecard: Path = SCORECARD) -> list[str]:
    """``qa run`` as a separate process (through the command's own module entry point)."""
    return [
        sys.executable, "-m", "qa_pipeline.cli.run", "run", str(recordings), "--db", db, "--scorecard", str(scorecard),
        "--cache-dir", str(cache), "--workers", "1", "--no-report", *extra,
    ]


def subprocess_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def wait_for(predicate, timeout: float, what: str, proc: subprocess.Popen | None = None, interval: float = 0.02) -> None:
    """Poll until ``predicate()`` is true; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if proc is not None and proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"process ended (rc {proc.returncode}) before {what}:\n{out}\n{err}")
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout}s waiting for {what}")


def kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL a process started with ``start_new_session=True`` and all its children."""
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


# --------------------------------------------------------------------------- PostgreSQL
def find_pg_ctl() -> Path | None:
    """The server's ``pg_ctl`` (Debian keeps it under /usr/lib/postgresql/<version>/bin)."""
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve()
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0)
    return versions[-1] if versions else None


@dataclass(frozen=True)
class PostgresServer:
    host: str
    port: int
    user: str

    def url(self, dbname: str) -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}/{dbname}"


@contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    """A throwaway PostgreSQL server on a free local port, run with pytest-postgresql.

    The server refuses to run as root, so when the tests run as root, ``pg_ctl`` is called
    through a small wrapper that runs it as the ``postgres`` system user (which Debian's
    ``postgresql`` package creates), with its data in a folder owned by that user.
    """
    pg_ctl = find_pg_ctl()
    if pg_ctl is None:
        pytest.skip("PostgreSQL server binaries not found (Debian: apt-get install -y postgresql)")
    try:
        import port_for
        from pytest_postgresql.executors import PostgreSQLExecutor
    except ImportError:
        pytest.skip("pytest-postgresql is not installed (pip install pytest-postgresql 'psycopg[binary]')")
    base = Path(tempfile.mkdtemp(prefix="qa-pg-"))
    executable = pg_ctl
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no 'postgres' user to run the server as")
        os.chown(base, owner.pw_uid, owner.pw_gid)
        executable = base / "pg_ctl"
        executable.write_text(f'#!/bin/sh\nexec runuser -u postgres -- "{pg_ctl}" "$@"\n', encoding="utf-8")
        executable.chmod(0o755)
    port = port_for.select_random()
    server = PostgreSQLExecutor(
        executable=str(executable),
        host="127.0.0.1",
        port=port,
        user="postgres",
        password=None,
        dbname="postgres",
        options="",
        datadir=str(base / "data"),
        unixsocketdir=str(base),
        logfile=str(base / "server.log"),
        startparams="-w",
        postgres_options="",
    )
    server.start()
    try:
        yield PostgresServer("127.0.0.1", port, "postgres")
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)


@contextmanager
def postgres_database(server: PostgresServer, name: str) -> Iterator[str]:
    """A fresh database on the server, dropped afterwards; yields its URL."""
    from pytest_postgresql.janitor import DatabaseJanitor

    with DatabaseJanitor(user=server.user, host=server.host, port=server.port, dbname=name):
        yield server.url(name)


# --------------------------------------------------------------------------- stored calls without audio
def scripted_transcript(call_id: str, sha256: str, greeting: bool = True, seconds: float = 40.0):
    """A hand-made transcript of a short call (no audio needed)."""
    from dataclasses import replace

    from transcript_factory import make_transcript

    opening = "Thank you for calling Northwind Bank, my name is Sarah, how can I help you today?" if greeting else "Northwind Bank."
    t = make_transcript(
        [
            ("agent", 0.5, opening),
            ("customer", 7.0, "Hi, I was charged twice for my subscription this month."),
            ("agent", 12.0, "I am sorry to hear that. So you were charged twice for your subscription?"),
            ("customer", 18.0, "Yes, that is right."),
            ("agent", 21.0, "I have refunded the second payment. Is there anything else I can help you with?"),
            ("customer", 28.0, "No, thank you."),
            ("agent", 30.0, "Thank you for calling, have a great day."),
        ],
        duration=seconds,
        call_id=call_id,
    )
    return replace(t, audio=replace(t.audio, path=f"/rec/{call_id}.wav", sha256=sha256))


def stored_result(n: int, card, greeting: bool = True, agent: str | None = None, started_at: str | None = None):
    """A complete ok CallResult for call number ``n`` (transcript scored with ``card``)."""
    import hashlib
    from datetime import datetime

    from qa_pipeline.metadata import CallMetadata
    from qa_pipeline.scoring import score_transcript
    from qa_pipeline.store import CallResult, CallStatus, CallTimings

    call_id = f"c{n:05d}"
    sha = hashlib.sha256(call_id.encode()).hexdigest()
    transcript = scripted_transcript(call_id, sha, greeting)
    meta = CallMetadata(
        path=Path(f"/rec/{call_id}.wav"),
        call_id=call_id,
        agent_id=agent or f"A{n % 4:02d}",
        agent_name=f"Agent {n % 4}",
        team="Cards" if n % 2 else "Payments",
        started_at=datetime.fromisoformat(started_at or f"2024-03-{1 + n % 28:02d}T09:00:00"),
        sources={"agent_id": "manifest"},
    )
    return CallResult(
        meta=meta,
        content_sha256=sha,
        file_size=1000 + n,
        file_mtime_ns=1_700_000_000_000_000_000 + n,
        status=CallStatus.OK,
        transcript=transcript,
        score=score_transcript(transcript, card),
        timings=CallTimings(asr_s=1.0),
    )


def worker_pids(parent: int) -> list[int]:
    """Pids of the multiprocessing workers spawned by ``parent`` (Linux ``/proc``)."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue  # the process ended while we looked
        if int(fields[1]) == parent and b"spawn_main" in cmdline:
            pids.append(int(stat.parent.name))
    return pids


def revised_scorecard(target: Path | None = None) -> tuple[str, str]:
    """The test scorecard with its first criterion retitled (a new content hash).

    Returns:
        The YAML text (also written to ``target`` when given) and the new title.
    """
    import yaml

    data = yaml.safe_load(SCORECARD.read_text(encoding="utf-8"))
    title = f"{data['criteria'][0]['title']} (revised)"
    data["criteria"][0]["title"] = title
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    if target is not None:
        target.write_text(text, encoding="utf-8")
    return text, title


def held_result(call_id: str, card):
    """A complete ok CallResult of a call with one announced, thanked hold (about 20 s of
    silence from 11 s), scored with ``card``."""
    import hashlib
    from dataclasses import replace

    from transcript_factory import make_transcript

    from qa_pipeline.scoring import score_transcript

    t = make_transcript(
        [
            ("agent", 0.5, "Thank you for calling Northwind Bank, my name is Sarah, how can I help you today?"),
            ("customer", 6.0, "I need to check a payment."),
            ("agent", 8.0, "May I place you on a brief hold for two minutes?"),
            ("customer", 10.5, "Sure."),
            ("agent", 32.0, "Thank you for holding. I found the payment."),
            ("customer", 36.0, "Great, thanks."),
            ("agent", 38.0, "Thank you for calling, have a great day."),
        ],
        duration=42.0,
        call_id=call_id,
    )
    sha = hashlib.sha256(call_id.encode()).hexdigest()
    transcript = replace(t, audio=replace(t.audio, path=f"/rec/{call_id}.wav", sha256=sha))
    base = stored_result(1, card)
    return replace(
        base,
        meta=replace(base.meta, call_id=call_id, path=Path(f"/rec/{call_id}.wav")),
        content_sha256=sha,
        transcript=transcript,
        score=score_transcript(transcript, card),
    )
