"""ASL504 sync-teardown-schedules-async."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import libcst as cst

from asynclint.callables import returns_coroutine
from asynclint.codemods.teardown import Awaited, async_teardown, autouse_fixture, is_super
from asynclint.context import Context
from asynclint.diagnostic import Applicability
from asynclint.index import ProjectIndex
from asynclint.knowledge.teardown import LOOP_RUNNERS, TEST_CASES, Path
from asynclint.knowledge.testing import (
    ANYIO_BACKEND,
    MARKS,
    PLUGIN_MODULES,
    PLUGIN_OPTIONS,
    PLUGINS,
    Plugin,
)
from asynclint.pytest_config import config_for, conftests_for, own_plugin_use
from asynclint.resolve import Resolver
from asynclint.rule import Autofix, Invalid, Replace, Report, Rule, Valid
from asynclint.rules.unawaited_coroutine import callee_spelling
from asynclint.scope import BindingKind, Scope
from asynclint.spawners import dropped_task, spawns_task

_MAX_BASES = 10
_FIXTURE = "_async_teardown"
_FIXTURE_DECORATOR = "pytest_asyncio.fixture"
_PLAIN_CASES = frozenset(["unittest.TestCase", "unittest.case.TestCase"])
_ASYNC_CASES = frozenset(
    ["unittest.IsolatedAsyncioTestCase", "unittest.async_case.IsolatedAsyncioTestCase"]
)
_SETUPS = frozenset(["setUp", "setup_method"])
_LOOP_DRIVERS = frozenset(["run_until_complete", "run_forever", "new_event_loop", "set_event_loop"])
"""Calls showing that a module runs event loops of its own, whatever their receiver."""
_COROUTINE_KEYWORDS = frozenset(["coro", "coro_or_future"])

_Rewrite = tuple[list[Replace], list[str], str, str | None]
"""A rewrite: its replacements, the imports they need, its title, why it is not safe."""


class _Hook(enum.Enum):
    """The sync test teardowns ASL504 owns; ASL103 covers every other teardown path."""

    TEAR_DOWN = "tearDown"
    TEARDOWN_METHOD = "teardown_method"


def _hook_of(node: cst.FunctionDef, context: Context) -> _Hook | None:
    function = context.function
    if node.asynchronous is not None or function is None or function.node is not node:
        return None
    class_scope = function.scope.parent
    if function.class_node is None or class_scope is None:
        return None
    name = node.name.value
    if name == _Hook.TEARDOWN_METHOD.value:
        return _Hook.TEARDOWN_METHOD
    if name == _Hook.TEAR_DOWN.value and _case_base(
        function.class_node, class_scope.parent, context.resolver
    ):
        return _Hook.TEAR_DOWN
    return None


def _case_base(
    class_node: cst.ClassDef, scope: Scope | None, resolver: Resolver, depth: int = 0
) -> str | None:
    """The unittest-style case (a key of TEST_CASES) that `class_node`, defined in
    `scope`, derives from, through classes of the same module and of the project index."""
    if scope is None or depth > _MAX_BASES:
        return None
    for base in class_node.bases:
        if base.keyword is not None:
            continue
        qualname = resolver.qualname(base.value, scope)
        if qualname in TEST_CASES:
            return qualname
        local = _local_class(base.value, scope)
        if local is not None:
            found = _case_base(local[0], local[1], resolver, depth + 1)
        else:
            found = None if qualname is None else _indexed_case(resolver.index, qualname, depth)
        if found is not None:
            return found
    return None


def _indexed_case(index: ProjectIndex, qualname: str, depth: int) -> str | None:
    known = index.class_fact(qualname)
    if known is None or depth > _MAX_BASES:
        return None
    for base in known[1].bases:
        found = base if base in TEST_CASES else _indexed_case(index, base, depth + 1)
        if found is not None:
            return found
    return None


def _local_class(expr: cst.BaseExpression, scope: Scope) -> tuple[cst.ClassDef, Scope] | None:
    """The class a base names when it is defined in the same module, and its scope."""
    if not isinstance(expr, cst.Name):
        return None
    bindings = scope.lookup(expr.value)
    if not bindings or len(bindings) != 1 or bindings[0].kind is not BindingKind.CLASS:
        return None
    node = bindings[0].node
    return (node, bindings[0].scope) if isinstance(node, cst.ClassDef) else None


@dataclass
class _Teardown:
    node: cst.FunctionDef
    hook: _Hook
    class_node: cst.ClassDef
    class_scope: Scope
    hits: list[tuple[cst.Call, bool]] = field(default_factory=list)
    """Each dropped call, and whether it spawns a task (else it makes a coroutine)."""
    awaited: list[Awaited] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    """Why the rewrite cannot be trusted, found while walking the function."""


@dataclass
class _Survey:
    """Module-wide facts the rewrite depends on, gathered in the same pass."""

    loop_driver: str | None = None
    """The first call showing the module runs event loops itself."""
    referenced_hooks: set[str] = field(default_factory=set)
    """Hooks named as attributes other than through ``super()``: called or passed on."""
    sync_setups_starting_async: dict[int, str] = field(default_factory=dict)
    """Class (by id) → its sync setup hook that creates coroutines or tasks."""
    subclassed: set[int] = field(default_factory=set)
    """Classes (by id) that another class of the module derives from."""


class SyncTeardownSchedulesAsync(Rule):
    """
    ## What it does
    Flags a coroutine call or a task (`asyncio.create_task`, `asyncio.ensure_future`, an
    event loop's `create_task`) that a sync test teardown drops: `tearDown` of a
    `unittest.TestCase` (or any unittest-style case, found through the project's base
    classes) and `teardown_method` of a pytest class, including the usual loop over
    resources (`for x in self.resources: asyncio.create_task(registry.unregister(x))`).
    A call is dropped as for ASL101/ASL102 (a statement, `_ = ...`, an unused local, a list
    comprehension), and callees are resolved the same way: an unknown callee is left
    alone. Driving the coroutine to completion (`asyncio.run(...)`,
    `loop.run_until_complete(...)`) is a deliberate bridge and not flagged. Every other
    teardown path (`tearDownClass`, `teardown_class`, `teardown_function`, fixture
    finalizers, `addCleanup`, `__del__`) is ASL103's.

    ## Why is this bad?
    The cleanup never happens: the coroutine is never awaited, and the task is scheduled on
    a loop that the test runner has already stopped, or is about to close (which cancels
    the task before it starts). The registry keeps the resources of the previous test,
    the next test sees them, and the only trace is a "coroutine ... was never awaited" or
    "Task was destroyed but it is pending" warning, printed far away from the teardown.

    ## Example
    ```python
    class TestRegistry:
        def teardown_method(self, method):
            for resource in self.resources:
                asyncio.create_task(registry.unregister(resource))

    class TestClient(unittest.TestCase):
        def tearDown(self):
            self.client.close()  # `close` is `async def`
            super().tearDown()
    ```

    ## Use instead
    ```python
    class TestRegistry:
        @pytest_asyncio.fixture(autouse=True)
        async def _async_teardown(self):
            yield
            for resource in self.resources:
                await registry.unregister(resource)

    class TestClient(unittest.IsolatedAsyncioTestCase):
        async def asyncTearDown(self):
            await self.client.close()
            await super().asyncTearDown()
    ```

    ## Fix safety
    The fix is unsafe: the cleanup now runs, on the test's event loop, awaiting the
    tasks one after the other. A pytest `teardown_method` becomes an async autouse
    fixture of the same class (`@pytest_asyncio.fixture(autouse=True)`, valid in strict
    and auto mode) that yields first; a `tearDown` becomes `async def asyncTearDown`,
    `super().tearDown()` becomes `await super().asyncTearDown()`, and a base
    `unittest.TestCase` becomes `unittest.IsolatedAsyncioTestCase`. The rewrite is only
    shown, not applied, when it could change what runs or in which order: a base class
    other than unittest's own, a pytest class with bases, a subclass in the project, a
    class that already has `asyncTearDown`, a teardown that is decorated, returns a value,
    uses its `method` argument or is called elsewhere, a sync `setUp` that starts async
    work, a module that runs event loops itself, or a pytest module with no sign of
    pytest-asyncio (a `pytest_asyncio` import or a `pytest.mark.asyncio` mark).

    ## Options
    None.
    """

    code = "ASL504"
    name = "sync-teardown-schedules-async"
    spelled = frozenset(hook.value for hook in _Hook)
    message = "`{call}` in sync `{hook}` {effect}; {remedy}"
    fix_title = "Rewrite the teardown as async code that awaits its cleanup"
    fix_applicability = Applicability.UNSAFE
    supersedes = frozenset({"ASL101", "ASL102", "ASL103"})

    examples = (
        Invalid(
            """
            import asyncio
            import asyncio as aio
            from asyncio import ensure_future

            import pytest


            async def unregister(item): ...


            async def flush(): ...


            class TestRegistry:
                def setup_method(self, method):
                    self.resources = ["a", "b"]

                def teardown_method(self, method):
                    for resource in self.resources:
                        asyncio.create_task(unregister(resource))  # error: ASL504@13
                    aio.ensure_future(flush())  # error: ASL504@9
                    ensure_future(flush())  # error: ASL504@9
                    asyncio.get_event_loop().create_task(flush())  # error: ASL504@9
                    flush()  # error: ASL504@9
                    [asyncio.create_task(unregister(r)) for r in self.resources]  # error: ASL504@10
                    _ = flush()  # error: ASL504@13
                    pending = asyncio.ensure_future(coro=flush())  # error: ASL504@19
                    self.close()  # error: ASL504@9

                async def close(self): ...

                @pytest.mark.asyncio
                async def test_register(self):
                    assert self.resources
            """,
            fixed="""
            import asyncio
            import asyncio as aio
            from asyncio import ensure_future

            import pytest
            import pytest_asyncio


            async def unregister(item): ...


            async def flush(): ...


            class TestRegistry:
                def setup_method(self, method):
                    self.resources = ["a", "b"]

                @pytest_asyncio.fixture(autouse=True)
                async def _async_teardown(self):
                    yield
                    for resource in self.resources:
                        await unregister(resource)
                    await flush()
                    await flush()
                    await flush()
                    await flush()
                    [await unregister(r) for r in self.resources]
                    _ = await flush()
                    pending = await flush()
                    await self.close()

                async def close(self): ...

                @pytest.mark.asyncio
                async def test_register(self):
                    assert self.resources
            """,
        ),
        Invalid(
            """
            import asyncio
            from unittest import TestCase


            async def close(client): ...


            def reset(client): ...


            class TestClient(TestCase):
                def setUp(self):
                    self.client = object()
                    self.pool = [object(), object()]

                def tearDown(self) -> None:
                    # the sync part stays as it is
                    reset(self.client)
                    close(self.client)  # error: ASL504@9
                    for client in self.pool:
                        asyncio.ensure_future(close(client))  # error: ASL504@13
                    super().tearDown()

                def test_connect(self):
                    self.assertIsNotNone(self.client)
            """,
            fixed="""
            import asyncio
            from unittest import TestCase
            import unittest


            async def close(client): ...


            def reset(client): ...


            class TestClient(unittest.IsolatedAsyncioTestCase):
                def setUp(self):
                    self.client = object()
                    self.pool = [object(), object()]

                async def asyncTearDown(self) -> None:
                    # the sync part stays as it is
                    reset(self.client)
                    await close(self.client)
                    for client in self.pool:
                        await close(client)
                    await super().asyncTearDown()

                def test_connect(self):
                    self.assertIsNotNone(self.client)
            """,
        ),
        Invalid(
            """
            import asyncio
            import unittest as ut


            async def drop_tables(): ...


            class TestModels(ut.TestCase):
                def tearDown(self):
                    loop = asyncio.get_event_loop()
                    loop.create_task(drop_tables())  # error: ASL504@9
                    super(TestModels, self).tearDown()


            class TestViews(ut.IsolatedAsyncioTestCase):
                def tearDown(self): drop_tables()  # error: ASL504@25
            """,
            fixed="""
            import asyncio
            import unittest as ut


            async def drop_tables(): ...


            class TestModels(ut.IsolatedAsyncioTestCase):
                async def asyncTearDown(self):
                    loop = asyncio.get_event_loop()
                    await drop_tables()
                    await super(TestModels, self).asyncTearDown()


            class TestViews(ut.IsolatedAsyncioTestCase):
                async def asyncTearDown(self):
                    await drop_tables()
            """,
        ),
        Invalid(
            """
            import asyncio
            import unittest


            class Client:
                async def close(self): ...


            class CustomCase(unittest.TestCase):
                pass


            class TestCustom(CustomCase):
                def tearDown(self):
                    Client().close()  # error: ASL504@9


            class TestAlreadyAsync(unittest.IsolatedAsyncioTestCase):
                async def asyncTearDown(self): ...

                def tearDown(self):
                    Client().close()  # error: ASL504@9


            class TestStartsWork(unittest.TestCase):
                def setUp(self):
                    self.client = Client()
                    self.closing = asyncio.ensure_future(self.client.close())

                def tearDown(self):
                    self.client.close()  # error: ASL504@9


            class TestChained(unittest.TestCase):
                def tearDown(self):
                    asyncio.ensure_future(Client().close()).add_done_callback(print)  # error: ASL504@9
            """
        ),
        Invalid(
            """
            import asyncio
            import unittest


            async def stop(server): ...


            class TestUsesMethod:
                def teardown_method(self, method):
                    stop(method.__name__)  # error: ASL504@9


            class Base:
                pass


            class TestWithBase(Base):
                def teardown_method(self, method):
                    asyncio.ensure_future(stop(self))  # error: ASL504@9


            class TestMixed(unittest.TestCase):
                def teardown_method(self, method):
                    stop(self)  # error: ASL504@9

                def tearDown(self):
                    stop(self)  # error: ASL504@9

                def test_again(self):
                    self.tearDown()
            """
        ),
        Invalid(
            {
                "app/__init__.py": "",
                "app/registry.py": """
                    class Registry:
                        async def unregister(self, name): ...

                        def names(self):
                            return []
                    """,
                "tests/base.py": """
                    import unittest

                    class RegistryCase(unittest.TestCase):
                        pass
                    """,
                "tests/conftest.py": """
                    import pytest_asyncio
                    from app.registry import Registry

                    @pytest_asyncio.fixture
                    async def registry():
                        yield Registry()
                    """,
                "tests/test_registry.py": """
                    import asyncio

                    import pytest
                    from app.registry import Registry
                    from base import RegistryCase


                    class TestRegistry:
                        def setup_method(self):
                            self.registry = Registry()

                        def teardown_method(self):
                            for name in self.registry.names():
                                asyncio.create_task(self.registry.unregister(name))  # error: ASL504@13
                            self.registry.unregister("default")  # error: ASL504@9

                        @pytest.mark.asyncio
                        async def test_names(self, registry):
                            assert registry.names() == []


                    class TestUnittest(RegistryCase):
                        def setUp(self):
                            self.registry = Registry()

                        def tearDown(self):
                            self.registry.unregister("default")  # error: ASL504@9
                    """,
            }
        ),
        Valid(
            """
            import asyncio

            import pytest
            import pytest_asyncio


            async def stop(server): ...


            def sync_stop(server): ...


            class TestServer:
                @pytest_asyncio.fixture(autouse=True)
                async def _async_teardown(self):
                    yield
                    await stop(self)

                def teardown_method(self, method):
                    sync_stop(self)
                    asyncio.run(stop(self))
                    self.closing = asyncio.ensure_future(stop(self))
                    tasks = [asyncio.ensure_future(stop(s)) for s in [self]]
                    asyncio.get_event_loop().run_until_complete(asyncio.gather(*tasks))

                    def later():
                        stop(self)

                    self.later = later

                @pytest.mark.asyncio
                async def test_serve(self):
                    await stop(self)


            class TestAsyncHook:
                async def teardown_method(self, method):
                    stop(self)
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


            class TestSync(unittest.TestCase):
                def setUp(self):
                    self.client = Client()
                    self.aclient = AsyncClient()
                    self.loop = asyncio.new_event_loop()

                def tearDown(self):
                    self.client.close()
                    self.aclient.flush()
                    self.loop.run_until_complete(self.aclient.close())
                    self.loop.close()


            class TestUnknownBase(BaseCase):
                def tearDown(self):
                    AsyncClient().close()


            class Harness:
                def tearDown(self):
                    AsyncClient().close()


            class TestIsolated(unittest.IsolatedAsyncioTestCase):
                async def asyncTearDown(self):
                    await AsyncClient().close()

                def tearDown(self):
                    Client().close()
            """
        ),
        Valid(
            """
            import asyncio
            import unittest

            import pytest


            async def stop(): ...


            class TestClassHooks(unittest.TestCase):
                @classmethod
                def tearDownClass(cls):
                    asyncio.ensure_future(stop())

                def setUp(self):
                    self.addCleanup(lambda: stop())


            class TestPytestClassHooks:
                @classmethod
                def teardown_class(cls):
                    stop()


            def teardown_module(module):
                asyncio.ensure_future(stop())


            def tearDownModule():
                stop()


            @pytest.fixture
            def server():
                yield 1
                asyncio.ensure_future(stop())
            """
        ),
        Valid(
            {
                "tests/conftest.py": """
                    import asyncio

                    import pytest
                    import pytest_asyncio

                    async def close_all(): ...

                    @pytest.fixture
                    def pool(request):
                        request.addfinalizer(lambda: asyncio.ensure_future(close_all()))
                        yield []
                        asyncio.ensure_future(close_all())

                    @pytest_asyncio.fixture
                    async def client():
                        yield object()
                        await close_all()

                    def teardown_function(function):
                        asyncio.ensure_future(close_all())
                    """,
                "tests/test_api.py": """
                    import unittest

                    import pytest
                    from conftest import close_all


                    class TestApi:
                        def teardown_method(self, method):
                            self.closed = close_all

                        @pytest.mark.asyncio
                        async def test_get(self, client, pool):
                            await close_all()


                    class TestApiUnittest(unittest.IsolatedAsyncioTestCase):
                        async def asyncTearDown(self):
                            await close_all()
                    """,
            }
        ),
    )

    def __init__(
        self, context: Context, settings: Mapping[str, Any], reports: list[Report]
    ) -> None:
        super().__init__(context, settings, reports)
        self._teardowns: dict[int, _Teardown] = {}
        self._survey = _Survey()

    # -- where the teardowns are ------------------------------------------------------------

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        hook = _hook_of(node, self.context)
        function = self.context.function
        if hook is None or function is None or function.class_node is None:
            return
        assert function.scope.parent is not None
        teardown = _Teardown(node, hook, function.class_node, function.scope.parent)
        if node.decorators:
            teardown.problems.append(f"`{hook.value}` is decorated")
        self._teardowns[id(node)] = teardown

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        teardown = self._teardowns.get(id(original_node))
        if teardown is None:
            return
        for param in _parameters(original_node.params)[1:]:
            if self.context.is_used(param):
                teardown.problems.append(f"`{teardown.hook.value}` uses its `{param}` argument")

    def _current(self) -> _Teardown | None:
        function = self.context.function
        return None if function is None else self._teardowns.get(id(function.node))

    # -- what they drop ---------------------------------------------------------------------

    def visit_Expr(self, node: cst.Expr) -> None:
        self._check_dropped(node.value)

    def visit_Assign(self, node: cst.Assign) -> None:
        if len(node.targets) == 1:
            self._check_assignment(node.targets[0].target, node.value)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None:
            self._check_assignment(node.target, node.value)

    def _check_assignment(self, target: cst.BaseExpression, value: cst.BaseExpression) -> None:
        if not isinstance(target, cst.Name) or self._current() is None:
            return
        name = target.value
        if name == "_" or (self.context.is_local(name) and not self.context.is_used(name)):
            self._check_dropped(value)

    def _check_dropped(self, value: cst.BaseExpression) -> None:
        teardown = self._current()
        if teardown is None:
            return
        if isinstance(value, (cst.ListComp, cst.SetComp)):
            value = value.elt
        if not isinstance(value, cst.Call):
            return
        task = dropped_task(self.context, value)
        if task is not None:
            teardown.hits.append((task, True))
            position = _coroutine_position(task)
            if task is not value:
                teardown.problems.append("a callback is chained on the task")
            elif position is None:
                teardown.problems.append("the task's coroutine is not a plain argument")
            else:
                teardown.awaited.append(Awaited(task, position))
        elif returns_coroutine(self.context, value.func) is True:
            teardown.hits.append((value, False))
            teardown.awaited.append(Awaited(value, None))

    def visit_Return(self, node: cst.Return) -> None:
        teardown = self._current()
        if teardown is not None and node.value is not None:
            teardown.problems.append(f"`{teardown.hook.value}` returns a value")

    def visit_Yield(self, node: cst.Yield) -> None:
        teardown = self._current()
        if teardown is not None:
            teardown.problems.append(f"`{teardown.hook.value}` is a generator")

    # -- the rest of the module -------------------------------------------------------------

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if self._survey.loop_driver is None and self._drives_loop(func):
            self._survey.loop_driver = callee_spelling(self.context, func)
        function = self.context.function
        if (
            function is not None
            and function.class_node is not None
            and not function.is_async
            and function.name in _SETUPS
            and (spawns_task(self.context, node) or returns_coroutine(self.context, func) is True)
        ):
            self._survey.sync_setups_starting_async[id(function.class_node)] = function.name

    def _drives_loop(self, func: cst.BaseExpression) -> bool:
        if isinstance(func, cst.Attribute) and func.attr.value in _LOOP_DRIVERS:
            return True
        qualname = self.context.qualname(func) or ""
        return qualname in LOOP_RUNNERS or qualname.rpartition(".")[2] in _LOOP_DRIVERS

    def visit_Attribute(self, node: cst.Attribute) -> None:
        name = node.attr.value
        if name in (_Hook.TEAR_DOWN.value, _Hook.TEARDOWN_METHOD.value) and not is_super(
            node.value
        ):
            self._survey.referenced_hooks.add(name)

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        enclosing = self.context.scope.parent
        for base in node.bases:
            local = None if enclosing is None else _local_class(base.value, enclosing)
            if local is not None:
                self._survey.subclassed.add(id(local[0]))

    # -- findings and fixes -----------------------------------------------------------------

    def leave_Module(self, original_node: cst.Module) -> None:
        for teardown in self._teardowns.values():
            if teardown.hits:
                fix = self._fix(teardown)
                for call, is_task in teardown.hits:
                    self._report(teardown, call, is_task, fix)

    def _report(self, teardown: _Teardown, call: cst.Call, is_task: bool, fix: Autofix) -> None:
        self.report(
            call,
            fix=fix,
            call=f"{callee_spelling(self.context, call.func)}(...)",
            hook=teardown.hook.value,
            effect="schedules a task that nothing awaits"
            if is_task
            else "creates a coroutine that is never awaited",
            remedy=self._remedy(teardown),
        )

    def _remedy(self, teardown: _Teardown) -> str:
        if teardown.hook is _Hook.TEARDOWN_METHOD:
            return "await it in an async autouse fixture, after `yield`"
        if self._runs_a_loop(teardown):
            return "await it in `asyncTearDown`"
        return "await it in `asyncTearDown` of a `unittest.IsolatedAsyncioTestCase`"

    def _runs_a_loop(self, teardown: _Teardown) -> bool:
        """The unittest-style case already has an event loop (an ``IsolatedAsyncioTestCase``)."""
        case = _case_base(teardown.class_node, teardown.class_scope.parent, self.context.resolver)
        return case is not None and TEST_CASES[case] is Path.ASYNC_TEST_CASE

    def _fix(self, teardown: _Teardown) -> Autofix:
        """The rewrite, applicable as an unsafe fix or, when it cannot be trusted, shown
        only (display-only), with the reason in its title."""
        if teardown.hook is _Hook.TEAR_DOWN:
            changes, imports, title, refusal = self._unittest_rewrite(teardown)
        else:
            changes, imports, title, refusal = self._pytest_rewrite(teardown)
        problem = teardown.problems[0] if teardown.problems else None
        refusal = problem or self._common_refusal(teardown) or refusal
        if refusal is None:
            return Autofix(*changes, imports=imports, title=title)
        return Autofix(
            *changes,
            imports=imports,
            title=f"{title} (not applied: {refusal})",
            applicability=Applicability.DISPLAY_ONLY,
        )

    def _common_refusal(self, teardown: _Teardown) -> str | None:
        survey = self._survey
        hook = teardown.hook.value
        if survey.loop_driver is not None:
            return f"the module runs event loops itself (`{survey.loop_driver}(...)`)"
        if hook in survey.referenced_hooks:
            return f"`{hook}` is called or referenced elsewhere in the module"
        setup = survey.sync_setups_starting_async.get(id(teardown.class_node))
        if setup is not None:
            return f"the sync `{setup}` starts async work that the test would now race"
        if id(teardown.class_node) in survey.subclassed or self._subclassed_elsewhere(teardown):
            return f"a subclass of `{teardown.class_node.name.value}` inherits `{hook}`"
        return None

    def _subclassed_elsewhere(self, teardown: _Teardown) -> bool:
        """A class of another module of the project derives from the teardown's class."""
        resolver = self.context.resolver
        qualname = resolver.class_name(teardown.class_scope)
        if qualname is None:
            return False
        index = resolver.index
        return any(
            index.resolve(base) == qualname
            for module in list(index.modules.values())
            if module.name != resolver.module
            for fact in module.classes.values()
            for base in fact.bases
        )

    def _unittest_rewrite(self, teardown: _Teardown) -> _Rewrite:
        class_node, class_scope = teardown.class_node, teardown.class_scope
        new = async_teardown(
            teardown.node, teardown.awaited, hook="tearDown", async_hook="asyncTearDown"
        )
        changes = [Replace(teardown.node, new)]
        bases = class_node.bases
        base = bases[0].value if len(bases) == 1 and bases[0].keyword is None else None
        resolver = self.context.resolver
        qualname = (
            None if base is None else resolver.qualname(base, class_scope.parent or class_scope)
        )
        if self._runs_a_loop(teardown):
            title = "Rename `tearDown` to `async def asyncTearDown`, awaiting its cleanup"
        else:
            title = (
                "Rewrite `tearDown` as `async def asyncTearDown` on "
                "`unittest.IsolatedAsyncioTestCase`, awaiting its cleanup"
            )
        if base is None:
            return changes, [], title, f"`{class_node.name.value}` has several bases"
        if "asyncTearDown" in class_scope.bindings:
            return changes, [], title, "the class already defines `asyncTearDown`"
        if qualname in _ASYNC_CASES:
            return changes, [], title, None
        if qualname not in _PLAIN_CASES:
            spelling = callee_spelling(self.context, base)
            refusal = (
                f"`{class_node.name.value}` derives from `{spelling}`, not `unittest.TestCase`"
            )
            return changes, [], title, refusal
        if isinstance(base, cst.Attribute) and self.context.qualname(base.value) == "unittest":
            changes.append(Replace(base.attr, cst.Name("IsolatedAsyncioTestCase")))
            return changes, [], title, None
        changes.append(Replace(base, "unittest.IsolatedAsyncioTestCase"))
        return changes, ["unittest"], title, self._name_taken("unittest")

    def _pytest_rewrite(self, teardown: _Teardown) -> _Rewrite:
        node = teardown.node
        receiver = next(iter(_parameters(node.params)), "self")
        new = autouse_fixture(
            node, teardown.awaited, decorator=_FIXTURE_DECORATOR, name=_FIXTURE, receiver=receiver
        )
        title = "Rewrite `teardown_method` as an async autouse fixture that awaits its cleanup"
        return [Replace(node, new)], ["pytest_asyncio"], title, self._pytest_refusal(teardown)

    def _pytest_refusal(self, teardown: _Teardown) -> str | None:
        class_node, class_scope = teardown.class_node, teardown.class_scope
        if not _parameters(teardown.node.params):
            return "`teardown_method` takes no `self`"
        if _case_base(class_node, class_scope.parent, self.context.resolver) is not None:
            return "pytest-asyncio fixtures do not run in a unittest-style case"
        if class_node.bases:
            return f"`{class_node.name.value}` has bases, whose teardown order would change"
        if _FIXTURE in class_scope.bindings:
            return f"`{_FIXTURE}` is already defined"
        plugins = self._plugins_in_use()
        if plugins is None:
            return "the pytest configuration or a `conftest.py` cannot be read"
        if plugins - {Plugin.ASYNCIO}:
            others = ", ".join(sorted(plugin.value for plugin in plugins - {Plugin.ASYNCIO}))
            return f"the tests may run under another async plugin ({others})"
        if not plugins:
            return "nothing shows that pytest-asyncio runs this module"
        return self._name_taken("pytest_asyncio")

    def _plugins_in_use(self) -> frozenset[Plugin] | None:
        """The async pytest plugins that the configuration, the conftests and the module
        itself show (options, ``-p``, ``pytest_plugins``, imports, marks, ``anyio_backend``);
        None when one of them cannot be read."""
        path = self.context.path
        config, conftests = config_for(path), conftests_for(path)
        own = own_plugin_use(self.context)
        if config is None or conftests is None or own is None:
            return None
        uses = (*conftests, own)
        found = {PLUGIN_OPTIONS[key] for key in config.options if key in PLUGIN_OPTIONS}
        names = config.plugins.union(*(use.plugins for use in uses))
        found.update(PLUGINS[name] for name in names if name in PLUGINS)
        for use in uses:
            found.update(PLUGIN_MODULES[name] for name in use.imports if name in PLUGIN_MODULES)
            found.update(MARKS[name] for name in use.marks if name in MARKS)
            if ANYIO_BACKEND in use.functions:
                found.add(Plugin.ANYIO)
        return frozenset(found)

    def _name_taken(self, module: str) -> str | None:
        """Why ``import <module>`` cannot be added: the name is bound to something else."""
        bindings = self.context.scope.module.bindings.get(module, ())
        if all(b.kind is BindingKind.IMPORT and b.qualname == module for b in bindings):
            return None
        return f"`{module}` names something else in this module"


def _parameters(params: cst.Parameters) -> list[str]:
    every = [*params.posonly_params, *params.params, *params.kwonly_params]
    every += [star for star in (params.star_arg, params.star_kwarg) if isinstance(star, cst.Param)]
    return [param.name.value for param in every]


def _coroutine_position(call: cst.Call) -> int | None:
    """Where the coroutine is among a task factory's arguments."""
    for position, arg in enumerate(call.args):
        if arg.star:
            return None
        if arg.keyword is None or arg.keyword.value in _COROUTINE_KEYWORDS:
            return position
    return None
