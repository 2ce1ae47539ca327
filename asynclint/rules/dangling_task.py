"""ASL102 dangling-task."""

from __future__ import annotations

import libcst as cst

from asynclint.callables import indexed_function
from asynclint.context import BlockKind
from asynclint.knowledge.asyncio_api import (
    CALLBACK_REGISTRARS,
    DONE_CALLBACK_METHODS,
    ENSURE_FUTURE,
    FUTURE_RETURNING,
    LOOP,
    LOOP_FUTURE_METHODS,
    LOOP_TASK_METHODS,
    PARTIAL,
    SHIELD,
    TASK_FACTORIES,
    TASK_METHODS_RETURNING_NONE,
)
from asynclint.rule import Invalid, Rule, Valid

_GC = "can be garbage-collected before it finishes"
_RAISES = frozenset(["raises", "assertRaises", "assertRaisesRegex"])


def _is_raises(func: cst.BaseExpression) -> bool:
    if isinstance(func, cst.Attribute):
        return func.attr.value in _RAISES
    return isinstance(func, cst.Name) and func.value in _RAISES


_MAX_SPELLING = 48


class DanglingTask(Rule):
    """
    ## What it does
    Flags a task created from a coroutine whose only reference is then dropped:
    `asyncio.create_task(...)`, `asyncio.ensure_future(...)`, `asyncio.Task(...)` or an
    event loop's `create_task(...)` used as a statement, assigned to `_` or to a local that
    is never read, created inside a callback whose result the loop discards
    (`loop.call_soon(asyncio.create_task, coro)`, `fut.add_done_callback(lambda _:
    asyncio.create_task(...))`), and `asyncio.shield(coro())` used as a statement.

    Names are resolved, not matched on spelling: `from asyncio import create_task as spawn`,
    `import asyncio as aio`, `spawn = asyncio.create_task`, a `loop` local assigned from
    `asyncio.get_running_loop()`, and `self._loop` assigned from `get_event_loop()` in any
    method are all understood. So are the project's own helpers that create a task and return
    it (`def spawn(coro): return asyncio.create_task(coro)`, in any module of the project,
    found through the project index): dropping their result drops the task. A receiver whose
    type is unknown (a `TaskGroup`, a scheduler of your own) is never flagged.

    ## Why is this bad?
    The event loop keeps only weak references to tasks. A task that nothing else
    references can be garbage-collected while it is still pending: its coroutine stops at
    an arbitrary `await`, `finally` blocks may never run, and its exception is lost. The
    failure is rare, timing-dependent and silent, which makes it one of the hardest asyncio
    bugs to diagnose in production.

    ## Example
    ```python
    async def on_message(self, message):
        asyncio.create_task(self.store(message))
    ```

    ## Use instead
    Keep a strong reference until the task is done, await it, or let a `TaskGroup` own it:
    ```python
    background_tasks = set()

    async def on_message(self, message):
        task = asyncio.create_task(self.store(message))
        background_tasks.add(task)
        task.add_done_callback(background_tasks.discard)
    ```

    ## Fix safety
    There is no automatic fix: where the reference should live (a set, an attribute, a
    `TaskGroup`) is a design decision.

    ## Options
    None.
    """

    code = "ASL102"
    name = "dangling-task"
    message = "`{call}` result is discarded; the task " + _GC
    fix_title = "Keep a reference to the task (e.g. a set with `add_done_callback(set.discard)`)"

    examples = (
        Invalid(
            """
            import asyncio
            import asyncio as aio
            from asyncio import create_task as spawn, ensure_future

            async def handle(n): ...

            async def main():
                asyncio.create_task(handle(1))  # error: ASL102@5
                spawn(handle(2))  # error: ASL102@5
                aio.ensure_future(handle(3))  # error: ASL102@5
                ensure_future(handle(4))  # error: ASL102@5
                asyncio.Task(handle(5))  # error: ASL102@5
                asyncio.get_running_loop().create_task(handle(6))  # error: ASL102@5
                _ = asyncio.create_task(handle(7))  # error: ASL102@9
                unused = asyncio.create_task(handle(8))  # error: ASL102@14
                asyncio.shield(handle(9))  # error: ASL102@5
                asyncio.create_task(handle(10)).add_done_callback(print)  # error: ASL102@5
                [asyncio.create_task(handle(n)) for n in range(3)]  # error: ASL102@6
            """
        ),
        Invalid(
            """
            import asyncio

            spawn = asyncio.create_task

            class Service:
                def __init__(self, loop=None):
                    self._loop = loop or asyncio.get_event_loop()

                async def handle(self, message): ...

                def on_message(self, message):
                    self._loop.create_task(self.handle(message))  # error: ASL102@9
                    spawn(self.handle(message))  # error: ASL102@9

                def on_signal(self):
                    self._loop.call_soon(lambda: asyncio.create_task(self.handle(0)))  # error: ASL102@38
            """
        ),
        Invalid(
            """
            import asyncio
            import functools
            from asyncio import AbstractEventLoop

            async def job(): ...

            def schedule(loop: AbstractEventLoop, fut: asyncio.Future[None]) -> None:
                loop.create_task(job())  # error: ASL102@5
                loop.call_soon_threadsafe(asyncio.create_task, job())  # error: ASL102@31
                loop.call_later(1, functools.partial(asyncio.ensure_future, job()))  # error: ASL102@42
                fut.add_done_callback(lambda _: asyncio.ensure_future(job()))  # error: ASL102@37

            def run(loop: "asyncio.AbstractEventLoop | None" = None) -> None:
                task = loop.create_task(job())  # error: ASL102@12
            """
        ),
        Invalid(
            """
            import asyncio

            class Client:
                _loop: asyncio.AbstractEventLoop

                async def start(self):
                    loop = self._loop
                    loop.create_task(  # error: ASL102@9
                        self.ping()
                    )

                async def ping(self): ...
            """
        ),
        Invalid(
            """
            import pytest

            async def test_reader(event_loop):
                event_loop.create_task(feed())  # error: ASL102@5

            @pytest.fixture
            def writer(loop):
                loop.create_task(feed())  # error: ASL102@5
                return object()

            def helper(loop):
                loop.create_task(feed())

            async def feed(): ...
            """
        ),
        Valid(
            """
            import asyncio

            background = set()

            async def handle(n): ...

            async def keep(n):
                task = asyncio.create_task(handle(n))
                background.add(task)
                task.add_done_callback(background.discard)

            async def wait_for_all():
                t1 = asyncio.create_task(handle(1))
                t2 = asyncio.ensure_future(handle(2))
                await asyncio.gather(t1, t2, asyncio.create_task(handle(3)))
                await asyncio.create_task(handle(4))
                return asyncio.create_task(handle(5))

            async def with_group():
                async with asyncio.TaskGroup() as tg:
                    tg.create_task(handle(1))
                    task = tg.create_task(handle(2))

            async def closure():
                task = asyncio.create_task(handle(1))

                def cancel():
                    task.cancel()

                return cancel
            """
        ),
        Valid(
            """
            import asyncio

            task = asyncio.ensure_future(asyncio.sleep(1))

            class Worker:
                def __init__(self, group: asyncio.TaskGroup, scheduler):
                    self._tg = group
                    self._scheduler = scheduler
                    self._tasks = []

                async def run(self, fut):
                    self._task = asyncio.create_task(self.work())
                    self._tasks.append(asyncio.create_task(self.work()))
                    self._tg.create_task(self.work())
                    self._scheduler.create_task(self.work())
                    asyncio.ensure_future(fut)
                    asyncio.ensure_future(asyncio.get_running_loop().run_in_executor(None, print))
                    await asyncio.shield(self._task)
                    loop = asyncio.get_running_loop()
                    loop.run_in_executor(None, print)
                    loop.call_soon(print, "done")
                    yield asyncio.create_task(self.work())

                async def work(self): ...
            """
        ),
        Valid(
            """
            import asyncio
            import pytest

            def create_task(coro):
                return coro

            async def work(): ...

            async def main(nursery, tg):
                create_task(work())
                nursery.start_soon(work)
                tg.start_soon(work)
                factory = lambda: asyncio.create_task(work())
                tasks = [asyncio.create_task(work()) for _ in range(3)]
                await asyncio.wait(tasks)
                done = asyncio.create_task(work())
                while not done.done():
                    await asyncio.sleep(0)

            def test_closed_loop_refuses_tasks(loop):
                with pytest.raises(RuntimeError):
                    loop.create_task(work())

            def main_sync():
                asyncio.run(work())
                loop = asyncio.new_event_loop()
                loop.run_until_complete(loop.create_task(work()))
            """
        ),
        Valid(
            """
            import asyncio

            class Worker:
                def start(self) -> "asyncio.Task[None]":
                    self._task = asyncio.create_task(self.run())
                    return self._task

                def spawn(self) -> asyncio.Task[None]: ...

                async def run(self): ...

            def main(worker: Worker):
                worker.start()
                worker.spawn()
            """
        ),
    )

    def visit_Expr(self, node: cst.Expr) -> None:
        value = node.value
        if isinstance(value, cst.Call):
            if self._spawns(value):
                self._report_discarded(value)
            elif (
                isinstance(value.func, cst.Attribute)
                and value.func.attr.value in TASK_METHODS_RETURNING_NONE
                and isinstance(value.func.value, cst.Call)
                and self._spawns(value.func.value)
            ):
                self._report_discarded(value.func.value)
        elif isinstance(value, (cst.ListComp, cst.SetComp)):
            element = value.elt
            if isinstance(element, cst.Call) and self._spawns(element):
                self._report_discarded(element)

    def visit_Assign(self, node: cst.Assign) -> None:
        if len(node.targets) == 1:
            self._check_assignment(node.targets[0].target, node.value)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None:
            self._check_assignment(node.target, node.value)

    def visit_Call(self, node: cst.Call) -> None:
        """A spawner run as a callback whose return value the caller drops."""
        position = self._callback_position(node)
        if position is None or len(node.args) <= position or node.args[position].keyword:
            return
        callback = node.args[position].value
        registrar = self._spelling(node.func)
        if isinstance(callback, cst.Lambda):
            body = callback.body
            if isinstance(body, cst.Call) and self._spawns(body):
                self.report(
                    body,
                    f"`{registrar}` discards what the lambda returns: the task from "
                    f"`{self._spelling(body.func)}(...)` {_GC}",
                )
            return
        if isinstance(callback, cst.Call) and self.context.qualname(callback.func) in PARTIAL:
            if not callback.args:
                return
            callback = callback.args[0].value
        if self.context.qualname(callback) in TASK_FACTORIES | ENSURE_FUTURE:
            self.report(
                callback,
                f"`{registrar}` discards the task `{self._spelling(callback)}` creates; it {_GC}",
            )

    def _check_assignment(self, target: cst.BaseExpression, value: cst.BaseExpression) -> None:
        if not (isinstance(target, cst.Name) and isinstance(value, cst.Call)):
            return
        if not self._spawns(value):
            return
        name = target.value
        call = self._spelling(value.func)
        if self._expects_exception():
            return
        if name == "_":
            self.report(
                value, f"the task from `{call}(...)` is assigned to `_` and dropped; it {_GC}"
            )
        elif self.context.is_local(name) and not self.context.is_used(name):
            self.report(value, f"the task `{name}` from `{call}(...)` is never used; it {_GC}")

    def _expects_exception(self) -> bool:
        """Inside ``with pytest.raises(...)``/``self.assertRaises(...)`` the call is expected
        to fail, so no task outlives the statement."""
        for block in reversed(self.context.blocks):
            if block.kind is BlockKind.WITH:
                assert isinstance(block.node, cst.With)
                for item in block.node.items:
                    if isinstance(item.item, cst.Call) and _is_raises(item.item.func):
                        return True
        return False

    def _report_discarded(self, call: cst.Call) -> None:
        if self._expects_exception():
            return
        spelling = self._spelling(call.func)
        if self.context.qualname(call.func) in SHIELD:
            self.report(
                call,
                f"`{spelling}(...)` result is discarded; the task it shields {_GC}",
            )
        else:
            self.report(call, call=f"{spelling}(...)")

    def _spawns(self, call: cst.Call) -> bool:
        """True when `call` wraps a coroutine in a new task and returns the only reference."""
        qualname = self.context.qualname(call.func)
        if qualname in TASK_FACTORIES:
            return True
        if qualname in ENSURE_FUTURE or qualname in SHIELD:
            return bool(call.args) and self._makes_coroutine(call.args[0].value)
        func = call.func
        if (
            isinstance(func, cst.Attribute)
            and func.attr.value in LOOP_TASK_METHODS
            and self.context.infer(func.value) == LOOP
        ):
            return True
        helper = indexed_function(self.context, func)
        return helper is not None and helper.returns_task and not helper.opaque

    def _makes_coroutine(self, expr: cst.BaseExpression) -> bool:
        """A call that is not known to return a future (which would be passed through)."""
        if not isinstance(expr, cst.Call):
            return False
        if isinstance(expr.func, cst.Attribute) and expr.func.attr.value in LOOP_FUTURE_METHODS:
            return False
        return self.context.qualname(expr.func) not in FUTURE_RETURNING

    def _callback_position(self, call: cst.Call) -> int | None:
        func = call.func
        if not isinstance(func, cst.Attribute):
            return None
        method = func.attr.value
        if method in DONE_CALLBACK_METHODS:
            return 0
        if method in CALLBACK_REGISTRARS and self.context.infer(func.value) == LOOP:
            return CALLBACK_REGISTRARS[method]
        return None

    def _spelling(self, expr: cst.BaseExpression) -> str:
        """The callee as the user wrote it, shortened when long."""
        text = " ".join(self.context.code(expr).split())
        if len(text) <= _MAX_SPELLING:
            return text
        tail = expr.attr.value if isinstance(expr, cst.Attribute) else text[-_MAX_SPELLING:]
        return f"….{tail}"
