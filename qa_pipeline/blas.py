"""Numpy's BLAS held to one thread where results must not depend on the process.

OpenBLAS splits a matrix product differently on one thread than on several, so the last bits
of a float32 product follow how many BLAS threads the process started with: two cores by
default, one where ``OMP_NUM_THREADS=1`` is set (Ray sets it in its workers; batch schedulers
and users set it too). Recognition turns those bits into different word probabilities and
timestamps, and now and then a different word; similarities rounded to three decimals can
flip at a threshold. Both run their products on one thread, so the same audio gives the same
transcript and score in every process.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_lock = threading.Lock()
_controller: Any = None
_depth = 0
_limit: Any = None


def _blas_libraries() -> Any:
    global _controller
    if _controller is None:
        from threadpoolctl import ThreadpoolController

        # The libraries loaded now (numpy's BLAS among them), found once per process.
        _controller = ThreadpoolController()
    return _controller


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """Run the block with numpy's BLAS on one thread, then restore what was set.

    Nested and concurrent blocks share one limit: the first to enter sets it, the last to
    leave restores it.
    """
    global _depth, _limit
    with _lock:
        if _depth == 0:
            _limit = _blas_libraries().limit(limits=1, user_api="blas")
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                _limit.restore_original_limits()
                _limit = None
