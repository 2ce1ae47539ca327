"""Exact messages of the lifecycle rules ASL101, ASL104 and ASL105 (the shared rule test
checks where they report, not what they say)."""

from __future__ import annotations

import textwrap

from asynclint.engine import check_source


def findings(code: str, source: str) -> list[tuple[int, int, str]]:
    text = textwrap.dedent(source)
    return [(d.line, d.column, d.message) for d in check_source(text, "example.py", {code})]


def test_unawaited_coroutine_messages_name_the_context() -> None:
    source = """
        async def fetch(): ...

        def main():
            fetch()
            _ = fetch()
            left = fetch()
            if not fetch():
                pass
    """
    assert findings("ASL101", source) == [
        (5, 5, "coroutine `fetch(...)` is never awaited"),
        (6, 9, "coroutine `fetch(...)` is assigned to `_` and never awaited"),
        (7, 12, "coroutine `fetch(...)` is assigned to `left`, which is never read"),
        (
            8,
            12,
            "coroutine `fetch(...)` is tested for truth, which is always true; it is never awaited",
        ),
    ]


def test_long_callees_are_shortened_to_their_last_attribute() -> None:
    source = """
        class Service:
            async def flush_everything_that_is_still_pending_right_now(self): ...

            def close(self):
                self.flush_everything_that_is_still_pending_right_now()
    """
    assert findings("ASL101", source) == [
        (
            6,
            9,
            "coroutine `….flush_everything_that_is_still_pending_right_now(...)` is never awaited",
        )
    ]


def test_event_loop_in_async_messages() -> None:
    source = """
        import asyncio

        async def main(loop: asyncio.AbstractEventLoop):
            asyncio.get_event_loop()
            loop.run_forever()
    """
    assert findings("ASL104", source) == [
        (
            5,
            5,
            "`asyncio.get_event_loop()` inside `async def`; use `asyncio.get_running_loop()`, "
            "which cannot create or return a stray loop",
        ),
        (
            6,
            5,
            "`loop.run_forever(...)` inside `async def` raises `RuntimeError` because this "
            "thread's event loop is already running",
        ),
    ]


def test_get_event_loop_fix_keeps_the_module_alias() -> None:
    source = """
        import asyncio as aio

        async def main():
            return aio.get_event_loop()
    """
    [diagnostic] = check_source(textwrap.dedent(source), "example.py", {"ASL104"})
    assert diagnostic.fix is not None
    assert diagnostic.fix.applicability.value == "safe"
    assert [(e.line, e.column, e.end_column, e.content) for e in diagnostic.fix.edits] == [
        (5, 16, 30, "get_running_loop")
    ]


def test_unawaited_coroutine_fix_is_unsafe_and_only_in_async_code() -> None:
    source = """
        async def fetch(): ...

        def sync():
            fetch()

        async def main():
            fetch()
    """
    found = check_source(textwrap.dedent(source), "example.py", {"ASL101"})
    assert [(d.line, d.fix is None) for d in found] == [(5, True), (8, False)]
    fix = found[1].fix
    assert fix is not None and fix.applicability.value == "unsafe"
    assert [(e.line, e.column, e.end_column, e.content) for e in fix.edits] == [
        (8, 5, 10, "await fetch")
    ]


def test_async_callable_as_callback_advice_depends_on_the_caller() -> None:
    source = """
        import asyncio
        import atexit
        import threading

        async def job(): ...

        def install(loop: asyncio.AbstractEventLoop):
            loop.call_soon_threadsafe(job)
            threading.Thread(target=lambda: job())
            atexit.register(job)
    """
    assert findings("ASL105", source) == [
        (
            9,
            31,
            "`loop.call_soon_threadsafe` calls async function `job` and drops the coroutine "
            "it returns, so its body never runs; from another thread, use "
            "`asyncio.run_coroutine_threadsafe(...)` instead",
        ),
        (
            10,
            29,
            "`threading.Thread` calls `lambda: job(...)` and drops the coroutine it returns, "
            "so its body never runs; have the thread run it with `asyncio.run(...)`, or "
            "submit it to the event loop with `asyncio.run_coroutine_threadsafe(...)`",
        ),
        (
            11,
            21,
            "`atexit.register` calls async function `job` and drops the coroutine it returns, "
            "so its body never runs; await the cleanup before the event loop stops "
            "(`try`/`finally`, `async with`)",
        ),
    ]
