"""The exception hierarchy.

Every error the library raises on purpose derives from :class:`QAError`, so the CLI can turn
each one into a single ``Error: …`` line and the class's ``exit_code`` (1 unless a class says
otherwise: usage and configuration problems exit 2) without a traceback.
"""

from __future__ import annotations


class QAError(Exception):
    """Base class of every error qa_pipeline raises on purpose."""

    exit_code: int = 1


class AudioError(QAError):
    """A recording cannot be decoded or does not fit the pipeline's limits."""


class ModelError(QAError):
    """A speech-recognition model is missing, corrupt or unsuitable for the request."""


class EngineUnavailableError(ModelError):
    """An ASR engine's optional dependency is not installed."""


class ScorecardError(QAError):
    """A scorecard file is invalid."""


class TranscriptError(QAError):
    """A transcript file cannot be read or has an unsupported schema."""


class ScenarioError(QAError):
    """A synthetic-call scenario file is invalid."""


class ConfigError(QAError):
    """Options or configuration values are invalid."""

    exit_code = 2


class ReportError(QAError):
    """Statistics or report inputs are invalid, or a report cannot be written."""


class StoreError(QAError):
    """The results store cannot be opened, migrated or written."""


class LockedError(QAError):
    """Another run holds the results store's lock."""

    exit_code = 2
