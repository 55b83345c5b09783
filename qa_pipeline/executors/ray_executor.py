"""Transcription and scoring on a Ray cluster (``qa run --executor ray``).

The driver — the ``qa run`` process — plans the run, writes each outcome to the store in its
own transaction and keeps the run log, exactly as with local worker processes; only the
calls' transcription and scoring move to Ray. Each worker is a Ray actor
(:class:`QACallWorker`) running the batch's own worker code: it loads the scorecard and the
model once, then takes calls one at a time.

- Resources (:func:`~qa_pipeline.executors.ray_cluster.plan_actors`): one actor per ``--workers``. CPU actors share the
  cluster's CPUs and use that many inference threads each; when the recognition device is
  ``cuda``, or ``auto`` on a cluster with GPUs, each actor reserves a GPU, or an equal share
  of one when there are more workers than GPUs.
- Backpressure: at most :data:`CALLS_PER_WORKER` calls wait on an actor at a time, so the
  driver never holds more than a few outcomes in memory and a lost worker loses little.
- Lost workers: Ray does not restart the actors; the driver starts a replacement. An actor
  runs its calls in the order they were sent, so the oldest call still outstanding when it
  died is the one it was working on: that call is tried once more and a call that kills two
  workers is recorded as failed (``crash``), as with local workers. Calls that were only
  queued behind it are sent again without counting against them.
- Recordings are read by path on the nodes: every node must see the recordings folder at the
  same path as the driver (a shared mount). Each worker checks this when it starts. The
  scorecard travels with the workers, for nodes that do not have the file.

Ray is imported only when a run uses it (:func:`~qa_pipeline.executors.ray_cluster.import_ray`).
"""

from __future__ import annotations

import os
import socket
import tempfile
from collections import deque
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Generator, Iterator, Sequence

from qa_pipeline.batch.options import BatchOptions
from qa_pipeline.batch.plan import PlannedCall
from qa_pipeline.batch.worker import CallOutcome, CallTask, WorkerConfig, init_worker, process_call
from qa_pipeline.errors import ConfigError
from qa_pipeline.executors.base import DeathCounter, Executor, Finished, SentHook, TaskFor
from qa_pipeline.executors.ray_cluster import (
    ActorShape,
    cluster_capacity,
    describe_nodes,
    first_lines,
    import_ray,
    plan_actors,
    ray_session,
)
from qa_pipeline.log import get_logger
from qa_pipeline.store import ErrorKind

log = get_logger("ray")

# Calls waiting on one actor: one being processed and one ready behind it, so an actor never
# idles while the driver saves the previous outcome.
CALLS_PER_WORKER = 2
# A worker that dies while loading the model is started again this many times before the
# run stops: a node running short of memory once should not stop the night's batch.
STARTUP_RETRIES = 1
# Warn when the cluster has not started a worker after this long (busy or too small).
PLACEMENT_WARNING_SECONDS = 120.0
# How long a lost worker's other calls may take to report back before they count as lost too.
SETTLE_SECONDS = 60.0


# --------------------------------------------------------------------------- the actor
@dataclass(frozen=True)
class WorkerInfo:
    """What a started worker reports about itself.

    Attributes:
        pid: Its process on the node.
        node: The node's host name.
        problem: Why it cannot work there (recordings not visible), or None.
    """

    pid: int
    node: str
    problem: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"pid": self.pid, "node": self.node, "problem": self.problem}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "WorkerInfo":
        return cls(int(data["pid"]), str(data["node"]), data.get("problem"))


class QACallWorker:
    """One worker as a Ray actor: a scorecard and a model, loaded once, then calls.

    A Ray actor owns its process, so the batch's per-process worker state
    (:func:`qa_pipeline.batch.worker.init_worker`) serves it exactly as it serves a local worker.

    Args:
        config: What to load.
        recordings: The recordings folder this worker must be able to read, or None when it
            only re-scores stored transcripts.
        scorecard_text: The scorecard file's text, used when the file is not at the same path
            on this node.
    """

    def __init__(self, config: WorkerConfig, recordings: str | None, scorecard_text: str) -> None:
        if not os.path.isfile(config.scorecard):
            config = replace(config, scorecard=str(_node_copy(config, scorecard_text)))
        init_worker(config)
        self.recordings = recordings

    def ready(self) -> WorkerInfo:
        """Who and where the worker is, and whether it can read the recordings."""
        node = socket.gethostname()
        problem = None
        if self.recordings is not None and not os.path.isdir(self.recordings):
            problem = (
                f"{self.recordings}: the recordings folder is not visible on Ray node {node}; every node must "
                "see it at the same path as the machine running qa run (a shared mount)"
            )
        return WorkerInfo(os.getpid(), node, problem)

    def process(self, task: CallTask) -> CallOutcome:
        """Transcribe (or take the stored transcript) and score one call."""
        return process_call(task)


def _node_copy(config: WorkerConfig, text: str) -> Path:
    # One copy per scorecard version on a node, shared by its workers and later runs; the
    # worker still checks the content hash against the driver's.
    path = Path(tempfile.gettempdir()) / "qa-scorecards" / config.scorecard_hash[:16] / Path(config.scorecard).name
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        partial.write_text(text, encoding="utf-8")
        partial.replace(path)
    return path


# --------------------------------------------------------------------------- the driver
class RayExecutor(Executor):
    """Ray actors as the run's workers (``qa run --executor ray``).

    Uses the Ray connection the process already has (a notebook's, a test's), or connects to
    ``options.ray_address`` (``None``: a new local cluster, or ``RAY_ADDRESS``) for the run
    and disconnects afterwards.

    Args:
        options: The run's options (``workers``, ``ray_address``, the recognition device).
        config: What each worker loads (threads are set from the cluster's CPUs here).
    """

    def __init__(self, options: BatchOptions, config: WorkerConfig) -> None:
        super().__init__()
        self.options = options
        self.config = config
        self._run_state: _RayRun | None = None

    def in_flight(self) -> tuple[PlannedCall, ...]:
        if self._run_state is None:
            return ()
        return tuple(item for item in self._run_state.owner_items() if item is not None)

    def _run(self, work: Sequence[PlannedCall], task_for: TaskFor, sent: SentHook) -> Generator[Finished, None, None]:
        """Connect, size and start the workers, then hand back outcomes as they arrive.

        Raises:
            ConfigError: Ray is not installed, the cluster cannot be reached or is too small,
                or a worker cannot start (model, scorecard, recordings not visible on a node).
        """
        if not work:
            return
        options, config = self.options, self.config
        ray = import_ray()
        with ray_session(ray, options.ray_address):
            nodes = cluster_capacity(ray)
            shape = plan_actors(nodes, min(options.workers, len(work)), options.transcribe.device, options.transcribe.cpu_threads)
            if options.transcribe.cpu_threads == 0:
                config = replace(config, engine_threads=max(1, int(shape.num_cpus)))
            # The device follows the reservation: Ray hides every GPU from an actor that reserved
            # none, and a worker left to resolve "auto" there would silently decode on the CPU.
            config = replace(config, engine_device="cuda" if shape.uses_gpu else "cpu")
            recordings = None
            if config.load_engine and options.recordings is not None:
                recordings = str(Path(options.recordings).expanduser().resolve())
            try:
                scorecard_text = Path(config.scorecard).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise ConfigError(f"{config.scorecard}: cannot read scorecard ({exc})") from exc
            log.info("Ray: %s on %s", shape.describe(), describe_nodes(nodes))
            self.workers = shape.count
            self._run_state = _RayRun(ray, shape, config, (recordings, scorecard_text), task_for, sent)
            try:
                yield from self._run_state.run(work)
            finally:
                self._run_state = None


class _Slot:
    """A place for one worker: its actor (None until needed) and what was sent to it, in
    order (None stands for the start-up check)."""

    def __init__(self, number: int) -> None:
        self.number = number
        self.actor: Any = None
        self.sent: dict[Any, PlannedCall | None] = {}
        self.info: WorkerInfo | None = None

    def calls(self) -> int:
        return sum(1 for item in self.sent.values() if item is not None)

    def where(self) -> str:
        return f"pid {self.info.pid} on {self.info.node}" if self.info else "while starting"


class _RayRun:
    """One run's workers: sends calls, collects outcomes, replaces workers that die."""

    def __init__(
        self, ray: Any, shape: ActorShape, config: WorkerConfig, worker_args: tuple[str | None, str],
        task_for: TaskFor, sent: SentHook,
    ) -> None:
        self.ray = ray
        self.shape = shape
        self.config = config
        self.worker_args = worker_args
        self.task_for = task_for
        self.sent = sent
        # Ray must not restart actors or retry their calls on its own: the driver decides
        # which call a death counts against.
        self.worker_class = ray.remote(
            num_cpus=shape.num_cpus, num_gpus=shape.num_gpus, max_restarts=0, max_task_retries=0
        )(QACallWorker)
        self.slots = [_Slot(i) for i in range(shape.count)]
        self.owner: dict[Any, _Slot] = {}
        self.pending: deque[PlannedCall] = deque()
        self.deaths = DeathCounter()
        self.startup_deaths = 0
        self.warned_placement = False

    def owner_items(self) -> list[PlannedCall | None]:
        """What was sent and not yet collected, oldest first (None: a start-up check)."""
        return [slot.sent[ref] for ref, slot in self.owner.items()]

    def run(self, work: Sequence[PlannedCall]) -> Generator[Finished, None, None]:
        self.pending.extend(work)
        try:
            while self.pending or self.owner:
                self._fill()
                self.sent()
                ready, _ = self.ray.wait(list(self.owner), num_returns=1, timeout=PLACEMENT_WARNING_SECONDS)
                if not ready:
                    self._warn_placement()
                    continue
                slot = self.owner.get(ready[0])
                if slot is not None:
                    yield from self._collect(slot, ready[0])
        finally:
            for slot in self.slots:
                if slot.actor is not None:
                    self.ray.kill(slot.actor)

    def _fill(self) -> None:
        # One call per worker in turn, so a handful of calls spreads over all workers.
        while self.pending:
            open_slots = [s for s in self.slots if s.calls() < CALLS_PER_WORKER]
            if not open_slots:
                return
            for slot in open_slots:
                if not self.pending:
                    return
                if slot.actor is None:
                    self._start(slot)
                item = self.pending.popleft()
                self._send(slot, slot.actor.process.remote(self.task_for(item)), item)

    def _start(self, slot: _Slot) -> None:
        slot.actor = self.worker_class.remote(self.config, *self.worker_args)
        slot.info = None
        self._send(slot, slot.actor.ready.remote(), None)

    def _send(self, slot: _Slot, ref: Any, item: PlannedCall | None) -> None:
        slot.sent[ref] = item
        self.owner[ref] = slot

    def _collect(self, slot: _Slot, ref: Any) -> Iterator[Finished]:
        exceptions = self.ray.exceptions
        try:
            value = self.ray.get(ref)
        except (exceptions.RayActorError, exceptions.ObjectLostError) as exc:
            yield from self._lost(slot, exc)
            return
        except exceptions.RayTaskError as exc:
            item = self._forget(slot, ref)
            yield from self._task_error(item, exc)
            return
        yield from self._accept(slot, self._forget(slot, ref), value)

    def _forget(self, slot: _Slot, ref: Any) -> PlannedCall | None:
        self.owner.pop(ref, None)
        return slot.sent.pop(ref)

    def _accept(self, slot: _Slot, item: PlannedCall | None, value: Any) -> Iterator[Finished]:
        if item is None:
            info: WorkerInfo = value
            if info.problem is not None:
                raise ConfigError(info.problem)
            slot.info = info
            log.info("Ray worker %d started: %s", slot.number, slot.where())
            return
        outcome: CallOutcome = value
        if outcome.fatal:
            raise ConfigError(f"cannot start a worker: {outcome.error}")
        yield Finished(item, outcome)

    def _task_error(self, item: PlannedCall | None, exc: BaseException) -> Iterator[Finished]:
        # The worker code returns every failure as an outcome; an exception here comes from
        # Ray itself (an outcome that could not be sent back, say).
        if item is None:
            raise ConfigError(f"cannot start a Ray worker: {first_lines(exc)}")
        error = f"{item.meta.path}: internal error on the Ray worker: {first_lines(exc)}"
        yield Finished(item, CallOutcome(item.meta.call_id, False, error=error, error_kind=ErrorKind.INTERNAL))

    def _lost(self, slot: _Slot, exc: BaseException) -> Iterator[Finished]:
        """A worker died: settle everything it held, in the order it was sent."""
        where = slot.where()
        entries = list(slot.sent.items())
        for ref, _ in entries:
            self._forget(slot, ref)
        self.ray.kill(slot.actor)  # an unavailable actor may linger; it is not used again
        slot.actor, slot.info = None, None
        # A dead actor's outstanding calls all fail promptly; finished ones keep their results.
        refs = [ref for ref, _ in entries]
        settled, _ = self.ray.wait(refs, num_returns=len(refs), timeout=SETTLE_SECONDS)
        settled = set(settled)
        culprit: PlannedCall | None = None
        blamed = False
        innocent: list[PlannedCall] = []
        exceptions = self.ray.exceptions
        for ref, item in entries:
            try:
                if ref not in settled:
                    raise exceptions.RayActorError(error_msg="no answer from a lost worker")
                value = self.ray.get(ref)
            except (exceptions.RayActorError, exceptions.ObjectLostError) as err:
                if blamed:
                    if item is not None:
                        innocent.append(item)
                    continue
                blamed = True
                if item is None:
                    self._startup_death(err)
                else:
                    culprit = item
                continue
            except exceptions.RayTaskError as err:
                yield from self._task_error(item, err)
                continue
            yield from self._accept(slot, item, value)
        slot.info = None
        self.pending.extendleft(reversed(innocent))
        if culprit is not None:
            crashed = self.deaths.strike(culprit, self.pending)
            if crashed is not None:
                yield crashed
        log.warning("a Ray worker process died (%s); starting a new one for the remaining %d call(s)",
                    where, len(self.pending) + sum(s.calls() for s in self.slots))
        log.debug("Ray: %s", exc)

    def _startup_death(self, exc: BaseException) -> None:
        self.startup_deaths += 1
        if getattr(exc, "actor_init_failed", False) or self.startup_deaths > STARTUP_RETRIES:
            raise ConfigError(
                f"cannot start a Ray worker: it died while loading the scorecard and model "
                f"(is qa-pipeline installed on every node?): {first_lines(exc)}"
            )

    def _warn_placement(self) -> None:
        waiting = [s for s in self.slots if s.actor is not None and s.info is None]
        if waiting and not self.warned_placement:
            self.warned_placement = True
            log.warning(
                "Ray has not started %d of the %s after %.0fs: the cluster is busy or lacks the resources",
                len(waiting), self.shape.describe(), PLACEMENT_WARNING_SECONDS,
            )
