"""ASL101 unawaited-coroutine."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import libcst as cst

from asynclint.callables import returns_coroutine
from asynclint.context import Context
from asynclint.diagnostic import Applicability
from asynclint.rule import Autofix, Invalid, Replace, Report, Rule, Valid
from asynclint.scope import ScopeKind

_MAX_SPELLING = 48


def callee_spelling(context: Context, expr: cst.BaseExpression) -> str:
    """The callee as the user wrote it, on one line and shortened when long."""
    text = " ".join(context.code(expr).split())
    if len(text) <= _MAX_SPELLING:
        return text
    tail = expr.attr.value if isinstance(expr, cst.Attribute) else text[-_MAX_SPELLING:]
    return f"….{tail}"


def _truth_tested(expr: cst.BaseExpression) -> Iterator[cst.Call]:
    """The calls whose result is tested for truth when `expr` is: `a() and not b()`."""
    if isinstance(expr, cst.Call):
        yield expr
    elif isinstance(expr, cst.BooleanOperation):
        yield from _truth_tested(expr.left)
        yield from _truth_tested(expr.right)
    elif isinstance(expr, cst.UnaryOperation) and isinstance(expr.operator, cst.Not):
        yield from _truth_tested(expr.expression)


class UnawaitedCoroutine(Rule):
    """
    ## What it does
    Flags a call to a coroutine function whose coroutine is then dropped: the call used as
    a statement, assigned to `_` or to a local that is never read, or tested for truth
    (`if client.is_ready():`, `while poll():`, `not ...`, `assert ...`, the operands of
    `and`/`or`), in async and in sync code.

    A call counts only when its callee is known to be a coroutine function: an `async def`
    of the project (functions and nested functions, through imports and re-exports;
    methods reached through `self`/`cls` and base classes, or on a receiver whose class is
    known from `x = Cls()`, an annotation or `self.x = Cls()`), a standard-library
    coroutine function (`asyncio.sleep`), or an async method of a standard-library object
    (`asyncio.Lock().acquire`). A callee behind a decorator that is not known to keep the
    function's kind, or a method of a receiver of unknown type, is never flagged: a sync
    `Client.close` is not confused with an async `AsyncClient.close`. A coroutine that is
    awaited, returned, yielded, stored or passed to any call (`asyncio.run(main())`,
    `asyncio.gather(...)`, `tg.create_task(...)`) is left alone.

    ## Why is this bad?
    Calling a coroutine function does not run it: it only creates a coroutine object. If
    nothing awaits or schedules that object, the body never executes and Python merely
    warns "coroutine ... was never awaited" when it is garbage-collected, long after the
    write, lock release or message send silently did not happen. A coroutine object is
    always true, so `if client.is_ready():` takes the same branch every time.

    ## Example
    ```python
    async def save(self, record):
        self.db.flush()  # `flush` is `async def`
        if self.is_ready():
            ...
    ```

    ## Use instead
    ```python
    async def save(self, record):
        await self.db.flush()
        if await self.is_ready():
            ...
    ```
    In sync code, run the coroutine with `asyncio.run(...)`, or schedule it on the running
    loop with `asyncio.create_task(...)` and keep a reference to the task.

    ## Fix safety
    Inside `async def` (not in a nested `def`, `lambda` or comprehension) the fix inserts
    `await` before the call. It is unsafe: the coroutine now runs, and the rest of the
    function waits for it, which may be a change the author did not intend (perhaps it
    was meant to run in the background with `asyncio.create_task(...)`). Sync code has
    no automatic fix.

    ## Options
    None.
    """

    code = "ASL101"
    name = "unawaited-coroutine"
    message = "coroutine `{call}` is never awaited"
    fix_title = "Insert `await`"
    fix_applicability = Applicability.UNSAFE

    examples = (
        Invalid(
            """
            import asyncio
            import asyncio as aio
            from asyncio import sleep as nap

            async def fetch(n): ...

            async def main():
                fetch(1)  # error: ASL101@5
                asyncio.sleep(1)  # error: ASL101@5
                aio.wait_for(fetch(2), 1)  # error: ASL101@5
                nap(0)  # error: ASL101@5
                _ = fetch(3)  # error: ASL101@9
                unused = fetch(4)  # error: ASL101@14
                (fetch(5))  # error: ASL101@6
            """
        ),
        Invalid(
            """
            import asyncio

            class Client:
                async def is_ready(self): ...

                async def run(self, fetch):
                    self.is_ready()  # error: ASL101@9
                    _ = self.is_ready()  # error: ASL101@13
                    if not (self.is_ready()) and x:  # error: ASL101@17
                        asyncio.sleep(  # error: ASL101@13
                            1,
                        )
            """,
            fixed="""
            import asyncio

            class Client:
                async def is_ready(self): ...

                async def run(self, fetch):
                    await self.is_ready()
                    _ = await self.is_ready()
                    if not (await self.is_ready()) and x:
                        await asyncio.sleep(
                            1,
                        )
            """,
        ),
        Invalid(
            """
            import asyncio

            class Client:
                def __init__(self):
                    self._lock = asyncio.Lock()

                async def is_ready(self): ...

                @staticmethod
                async def probe(): ...

                async def run(self):
                    if self.is_ready():  # error: ASL101@12
                        pass
                    while not self.is_ready():  # error: ASL101@19
                        pass
                    assert self.probe()  # error: ASL101@16
                    ok = self.is_ready() and 1  # error: ASL101@14
                    if self.is_ready() or self.probe():  # error: ASL101@12, ASL101@31
                        pass
                    name = "a" if self.is_ready() else "b"  # error: ASL101@23
                    ready = [n for n in range(3) if self.probe()]  # error: ASL101@41
                    self._lock.acquire()  # error: ASL101@9
                    return ok, name, ready
            """
        ),
        Invalid(
            """
            import asyncio

            class Base:
                async def close(self): ...

            class Service(Base):
                def __del__(self):
                    self.close()  # error: ASL101@9

                @classmethod
                async def build(cls): ...

                @classmethod
                def create(cls):
                    cls.build()  # error: ASL101@9

            def main():
                async def inner(): ...

                inner()  # error: ASL101@5
                asyncio.sleep(1)  # error: ASL101@5
            """
        ),
        Valid(
            """
            import asyncio

            async def fetch(n): ...

            async def main(tg, nursery):
                await fetch(1)
                asyncio.create_task(fetch(2))
                tg.create_task(fetch(3))
                nursery.start_soon(fetch, 4)
                await asyncio.gather(fetch(5), fetch(6))
                kept = fetch(7)
                await kept
                if await fetch(8):
                    pass
                results = [fetch(n) for n in range(3)]
                await asyncio.wait([asyncio.ensure_future(c) for c in results])
                return fetch(9)

            def sync_main():
                asyncio.run(fetch(0))
                return fetch(1)

            asyncio.run(fetch(2))
            """
        ),
        Valid(
            """
            import functools
            from somewhere import retry

            class Client:
                def close(self): ...

            class AsyncClient:
                async def close(self): ...

            def unknown_decorator(func):
                return func

            @unknown_decorator
            async def decorated(): ...

            @retry(3)
            async def retried(): ...

            @functools.lru_cache
            async def cached(): ...

            def shutdown(client: Client, other):
                client.close()
                other.close()
                decorated()
                retried()
                cached()

            async def stop(client):
                client.close()
            """
        ),
        Valid(
            {
                "clients.py": """
                    class Client:
                        def close(self): ...

                    class AsyncClient:
                        async def close(self): ...
                """,
                "app.py": """
                    from clients import AsyncClient, Client

                    def shutdown(client: Client):
                        client.close()
                        Client().close()
                        if client.close():
                            pass

                    async def stop(client: AsyncClient):
                        await client.close()
                """,
            }
        ),
        Invalid(
            {
                "shop/__init__.py": """
                    from .clients import AsyncClient as AsyncClient
                """,
                "shop/clients.py": """
                    class Client:
                        def close(self): ...

                    class AsyncClient:
                        async def close(self): ...

                    async def connect(): ...
                """,
                "shop/service.py": """
                    from shop import AsyncClient
                    from . import clients
                    from .clients import Client

                    class Service:
                        def __init__(self):
                            self.client = AsyncClient()
                            self.sync = Client()

                        def stop(self, other: AsyncClient):
                            self.sync.close()
                            self.client.close()  # error: ASL101@9
                            other.close()  # error: ASL101@9
                            clients.connect()  # error: ASL101@9
                """,
            }
        ),
        Valid(
            {
                "feeds.py": """
                    async def ticks():
                        yield 1

                    async def pages():
                        async def fetch(): ...
                        yield await fetch()
                """,
                "consumer.py": """
                    from feeds import ticks

                    async def rows():
                        for row in range(3):
                            yield row

                    async def main():
                        rows()
                        ticks()
                        [x async for x in ticks()]
                """,
            }
        ),
        Valid(
            """
            class Handler:
                async def handle(self): ...

                def handle_sync(self): ...

                def dispatch(self):
                    self.handle_sync()
                    self.queue = self.handle()
                    yield self.handle()
                    callback = self.handle
                    callback
                    if self.handle_sync():
                        pass

            class Other:
                def handle(self): ...

                def run(self, handler):
                    self.handle()
                    handler.handle()

            async def gen():
                yield 1

            def not_a_def():
                value = 1
                fetch = print
                fetch(value)
            """
        ),
    )

    def __init__(
        self, context: Context, settings: Mapping[str, Any], reports: list[Report]
    ) -> None:
        super().__init__(context, settings, reports)
        self._reported: set[int] = set()
        """Calls already reported: `if not a():` reaches `a()` from the `if` and the `not`."""

    def visit_Expr(self, node: cst.Expr) -> None:
        if isinstance(node.value, cst.Call) and self._creates_coroutine(node.value):
            self._report(node.value, "coroutine `{call}` is never awaited")

    def visit_Assign(self, node: cst.Assign) -> None:
        if len(node.targets) == 1:
            self._check_assignment(node.targets[0].target, node.value)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None:
            self._check_assignment(node.target, node.value)

    def visit_If(self, node: cst.If) -> None:
        self._check_condition(node.test)

    def visit_While(self, node: cst.While) -> None:
        self._check_condition(node.test)

    def visit_IfExp(self, node: cst.IfExp) -> None:
        self._check_condition(node.test)

    def visit_Assert(self, node: cst.Assert) -> None:
        self._check_condition(node.test)

    def visit_CompIf(self, node: cst.CompIf) -> None:
        self._check_condition(node.test)

    def visit_UnaryOperation(self, node: cst.UnaryOperation) -> None:
        if isinstance(node.operator, cst.Not):
            self._check_condition(node.expression)

    def visit_BooleanOperation(self, node: cst.BooleanOperation) -> None:
        """The left operand is always tested; the right one only when the whole is."""
        self._check_condition(node.left)

    def _check_condition(self, test: cst.BaseExpression) -> None:
        for call in _truth_tested(test):
            if self._creates_coroutine(call):
                self._report(
                    call,
                    "coroutine `{call}` is tested for truth, which is always true; "
                    "it is never awaited",
                )

    def _check_assignment(self, target: cst.BaseExpression, value: cst.BaseExpression) -> None:
        if not (isinstance(target, cst.Name) and isinstance(value, cst.Call)):
            return
        name = target.value
        if name == "_":
            if self._creates_coroutine(value):
                self._report(value, "coroutine `{call}` is assigned to `_` and never awaited")
        elif (
            self.context.is_local(name)
            and self._creates_coroutine(value)
            and not self.context.is_used(name)  # last: it walks the whole function once
        ):
            self._report(
                value, f"coroutine `{{call}}` is assigned to `{name}`, which is never read"
            )

    def _creates_coroutine(self, call: cst.Call) -> bool:
        return id(call) not in self._reported and returns_coroutine(self.context, call.func) is True

    def _report(self, call: cst.Call, template: str) -> None:
        self._reported.add(id(call))
        message = template.format(call=f"{callee_spelling(self.context, call.func)}(...)")
        self.report(call, message, fix=self._await_fix(call))

    def _await_fix(self, call: cst.Call) -> Autofix | None:
        """`await` written before the callee (`await` applies to the whole call and the
        arguments stay byte for byte), where an `await` may go: not in sync code, and not
        in a comprehension, where it would turn a generator expression asynchronous."""
        if not self.context.in_async_def or self.context.scope.kind is ScopeKind.COMPREHENSION:
            return None
        func = call.func
        callee = self.context.code(func)
        if not isinstance(func, (cst.Name, cst.Attribute)) or func.lpar or "\n" in callee:
            return None
        return Autofix(Replace(func, f"await {callee}"))
