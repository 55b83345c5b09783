"""The nightly batch (``qa run``): plan, workers, the run and its log.

- :mod:`~qa_pipeline.batch.options`: what a run is asked to do (:class:`BatchOptions`,
  :func:`auto_workers`, :func:`model_label`);
- :mod:`~qa_pipeline.batch.plan`: what happens to each recording (:func:`plan_run`);
- :mod:`~qa_pipeline.batch.worker`: the code each worker runs (:func:`init_worker`,
  :func:`process_call`), whichever executor (:mod:`qa_pipeline.executors`) hosts it;
- :mod:`~qa_pipeline.batch.run`: the run itself (:func:`run_batch`);
- :mod:`~qa_pipeline.batch.runlog`: the run log, progress and summary records.

The report refresh after a run is :func:`qa_pipeline.report.refresh.refresh_reports`; it is
also reachable here, imported when first used (the report code is not needed to run a batch).
"""

from __future__ import annotations

from typing import Any

from qa_pipeline.batch.options import EXECUTORS, MAX_AUTO_WORKERS, BatchOptions, auto_workers, model_label
from qa_pipeline.batch.plan import Action, PlannedCall, RunPlan, plan_run
from qa_pipeline.batch.run import run_batch
from qa_pipeline.batch.runlog import BatchProgress, CallFailure, ProgressHook, RunLog, RunSummary
from qa_pipeline.batch.worker import (
    SILENT_ACTIVITY,
    CallOutcome,
    CallTask,
    WorkerConfig,
    check_scorable,
    init_worker,
    process_call,
    redact_stored,
    transcript_document,
    worker_config,
)

__all__ = [
    "EXECUTORS",
    "MAX_AUTO_WORKERS",
    "SILENT_ACTIVITY",
    "Action",
    "BatchOptions",
    "BatchProgress",
    "CallFailure",
    "CallOutcome",
    "CallTask",
    "PlannedCall",
    "ProgressHook",
    "RunLog",
    "RunPlan",
    "RunSummary",
    "WorkerConfig",
    "auto_workers",
    "check_scorable",
    "init_worker",
    "model_label",
    "plan_run",
    "process_call",
    "redact_stored",
    "refresh_reports",
    "run_batch",
    "transcript_document",
    "worker_config",
]


def __getattr__(name: str) -> Any:
    if name == "refresh_reports":
        from qa_pipeline.report.refresh import refresh_reports

        return refresh_reports
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
