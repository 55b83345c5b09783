"""Option records as the one declaration of an option: its name, type, default and help.

A stage's options record (a frozen dataclass) declares each user-facing field with
:func:`option`. From that declaration come the command-line flag (``--beam-size``), the
``qa.toml`` key of the stage's table (``beam_size``), the validation of a configured value,
and the merge order, implemented once in :func:`resolve`: flag given on the command line,
else the ``qa.toml`` value, else the command's default, else the field's default.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import typing
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, TypeVar

from qa_pipeline.errors import ConfigError

T = TypeVar("T")

_META = "qa_option"
_NONE = object()


@dataclass(frozen=True)
class OptionSpec:
    """What a record declares about one option (see :func:`option`).

    Attributes:
        name: The dataclass field.
        key: The ``qa.toml`` key (also the name of the flag's value in :func:`resolve`).
        flags: The flag declaration(s) for Typer, e.g. ``("--vad/--no-vad",)``.
        help: The flag's help text.
        panel: The ``qa run --help`` section the flag is listed in.
        value_type: What the user writes: ``bool``, ``int``, ``float``, ``str``, ``Path`` or
            ``datetime`` (a day).
        optional: The flag may be left unset (None).
        choices: The values allowed, for a choice.
        parse: Turns what the user wrote (with its unit) into the field's value.
        shown_default: The default as the user would write it (the flag's default).
        minimum: Smallest value the flag accepts.
        maximum: Largest value the flag accepts.
        implies: Fields set together with this one when it is given (name → value).
        internal: Why the field is no user option (then it has no flag and no key).
    """

    name: str
    key: str
    flags: tuple[str, ...]
    help: str
    panel: str | None
    value_type: type
    optional: bool
    choices: tuple[str, ...]
    parse: Callable[[Any], Any] | None
    shown_default: Any
    minimum: float | None
    maximum: float | None
    implies: tuple[tuple[str, Any], ...]
    internal: str | None
    toml_types: tuple[type, ...] = ()

    @property
    def flag(self) -> str:
        """The long flag, e.g. ``--vad`` for ``--vad/--no-vad``."""
        return self.flags[0].split("/")[0]

    def accepts(self) -> tuple[type, ...]:
        """The TOML value types a configured value may have."""
        if self.toml_types:
            return self.toml_types
        if self.value_type is bool:
            return (bool,)
        if self.value_type is int:
            return (int,)
        if self.value_type is float:
            return (int, float)
        if self.value_type is datetime:
            return (str, date)
        return (str,)

    def check(self, raw: Any, *, ranges: bool = True) -> None:
        """Reject a configured value of the wrong type (or, with ``ranges``, outside the
        choices or the range).

        Raises:
            ValueError: The value does not fit; the message says what was expected.
        """
        if raw is None and self.optional:
            return
        kinds = self.accepts()
        if isinstance(raw, bool) and bool not in kinds or not isinstance(raw, kinds):
            raise ValueError(f"expected {_describe(self)}")
        if not ranges:
            return
        if self.choices and raw not in self.choices:
            raise ValueError(f"expected one of {', '.join(self.choices)}")
        if self.minimum is not None and isinstance(raw, (int, float)) and raw < self.minimum:
            raise ValueError(f"expected at least {self.minimum:g}")
        if self.maximum is not None and isinstance(raw, (int, float)) and raw > self.maximum:
            raise ValueError(f"expected at most {self.maximum:g}")

    def convert(self, value: Any) -> Any:
        """The field's value for a flag or configured value (enums and paths unwrapped, units parsed)."""
        if isinstance(value, Enum):
            value = value.value
        if isinstance(value, Path):
            value = str(value)
        if value is None or self.parse is None:
            return value
        return self.parse(value)


def _describe(spec: OptionSpec) -> str:
    names = {bool: "true or false", int: "a whole number", float: "a number", datetime: "a date YYYY-MM-DD"}
    return names.get(spec.value_type, "text")


def option(
    default: Any = dataclasses.MISSING,
    *,
    help: str,
    flag: str | None = None,
    key: str | None = None,
    panel: str | None = None,
    value_type: type | None = None,
    choices: Iterable[str] = (),
    parse: Callable[[Any], Any] | None = None,
    shown: Any = _NONE,
    minimum: float | None = None,
    maximum: float | None = None,
    implies: Mapping[str, Any] | None = None,
    short: str | None = None,
    toml_types: Iterable[type] = (),
    default_factory: Callable[[], Any] | None = None,
) -> Any:
    """Declare a user-facing option field of an options record.

    Args:
        default: The field's default.
        help: The flag's help text.
        flag: The flag; default ``--`` and the key with ``-`` for ``_``. A boolean defaulting
            to true is written ``--name/--no-name``.
        key: The ``qa.toml`` key; default the field's name.
        panel: The ``qa run --help`` section.
        value_type: What the user writes, when it is not the field's type (``str`` for
            ``4h`` of a field in seconds).
        choices: The values allowed.
        parse: Turns the written value into the field's value.
        shown: The default as written by the user (``"4h"``); default the field's default.
        minimum: Smallest value accepted.
        maximum: Largest value accepted.
        implies: Other fields set when this one is given.
        short: A one-letter alias of the flag (``-w``).
        toml_types: The value types accepted in ``qa.toml``, when not only the flag's.
        default_factory: For fields whose default is built.
    """
    meta = {
        "help": help, "flag": flag, "key": key, "panel": panel, "value_type": value_type, "choices": tuple(choices),
        "parse": parse, "shown": shown, "minimum": minimum, "maximum": maximum,
        "implies": tuple((implies or {}).items()), "short": short,
        "toml_types": tuple(toml_types),
    }
    if default_factory is not None:
        return dataclasses.field(default_factory=default_factory, metadata={_META: meta})
    return dataclasses.field(default=default, metadata={_META: meta})


def internal(default: Any, why: str) -> Any:
    """Declare a field that is no user option (no flag, no ``qa.toml`` key), saying why."""
    return dataclasses.field(default=default, metadata={_META: {"internal": why}})


_SPECS: dict[type, tuple[OptionSpec, ...]] = {}


def specs(cls: type) -> tuple[OptionSpec, ...]:
    """The option declarations of a record, in field order (internal fields included).

    Raises:
        TypeError: A field is declared with neither :func:`option` nor :func:`internal`.
    """
    if cls in _SPECS:
        return _SPECS[cls]
    hints = typing.get_type_hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        meta = f.metadata.get(_META)
        if meta is None:
            raise TypeError(f"{cls.__name__}.{f.name} is declared without option() or internal()")
        out.append(_spec(f, hints[f.name], meta))
    _SPECS[cls] = tuple(out)
    return _SPECS[cls]


def _spec(f: dataclasses.Field[Any], hint: Any, meta: Mapping[str, Any]) -> OptionSpec:
    default = f.default if f.default is not dataclasses.MISSING else None
    if "internal" in meta:
        return OptionSpec(f.name, f.name, (), "", None, object, True, (), None, default, None, None, (), meta["internal"])
    args = typing.get_args(hint)
    optional = type(None) in args
    plain = [a for a in args if a is not type(None)] or [hint]
    value_type = meta["value_type"] or (plain[0] if plain[0] in (bool, int, float, str) else str)
    key = meta["key"] or f.name
    flag = meta["flag"] or ("--" + key.replace("_", "-"))
    if value_type is bool and "/" not in flag and default is True:
        flag = f"{flag}/--no-{flag[2:]}"
    flags = (flag, meta["short"]) if meta["short"] else (flag,)
    shown = default if meta["shown"] is _NONE else meta["shown"]
    return OptionSpec(
        f.name, key, flags, meta["help"], meta["panel"], value_type, optional or shown is None, meta["choices"],
        meta["parse"], shown, meta["minimum"], meta["maximum"], meta["implies"], None, meta["toml_types"],
    )


def user_specs(cls: type) -> tuple[OptionSpec, ...]:
    """The options a user can set (flag and ``qa.toml`` key), in field order."""
    return tuple(s for s in specs(cls) if s.internal is None)


def section_keys(*classes: type) -> tuple[str, ...]:
    """The ``qa.toml`` keys of a table holding these records' options."""
    return tuple(s.key for cls in classes for s in user_specs(cls))


def unknown_keys(data: Mapping[str, Any], known: Iterable[str], path: Path | str, section: str) -> None:
    """Reject keys of a ``qa.toml`` table that no option declares.

    Raises:
        ConfigError: Naming the file, the table, each unknown key (with the closest known
            one) and the known keys.
    """
    known = tuple(known)
    unknown = sorted(set(data) - set(known))
    if not unknown:
        return
    where = f" in [{section}]" if section else ""
    hints = []
    for name in unknown:
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
        if close:
            hints.append(f"{name}: did you mean {close[0]}?")
    hint = f" ({'; '.join(hints)})" if hints else ""
    raise ConfigError(f"{path}: unknown key(s) {', '.join(unknown)}{where}{hint}; known: {', '.join(known)}")


def check_section(data: Any, classes: Iterable[type], path: Path | str, section: str) -> dict[str, Any]:
    """Validate a ``qa.toml`` table of options: known keys and value types.

    Args:
        data: The table as read.
        classes: The records whose options the table holds.
        path: The file, for messages.
        section: The table's name, for messages ("" for top-level keys).

    Returns:
        The table as a plain dict (values as written; paths relative to the file's folder
        made absolute).

    Raises:
        ConfigError: Not a table, an unknown key or a value of the wrong type; the message
            names the file, the table and the key.
    """
    if not isinstance(data, Mapping):
        raise ConfigError(f"{path}: [{section}] must be a table")
    classes = tuple(classes)
    unknown_keys(data, section_keys(*classes), path, section)
    by_key = {s.key: s for cls in classes for s in user_specs(cls)}
    table = f"[{section}] " if section else ""
    out = dict(data)
    for key, raw in data.items():
        spec = by_key[key]
        try:
            # Values are checked against their choices and ranges when used: a flag may override one.
            spec.check(raw, ranges=False)
        except ValueError as exc:
            raise ConfigError(f"{path}: {table}{key} = {raw!r} is not valid ({exc})") from exc
        if spec.value_type is Path and raw is not None:
            p = Path(raw).expanduser()
            out[key] = str(p if p.is_absolute() else Path(path).parent / p)
    return out


def resolve(
    cls: type[T],
    cli_values: Mapping[str, Any] | None = None,
    config_section: Mapping[str, Any] | None = None,
    *,
    defaults: Mapping[str, Any] | None = None,
    source: str = "qa.toml",
    section: str = "",
) -> T:
    """One options record from the command line, ``qa.toml`` and defaults, in that order.

    Args:
        cls: The options record.
        cli_values: Values given on the command line, by key (only those given; keys of
            other records are ignored).
        config_section: The ``qa.toml`` table (other records' keys ignored).
        defaults: A command's own defaults, by key, under the configured values.
        source: The configuration file, for messages.
        section: The configuration table, for messages.

    Returns:
        The record.

    Raises:
        ConfigError: A value is malformed or out of range; the message names the flag, or
            the file, table and key it came from.
    """
    cli_values = cli_values or {}
    config_section = config_section or {}
    defaults = defaults or {}
    values: dict[str, Any] = {}
    origin: dict[str, str] = {}
    table = f"[{section}] " if section else ""
    for spec in user_specs(cls):
        if spec.key in cli_values:
            raw, where = cli_values[spec.key], spec.flag
        elif spec.key in config_section:
            raw, where = config_section[spec.key], f"{source}: {table}{spec.key}"
            try:
                spec.check(raw)
            except ValueError as exc:
                raise ConfigError(f"{source}: {table}{spec.key} = {raw!r} is not valid ({exc})") from exc
        elif spec.key in defaults:
            raw, where = defaults[spec.key], spec.flag
        else:
            continue
        try:
            values[spec.name] = spec.convert(raw)
        except (ConfigError, ValueError, TypeError) as exc:
            raise ConfigError(f"{where}: {exc}") from exc
        origin[spec.name] = where
        if values[spec.name] is not None:
            for name, implied in spec.implies:
                values.setdefault(name, implied)
    try:
        return cls(**values)
    except (TypeError, ValueError) as exc:
        message = str(exc)
        culprit = next((origin[n] for n in origin if re.search(rf"\b{n}\b", message)), None)
        raise ConfigError(f"{culprit}: {message}" if culprit else f"{cls.__name__}: {message}") from exc


def from_dict(cls: type[T], data: Mapping[str, Any] | T | None) -> T:
    """A record from a mapping of its field names (as written by its ``to_dict``).

    Raises:
        ConfigError: Not a mapping, an unknown field, or a value the record refuses.
    """
    if data is None:
        return cls()
    if isinstance(data, cls):
        return data
    if not isinstance(data, Mapping):
        raise ConfigError(f"{cls.__name__}: expected a mapping, got {type(data).__name__}")
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(f"{cls.__name__}: unknown option(s) {', '.join(unknown)}")
    try:
        return cls(**data)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{cls.__name__}: {exc}") from exc
