"""ASL205 jump-in-finally."""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from asynclint.rule import Invalid, Rule, Valid
from asynclint.walk import children

_Jump = cst.Return | cst.Break | cst.Continue
_KEYWORD = {cst.Return: "return", cst.Break: "break", cst.Continue: "continue"}


def _jumps(node: cst.CSTNode, in_loop: bool) -> Iterator[_Jump]:
    """The jumps in `node` that leave the enclosing ``finally``.

    A ``return`` always leaves it; ``break``/``continue`` only when no loop between them
    and the ``finally`` catches them (a loop's ``else`` belongs to the outer loop). Nested
    scopes are skipped, and so are nested ``finally`` blocks: they are checked on their own.
    """
    if isinstance(node, cst.Return) or (
        isinstance(node, (cst.Break, cst.Continue)) and not in_loop
    ):
        yield node
        return
    if isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Lambda, cst.Finally)):
        return
    if isinstance(node, (cst.For, cst.While)):
        yield from _jumps(node.body, True)
        if node.orelse is not None:
            yield from _jumps(node.orelse, in_loop)
        return
    for child in children(node):
        yield from _jumps(child, in_loop)


class JumpInFinally(Rule):
    """
    ## What it does
    Flags `return`, `break` and `continue` that leave a `finally` block of an `async def`.
    A `break` or `continue` of a loop that itself sits inside the `finally` is fine, and
    so is a `return` in a function defined inside it.

    ## Why is this bad?
    Leaving a `finally` with a jump throws away whatever was propagating through it. In a
    coroutine that is most often the `CancelledError` sent by `task.cancel()`, an
    `asyncio.timeout()` or a failing `TaskGroup` sibling: the coroutine returns normally,
    the task that was meant to stop keeps running (or reports success), timeouts never
    fire and shutdown hangs. Any other exception in flight, including `KeyboardInterrupt`,
    vanishes the same way. Python 3.14 warns about these jumps for this reason (PEP 765).

    ## Example
    ```python
    async def fetch(session, url):
        try:
            return await session.get(url)
        finally:
            return None
    ```

    ## Use instead
    Keep the jump out of the `finally`, so an exception in flight keeps propagating:
    ```python
    async def fetch(session, url):
        try:
            return await session.get(url)
        finally:
            await session.close()
    ```

    ## Fix safety
    There is no automatic fix: where the jump belongs (after the `try`, in an `except`
    handler) depends on what the code meant to do on success and on failure.

    ## Options
    None.
    """

    code = "ASL205"
    name = "jump-in-finally"
    message = (
        "`{keyword}` in `finally` discards the exception in flight, including a `CancelledError`"
    )
    async_only = True

    examples = (
        Invalid(
            """
            import asyncio

            async def first(queue):
                try:
                    return await queue.get()
                finally:
                    return None  # error: ASL205@9

            async def drain(queue):
                while True:
                    try:
                        await queue.get()
                    finally:
                        if queue.empty():
                            break  # error: ASL205@17
                        continue  # error: ASL205@13

            async def in_loop_in_finally(items):
                try:
                    await asyncio.sleep(1)
                finally:
                    for item in items:
                        return item  # error: ASL205@13
            """
        ),
        Invalid(
            """
            import asyncio

            async def nested(lock, conn):
                async with lock:
                    try:
                        await conn.send(b"x")
                    except OSError:
                        pass
                    else:
                        await conn.flush()
                    finally:
                        try:
                            await conn.close()
                        except BaseException:
                            raise
                        finally:
                            return False  # error: ASL205@17

            async def loop_else(items):
                for item in items:
                    try:
                        await item
                    finally:
                        while item.pending():
                            item.step()
                        else:
                            break  # error: ASL205@17

            class Client:
                async def close(self):
                    try:
                        await self._conn.close()
                    finally:
                        if self._closed: return  # error: ASL205@30
            """
        ),
        Invalid(
            """
            import asyncio
            import contextlib

            async def with_stack(resources):
                async with contextlib.AsyncExitStack() as stack:
                    for resource in resources:
                        try:
                            await stack.enter_async_context(resource)
                        finally:
                            continue  # error: ASL205@17

            async def star(tasks):
                try:
                    async with asyncio.TaskGroup() as tg:
                        for task in tasks:
                            tg.create_task(task)
                except* OSError:
                    pass
                finally:
                    return len(tasks)  # error: ASL205@9
            """,
            min_python=(3, 11),
        ),
        Valid(
            """
            import asyncio

            async def fine(queue, items):
                try:
                    value = await queue.get()
                finally:
                    queue.task_done()
                return value

            async def loops_inside_finally(items):
                try:
                    await asyncio.sleep(0)
                finally:
                    for item in items:
                        if item is None:
                            continue
                        if item == 0:
                            break
                    while items:
                        items.pop()
                        break

            async def jumps_in_try_and_except(queue):
                while True:
                    try:
                        item = await queue.get()
                        if item is None:
                            break
                    except ValueError:
                        continue
                    else:
                        return item
                    finally:
                        queue.task_done()
            """
        ),
        Valid(
            """
            import asyncio

            def sync_cleanup(conn):
                try:
                    conn.close()
                finally:
                    return None

            async def nested_scopes(conn):
                try:
                    await conn.close()
                finally:
                    def report():
                        return conn.closed

                    callback = lambda: conn.closed
                    conn.on_close(report, callback)

            async def nested_sync_def():
                def helper(items):
                    for item in items:
                        try:
                            item.close()
                        finally:
                            continue
                await asyncio.to_thread(helper, [])

            class Holder:
                async def stop(self):
                    try:
                        await self.flush()
                    finally:
                        class Marker:
                            def done(self):
                                return True
                        self.marker = Marker
            """
        ),
        Valid(
            """
            import asyncio
            import contextlib

            async def stacked(resources):
                async with contextlib.AsyncExitStack() as stack:
                    try:
                        for resource in resources:
                            await stack.enter_async_context(resource)
                    finally:
                        for resource in resources:
                            if resource.failed:
                                break
                return stack

            async def grouped(tasks):
                try:
                    async with asyncio.TaskGroup() as tg:
                        for task in tasks:
                            tg.create_task(task)
                except* OSError:
                    return None
                finally:
                    tasks.clear()
            """,
            min_python=(3, 11),
        ),
    )

    def visit_Finally(self, node: cst.Finally) -> None:
        if not self.context.in_async_def:
            return
        for jump in _jumps(node.body, False):
            self.report(jump, keyword=_KEYWORD[type(jump)])
