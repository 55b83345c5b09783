"""The library's single named logger.

The library never prints; it logs through ``qa_pipeline`` and reports progress through hooks.
The CLI decides what reaches the terminal.
"""

from __future__ import annotations

import logging as _logging

LOGGER_NAME = "qa_pipeline"


def get_logger(name: str | None = None) -> _logging.Logger:
    """Return the package logger or one of its children.

    Args:
        name: Optional child name, e.g. ``"asr"`` gives ``qa_pipeline.asr``.
    """
    return _logging.getLogger(LOGGER_NAME if not name else f"{LOGGER_NAME}.{name}")
