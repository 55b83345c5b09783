"""The ``qa`` command reference (``docs/cli.md``), generated from the live command.

``python -m qa_pipeline.cli.reference docs/cli.md`` (``make docs``) writes it;
``--check`` exits 1 when the file differs from what the command describes now. The reference
is read off the same objects that print ``--help`` — help texts, option names, value types,
defaults and ``qa run``'s option sections — so it cannot drift from them once regenerated.
"""

from __future__ import annotations

import argparse
import re
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, Iterator, Sequence

import typer

# Every command takes --help; listing it in each table says nothing.
HELP_OPTION = "--help"
DEFAULT_SECTION = "Options"
ARGUMENTS_SECTION = "Arguments"


@dataclass(frozen=True)
class ParamDoc:
    """One argument or option of a command, as its help describes it."""

    name: str
    flags: tuple[str, ...]
    value: str
    help: str
    default: str
    section: str

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "flags": list(self.flags), "value": self.value, "help": self.help,
                "default": self.default, "section": self.section}


@dataclass(frozen=True)
class CommandDoc:
    """One command or command group: its path (``("qa", "scorecard", "validate")``) and help."""

    path: tuple[str, ...]
    help: str
    usage: str
    arguments: tuple[ParamDoc, ...]
    options: tuple[ParamDoc, ...]
    subcommands: tuple[str, ...]

    @property
    def title(self) -> str:
        return " ".join(self.path)

    @property
    def anchor(self) -> str:
        return "-".join(self.path)

    @property
    def summary(self) -> str:
        return self.help.split("\n\n", 1)[0].replace("\n", " ").strip()

    def to_dict(self) -> dict[str, Any]:
        return {"path": list(self.path), "help": self.help, "usage": self.usage,
                "arguments": [a.to_dict() for a in self.arguments],
                "options": [o.to_dict() for o in self.options], "subcommands": list(self.subcommands)}


def _sections(command: Any, ctx: Any) -> dict[tuple[str, str], str]:
    """The section (``Input``, ``Options``…) each help row is printed under by ``--help``.

    Commands may group their options (``qa run`` does); recording what the command's own
    formatter writes keeps the reference in the same groups without knowing how.
    """
    found: dict[tuple[str, str], str] = {}

    class Recorder(type(ctx.make_formatter())):  # type: ignore[misc]
        current = DEFAULT_SECTION

        @contextmanager
        def section(self, name: str) -> Iterator[None]:
            previous, self.current = self.current, name
            try:
                yield
            finally:
                self.current = previous

        def write_dl(self, rows: Sequence[tuple[str, str]], *args: Any, **kwargs: Any) -> None:
            for row in rows:
                found.setdefault(tuple(row), self.current)  # type: ignore[arg-type]

    command.format_options(ctx, Recorder())
    return found


def _default(param: Any, ctx: Any) -> str:
    if param.required:
        return "required"
    value = param.get_default(ctx, call=False)
    if callable(value):
        return "computed"
    if getattr(param, "is_flag", False) and not getattr(param, "count", False):
        if value is None:
            return "–"
        if param.secondary_opts:
            return f"`{(param.opts if value else param.secondary_opts)[0]}`"
        return "on" if value else "off"
    if value is None or (isinstance(value, (list, tuple)) and not value):
        return "–"
    if isinstance(value, (list, tuple)):
        return ", ".join(f"`{v.value if isinstance(v, Enum) else v}`" for v in value)
    return f"`{value.value if isinstance(value, Enum) else value}`"


def _value(param: Any, ctx: Any) -> str:
    if getattr(param, "is_flag", False) or getattr(param, "count", False):
        return ""
    shown = str(param.display_type_rich(ctx) or "").removeprefix("<").removesuffix(">").replace(" range", "")
    # A value given many times is shown as list[X]; the table says "repeatable" (options) and
    # the usage line "..." (arguments) instead.
    shown = re.sub(r"^list\[(.*)\]$", r"\1", shown)
    shown = "path" if shown == "Path" else shown
    low, high = getattr(param, "min", None), getattr(param, "max", None)
    if low is not None and high is not None:
        shown += f" {low}–{high}"
    elif low is not None:
        shown += f" ≥ {low}"
    elif high is not None:
        shown += f" ≤ {high}"
    if getattr(param, "multiple", False):
        shown += ", repeatable"
    return shown


def _argument_label(param: Any) -> str:
    label = param.metavar or param.name.upper()
    if param.nargs == -1 and not label.endswith("..."):
        label += "..."
    return label if param.required or label.startswith("[") else f"[{label}]"


def _param(param: Any, ctx: Any, sections: dict[tuple[str, str], str]) -> ParamDoc:
    record = param.get_help_record(ctx)
    is_argument = param.param_type_name == "argument"
    section = ARGUMENTS_SECTION if is_argument else sections.get(tuple(record) if record else ("", ""), DEFAULT_SECTION)
    flags = (_argument_label(param),) if is_argument else (*param.opts, *param.secondary_opts)
    return ParamDoc(name=param.name or "", flags=tuple(flags), value=_value(param, ctx),
                    help=" ".join((getattr(param, "help", None) or "").split()),
                    default=_default(param, ctx), section=section)


def _walk(command: Any, path: tuple[str, ...], parent: Any) -> Iterator[CommandDoc]:
    ctx = typer.Context(command, info_name=path[-1], parent=parent)
    sections = _sections(command, ctx)
    params = [p for p in command.get_params(ctx) if not getattr(p, "hidden", False)]
    arguments = tuple(_param(p, ctx, sections) for p in params if p.param_type_name == "argument")
    # Sections in the order --help prints them (dicts keep insertion order).
    rank = {name: i for i, name in enumerate(dict.fromkeys(sections.values()))}
    options = tuple(sorted((_param(p, ctx, sections) for p in params
                            if p.param_type_name != "argument" and HELP_OPTION not in p.opts),
                           key=lambda o: rank.get(o.section, len(rank))))
    children = getattr(command, "commands", None)
    # In the order ``--help`` lists them.
    subcommands = tuple(n for n in command.list_commands(ctx) if not children[n].hidden) if children is not None else ()
    pieces = [*path, "[OPTIONS]"] if options else list(path)
    pieces += [a.flags[0] for a in arguments]
    if children is not None:
        pieces.append("COMMAND [ARGS]...")
    # As in --help: a form feed ends what is shown of a docstring.
    help_text = (command.help or "").split("\f")[0].strip()
    yield CommandDoc(path=path, help=help_text, usage=" ".join(pieces),
                     arguments=arguments, options=options, subcommands=subcommands)
    for name in subcommands:
        yield from _walk(children[name], (*path, name), ctx)


def command_docs(app: typer.Typer | None = None) -> list[CommandDoc]:
    """Every command of ``app`` (default: the ``qa`` application), groups before their members.

    Args:
        app: The Typer application to describe.

    Returns:
        One record per command and command group, the root first, hidden ones left out.
    """
    if app is None:
        from qa_pipeline.cli.main import app
    return list(_walk(typer.main.get_command(app), ("qa",), None))


def _text(text: str) -> str:
    # Help texts are plain text: angle brackets would vanish as HTML tags in Markdown.
    return text.replace("<", "\\<").replace(">", "\\>")


def _cell(text: str) -> str:
    return _text(text).replace("|", "\\|") or " "


def _table(params: Sequence[ParamDoc], first: str) -> list[str]:
    lines = [f"| {first} | value | meaning | default |", "| --- | --- | --- | --- |"]
    for p in params:
        flags = ", ".join(f"`{f}`" for f in p.flags)
        value = f"`{p.value}`".replace("|", "\\|") if p.value else ""
        lines.append(f"| {flags} | {value} | {_cell(p.help)} | {p.default.replace('|', chr(92) + '|')} |")
    return lines


def render_markdown(docs: Sequence[CommandDoc]) -> str:
    """``docs/cli.md``: a summary table, then one section per command with its option tables.

    Args:
        docs: The commands, as :func:`command_docs` returns them.
    """
    out = [
        "# `qa` command reference",
        "",
        "<!-- Generated by `make docs` (python -m qa_pipeline.cli.reference docs/cli.md) "
        "from the commands' own help: change the help, not this file. -->",
        "",
        "Every command and option of `qa`, as `qa COMMAND --help` describes them; every command also",
        "takes `--help`. Defaults are the built-in ones; where `qa.toml` can set a default, the",
        "option's meaning says so ([docs/batch.md](batch.md) describes the file). Regenerate with",
        "`make docs` after adding or changing a command or option; `tests/test_docs.py` fails",
        "while one is missing here.",
        "",
        "| command | what it does |",
        "| --- | --- |",
    ]
    out += [f"| [`{d.title}`](#{d.anchor}) | {_cell(d.summary)} |" for d in docs]
    for d in docs:
        out += ["", f"## {d.title}", "", _text(d.help), "", "```text", d.usage, "```"]
        if d.subcommands:
            out += ["", "Commands: " + ", ".join(f"[`{d.title} {n}`](#{d.anchor}-{n})" for n in d.subcommands) + "."]
        if d.arguments:
            out += ["", f"### {ARGUMENTS_SECTION}", "", *_table(d.arguments, "argument")]
        sections: list[str] = []
        for option in d.options:
            if option.section not in sections:
                sections.append(option.section)
        for section in sections:
            out += ["", f"### {section}", "", *_table([o for o in d.options if o.section == section], "option")]
    return "\n".join(out) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Write (or with ``--check`` compare) the command reference.

    Args:
        argv: Command-line arguments; default ``sys.argv[1:]``.

    Returns:
        The exit status: 1 when ``--check`` finds the file out of date.
    """
    parser = argparse.ArgumentParser(prog="python -m qa_pipeline.cli.reference", description=__doc__.split("\n\n")[0])
    parser.add_argument("path", nargs="?", type=Path, help="File to write (default: print to stdout).")
    parser.add_argument("--check", action="store_true", help="Exit 1 if PATH differs from the generated reference.")
    args = parser.parse_args(argv)
    text = render_markdown(command_docs())
    if args.path is None:
        sys.stdout.write(text)
        return 0
    if args.check:
        current = args.path.read_text(encoding="utf-8") if args.path.exists() else ""
        if current != text:
            print(f"{args.path} is out of date: run `make docs`", file=sys.stderr)
            return 1
        return 0
    args.path.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
