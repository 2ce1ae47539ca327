"""ASL104 event-loop-in-async."""

from __future__ import annotations

import libcst as cst

from asynclint.context import Context
from asynclint.diagnostic import Applicability
from asynclint.knowledge.asyncio_api import LOOP
from asynclint.rule import Autofix, Invalid, Replace, Rule, Valid
from asynclint.rules.unawaited_coroutine import callee_spelling
from asynclint.scope import BindingKind

_RUN = frozenset(["asyncio.run", "asyncio.runners.run"])
_RUNNER = frozenset(["asyncio.Runner", "asyncio.runners.Runner"])
_GET_EVENT_LOOP = frozenset(["asyncio.get_event_loop", "asyncio.events.get_event_loop"])
_LOOP_RUNNERS = frozenset(["run_until_complete", "run_forever"])
_VALUE_BINDINGS = (BindingKind.ASSIGN, BindingKind.WITH)
_RAISES = "raises `RuntimeError` because this thread's event loop is already running"


def built_by(context: Context, expr: cst.BaseExpression, classes: frozenset[str]) -> bool:
    """`expr` is a call of one of `classes` (qualified names), or a name only ever bound to
    one (`runner = asyncio.Runner()`, `with ThreadPoolExecutor() as pool`)."""
    if isinstance(expr, cst.Name):
        bindings = context.scope.lookup(expr.value)
        if not bindings:
            return False
        values = [binding.value for binding in bindings if binding.kind in _VALUE_BINDINGS]
        return len(values) == len(bindings) and all(
            isinstance(v, cst.Call) and built_by(context, v, classes) for v in values
        )
    return isinstance(expr, cst.Call) and context.qualname(expr.func) in classes


def _running_loop_fix(func: cst.BaseExpression) -> Autofix:
    """`aio.get_event_loop` keeps the user's module alias; a bare imported name becomes
    `asyncio.get_running_loop`."""
    if isinstance(func, cst.Attribute):
        return Autofix(Replace(func.attr, cst.Name("get_running_loop")))
    return Autofix(Replace(func, "asyncio.get_running_loop"), imports=["asyncio"])


class EventLoopInAsync(Rule):
    """
    ## What it does
    Flags, inside `async def`, code that starts or looks up an event loop as if none were
    running: `asyncio.run(...)`, `run_until_complete(...)` and `run_forever()` on a
    receiver known to be an event loop (`asyncio.new_event_loop()`, `self._loop` assigned
    from `asyncio.get_event_loop()`, a parameter annotated `asyncio.AbstractEventLoop`),
    `run(...)` on an `asyncio.Runner`, and `asyncio.get_event_loop()`.

    Code in a nested sync `def` or `lambda` is not flagged: it may run in another thread
    (`await asyncio.to_thread(asyncio.run, main())` is fine). Creating an
    `asyncio.Runner` is not flagged either, only running it.

    ## Why is this bad?
    A thread runs at most one event loop. From inside a coroutine, `asyncio.run(...)`,
    `Runner.run(...)`, `loop.run_until_complete(...)` and `loop.run_forever()` raise
    `RuntimeError` (or, with patched loops such as `nest_asyncio`, block every other task
    until they return). `asyncio.get_event_loop()` works there but its behaviour outside
    a running loop is deprecated and differs between Python versions;
    `asyncio.get_running_loop()` says what the code means and cannot create a stray loop.

    ## Example
    ```python
    async def refresh(self):
        loop = asyncio.get_event_loop()
        data = loop.run_until_complete(self.fetch())
    ```

    ## Use instead
    ```python
    async def refresh(self):
        loop = asyncio.get_running_loop()
        data = await self.fetch()
    ```

    ## Fix safety
    `asyncio.get_event_loop()` is replaced by `asyncio.get_running_loop()`, keeping the
    module alias you wrote (`aio.get_running_loop()`); a bare `get_event_loop()` imported
    from `asyncio` becomes `asyncio.get_running_loop()` and `import asyncio` is added. Inside
    a running coroutine both return the same loop, so the fix is safe. Running a loop has
    no automatic fix: the caller has to await the coroutine instead.

    ## Options
    None.
    """

    code = "ASL104"
    name = "event-loop-in-async"
    message = "`{call}` inside `async def` " + _RAISES
    fix_title = "Use `asyncio.get_running_loop()`"
    fix_applicability = Applicability.SAFE
    async_only = True

    examples = (
        Invalid(
            """
            import asyncio
            import asyncio as aio
            from asyncio import run, get_event_loop

            async def work(): ...

            async def main():
                asyncio.run(work())  # error: ASL104@5
                run(work())  # error: ASL104@5
                loop = aio.get_event_loop()  # error: ASL104@12
                loop.run_until_complete(work())  # error: ASL104@5
                get_event_loop().run_forever()  # error: ASL104@5, ASL104@5
                asyncio.new_event_loop().run_until_complete(work())  # error: ASL104@5
                with asyncio.Runner() as runner:
                    runner.run(work())  # error: ASL104@9
            """,
        ),
        Invalid(
            """
            import asyncio

            class Bot:
                def __init__(self, loop: asyncio.AbstractEventLoop | None = None):
                    self.loop = loop or asyncio.get_event_loop()

                async def start(self): ...

                async def restart(self):
                    self.loop.run_until_complete(self.start())  # error: ASL104@9

            async def serve(loop: asyncio.AbstractEventLoop):
                if loop.is_running():
                    return
                loop.run_forever()  # error: ASL104@5
                asyncio.events.get_event_loop()  # error: ASL104@5
            """
        ),
        Invalid(
            """
            import asyncio as aio
            from asyncio import get_event_loop

            async def main():
                loop = aio.get_event_loop()  # error: ASL104@12
                get_event_loop().call_soon(print)  # error: ASL104@5
                return aio.events.get_event_loop()  # error: ASL104@12
            """,
            fixed="""
            import asyncio as aio
            from asyncio import get_event_loop
            import asyncio

            async def main():
                loop = aio.get_running_loop()
                asyncio.get_running_loop().call_soon(print)
                return aio.events.get_running_loop()
            """,
        ),
        Invalid(
            {
                "pkg/__init__.py": "",
                "pkg/runtime.py": """
                    import asyncio

                    def make_loop() -> asyncio.AbstractEventLoop:
                        return asyncio.new_event_loop()

                    class Service:
                        def current(self) -> asyncio.AbstractEventLoop:
                            return asyncio.get_running_loop()
                    """,
                "pkg/app.py": """
                    from pkg import runtime
                    from pkg.runtime import Service, make_loop

                    async def work(): ...

                    async def handler(service: Service):
                        make_loop().run_until_complete(work())  # error: ASL104@5
                        runtime.make_loop().run_forever()  # error: ASL104@5
                        service.current().run_until_complete(work())  # error: ASL104@5
                    """,
            }
        ),
        Valid(
            {
                "pkg/__init__.py": "",
                "pkg/jobs.py": """
                    def run(job):
                        return job()

                    class Loop:
                        def run_until_complete(self, job): ...
                        def run_forever(self): ...
                    """,
                "pkg/app.py": """
                    from pkg import jobs
                    from pkg.jobs import Loop, run

                    async def handler(job, loop: Loop):
                        run(job)
                        jobs.run(job)
                        loop.run_until_complete(job)
                        Loop().run_forever()
                    """,
            }
        ),
        Valid(
            """
            import asyncio

            async def work(): ...

            def main():
                asyncio.run(work())
                loop = asyncio.new_event_loop()
                loop.run_until_complete(work())
                loop.run_forever()
                asyncio.get_event_loop()

            async def in_thread():
                await asyncio.to_thread(asyncio.run, work())
                loop = asyncio.get_running_loop()
                await loop.run_in_executor(None, asyncio.run, work())

                def worker():
                    asyncio.run(work())
                    asyncio.new_event_loop().run_until_complete(work())

                await asyncio.to_thread(worker)
                await asyncio.to_thread(lambda: asyncio.run(work()))

            asyncio.run(work())
            """
        ),
        Valid(
            """
            import asyncio
            import trio
            from app import loop, run

            class Runner:
                def run(self, coro): ...

            async def look_alikes(app, scheduler, runner: Runner):
                app.run(host="0.0.0.0")
                scheduler.run_until_complete()
                loop.run_forever()
                run(scheduler)
                runner.run(1)
                trio.run(app)
                policy = asyncio.get_event_loop_policy()
                asyncio.get_running_loop().call_soon(print)
                spare = asyncio.Runner()
                spare.close()
                asyncio.sleep(0).run_until_complete
            """,
        ),
    )

    def visit_Call(self, node: cst.Call) -> None:
        if not self.context.in_async_def:
            return
        func = node.func
        qualname = self.context.qualname(func)
        if qualname in _GET_EVENT_LOOP:
            self.report(
                node,
                f"`{callee_spelling(self.context, func)}()` inside `async def`; use "
                "`asyncio.get_running_loop()`, which cannot create or return a stray loop",
                fix=_running_loop_fix(func),
            )
        elif qualname in _RUN or (isinstance(func, cst.Attribute) and self._runs_loop(func)):
            self.report(node, call=f"{callee_spelling(self.context, func)}(...)")

    def _runs_loop(self, func: cst.Attribute) -> bool:
        method = func.attr.value
        if method in _LOOP_RUNNERS:
            return self.context.infer(func.value) == LOOP
        return method == "run" and built_by(self.context, func.value, _RUNNER)
