"""The CLI's log handler must not outlive the stream of the command that installed it."""

from __future__ import annotations

import logging

from typer.testing import CliRunner

from qa_pipeline.cli.main import app
from qa_pipeline.log import LOGGER_NAME, StderrHandler, get_logger


def test_records_after_a_captured_command_reach_the_current_stderr(tmp_path, capsys) -> None:
    result = CliRunner().invoke(app, ["status", "--db", str(tmp_path / "missing.db")])
    assert result.exit_code != 0
    [handler] = logging.getLogger(LOGGER_NAME).handlers
    assert isinstance(handler, StderrHandler)
    capsys.readouterr()
    get_logger("test").warning("logged after the command")
    err = capsys.readouterr().err
    assert "logged after the command" in err
    assert "Logging error" not in err
