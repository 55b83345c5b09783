"""The library's single named logger.

The library never prints; it logs through ``qa_pipeline`` and reports progress through hooks.
The CLI decides what reaches the terminal.
"""

from __future__ import annotations

import logging as _logging
import sys as _sys

LOGGER_NAME = "qa_pipeline"


def get_logger(name: str | None = None) -> _logging.Logger:
    """Return the package logger or one of its children.

    Args:
        name: Optional child name, e.g. ``"asr"`` gives ``qa_pipeline.asr``.
    """
    return _logging.getLogger(LOGGER_NAME if not name else f"{LOGGER_NAME}.{name}")


class StderrHandler(_logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is when a record is emitted.

    A plain ``StreamHandler`` keeps the stream it was created with. The CLI installs its
    handler on the package logger, which outlives the command: when stderr was a temporary
    stream (a test runner capturing one invocation, an embedding application), every later
    record would go to that closed stream and fail with a "Logging error".
    """

    def __init__(self) -> None:
        super().__init__(_sys.stderr)

    @property
    def stream(self):  # type: ignore[override]
        return _sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        # StreamHandler.__init__ and setStream assign the stream; the live lookup ignores it.
        pass
