"""Worker processes on this machine (``qa run --executor local``, the default).

Each worker is a process of a pool, started with ``spawn`` (it must not inherit the store's
lock or database connections) and loading the scorecard and the model once. A script that
runs the batch therefore needs the usual ``if __name__ == "__main__":`` guard. A worker
process that dies takes the pool down with it: the calls it held are counted against (see
:class:`~qa_pipeline.executors.base.DeathCounter`) and a new pool takes the rest. Workers end
when the driver is killed (:mod:`qa_pipeline.executors.lifeline`).
"""

from __future__ import annotations

import multiprocessing as mp
import os
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace
from typing import Generator, Sequence

from qa_pipeline.batch.options import BatchOptions
from qa_pipeline.batch.plan import PlannedCall
from qa_pipeline.batch.worker import CallOutcome, WorkerConfig, init_worker, process_call
from qa_pipeline.errors import ConfigError
from qa_pipeline.executors.base import DeathCounter, Executor, Finished, SentHook, TaskFor
from qa_pipeline.log import get_logger

# Worker deaths are part of the run's story: logged under the batch's name, which the run log
# and operators' filters know.
log = get_logger("batch")

# Calls waiting per worker: one being processed and one ready behind it, so a worker never
# idles while the driver stores the previous outcome.
CALLS_PER_WORKER = 2


class LocalExecutor(Executor):
    """A pool of worker processes on this machine.

    Args:
        options: The run's options (``workers``).
        config: What each worker loads.
    """

    def __init__(self, options: BatchOptions, config: WorkerConfig) -> None:
        super().__init__()
        self.requested = options.workers
        # A SIGKILLed qa run must not leave its workers (a model in memory each) running.
        self.config = replace(config, parent_pid=os.getpid())
        self._in_flight: dict[Future[CallOutcome], PlannedCall] = {}

    def in_flight(self) -> tuple[PlannedCall, ...]:
        return tuple(self._in_flight.values())

    def _run(self, work: Sequence[PlannedCall], task_for: TaskFor, sent: SentHook) -> Generator[Finished, None, None]:
        config = self.config
        if config.load_engine and config.transcribe.engine == "faster-whisper":
            from qa_pipeline.asr.device import resolve_device

            # Resolved here, once: a worker that resolved "auto" on its own could end up on
            # another device than its neighbours (one that cannot see the GPU falls back to
            # the CPU), and int8 on a CPU and float16 on a GPU time words differently.
            config = replace(config, engine_device=resolve_device(config.transcribe.device))
        pending = deque(work)
        deaths = DeathCounter()
        self.workers = workers = max(1, min(self.requested, len(work)))
        window = CALLS_PER_WORKER * workers
        context = mp.get_context("spawn")
        while pending:
            in_flight: dict[Future[CallOutcome], PlannedCall] = {}
            self._in_flight = in_flight
            broken = False
            with ProcessPoolExecutor(workers, mp_context=context, initializer=init_worker, initargs=(config,)) as pool:
                while (pending or in_flight) and not broken:
                    while pending and len(in_flight) < window:
                        item = pending.popleft()
                        in_flight[pool.submit(process_call, task_for(item))] = item
                    sent()
                    done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                    for fut in done:
                        item = in_flight.pop(fut)
                        try:
                            outcome = fut.result()
                        except BrokenProcessPool:
                            broken = True
                            crashed = deaths.strike(item, pending)
                            if crashed is not None:
                                yield crashed
                            continue
                        if outcome.fatal:
                            pool.shutdown(wait=False, cancel_futures=True)
                            raise ConfigError(f"cannot start a worker: {outcome.error}")
                        yield Finished(item, outcome)
                if broken:
                    # Every call still in flight went down with the pool.
                    lost = list(in_flight.values())
                    in_flight.clear()
                    for item in lost:
                        crashed = deaths.strike(item, pending)
                        if crashed is not None:
                            yield crashed
                    log.warning("a worker process died; starting new workers for the remaining %d call(s)", len(pending))
        self._in_flight = {}
