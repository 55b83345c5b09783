"""The executor interface between the batch's run loop and its workers: imports without a
cycle, one crash policy for every executor, clean-up when the driver stops early."""

from __future__ import annotations

import subprocess
import sys
from collections import deque
from datetime import datetime
from pathlib import Path

import pytest

from qa_pipeline.batch import Action, CallOutcome, CallTask, PlannedCall
from qa_pipeline.executors.base import DEATHS_PER_CALL, DeathCounter, Executor, Finished
from qa_pipeline.metadata import CallMetadata
from qa_pipeline.store import ErrorKind

ROOT = Path(__file__).resolve().parent.parent


def _call(call_id: str) -> PlannedCall:
    meta = CallMetadata(call_id=call_id, path=Path(f"/recordings/{call_id}.wav"), agent_id="A1", agent_name="Agent",
                        team="Cards", started_at=datetime(2024, 3, 9, 9, 0))
    return PlannedCall(meta, Action.TRANSCRIBE, "new", sha256="0" * 64)


@pytest.mark.parametrize("first", ["qa_pipeline.executors.ray_executor", "qa_pipeline.executors.local",
                                   "qa_pipeline.executors.base", "qa_pipeline.batch.worker"])
def test_every_module_imports_first_and_the_batch_loads_no_executor_until_a_run(first: str) -> None:
    # A fresh interpreter: the import order is what would expose a cycle between the packages.
    script = (
        f"import {first}, sys\n"
        "import qa_pipeline.batch, qa_pipeline.executors\n"
        "from qa_pipeline.batch.run import run_batch\n"
        "loaded = sorted(m for m in ('qa_pipeline.executors.local', 'qa_pipeline.executors.ray_executor', 'ray')"
        " if m in sys.modules)\n"
        "print(','.join(loaded))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    loaded = set(filter(None, done.stdout.strip().split(",")))
    assert "ray" not in loaded  # Ray itself only when a run uses it
    expected = {first} & {"qa_pipeline.executors.local", "qa_pipeline.executors.ray_executor"}
    assert loaded == expected


def test_a_call_is_retried_once_then_recorded_as_a_crash() -> None:
    first, other = _call("c1"), _call("c2")
    pending: deque[PlannedCall] = deque([other])
    deaths = DeathCounter()
    assert deaths.strike(first, pending) is None
    assert list(pending) == [first, other]  # tried again next, before the calls that waited
    pending.popleft()
    pending.popleft()
    assert deaths.strike(other, pending) is None  # another call's first death counts for it alone
    crashed = deaths.strike(first, pending)
    assert DEATHS_PER_CALL == 2 and crashed is not None and list(pending) == [other]
    assert crashed.item is first and not crashed.outcome.ok
    assert crashed.outcome.error_kind is ErrorKind.CRASH and crashed.outcome.call_id == "c1"
    assert crashed.outcome.error == (
        "/recordings/c1.wav: the worker process died twice while processing this call "
        "(the decoder or recogniser crashed on it, or the machine ran out of memory)"
    )


class _Listed(Executor):
    """Hands back prepared outcomes; counts its clean-up."""

    def __init__(self) -> None:
        super().__init__()
        self.cleaned = 0
        self.sent: list[str] = []

    def in_flight(self) -> tuple[PlannedCall, ...]:
        return ()

    def _run(self, work, task_for, sent):
        try:
            for item in work:
                self.sent.append(task_for(item).path)
                sent()
                yield Finished(item, CallOutcome(item.meta.call_id, True))
        finally:
            self.cleaned += 1


def test_leaving_an_executor_early_runs_its_clean_up_and_a_second_map_is_refused() -> None:
    calls = [_call("c1"), _call("c2"), _call("c3")]
    told = []
    with _Listed() as executor:
        stream = executor.map(calls, lambda item: CallTask(item.meta.call_id, str(item.meta.path)), lambda: told.append(1))
        assert next(stream).item is calls[0]
        with pytest.raises(RuntimeError, match="one batch of calls at a time"):
            executor.map(calls, lambda item: CallTask(item.meta.call_id, str(item.meta.path)))
    # The driver stopped after one outcome (an error while storing, Ctrl-C): the workers end.
    assert executor.cleaned == 1 and executor.sent == ["/recordings/c1.wav"] and told == [1]
