"""ASL301 blocking-sleep."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import libcst as cst

from asynclint.context import Context
from asynclint.diagnostic import Applicability
from asynclint.rule import Autofix, Invalid, Replace, Report, Valid
from asynclint.rules._blocking import BlockingCallRule, Hit


class BlockingSleep(BlockingCallRule):
    """
    ## What it does
    Flags `time.sleep(...)` inside an `async def`. The name is resolved however it is
    imported: `import time as t`, `from time import sleep as pause`, `nap = time.sleep`.
    A nested sync `def` or `lambda` (such as a function handed to `asyncio.to_thread` or
    `loop.run_in_executor`) is not async code and is left alone.

    `time.sleep(0)` is flagged too, with its own message: it blocks for no time, but it
    does not yield to the event loop either, which is what it is usually meant to do.

    ## Why is this bad?
    `time.sleep` suspends the whole thread, and in an `async def` that thread is the one
    running the event loop: every other task, callback, timeout and I/O completion waits
    until the sleep ends. A one-second sleep in one handler is a one-second stall for
    every connection the process serves.

    ## Example
    ```python
    async def poll(self):
        while not self.ready():
            time.sleep(0.5)
    ```

    ## Use instead
    ```python
    async def poll(self):
        while not self.ready():
            await asyncio.sleep(0.5)
    ```

    ## Fix safety
    The fix replaces a call used as a statement with `await asyncio.sleep(...)`, adding
    `import asyncio` when needed. It is unsafe: the sleep becomes a point where other tasks
    run and where the task can be cancelled, which changes behaviour in code that relied
    on not being interrupted. A call whose value is used, or where `asyncio` names
    something else, gets no fix.

    ## Options
    None.
    """

    code = "ASL301"
    name = "blocking-sleep"
    fix_title = "Replace with `await asyncio.sleep(...)`"
    fix_applicability = Applicability.UNSAFE

    examples = (
        Invalid(
            """
            import time
            import time as t
            from time import sleep
            from time import sleep as zzz

            nap = time.sleep

            async def worker(delay):
                time.sleep(delay)  # error: ASL301@5
                t.sleep(1)  # error: ASL301@5
                sleep(0.5)  # error: ASL301@5
                zzz(2)  # error: ASL301@5
                nap(3)  # error: ASL301@5
                for _ in range(3):
                    time.sleep(0)  # error: ASL301@9
            """,
            fixed="""
            import time
            import time as t
            from time import sleep
            from time import sleep as zzz
            import asyncio

            nap = time.sleep

            async def worker(delay):
                await asyncio.sleep(delay)
                await asyncio.sleep(1)
                await asyncio.sleep(0.5)
                await asyncio.sleep(2)
                await asyncio.sleep(3)
                for _ in range(3):
                    await asyncio.sleep(0)
            """,
        ),
        Invalid(
            """
            import asyncio
            import time

            class Poller:
                async def run(self):
                    try:
                        time.sleep(self.interval)  # error: ASL301@13
                    finally:
                        await asyncio.sleep(0)

            def outer():
                async def inner():
                    time.sleep(1)  # error: ASL301@9
                return inner
            """,
            fixed="""
            import asyncio
            import time

            class Poller:
                async def run(self):
                    try:
                        await asyncio.sleep(self.interval)
                    finally:
                        await asyncio.sleep(0)

            def outer():
                async def inner():
                    await asyncio.sleep(1)
                return inner
            """,
        ),
        Invalid(
            """
            import time

            asyncio = None

            async def main(items):
                result = time.sleep(1)  # error: ASL301@14
                print([time.sleep(0.1) for _ in items])  # error: ASL301@12
                time.sleep(2)  # error: ASL301@5
            """
        ),
        Valid(
            """
            import asyncio
            import functools
            import time

            async def offload(loop):
                await asyncio.to_thread(time.sleep, 1)
                await loop.run_in_executor(None, time.sleep, 1)
                await loop.run_in_executor(None, lambda: time.sleep(1))
                await loop.run_in_executor(None, functools.partial(time.sleep, 1))

                def blocking_helper():
                    time.sleep(1)

                await asyncio.to_thread(blocking_helper)
                await asyncio.sleep(1)

            def sync_code():
                time.sleep(1)
            """
        ),
        Valid(
            """
            import anyio
            import trio
            from asyncio import sleep
            from mylib import time

            class Clock:
                def sleep(self, seconds): ...

            async def main(clock: Clock, sched):
                await sleep(1)
                await anyio.sleep(1)
                await trio.sleep(1)
                clock.sleep(1)
                sched.sleep(1)
                time.sleep(1)

            async def shadowed(time):
                time.sleep(1)
            """
        ),
    )

    def __init__(self, context: Context, settings: Mapping[str, Any], reports: list[Report]):
        super().__init__(context, settings, reports)
        self._statement_values: set[int] = set()
        """Calls used as a whole expression statement: only those are fixed."""

    def visit_Expr(self, node: cst.Expr) -> None:
        self._statement_values.add(id(node.value))

    def report_hit(self, node: cst.BaseExpression, hit: Hit) -> None:
        assert isinstance(node, cst.Call)
        if _is_zero(node):
            spelling = hit.spelling.removesuffix("(...)")
            message = f"`{spelling}(0)` does not yield to other tasks; use `await asyncio.sleep(0)`"
        else:
            message = self.message.format(call=hit.spelling, instead=hit.entry.instead)
        self.report(node, message, fix=self._fix(node))

    def _fix(self, call: cst.Call) -> Autofix | None:
        if id(call) not in self._statement_values:
            return None
        bound = self.context.scope.lookup("asyncio")
        if bound is not None and self.context.qualname(cst.Name("asyncio")) != "asyncio":
            return None
        sleep = cst.Attribute(cst.Name("asyncio"), cst.Name("sleep"))
        new = cst.Await(call.with_changes(func=sleep, lpar=(), rpar=()))
        return Autofix(Replace(call, new), imports=["asyncio"] if bound is None else [])


def _is_zero(call: cst.Call) -> bool:
    return (
        len(call.args) == 1
        and isinstance(call.args[0].value, (cst.Integer, cst.Float))
        and call.args[0].value.value.strip("0.") == ""
    )
