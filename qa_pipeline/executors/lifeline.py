"""Worker processes that end when the process that started them dies.

A ``qa run`` killed with SIGKILL (by an operator, a scheduler's timeout or the out-of-memory
killer) cannot stop its workers, and each holds a model in memory (about 400 MB for the
bundled one) and keeps transcribing for nobody. Two guards end them:

- on Linux, the kernel sends the worker SIGKILL the moment its parent dies
  (``prctl(PR_SET_PDEATHSIG)``, set through ctypes);
- everywhere, a daemon thread checks once a second whether the worker's parent is still the
  process that started it (an orphan is adopted by another process), and ends the worker if
  not. This also covers a parent that died before the first guard was in place.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time

from qa_pipeline.log import get_logger

log = get_logger("executors.lifeline")

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
WATCH_SECONDS = 1.0
# The exit status of a worker that ended because its parent was gone.
ORPHAN_EXIT = 70


def set_death_signal() -> bool:
    """Ask the kernel to SIGKILL this process when its parent dies (Linux only).

    Returns:
        Whether the request was accepted.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        result = libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError) as exc:
        log.debug("prctl(PR_SET_PDEATHSIG) is not available: %s", exc)
        return False
    if result != 0:
        log.debug("prctl(PR_SET_PDEATHSIG) failed: %s", os.strerror(ctypes.get_errno()))
        return False
    return True


def die_with_parent(parent_pid: int, use_death_signal: bool = True, watch_seconds: float = WATCH_SECONDS) -> None:
    """Make this process end when ``parent_pid``, its parent, is gone.

    Call it first thing in a worker process (a process pool's initializer).

    Args:
        parent_pid: The pid of the process that started this one.
        use_death_signal: Also use the kernel's parent-death signal where there is one;
            False leaves the watchdog thread alone on guard.
        watch_seconds: How often the watchdog looks.
    """
    if use_death_signal:
        set_death_signal()
    # The parent may have died before the signal was asked for: then nobody would send it.
    if os.getppid() != parent_pid:
        os._exit(ORPHAN_EXIT)
    watchdog = threading.Thread(target=_watch, args=(parent_pid, watch_seconds), name="qa-parent-watch", daemon=True)
    watchdog.start()


def _watch(parent_pid: int, watch_seconds: float) -> None:
    while True:
        time.sleep(watch_seconds)
        if os.getppid() != parent_pid:
            # No clean-up to do: the driver owns the store and the log; the worker only computes.
            os._exit(ORPHAN_EXIT)
