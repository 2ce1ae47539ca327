"""The engine through its public API: encodings, line endings, failures as data."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

import libcst as cst
import pytest

from asynclint import context, engine, positions
from asynclint import source as sources
from asynclint.engine import FileJob, check_file, check_source
from asynclint.walk import Walker
from tests.conftest import ROOT

CALL = "asyncio.create_task(coro)"


def spans(data: bytes) -> list[tuple[int, int, int, int, str]]:
    return [
        (d.line, d.column, d.end_line, d.end_column, d.code) for d in check_source(data, "x.py")
    ]


def test_crlf_line_endings_keep_lines_and_columns() -> None:
    source = f"import asyncio\r\n\r\nasync def f(coro):\r\n    {CALL}\r\n"
    assert spans(source.encode()) == [(4, 5, 4, 30, "ASL102")]


def test_bom_is_not_a_column() -> None:
    source = f"import asyncio\nasync def f(coro):\n    {CALL}\n"
    assert spans(b"\xef\xbb\xbf" + source.encode()) == [(3, 5, 3, 30, "ASL102")]


def test_columns_count_characters_under_a_coding_cookie() -> None:
    source = (
        f"# -*- coding: latin-1 -*-\nimport asyncio\nasync def f(coro):\n    x = 'été'; {CALL}\n"
    )
    assert spans(source.encode("latin-1")) == [(4, 16, 4, 41, "ASL102")]


def test_unknown_encoding_is_asl900() -> None:
    found = check_source(b"# coding: klingon\nx = 1\n", "x.py")
    assert [(d.code, d.line) for d in found] == [("ASL900", 1)]
    assert "klingon" in found[0].message


def test_syntax_newer_than_the_interpreter_still_parses() -> None:
    # PEP 695 syntax: rejected by `ast` before 3.12, parsed by LibCST everywhere.
    source = "import asyncio\ntype Alias = int\nasync def f(c):\n    asyncio.ensure_future(c())\n"
    assert [d.code for d in check_source(source, "x.py")] == ["ASL102"]


def test_unreadable_path_is_an_error_line(tmp_path: Path) -> None:
    result = check_file(FileJob(str(tmp_path), frozenset({"ASL102"})))
    assert (result.error, result.diagnostics) == ("Is a directory", [])


def test_a_crashing_rule_is_an_internal_error_not_a_crash(monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(*args: object) -> list[object]:
        raise ValueError("boom")

    monkeypatch.setattr(engine, "analyse", explode)
    job = FileJob("x.py", frozenset({"ASL102"}), data=b"x = 1\n", prefilter=False)
    result = check_file(job)
    assert result.internal
    assert result.error == "internal error: ValueError: boom"


def test_disabled_syntax_error_rule_reports_nothing() -> None:
    assert check_source("x = (\n", "x.py", codes={"ASL102"}) == []


def test_module_is_parsed_once(libcst_parses: list[str]) -> None:
    check_source(f"import asyncio\nasync def f(coro):\n    {CALL}\n", "x.py")
    assert len(libcst_parses) == 1


SHARED_STATE = """\
import asyncio

class Client:
    async def get(self, key):
        if key not in self._cache:
            value = await self.fetch(key)
            self._cache[key] = value
        return self._cache[key]

    async def go(self, coro):
        asyncio.create_task(coro)
"""


def test_positions_are_computed_once_per_file(monkeypatch: pytest.MonkeyPatch) -> None:
    """The engine and a rule that needs a line during the pass (ASL401) share them."""
    computed = []
    real = positions.positions

    def counting(module: cst.Module, *source: Any) -> positions.Positions:
        computed.append(module)
        return real(module, *source)

    monkeypatch.setattr(context, "positions_of", counting)
    found = check_source(SHARED_STATE, "x.py")
    assert [(d.line, d.code) for d in found] == [(7, "ASL401"), (11, "ASL102")]
    assert "checked on line 5 but written here after the `await` on line 6" in found[0].message
    assert len(computed) == 1


TEARDOWN = """\
import asyncio

class Client:
    async def aclose(self): ...

    def close(self):
        self.aclose(){noqa}
        asyncio.create_task(self.aclose())
"""


@pytest.mark.parametrize(
    ("codes", "noqa", "expected"),
    [
        (None, "", [(7, "ASL103"), (8, "ASL103")]),
        ({"ASL101", "ASL102"}, "", [(7, "ASL101"), (8, "ASL102")]),
        (None, "  # noqa: ASL103", [(8, "ASL103")]),
    ],
)
def test_the_more_specific_rule_reports_a_node_once(
    codes: set[str] | None, noqa: str, expected: list[tuple[int, str]]
) -> None:
    """ASL103 supersedes ASL101/ASL102 on the same call; without ASL103 they report it."""
    found = check_source(TEARDOWN.format(noqa=noqa), "x.py", codes)
    assert [(d.line, d.code) for d in found] == expected


ORDER_SAMPLE = """
@decorator(1)
async def f[T: int = str](a, /, b: int = 2, *c, d, **e) -> "T":
    x = f"{a!r:>{b}} {c=}" f'{d:{e}}'
    match x:
        case {"k": [1, *rest]} | Point(x=0) if rest:
            pass
    async with a as b, c:
        async for i in b:
            yield [j async for j in i if j] or {k: v for k, v in i}
    try:
        del x[1:2, ...]
    except* (E, F) as g:
        raise G from g
    else:
        lambda *, q=1: q
    finally:
        return (yield)
"""


def test_the_walk_visits_nodes_in_libcsts_order() -> None:
    class Recorder(cst.CSTVisitor):
        def __init__(self) -> None:
            super().__init__()
            self.seen: list[tuple[str, int]] = []

        def enter(self, node: cst.CSTNode) -> None:
            self.seen.append(("enter", id(node)))

        def leave(self, node: cst.CSTNode) -> None:
            self.seen.append(("leave", id(node)))

        def on_visit(self, node: cst.CSTNode) -> bool:
            self.enter(node)
            return True

        def on_leave(self, original_node: cst.CSTNode) -> None:
            self.leave(original_node)

    modules = [cst.parse_module(ORDER_SAMPLE)]
    for path in sorted((ROOT / "fixtures").rglob("*.py")):
        decoded = sources.decode(path.read_bytes())
        parsed = sources.parse(decoded) if isinstance(decoded, sources.Source) else decoded
        if isinstance(parsed, cst.Module):  # the broken fixtures are not
            modules.append(parsed)
    assert len(modules) > 1, "the fixtures are part of the sample"
    for module in modules:
        expected, walked = Recorder(), Recorder()
        module.visit(expected)
        Walker(walked.enter, walked.leave, {}, {}).walk(module)
        assert walked.seen == expected.seen


def test_nothing_of_a_file_outlives_its_check() -> None:
    """Rules share per-file state through the context, never through module-level caches
    that would keep every file's tree alive (memory grew with the number of files)."""
    found = check_source("import time\n\nasync def f():\n    time.sleep(1)\n", "x.py")
    assert [d.code for d in found] == ["ASL301"]
    gc.collect()
    assert [o for o in gc.get_objects() if isinstance(o, context.Context)] == []
