"""Reading scorecard YAML with line numbers, and typed access to criterion fields.

Every mapping and list the loader builds remembers the line it came from, so a problem can be
reported as ``FILE:LINE: criterion 'ID': field 'NAME': what is wrong``. :class:`FieldReader`
hands out each field once, converted and checked, and at the end names every field nobody
asked for (with a "did you mean" for typos such as ``whitin_first``).
"""

from __future__ import annotations

import difflib
import math
from pathlib import Path
from typing import Any, Iterable, Sequence

import yaml

from qa_pipeline.errors import ConfigError
from qa_pipeline.units import parse_duration, parse_percentage


class LineDict(dict):
    """A YAML mapping that remembers its own line and each key's line (1-based)."""

    line: int = 0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.key_lines: dict[Any, int] = {}

    def line_of(self, key: Any) -> int:
        return self.key_lines.get(key, self.line)


class LineList(list):
    """A YAML sequence that remembers its own line and each item's line (1-based)."""

    line: int = 0

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.item_lines: list[int] = []

    def line_of(self, index: int) -> int:
        return self.item_lines[index] if index < len(self.item_lines) else self.line


class FieldProblem(ConfigError):
    """One problem in a scorecard, with where it is."""

    def __init__(self, line: int, field: str | None, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.field = field
        self.message = message


class _LineLoader(yaml.SafeLoader):
    """Safe YAML loader whose mappings and lists carry line numbers and refuse duplicate keys."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    out = LineDict()
    out.line = node.start_mark.line + 1
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        try:
            hash(key)
        except TypeError:
            raise FieldProblem(line, None, "a mapping key must be a plain value") from None
        if key in out:
            raise FieldProblem(line, str(key), f"duplicate key (first given on line {out.key_lines[key]})")
        out[key] = loader.construct_object(value_node, deep=True)
        out.key_lines[key] = line
    return out


def _construct_sequence(loader: _LineLoader, node: yaml.SequenceNode) -> LineList:
    out = LineList(loader.construct_object(child, deep=True) for child in node.value)
    out.line = node.start_mark.line + 1
    out.item_lines = [child.start_mark.line + 1 for child in node.value]
    return out


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def load_yaml_with_lines(text: str) -> Any:
    """Parse YAML text into :class:`LineDict`/:class:`LineList` values.

    Raises:
        FieldProblem: The YAML is malformed or has a duplicate key.
    """
    try:
        return yaml.load(text, Loader=_LineLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 0
        raise FieldProblem(line, None, f"not valid YAML: {exc.problem or exc}") from exc
    except yaml.YAMLError as exc:
        raise FieldProblem(0, None, f"not valid YAML: {exc}") from exc


_MISSING = object()


def _type_name(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "a true/false value"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the text {value!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


class FieldReader:
    """Typed, checked access to the fields of one YAML mapping.

    Args:
        data: The mapping.
        prefix: Dotted path of the mapping inside its criterion (``overlap.``), for messages.
    """

    def __init__(self, data: LineDict, prefix: str = "") -> None:
        self.data = data
        self.prefix = prefix
        self._used: set[str] = set()

    @property
    def line(self) -> int:
        return self.data.line

    def has(self, name: str) -> bool:
        """Whether the field is given (asking marks the name as known to this reader)."""
        self._used.add(name)
        return name in self.data

    def problem(self, name: str | None, message: str) -> FieldProblem:
        line = self.data.line_of(name) if name is not None else self.data.line
        return FieldProblem(line, None if name is None else self.prefix + name, message)

    def _get(self, name: str, default: Any) -> Any:
        self._used.add(name)
        if name not in self.data:
            if default is _MISSING:
                raise self.problem(None, f"missing required field '{self.prefix}{name}'")
            return default
        return self.data[name]

    def raw(self, name: str, default: Any = _MISSING) -> Any:
        """The value as loaded, unconverted."""
        return self._get(name, default)

    def string(self, name: str, default: Any = _MISSING) -> str:
        value = self._get(name, default)
        if value is default and name not in self.data:
            return value
        if not isinstance(value, str) or not value.strip():
            raise self.problem(name, f"expected non-empty text, got {_type_name(value)}")
        return value.strip()

    def boolean(self, name: str, default: Any = _MISSING) -> bool:
        value = self._get(name, default)
        if not isinstance(value, bool):
            raise self.problem(name, f"expected true or false, got {_type_name(value)}")
        return value

    def number(
        self,
        name: str,
        default: Any = _MISSING,
        *,
        minimum: float | None = None,
        maximum: float | None = None,
        exclusive_minimum: bool = False,
        integer: bool = False,
    ) -> Any:
        value = self._get(name, default)
        if value is None and default is None and name not in self.data:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.problem(name, f"expected a number, got {_type_name(value)}")
        if not math.isfinite(value):
            # YAML's .inf and .nan are floats; a NaN weight would make every total NaN.
            raise self.problem(name, f"must be a finite number, got {value}")
        if integer and not float(value).is_integer():
            raise self.problem(name, f"expected a whole number, got {value}")
        if minimum is not None and (value <= minimum if exclusive_minimum else value < minimum):
            op = ">" if exclusive_minimum else ">="
            raise self.problem(name, f"must be {op} {minimum:g}, got {value}")
        if maximum is not None and value > maximum:
            raise self.problem(name, f"must be <= {maximum:g}, got {value}")
        return int(value) if integer else float(value)

    def duration(self, name: str, default: Any = _MISSING) -> Any:
        """A duration in seconds; the YAML value must carry its unit (``15s``, ``500ms``)."""
        value = self._get(name, default)
        if name not in self.data:
            return value
        try:
            seconds = parse_duration(value)
        except ConfigError as exc:
            raise self.problem(name, str(exc)) from None
        if not math.isfinite(seconds):
            raise self.problem(name, f"must be a finite duration, got {value!r}")
        return seconds

    def percentage(self, name: str, default: Any = _MISSING) -> Any:
        """A fraction 0..1 written as a percentage (``40%``)."""
        value = self._get(name, default)
        if name not in self.data:
            return value
        try:
            return parse_percentage(value)
        except ConfigError as exc:
            raise self.problem(name, str(exc)) from None

    def choice(self, name: str, choices: Sequence[str], default: Any = _MISSING) -> str:
        value = self._get(name, default)
        if value not in choices:
            raise self.problem(name, f"expected one of {', '.join(choices)}, got {_type_name(value)}")
        return value

    def mapping(self, name: str, default: Any = _MISSING) -> "FieldReader | None":
        """A nested mapping as its own reader (call ``finish()`` on it)."""
        value = self._get(name, default)
        if name not in self.data:
            return value
        if not isinstance(value, LineDict):
            raise self.problem(name, f"expected a mapping, got {_type_name(value)}")
        return FieldReader(value, prefix=f"{self.prefix}{name}.")

    def phrases(self, name: str, languages: Sequence[str], default: Any = _MISSING) -> Any:
        """A phrase list: a plain list (every language) or ``{language: [phrases]}``.

        Returns:
            ``{"*": (...)}`` for a plain list, else ``{language: (...)}`` with every scorecard
            language present.
        """
        value = self._get(name, default)
        if name not in self.data:
            return value
        if isinstance(value, LineList):
            return {"*": self._phrase_list(name, value, name)}
        if not isinstance(value, LineDict):
            raise self.problem(
                name,
                f"expected a list of phrases or a mapping of language to phrases, got {_type_name(value)}",
            )
        out: dict[str, tuple[str, ...]] = {}
        for lang, items in value.items():
            field = f"{name}.{lang}"
            if lang not in languages:
                raise FieldProblem(
                    value.line_of(lang),
                    self.prefix + field,
                    f"language '{lang}' is not one of the scorecard's languages ({', '.join(languages)})",
                )
            if not isinstance(items, LineList):
                raise FieldProblem(
                    value.line_of(lang),
                    self.prefix + field,
                    f"expected a list of phrases, got {_type_name(items)}",
                )
            out[str(lang)] = self._phrase_list(field, items, field)
        missing = [lang for lang in languages if lang not in out]
        if missing:
            raise self.problem(name, f"no phrases for language(s) {', '.join(missing)}")
        return out

    def _phrase_list(self, name: str, items: LineList, field: str) -> tuple[str, ...]:
        if not items:
            raise FieldProblem(items.line, self.prefix + field, "the phrase list is empty")
        out: list[str] = []
        for i, item in enumerate(items):
            if not isinstance(item, str) or not item.strip():
                raise FieldProblem(
                    items.line_of(i),
                    self.prefix + field,
                    f"phrase {i + 1} must be non-empty text, got {_type_name(item)}",
                )
            if item.strip() in out:
                raise FieldProblem(
                    items.line_of(i), self.prefix + field, f"phrase {item.strip()!r} is listed twice"
                )
            out.append(item.strip())
        return tuple(out)

    def finish(self, also_known: Iterable[str] = ()) -> None:
        """Refuse fields nobody read.

        Args:
            also_known: Names handled elsewhere (shown as suggestions, not reported).
        """
        known = self._used | set(also_known)
        for key in self.data:
            if key in known:
                continue
            hint = difflib.get_close_matches(str(key), sorted(known), n=1, cutoff=0.6)
            suggestion = (
                f"; did you mean '{hint[0]}'?" if hint else f"; known fields: {', '.join(sorted(known))}"
            )
            raise FieldProblem(self.data.line_of(key), self.prefix + str(key), f"unknown field{suggestion}")


def format_problem(path: Path | str, problem: FieldProblem, criterion_id: str | None) -> str:
    """``FILE:LINE: criterion 'ID': field 'NAME': message``, leaving out the parts not known."""
    parts = [f"{path}:{problem.line}" if problem.line else str(path)]
    if criterion_id is not None:
        parts.append(f"criterion '{criterion_id}'")
    if problem.field is not None:
        parts.append(f"field '{problem.field}'")
    parts.append(problem.message)
    return ": ".join(parts)
