"""Cheap readings of Python code: the words it spells, its statements."""

from __future__ import annotations

import ast
import re

import pytest

from asynclint.syntax import has_async, spells_word, statements


@pytest.mark.parametrize(
    "text",
    [
        "async def f(): ...",
        "x = 1\nawait",
        "import asyncio  # async",
        "(await x)",
        "asyncio.run(main())\nasync",
        "import asyncio\nasyncio_x = 1\n_async = async_ = éasync = asyncé = 2\n",
        "awaitable = 1",
        "",
    ],
)
def test_the_words_are_found_where_a_regular_expression_finds_them(text: str) -> None:
    expected = re.search(r"\b(?:async|await)\b", text) is not None
    assert has_async(text) is expected
    assert spells_word(text, "async") is (re.search(r"\basync\b", text) is not None)


def test_statements_reach_every_nested_statement_and_no_expression() -> None:
    tree = ast.parse(
        "import a\n"
        "def f():\n"
        "    try:\n"
        "        import b\n"
        "    except E:\n"
        "        import c\n"
        "    finally:\n"
        "        import d\n"
        "class C:\n"
        "    match x:\n"
        "        case 1:\n"
        "            import e\n"
        "    lambda: (yield)\n"
    )
    imported = sorted(
        alias.name
        for node in statements(tree.body)
        if isinstance(node, ast.Import)
        for alias in node.names
    )
    assert imported == ["a", "b", "c", "d", "e"]
    assert not any(isinstance(node, ast.expr) for node in statements(tree.body))
