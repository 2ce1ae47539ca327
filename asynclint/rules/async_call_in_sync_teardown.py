"""ASL103 async-call-in-sync-teardown."""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import libcst as cst

from asynclint.callables import returns_coroutine
from asynclint.context import Context
from asynclint.knowledge.asyncio_api import LOOP, PARTIAL
from asynclint.knowledge.teardown import (
    ALTERNATIVES,
    ASYNC_AWARE_CLEANUPS,
    ASYNC_CALLBACKS_ELSEWHERE,
    CLOSE_METHODS,
    FIXTURE_DECORATORS,
    GARBAGE_COLLECTION,
    LOOP_RUN_METHODS,
    LOOP_RUNNERS,
    PYTEST_HOOKS,
    PYTEST_MODULE_HOOKS,
    REGISTRAR_METHODS,
    REGISTRARS,
    TEST_CASES,
    UNITTEST_HOOKS,
    UNITTEST_MODULE_HOOKS,
    Path,
)
from asynclint.rule import Invalid, Report, Rule, Valid
from asynclint.rules.unawaited_coroutine import callee_spelling
from asynclint.scope import BindingKind, Scope, ScopeKind
from asynclint.spawners import dropped_task
from asynclint.walk import children

_MAX_BASES = 10


class _Kind(enum.Enum):
    COROUTINE = "coroutine"
    TASK = "task"
    LOOP = "loop"


@dataclass(frozen=True)
class _Teardown:
    path: Path
    where: str
    """How the message names the place: "`__del__`", "sync `tearDown`", ..."""
    lines: frozenset[int] | None = None
    """For a generator fixture: the statements (by id) that run after its ``yield``."""


class AsyncCallInSyncTeardown(Rule):
    """
    ## What it does
    Flags sync teardown code that starts async work nothing will finish: a call to a
    coroutine function whose coroutine is dropped, or a task created with
    `asyncio.create_task`, `asyncio.ensure_future` or an event loop's `create_task` and
    dropped, in `__del__`, `__exit__`, the `close`/`shutdown`/`stop`/`cleanup`/`dispose`
    methods of a class that also has async methods, `tearDown`/`tearDownClass`/`doCleanups`
    of a `unittest.TestCase`, pytest's `teardown_method`/`teardown_class`/
    `teardown_module`/`teardown_function`, the code after `yield` of a sync generator
    fixture, and callbacks passed to `atexit.register`, `weakref.finalize`,
    `signal.signal`, `request.addfinalizer` and `addCleanup`. In `__del__` and
    garbage-collection callbacks it also flags running an event loop (`asyncio.run`,
    `loop.run_until_complete`). A coroutine function passed directly as a finaliser or
    cleanup callback is flagged too, except to `addCleanup` of an
    `IsolatedAsyncioTestCase`, which awaits it.

    Callees are resolved, never matched on spelling: a sync `Client.close` is not confused
    with an async `AsyncClient.close`, and an unknown callee or decorator is never flagged.
    Driving the coroutine to completion from a plain `close()` or a test's `tearDown`
    (`asyncio.run(self.aclose())`, `loop.run_until_complete(...)`,
    `asyncio.run_coroutine_threadsafe(...)`) is a deliberate bridge and left alone.
    Where this rule reports a call, ASL101 and ASL102 do not report it again; in the sync
    `tearDown` and `teardown_method` of test classes, ASL504 (which can rewrite them)
    reports instead of this rule when it is enabled.

    ## Why is this bad?
    Teardown is the last chance to release a connection, flush a buffer or stop a server.
    A coroutine created there never runs, and a task scheduled there usually does not
    either: the test's loop is closed right after `tearDown`, the interpreter is exiting
    in an `atexit` callback, and `__del__` runs at an arbitrary point of garbage
    collection, where the loop may be closed, or running (so `run_until_complete` raises).
    The resource leaks and Python only warns "coroutine ... was never awaited" or "Task
    was destroyed but it is pending", far from the cause. The message names the async
    alternative that fits the place.

    ## Example
    ```python
    class TestClient(unittest.TestCase):
        def tearDown(self):
            self.client.close()  # `close` is `async def`

    @pytest.fixture
    def server():
        srv = Server()
        yield srv
        asyncio.ensure_future(srv.shutdown())
    ```

    ## Use instead
    ```python
    class TestClient(unittest.IsolatedAsyncioTestCase):
        async def asyncTearDown(self):
            await self.client.close()

    @pytest_asyncio.fixture
    async def server():
        srv = Server()
        yield srv
        await srv.shutdown()
    ```

    ## Fix safety
    There is no automatic fix: moving cleanup into async code changes who owns the
    event loop.

    ## Options
    None.
    """

    code = "ASL103"
    name = "async-call-in-sync-teardown"
    message = "`{call}` in sync teardown is never awaited; {alternative}"
    supersedes = frozenset({"ASL101", "ASL102"})

    examples = (
        Invalid(
            """
            import asyncio
            import asyncio as aio
            from asyncio import ensure_future

            class Connection:
                def __init__(self):
                    self._loop = asyncio.get_event_loop()

                async def aclose(self): ...

                def __del__(self):
                    self.aclose()  # error: ASL103@9
                    self._loop.run_until_complete(self.aclose())  # error: ASL103@9
                    aio.run(self.aclose())  # error: ASL103@9

                def __exit__(self, *exc):
                    ensure_future(self.aclose())  # error: ASL103@9

                def close(self):
                    aio.create_task(self.aclose())  # error: ASL103@9

                def stop(self):
                    _ = self._loop.create_task(self.aclose())  # error: ASL103@13

                def shutdown(self):
                    pending = asyncio.ensure_future(self.aclose())  # error: ASL103@19
            """
        ),
        Invalid(
            """
            import asyncio
            import unittest
            from unittest import IsolatedAsyncioTestCase as AsyncCase

            class Client:
                async def close(self): ...

            class Base(unittest.TestCase):
                pass

            class TestClient(Base):
                def setUp(self):
                    self.client = Client()
                    self.addCleanup(lambda: self.client.close())  # error: ASL103@33
                    self.addCleanup(self.client.close)  # error: ASL103@25

                def tearDown(self):
                    self.client.close()  # error: ASL103@9

                @classmethod
                def tearDownClass(cls):
                    [asyncio.ensure_future(c.close()) for c in [Client()]]  # error: ASL103@10

            class TestAsyncClient(AsyncCase):
                def setUp(self):
                    self.client = Client()

                def tearDown(self):
                    asyncio.ensure_future(self.client.close())  # error: ASL103@9

            def tearDownModule():
                Client().close()  # error: ASL103@5
            """
        ),
        Invalid(
            """
            import asyncio
            import pytest

            async def shutdown(server): ...

            class TestServer:
                def teardown_method(self, method):
                    shutdown(self)  # error: ASL103@9

            def teardown_module(module):
                asyncio.get_event_loop().create_task(shutdown(module))  # error: ASL103@5

            @pytest.fixture
            def server():
                srv = object()
                yield srv
                shutdown(srv)  # error: ASL103@5

            @pytest.fixture(scope="module")
            def guarded():
                try:
                    with open("log") as log:
                        yield log
                        shutdown(log)  # error: ASL103@13
                finally:
                    asyncio.ensure_future(shutdown(None))  # error: ASL103@9

            @pytest.fixture
            def finalised(request):
                def fin():
                    shutdown(request)  # error: ASL103@9

                request.addfinalizer(fin)
                request.addfinalizer(lambda: shutdown(request))  # error: ASL103@34
                return 1
            """
        ),
        Invalid(
            """
            import asyncio
            import atexit
            import signal
            import weakref
            from functools import partial

            async def flush(): ...

            @atexit.register
            def goodbye():
                flush()  # error: ASL103@5

            class Pool:
                def __init__(self):
                    weakref.finalize(self, self._finalize)
                    weakref.finalize(self, lambda: asyncio.run(flush()))  # error: ASL103@40
                    weakref.finalize(self, flush)  # error: ASL103@32
                    signal.signal(signal.SIGTERM, lambda *_: asyncio.create_task(flush()))  # error: ASL103@50
                    atexit.register(partial(cleanup, 1))

                def _finalize(self):
                    asyncio.run(flush())  # error: ASL103@9

            def cleanup(n):
                asyncio.ensure_future(flush())  # error: ASL103@5
            """
        ),
        Invalid(
            {
                "pkg/__init__.py": """
                    from .client import AsyncClient, Client
                    """,
                "pkg/client.py": """
                    class Client:
                        def close(self): ...

                    class AsyncClient:
                        async def close(self): ...
                    """,
                "tests/base.py": """
                    import unittest

                    class ClientTest(unittest.TestCase):
                        pass
                    """,
                "tests/test_client.py": """
                    from base import ClientTest
                    from pkg import AsyncClient, Client

                    class TestClient(ClientTest):
                        def setUp(self):
                            self.client = AsyncClient()
                            self.sync = Client()

                        def tearDown(self):
                            self.sync.close()
                            self.client.close()  # error: ASL103@9
                    """,
            }
        ),
        Valid(
            """
            import asyncio
            import atexit

            class Connection:
                def __init__(self):
                    self._loop = asyncio.new_event_loop()
                    atexit.register(lambda: asyncio.run(self.aclose()))

                async def aclose(self): ...

                def close(self):
                    asyncio.run(self.aclose())

                def stop(self):
                    self._loop.run_until_complete(self.aclose())

                def shutdown(self):
                    return self.aclose()

                def cleanup(self):
                    self._closing = asyncio.ensure_future(self.aclose())

                def __del__(self):
                    asyncio.run_coroutine_threadsafe(self.aclose(), self._loop)

                def __exit__(self, *exc):
                    self._loop.run_until_complete(self.aclose())

                def reset(self):
                    self.aclose()
            """
        ),
        Valid(
            """
            import asyncio
            import unittest
            from somewhere import BaseCase, retry

            class Client:
                def close(self): ...

            class AsyncClient:
                async def close(self): ...

                @retry(3)
                async def flush(self): ...

            class TestClient(unittest.TestCase):
                def setUp(self):
                    self.client = Client()
                    self.aclient = AsyncClient()
                    self.loop = asyncio.new_event_loop()

                def tearDown(self):
                    self.client.close()
                    self.aclient.flush()
                    self.loop.run_until_complete(self.aclient.close())
                    asyncio.run(self.aclient.close())

            class TestUnknown(BaseCase):
                def tearDown(self):
                    AsyncClient().close()

            class TestIsolated(unittest.IsolatedAsyncioTestCase):
                def setUp(self):
                    self.aclient = AsyncClient()
                    self.addCleanup(self.aclient.close)

                async def asyncTearDown(self):
                    await self.aclient.close()
            """
        ),
        Valid(
            """
            import asyncio
            import pytest

            async def shutdown(server): ...

            class Plain:
                def close(self):
                    shutdown(self)

            class Service:
                async def start(self): ...

                def close(self, transport):
                    transport.close()

            @pytest.fixture
            def server(loop):
                srv = object()
                shutdown(srv)
                yield srv
                loop.run_until_complete(shutdown(srv))

            @pytest.fixture
            async def aserver():
                yield 1
                await shutdown(1)

            def not_a_fixture():
                yield 1
                shutdown(1)

            class TestServer:
                def teardown_method(self, method):
                    def later():
                        shutdown(self)

                    return later
            """
        ),
        Valid(
            """
            import asyncio
            import signal
            import weakref

            async def flush(): ...

            def sync_flush(): ...

            class Pool:
                def __init__(self, loop):
                    self._loop = loop
                    weakref.finalize(self, sync_flush)
                    signal.signal(signal.SIGTERM, lambda *_: loop.call_soon_threadsafe(sync_flush))
                    signal.signal(signal.SIGINT, self._on_signal)

                def _on_signal(self, *args):
                    self._loop.call_soon_threadsafe(self._loop.stop)

                def register(self, callbacks):
                    callbacks.append(lambda: flush())
            """
        ),
        Valid(
            {
                "pkg/__init__.py": """
                    from .client import Client
                    """,
                "pkg/client.py": """
                    class Client:
                        def close(self): ...

                    class AsyncClient:
                        async def close(self): ...
                    """,
                "tests/test_client.py": """
                    import unittest
                    from pkg import Client

                    class TestClient(unittest.IsolatedAsyncioTestCase):
                        def setUp(self):
                            self.client = Client()

                        def tearDown(self):
                            self.client.close()
                    """,
            }
        ),
    )

    def __init__(
        self, context: Context, settings: Mapping[str, Any], reports: list[Report]
    ) -> None:
        super().__init__(context, settings, reports)
        self._teardowns: dict[int, _Teardown] = {}
        """Sync functions and lambdas (by id) whose body is a teardown path."""
        self._registered: dict[int, _Teardown] = {}
        """Sync defs (by id) passed to a teardown registrar, possibly before or after the def."""
        self._pending: dict[int, list[tuple[cst.Call, _Kind]]] = {}
        """Findings in sync defs not known to be teardown paths yet (registered later)."""
        self._reported: set[int] = set()
        self._test_cases: dict[int, Path | None] = {}

    # -- where teardown code is -----------------------------------------------------------

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        if node.asynchronous is None:
            teardown = self._teardown_of_def(node)
            if teardown is not None:
                self._teardowns[id(node)] = teardown

    def visit_Lambda(self, node: cst.Lambda) -> None:
        """A lambda passed to a registrar: the value of its body is dropped."""
        if id(node) in self._teardowns:
            self._check_dropped(node.body)

    def leave_Module(self, original_node: cst.Module) -> None:
        for key, teardown in self._registered.items():
            for call, kind in self._pending.get(key, ()):
                self._report(call, kind, teardown)

    def _teardown_of_def(self, node: cst.FunctionDef) -> _Teardown | None:
        name = node.name.value
        function = self.context.function
        class_node = function.class_node if function is not None else None
        for decorator in node.decorators:
            target = decorator.decorator
            qualname = self.context.qualname(
                target.func if isinstance(target, cst.Call) else target
            )
            if qualname in FIXTURE_DECORATORS:
                return self._fixture(node)
            registrar = REGISTRARS.get(qualname or "")
            if registrar is not None and registrar[1] is Path.ATEXIT:
                return _Teardown(Path.ATEXIT, f"the `atexit.register` callback `{name}`")
        if class_node is not None:
            return self._method_teardown(name, class_node)
        enclosing = self.context.scope.parent
        if enclosing is not None and enclosing.kind is ScopeKind.MODULE:
            if name in UNITTEST_MODULE_HOOKS:
                return _Teardown(Path.TEST_CASE, f"sync `{name}`")
            if name in PYTEST_MODULE_HOOKS:
                return _Teardown(Path.PYTEST, f"sync `{name}`")
        return None

    def _method_teardown(self, name: str, class_node: cst.ClassDef) -> _Teardown | None:
        if name == "__del__":
            return _Teardown(Path.DEL, "`__del__`")
        if name == "__exit__":
            return _Teardown(Path.EXIT, "`__exit__`")
        if name in PYTEST_HOOKS:
            return _Teardown(Path.PYTEST, f"sync `{name}`")
        if name in UNITTEST_HOOKS:
            class_scope = self.context.scope.parent
            assert class_scope is not None
            kind = self._test_case(class_node, class_scope.parent)
            return None if kind is None else _Teardown(kind, f"sync `{name}`")
        if name in CLOSE_METHODS and _has_async_methods(class_node):
            return _Teardown(Path.CLOSE, f"sync `{class_node.name.value}.{name}`")
        return None

    def _fixture(self, node: cst.FunctionDef) -> _Teardown | None:
        if not isinstance(node.body, cst.IndentedBlock):
            return None
        lines = frozenset(id(line) for line in _after_yield(node.body.body))
        if not lines:
            return None
        return _Teardown(Path.PYTEST, f"the teardown of sync fixture `{node.name.value}`", lines)

    def _test_case(self, class_node: cst.ClassDef, scope: Scope | None) -> Path | None:
        """TEST_CASE or ASYNC_TEST_CASE when the class derives from a unittest-style case."""
        key = id(class_node)
        if key not in self._test_cases:
            self._test_cases[key] = self._base_case(class_node, scope, 0)
        return self._test_cases[key]

    def _base_case(self, class_node: cst.ClassDef, scope: Scope | None, depth: int) -> Path | None:
        if scope is None or depth > _MAX_BASES:
            return None
        for base in class_node.bases:
            if base.keyword is not None:
                continue
            qualname = self.context.resolver.qualname(base.value, scope)
            found = TEST_CASES.get(qualname or "")
            if found is None and isinstance(base.value, cst.Name):
                bindings = scope.lookup(base.value.value)
                if bindings and len(bindings) == 1 and bindings[0].kind is BindingKind.CLASS:
                    local = bindings[0].node
                    assert isinstance(local, cst.ClassDef)
                    found = self._base_case(local, bindings[0].scope, depth + 1)
            if found is None and qualname is not None:
                found = self._indexed_case(qualname, depth + 1)
            if found is not None:
                return found
        return None

    def _indexed_case(self, qualname: str, depth: int) -> Path | None:
        known = self.context.resolver.index.class_fact(qualname)
        if known is None or depth > _MAX_BASES:
            return None
        for base in known[1].bases:
            found = TEST_CASES.get(base) or self._indexed_case(base, depth + 1)
            if found is not None:
                return found
        return None

    def _current(self) -> _Teardown | None:
        """The teardown path the traversal is in, if the current function is one."""
        function = self.context.function
        if function is None or function.is_async:
            return None
        teardown = self._teardowns.get(id(function.node))
        if teardown is None or teardown.lines is None:
            return teardown
        statement = self.context.statement
        return teardown if statement is not None and id(statement) in teardown.lines else None

    # -- registrars -------------------------------------------------------------------------

    def visit_Call(self, node: cst.Call) -> None:
        self._check_registrar(node)
        if self._spins_loop(node):
            self._consider(node, _Kind.LOOP)

    def _check_registrar(self, call: cst.Call) -> None:
        found = self._registrar(call)
        if found is None:
            return
        position, path = found
        if len(call.args) <= position:
            return
        argument = call.args[position]
        if argument.keyword is not None or argument.star:
            return
        callback = argument.value
        if isinstance(callback, cst.Call) and self.context.qualname(callback.func) in PARTIAL:
            if not callback.args or callback.args[0].star:
                return
            callback = callback.args[0].value
        registrar = callee_spelling(self.context, call.func)
        if isinstance(callback, cst.Lambda):
            self._teardowns[id(callback)] = _Teardown(path, f"a lambda passed to `{registrar}`")
            return
        if returns_coroutine(self.context, callback) is True:
            if path not in ASYNC_CALLBACKS_ELSEWHERE and not self._awaits_callbacks(call):
                self._report_async_callback(callback, registrar, path)
            return
        target = self._callback_def(callback)
        if target is not None and target.asynchronous is None:
            where = f"the `{registrar}` callback `{target.name.value}`"
            self._registered.setdefault(id(target), _Teardown(path, where))

    def _registrar(self, call: cst.Call) -> tuple[int, Path] | None:
        qualname = self.context.qualname(call.func)
        if qualname in REGISTRARS:
            return REGISTRARS[qualname]
        func = call.func
        if isinstance(func, cst.Attribute) and func.attr.value in REGISTRAR_METHODS:
            return REGISTRAR_METHODS[func.attr.value]
        return None

    def _awaits_callbacks(self, call: cst.Call) -> bool:
        """``self.addCleanup`` of an ``IsolatedAsyncioTestCase`` awaits coroutine functions."""
        func = call.func
        if not (
            isinstance(func, cst.Attribute)
            and func.attr.value in ASYNC_AWARE_CLEANUPS
            and isinstance(func.value, cst.Name)
        ):
            return False
        class_scope = self.context.resolver.class_of_self(func.value.value, self.context.scope)
        if class_scope is None or not isinstance(class_scope.node, cst.ClassDef):
            return True  # unknown receiver: it may well await
        kind = self._test_case(class_scope.node, class_scope.parent)
        return kind is not Path.TEST_CASE

    def _callback_def(self, callback: cst.BaseExpression) -> cst.FunctionDef | None:
        """The ``def`` a callback names: a function in scope, or a method through ``self``."""
        if isinstance(callback, cst.Name):
            bindings = self.context.scope.lookup(callback.value)
        elif isinstance(callback, cst.Attribute) and isinstance(callback.value, cst.Name):
            class_scope = self.context.resolver.class_of_self(
                callback.value.value, self.context.scope
            )
            if class_scope is None:
                return None
            bindings = class_scope.bindings.get(callback.attr.value)
        else:
            return None
        if not bindings or len(bindings) != 1 or bindings[0].kind is not BindingKind.DEF:
            return None
        node = bindings[0].node
        return node if isinstance(node, cst.FunctionDef) else None

    # -- what teardown code must not do --------------------------------------------------

    def visit_Expr(self, node: cst.Expr) -> None:
        self._check_dropped(node.value)

    def visit_Assign(self, node: cst.Assign) -> None:
        if len(node.targets) == 1:
            self._check_assignment(node.targets[0].target, node.value)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None:
            self._check_assignment(node.target, node.value)

    def _check_assignment(self, target: cst.BaseExpression, value: cst.BaseExpression) -> None:
        if isinstance(target, cst.Name):
            self._check_dropped(value, target.value)

    def _check_dropped(self, value: cst.BaseExpression, name: str | None = None) -> None:
        """`value` is evaluated and thrown away (or bound to `name`, which is dropped when it
        is `_` or a local never read): a coroutine or task in it is lost."""
        if isinstance(value, (cst.ListComp, cst.SetComp)):
            value = value.elt
        if not isinstance(value, cst.Call) or not self._may_report():
            return
        task = dropped_task(self.context, value)
        if task is not None:
            found = (task, _Kind.TASK)
        elif returns_coroutine(self.context, value.func) is True:
            found = (value, _Kind.COROUTINE)
        else:
            return
        if name is None or name == "_" or self._unused(name):
            self._consider(*found)

    def _unused(self, name: str) -> bool:
        return self.context.is_local(name) and not self.context.is_used(name)

    def _spins_loop(self, call: cst.Call) -> bool:
        if not self._may_report():
            return False
        func = call.func
        if isinstance(func, cst.Attribute) and func.attr.value in LOOP_RUN_METHODS:
            return self.context.infer(func.value) == LOOP
        return self.context.qualname(func) in LOOP_RUNNERS

    def _may_report(self) -> bool:
        """Only sync code can be a sync teardown path."""
        function = self.context.function
        return function is not None and not function.is_async

    def _consider(self, call: cst.Call, kind: _Kind) -> None:
        teardown = self._current()
        if teardown is not None:
            self._report(call, kind, teardown)
            return
        function = self.context.function
        if function is not None and isinstance(function.node, cst.FunctionDef):
            self._pending.setdefault(id(function.node), []).append((call, kind))

    # -- messages ---------------------------------------------------------------------------

    def _report(self, call: cst.Call, kind: _Kind, teardown: _Teardown) -> None:
        if kind is _Kind.LOOP and teardown.path not in GARBAGE_COLLECTION:
            return
        if id(call) in self._reported:
            return
        self._reported.add(id(call))
        spelling = f"{callee_spelling(self.context, call.func)}(...)"
        where, alternative = teardown.where, ALTERNATIVES[teardown.path]
        if kind is _Kind.COROUTINE:
            text = f"`{spelling}` creates a coroutine that {where} never awaits; {alternative}"
        elif kind is _Kind.TASK:
            text = f"`{spelling}` in {where} schedules a task that nothing awaits; {alternative}"
        else:
            text = (
                f"`{spelling}` runs an event loop in {where}, during garbage collection, when "
                f"a loop may be running or closed; {alternative}"
            )
        self.report(call, text)

    def _report_async_callback(
        self, callback: cst.BaseExpression, registrar: str, path: Path
    ) -> None:
        self.report(
            callback,
            f"`{callee_spelling(self.context, callback)}` is a coroutine function: "
            f"`{registrar}` calls it and drops the coroutine; {ALTERNATIVES[path]}",
        )


def _has_async_methods(class_node: cst.ClassDef) -> bool:
    body = class_node.body
    return isinstance(body, cst.IndentedBlock) and any(
        isinstance(statement, cst.FunctionDef) and statement.asynchronous is not None
        for statement in body.body
    )


def _after_yield(body: Sequence[cst.BaseStatement]) -> Iterator[cst.SimpleStatementLine]:
    """The statement lines of a generator body that run after its first ``yield``."""
    for position, statement in enumerate(body):
        if not _yields(statement):
            continue
        if isinstance(statement, (cst.Try, cst.TryStar)):
            yield from _after_yield(_statements(statement.body))
            for tail in (*statement.handlers, statement.orelse, statement.finalbody):
                if tail is not None:
                    yield from _lines(tail)
        elif not isinstance(statement, cst.SimpleStatementLine):
            for child in children(statement):
                if isinstance(child, cst.BaseSuite):
                    yield from _after_yield(_statements(child))
                elif isinstance(child, cst.Else):
                    yield from _after_yield(_statements(child.body))
                elif isinstance(child, cst.If):
                    yield from _after_yield([child])
        for later in body[position + 1 :]:
            yield from _lines(later)
        return


def _statements(suite: cst.BaseSuite) -> Sequence[cst.BaseStatement]:
    return suite.body if isinstance(suite, cst.IndentedBlock) else ()


def _lines(node: cst.CSTNode) -> Iterator[cst.SimpleStatementLine]:
    if isinstance(node, cst.SimpleStatementLine):
        yield node
    elif not isinstance(node, (cst.FunctionDef, cst.ClassDef)):
        for child in children(node):
            yield from _lines(child)


def _yields(node: cst.CSTNode) -> bool:
    """True when `node` contains a ``yield`` of the function it belongs to."""
    if isinstance(node, cst.Yield):
        return True
    if isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
        return False
    return any(_yields(child) for child in children(node))
