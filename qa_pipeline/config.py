"""``qa.toml``: per-folder defaults, so ``qa run``, ``qa export`` and ``qa report`` run in one
folder find each other's data with no flags.

Everything is optional; relative paths are relative to the folder holding ``qa.toml`` (the
current folder). Command-line flags override the file::

    db = "qa.db"                          # SQLite path or postgresql://user@host/dbname
    reports = "reports"                   # report site (and transcripts/ for call pages)
    logs = "logs"                         # one JSON-lines log per run
    recordings = "/srv/recordings"        # default RECORDINGS_DIR of `qa run`
    scorecard = "scorecards/default.en.yaml"
    workers = 2                           # transcription processes
    executor = "local"                    # or "ray": calls on a Ray cluster (docs/ray.md)
    ray_address = "auto"                  # the Ray cluster for executor = "ray"
    min_duration = "2s"                   # shorter recordings fail as too short

    [metadata]
    manifest = "calls.csv"                # "" = no manifests
    pattern = "{agent_id}_{started_at:%Y%m%d-%H%M%S}_{call_id}.wav"
    sidecars = true
    timezone = "UTC"                      # zone of times written without one
    [metadata.columns]                    # manifest column (and sidecar key) names
    agent_id = "AgentID"

    [transcribe]                          # the transcription options (docs/configuration.md)
    engine = "faster-whisper"
    model = "/models/whisper-small-ct2"
    language = "en"
    agent_channel = "0"
    cache_dir = "/var/cache/qa"

    [scoring]                             # qa run and qa score
    max_evidence = 8                      # evidence records kept per criterion

    [stats]                               # statistics of qa report and qa agent
    alpha = 0.05

    [report]
    pdf = false                           # also write the team PDF after each run
    title = "Call quality report"

    [redaction]                           # personal data removed before anything is stored
    enabled = true                        # on by default
    entities = ["card", "iban", "bank_account", "phone", "email", "ssn", "cn_id", "dob", "cvv"]
    default_region = "US"                 # phone numbers without a country code
    audio_dir = "redacted"                # also write toned-over copies of the recordings

    [goals]                               # read by every `qa run` and `qa report` (docs/goals.md)
    file = "goals.yaml"                   # a goals file beside qa.toml (YAML or CSV), and/or:
    [[goals.targets]]
    team = "North"
    period = "2026Q4"                     # a month 2026-11 or a quarter 2026Q4
    metric = "qa_score"                   # qa_score, aht_s or pass_rate:<criterion id>
    target = 85
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from qa_pipeline.errors import ConfigError
from qa_pipeline.metadata import MetadataOptions
from qa_pipeline.optionspec import check_section, resolve, section_keys, unknown_keys
from qa_pipeline.options import TRANSCRIBE_RECORDS, ScoringOptions
from qa_pipeline.pii.options import RedactionOptions
from qa_pipeline.runoptions import RunOptions

if TYPE_CHECKING:
    from qa_pipeline.stats.goals import Target

CONFIG_NAME = "qa.toml"

# The options of qa run (RunOptions) are top-level keys; the rest are the store and the tables.
TOP_KEYS = ("db", *section_keys(RunOptions), "metadata", "transcribe", "scoring", "report", "redaction", "stats", "goals")
GOALS_KEYS = ("file", "targets")
TARGET_KEYS = ("agent", "team", "period", "metric", "target", "direction")
REPORT_KEYS = ("pdf", "title")
# The tables holding stage options, their keys declared by the records (option_records).
OPTION_TABLES = ("transcribe", "scoring", "redaction", "stats")
# The name under which QAConfig.section gives the top-level keys of RunOptions.
RUN_SECTION = ""


@dataclass(frozen=True)
class QAConfig:
    """Folder defaults (see the module docstring).

    Attributes:
        db: The store: a SQLite path or a database URL.
        reports: Report folder.
        logs: Folder of per-run logs.
        recordings: Default recordings folder, or None.
        scorecard: Default scorecard, or None.
        workers: Transcription processes; None = chosen for the machine
            (:func:`qa_pipeline.batch.auto_workers`).
        min_duration: Shortest recording scored (text with a unit, e.g. ``1s``).
        metadata: Where call metadata comes from.
        transcribe: The ``[transcribe]`` table as written (paths made absolute), by the keys
            the transcription options declare (``engine``, ``model``, ``threads``…); merged
            under the flags by :func:`qa_pipeline.optionspec.resolve`.
        report_pdf: Write the team PDF when a run refreshes the reports.
        report_title: Report title.
        source: The file read, or None when there was none.
        redaction: Personal-data redaction (``[redaction]``; on by default).
        executor: Where ``qa run`` processes calls: ``local`` or ``ray``.
        ray_address: The Ray cluster for ``ray`` (``auto``, ``HOST:PORT``, ``ray://…``), or
            None for a new local cluster.
        goals: The goals of ``[goals]`` (its file's, then those written inline), assessed
            by every report (see ``docs/goals.md``).
        goals_file: The goals file named in ``[goals]``, or None.
        tables: The option tables as written (``transcribe``, ``scoring``, ``redaction``,
            ``stats``, and ``""`` for the top-level keys of ``qa run``'s options), validated
            against the options records; see :meth:`section`.
    """

    db: str = "qa.db"
    reports: Path = Path("reports")
    logs: Path = Path("logs")
    recordings: Path | None = None
    scorecard: Path | None = None
    workers: int | None = None
    min_duration: str = "1s"
    metadata: MetadataOptions = field(default_factory=MetadataOptions)
    transcribe: Mapping[str, Any] = field(default_factory=dict)
    report_pdf: bool = False
    report_title: str = "Call quality report"
    source: Path | None = None
    redaction: RedactionOptions = field(default_factory=RedactionOptions)
    executor: str = "local"
    ray_address: str | None = None
    goals: "tuple[Target, ...]" = ()
    goals_file: Path | None = None
    tables: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def section(self, name: str) -> Mapping[str, Any]:
        """An option table of the file as written (empty when absent), for
        :func:`qa_pipeline.optionspec.resolve`."""
        return self.tables.get(name, {})

    def to_dict(self) -> dict[str, Any]:
        return {
            "db": self.db,
            "reports": str(self.reports),
            "logs": str(self.logs),
            "recordings": None if self.recordings is None else str(self.recordings),
            "scorecard": None if self.scorecard is None else str(self.scorecard),
            "workers": self.workers,
            "min_duration": self.min_duration,
            "metadata": self.metadata.to_dict(),
            "transcribe": dict(self.transcribe),
            "report_pdf": self.report_pdf,
            "report_title": self.report_title,
            "source": None if self.source is None else str(self.source),
            "redaction": self.redaction.to_dict(),
            "executor": self.executor,
            "ray_address": self.ray_address,
            "goals": [g.to_dict() for g in self.goals],
            "goals_file": None if self.goals_file is None else str(self.goals_file),
            "tables": {name: dict(table) for name, table in self.tables.items()},
        }


def load_config(folder: str | os.PathLike[str] | None = None) -> QAConfig:
    """Read ``qa.toml`` from ``folder`` (default: the current folder).

    Without a file, the defaults are ``./qa.db``, ``./reports/`` and ``./logs/``, all relative
    to the current folder.

    Raises:
        ConfigError: The file is not valid TOML, has unknown keys, or a value of the wrong
            type; the message names the file and the key.
    """
    base = Path(folder) if folder is not None else Path.cwd()
    path = base / CONFIG_NAME
    if not path.is_file():
        return QAConfig(db=str(base / "qa.db"), reports=base / "reports", logs=base / "logs")
    return load_config_file(path)


def load_config_file(path: str | os.PathLike[str]) -> QAConfig:
    """Read a configuration file named explicitly (``--config``); its folder plays the part
    of the current folder (defaults and relative paths are relative to it).

    Raises:
        ConfigError: The file is missing, is not valid TOML, has unknown keys, or a value
            of the wrong type; the message names the file and the key.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise ConfigError(f"{path}: no such configuration file")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read ({exc})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from exc
    return parse_config(data, path)


def parse_config(data: Mapping[str, Any], path: Path) -> QAConfig:
    """Validate the contents of a ``qa.toml`` (see :func:`load_config`)."""
    base = path.parent
    _unknown(data, TOP_KEYS, path, "")

    def text(key: str, default: str | None = None) -> str | None:
        value = data.get(key, default)
        if value is not None and not isinstance(value, str):
            raise ConfigError(f"{path}: {key} must be a string, got {value!r}")
        return value

    def rel(value: str | None) -> Path | None:
        if value is None:
            return None
        p = Path(value).expanduser()
        return p if p.is_absolute() else base / p

    db = text("db", "qa.db") or "qa.db"
    if "://" not in db:
        db = str(rel(db))
    top = check_section({k: v for k, v in data.items() if k in section_keys(RunOptions)}, (RunOptions,), path, RUN_SECTION)
    # Checked in full (ranges and choices) when read, as these keys always were.
    run = resolve(RunOptions, {}, top, defaults={"reports": base / "reports", "logs": base / "logs"}, source=str(path))
    meta = data.get("metadata", {})
    if not isinstance(meta, dict):
        raise ConfigError(f"{path}: [metadata] must be a table")
    try:
        metadata = MetadataOptions.from_dict(meta)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    tables = {name: check_section(data[name], option_records(name), path, name) if name in data else {} for name in OPTION_TABLES}
    tables[RUN_SECTION] = top
    report = data.get("report", {})
    if not isinstance(report, dict):
        raise ConfigError(f"{path}: [report] must be a table")
    _unknown(report, REPORT_KEYS, path, "report")
    pdf = report.get("pdf", False)
    if not isinstance(pdf, bool):
        raise ConfigError(f"{path}: report.pdf must be true or false, got {pdf!r}")
    title = report.get("title", "Call quality report")
    if not isinstance(title, str):
        raise ConfigError(f"{path}: report.title must be a string")
    redaction_options = resolve(RedactionOptions, {}, tables["redaction"], source=str(path), section="redaction")
    goals, goals_file = parse_goals(data.get("goals"), path)
    return QAConfig(
        db=db,
        reports=run.reports,
        logs=run.logs,
        recordings=run.recordings,
        scorecard=run.scorecard,
        workers=run.workers,
        min_duration=top.get("min_duration", "1s"),
        metadata=metadata,
        transcribe=tables["transcribe"],
        report_pdf=pdf,
        report_title=title,
        source=path,
        redaction=redaction_options,
        executor=run.executor,
        ray_address=run.ray_address,
        goals=goals,
        goals_file=goals_file,
        tables=tables,
    )


def parse_goals(section: Any, path: Path) -> "tuple[tuple[Target, ...], Path | None]":
    """The goals of a ``[goals]`` table: its ``file`` (relative to ``qa.toml``) and ``targets``.

    Raises:
        ConfigError: The table, the file or an entry is invalid; the message names the file
            and the key (``goals.targets[2].metric``) or the goals file's entry.
    """
    if section is None:
        return (), None
    if not isinstance(section, dict):
        raise ConfigError(f"{path}: [goals] must be a table (file = \"goals.yaml\" and/or [[goals.targets]])")
    _unknown(section, GOALS_KEYS, path, "goals")
    # Statistics (pandas) are imported only by configurations that set goals.
    from qa_pipeline.stats.goals import Target, load_targets

    out: list[Target] = []
    goals_file = None
    if "file" in section:
        value = section["file"]
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{path}: goals.file must be the path of a goals file, got {value!r}")
        goals_file = Path(value).expanduser()
        if not goals_file.is_absolute():
            goals_file = path.parent / goals_file
        if not goals_file.is_file():
            raise ConfigError(f"{path}: goals.file: no such goals file {goals_file}")
        out.extend(load_targets(goals_file))
    entries = section.get("targets", [])
    if not isinstance(entries, list):
        raise ConfigError(f"{path}: goals.targets must be a list of tables ([[goals.targets]])")
    for i, entry in enumerate(entries, start=1):
        where = f"goals.targets[{i}]"
        if not isinstance(entry, dict):
            raise ConfigError(f"{path}: {where} must be a table with period, metric, target and agent or team")
        unknown = sorted(set(entry) - set(TARGET_KEYS))
        if unknown:
            raise ConfigError(f"{path}: {where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(TARGET_KEYS)}")
        for key in ("period", "metric", "target"):
            if key not in entry:
                raise ConfigError(f"{path}: {where}.{key} is missing")
        if not isinstance(entry["target"], (int, float)) or isinstance(entry["target"], bool):
            raise ConfigError(f"{path}: {where}.target must be a number, got {entry['target']!r}")
        try:
            out.append(Target.from_dict(entry))
        except (TypeError, ValueError) as exc:
            named = next((k for k in ("period", "metric", "direction") if k in str(exc).split()[0]), None)
            raise ConfigError(f"{path}: {where}{'.' + named if named else ''}: {exc}") from exc
    return tuple(out), goals_file


def _unknown(data: Mapping[str, Any], known: tuple[str, ...], path: Path, section: str) -> None:
    unknown_keys(data, known, path, section)


def option_records(table: str) -> tuple[type, ...]:
    """The options records whose options are the keys of a ``qa.toml`` table (see :data:`OPTION_TABLES`)."""
    if table == "stats":
        # Statistics pull in pandas: imported only for a file with a [stats] table.
        from qa_pipeline.stats.options import StatsOptions

        return (StatsOptions,)
    return {"transcribe": TRANSCRIBE_RECORDS, "scoring": (ScoringOptions,), "redaction": (RedactionOptions,), RUN_SECTION: (RunOptions,)}[table]



# The default scorecards ship inside the package, so an installed wheel has them too; the
# repository's scorecards/ holds the documented copies (a test keeps them byte-identical).
SCORECARDS_DIR = Path(__file__).resolve().parent / "data" / "scorecards"


def bundled_scorecard(language: str | None = None) -> Path | None:
    """The bundled default scorecard for a language (English when unknown), if present."""
    lang = (language or "en").split("-")[0].lower()
    for name in (f"default.{lang}.yaml", "default.en.yaml"):
        path = SCORECARDS_DIR / name
        if path.is_file():
            return path
    return None


def report_abilities(scorecard: Path | None) -> dict[str, tuple[str, ...]]:
    """The ability grouping reports use: the ``abilities:`` of the configured scorecard, else
    of the bundled English one (the default scorecards share criterion ids).

    Raises:
        ScorecardError: The scorecard cannot be read or is invalid.
    """
    from qa_pipeline.scorecard import load_scorecard

    path = scorecard if scorecard is not None else bundled_scorecard()
    return dict(load_scorecard(path).abilities) if path is not None else {}
