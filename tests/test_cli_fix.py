"""``check --fix``/``--unsafe-fixes``/``--fix-only``/``--diff``: end to end with the real
ASL301 (an unsafe fix) in a subprocess, and in-process with a test-only safe-fix rule."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from asynclint import cli, engine, parallel
from asynclint.engine import FileJob, FileResult
from tests.conftest import ROOT, RunCli
from tests.test_fixer import extra_rules  # noqa: F401 (a fixture)

SLEEPY = "import time\n\n\nasync def main():\n    time.sleep(1)\n"
FIXED = "import time\nimport asyncio\n\n\nasync def main():\n    await asyncio.sleep(1)\n"
STUCK = "import time\n\n\nasync def main():\n    result = time.sleep(2)\n"
"""ASL301 offers no fix when the call's value is used."""
MESSAGE = "`time.sleep(...)` blocks the event loop; use `await asyncio.sleep(...)`"
CHECK = ("check", "--isolated", "--select", "ASL301", "--format", "concise")


@pytest.fixture
def app(tmp_path: Path) -> Path:
    path = tmp_path / "app.py"
    path.write_text(SLEEPY)
    return path


def test_fix_applies_no_unsafe_fix_by_default(run_cli: RunCli, app: Path) -> None:
    done = run_cli(*CHECK, "--fix", "app.py")
    assert (done.returncode, done.stdout) == (
        1,
        f"app.py:5:5: ASL301 {MESSAGE}\n\nFound 1 problem.\n",
    )
    assert app.read_text() == SLEEPY


def test_unsafe_fixes_fix_everything_and_exit_0(run_cli: RunCli, app: Path) -> None:
    done = run_cli(*CHECK, "--fix", "--unsafe-fixes", "app.py")
    assert (done.returncode, done.stdout, done.stderr) == (
        0,
        "Found 1 problem (1 fixed, 0 remaining).\n",
        "",
    )
    assert app.read_text() == FIXED
    again = run_cli(*CHECK, "--fix", "--unsafe-fixes", "app.py")
    assert (again.returncode, again.stdout) == (0, "All checks passed!\n")
    assert app.read_text() == FIXED


def test_fix_reports_what_remains_and_exits_1(run_cli: RunCli, app: Path) -> None:
    (app.parent / "stuck.py").write_text(STUCK)
    done = run_cli(*CHECK, "--fix", "--unsafe-fixes", ".")
    assert (done.returncode, done.stdout) == (
        1,
        f"./stuck.py:5:14: ASL301 {MESSAGE}\n\nFound 2 problems (1 fixed, 1 remaining).\n",
    )
    assert (app.read_text(), (app.parent / "stuck.py").read_text()) == (FIXED, STUCK)


def test_fix_with_a_machine_format_keeps_stdout_machine_readable(
    run_cli: RunCli, app: Path
) -> None:
    done = run_cli(*CHECK, "--format", "json", "--fix", "--unsafe-fixes", "app.py")
    assert (done.returncode, json.loads(done.stdout), done.stderr) == (0, [], "Fixed 1 problem.\n")


def test_diff_prints_the_change_and_writes_nothing(run_cli: RunCli, app: Path) -> None:
    done = run_cli(*CHECK, "--diff", "--unsafe-fixes", "app.py")
    assert done.stdout == (
        "--- app.py\n+++ app.py\n@@ -1,5 +1,6 @@\n import time\n+import asyncio\n \n \n"
        " async def main():\n-    time.sleep(1)\n+    await asyncio.sleep(1)\n"
    )
    assert (done.returncode, done.stderr) == (1, "Would fix 1 problem.\n")
    assert app.read_text() == SLEEPY


def test_diff_with_nothing_to_fix_exits_0(run_cli: RunCli, app: Path) -> None:
    done = run_cli(*CHECK, "--diff", "app.py")
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


def test_fix_only_does_not_report_what_remains(run_cli: RunCli, app: Path) -> None:
    (app.parent / "stuck.py").write_text(STUCK)
    done = run_cli(*CHECK, "--fix-only", "--unsafe-fixes", ".")
    assert (done.returncode, done.stdout, done.stderr) == (0, "Fixed 1 problem.\n", "")
    assert app.read_text() == FIXED
    nothing = run_cli(*CHECK, "--fix-only", "--unsafe-fixes", ".")
    assert (nothing.returncode, nothing.stdout, nothing.stderr) == (0, "", "")


def test_stdin_fix_writes_the_source_to_stdout_and_the_report_to_stderr(
    run_cli: RunCli, tmp_path: Path
) -> None:
    args = (*CHECK, "--fix", "--unsafe-fixes", "--stdin-filename", "app.py", "-")
    done = run_cli(*args, input=SLEEPY + "    result = time.sleep(2)\n")
    assert done.stdout == FIXED + "    result = time.sleep(2)\n"
    assert done.stderr == (
        f"app.py:7:14: ASL301 {MESSAGE}\n\nFound 2 problems (1 fixed, 1 remaining).\n"
    )
    assert done.returncode == 1
    assert list(tmp_path.iterdir()) == []


def test_stdin_fix_only_echoes_a_source_with_nothing_to_fix(run_cli: RunCli) -> None:
    done = run_cli(*CHECK, "--fix-only", "--unsafe-fixes", "-", input=STUCK)
    assert (done.returncode, done.stdout, done.stderr) == (0, STUCK, "")


def test_stdin_crlf_bytes_come_back_crlf(run_cli: RunCli) -> None:
    source = SLEEPY.replace("\n", "\r\n").encode()
    done = run_cli(*CHECK, "--fix-only", "--unsafe-fixes", "-", input=source)
    assert done.stdout == FIXED.replace("\n", "\r\n")
    assert done.stderr == "Fixed 1 problem.\n"


def test_files_are_fixed_in_worker_processes(run_cli: RunCli, tmp_path: Path) -> None:
    for index in range(6):
        (tmp_path / f"m{index}.py").write_text(SLEEPY)
    done = run_cli(*CHECK, "--fix", "--unsafe-fixes", "--jobs", "3", ".")
    assert (done.returncode, done.stdout) == (0, "Found 6 problems (6 fixed, 0 remaining).\n")
    assert {path.read_text() for path in tmp_path.iterdir()} == {FIXED}


def test_json_shows_fixes_without_applying_them(run_cli: RunCli, app: Path) -> None:
    done = run_cli(*CHECK, "--format", "json", "app.py")
    [finding] = json.loads(done.stdout)
    assert finding["fix"] == {
        "applicability": "unsafe",
        "title": "Replace with `await asyncio.sleep(...)`",
        "edits": [
            {
                "line": 5,
                "column": 5,
                "end_line": 5,
                "end_column": 18,
                "content": "await asyncio.sleep(1)",
            }
        ],
    }


def test_the_pre_commit_hook_applies_safe_fixes() -> None:
    yaml = pytest.importorskip("yaml")
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    [hook] = [hook for hook in hooks if hook["id"] == "asynclint-fix"]
    assert hook["entry"] == "asynclint check --fix"


# -- in process, with the test-only safe fix ASL992 (x.get_event_loop → x.get_running_loop) --

LOOPY = "import asyncio\n\n\ndef f():\n    return asyncio.get_event_loop()\n"


@pytest.fixture
def in_process(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> CliRunner:
    """Files checked in this process, so the monkeypatched registry applies."""
    request.getfixturevalue("extra_rules")

    def run(jobs: list[FileJob], workers: int) -> list[FileResult]:
        return [engine.check_file(job) for job in jobs]

    monkeypatch.setattr(parallel, "run", run)
    return CliRunner()


def test_safe_fixes_are_marked_and_counted(in_process: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "x.py").write_text(LOOPY)
    args = ["check", "--isolated", "--select", "ASL992", "--format", "concise", str(tmp_path)]
    done = in_process.invoke(cli.cli, args)
    assert done.stdout == (
        f"{tmp_path}/x.py:5:20: [*] ASL992 `get_event_loop()`\n\n"
        "Found 1 problem (1 fixable with --fix).\n"
    )
    fixed = in_process.invoke(cli.cli, [*args, "--fix"])
    assert (fixed.exit_code, fixed.stdout) == (0, "Found 1 problem (1 fixed, 0 remaining).\n")
    assert (tmp_path / "x.py").read_text() == LOOPY.replace("get_event", "get_running")


def test_a_dropped_fix_is_a_warning_and_its_finding_remains(
    in_process: CliRunner, tmp_path: Path
) -> None:
    (tmp_path / "x.py").write_text("BREAK\n")
    args = ["check", "--isolated", "--select", "ASL993", "--format", "concise", "--fix"]
    done = in_process.invoke(cli.cli, [*args, str(tmp_path / "x.py")])
    assert done.exit_code == 1
    assert done.stdout == (
        f"{tmp_path}/x.py:1:1: [*] ASL993 `BREAK`\n\nFound 1 problem (1 fixable with --fix).\n"
    )
    assert done.stderr == (
        f"asynclint: warning: {tmp_path}/x.py:1:1: ASL993 fix not applied, the result would "
        "be invalid: '(' was never closed (line 1)\n"
    )
    assert (tmp_path / "x.py").read_text() == "BREAK\n"
