"""The documentation against the code: every command and option of ``qa`` is in docs/cli.md,
every ``qa …`` line of the README and docs parses against the live command (the cheap README
commands also run, on a small store scored without speech recognition), every ``make`` target
the README names exists, and every file the README and docs link or name is there.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import re
import shlex
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Annotated, List, Optional

import pytest
import typer
from typer.core import TyperCommand
from typer.testing import CliRunner

from batch_support import scripted_transcript, write_lexical_scorecard
from qa_pipeline.cli.main import app
from qa_pipeline.cli.reference import CommandDoc, command_docs, render_markdown
from qa_pipeline.cli.reference import main as reference_main

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
CLI_MD = ROOT / "docs" / "cli.md"
# Markdown with `qa` examples; docs/cli.md is generated from the command and checked apart.
DOCS = (README, *sorted(p for p in (ROOT / "docs").glob("*.md") if p != CLI_MD),
        ROOT / "scorecards" / "README.md", ROOT / "samples" / "README.md")
REGENERATE = "run `make docs` (python -m qa_pipeline.cli.reference docs/cli.md)"

LIVE = command_docs()
COMMAND = typer.main.get_command(app)
FLAG = re.compile(r"`(--?[A-Za-z][\w-]*)`")


def _cli_sections() -> dict[str, str]:
    """docs/cli.md's text under each ``## qa …`` heading, by command."""
    parts = re.split(r"^## (qa\b.*)$", CLI_MD.read_text(encoding="utf-8"), flags=re.M)
    return {title.strip(): body for title, body in zip(parts[1::2], parts[2::2])}


def _documented_flags(body: str) -> set[str]:
    """The flags in the first column of a section's option tables."""
    flags: set[str] = set()
    for line in body.splitlines():
        cells = line.split(" | ")
        if line.startswith("| `-") and len(cells) > 1:
            flags.update(FLAG.findall(cells[0]))
    return flags


# --- every command and option is in docs/cli.md ----------------------------------------------


@pytest.mark.parametrize("doc", LIVE, ids=lambda d: d.title)
def test_every_command_and_option_is_in_the_reference(doc: CommandDoc) -> None:
    sections = _cli_sections()
    assert doc.title in sections, f"docs/cli.md has no section for `{doc.title}`: {REGENERATE}"
    documented = _documented_flags(sections[doc.title])
    missing = [flag for option in doc.options for flag in option.flags if flag not in documented]
    assert not missing, f"docs/cli.md does not document {', '.join(missing)} of `{doc.title}`: {REGENERATE}"
    for argument in doc.arguments:
        assert f"`{argument.flags[0]}`" in sections[doc.title], (
            f"docs/cli.md does not document argument {argument.flags[0]} of `{doc.title}`: {REGENERATE}")


def test_the_reference_names_no_command_or_option_that_is_gone() -> None:
    live = {d.title: {f for o in d.options for f in o.flags} for d in LIVE}
    for title, body in _cli_sections().items():
        assert title in live, f"docs/cli.md documents `{title}`, which no longer exists: {REGENERATE}"
        gone = sorted(_documented_flags(body) - live[title])
        assert not gone, f"docs/cli.md documents {', '.join(gone)} of `{title}`, which no longer exist: {REGENERATE}"


class _Shade(str, Enum):
    light = "light"
    dark = "dark"


class _Grouped(TyperCommand):
    """Prints its options in two sections, as ``qa run`` does."""

    def format_options(self, ctx, formatter) -> None:
        rows = [(p, p.get_help_record(ctx)) for p in self.get_params(ctx)]
        for title, names in (("Look", {"shade", "vad"}), ("Amount", {"beams", "tags"})):
            with formatter.section(title):
                formatter.write_dl([r for p, r in rows if r and p.name in names])


def _toy_app() -> typer.Typer:
    toy = typer.Typer(add_completion=False, rich_markup_mode=None)

    @toy.callback()
    def _root() -> None:
        """A toy <tool>."""

    @toy.command("paint", cls=_Grouped)
    def paint(
        target: Annotated[Path, typer.Argument(help="What to paint.")],
        shade: Annotated[_Shade, typer.Option(help="Colour | tone.")] = _Shade.dark,
        vad: Annotated[bool, typer.Option("--vad/--no-vad", help="Skip the gaps.")] = True,
        beams: Annotated[int, typer.Option("--beams", "-b", min=1, help="How many.")] = 2,
        tags: Annotated[Optional[List[str]], typer.Option("--tag", help="Labels.")] = None,
    ) -> None:
        """Paint a thing.

        Second paragraph.
        """

    return toy


def test_the_reference_is_read_off_the_commands_help() -> None:
    docs = command_docs(_toy_app())
    assert [d.title for d in docs] == ["qa", "qa paint"]
    paint = docs[1]
    assert paint.usage == "qa paint [OPTIONS] TARGET"
    # Sections in the order the command prints them, options in their order within each.
    assert [(o.section, o.flags) for o in paint.options] == [
        ("Look", ("--shade",)), ("Look", ("--vad", "--no-vad")), ("Amount", ("--beams", "-b")), ("Amount", ("--tag",))]
    text = render_markdown(docs)
    assert "A toy \\<tool\\>." in text  # plain text, not an HTML tag
    assert "| [`qa paint`](#qa-paint) | Paint a thing. |" in text
    assert "### Look" in text and text.index("### Look") < text.index("### Amount")
    assert "| `TARGET` | `path` | What to paint. | required |" in text
    assert "| `--shade` | `light\\|dark` | Colour \\| tone. | `dark` |" in text
    assert "| `--vad`, `--no-vad` |  | Skip the gaps. | `--vad` |" in text
    assert "| `--beams`, `-b` | `int ≥ 1` | How many. | `2` |" in text
    assert "| `--tag` | `str, repeatable` | Labels. | – |" in text
    assert "--help" not in text.split("## qa paint")[1]


def test_regeneration_is_one_command_and_check_finds_a_stale_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "cli.md"
    assert reference_main([str(target)]) == 0
    assert target.read_text(encoding="utf-8") == render_markdown(LIVE)
    assert reference_main(["--check", str(target)]) == 0
    target.write_text(target.read_text(encoding="utf-8").replace("`--beam-size`", "`--beams`"), encoding="utf-8")
    assert reference_main(["--check", str(target)]) == 1
    assert "out of date: run `make docs`" in capsys.readouterr().err


# --- every `qa …` line of the docs parses against the live command ---------------------------


@dataclass(frozen=True)
class DocCommand:
    """A ``qa …`` command line found in a Markdown file."""

    where: str
    argv: tuple[str, ...]
    inline: bool

    @property
    def text(self) -> str:
        return " ".join(self.argv)


# Code blocks that hold shell lines (cron and systemd ones included); YAML, JSON… are skipped.
SHELL_FENCES = ("", "sh", "bash", "shell", "console", "ini")
QA_WORD = re.compile(r"(?:^|\s|/)qa\s")


def _fenced_lines(text: str) -> list[tuple[int, str]]:
    """Lines of shell code blocks with their line numbers; ``\\``-continued lines joined."""
    lines: list[tuple[int, str]] = []
    fence: str | None = None
    pending: tuple[int, str] | None = None
    for number, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith("```"):
            fence = line.lstrip()[3:].strip() if fence is None else None
            continue
        if fence not in SHELL_FENCES:
            continue
        start, head = pending if pending else (number, "")
        if line.rstrip().endswith("\\"):
            pending = (start, head + line.rstrip()[:-1] + " ")
            continue
        pending = None
        lines.append((start, head + line))
    return lines


def _qa_argv(segment: str) -> list[str] | None:
    """The ``qa …`` words of one shell command, without redirections; None when it runs no ``qa``."""
    if not QA_WORD.search(segment):
        return None
    words = shlex.split(segment, comments=True)
    for i, word in enumerate(words):
        if (word == "qa" and (i == 0 or words[i - 1] == "--")) or word.endswith("/bin/qa"):
            argv = ["qa"]
            for rest in words[i + 1:]:
                if re.match(r"^\d*[<>]", rest):
                    break
                argv.append(rest)
            return argv
    return None


def doc_commands(path: Path) -> list[DocCommand]:
    """Every ``qa …`` command line of a Markdown file: in code blocks, and code spans that start with ``qa``."""
    text = path.read_text(encoding="utf-8")
    name = path.relative_to(ROOT).as_posix()
    found: list[DocCommand] = []
    for number, line in _fenced_lines(text):
        for segment in re.split(r"\s(?:&&|\|\||;|\|)\s", line):
            argv = _qa_argv(segment)
            if argv:
                found.append(DocCommand(f"{name}:{number}", tuple(argv), inline=False))
    prose = re.sub(r"^```.*?^```", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S | re.M)
    for number, line in enumerate(prose.splitlines(), 1):
        for span in re.findall(r"`([^`]+)`", line):
            if span.startswith("qa "):
                found.append(DocCommand(f"{name}:{number}", tuple(shlex.split(span)), inline=True))
    return found


ALL_COMMANDS = [c for path in DOCS for c in doc_commands(path)]
README_COMMANDS = [c for c in ALL_COMMANDS if c.where.startswith("README.md:")]


def resolve(argv: tuple[str, ...], inline: bool = False) -> tuple[str, ...]:
    """The command path an argv names, after checking its words against the live command.

    Only names are checked — commands, options, how many arguments — never values, so
    placeholders (``FILE``, ``CALL_ID…``) pass. A code span may name an option without its
    value (``qa report --out``).

    Raises:
        AssertionError: An unknown command or option, or an extra argument.
    """
    command = COMMAND
    path = ["qa"]
    args = list(argv[1:])
    ctx = None
    while True:
        ctx = typer.Context(command, info_name=path[-1], parent=ctx)
        try:
            _, rest, _ = command.make_parser(ctx).parse_args(args=list(args))
        except typer.TyperException as exc:  # the parser's usage errors: unknown option, missing value
            if inline and "requires an argument" in str(exc) and args and args[-1].startswith("-"):
                _, rest, _ = command.make_parser(ctx).parse_args(args=args[:-1])
            else:
                raise AssertionError(f"`{' '.join(path)}`: {exc}") from None
        children = getattr(command, "commands", None)
        if children is None:
            assert not rest, f"`{' '.join(path)}` takes no argument {rest[0]!r}"
            return tuple(path)
        if not rest:
            return tuple(path)
        assert rest[0] in children, f"`{' '.join(path)}` has no command {rest[0]!r}"
        command = children[rest[0]]
        path.append(rest[0])
        args = rest[1:]


def test_the_docs_show_qa_commands() -> None:
    # The extraction must keep finding the README's examples, or the checks below check nothing.
    shown = {resolve(c.argv, c.inline) for c in README_COMMANDS}
    assert {("qa", "run"), ("qa", "transcribe"), ("qa", "report"), ("qa", "scorecard", "validate")} <= shown
    assert any(not c.inline for c in README_COMMANDS)


@pytest.mark.parametrize("command", ALL_COMMANDS, ids=lambda c: f"{c.where} {c.text}")
def test_every_documented_command_line_parses(command: DocCommand) -> None:
    try:
        resolve(command.argv, command.inline)
    except AssertionError as exc:
        pytest.fail(f"{command.where}: `{command.text}` does not parse: {exc}")


def test_the_parse_check_rejects_what_the_command_would() -> None:
    assert resolve(("qa", "scorecard", "validate", "FILE…")) == ("qa", "scorecard", "validate")
    assert resolve(("qa", "report", "--out"), inline=True) == ("qa", "report")
    for bad, why in (
        (("qa", "run", "--no-such-flag"), "--no-such-flag"),
        (("qa", "nonsense"), "no command 'nonsense'"),
        (("qa", "scorecard", "check", "x.yaml"), "no command 'check'"),
        (("qa", "status", "extra"), "takes no argument 'extra'"),
        (("qa", "report", "--out"), "requires an argument"),
    ):
        with pytest.raises(AssertionError, match=re.escape(why)):
            resolve(bad)


# --- the cheap README commands run -----------------------------------------------------------

# Commands that need no recogniser, run on a store of the sample calls' metadata with scripted
# transcripts. The first README line of each is run, its placeholders replaced.
CHEAP = {
    ("qa", "scorecard", "validate"), ("qa", "score"), ("qa", "status"), ("qa", "export"),
    ("qa", "report"), ("qa", "agent"), ("qa", "calibrate"),
}
SCORECARDS = [str(ROOT / "scorecards" / "default.en.yaml"), str(ROOT / "scorecards" / "default.zh.yaml")]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with ./qa.db (the eight sample calls, scored), a transcript and a scorecard."""
    from qa_pipeline.metadata import CallMetadata
    from qa_pipeline.scorecard import load_scorecard
    from qa_pipeline.scoring import score_transcript
    from qa_pipeline.store import CallResult, CallStatus, CallTimings, Store

    folder = tmp_path_factory.mktemp("docs-commands")
    card_path = folder / "scorecard.yaml"
    # Judging by meaning loads an embedding model; phrases alone keep these runs instant.
    write_lexical_scorecard(ROOT / "scorecards" / "default.en.yaml", card_path)
    card = load_scorecard(card_path)
    with (ROOT / "samples" / "recordings" / "calls.csv").open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    with Store.open(str(folder / "qa.db")) as store:
        for n, row in enumerate(rows):
            sha = hashlib.sha256(row["call_id"].encode()).hexdigest()
            transcript = scripted_transcript(row["call_id"], sha, greeting=n % 3 != 2)
            meta = CallMetadata(
                path=Path("/rec") / row["file"], call_id=row["call_id"], agent_id=row["agent_id"],
                agent_name=row["agent_name"], team=row["team"],
                started_at=datetime.fromisoformat(row["started_at"]), sources={"agent_id": "manifest"},
            )
            store.save_call(CallResult(
                meta=meta, content_sha256=sha, file_size=1000 + n, file_mtime_ns=1_700_000_000_000_000_000 + n,
                status=CallStatus.OK, transcript=transcript, score=score_transcript(transcript, card),
                timings=CallTimings(asr_s=1.0),
            ))
    transcript.save(folder / "call.json")
    return folder


def _stand_ins(argv: tuple[str, ...], workspace: Path) -> list[str]:
    """``argv`` with the README's placeholders replaced by files and ids of ``workspace``."""
    values = {
        "TRANSCRIPT.json": str(workspace / "call.json"),
        "ID-OR-NAME": "Sarah",
        "NAME-OR-ID": "A01",
        "HUMAN.csv": str(ROOT / "samples" / "human_evaluations.csv"),
    }
    out: list[str] = []
    for i, word in enumerate(argv[1:], 1):
        if word in ("FILE", "FILE…"):
            if argv[i - 1] == "--out":
                out.append(str(workspace / "export.csv"))
            elif argv[i - 1] == "--scorecard":
                out.append(str(workspace / "scorecard.yaml"))
            else:
                out.extend(SCORECARDS)
        else:
            out.append(values.get(word, word))
    return out


@functools.cache
def _first_readme_lines() -> dict[tuple[str, ...], DocCommand]:
    first: dict[tuple[str, ...], DocCommand] = {}
    for command in README_COMMANDS:
        first.setdefault(resolve(command.argv, command.inline), command)
    return {path: c for path, c in first.items() if path in CHEAP}


def test_the_readme_shows_every_cheap_command() -> None:
    missing = CHEAP - set(_first_readme_lines())
    assert not missing, f"README.md no longer shows {sorted(' '.join(p) for p in missing)}"


@pytest.mark.parametrize("path", sorted(CHEAP), ids=" ".join)
def test_readme_command_runs(path: tuple[str, ...], workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    command = _first_readme_lines()[path]
    monkeypatch.chdir(workspace)
    args = _stand_ins(command.argv, workspace)
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, f"{command.where}: `qa {' '.join(args)}` exited {result.exit_code}:\n{result.output}"
    assert "Error" not in result.output
    if path == ("qa", "report"):
        assert (workspace / "reports" / "index.html").is_file()
    if path == ("qa", "export"):
        assert (workspace / "export.csv").stat().st_size > 0


# --- make targets and links ------------------------------------------------------------------


def _makefile_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    return {
        name
        for match in re.finditer(r"^([A-Za-z0-9_.$()/ -]+?)\s*:(?!=)", text, re.M)
        for name in match.group(1).split()
    }


def _readme_make_targets() -> set[str]:
    text = README.read_text(encoding="utf-8")
    return set(re.findall(r"(?:^|`)make ([a-z][\w-]*)", text, re.M))


def test_every_make_target_the_readme_names_exists() -> None:
    named = _readme_make_targets()
    assert {"demo", "test", "speedups", "docs"} <= named
    missing = sorted(named - _makefile_targets())
    assert not missing, f"README.md names make target(s) {missing} that the Makefile does not define"


PATH_PREFIXES = ("qa_pipeline/", "benchmarks/", "docs/", "tests/", "samples/", "scorecards/", "notebooks/")


@pytest.mark.parametrize("doc", [README, *sorted((ROOT / "docs").glob("*.md"))], ids=lambda p: p.name)
def test_every_linked_and_named_file_exists(doc: Path) -> None:
    text = doc.read_text(encoding="utf-8")
    missing = []
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if target.startswith(("http://", "https://", "mailto:", "#")):
            continue
        if not (doc.parent / target.split("#")[0]).exists():
            missing.append(target)
    for span in re.findall(r"`([^`\n]+)`", text):
        for word in span.split():
            word = word.rstrip(".,;:)").split("::")[0]
            if word.startswith(PATH_PREFIXES) and not any(c in word for c in "*<{…") and not (ROOT / word).exists():
                missing.append(word)
    assert not missing, f"{doc.relative_to(ROOT)} links or names missing files: {missing}"
