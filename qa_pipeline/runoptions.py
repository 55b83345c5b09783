"""The options of ``qa run`` itself: where the recordings, scorecard, reports and logs are, and
how the calls are processed (workers, executor).

Their ``qa.toml`` keys are top-level keys (``recordings = "/srv/calls"``, ``workers = 4``), as
they always were; flags and keys are derived from :class:`RunOptions` and merged by
:func:`qa_pipeline.optionspec.resolve` like every stage's options.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from qa_pipeline.options import EXECUTION, INPUT, SCORING
from qa_pipeline.optionspec import from_dict, option

# Where calls are processed (see RunOptions.executor).
EXECUTORS = ("local", "ray")
# The report and log sections of ``qa run --help``.
REPORTS = "Reports"


def _path(value: Any) -> Path:
    return Path(value).expanduser()


def _duration(value: Any) -> float:
    from qa_pipeline.units import parse_duration

    return parse_duration(value)


@dataclass(frozen=True)
class RunOptions:
    """How ``qa run`` finds its input and processes the calls.

    Attributes:
        recordings: Recordings folder (the command's argument), or None.
        scorecard: Scorecard file, or None for the bundled one of the language.
        reports: Report folder.
        logs: Folder of the per-run logs.
        workers: Transcription processes; None = chosen for the machine.
        min_duration_seconds: Shorter recordings fail as too short.
        executor: ``local`` (worker processes here) or ``ray``.
        ray_address: The Ray cluster for ``ray``, or None for a new local one.
    """

    recordings: Path | None = option(
        None, value_type=Path, parse=_path, panel=INPUT,
        help="Recordings folder, searched recursively (default: recordings in qa.toml).")
    scorecard: Path | None = option(
        None, value_type=Path, parse=_path, short="-s", panel=SCORING,
        help="Scorecard YAML (default: scorecard in qa.toml, else the bundled default.<language>.yaml, as in scorecards/).")
    reports: Path = option(
        Path("reports"), value_type=Path, parse=_path, shown=None, panel=REPORTS, help="Report folder (default ./reports).")
    logs: Path = option(
        Path("logs"), value_type=Path, parse=_path, shown=None, panel=EXECUTION,
        help="Folder of the per-run JSON-lines logs (default ./logs).")
    workers: int | None = option(
        None, minimum=1, short="-w", panel=EXECUTION,
        help="Transcription processes (default: workers in qa.toml, else one per core up to 4 on a CPU, 1 on a GPU or with openai-whisper).")
    min_duration_seconds: float = option(
        1.0, key="min_duration", value_type=str, parse=_duration, shown=None, panel=INPUT,
        help="Shorter recordings fail as too short (default 1s).")
    executor: str = option(
        "local", choices=EXECUTORS, shown=None, panel=EXECUTION,
        help="Where calls are transcribed and scored: local (worker processes on this machine; the default, or executor in qa.toml) or ray (a Ray cluster, see docs/ray.md; pip install 'qa-pipeline[ray]').")
    ray_address: str | None = option(
        None, panel=EXECUTION,
        help="The Ray cluster for --executor ray: auto (the cluster this machine belongs to), HOST:PORT, or ray://HOST:10001 (Ray Client); default: a new local cluster (or ray_address in qa.toml, or RAY_ADDRESS).")

    def __post_init__(self) -> None:
        if self.workers is not None and self.workers < 1:
            raise ValueError(f"workers must be at least 1, got {self.workers}")
        if self.min_duration_seconds < 0:
            raise ValueError(f"min_duration must not be negative, got {self.min_duration_seconds}")
        if self.executor not in EXECUTORS:
            raise ValueError(f"executor must be one of {', '.join(EXECUTORS)}, got {self.executor!r}")

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("recordings", "scorecard", "reports", "logs"):
            out[key] = None if out[key] is None else str(out[key])
        return out

    @classmethod
    def from_dict(cls, data: "dict[str, Any] | RunOptions | None") -> "RunOptions":
        values = dict(data) if isinstance(data, dict) else data
        if isinstance(values, dict):
            for key in ("recordings", "scorecard", "reports", "logs"):
                if values.get(key) is not None:
                    values[key] = Path(values[key])
        return from_dict(cls, values)
