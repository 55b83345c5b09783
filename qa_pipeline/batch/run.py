"""The nightly batch: every new recording in a folder transcribed, scored and stored, once.

``run_batch`` takes the store's run lock, then:

1. finds the recordings and their metadata (:func:`qa_pipeline.ingest.discover_calls`);
2. plans each call (:func:`qa_pipeline.batch.plan.plan_run`): calls already done are skipped
   without being decoded, calls with a matching transcript but no score for this scorecard
   are re-scored without ASR, and calls that failed before are skipped unless
   ``retry_failed``;
3. hands the calls to an executor (:mod:`qa_pipeline.executors`): worker processes on this
   machine, or Ray actors with ``executor="ray"``; each worker loads the model and scorecard
   once;
4. writes each call in its own transaction as its result arrives, so a crash loses at most
   the calls in flight, and a re-run picks them up;
5. records the run (counts, options, version) and writes a JSON-lines log of it
   (:mod:`qa_pipeline.batch.runlog`).

One bad recording fails that call only, with the reason (``…: truncated: …``, ``…: silent:
…``). A worker process that dies is replaced; a call that kills two workers is recorded as
failed. A recording whose call id another recording holds fails without touching the stored
call. The run's own output folders are never searched for recordings, and transcript copies or
a run log that cannot be written fail the run (with the reason) but never cost it its calls.

Local workers are started with ``spawn`` (they must not inherit the lock or database
connections), so a script that calls :func:`run_batch` needs the usual
``if __name__ == "__main__":`` guard.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from qa_pipeline import __version__
from qa_pipeline.batch.options import BatchOptions
from qa_pipeline.batch.plan import Action, PlannedCall, RunPlan, placeholder_sha, plan_run
from qa_pipeline.batch.runlog import BatchProgress, CallFailure, LogBridge, ProgressHook, RunLog, RunSummary
from qa_pipeline.batch.worker import CallOutcome, CallTask, transcript_document, worker_config
from qa_pipeline.errors import ConfigError, ScorecardError
from qa_pipeline.executors import Executor, check_executor, create_executor
from qa_pipeline.log import LOGGER_NAME, get_logger
from qa_pipeline.pii.stored import REDACTION_REASON, drop_other_scores
from qa_pipeline.scorecard_routing import scoring_hashes
from qa_pipeline.store import (
    CallResult,
    CallStatus,
    CallTimings,
    ErrorKind,
    RunCounts,
    RunStatus,
    Store,
    transcript_file_name,
)

log = get_logger("batch")


def run_batch(store: Store, options: BatchOptions, progress: ProgressHook | None = None) -> RunSummary:
    """Run the batch over a recordings folder (see the module docstring).

    Args:
        store: The results store.
        options: What to run.
        progress: Called after each call with a :class:`BatchProgress`.

    Returns:
        The run's summary; ``status`` is ``failed`` when some calls failed.

    Raises:
        LockedError: Another run holds the store's lock.
        ConfigError: The scorecard, options or a worker's model cannot be used.
        AudioError: The recordings folder does not exist.
        StoreError: The store cannot be written.
    """
    from qa_pipeline.lock import run_lock
    from qa_pipeline.scorecard import load_scorecard

    check_executor(options.executor)
    try:
        card = load_scorecard(options.scorecard)
    except ScorecardError as exc:
        raise ConfigError(f"scorecard: {exc}") from exc
    if options.dry_run:
        started = time.perf_counter()
        plan = plan_run(store, options, scoring_hashes(card))
        counts = _planned_counts(plan)
        return RunSummary(None, RunStatus.OK, counts, (), plan.skipped_by_reason(), time.perf_counter() - started, None, plan, True)
    with run_lock(store):
        return _locked_run(store, options, card, progress)


def _planned_counts(plan: RunPlan) -> RunCounts:
    return RunCounts(
        discovered=plan.discovered,
        skipped=len(plan.of(Action.SKIP)),
        transcribed=len(plan.of(Action.TRANSCRIBE)),
        rescored=len(plan.of(Action.RESCORE)),
        failed=len(plan.of(Action.FAIL)),
    )


def _locked_run(store: Store, options: BatchOptions, card: Any, progress: ProgressHook | None) -> RunSummary:
    started = time.perf_counter()
    interrupted = store.mark_interrupted_runs()
    run_id = store.start_run(None if options.recordings is None else str(options.recordings), options.to_dict())
    log_path = None if options.log_dir is None else Path(options.log_dir) / f"run-{run_id:06d}.jsonl"
    run_log = RunLog(log_path)
    if run_log.path is not None:
        store.set_run_log(run_id, str(run_log.path))
    bridge = LogBridge(run_log)
    logging.getLogger(LOGGER_NAME).addHandler(bridge)
    runner = _Runner(store, options, card, run_id, run_log, progress)
    plan: RunPlan | None = None
    try:
        run_log.write("run_start", run_id=run_id, version=__version__, store=str(store), options=options.to_dict(),
                      scorecard={"name": card.name, "hash": card.content_hash}, interrupted_runs=interrupted)
        plan = plan_run(store, options, scoring_hashes(card))
        summary = runner.run(plan, started)
        run_log.write("run_end", **summary.to_dict())
        return summary
    except BaseException as exc:
        counts = runner.counts(0 if plan is None else plan.discovered)
        message = str(exc) or type(exc).__name__
        if isinstance(exc, KeyboardInterrupt):
            message = "interrupted by the user"
        store.finish_run(run_id, RunStatus.ERROR, counts, time.perf_counter() - started, message)
        run_log.write("run_end", run_id=run_id, status=RunStatus.ERROR.value, error=message, counts=counts.to_dict())
        raise
    finally:
        logging.getLogger(LOGGER_NAME).removeHandler(bridge)
        run_log.close()


class _Runner:
    """Executes a plan: workers, saving, counting, progress."""

    def __init__(self, store: Store, options: BatchOptions, card: Any, run_id: int, run_log: RunLog, progress: ProgressHook | None) -> None:
        self.store = store
        self.options = options
        self.card = card
        self.run_id = run_id
        self.log = run_log
        self.progress = progress
        self.failures: list[CallFailure] = []
        self.problems: list[str] = []
        self.succeeded = 0
        self.transcribed = 0
        self.from_cache = 0
        self.rescored = 0
        self.audio_seconds = 0.0
        self.skipped = 0
        self.total = 0
        self.t0 = time.perf_counter()
        self.phase = "calls"
        self.rate_t0, self.rate_done0 = self.t0, 0
        self.executor: Executor | None = None

    def counts(self, discovered: int) -> RunCounts:
        return RunCounts(
            discovered, self.skipped, self.transcribed, self.rescored, self.succeeded, len(self.failures),
            self.audio_seconds, from_cache=self.from_cache,
        )

    def run(self, plan: RunPlan, started: float) -> RunSummary:
        skipped = plan.of(Action.SKIP)
        self.skipped = len(skipped)
        self.log.write("plan", discovered=plan.discovered, hash_seconds=round(plan.hash_seconds, 3),
                       **{a.value: len(plan.of(a)) for a in Action}, skipped_by_reason=plan.skipped_by_reason())
        for item in skipped:
            if item.reason.startswith("failed before"):
                self.log.write("skip", call_id=item.meta.call_id, path=str(item.meta.path), reason=item.reason)
        for ignored in plan.ignored:
            # Reading a FIFO or a device could block or never end: left out, but never silently.
            log.warning("%s: skipped: %s", ignored.path, ignored.reason)
        if plan.updates:
            self.store.update_calls(plan.updates)
            self.log.write("metadata_updated", calls=len(plan.updates))
        failures = plan.of(Action.FAIL)
        work = [c for c in plan.calls if c.action in (Action.TRANSCRIBE, Action.RESCORE)]
        self.store.set_run_counts(self.run_id, self.counts(plan.discovered))
        self.total = len(failures) + len(work)
        self.t0 = time.perf_counter()
        self.phase = "calls"
        self.rate_t0, self.rate_done0 = self.t0, 0
        self._report(None)
        for item in failures:
            self._save_failure(item, item.error or "failed", item.error_kind or ErrorKind.INTERNAL, CallTimings())
        if work:
            self._execute(work)
        counts = self.counts(plan.discovered)
        problems = self.output_problems()
        status = RunStatus.FAILED if self.failures or problems else RunStatus.OK
        wall = time.perf_counter() - started
        self.store.finish_run(self.run_id, status, counts, wall, "; ".join(problems) or None)
        return RunSummary(self.run_id, status, counts, tuple(self.failures), plan.skipped_by_reason(), wall, self.log.path, plan,
                          problems=tuple(problems))

    def output_problems(self) -> list[str]:
        """What the run could not write, the run log included."""
        return self.problems + ([self.log.problem] if self.log.problem else [])

    # -- workers
    def _execute(self, work: list[PlannedCall]) -> None:
        load_engine = any(c.action is Action.TRANSCRIBE for c in work)
        config = worker_config(self.options, self.card.content_hash, load_engine)
        with create_executor(self.options, config) as executor:
            self.executor = executor
            if load_engine:
                # Nothing can finish while the workers load the model: say so instead of a still bar.
                self.phase = "loading model"
                self._report(None)
            try:
                for finished in executor.map(work, self._task, lambda: self._report(None)):
                    if self.phase != "calls":
                        # The model is loaded: the rate counts the calls finishing from here on
                        # (this first one spent its time loading).
                        self.phase = "calls"
                        self.rate_t0, self.rate_done0 = time.perf_counter(), self.succeeded + len(self.failures) + 1
                    self._save_outcome(finished.item, finished.outcome)
            finally:
                self.executor = None

    def _task(self, item: PlannedCall) -> CallTask:
        doc = None
        if item.action is Action.RESCORE:
            if item.pk is None:
                raise ConfigError(f"{item.meta.call_id}: nothing stored to re-score")
            doc = self.store.transcript_json(item.pk)
        return CallTask(item.meta.call_id, str(item.meta.path), doc, item.sha256)

    # -- saving
    def _save_outcome(self, item: PlannedCall, outcome: CallOutcome) -> None:
        for record in outcome.logs:
            self.log.write("log", call_id=item.meta.call_id, **record)
        if not outcome.ok:
            self.audio_seconds += outcome.audio_seconds
            self._save_failure(item, outcome.error or "failed", outcome.error_kind or ErrorKind.INTERNAL, outcome.timings)
            return
        store_started = time.perf_counter()
        transcript_path = None
        document = outcome.transcript_json
        if outcome.transcript is not None and document is None:
            document = transcript_document(outcome.transcript)
        if document is not None and self.options.transcripts_dir is not None and not self.problems:
            target = Path(self.options.transcripts_dir) / transcript_file_name(item.meta.call_id)
            try:
                transcript_path = str(_write_atomic(target, document).resolve())
            except OSError as exc:
                # The call is stored with its transcript all the same; the report writes the
                # missing copies once the folder can be written.
                self.problems.append(f"{target.parent}: cannot write transcript copies ({exc.strerror or exc})")
                log.warning("%s", self.problems[-1])
        result = CallResult(
            meta=item.meta,
            content_sha256=item.sha256 or "",
            file_size=item.file_size,
            file_mtime_ns=item.file_mtime_ns,
            status=CallStatus.OK,
            transcript=outcome.transcript,
            score=outcome.score,
            timings=outcome.timings,
            transcript_path=transcript_path,
            transcript_json=document,
            playback_path=outcome.playback_path,
        )
        self.store.save_call(result, self.run_id, item.pk)
        if item.reason == REDACTION_REASON and outcome.score is not None:
            drop_other_scores(self.store, item.meta.call_id, outcome.score.scorecard_hash)
        store_s = time.perf_counter() - store_started
        self.succeeded += 1
        if item.action is Action.RESCORE:
            self.rescored += 1
        else:
            self.transcribed += 1
            self.from_cache += outcome.timings.cached
        self.audio_seconds += outcome.audio_seconds
        score = outcome.score
        self.log.write(
            "call",
            call_id=item.meta.call_id,
            path=str(item.meta.path),
            action=item.action.value,
            reason=item.reason,
            status=CallStatus.OK.value,
            score=None if score is None else score.total,
            audio_seconds=round(outcome.audio_seconds, 3),
            timings=outcome.timings.to_dict(),
            store_s=round(store_s, 4),
        )
        self._report(item.meta.call_id)

    def _save_failure(self, item: PlannedCall, error: str, kind: ErrorKind, timings: CallTimings) -> None:
        result = CallResult(
            meta=item.meta,
            content_sha256=item.sha256 or placeholder_sha("unread", item.meta.call_id),
            file_size=item.file_size,
            file_mtime_ns=item.file_mtime_ns,
            status=CallStatus.FAILED,
            timings=timings,
            error=error,
            error_kind=kind,
        )
        if item.record:
            self.store.save_call(result, self.run_id, item.pk)
        else:
            self.store.save_rejection(self.run_id, item.meta.call_id, str(item.meta.path), error, kind)
        if item.action is Action.TRANSCRIBE:
            self.transcribed += 1
        elif item.action is Action.RESCORE:
            self.rescored += 1
        self.failures.append(CallFailure(item.meta.call_id, str(item.meta.path), error, kind))
        self.log.write("call", call_id=item.meta.call_id, path=str(item.meta.path), action=item.action.value,
                       reason=item.reason, status=CallStatus.FAILED.value, error=error, error_kind=kind.value,
                       timings=timings.to_dict())
        self._report(item.meta.call_id)

    def _report(self, call_id: str | None) -> None:
        if self.progress is None:
            return
        now = time.perf_counter()
        done = self.succeeded + len(self.failures)
        # Submitted first, started first: the oldest calls in flight are the ones being worked on.
        in_flight = () if self.executor is None else self.executor.in_flight()[: self.executor.workers]
        current = tuple(item.meta.call_id for item in in_flight)
        self.progress(
            BatchProgress(
                total=self.total,
                done=done,
                failed=len(self.failures),
                skipped=self.skipped,
                audio_seconds=self.audio_seconds,
                elapsed_seconds=now - self.t0,
                call_id=call_id,
                phase=self.phase,
                current=current,
                calls_seconds=now - self.rate_t0,
                calls_done=done - self.rate_done0,
            )
        )


def _write_atomic(path: Path, text: str) -> Path:
    # A crash never leaves half a file for the report to trip over, nor does a full disk.
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise
    return path
