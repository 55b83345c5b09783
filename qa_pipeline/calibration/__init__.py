"""Calibration: the machine's verdicts measured against human QA evaluations.

Import a CSV of evaluations into the store with :func:`import_evaluations` (validated against
the scored calls and their scorecard's criteria; importing the same file again changes
nothing), then measure agreement with :func:`calibration_report`: per criterion percent
agreement, Cohen's κ and the confusion matrix, the calls where people and the machine
disagree with the machine's evidence, call totals (Pearson, Spearman, mean absolute
difference), per evaluator, and evaluator against evaluator on calls judged twice.
"""

from __future__ import annotations

import os

from qa_pipeline.calibration.agreement import agreement, agreement_from_confusion, compare_totals, confusion
from qa_pipeline.calibration.compare import build_report, human_total, latest_evaluations
from qa_pipeline.calibration.importer import EvaluationFileError, read_evaluations
from qa_pipeline.calibration.records import (
    LABELS,
    Agreement,
    CalibrationReport,
    Confusion,
    CriterionCalibration,
    Disagreement,
    EvaluatorCalibration,
    HumanEvaluation,
    ImportSummary,
    MachineCall,
    MachineCriterion,
    PairCalibration,
    TotalPair,
    TotalsComparison,
    kappa_band,
)
from qa_pipeline.calibration.storage import count_evaluations, load_evaluations, machine_calls, save_evaluations
from qa_pipeline.store import Store

__all__ = [
    "LABELS",
    "Agreement",
    "CalibrationReport",
    "Confusion",
    "CriterionCalibration",
    "Disagreement",
    "EvaluationFileError",
    "EvaluatorCalibration",
    "HumanEvaluation",
    "ImportSummary",
    "MachineCall",
    "MachineCriterion",
    "PairCalibration",
    "TotalPair",
    "TotalsComparison",
    "agreement",
    "agreement_from_confusion",
    "build_report",
    "calibration_report",
    "compare_totals",
    "confusion",
    "count_evaluations",
    "human_total",
    "import_evaluations",
    "kappa_band",
    "latest_evaluations",
    "load_evaluations",
    "machine_calls",
    "read_evaluations",
    "save_evaluations",
]


def import_evaluations(store: Store, path: str | os.PathLike[str]) -> ImportSummary:
    """Validate an evaluation CSV against the store and save it (idempotently).

    Args:
        store: The results store holding the evaluated calls' scores.
        path: The CSV file (see :mod:`qa_pipeline.calibration.importer` for its columns).

    Returns:
        What was added, changed and left as it was.

    Raises:
        EvaluationFileError: The file cannot be read or has problems (each named with its
            line and column); nothing is saved then.
        StoreError: The store cannot be read or written.
    """
    seen: dict[str, MachineCall] = {}

    def lookup(call_ids):
        seen.update(machine_calls(store, call_ids))
        return seen

    evaluations = read_evaluations(path, lookup, str(store))
    return save_evaluations(store, evaluations, seen, os.fspath(path))


def calibration_report(store: Store) -> CalibrationReport | None:
    """Measure the store's machine verdicts against its human evaluations.

    Returns:
        The report, or None when the store holds no human evaluation.

    Raises:
        StoreError: The store cannot be read.
    """
    evaluations = load_evaluations(store)
    if not evaluations:
        return None
    return build_report(evaluations, machine_calls(store, {e.call_id for e in evaluations}))
