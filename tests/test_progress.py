"""What long commands show while they run: in a terminal a live spinner, elsewhere (CI logs, pipes) one plain line
per step with its duration, and results as soon as they are known."""

from __future__ import annotations

import pytest
from support.cli import STEP_LINE

from hubgen.cli._common import steps


def test_without_a_terminal_each_step_is_one_line_with_its_duration(capsys):
    with steps() as report:
        report("checking the base")
        report.note("a result, printed at once")
        report("converting")
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "a result, printed at once"
    assert [STEP_LINE.match(line)["step"] for line in lines[1:]] == ["checking the base", "converting"]


def test_a_failing_step_says_it_failed(capsys):
    with pytest.raises(RuntimeError), steps() as report:
        report("pushing")
        raise RuntimeError("connection lost")
    (line,) = capsys.readouterr().err.splitlines()
    assert STEP_LINE.match(line)["step"] == "pushing" and STEP_LINE.match(line)["failed"]


def test_json_output_shows_no_steps(capsys):
    with steps(enabled=False) as report:
        report("checking the base")
        report.note("a result")
    assert capsys.readouterr() == ("", "")
