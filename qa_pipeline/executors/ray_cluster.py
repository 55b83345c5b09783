"""The Ray cluster a run uses: whether Ray is installed, how many workers of what size fit on
the cluster (:func:`plan_actors`), and the connection for the run, with Ray's own output
routed into the project's logging.

Ray is imported only when a run uses it.
"""

from __future__ import annotations

import importlib.util
import logging
import math
import os
import socket
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator, Sequence

from qa_pipeline.errors import ConfigError
from qa_pipeline.log import get_logger

log = get_logger("ray")

RAY_INSTALL_HINT = "pip install 'qa-pipeline[ray]'"
# How long to try the head node's port before ray.init, which would retry for minutes.
CONNECT_TIMEOUT_SECONDS = 5.0


# --------------------------------------------------------------------------- availability
def ray_available() -> bool:
    """Whether Ray is installed (without importing it)."""
    return importlib.util.find_spec("ray") is not None


def require_ray() -> None:
    """Refuse ``--executor ray`` early when Ray is not installed.

    Raises:
        ConfigError: Ray is missing; the message names the extra to install.
    """
    if not ray_available():
        raise ConfigError(f"--executor ray needs Ray, which is not installed: {RAY_INSTALL_HINT}")


def import_ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise ConfigError(f"--executor ray needs Ray, which cannot be imported ({exc}): {RAY_INSTALL_HINT}") from exc
    return ray


# --------------------------------------------------------------------------- resources
@dataclass(frozen=True)
class NodeCapacity:
    """The resources one live Ray node offers.

    Attributes:
        cpus: Logical CPUs.
        gpus: GPUs.
    """

    cpus: float
    gpus: float = 0.0

    def to_dict(self) -> dict[str, float]:
        return {"cpus": self.cpus, "gpus": self.gpus}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "NodeCapacity":
        return cls(float(data["cpus"]), float(data.get("gpus", 0.0)))


@dataclass(frozen=True)
class ActorShape:
    """How many workers a run starts and what each reserves.

    Attributes:
        count: Actors.
        num_cpus: CPUs each (also its inference threads on CPU).
        num_gpus: GPUs each (a fraction when workers share a GPU); 0 for CPU workers.
    """

    count: int
    num_cpus: float
    num_gpus: float = 0.0

    @property
    def uses_gpu(self) -> bool:
        return self.num_gpus > 0

    def describe(self) -> str:
        each = f"{self.num_cpus:g} CPU" + (f" + {self.num_gpus:g} GPU" if self.uses_gpu else "")
        return f"{self.count} worker(s) of {each}"

    def to_dict(self) -> dict[str, Any]:
        return {"count": self.count, "num_cpus": self.num_cpus, "num_gpus": self.num_gpus}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ActorShape":
        return cls(int(data["count"]), float(data["num_cpus"]), float(data.get("num_gpus", 0.0)))


def plan_actors(nodes: Sequence[NodeCapacity], workers: int, device: str = "auto", cpu_threads: int = 0) -> ActorShape:
    """Size the workers for a cluster, so every one of them can be placed at once.

    Args:
        nodes: The cluster's live nodes.
        workers: Workers wanted (``--workers``).
        device: The recognition device: ``auto`` uses GPUs when the cluster has any.
        cpu_threads: Inference threads per worker (``--threads``); 0 = the cluster's CPUs
            shared equally.

    Raises:
        ConfigError: The cluster cannot hold that many workers, or ``cuda`` was asked for and
            the cluster has no GPU.
    """
    if workers < 1:
        raise ConfigError("workers must be at least 1")
    total_gpus = sum(n.gpus for n in nodes)
    if device == "cuda" and total_gpus <= 0:
        raise ConfigError(f"--device cuda: the Ray cluster has no GPU ({describe_nodes(nodes)})")
    if device != "cpu" and total_gpus > 0:
        return _gpu_shape(nodes, workers, cpu_threads)
    return _cpu_shape(nodes, workers, cpu_threads)


def _gpu_shape(nodes: Sequence[NodeCapacity], workers: int, cpu_threads: int) -> ActorShape:
    whole = max(1, int(sum(n.gpus for n in nodes)))
    share = math.ceil(workers / whole)
    # Ray keeps four decimals of a fractional resource; rounding down keeps `share` of them
    # within one GPU.
    num_gpus = 1.0 if share == 1 else math.floor(10_000 / share) / 10_000
    # The CPU side of a GPU worker: decoding, voice activity detection, scoring.
    num_cpus = float(cpu_threads or 1)
    room = _room(nodes, num_cpus, num_gpus)
    if room < workers:
        raise ConfigError(
            f"--workers {workers}: the Ray cluster has room for {room} GPU worker(s) of {num_cpus:g} CPU + "
            f"{num_gpus:g} GPU ({describe_nodes(nodes)}); lower --workers or --threads"
        )
    return ActorShape(workers, num_cpus, num_gpus)


def _cpu_shape(nodes: Sequence[NodeCapacity], workers: int, cpu_threads: int) -> ActorShape:
    if cpu_threads > 0:
        room = _room(nodes, float(cpu_threads), 0.0)
        if room < workers:
            raise ConfigError(
                f"--workers {workers} with --threads {cpu_threads}: the Ray cluster has room for {room} such "
                f"worker(s) ({describe_nodes(nodes)})"
            )
        return ActorShape(workers, float(cpu_threads))
    largest = max((int(n.cpus) for n in nodes), default=0)
    # The most CPUs per worker with which every worker still fits somewhere.
    for per in range(min(largest, int(sum(n.cpus for n in nodes)) // workers), 0, -1):
        if _room(nodes, float(per), 0.0) >= workers:
            return ActorShape(workers, float(per))
    raise ConfigError(
        f"--workers {workers}: the Ray cluster has room for {_room(nodes, 1.0, 0.0)} worker(s) of one CPU "
        f"({describe_nodes(nodes)}); lower --workers"
    )


def _room(nodes: Sequence[NodeCapacity], cpus: float, gpus: float) -> int:
    room = 0
    for n in nodes:
        fit = math.floor(n.cpus / cpus + 1e-9) if cpus > 0 else sys.maxsize
        if gpus > 0:
            fit = min(fit, math.floor(n.gpus / gpus + 1e-9))
        room += fit
    return room


def describe_nodes(nodes: Sequence[NodeCapacity]) -> str:
    gpus = sum(n.gpus for n in nodes)
    return f"{len(nodes)} node(s), {sum(n.cpus for n in nodes):g} CPU(s)" + (f", {gpus:g} GPU(s)" if gpus else "")


def cluster_capacity(ray: Any) -> list[NodeCapacity]:
    """The live nodes of the connected cluster."""
    nodes = []
    for node in ray.nodes():
        if node.get("Alive"):
            resources = node.get("Resources", {})
            nodes.append(NodeCapacity(float(resources.get("CPU", 0.0)), float(resources.get("GPU", 0.0))))
    return nodes


def first_lines(exc: BaseException, lines: int = 3) -> str:
    return " ".join(line.strip() for line in str(exc).strip().splitlines()[:lines])


# --------------------------------------------------------------------------- connection
@contextmanager
def ray_session(ray: Any, address: str | None) -> Iterator[None]:
    """Ray connected and quiet for the run: reuse a connection, or make one and close it."""
    output = _RayOutput()
    output.route()
    try:
        if ray.is_initialized():
            yield
            return
        target = address if address not in (None, "auto") else os.environ.get("RAY_ADDRESS") or address
        _check_reachable(target)
        # Offline by design: a cluster started here must not try to report usage statistics.
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        try:
            with output.errors_only():
                ray.init(address=address, include_dashboard=False, log_to_driver=False, configure_logging=False)
        except (ConnectionError, ValueError, RuntimeError) as exc:
            where = f"the Ray cluster at {target}" if target else "a local Ray cluster"
            raise ConfigError(f"cannot connect to {where}: {first_lines(exc)}") from exc
        output.route()  # ray.init drops the handlers of its logger
        try:
            yield
        finally:
            ray.shutdown()
    finally:
        output.restore()


def _check_reachable(address: str | None) -> None:
    """Fail in seconds on an unreachable head node (``ray.init`` retries for minutes)."""
    if address is None or address in ("auto", "local"):
        return
    hostport = address.split("://", 1)[1] if "://" in address else address
    host, sep, port = hostport.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise ConfigError(f"--ray-address {address!r}: expected auto, HOST:PORT or ray://HOST:PORT")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT_SECONDS).close()
    except OSError as exc:
        raise ConfigError(
            f"--ray-address {address}: cannot reach the Ray head node ({exc.strerror or exc}); "
            "is `ray start --head` running there?"
        ) from exc


class _RayLogForwarder(logging.Handler):
    """Passes Ray's own log records on to the project's logger, one level lower.

    Ray notes its cluster set-up (authentication tokens, resources) in every run; those notes
    are for operators running with ``-v``, while its errors stay warnings and reach the run
    log like the driver's own.
    """

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR:
            level = logging.WARNING
        elif record.levelno >= logging.WARNING:
            level = logging.INFO
        else:
            level = logging.DEBUG
        log.log(level, "%s: %s", record.name, record.getMessage())


class _RayOutput:
    """Ray's driver-side output routed into logging for the run, then put back as it was."""

    def __init__(self) -> None:
        self.logger = logging.getLogger("ray")
        self.saved = (list(self.logger.handlers), self.logger.propagate, self.logger.level)
        self.forwarder = _RayLogForwarder()
        # The driver prints messages the cluster publishes (a worker died…) straight to
        # stdout, with no public switch; the run reports worker deaths itself.
        self.printer = sys.modules.get("ray._private.worker")
        printing = getattr(self.printer, "_worker_logs_enabled", None)
        self.printing = printing if isinstance(printing, bool) else None

    def route(self) -> None:
        self.logger.handlers[:] = [self.forwarder]
        self.logger.propagate = False
        if self.printing is not None:
            self.printer._worker_logs_enabled = False  # type: ignore[union-attr]

    @contextmanager
    def errors_only(self) -> Iterator[None]:
        # While connecting, Ray's logger has no handler (ray.init clears it), so its set-up
        # notes would reach Python's last-resort handler on stderr.
        level = self.logger.level
        self.logger.setLevel(logging.ERROR)
        try:
            yield
        finally:
            self.logger.setLevel(level)

    def restore(self) -> None:
        self.logger.handlers[:] = self.saved[0]
        self.logger.propagate = self.saved[1]
        self.logger.setLevel(self.saved[2])
        if self.printing is not None:
            self.printer._worker_logs_enabled = self.printing  # type: ignore[union-attr]
