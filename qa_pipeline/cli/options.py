"""Flag groups shared by the commands, derived from the stage options records.

A command declares a parameter whose default is a :class:`FlagGroup` (``asr: Flags =
ENGINE_FLAGS``); :func:`derive_flags` replaces it by one flag per option of the group's
records (:mod:`qa_pipeline.optionspec`: flag, help, default, range and ``qa run --help``
section come from the record's field) and hands the command the flags given on the command
line, by ``qa.toml`` key. :func:`qa_pipeline.optionspec.resolve` then merges them over
``qa.toml`` and the defaults. ``--db`` and ``--config`` are declared here once too.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Callable, Mapping, Optional, TypeVar

import typer

from qa_pipeline.errors import ConfigError
from qa_pipeline.optionspec import OptionSpec, resolve, user_specs
from qa_pipeline.options import TRANSCRIBE_RECORDS, AudioOptions, CacheOptions, ScoringOptions, TranscribeOptions
from qa_pipeline.runoptions import RunOptions

if TYPE_CHECKING:
    from qa_pipeline.config import QAConfig
    from qa_pipeline.pii import RedactionOptions
    from qa_pipeline.stats import StatsOptions

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class FlagGroup:
    """Flags derived from options records, as the default of a command's parameter.

    Attributes:
        records: The options records whose user options become flags.
        only: Only the options with these ``qa.toml`` keys (None: all).
        defaults: The command's own defaults, by key, where they differ from the record's.
    """

    records: tuple[type, ...]
    only: tuple[str, ...] | None = None
    defaults: Mapping[str, Any] = field(default_factory=dict)

    def specs(self) -> tuple[OptionSpec, ...]:
        """The options of the group, in declaration order."""
        return tuple(s for cls in self.records for s in user_specs(cls) if self.only is None or s.key in self.only)


class Flags(dict):  # type: ignore[type-arg]
    """The flags of a group given on the command line (key → value); the rest are absent."""

# qa forget removes cached transcripts: the cache folder of qa run and qa transcribe.
CACHE_DIR_FLAGS = FlagGroup((CacheOptions,), only=("cache_dir",))


def _redaction_records() -> tuple[type, ...]:
    from qa_pipeline.pii.options import RedactionOptions

    return (RedactionOptions,)


# The recognition, channel and cache flags of qa run and qa transcribe ([transcribe] in qa.toml).
ENGINE_FLAGS = FlagGroup(TRANSCRIBE_RECORDS)
# qa bench's subset: the rest of the configuration is what each benchmarked preset sets.
BENCH_FLAGS = FlagGroup((TranscribeOptions,), only=("device", "compute_type", "model", "batch_size"), defaults={"device": "cpu"})


# The personal-data flags of qa run and qa transcribe ([redaction] in qa.toml).
REDACTION_FLAGS = FlagGroup(_redaction_records())


def _stats_records() -> tuple[type, ...]:
    # qa_pipeline.stats.options loads neither pandas nor scipy (the statistics package is lazy).
    from qa_pipeline.stats.options import StatsOptions

    return (StatsOptions,)


# The scoring flags of qa run and qa score ([scoring] in qa.toml).
SCORING_FLAGS = FlagGroup((ScoringOptions,))
# qa run's own flags (top-level keys of qa.toml); the recordings folder is its argument.
RUN_FLAGS = FlagGroup((RunOptions,), only=tuple(s.key for s in user_specs(RunOptions) if s.key != "recordings"))
# qa forget rewrites the report site and the run logs that qa run writes.
FOLDER_FLAGS = FlagGroup((RunOptions,), only=("reports", "logs"))

# The statistics flags of qa report and qa agent ([stats] in qa.toml).
STATS_FLAGS = FlagGroup(_stats_records())


ConfigOpt = Annotated[Optional[Path], typer.Option("--config", help="The qa.toml to read (default: ./qa.toml when present); its folder replaces the current folder for the defaults and relative paths in it.", rich_help_panel="Execution")]
DbOpt = Annotated[Optional[str], typer.Option("--db", help="Results store: a SQLite file or a postgresql:// URL (default ./qa.db, or db in qa.toml).", rich_help_panel="Store")]

_ENUMS: dict[tuple[str, tuple[str, ...]], type[Enum]] = {}


def _choice(spec: OptionSpec) -> type[Enum]:
    # Typer lists an Enum's values as the flag's choices; one class per option, made once.
    name = "".join(part.title() for part in spec.key.split("_"))
    key = (name, spec.choices)
    if key not in _ENUMS:
        _ENUMS[key] = Enum(name, [(c.replace("-", "_"), c) for c in spec.choices], type=str)  # type: ignore[assignment,misc]
    return _ENUMS[key]


def _parameter(spec: OptionSpec, default: Any) -> inspect.Parameter:
    kind: Any = spec.value_type
    extra: dict[str, Any] = {}
    if spec.choices:
        kind = _choice(spec)
        default = None if default is None else kind(default)
    elif spec.value_type is datetime:
        extra["formats"] = ["%Y-%m-%d"]
    elif spec.value_type is Path and default is not None:
        default = Path(default)
    if spec.minimum is not None:
        extra["min"] = spec.minimum
    if spec.maximum is not None:
        extra["max"] = spec.maximum
    if spec.optional:
        kind = Optional[kind]
    flag = typer.Option(*spec.flags, help=spec.help, rich_help_panel=spec.panel, **extra)
    return inspect.Parameter(spec.key, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=Annotated[kind, flag])


def derive_flags(func: F) -> F:
    """Expand a command's :class:`FlagGroup` parameters into their flags (see the module docstring).

    Raises:
        TypeError: A derived flag's name is already a parameter of the command.
    """
    signature = inspect.signature(func, eval_str=True)
    params: list[inspect.Parameter] = []
    groups: dict[str, tuple[str, ...]] = {}
    ctx_name = next((p.name for p in signature.parameters.values() if p.annotation is typer.Context), None)
    if ctx_name is None:
        params.append(inspect.Parameter("qa_ctx", inspect.Parameter.KEYWORD_ONLY, annotation=typer.Context))
    for p in signature.parameters.values():
        if not isinstance(p.default, FlagGroup):
            # Typer passes every value by name; keyword-only lets the derived flags sit anywhere.
            params.append(p.replace(kind=inspect.Parameter.KEYWORD_ONLY))
            continue
        group = p.default
        keys = []
        for spec in group.specs():
            if spec.key in signature.parameters:
                raise TypeError(f"{func.__name__}: flag {spec.flag} clashes with the parameter {spec.key}")
            params.append(_parameter(spec, group.defaults.get(spec.key, spec.shown_default)))
            keys.append(spec.key)
        groups[p.name] = tuple(keys)

    def command(**kwargs: Any) -> Any:
        ctx = kwargs[ctx_name] if ctx_name else kwargs.pop("qa_ctx")
        for name, keys in groups.items():
            kwargs[name] = given(ctx, {key: (key, kwargs.pop(key)) for key in keys})
        return func(**kwargs)

    command.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in params}
    for attr in ("__module__", "__name__", "__qualname__", "__doc__"):
        setattr(command, attr, getattr(func, attr))
    return command  # type: ignore[return-value]


def load(config_file: Path | None) -> "QAConfig":
    """The configuration of ``--config``, else ``./qa.toml`` (defaults without one).

    Raises:
        ConfigError: The file is missing (when named) or invalid.
    """
    from qa_pipeline.config import load_config, load_config_file

    return load_config() if config_file is None else load_config_file(config_file)


def stage_options(
    flags: Mapping[str, Any], config: "QAConfig", group: FlagGroup = ENGINE_FLAGS,
) -> tuple[AudioOptions, TranscribeOptions, CacheOptions]:
    """The transcription stage's options: flags over ``[transcribe]`` of ``qa.toml`` over defaults.

    Raises:
        ConfigError: A value is malformed; the message names the flag or the file and key.
    """
    source = str(config.source or "qa.toml")
    section = config.transcribe

    def one(cls: type) -> Any:
        return resolve(cls, flags, section, defaults=group.defaults, source=source, section="transcribe")

    return one(AudioOptions), one(TranscribeOptions), one(CacheOptions)


def _source(config: "QAConfig") -> str:
    return str(config.source or "qa.toml")


def run_options(flags: Mapping[str, Any], config: "QAConfig") -> RunOptions:
    """``qa run``'s own options: flags (and the recordings argument) over the top-level keys
    of ``qa.toml`` over defaults (``reports/`` and ``logs/`` beside ``qa.toml``).

    Raises:
        ConfigError: A value is malformed or out of range.
    """
    from qa_pipeline.config import RUN_SECTION

    defaults = {"reports": config.reports, "logs": config.logs}
    return resolve(RunOptions, flags, config.section(RUN_SECTION), defaults=defaults, source=_source(config))


def scoring_options(flags: Mapping[str, Any], config: "QAConfig") -> ScoringOptions:
    """Scoring options: flags over ``[scoring]`` of ``qa.toml`` over defaults.

    Raises:
        ConfigError: A value is malformed or out of range.
    """
    return resolve(ScoringOptions, flags, config.section("scoring"), source=_source(config), section="scoring")


def redaction_options(flags: Mapping[str, Any], config: "QAConfig") -> "RedactionOptions":
    """Redaction options: flags over ``[redaction]`` of ``qa.toml`` over defaults.

    Raises:
        ConfigError: An unknown entity, a malformed value, or a redacted audio copy asked
            for with redaction off.
    """
    from qa_pipeline.pii.options import RedactionOptions

    options = resolve(RedactionOptions, flags, config.section("redaction"), source=str(config.source or "qa.toml"), section="redaction")
    if options.redact_audio and not options.enabled:
        raise ConfigError("--redact-audio needs redaction on (it was turned off with --no-redact or in qa.toml)")
    return options


def stats_options(flags: Mapping[str, Any], config: "QAConfig") -> "StatsOptions":
    """Statistics options: flags over ``[stats]`` of ``qa.toml`` over defaults.

    Raises:
        ConfigError: A value is malformed or out of range.
    """
    from qa_pipeline.stats.options import StatsOptions

    return resolve(StatsOptions, flags, config.section("stats"), source=str(config.source or "qa.toml"), section="stats")


def given(ctx: typer.Context, values: Mapping[str, tuple[str, Any]]) -> Flags:
    """The flags a command declares itself that were given on the command line, by ``qa.toml`` key.

    Args:
        ctx: The command's context.
        values: ``qa.toml`` key → (parameter name, value).
    """
    out = Flags()
    for key, (name, value) in values.items():
        source = ctx.get_parameter_source(name)
        # Compared by name: Typer brings its own copy of Click and its enum.
        if source is not None and source.name != "DEFAULT":
            out[key] = value
    return out
