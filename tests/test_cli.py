"""The `asynclint` command end to end, in a subprocess, as users run it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from asynclint import __version__
from tests.conftest import ROOT, RunCli

BUGGY = textwrap.dedent(
    """\
    import asyncio


    async def handler(n):
        asyncio.create_task(handler(n))
    """
)
CLEAN = "import asyncio\n\n\nasync def main():\n    await asyncio.sleep(1)\n"
MESSAGE = (
    "`asyncio.create_task(...)` result is discarded; "
    "the task can be garbage-collected before it finishes"
)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "bug.py").write_text(BUGGY)
    (tmp_path / "pkg" / "clean.py").write_text(CLEAN)
    return tmp_path


def test_text_output_shows_span_help_and_summary(run_cli: RunCli, project: Path) -> None:
    done = run_cli("check", "pkg")
    assert done.returncode == 1
    assert done.stdout == (
        f"pkg/bug.py:5:5: ASL102 {MESSAGE}\n"
        "5 |     asyncio.create_task(handler(n))\n"
        "  |     ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\n"
        "  = help: Keep a reference to the task (e.g. a set with "
        "`add_done_callback(set.discard)`)\n"
        "\n"
        "Found 1 problem.\n"
    )
    assert "\x1b[" not in done.stdout
    assert done.stderr == ""


def test_concise_output_and_default_path(run_cli: RunCli, project: Path) -> None:
    done = run_cli("check", "--format", "concise")
    assert done.stdout == f"pkg/bug.py:5:5: ASL102 {MESSAGE}\n\nFound 1 problem.\n"
    assert done.returncode == 1


def test_clean_files_exit_zero(run_cli: RunCli, project: Path) -> None:
    done = run_cli("check", "pkg/clean.py")
    assert (done.returncode, done.stdout) == (0, "All checks passed!\n")


def test_exit_zero_and_quiet(run_cli: RunCli, project: Path) -> None:
    done = run_cli("check", "--exit-zero", "--quiet", "--format", "concise", "pkg")
    assert (done.returncode, done.stdout) == (0, f"pkg/bug.py:5:5: ASL102 {MESSAGE}\n")


def test_json_output_is_the_documented_interface(run_cli: RunCli, project: Path) -> None:
    done = run_cli("check", "--format", "json", "./pkg")
    assert done.returncode == 1
    assert json.loads(done.stdout) == [
        {
            "path": "./pkg/bug.py",
            "line": 5,
            "column": 5,
            "end_line": 5,
            "end_column": 36,
            "code": "ASL102",
            "name": "dangling-task",
            "message": MESSAGE,
            "fix": None,
        }
    ]


def test_github_format(run_cli: RunCli, project: Path) -> None:
    done = run_cli("check", "--format", "github", "pkg")
    assert done.stdout == (
        f"::error file=pkg/bug.py,line=5,col=5,endLine=5,endColumn=36,title=ASL102::{MESSAGE}\n"
    )


def test_sarif_output_validates(run_cli: RunCli, project: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text())
    done = run_cli("check", "--format", "sarif", "pkg")
    sarif = json.loads(done.stdout)
    jsonschema.Draft4Validator(schema).validate(sarif)
    result = sarif["runs"][0]["results"][0]
    assert result["ruleId"] == "ASL102"
    region = result["locations"][0]["physicalLocation"]["region"]
    assert (region["startLine"], region["startColumn"], region["endColumn"]) == (5, 5, 36)


def test_output_file_and_statistics(run_cli: RunCli, project: Path) -> None:
    done = run_cli("check", "--statistics", "--output-file", "out.txt", "pkg")
    assert (done.returncode, done.stdout, done.stderr) == (1, "", "")
    assert (project / "out.txt").read_text() == (
        "   1  ASL102  [ ] dangling-task\n\nFound 1 problem.\n"
    )


def test_quiet_statistics_leaves_out_the_summary(run_cli: RunCli, project: Path) -> None:
    done = run_cli("check", "--statistics", "--quiet", "pkg")
    assert (done.returncode, done.stdout) == (1, "   1  ASL102  [ ] dangling-task\n")
    clean = run_cli("check", "--statistics", "-q", "pkg/clean.py")
    assert (clean.returncode, clean.stdout) == (0, "")


def test_select_ignore_by_code_prefix_and_name(run_cli: RunCli, project: Path) -> None:
    assert run_cli("check", "--ignore", "dangling-task", "pkg").returncode == 0
    assert run_cli("check", "--ignore", "ASL1", "pkg").returncode == 0
    assert run_cli("check", "--select", "ASL102", "pkg").returncode == 1
    assert run_cli("check", "--select", "ASL9", "pkg").returncode == 0


QUEUE = textwrap.dedent(
    """\
    import asyncio

    RESULTS = asyncio.Queue()


    async def collect(items):
        for item in items:
            await RESULTS.put(item)
    """
)
"""A bug of ASL407 unbounded-queue, a rule that is off by default."""


@pytest.mark.parametrize(
    "options",
    [
        ("--extend-select", "ASL407"),
        ("--extend-select", "unbounded-queue"),
        ("--extend-select", "ASL40", "--ignore", "ASL406"),
        ("--select", "ASL9", "--extend-select", "unbounded-queue,dangling-task"),
    ],
)
def test_extend_select_turns_on_opt_in_rules(
    run_cli: RunCli, tmp_path: Path, options: tuple[str, ...]
) -> None:
    (tmp_path / "feed.py").write_text(QUEUE)
    assert run_cli("check", "--format", "json", "feed.py").stdout == "[]\n"
    done = run_cli("check", "--format", "json", *options, "feed.py")
    assert done.returncode == 1
    found = [(d["line"], d["column"], d["code"]) for d in json.loads(done.stdout)]
    assert found == [(3, 11, "ASL407")]


def test_unknown_selector_is_a_usage_error(run_cli: RunCli, project: Path) -> None:
    done = run_cli("check", "--select", "dangling-tsk", "pkg")
    assert done.returncode == 2
    assert done.stderr == (
        "asynclint: error: --select: unknown rule selector `dangling-tsk`; "
        "did you mean `dangling-task`?\n"
    )
    assert "Traceback" not in done.stderr


def test_bad_configuration_exits_2_naming_file_and_key(run_cli: RunCli, project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.asynclint]\nselct = ["ASL102"]\n')
    done = run_cli("check", "pkg")
    assert done.returncode == 2
    assert done.stderr.startswith("asynclint: error: ")
    assert "pyproject.toml" in done.stderr and "`selct`" in done.stderr
    assert "did you mean `select`?" in done.stderr
    assert done.stderr.count("\n") == 1


def test_configuration_is_applied(run_cli: RunCli, project: Path) -> None:
    (project / "pyproject.toml").write_text(
        '[tool.asynclint.per-file-ignores]\n"pkg/bug.py" = ["dangling-task"]\n'
    )
    assert run_cli("check", "pkg").returncode == 0
    assert run_cli("check", "--isolated", "pkg").returncode == 1


def test_config_file_given_explicitly(run_cli: RunCli, project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.asynclint]\nselect = ["ASL9"]\n')
    (project / "asynclint.toml").write_text('[per-file-ignores]\n"pkg/clean.py" = ["ALL"]\n')
    assert run_cli("check", "pkg").returncode == 0
    done = run_cli("check", "--config", "asynclint.toml", "--format", "concise", "pkg")
    assert (done.returncode, done.stdout) == (
        1,
        f"pkg/bug.py:5:5: ASL102 {MESSAGE}\n\nFound 1 problem.\n",
    )
    (project / "asynclint.toml").write_text('ignroe = ["ASL102"]\n')
    done = run_cli("check", "--config", "asynclint.toml", "pkg")
    assert (done.returncode, done.stderr) == (
        2,
        "asynclint: error: asynclint.toml: unknown key `ignroe`; did you mean `ignore`?\n",
    )


def test_discovery_skips_what_it_should_unless_named(run_cli: RunCli, tmp_path: Path) -> None:
    skipped = [".git", "build", "dist", "__pycache__", ".tox", ".nox", "node_modules"]
    skipped += ["site-packages", ".venv", "env", "generated"]
    for directory in ["src", *skipped]:
        (tmp_path / directory).mkdir()
        (tmp_path / directory / "app.py").write_text(BUGGY)
    (tmp_path / "src" / "types.pyi").write_text(BUGGY)
    (tmp_path / "src" / "notes.txt").write_text(BUGGY)
    (tmp_path / "env" / "pyvenv.cfg").write_text("")
    (tmp_path / "pyproject.toml").write_text('[tool.asynclint]\nextend-exclude = ["generated"]\n')

    def paths(*args: str) -> list[str]:
        done = run_cli("check", "--format", "json", *args)
        return [d["path"] for d in json.loads(done.stdout)]

    assert paths() == ["src/app.py", "src/types.pyi"]
    assert paths("generated", "build/app.py", "env", "src/notes.txt") == [
        "build/app.py",
        "env/app.py",
        "generated/app.py",
        "src/notes.txt",
    ]


def test_missing_path_is_an_error_but_the_rest_is_checked(run_cli: RunCli, project: Path) -> None:
    done = run_cli("check", "--format", "concise", "nope.py", "pkg")
    assert (done.returncode, done.stderr) == (2, "")
    assert done.stdout == (
        "error: nope.py: No such file or directory\n"
        f"pkg/bug.py:5:5: ASL102 {MESSAGE}\n"
        "\n"
        "Found 1 problem.\n"
    )


@pytest.mark.parametrize("output_format", ["json", "sarif"])
def test_machine_formats_report_missing_paths_on_stderr(
    run_cli: RunCli, project: Path, output_format: str
) -> None:
    done = run_cli("check", "--format", output_format, "nope.py", "pkg/clean.py")
    assert (done.returncode, done.stderr) == (2, "error: nope.py: No such file or directory\n")
    if output_format == "json":
        assert done.stdout == "[]\n"


def test_stdin_with_filename(run_cli: RunCli, tmp_path: Path) -> None:
    done = run_cli("check", "--format", "concise", "-", "--stdin-filename", "app/x.py", input=BUGGY)
    assert (done.returncode, done.stdout) == (
        1,
        f"app/x.py:5:5: ASL102 {MESSAGE}\n\nFound 1 problem.\n",
    )
    unnamed = run_cli("check", "--format", "concise", "-", input=BUGGY)
    assert unnamed.stdout == f"-:5:5: ASL102 {MESSAGE}\n\nFound 1 problem.\n"
    (tmp_path / "pyproject.toml").write_text(
        '[tool.asynclint.per-file-ignores]\n"app/*.py" = ["dangling-task"]\n'
    )
    ignored = run_cli("check", "-", "--stdin-filename", "app/x.py", input=BUGGY)
    assert (ignored.returncode, ignored.stdout) == (0, "All checks passed!\n")


def test_output_is_identical_for_any_number_of_jobs(run_cli: RunCli, tmp_path: Path) -> None:
    for index in range(12):
        (tmp_path / f"m{index:02}.py").write_text(BUGGY * (index % 3 + 1))
    outputs = {run_cli("check", "--format", "json", "--jobs", str(n)).stdout for n in (1, 2, 5)}
    assert len(outputs) == 1
    assert len(json.loads(outputs.pop())) == 24


@pytest.mark.parametrize(
    ("content", "message", "line", "column"),
    [
        (b"x = (\n", "syntax error: '(' was never closed", 1, 5),
        (b"x = 1\x00\n", "file contains a NUL byte", 1, 6),
        (b"x = '\xff'\n", "cannot decode as utf-8: invalid start byte 0xff", 1, 6),
        (
            b"x = " + b"(" * 3000 + b"1" + b")" * 3000 + b"\n",
            "too deeply nested for the parser (more than 200 levels of brackets)",
            1,
            205,
        ),
        (
            b"".join(b" " * i + b"if x:\n" for i in range(5000)) + b" " * 5000 + b"pass\n",
            "too deeply nested for the parser (more than 99 levels of indentation)",
            101,
            1,
        ),
    ],
    ids=["syntax", "nul", "encoding", "parens", "deep-if"],
)
def test_bad_input_is_a_finding_and_the_run_goes_on(
    run_cli: RunCli,
    tmp_path: Path,
    content: bytes,
    message: str,
    line: int,
    column: int,
) -> None:
    """Positions are where CPython reports the same problem."""
    (tmp_path / "bad.py").write_bytes(content)
    (tmp_path / "good.py").write_text(BUGGY)
    done = run_cli("check", "--format", "json")
    assert (done.returncode, done.stderr) == (1, "")
    found = json.loads(done.stdout)
    assert [(d["path"], d["code"]) for d in found] == [("bad.py", "ASL900"), ("good.py", "ASL102")]
    assert (found[0]["message"], found[0]["line"], found[0]["column"]) == (message, line, column)


def test_rule_documentation(run_cli: RunCli) -> None:
    by_code = run_cli("rule", "ASL102")
    by_name = run_cli("rule", "dangling-task")
    assert by_code.returncode == 0
    assert by_code.stdout == by_name.stdout
    assert by_code.stdout.startswith("# ASL102 dangling-task\n\n## What it does\n")
    unknown = run_cli("rule", "ASL1O2")
    assert (unknown.returncode, unknown.stdout) == (2, "")
    assert unknown.stderr == (
        "asynclint: error: unknown rule selector `ASL1O2`; did you mean `ASL102`?\n"
    )


def test_rules_listing(run_cli: RunCli) -> None:
    listing = json.loads(run_cli("rules", "--format", "json").stdout)
    entry = next(rule for rule in listing if rule["code"] == "ASL102")
    assert entry == {
        "code": "ASL102",
        "name": "dangling-task",
        "summary": entry["summary"],
        "fix": None,
        "default": True,
    }
    assert entry["summary"].startswith("Flags a task created from a coroutine")
    text = run_cli("rules").stdout
    assert "ASL102  [ ]  on   dangling-task: Flags a task" in text


def test_version(run_cli: RunCli) -> None:
    assert run_cli("--version").stdout == f"asynclint, version {__version__}\n"
    assert run_cli("check", "--version").stdout == f"asynclint, version {__version__}\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("check", "--format", "xml"),
            "Invalid value for '--format': 'xml' is not one of "
            "'concise', 'github', 'json', 'sarif', 'text'.",
        ),
        (
            ("check", "--jobs", "0"),
            "Invalid value for '--jobs' / '-j': 0 is not in the range x>=1.",
        ),
        (("chek",), "No such command 'chek'. Did you mean 'check'?"),
    ],
)
def test_usage_error_is_one_line_and_exits_2(
    run_cli: RunCli, args: tuple[str, ...], message: str
) -> None:
    done = run_cli(*args)
    assert (done.returncode, done.stdout, done.stderr) == (2, "", f"asynclint: error: {message}\n")


CRASHING_CLI = textwrap.dedent(
    """
    import sys
    from asynclint import cli

    def explode(*args, **kwargs):
        raise ValueError("boom")

    cli.discover = explode
    cli.main(sys.argv[1:])
    """
)


def test_internal_error_is_one_line_unless_verbose(tmp_path: Path) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-c", CRASHING_CLI, "check", *args]
        return subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=60)

    quiet = run(".")
    assert (quiet.returncode, quiet.stderr) == (2, "asynclint: internal error: ValueError: boom\n")
    verbose = run("--verbose", ".")
    assert verbose.returncode == 2
    assert verbose.stderr.startswith("Traceback (most recent call last):\n")
    assert ", in explode\n" in verbose.stderr  # 3.13 also quotes the `-c` source line
    assert verbose.stderr.endswith(
        "\nValueError: boom\nasynclint: internal error: ValueError: boom\n"
    )


COLOURED_HEADER = "\x1b[1mpkg/bug.py\x1b[0m:5:5: \x1b[1;31mASL102\x1b[0m "


def test_colour_is_forced_or_turned_off_by_the_environment(run_cli: RunCli, project: Path) -> None:
    forced = run_cli("check", "--format", "concise", "pkg", env={"FORCE_COLOR": "1"})
    assert forced.stdout.startswith(COLOURED_HEADER)
    both = run_cli("check", "pkg", env={"FORCE_COLOR": "1", "NO_COLOR": "1"})
    assert "\x1b" not in both.stdout


def test_colour_on_a_terminal_only(project: Path) -> None:
    pty = pytest.importorskip("pty")
    environment = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "NO_COLOR")}

    def on_terminal(**extra: str) -> str:
        leader, follower = pty.openpty()
        command = [sys.executable, "-m", "asynclint", "check", "--format", "concise", "pkg"]
        with subprocess.Popen(
            command, cwd=project, stdout=follower, env={**environment, **extra}
        ) as process:
            os.close(follower)
            output = b""
            while True:
                try:
                    chunk = os.read(leader, 4096)
                except OSError:  # the terminal closed with the process
                    break
                if not chunk:
                    break
                output += chunk
        os.close(leader)
        assert process.returncode == 1
        return output.decode().replace("\r\n", "\n")

    assert on_terminal().startswith(COLOURED_HEADER)
    assert on_terminal(NO_COLOR="1") == f"pkg/bug.py:5:5: ASL102 {MESSAGE}\n\nFound 1 problem.\n"


def test_start_up_does_not_load_libcst_codemods() -> None:
    """``libcst.codemod`` and ``libcst.matchers`` cost half a second to import; only fixes that
    add imports need them, so a check (warm cache: mostly start-up) never loads them."""
    probe = (
        "import sys, asynclint.cli, asynclint.registry\n"
        "asynclint.registry.all_rules()\n"
        "heavy = ('libcst.codemod', 'libcst.matchers')\n"
        "print(sorted(m for m in sys.modules if m.startswith(heavy)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert done.stdout == "[]\n"
