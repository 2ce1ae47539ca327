"""Exact output of every format, from hand-built diagnostics and test-local rules."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jsonschema
import pytest

import asynclint
from asynclint.diagnostic import Applicability, Diagnostic, Edit, Fix, RunResult
from asynclint.render import FORMATS, Renderer, concise, github, json_array, renderer, sarif, text
from asynclint.rule import Rule

SCHEMA_PATH = Path(__file__).parent / "data" / "sarif-schema-2.1.0.json"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


class FakeRule(Rule):
    """## What it does
    Flags a made-up pattern so the renderers have a rule to describe. It has a second
    sentence that only the full description keeps.

    ## Why is this bad?
    It is not; it is a test.
    """

    code = "ASL999"
    name = "fake-rule"
    message = "fake finding"
    fix_applicability = Applicability.SAFE


class FakeSyntaxRule(Rule):
    """## What it does
    Reports files that cannot be parsed.
    """

    code = "ASL900"
    name = "syntax-error"
    message = "cannot parse"


RULES: dict[str, type[Rule]] = {rule.code: rule for rule in (FakeRule, FakeSyntaxRule)}
SAFE_FIX = Fix(Applicability.SAFE, "Use `good()`", (Edit(2, 5, 2, 10, "good()"),))
UNSAFE_FIX = Fix(Applicability.UNSAFE, "Insert `await`", (Edit(3, 5, 3, 5, "await "),))


def diag(
    line: int,
    column: int,
    end_line: int,
    end_column: int,
    *,
    path: str = "pkg/app.py",
    code: str = "ASL999",
    name: str = "fake-rule",
    message: str = "fake finding",
    fix: Fix | None = None,
) -> Diagnostic:
    return Diagnostic(path, line, column, end_line, end_column, code, name, message, fix)


def run(
    *diagnostics: Diagnostic,
    sources: Mapping[str, str] | None = None,
    errors: list[str] | None = None,
) -> RunResult:
    return RunResult(
        diagnostics=list(diagnostics),
        sources=dict(sources or {}),
        files_checked=1,
        errors=errors or [],
    )


def render(fmt: str, result: RunResult, *, color: bool = False, statistics: bool = False) -> str:
    return renderer(fmt)(result, RULES, color=color, statistics=statistics)


SOURCE = "import asyncio\nasync def main():\n    bad()\n    spawn(\n        work())\n"
MIXED = run(
    diag(2, 5, 2, 10, message="`bad()` is bad", fix=SAFE_FIX),
    diag(3, 5, 3, 10, code="ASL102", name="dangling-task", message="task dropped"),
    diag(4, 5, 5, 16, code="ASL102", name="dangling-task", message="task dropped", fix=UNSAFE_FIX),
    sources={"pkg/app.py": "import asyncio\n    bad()\n    spawn()\n    spawn(\n        work())\n"},
)


def test_formats_are_named_for_the_cli() -> None:
    assert list(FORMATS) == ["text", "concise", "json", "sarif", "github"]
    chosen: list[Renderer] = [renderer(name) for name in FORMATS]
    assert chosen == [text.render, concise.render, json_array.render, sarif.render, github.render]


# --- text ------------------------------------------------------------------------------------


def test_text_blocks_snippets_help_and_summary() -> None:
    assert render("text", MIXED) == (
        "pkg/app.py:2:5: [*] ASL999 `bad()` is bad\n"
        "2 |     bad()\n"
        "  |     ^^^^^\n"
        "  = help: Use `good()`\n"
        "\n"
        "pkg/app.py:3:5: ASL102 task dropped\n"
        "3 |     spawn()\n"
        "  |     ^^^^^\n"
        "\n"
        "pkg/app.py:4:5: ASL102 task dropped\n"
        "4 |     spawn(\n"
        "  |     ^^^^^^\n"
        "  = help: Insert `await`\n"
        "\n"
        "Found 3 problems (1 fixable with --fix).\n"
    )


def test_text_clean_run_passes() -> None:
    assert render("text", run()) == "All checks passed!\n"


def test_text_prints_errors_first_and_does_not_claim_success() -> None:
    result = run(errors=["missing.py: No such file or directory"])
    assert render("text", result) == (
        "error: missing.py: No such file or directory\n\nFound 0 problems.\n"
    )


def test_text_keeps_the_lines_of_a_verbose_traceback() -> None:
    """``--verbose`` puts a worker's traceback in its error; it stays readable, still
    without raw control characters."""
    traceback = "x.py: internal error: Traceback (most recent call last):\n  boom\x1b\nValueError\n"
    assert render("text", run(errors=[traceback])) == (
        "error: x.py: internal error: Traceback (most recent call last):\n"
        "  boom\u241b\n"
        "ValueError\n"
        "\n"
        "Found 0 problems.\n"
    )


def test_text_singular_summary_without_fixable_part() -> None:
    result = run(diag(1, 1, 1, 2, fix=UNSAFE_FIX), sources={"pkg/app.py": "x\n"})
    assert render("text", result).splitlines()[0] == "pkg/app.py:1:1: ASL999 fake finding"
    assert render("text", result).endswith("\n\nFound 1 problem.\n")


def test_text_wide_gutter_for_long_line_numbers() -> None:
    source = "\n" * 99 + "x = 1\n"
    result = run(diag(100, 1, 100, 2), sources={"pkg/app.py": source})
    assert render("text", result).splitlines()[1:3] == ["100 | x = 1", "    | ^"]


@pytest.mark.parametrize(
    ("line", "column", "end_column", "shown", "caret"),
    [
        # A tab expands to the next multiple of four cells, before and inside the span.
        ("\tx = go()", 6, 10, "    x = go()", "        ^^^^"),
        ("a\tb", 2, 3, "a   b", " ^^^"),
        # East Asian wide characters take two cells, combining marks none.
        ("s = '日本'; go()", 11, 15, "s = '日本'; go()", "            ^^^^"),
        ("s = '日本'", 6, 8, "s = '日本'", "     ^^^^"),
        ("e\u0301 = go()", 6, 10, "e\u0301 = go()", "    ^^^^"),
        # An empty span, or one past the end of the line, still gets one caret.
        ("x = (", 6, 6, "x = (", "     ^"),
        ("x = (", 9, 9, "x = (", "        ^"),
        # Control characters are shown as symbols, never written raw to the terminal.
        ("x = '\x1b[31m'", 1, 2, "x = '\u241b[31m'", "^"),
    ],
)
def test_text_caret_lines_up_under_the_span(
    line: str, column: int, end_column: int, shown: str, caret: str
) -> None:
    result = run(diag(1, column, 1, end_column), sources={"pkg/app.py": line + "\n"})
    assert render("text", result).splitlines()[1:3] == [f"1 | {shown}", f"  | {caret}"]


def test_text_crlf_source_and_multiline_span() -> None:
    # A span over several lines is underlined from its column to the end of its first line.
    source = "a = 1\r\nspawn(work(),\r\n  x)\r\n"
    result = run(diag(2, 1, 3, 5), sources={"pkg/app.py": source})
    assert render("text", result).splitlines()[1:3] == [
        "2 | spawn(work(),",
        "  | ^^^^^^^^^^^^^",
    ]


def test_text_empty_source_line_has_no_trailing_space() -> None:
    result = run(diag(2, 1, 2, 1), sources={"pkg/app.py": "x = (\n\n"})
    assert render("text", result).splitlines()[1:3] == ["2 |", "  | ^"]


def test_text_counts_lines_like_python_not_like_splitlines() -> None:
    # A form feed and U+2028 do not end a line for Python, so line 2 is still "b = 2".
    source = "a = '\x0c\u2028'\nb = 2\n"
    result = run(diag(2, 1, 2, 2), sources={"pkg/app.py": source})
    assert render("text", result).splitlines()[1] == "2 | b = 2"


def test_text_without_source_prints_header_and_help_only() -> None:
    result = run(diag(7, 1, 7, 2, fix=SAFE_FIX))
    assert render("text", result) == (
        "pkg/app.py:7:1: [*] ASL999 fake finding\n"
        "  = help: Use `good()`\n"
        "\n"
        "Found 1 problem (1 fixable with --fix).\n"
    )


def test_text_colour_only_when_asked() -> None:
    plain = render("text", MIXED, color=False)
    colored = render("text", MIXED, color=True)
    assert "\x1b" not in plain
    assert "\x1b[1mpkg/app.py\x1b[0m" in colored
    assert "\x1b[1;31mASL102\x1b[0m" in colored
    assert ANSI.sub("", colored) == plain


def test_text_message_escape_sequences_are_neutralised() -> None:
    result = run(diag(1, 1, 1, 2, message="bad \x1b[2J name"))
    assert render("text", result).splitlines()[0] == "pkg/app.py:1:1: ASL999 bad \u241b[2J name"


# --- concise and statistics ------------------------------------------------------------------


def test_concise_one_line_per_finding() -> None:
    assert render("concise", MIXED) == (
        "pkg/app.py:2:5: [*] ASL999 `bad()` is bad\n"
        "pkg/app.py:3:5: ASL102 task dropped\n"
        "pkg/app.py:4:5: ASL102 task dropped\n"
        "\n"
        "Found 3 problems (1 fixable with --fix).\n"
    )


def test_concise_errors_and_clean_run() -> None:
    assert render("concise", run()) == "All checks passed!\n"
    assert (
        render("concise", run(errors=["x.py: gone"])) == "error: x.py: gone\n\nFound 0 problems.\n"
    )


def test_statistics_sorted_by_count_then_code() -> None:
    result = run(
        diag(1, 1, 1, 2, code="ASL301", name="blocking-sleep"),
        diag(2, 1, 2, 2, fix=SAFE_FIX),
        diag(3, 1, 3, 2, code="ASL102", name="dangling-task", fix=UNSAFE_FIX),
        diag(4, 1, 4, 2, code="ASL102", name="dangling-task"),
    )
    expected = (
        "   2  ASL102  [ ] dangling-task\n"
        "   1  ASL301  [ ] blocking-sleep\n"
        "   1  ASL999  [*] fake-rule\n"
        "\n"
        "Found 4 problems (1 fixable with --fix).\n"
    )
    assert render("text", result, statistics=True) == expected
    assert render("concise", result, statistics=True) == expected


def test_statistics_widens_count_column() -> None:
    result = run(*(diag(line, 1, line, 2) for line in range(1, 12345 + 1)))
    assert render("text", result, statistics=True).splitlines()[0] == "12345  ASL999  [ ] fake-rule"


def test_statistics_clean_run() -> None:
    assert render("text", run(), statistics=True) == "All checks passed!\n"


# --- json ------------------------------------------------------------------------------------


def test_json_round_trips_every_field() -> None:
    output = render("json", MIXED)
    items = json.loads(output)
    assert output.endswith("]\n")
    assert items == [diagnostic.to_dict() for diagnostic in MIXED.diagnostics]
    assert list(items[0]) == [
        "path", "line", "column", "end_line", "end_column", "code", "name", "message", "fix",
    ]  # fmt: skip
    rebuilt = [
        Diagnostic(
            **{**item, "fix": None}
            if item["fix"] is None
            else {
                **item,
                "fix": Fix(
                    Applicability(item["fix"]["applicability"]),
                    item["fix"]["title"],
                    tuple(Edit(**edit) for edit in item["fix"]["edits"]),
                ),
            }
        )
        for item in items
    ]
    assert rebuilt == MIXED.diagnostics


def test_json_clean_run_is_an_empty_array() -> None:
    assert render("json", run()) == "[]\n"


def test_json_keeps_unicode_readable() -> None:
    result = run(diag(1, 1, 1, 2, path="données/日本.py", message="`é` dropped"))
    assert '"path": "données/日本.py"' in render("json", result)


# --- github ----------------------------------------------------------------------------------


def test_github_workflow_commands() -> None:
    assert render("github", MIXED) == (
        "::error file=pkg/app.py,line=2,col=5,endLine=2,endColumn=10,"
        "title=ASL999::`bad()` is bad\n"
        "::error file=pkg/app.py,line=3,col=5,endLine=3,endColumn=10,"
        "title=ASL102::task dropped\n"
        # Columns only for one-line spans: GitHub annotations take no others.
        "::error file=pkg/app.py,line=4,endLine=5,title=ASL102::task dropped\n"
    )


def test_github_escapes_data_and_properties() -> None:
    result = run(
        diag(1, 1, 1, 2, path="a,b:c%d.py", message="100% bad:\r\nsee, here"),
        errors=["x.py: line1\nline2"],
    )
    assert render("github", result) == (
        "::error title=asynclint::x.py: line1%0Aline2\n"
        "::error file=a%2Cb%3Ac%25d.py,line=1,col=1,endLine=1,endColumn=2,"
        "title=ASL999::100%25 bad:%0D%0Asee, here\n"
    )


def test_github_clean_run_prints_nothing() -> None:
    assert render("github", run()) == ""


# --- sarif -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def validators() -> list[jsonschema.protocols.Validator]:
    """Draft 7, and the draft the official schema declares (draft 4): both must accept."""
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    declared = jsonschema.validators.validator_for(schema)
    assert declared is jsonschema.Draft4Validator
    jsonschema.Draft7Validator.check_schema(schema)
    return [jsonschema.Draft7Validator(schema), declared(schema)]


def sarif_log(result: RunResult, rules: Mapping[str, type[Rule]] = RULES) -> dict[str, Any]:
    log: dict[str, Any] = json.loads(sarif.render(result, rules, color=False, statistics=False))
    return log


def test_sarif_points_at_the_shipped_official_schema() -> None:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    assert schema["id"] == sarif.SCHEMA_URI
    assert sarif_log(run())["$schema"] == sarif.SCHEMA_URI


@pytest.mark.parametrize(
    "result",
    [
        run(),
        MIXED,
        run(diag(1, 1, 1, 2, path="/abs/dir x/a.py"), errors=["gone.py: missing"]),
        run(diag(1, 1, 1, 2, fix=Fix(Applicability.DISPLAY_ONLY, "Think", ()))),
    ],
    ids=["clean", "mixed", "absolute-path-and-errors", "fix-without-edits"],
)
def test_sarif_validates_against_schema(
    validators: list[jsonschema.protocols.Validator], result: RunResult
) -> None:
    log = sarif_log(result)
    for validator in validators:
        assert [error.message for error in validator.iter_errors(log)] == []


def test_sarif_driver_and_rule_descriptors() -> None:
    run_ = sarif_log(MIXED)["runs"][0]
    driver = run_["tool"]["driver"]
    assert (driver["name"], driver["version"], driver["semanticVersion"]) == (
        "asynclint",
        asynclint.__version__,
        asynclint.__version__,
    )
    assert driver["informationUri"] == "https://github.com/asynclint/asynclint"
    # Every enabled rule, plus reported codes that were not passed in, sorted by code.
    assert [rule["id"] for rule in driver["rules"]] == ["ASL102", "ASL900", "ASL999"]
    assert driver["rules"][0] == {
        "id": "ASL102",
        "name": "dangling-task",
        "defaultConfiguration": {"level": "warning"},
        "properties": {"tags": ["asyncio", "coroutine-lifecycle"]},
    }
    assert driver["rules"][1]["defaultConfiguration"] == {"level": "error"}
    assert driver["rules"][2] == {
        "id": "ASL999",
        "name": "fake-rule",
        "shortDescription": {
            "text": "Flags a made-up pattern so the renderers have a rule to describe."
        },
        "fullDescription": {
            "text": "Flags a made-up pattern so the renderers have a rule to describe. "
            "It has a second sentence that only the full description keeps."
        },
        "help": {"text": FakeRule.documentation(), "markdown": FakeRule.documentation()},
        "helpUri": "https://github.com/asynclint/asynclint/blob/main/docs/rules/ASL999.md",
        "defaultConfiguration": {"level": "warning"},
        "properties": {"tags": ["asyncio", "meta"]},
    }
    assert run_["columnKind"] == "unicodeCodePoints"
    assert run_["invocations"] == [{"executionSuccessful": True}]
    assert list(run_["originalUriBaseIds"]) == ["%SRCROOT%"]


def test_sarif_results() -> None:
    results = sarif_log(MIXED)["runs"][0]["results"]
    assert [(r["ruleId"], r["ruleIndex"], r["level"]) for r in results] == [
        ("ASL999", 2, "warning"),
        ("ASL102", 0, "warning"),
        ("ASL102", 0, "warning"),
    ]
    first = results[0]
    assert first["message"] == {"text": "`bad()` is bad"}
    location = {"uri": "pkg/app.py", "uriBaseId": "%SRCROOT%"}
    assert first["locations"] == [
        {
            "physicalLocation": {
                "artifactLocation": location,
                "region": {"startLine": 2, "startColumn": 5, "endLine": 2, "endColumn": 10},
            }
        }
    ]
    assert first["fixes"] == [
        {
            "description": {"text": "Use `good()`"},
            "artifactChanges": [
                {
                    "artifactLocation": location,
                    "replacements": [
                        {
                            "deletedRegion": {
                                "startLine": 2,
                                "startColumn": 5,
                                "endLine": 2,
                                "endColumn": 10,
                            },
                            "insertedContent": {"text": "good()"},
                        }
                    ],
                }
            ],
        }
    ]
    assert "fixes" not in results[1]
    assert results[2]["locations"][0]["physicalLocation"]["region"] == {
        "startLine": 4,
        "startColumn": 5,
        "endLine": 5,
        "endColumn": 16,
    }


def test_sarif_leaves_out_fixes_that_need_imports() -> None:
    fix = Fix(Applicability.SAFE, "Use asyncio", (Edit(1, 1, 1, 2, "x"),), imports=("asyncio",))
    assert "fixes" not in sarif_log(run(diag(1, 1, 1, 2, fix=fix)))["runs"][0]["results"][0]


def test_sarif_reports_unreadable_paths_as_notifications() -> None:
    invocation = sarif_log(run(errors=["gone.py: missing"]))["runs"][0]["invocations"][0]
    assert invocation == {
        "executionSuccessful": True,
        "toolExecutionNotifications": [{"level": "error", "message": {"text": "gone.py: missing"}}],
    }


@pytest.mark.parametrize(
    ("path", "location"),
    [
        ("src/my pkg/café.py", {"uri": "src/my%20pkg/caf%C3%A9.py", "uriBaseId": "%SRCROOT%"}),
        ("./a:b#c.py", {"uri": "a%3Ab%23c.py", "uriBaseId": "%SRCROOT%"}),
        ("../up.py", {"uri": "../up.py", "uriBaseId": "%SRCROOT%"}),
        ("/abs/dir x/a.py", {"uri": "file:///abs/dir%20x/a.py"}),
    ],
)
def test_sarif_uris(path: str, location: dict[str, str]) -> None:
    results = sarif_log(run(diag(1, 1, 1, 2, path=path)))["runs"][0]["results"]
    assert results[0]["locations"][0]["physicalLocation"]["artifactLocation"] == location


def fingerprints(source: str, *diagnostics: Diagnostic) -> list[str]:
    results = sarif_log(run(*diagnostics, sources={"pkg/app.py": source}))["runs"][0]["results"]
    return [result["partialFingerprints"]["primaryLocationLineHash"] for result in results]


def test_sarif_fingerprint_survives_lines_inserted_above() -> None:
    before = fingerprints("async def f():\n    spawn()\n", diag(2, 5, 2, 12))
    after = fingerprints("import os\n\nasync def f():\n  spawn()\n", diag(4, 3, 4, 10))
    assert before == after
    assert re.fullmatch(r"[0-9a-f]{16}:1", before[0])


def test_sarif_fingerprint_tells_findings_apart() -> None:
    source = "spawn()\nspawn()\nother()\n"
    same_line_twice = fingerprints(source, diag(1, 1, 1, 8), diag(2, 1, 2, 8))
    assert [value.split(":")[1] for value in same_line_twice] == ["1", "2"]
    assert same_line_twice[0].split(":")[0] == same_line_twice[1].split(":")[0]
    other_line = fingerprints(source, diag(3, 1, 3, 8))
    other_code = fingerprints(source, diag(1, 1, 1, 8, code="ASL102", name="dangling-task"))
    assert len({same_line_twice[0], other_line[0], other_code[0]}) == 3
