"""Suppression comments and skip-file, through the public `check_source` API."""

from __future__ import annotations

import pytest

from asynclint.engine import check_source
from asynclint.suppress import directives

HEADER = "import asyncio\n\nasync def f(coro):\n"


def lines_found(body: str) -> list[int]:
    return [d.line for d in check_source(HEADER + body, "x.py")]


@pytest.mark.parametrize(
    "comment",
    [
        "# noqa",
        "# noqa: ASL102",
        "# noqa:ASL102",
        "# NOQA: E501, ASL102",
        "# noqa: ASL101 ASL102",
        "# asynclint: ignore[ASL102]",
        "# asynclint: ignore[dangling-task]",
        "# asynclint: ignore[ASL101, dangling-task]",
        "# reason first  # noqa: ASL102",
    ],
)
def test_comment_suppresses(comment: str) -> None:
    assert lines_found(f"    asyncio.create_task(coro)  {comment}\n") == []


@pytest.mark.parametrize(
    "comment",
    [
        "# noqa: E501",
        "# noqa: ASL101",
        "# asynclint: ignore[ASL101]",
        "# no qa",
        "# asynclint: ignore",
    ],
)
def test_other_codes_do_not_suppress(comment: str) -> None:
    assert lines_found(f"    asyncio.create_task(coro)  {comment}\n") == [4]


@pytest.mark.parametrize("where", [0, 1, 2])
def test_any_line_of_a_multiline_statement(where: int) -> None:
    lines = ["    asyncio.create_task(", "        coro,", "    )"]
    lines[where] += "  # noqa: ASL102"
    assert lines_found("\n".join(lines) + "\n") == []


def test_comment_on_another_statement_does_not_suppress() -> None:
    body = "    x = 1  # noqa: ASL102\n    asyncio.create_task(coro)\n"
    assert lines_found(body) == [5]


def test_skip_file() -> None:
    assert lines_found("    asyncio.create_task(coro)\n# asynclint: skip-file\n") == []
    assert lines_found("    asyncio.create_task(coro)  # asynclint: skip-file\n") == [4]


def test_syntax_errors_cannot_be_suppressed() -> None:
    found = check_source("x = (  # noqa\n", "x.py")
    assert [d.code for d in found] == ["ASL900"]


def test_directives() -> None:
    assert directives("x  # noqa") == {"*"}
    assert directives("x  # noqa: asl102,ASL101") == {"ASL102", "ASL101"}
    assert directives("x  # asynclint: ignore[dangling-task, ASL101]") == {
        "dangling-task",
        "ASL101",
    }
    assert directives("x = 1") == frozenset()
