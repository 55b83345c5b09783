"""The one interface between the batch's run loop and the places its calls are processed.

The driver (:mod:`qa_pipeline.batch.run`) plans the run, stores each outcome in its own
transaction and keeps the run log; an :class:`Executor` only runs the batch's worker code
(:func:`qa_pipeline.batch.worker.init_worker` and
:func:`qa_pipeline.batch.worker.process_call`) on the calls it is given and hands back one
outcome per call. The policy for worker processes that die is shared here
(:class:`DeathCounter`), so every executor counts a crash against a call the same way.

Outcomes come back as calls finish, not in the order they were sent: the driver stores each
one at once, so a crash of the driver loses at most the calls in flight, and a slow call never
holds back the others. The order cannot change a verdict or a stored transcript: each call's
outcome depends on its own recording and the run's options only.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import Counter, deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Generator, Iterator, Sequence

if TYPE_CHECKING:
    from qa_pipeline.batch.plan import PlannedCall
    from qa_pipeline.batch.worker import CallOutcome, CallTask

# Builds a call's task when it is sent (re-scoring reads the stored transcript then, so the
# driver never holds every transcript of a large re-score at once).
TaskFor = Callable[["PlannedCall"], "CallTask"]
# Told when calls were sent to workers: the calls in flight changed (for progress bars).
SentHook = Callable[[], None]

# Worker deaths a call may cause before it is recorded as failed: one death may be a neighbour's
# fault or the machine's (memory), a second one while processing it is the call's own.
DEATHS_PER_CALL = 2


@dataclass(frozen=True)
class Finished:
    """A call's final outcome, as handed back by an executor.

    Attributes:
        item: The planned call.
        outcome: What its worker returned (or a crash recorded on its behalf).
    """

    item: PlannedCall
    outcome: CallOutcome


class Executor(ABC):
    """Runs the worker code on a run's calls and yields each call's outcome once.

    Use it as a context manager: leaving the block ends its workers, also when the driver
    stops early (an error while storing, Ctrl-C).

    Attributes:
        workers: Calls processed at once, known once :meth:`map` has started its workers.
    """

    def __init__(self) -> None:
        self.workers = 0
        self._stream: Generator[Finished, None, None] | None = None

    def map(self, work: Sequence[PlannedCall], task_for: TaskFor, sent: SentHook | None = None) -> Iterator[Finished]:
        """Process calls; yield each one's outcome as it finishes.

        Every call in ``work`` is yielded exactly once. A worker that cannot start stops the
        run (the exception comes out of the iteration); a call whose worker dies is tried once
        more, and a call that kills :data:`DEATHS_PER_CALL` workers comes back as a ``crash``
        failure.

        Args:
            work: Calls to transcribe or re-score.
            task_for: Builds a call's task when it is sent.
            sent: Called after calls were sent to workers.

        Raises:
            ConfigError: A worker cannot start (model, scorecard, cluster).
        """
        if self._stream is not None:
            raise RuntimeError("an executor runs one batch of calls at a time")
        self._stream = self._run(tuple(work), task_for, sent or _nothing)
        return self._stream

    @abstractmethod
    def _run(self, work: Sequence[PlannedCall], task_for: TaskFor, sent: SentHook) -> Generator[Finished, None, None]:
        """The executor's own loop behind :meth:`map`."""

    @abstractmethod
    def in_flight(self) -> tuple[PlannedCall, ...]:
        """The calls sent and not yet handed back, oldest first."""

    def close(self) -> None:
        """End the workers; calls still in flight are not handed back."""
        if self._stream is not None:
            # Closing the generator runs its own clean-up (pool shutdown, actors killed).
            self._stream.close()
            self._stream = None

    def __enter__(self) -> "Executor":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _nothing() -> None:
    return None


class DeathCounter:
    """Counts worker deaths against the calls that were being processed."""

    def __init__(self) -> None:
        self.deaths: Counter[str] = Counter()

    def strike(self, item: PlannedCall, pending: deque[PlannedCall]) -> Finished | None:
        """Count a worker's death against ``item``.

        Returns:
            None when the call goes back to the front of ``pending`` for another try; its
            ``crash`` failure when this was its last death.
        """
        from qa_pipeline.batch.worker import CallOutcome
        from qa_pipeline.store import ErrorKind

        self.deaths[item.meta.call_id] += 1
        if self.deaths[item.meta.call_id] < DEATHS_PER_CALL:
            pending.appendleft(item)
            return None
        error = (
            f"{item.meta.path}: the worker process died twice while processing this call "
            "(the decoder or recogniser crashed on it, or the machine ran out of memory)"
        )
        return Finished(item, CallOutcome(item.meta.call_id, False, error=error, error_kind=ErrorKind.CRASH))
