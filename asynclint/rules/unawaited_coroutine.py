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
    known from `x = Cls()`, an annotation, a dataclass field, `self.x = Cls()`, a
    `with`/`async with` target or a method's return annotation or `return self`), a `def`
    annotated `-> Coroutine[...]` or `-> Awaitable[...]`, a standard-library coroutine
    function (`asyncio.sleep`), or an async method of a standard-library object
    (`asyncio.Lock().acquire`). On a receiver annotated with a union, the method must be
    async on every member. Decorators are read: a project decorator returning an
    `async def` wrapper makes the function a coroutine function, one returning the
    function or a `functools.wraps`-style wrapper that returns the call's result keeps its
    kind, as do `functools.cache`, `staticmethod` and the like; decorator factories
    (`@retry(times=3)`) are followed one level. A callee behind any other decorator, or a
    method of a receiver of unknown type, is never flagged: a sync `Client.close` is not
    confused with an async `AsyncClient.close`. A coroutine that is awaited, returned,
    yielded, stored or passed to any call (`asyncio.run(main())`, `asyncio.gather(...)`,
    `tg.create_task(...)`) is left alone.

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
                return REGISTRY.setdefault(func.__name__, func)

            @unknown_decorator
            async def decorated(): ...

            @retry(3)
            async def retried(): ...

            @functools.lru_cache
            def cached(): ...

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
        Invalid(
            {
                "app/__init__.py": "",
                "app/deco.py": """
                    import functools
                    from functools import wraps

                    def to_async(func):
                        @functools.wraps(func)
                        async def wrapper(*args, **kwargs):
                            return func(*args, **kwargs)
                        return wrapper

                    def logged(func):
                        @wraps(func)
                        def wrapper(*args, **kwargs):
                            print("calling", func.__name__)
                            return func(*args, **kwargs)
                        return wrapper

                    def retry(times=3):
                        def decorator(func):
                            @wraps(func)
                            async def wrapper(*args, **kwargs):
                                for _ in range(times - 1):
                                    try:
                                        return await func(*args, **kwargs)
                                    except OSError:
                                        pass
                                return await func(*args, **kwargs)
                            return wrapper
                        return decorator

                    def register(func):
                        HANDLERS.append(func)
                        return func

                    HANDLERS = []
                """,
                "app/svc.py": """
                    from app.deco import logged, register, retry, to_async

                    @to_async
                    def render(page): ...

                    @logged
                    async def fetch(url): ...

                    @retry(times=3)
                    async def upload(data): ...

                    @register
                    @logged
                    async def on_start(): ...

                    class Store:
                        @logged
                        async def save(self): ...

                        @to_async
                        def load(self): ...
                """,
                "app/main.py": """
                    from app import svc
                    from app.svc import Store, fetch, render, upload

                    def main(store: Store):
                        render(1)  # error: ASL101@5
                        fetch("u")  # error: ASL101@5
                        upload(b"")  # error: ASL101@5
                        svc.on_start()  # error: ASL101@5
                        store.save()  # error: ASL101@5
                        store.load()  # error: ASL101@5

                    class Job(Store):
                        def __del__(self):
                            self.save()  # error: ASL101@9
                """,
            }
        ),
        Valid(
            {
                "tools/__init__.py": "",
                "tools/deco.py": """
                    import asyncio
                    from functools import wraps

                    def logged(func):
                        @wraps(func)
                        def wrapper(*args, **kwargs):
                            return func(*args, **kwargs)
                        return wrapper

                    def blocking(func):
                        @wraps(func)
                        def wrapper(*args, **kwargs):
                            return asyncio.run(func(*args, **kwargs))
                        return wrapper

                    def in_new_loop(func):
                        def wrapper(*args, **kwargs):
                            loop = asyncio.new_event_loop()
                            try:
                                return loop.run_until_complete(func(*args, **kwargs))
                            finally:
                                loop.close()
                        return wrapper

                    def retry(times=3):
                        def decorator(func):
                            async def wrapper(*args, **kwargs):
                                return await func(*args, **kwargs)
                            return wrapper
                        return decorator

                    def plugin(func):
                        return PLUGINS.get(func.__name__, func)

                    def either(func):
                        if asyncio.iscoroutinefunction(func):
                            async def wrapper(*args, **kwargs):
                                return await func(*args, **kwargs)
                        else:
                            def wrapper(*args, **kwargs):
                                return func(*args, **kwargs)
                        return wrapper
                """,
                "tools/jobs.py": """
                    from tools.deco import blocking, either, in_new_loop, logged, plugin, retry

                    @logged
                    def ping(): ...

                    @blocking
                    async def sync_main(): ...

                    @in_new_loop
                    async def migrate(): ...

                    @retry
                    async def bare_factory(): ...

                    @plugin
                    async def hook(): ...

                    @either
                    async def dual(): ...

                    @logged
                    @plugin
                    async def stacked(): ...

                    def run():
                        ping()
                        sync_main()
                        migrate()
                        bare_factory()
                        hook()
                        dual()
                        stacked()
                """,
            }
        ),
        Invalid(
            """
            import asyncio
            import functools
            from dataclasses import dataclass
            from typing import Awaitable, Coroutine, Optional, Self, Union

            class Link:
                async def close(self): ...

            class Conn:
                async def close(self): ...

                def retrying(self) -> Self:
                    return self

                def __enter__(self) -> "Conn":
                    return self

                def __exit__(self, *exc): ...

            class Pool:
                async def __aenter__(self):
                    return self

                async def __aexit__(self, *exc): ...

                async def acquire(self) -> Conn: ...

                @functools.cache
                async def settings(self): ...

                @functools.lru_cache(maxsize=None)
                async def limits(self): ...

            @dataclass
            class Service:
                conn: Conn
                pool: Optional[Pool] = None

                def stop(self):
                    self.conn.close()  # error: ASL101@9
                    self.pool.settings()  # error: ASL101@9
                    self.pool.limits()  # error: ASL101@9

            def later(delay) -> Coroutine[None, None, None]:
                return asyncio.sleep(delay)

            def soon() -> "Awaitable[None]":
                return asyncio.sleep(0)

            async def main(conn: Optional[Conn], pool: Pool | None, link: Union[Conn, Link]):
                conn.close()  # error: ASL101@5
                link.close()  # error: ASL101@5
                pool.limits()  # error: ASL101@5
                later(1)  # error: ASL101@5
                soon()  # error: ASL101@5
                Conn().retrying().close()  # error: ASL101@5
                with Conn() as c:
                    c.close()  # error: ASL101@9
                async with Pool() as p:
                    p.settings()  # error: ASL101@9
                    (await p.acquire()).close()  # error: ASL101@9
            """
        ),
        Valid(
            """
            import asyncio
            import functools
            from dataclasses import dataclass
            from typing import Optional, Union

            class Client:
                def close(self): ...

                def __enter__(self):
                    return make_client()

                def __exit__(self, *exc): ...

            class AsyncClient:
                async def close(self): ...

                def sync_copy(self) -> "Client": ...

                async def __aenter__(self) -> Client: ...

                async def __aexit__(self, *exc): ...

            @dataclass
            class Service:
                client: Client
                other: Union[Client, AsyncClient]

                def stop(self):
                    self.client.close()
                    self.other.close()

            def spawn() -> "asyncio.Task[None]": ...

            def pending() -> asyncio.Future: ...

            @functools.cache
            def settings(): ...

            async def main(client: Union[Client, AsyncClient], other: Optional[Client]):
                client.close()
                other.close()
                AsyncClient().sync_copy().close()
                spawn()
                pending()
                settings()
                with Client() as c:
                    c.close()
                async with AsyncClient() as a:
                    a.close()
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
