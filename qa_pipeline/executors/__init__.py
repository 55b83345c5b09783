"""Where the batch's calls are transcribed and scored, behind one interface.

Each executor (:class:`~qa_pipeline.executors.base.Executor`) runs the batch's worker code
(:mod:`qa_pipeline.batch.worker`) somewhere and hands each call's outcome back to the driver,
which plans, stores and logs the same way whichever executor ran the call:

- ``local`` (:mod:`qa_pipeline.executors.local`): a pool of worker processes on this machine;
- ``ray`` (:mod:`qa_pipeline.executors.ray_executor`): Ray actors on a cluster
  (:mod:`qa_pipeline.executors.ray_cluster`: sizing and connection).

The executors' modules are imported only by :func:`create_executor`, and each imports its
framework only when used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from qa_pipeline.executors.base import Executor, Finished

if TYPE_CHECKING:
    from qa_pipeline.batch.options import BatchOptions
    from qa_pipeline.batch.worker import WorkerConfig

__all__ = ["Executor", "Finished", "check_executor", "create_executor"]


def check_executor(name: str) -> None:
    """Refuse an executor that cannot run here before a run starts (Ray not installed).

    Raises:
        ConfigError: The executor's framework is missing; the message says what to install.
    """
    if name == "ray":
        from qa_pipeline.executors.ray_cluster import require_ray

        require_ray()


def create_executor(options: BatchOptions, config: WorkerConfig) -> Executor:
    """The executor ``options.executor`` names, for a run whose workers load ``config``.

    Raises:
        ConfigError: The executor name is unknown.
    """
    if options.executor == "local":
        from qa_pipeline.executors.local import LocalExecutor

        return LocalExecutor(options, config)
    if options.executor == "ray":
        from qa_pipeline.executors.ray_executor import RayExecutor

        return RayExecutor(options, config)
    from qa_pipeline.errors import ConfigError

    raise ConfigError(f"executor must be one of local, ray, got {options.executor!r}")
