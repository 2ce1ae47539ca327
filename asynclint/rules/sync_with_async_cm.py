"""ASL405 sync-with-async-cm."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import libcst as cst

from asynclint.context import BlockKind, Context
from asynclint.diagnostic import Applicability
from asynclint.index import ProjectIndex
from asynclint.knowledge import inert
from asynclint.rule import Autofix, Invalid, Replace, Report, Rule, Valid
from asynclint.rules._blocking import Evidence, TypeTables
from asynclint.rules.unawaited_coroutine import callee_spelling
from asynclint.scope import Binding, BindingKind

_LOCKS = ["Lock", "Semaphore", "BoundedSemaphore", "Condition"]
ASYNC_ONLY_CLASSES: dict[str, str] = {
    **{f"asyncio.{name}": f"asyncio.{name}" for name in _LOCKS},
    **{f"asyncio.locks.{name}": f"asyncio.{name}" for name in _LOCKS},
    "asyncio.TaskGroup": "asyncio.TaskGroup",
    "asyncio.taskgroups.TaskGroup": "asyncio.TaskGroup",
    "asyncio.Timeout": "asyncio.Timeout",
    "asyncio.timeouts.Timeout": "asyncio.Timeout",
    "contextlib.AsyncExitStack": "contextlib.AsyncExitStack",
    "aiohttp.ClientSession": "aiohttp.ClientSession",
    "aiohttp.client.ClientSession": "aiohttp.ClientSession",
    "httpx.AsyncClient": "httpx.AsyncClient",
    **{f"anyio.{name}": f"anyio.{name}" for name in ["Lock", "Semaphore", "Condition"]},
    "anyio.CapacityLimiter": "anyio.CapacityLimiter",
    "anyio.abc.TaskGroup": "anyio.abc.TaskGroup",
    **{f"trio.{name}": f"trio.{name}" for name in ["Lock", "StrictFIFOLock", "Semaphore"]},
    "trio.Condition": "trio.Condition",
    "trio.CapacityLimiter": "trio.CapacityLimiter",
}
"""Classes whose instances are async context managers without ``__enter__`` (aiohttp's
session has one that only raises ``TypeError``), by name as imported → canonical name."""

ASYNC_ONLY_FACTORIES: dict[str, str] = {
    **dict.fromkeys(["asyncio.timeout", "asyncio.timeouts.timeout"], "asyncio.timeout()"),
    **dict.fromkeys(["asyncio.timeout_at", "asyncio.timeouts.timeout_at"], "asyncio.timeout_at()"),
    "anyio.create_task_group": "anyio.abc.TaskGroup",
    "trio.open_nursery": "trio.open_nursery()",
    "aiofiles.open": "aiofiles.open()",
}
"""Functions returning an async-only context manager → what the message calls it."""

_AIOHTTP_REQUESTS = ["get", "post", "put", "patch", "delete", "head", "options", "request"]
ASYNC_ONLY_METHODS: dict[str, dict[str, str]] = {
    receiver: {method: f"{receiver}.{method}()" for method in methods}
    for receiver, methods in {
        "aiohttp.ClientSession": [*_AIOHTTP_REQUESTS, "ws_connect"],
        "httpx.AsyncClient": ["stream"],
    }.items()
}
"""Methods, by receiver type, whose result is an async-only context manager."""

_KINDS = frozenset(
    [
        *ASYNC_ONLY_CLASSES.values(),
        *ASYNC_ONLY_FACTORIES.values(),
        *(kind for methods in ASYNC_ONLY_METHODS.values() for kind in methods.values()),
    ]
)
"""Every type the tables know to be an async-only context manager."""

ASYNC_CM_DECORATORS = frozenset(["contextlib.asynccontextmanager"])
EXPECT_RAISES = inert(frozenset(["pytest.raises"]))
ASSERT_RAISES_METHODS = frozenset(["assertRaises", "assertRaisesRegex"])
"""``unittest.TestCase`` methods (called on ``self``) that expect the block to raise."""
_NEUTRAL_BASES = inert(
    frozenset(["object", "typing.Generic", "Generic", "typing.Protocol", "Protocol", "abc.ABC"])
)
_MAX_BASES = 12


def class_defines(project: ProjectIndex, cls: str, method: str, hops: int = 0) -> bool | None:
    """Whether `cls` defines `method` itself or through its bases; None when a base the
    index does not know could."""
    found = project.class_fact(cls)
    if found is None or hops > _MAX_BASES:
        return None
    fact = found[1]
    if method in fact.methods:
        return True
    result: bool | None = False
    for base in fact.bases:
        if base in _NEUTRAL_BASES:
            continue
        inherited = class_defines(project, base, method, hops + 1)
        if inherited:
            return True
        if inherited is None:
            result = None
    return result


class SyncWithAsyncCm(Rule):
    """
    ## What it does
    Flags a plain `with` on an object that only supports `async with`. Such objects are
    an `asyncio.Lock`, `Semaphore`, `BoundedSemaphore` or `Condition`, `asyncio.timeout(...)`,
    `asyncio.TaskGroup()`, `contextlib.AsyncExitStack()`, an `aiohttp.ClientSession` and
    its request methods (`session.get(...)`), `httpx.AsyncClient`, the `anyio` and `trio`
    locks, semaphores, capacity limiters and task groups, `aiofiles.open(...)`, functions
    decorated with `@contextlib.asynccontextmanager` in the same module, and classes of the
    project that define `__aenter__` but not `__enter__` (bases included).

    The object's type comes from evidence, never from its spelling: a constructor call, an
    assignment in the same function, an annotation, or `self.x` assigned in the class. An
    object of unknown type, a class that defines both `__enter__` and `__aenter__`, and a
    class with a base the project index cannot see are left alone.

    ## Why is this bad?
    These objects have no `__enter__`: the `with` statement fails with `TypeError` (an
    `AttributeError` on older Pythons) before its body runs, so the lock is never taken,
    the timeout never armed, the session never opened. The mistake is easy to make when
    porting threaded code (`with self._lock:`) and stays hidden on paths tests do not run.

    ## Example
    ```python
    async def update(self, key, value):
        with self._lock:  # self._lock = asyncio.Lock()
            self._data[key] = value
    ```

    ## Use instead
    ```python
    async def update(self, key, value):
        async with self._lock:
            self._data[key] = value
    ```

    ## Fix safety
    Inside an `async def`, when every item of the statement is an async-only context
    manager, the fix turns `with` into `async with`. It is unsafe: the original statement
    always failed before running its body, so after the fix code that never ran before
    (the body, and whatever follows instead of the exception) starts running. In sync code
    there is no fix: `async with` needs an `async def`.

    ## Options
    None.
    """

    code = "ASL405"
    name = "sync-with-async-cm"
    message = "`{cm}` is an async context manager (`{kind}`): plain `with` fails at runtime, use `async with`"
    fix_title = "Use `async with`"
    fix_applicability = Applicability.UNSAFE

    examples = (
        Invalid(
            """
            import asyncio
            import asyncio as aio
            from asyncio import Semaphore, timeout

            class Cache:
                def __init__(self):
                    self._lock = asyncio.Lock()
                    self._sem: Semaphore = Semaphore(3)

                async def put(self, key, value):
                    with self._lock:  # error: ASL405@14
                        pass
                    with self._sem:  # error: ASL405@14
                        pass

            async def main(cond: asyncio.Condition):
                with timeout(1):  # error: ASL405@10
                    pass
                with aio.TaskGroup() as tg:  # error: ASL405@10
                    tg.create_task(main(cond))
                with cond:  # error: ASL405@10
                    pass
            """,
            fixed="""
            import asyncio
            import asyncio as aio
            from asyncio import Semaphore, timeout

            class Cache:
                def __init__(self):
                    self._lock = asyncio.Lock()
                    self._sem: Semaphore = Semaphore(3)

                async def put(self, key, value):
                    async with self._lock:
                        pass
                    async with self._sem:
                        pass

            async def main(cond: asyncio.Condition):
                async with timeout(1):
                    pass
                async with aio.TaskGroup() as tg:
                    tg.create_task(main(cond))
                async with cond:
                    pass
            """,
        ),
        Invalid(
            """
            import contextlib
            import aiohttp
            import anyio

            @contextlib.asynccontextmanager
            async def connect():
                yield

            class Client:
                def __init__(self):
                    self.session = aiohttp.ClientSession()

                def fetch(self, url):
                    with self.session.get(url) as response:  # error: ASL405@14
                        return response

            async def run(path):
                with open(path) as f, anyio.create_task_group() as tg:  # error: ASL405@27
                    pass
                with connect():  # error: ASL405@10
                    pass

                def nested():
                    lock = anyio.Lock()
                    with lock:  # error: ASL405@14
                        pass
            """
        ),
        Invalid(
            {
                "pkg/__init__.py": "",
                "pkg/resources.py": """
                    class Connection:
                        async def __aenter__(self):
                            return self

                        async def __aexit__(self, *exc):
                            return None

                    class Pooled(Connection):
                        pass
                    """,
                "pkg/use.py": """
                    from pkg.resources import Connection, Pooled

                    async def query(conn: Connection):
                        with conn:  # error: ASL405@10
                            pass
                        with Pooled() as pooled:  # error: ASL405@10
                            pass
                    """,
            }
        ),
        Valid(
            """
            import asyncio
            import threading
            import unittest
            from contextlib import contextmanager

            import pytest

            @contextmanager
            def sync_cm():
                yield

            class Worker:
                def __init__(self):
                    self._lock = asyncio.Lock()
                    self._tlock = threading.Lock()

                async def run(self, unknown):
                    async with self._lock:
                        pass
                    with self._tlock:
                        pass
                    with unknown:
                        pass
                    with sync_cm():
                        pass
                    async with asyncio.timeout(1), asyncio.TaskGroup():
                        pass

            def lock():
                return threading.Lock()

            async def test_refuses_sync_with(self):
                with pytest.raises(TypeError):
                    with asyncio.Lock():
                        pass

            class TestLock(unittest.IsolatedAsyncioTestCase):
                async def test_sync_with(self):
                    with self.assertRaises(TypeError):
                        with asyncio.Lock():
                            pass

            def main():
                with lock():
                    pass
            """
        ),
        Valid(
            {
                "pkg/__init__.py": "",
                "pkg/both.py": """
                    from external import Base

                    class Both:
                        def __enter__(self):
                            return self

                        def __exit__(self, *exc):
                            return None

                        async def __aenter__(self):
                            return self

                        async def __aexit__(self, *exc):
                            return None

                    class Child(Both):
                        pass

                    class Unknown(Base):
                        async def __aenter__(self):
                            return self

                        async def __aexit__(self, *exc):
                            return None
                    """,
                "pkg/use.py": """
                    import anyio
                    from pkg.both import Both, Child, Unknown

                    def run(x: Both, y: Unknown):
                        with x, Child():
                            pass
                        with y:
                            pass
                        with anyio.fail_after(1), anyio.CancelScope():
                            pass
                        lock = None
                        with lock:
                            pass
                    """,
            }
        ),
    )

    def __init__(self, context: Context, settings: Mapping[str, Any], reports: list[Report]):
        super().__init__(context, settings, reports)
        self._evidence = Evidence(
            context,
            TypeTables(
                classes=self._class_kind,
                returns=ASYNC_ONLY_FACTORIES,
                method_returns=ASYNC_ONLY_METHODS,
            ),
        )

    def visit_With(self, node: cst.With) -> None:
        if node.asynchronous is not None or self._expects_failure():
            return
        found = [(item, self._kind(item.item)) for item in node.items]
        fix = None
        if self.context.in_async_def and all(kind is not None for _, kind in found):
            fix = Autofix(Replace(node, node.with_changes(asynchronous=cst.Asynchronous())))
        for item, kind in found:
            if kind is not None:
                cm = callee_spelling(self.context, item.item)
                self.report(item.item, cm=cm, kind=kind, fix=fix)
                fix = None  # one fix per statement, on its first finding

    def _expects_failure(self) -> bool:
        """Inside ``with pytest.raises(...)``/``self.assertRaises(...)`` a test checks that
        the ``with`` fails."""
        for block in self.context.blocks:
            if block.kind is not BlockKind.WITH:
                continue
            assert isinstance(block.node, cst.With)
            for item in block.node.items:
                call = item.item
                if isinstance(call, cst.Call) and self._is_raises(call.func):
                    return True
        return False

    def _is_raises(self, func: cst.BaseExpression) -> bool:
        if self.context.qualname(func) in EXPECT_RAISES:
            return True
        return (
            isinstance(func, cst.Attribute)
            and func.attr.value in ASSERT_RAISES_METHODS
            and isinstance(func.value, cst.Name)
            and self.context.resolver.class_of_self(func.value.value, self.context.scope)
            is not None
        )

    def _kind(self, expr: cst.BaseExpression) -> str | None:
        """What makes `expr` an async-only context manager, or None."""
        if isinstance(expr, cst.Call) and self._async_cm_function(expr.func):
            return "@asynccontextmanager"
        kind = self._evidence.infer(expr, self.context.scope)
        if kind is not None and (kind in _KINDS or self._project_async_only(kind)):
            return kind
        return None

    def _class_kind(self, qualname: str) -> str | None:
        known = ASYNC_ONLY_CLASSES.get(qualname)
        if known is not None:
            return known
        found = self.context.resolver.index.class_fact(qualname)
        return None if found is None else found[0]

    def _project_async_only(self, cls: str) -> bool:
        project = self.context.resolver.index
        return (
            class_defines(project, cls, "__aenter__") is True
            and class_defines(project, cls, "__enter__") is False
        )

    def _async_cm_function(self, func: cst.BaseExpression) -> bool:
        """A function of this module, or a method of this class called through ``self``,
        decorated with ``@asynccontextmanager``."""
        bindings: list[Binding] | None = None
        if isinstance(func, cst.Name):
            bindings = list(self.context.scope.lookup(func.value) or [])
        elif isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name):
            owner = self.context.resolver.class_of_self(func.value.value, self.context.scope)
            bindings = None if owner is None else owner.bindings.get(func.attr.value)
        if not bindings:
            return False
        return all(
            binding.kind is BindingKind.DEF
            and isinstance(binding.node, cst.FunctionDef)
            and any(
                self.context.resolver.qualname(_decorator_target(d), binding.scope)
                in ASYNC_CM_DECORATORS
                for d in binding.node.decorators
            )
            for binding in bindings
        )


def _decorator_target(decorator: cst.Decorator) -> cst.BaseExpression:
    target = decorator.decorator
    return target.func if isinstance(target, cst.Call) else target
