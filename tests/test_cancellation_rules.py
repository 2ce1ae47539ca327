"""Exact messages and fix offers of the cancellation rules (ASL203, ASL205, ASL206).

The shared rule test pins where these rules report; this pins what they say, and which
ASL203 findings carry the unsafe `raise` fix.
"""

from __future__ import annotations

import inspect

import pytest

from asynclint.diagnostic import Applicability
from asynclint.engine import check_source


def _findings(code: str, source: str) -> list[tuple[int, str, bool]]:
    text = inspect.cleandoc(source) + "\n"
    return [(d.line, d.message, d.fix is not None) for d in check_source(text, "t.py", {code})]


_SWALLOWED = "the task's cancellation is swallowed"


@pytest.mark.parametrize(
    ("handler", "message", "fixable"),
    [
        ("pass", "`except asyncio.CancelledError` can end without re-raising", True),
        ("return 1", "`except asyncio.CancelledError` returns without re-raising", False),
        (
            "raise ValueError()",
            "`except asyncio.CancelledError` raises a different exception without `from`",
            False,
        ),
    ],
)
def test_asl203_names_the_swallowing_path(handler: str, message: str, fixable: bool) -> None:
    source = f"""
        import asyncio

        async def f(conn):
            try:
                await conn.ping()
            except asyncio.CancelledError:
                {handler}
        """
    assert _findings("ASL203", source) == [(6, f"{message}; {_SWALLOWED}", fixable)]


def test_asl203_loop_exits_and_broad_handlers_get_no_fix() -> None:
    source = """
        import asyncio
        import contextlib

        async def f(conn):
            while True:
                try:
                    await conn.ping()
                except BaseException:
                    break
                try:
                    await conn.ping()
                except (OSError, asyncio.CancelledError):
                    continue
                try:
                    await conn.ping()
                except:
                    conn.log()
                with contextlib.suppress(asyncio.CancelledError):
                    await conn.ping()
        """
    assert _findings("ASL203", source) == [
        (8, f"`except BaseException` leaves with `break` without re-raising; {_SWALLOWED}", False),
        (
            12,
            "`except (OSError, asyncio.CancelledError)` leaves with `continue` without "
            f"re-raising; {_SWALLOWED}",
            False,
        ),
        (16, f"`except:` can end without re-raising; {_SWALLOWED}", False),
        (
            18,
            "`contextlib.suppress(asyncio.CancelledError)` around an `await` never "
            f"re-raises; {_SWALLOWED}",
            False,
        ),
    ]


def test_asl203_fix_is_unsafe() -> None:
    source = """
        import asyncio

        async def f(conn):
            try:
                await conn.ping()
            except asyncio.CancelledError:
                conn.log()
        """
    text = inspect.cleandoc(source) + "\n"
    [diagnostic] = check_source(text, "t.py", {"ASL203"})
    assert diagnostic.fix is not None
    assert diagnostic.fix.applicability is Applicability.UNSAFE
    assert diagnostic.fix.title == "Re-raise the `CancelledError` at the end of the handler"


@pytest.mark.parametrize("keyword", ["return", "break", "continue"])
def test_asl205_names_the_jump(keyword: str) -> None:
    source = f"""
        async def f(conn):
            for _ in range(3):
                try:
                    await conn.ping()
                finally:
                    {keyword}
        """
    assert _findings("ASL205", source) == [
        (
            6,
            f"`{keyword}` in `finally` discards the exception in flight, including a "
            "`CancelledError`",
            False,
        )
    ]


_RACES = "its cleanup races with the code that follows and its exception is lost"


def test_asl206_names_the_task_or_the_collection() -> None:
    source = """
        import asyncio

        async def f(work):
            task = asyncio.create_task(work())
            tasks = [asyncio.create_task(work()) for _ in range(3)]
            await asyncio.sleep(1)
            task.cancel()
            for t in tasks:
                t.cancel()
        """
    assert _findings("ASL206", source) == [
        (7, f"`task.cancel()` without waiting for the task afterwards; {_RACES}", False),
        (
            9,
            f"`t.cancel()` without waiting for the tasks of `tasks` afterwards; {_RACES}",
            False,
        ),
    ]


def test_asl206_waiting_for_the_collection_waits_for_each_task() -> None:
    source = """
        import asyncio

        async def f(work):
            tasks = [asyncio.create_task(work()) for _ in range(3)]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        """
    assert _findings("ASL206", source) == []
