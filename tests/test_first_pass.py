"""The index's first pass is the one ``ast`` parse of a project file: the pre-filter reuses
what it recorded (the outline) for the very text it read, and parses any other text."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from asynclint import engine, index

HELPERS = """\
import json


def load(path):
    from pathlib import Path

    return json.loads(Path(path).read_text())
"""


@pytest.fixture
def helpers(tmp_path: Path) -> Iterator[str]:
    """The path of HELPERS, indexed as the active project."""
    path = tmp_path / "helpers.py"
    path.write_text(HELPERS)
    previous = index.active()
    index.set_active(index.build([str(path)]))
    try:
        yield str(path)
    finally:
        index.set_active(previous)


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The texts the checks parse with ``ast``."""
    parsed: list[str] = []

    def parse(text: str) -> ast.Module | None:
        parsed.append(text)
        return ast.parse(text)

    monkeypatch.setattr(index, "syntax_tree", parse)
    return parsed


def check(path: str, data: bytes | None = None) -> list[str]:
    result = engine.check_file(engine.FileJob(path, frozenset(["ASL101", "ASL900"]), {}, data))
    assert result.error is None
    return [f"{d.line}:{d.column} {d.code}" for d in result.diagnostics]


def test_an_indexed_file_is_not_parsed_again(helpers: str, parses: list[str]) -> None:
    assert check(helpers) == []
    assert parses == []


def test_other_text_is_parsed_as_if_never_indexed(helpers: str, parses: list[str]) -> None:
    edited = HELPERS + "\n\ndef pause():\n    from asyncio import sleep\n\n    sleep(1)\n"
    assert check(helpers, edited.encode()) == ["13:5 ASL101"]
    assert parses == [edited]


def test_the_outline_holds_what_imports_anywhere_reach(helpers: str) -> None:
    outline = index.active().outline(helpers, HELPERS)
    assert outline is not None
    assert sorted(outline.reached) == ["json", "pathlib.Path"]
    assert index.active().outline(helpers, HELPERS + " ") is None
    assert index.active().outline(helpers + "x", HELPERS) is None
