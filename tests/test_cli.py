"""The `asynclint` command end to end, in a subprocess, as users run it."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from asynclint import __version__
from tests.conftest import RunCli

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
        "::error file=pkg/bug.py,line=5,col=5,endLine=5,endColumn=36,"
        f"title=ASL102 (dangling-task)::{MESSAGE}\n"
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
    assert (done.returncode, done.stdout) == (1, "")
    assert "ASL102" in (project / "out.txt").read_text()
    assert "dangling-task" in (project / "out.txt").read_text()


def test_select_ignore_by_code_prefix_and_name(run_cli: RunCli, project: Path) -> None:
    assert run_cli("check", "--ignore", "dangling-task", "pkg").returncode == 0
    assert run_cli("check", "--ignore", "ASL1", "pkg").returncode == 0
    assert run_cli("check", "--select", "ASL102", "pkg").returncode == 1
    assert run_cli("check", "--select", "ASL9", "pkg").returncode == 0


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


def test_missing_path_is_an_error_but_the_rest_is_checked(run_cli: RunCli, project: Path) -> None:
    done = run_cli("check", "--format", "concise", "nope.py", "pkg")
    assert done.returncode == 2
    assert "nope.py: No such file or directory" in done.stdout + done.stderr
    assert f"pkg/bug.py:5:5: ASL102 {MESSAGE}" in done.stdout


def test_stdin_with_filename(run_cli: RunCli, tmp_path: Path) -> None:
    done = run_cli("check", "--format", "concise", "-", "--stdin-filename", "app/x.py", input=BUGGY)
    assert (done.returncode, done.stdout) == (
        1,
        f"app/x.py:5:5: ASL102 {MESSAGE}\n\nFound 1 problem.\n",
    )


def test_output_is_identical_for_any_number_of_jobs(run_cli: RunCli, tmp_path: Path) -> None:
    for index in range(12):
        (tmp_path / f"m{index:02}.py").write_text(BUGGY * (index % 3 + 1))
    outputs = {run_cli("check", "--format", "json", "--jobs", str(n)).stdout for n in (1, 2, 5)}
    assert len(outputs) == 1
    assert len(json.loads(outputs.pop())) == 24


@pytest.mark.parametrize(
    ("content", "message", "line", "column"),
    [
        (b"x = (\n", "'(' was never closed", 1, 5),
        (b"x = 1\x00\n", "file contains a NUL byte", 1, 6),
        (b"x = '\xff'\n", "cannot decode as utf-8", 1, 6),
        (b"x = " + b"(" * 3000 + b"1" + b")" * 3000 + b"\n", "too deeply nested", 1, None),
        (
            b"".join(b" " * i + b"if x:\n" for i in range(5000)) + b" " * 5000 + b"pass\n",
            "indentation",
            None,
            None,
        ),
    ],
    ids=["syntax", "nul", "encoding", "parens", "deep-if"],
)
def test_bad_input_is_a_finding_and_the_run_goes_on(
    run_cli: RunCli,
    tmp_path: Path,
    content: bytes,
    message: str,
    line: int | None,
    column: int | None,
) -> None:
    (tmp_path / "bad.py").write_bytes(content)
    (tmp_path / "good.py").write_text(BUGGY)
    done = run_cli("check", "--format", "json")
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    found = json.loads(done.stdout)
    assert [(d["path"], d["code"]) for d in found] == [("bad.py", "ASL900"), ("good.py", "ASL102")]
    assert message in found[0]["message"]
    if line is not None:
        assert found[0]["line"] == line
    if column is not None:
        assert found[0]["column"] == column


def test_rule_documentation(run_cli: RunCli) -> None:
    by_code = run_cli("rule", "ASL102")
    by_name = run_cli("rule", "dangling-task")
    assert by_code.returncode == 0
    assert by_code.stdout == by_name.stdout
    assert by_code.stdout.startswith("# ASL102 dangling-task\n\n## What it does\n")
    unknown = run_cli("rule", "ASL1O2")
    assert unknown.returncode == 2
    assert "did you mean `ASL102`?" in unknown.stderr


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


def test_usage_error_exits_2(run_cli: RunCli) -> None:
    done = run_cli("check", "--format", "xml")
    assert done.returncode == 2
    assert "Invalid value for '--format'" in done.stderr
