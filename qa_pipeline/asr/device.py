"""Where faster-whisper runs: device and compute-type selection, checked before loading.

CTranslate2 decides by itself what to do with a compute type its device lacks, and reports a
missing GPU as a bare CUDA error; both are turned here into a :class:`ConfigError` that names
the option, what this machine offers and the way out.
"""

from __future__ import annotations

import os

from qa_pipeline.errors import ConfigError
from qa_pipeline.log import get_logger

log = get_logger("asr")

# Every compute type CTranslate2 knows; "default" is ours (int8 on CPU, float16 on CUDA).
COMPUTE_TYPES = (
    "default", "auto", "int8", "int8_float32", "int8_float16", "int8_bfloat16",
    "int16", "float16", "bfloat16", "float32",
)
DEFAULT_COMPUTE_TYPE = {"cpu": "int8", "cuda": "float16"}

CUDA_HINT = (
    "install an NVIDIA driver for CUDA 12 and the cuBLAS 12 library CTranslate2 loads "
    "(e.g. pip install nvidia-cublas-cu12, on LD_LIBRARY_PATH; see docs/gpu.md), "
    "or use --device cpu"
)


def cuda_device_count() -> int:
    """GPUs CTranslate2 can use (0 when its CUDA runtime cannot start)."""
    import ctranslate2

    try:
        return int(ctranslate2.get_cuda_device_count())
    except RuntimeError:
        return 0


def resolve_device(device: str) -> str:
    """``cpu`` or ``cuda`` for the ``--device`` value.

    Raises:
        ConfigError: ``cuda`` was asked for and no CUDA device is usable, or the value is unknown.
    """
    if device not in ("auto", "cpu", "cuda"):
        raise ConfigError(f"device must be auto, cpu or cuda, got {device!r}")
    if device == "cpu":
        return "cpu"
    count = cuda_device_count()
    if device == "cuda" and count == 0:
        raise ConfigError(f"device 'cuda' was requested but CTranslate2 sees no CUDA device: {CUDA_HINT}")
    return "cuda" if count > 0 else "cpu"


def supported_compute_types(device: str) -> frozenset[str]:
    """The compute types CTranslate2 offers on this machine's ``device``."""
    import ctranslate2

    try:
        return frozenset(ctranslate2.get_supported_compute_types(device))
    except (RuntimeError, ValueError):
        return frozenset()


def resolve_compute_type(compute_type: str, device: str, fallback: bool = False) -> str:
    """The compute type to load the model with on a resolved ``device``.

    ``default`` is int8 on CPU and float16 on CUDA; ``auto`` lets CTranslate2 choose the
    fastest the device supports.

    Args:
        compute_type: The option's value.
        device: ``cpu`` or ``cuda``.
        fallback: The device was chosen automatically (``--device auto``): a type it cannot
            compute in (float16 for a GPU that is not there) falls back to the device's
            default with a warning instead of an error.

    Raises:
        ConfigError: The name is unknown, or the device cannot compute in that type.
    """
    if compute_type not in COMPUTE_TYPES:
        raise ConfigError(f"compute type {compute_type!r} is unknown; choose one of {', '.join(COMPUTE_TYPES)}")
    if compute_type == "default":
        return DEFAULT_COMPUTE_TYPE[device]
    if compute_type == "auto":
        return compute_type
    supported = supported_compute_types(device)
    if supported and compute_type not in supported:
        if fallback:
            log.warning(
                "compute type %s is not supported on %s here; using %s", compute_type, device, DEFAULT_COMPUTE_TYPE[device]
            )
            return DEFAULT_COMPUTE_TYPE[device]
        raise ConfigError(
            f"compute type {compute_type!r} is not supported on {device} here "
            f"(supported: {', '.join(sorted(supported))}); use --compute-type default"
        )
    return compute_type


def available_cores() -> int:
    """CPU cores this process may run on (its affinity where the system reports one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def reproducible_gemm() -> None:
    """Ask MKL for strict conditional numerical reproducibility unless the environment says
    otherwise; call before an engine loads MKL (CTranslate2's GEMM library on Intel CPUs).

    MKL's GEMM results then do not depend on the thread count, which differs between
    executors and worker counts. Other CPUs use oneDNN, whose results measured the same with
    1, 2 and 8 threads.
    """
    os.environ.setdefault("MKL_CBWR", "AUTO,STRICT")
