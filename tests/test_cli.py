"""The command line never answers with a traceback: bad usage is one line and exit 2, a failure one line
and exit 1; every period goes through one parser; --version; help texts show defaults."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from flows.cli import period_arg

CLI = str(Path(sys.executable).with_name("clusterwatch"))


def clusterwatch(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "200"}          # help text unwrapped
    return subprocess.run([CLI, *args], capture_output=True, text=True, timeout=120, env=env)


@pytest.mark.parametrize("text, month", [("2025-06", "2025-06"), ("202506", "2025-06"), ("2025/6", "2025-06"),
                                         ("2025年6月", "2025-06"), ("2025-06-01", "2025-06"), (" 2025-12 ", "2025-12")])
def test_one_period_parser_accepts_the_bureau_spellings(text, month):
    assert period_arg(text) == month


@pytest.mark.parametrize("args", [
    ["map", "--period", "2025-13"], ["alerts", "--period", "foo"], ["report", "--period", "0000-01"],
    ["alerts", "--warehouse", "/nonexistent/cw.duckdb"], ["check", "/nonexistent/monthly.csv"],
    ["run", "--inbox", "/nonexistent/inbox"], ["deliver", "--warehouse", "/nonexistent/cw.duckdb"],
    ["map"], ["frobnicate"],
])
def test_bad_usage_is_one_line_and_exit_2(args):
    result = clusterwatch(*args)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_a_failing_command_is_one_line_and_exit_1(tmp_path):
    not_duckdb = tmp_path / "cw.duckdb"
    not_duckdb.write_text("not a database", encoding="utf-8")
    result = clusterwatch("map", "--period", "2025-06", "--warehouse", str(not_duckdb))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("clusterwatch map: failed: ")


def test_version_and_help_with_defaults():
    version = clusterwatch("--version")
    assert version.returncode == 0 and version.stdout.startswith("clusterwatch ")
    help_text = clusterwatch("serve", "--help").stdout
    assert "(default: 0 2 * * *)" in help_text and "(default: Asia/Shanghai)" in help_text
