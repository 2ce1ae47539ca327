"""ASL501 async-test-never-awaited, and what kind of test class a class is (shared)."""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Mapping
from typing import Any

import libcst as cst

from asynclint import walk
from asynclint.context import Context
from asynclint.diagnostic import Applicability
from asynclint.knowledge.testing import (
    ASYNC_HOOKS,
    ISOLATED_CASE,
    MARK,
    MODULE_HOOKS,
    PYTEST_CLASS_HOOKS,
    RUNNER_METHODS,
    TEST_CASES,
    TRANSPARENT_DECORATORS,
    UNITTEST_CLASS_HOOKS,
    UNITTEST_INSTANCE_HOOKS,
    UNITTEST_TEST_PREFIX,
    CaseKind,
)
from asynclint.pytest_config import config_for
from asynclint.rule import Autofix, Change, Invalid, Replace, Report, Rule, Valid
from asynclint.scope import BindingKind, Scope, ScopeKind

_MAX_DEPTH = 10
_OBJECT = frozenset(["builtins.object", "object"])
_UNITTEST_CASE = frozenset(["unittest.TestCase", "unittest.case.TestCase"])
_ISOLATED_CASE = frozenset(
    ["unittest.IsolatedAsyncioTestCase", "unittest.async_case.IsolatedAsyncioTestCase"]
)
_METHOD_DECORATORS = frozenset(["builtins.classmethod", "builtins.staticmethod"])
_UNITTEST_FILE = "test*.py"


class TestClasses:
    """What kind of test class each class is, resolved through its bases (same module, then
    the project index); cached per class. None when any base is unknown, the class has a
    metaclass or an unknown decorator, or a class in the hierarchy overrides how tests are
    called (:data:`~asynclint.knowledge.testing.RUNNER_METHODS`)."""

    __test__ = False  # not a pytest test class

    def __init__(self, context: Context) -> None:
        self.context = context
        self._kinds: dict[int, CaseKind | None] = {}

    def kind(self, node: cst.ClassDef, scope: Scope, depth: int = 0) -> CaseKind | None:
        """The kind of `node`, a class defined in `scope`."""
        key = id(node)
        if key not in self._kinds:
            self._kinds[key] = self._resolve(node, scope, depth)
        return self._kinds[key]

    def _resolve(self, node: cst.ClassDef, scope: Scope, depth: int) -> CaseKind | None:
        if depth > _MAX_DEPTH or node.keywords or not self._plain_decorators(node, scope):
            return None
        if method_names(node) & RUNNER_METHODS:
            return None
        kinds = []
        for base in node.bases:
            if isinstance(base.value, cst.Name) and base.value.value == "object":
                continue
            kinds.append(self._base_kind(base.value, scope, depth))
        return _combine(kinds)

    def _base_kind(self, base: cst.BaseExpression, scope: Scope, depth: int) -> CaseKind | None:
        qualname = self.context.resolver.qualname(base, scope)
        if qualname in TEST_CASES:
            return TEST_CASES[qualname]
        if isinstance(base, cst.Name):
            bindings = scope.lookup(base.value)
            if bindings and len(bindings) == 1 and bindings[0].kind is BindingKind.CLASS:
                local = bindings[0].node
                assert isinstance(local, cst.ClassDef)
                return self.kind(local, bindings[0].scope, depth + 1)
        return None if qualname is None else self._indexed_kind(qualname, depth + 1)

    def _indexed_kind(self, qualname: str, depth: int) -> CaseKind | None:
        if qualname in TEST_CASES:
            return TEST_CASES[qualname]
        found = self.context.resolver.index.class_fact(qualname)
        if found is None or depth > _MAX_DEPTH or set(found[1].methods) & RUNNER_METHODS:
            return None
        return _combine(
            [self._indexed_kind(base, depth + 1) for base in found[1].bases if base not in _OBJECT]
        )

    def _plain_decorators(self, node: cst.ClassDef, scope: Scope) -> bool:
        return all(is_transparent(self.context, d, scope) for d in node.decorators)


def _combine(kinds: list[CaseKind | None]) -> CaseKind | None:
    """The kind of a class from its bases' kinds: unknown wins, then the most async one."""
    if None in kinds:
        return None
    for kind in (CaseKind.AWARE, CaseKind.ISOLATED, CaseKind.SYNC):
        if kind in kinds:
            return kind
    return CaseKind.PLAIN


def method_names(node: cst.ClassDef) -> set[str]:
    """The names of the methods defined directly in the class body."""
    if not isinstance(node.body, cst.IndentedBlock):
        return set()
    return {s.name.value for s in node.body.body if isinstance(s, cst.FunctionDef)}


def is_transparent(context: Context, decorator: cst.Decorator, scope: Scope) -> bool:
    """A test decorator that keeps the function as it is: a pytest mark or a mock patch."""
    target = decorator.decorator
    if isinstance(target, cst.Call):
        target = target.func
    qualname = context.resolver.qualname(target, scope) or ""
    return qualname in TRANSPARENT_DECORATORS or qualname.startswith(MARK + ".")


def defining_scope(context: Context) -> Scope | None:
    """For the method being visited, the scope its class is defined in, when test runners
    collect classes there: a module or a class body. A class defined inside a function
    is run, if at all, by that function's own code."""
    class_scope = context.scope.parent
    if class_scope is None or class_scope.kind is not ScopeKind.CLASS:
        return None
    defining = class_scope.parent
    if defining is None or defining.kind not in (ScopeKind.MODULE, ScopeKind.CLASS):
        return None
    return defining


class AsyncTestNeverAwaited(Rule):
    """
    ## What it does
    Flags `async def` test methods and hooks that the test runner calls without awaiting:

    - test methods (`test*`), `setUp`, `tearDown`, `setUpClass` and `tearDownClass` of a
      `unittest.TestCase` that is not an `IsolatedAsyncioTestCase`;
    - `setUp`, `tearDown`, `setUpClass` and `tearDownClass` of an
      `IsolatedAsyncioTestCase` (it awaits only `asyncSetUp`, `asyncTearDown` and the
      tests), including `aiohttp`'s `AioHTTPTestCase`;
    - `setup_method`, `teardown_method`, `setup_class`, `teardown_class`, `setup` and
      `teardown` of a plain pytest test class, and the module-level `setup_module`,
      `teardown_module`, `setup_function`, `teardown_function`, `setUpModule` and
      `tearDownModule` of a test module: no async plugin awaits these.

    Base classes are resolved through imports, the module and the project index: a
    `BaseTest(unittest.TestCase)` in another module of the project counts, and a base that
    cannot be resolved, a metaclass, an unknown class or method decorator, or a class in
    the hierarchy that overrides how tests are called (`run`, `_callTestMethod`, ...) keep
    the rule silent. Async-aware cases (`asynctest.TestCase`, Django's and Tornado's test
    cases, Twisted's `trial`) are left alone. Async `test_*` functions of plain pytest
    classes are ASL503's concern.

    ## Why is this bad?
    Calling an `async def` only creates a coroutine. A runner that does not await it
    drops the coroutine: the body never runs, and a test "passes" without executing a
    single assertion, or its setup silently does nothing while the test runs against
    whatever state it finds. Python at most prints "coroutine ... was never awaited",
    which test output easily hides.

    ## Example
    ```python
    class TestClient(unittest.TestCase):
        async def setUp(self):
            self.client = await connect()

        async def test_get(self):
            self.assertEqual(await self.client.get("k"), 1)
    ```

    ## Use instead
    ```python
    class TestClient(unittest.IsolatedAsyncioTestCase):
        async def asyncSetUp(self):
            self.client = await connect()

        async def test_get(self):
            self.assertEqual(await self.client.get("k"), 1)
    ```
    For a pytest class, move async setup and teardown into an async fixture.

    ## Fix safety
    The fix is unsafe: it changes the base class `unittest.TestCase` (written directly in
    the class statement) to `unittest.IsolatedAsyncioTestCase` and renames an async
    `setUp`/`tearDown` to `asyncSetUp`/`asyncTearDown`, so the tests start running in an
    event loop of their own and may fail where they used to pass. In a class deriving from
    `unittest.IsolatedAsyncioTestCase` alone it only renames the hook. It is offered only
    when the class names `unittest.TestCase` (or `IsolatedAsyncioTestCase`) itself and no
    renamed hook calls `super()` or would clash with an existing method; a base such as
    `AioHTTPTestCase` does its own work in `asyncSetUp`, which a rename would override.

    ## Options
    None.
    """

    code = "ASL501"
    name = "async-test-never-awaited"
    message = "`async def {name}` is never awaited: {runner} calls it synchronously, so {effect}"
    fix_title = (
        "Run it where it is awaited: an `IsolatedAsyncioTestCase` with `asyncSetUp`/"
        "`asyncTearDown`, or an async fixture"
    )
    fix_applicability = Applicability.UNSAFE
    async_only = True

    examples = (
        Invalid(
            """
            import unittest

            class TestClient(unittest.TestCase):
                async def setUp(self):  # error: ASL501@15
                    self.client = await connect()

                async def test_get(self):  # error: ASL501@15
                    self.assertEqual(await self.client.get("k"), 1)

                async def tearDown(self):  # error: ASL501@15
                    await self.client.close()

                def test_sync(self):
                    self.assertTrue(True)

            async def connect(): ...
            """,
            fixed="""
            import unittest

            class TestClient(unittest.IsolatedAsyncioTestCase):
                async def asyncSetUp(self):
                    self.client = await connect()

                async def test_get(self):
                    self.assertEqual(await self.client.get("k"), 1)

                async def asyncTearDown(self):
                    await self.client.close()

                def test_sync(self):
                    self.assertTrue(True)

            async def connect(): ...
            """,
        ),
        Invalid(
            """
            from unittest import TestCase as Case, mock

            class Mixin:
                def make(self):
                    return 1

            class TestWorker(Mixin, Case):
                @mock.patch("os.getcwd")
                async def testRun(self, getcwd):  # error: ASL501@15
                    self.assertEqual(await run(), 1)

            async def run():
                return 1
            """,
            fixed="""
            from unittest import TestCase as Case, mock
            import unittest

            class Mixin:
                def make(self):
                    return 1

            class TestWorker(Mixin, unittest.IsolatedAsyncioTestCase):
                @mock.patch("os.getcwd")
                async def testRun(self, getcwd):
                    self.assertEqual(await run(), 1)

            async def run():
                return 1
            """,
        ),
        Invalid(
            {
                "tests/__init__.py": "",
                "tests/base.py": """
                    import unittest as ut

                    class BaseTest(ut.TestCase):
                        def setUp(self):
                            self.db = {}
                    """,
                "tests/test_api.py": """
                    from tests.base import BaseTest

                    class Local(BaseTest):
                        pass

                    class TestApi(Local):
                        async def test_fetch(self):  # error: ASL501@15
                            assert await fetch(self.db)

                        @classmethod
                        async def setUpClass(cls):  # error: ASL501@15
                            await fetch({})

                        async def fetch_all(self):
                            return await fetch(self.db)

                    async def fetch(db): ...
                    """,
            }
        ),
        Invalid(
            """
            from unittest import IsolatedAsyncioTestCase

            class TestStore(IsolatedAsyncioTestCase):
                async def setUp(self):  # error: ASL501@15
                    self.store = await open_store()

                async def test_put(self):
                    await self.store.put(1)

            async def open_store(): ...
            """,
            fixed="""
            from unittest import IsolatedAsyncioTestCase

            class TestStore(IsolatedAsyncioTestCase):
                async def asyncSetUp(self):
                    self.store = await open_store()

                async def test_put(self):
                    await self.store.put(1)

            async def open_store(): ...
            """,
        ),
        Invalid(
            """
            import unittest

            from aiohttp.test_utils import AioHTTPTestCase

            class TestPool(unittest.IsolatedAsyncioTestCase):
                @classmethod
                async def setUpClass(cls):  # error: ASL501@15
                    cls.pool = await make_pool()

            class TestLegacy(unittest.TestCase):
                async def setUp(self):  # error: ASL501@15
                    super().setUp()
                    self.pool = await make_pool()

            class TestApp(AioHTTPTestCase):
                async def tearDown(self):  # error: ASL501@15
                    await self.client.close()

            async def make_pool(): ...
            """
        ),
        Invalid(
            {
                "tests/test_hooks.py": """
                    import pytest

                    async def setup_module(module):  # error: ASL501@11
                        await reset()

                    async def teardown_function(function):  # error: ASL501@11
                        await reset()

                    class TestPlain:
                        async def setup_method(self, method):  # error: ASL501@15
                            self.conn = await reset()

                        @classmethod
                        async def teardown_class(cls):  # error: ASL501@15
                            await reset()

                        async def teardown(self):  # error: ASL501@15
                            await reset()

                        @pytest.mark.asyncio
                        async def test_conn(self):
                            assert self.conn

                    async def reset(): ...
                    """,
            }
        ),
        Invalid(
            {
                "pyproject.toml": """
                    [tool.pytest.ini_options]
                    python_classes = ["Check*"]
                    """,
                "checks/test_db.py": """
                    class CheckDatabase:
                        async def setup_method(self, method):  # error: ASL501@15
                            self.db = await connect()

                    class TestDatabase:
                        async def setup_method(self, method):
                            self.db = await connect()

                    async def connect(): ...
                    """,
            }
        ),
        Valid(
            """
            import unittest
            from unittest import IsolatedAsyncioTestCase

            import asynctest
            from django.test import TestCase as DjangoTestCase

            class TestAsync(IsolatedAsyncioTestCase):
                async def asyncSetUp(self):
                    self.value = await compute()

                async def test_value(self):
                    self.assertEqual(self.value, 1)

                async def asyncTearDown(self):
                    await compute()

            class TestSync(unittest.TestCase):
                def setUp(self):
                    self.value = 1

                async def helper(self):
                    return await compute()

                def test_value(self):
                    self.assertEqual(self.value, 1)

            class TestAsynctest(asynctest.TestCase):
                async def setUp(self):
                    self.value = await compute()

                async def test_value(self):
                    self.assertEqual(self.value, 1)

            class TestView(DjangoTestCase):
                async def test_view(self):
                    self.assertEqual(await compute(), 1)

            async def compute():
                return 1
            """
        ),
        Valid(
            """
            import unittest

            from somewhere import BaseCase, async_test

            class TestUnknownBase(BaseCase):
                async def test_value(self):
                    assert await compute()

            class Meta(type): ...

            class TestMeta(unittest.TestCase, metaclass=Meta):
                async def test_value(self):
                    assert await compute()

            class TestDecorated(unittest.TestCase):
                @async_test
                async def test_value(self):
                    assert await compute()

                @unittest.skip("flaky")
                async def test_skipped(self):
                    assert await compute()

            @async_test
            class TestClassDecorated(unittest.TestCase):
                async def test_value(self):
                    assert await compute()

            def test_runner_reports_async_tests():
                class TestInner(unittest.TestCase):
                    async def test_value(self):
                        assert await compute()

                unittest.TextTestRunner().run(TestInner("test_value"))

            async def compute():
                return 1
            """
        ),
        Valid(
            {
                "tests/__init__.py": "",
                "tests/runner.py": """
                    import asyncio
                    import unittest

                    class AsyncCase(unittest.TestCase):
                        def _callTestMethod(self, method):
                            result = method()
                            if asyncio.iscoroutine(result):
                                asyncio.run(result)

                    class AsyncBase(unittest.IsolatedAsyncioTestCase):
                        pass
                    """,
                "tests/test_runner.py": """
                    from tests.runner import AsyncBase, AsyncCase

                    class TestCustom(AsyncCase):
                        async def test_value(self):
                            assert await compute()

                    class TestIsolated(AsyncBase):
                        async def test_value(self):
                            assert await compute()

                        async def asyncSetUp(self):
                            await compute()

                    async def compute():
                        return 1
                    """,
            }
        ),
        Valid(
            {
                "tests/test_plain.py": """
                    import pytest

                    class TestPlain:
                        def setup_method(self, method):
                            self.value = 1

                        async def setup_database(self):
                            return await compute()

                        @pytest.mark.asyncio
                        async def test_value(self):
                            assert await compute()

                    class Helpers:
                        async def setup_method(self, method):
                            await compute()

                    class TestWithInit:
                        def __init__(self):
                            self.value = 1

                        async def setup_method(self, method):
                            await compute()

                    def setup_module(module):
                        pass

                    async def compute():
                        return 1
                    """,
                "tests/helpers.py": """
                    async def setup_module(module):
                        await reset()

                    async def reset(): ...
                    """,
            }
        ),
    )

    def __init__(
        self, context: Context, settings: Mapping[str, Any], reports: list[Report]
    ) -> None:
        super().__init__(context, settings, reports)
        self.classes = TestClasses(context)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        function = self.context.function
        if node.asynchronous is None or function is None or function.node is not node:
            return
        if function.class_node is None:
            self._check_module_hook(node)
            return
        scope = defining_scope(self.context)
        if scope is None or not all(self._transparent_on_method(d) for d in node.decorators):
            return
        kind = self.classes.kind(function.class_node, scope)
        name = node.name.value
        cls = function.class_node
        if kind is CaseKind.SYNC and (
            name.startswith(UNITTEST_TEST_PREFIX)
            or name in UNITTEST_INSTANCE_HOOKS | UNITTEST_CLASS_HOOKS
        ):
            self._report_case(node, cls, scope)
        elif kind is CaseKind.ISOLATED and name in UNITTEST_INSTANCE_HOOKS | UNITTEST_CLASS_HOOKS:
            self._report_isolated(node, cls)
        elif kind is CaseKind.PLAIN and name in PYTEST_CLASS_HOOKS:
            config = config_for(self.context.path)
            if (
                config is not None
                and config.collects_class(cls.name.value)
                and "__init__" not in method_names(cls)
            ):
                self.report(node.name, name=name, runner="pytest", effect=_PYTEST_EFFECT)

    def _transparent_on_method(self, decorator: cst.Decorator) -> bool:
        target = decorator.decorator
        if self.context.qualname(target) in _METHOD_DECORATORS:
            return True
        return is_transparent(self.context, decorator, self.context.scope)

    def _check_module_hook(self, node: cst.FunctionDef) -> None:
        enclosing = self.context.scope.parent
        name = node.name.value
        if enclosing is None or enclosing.kind is not ScopeKind.MODULE or name not in MODULE_HOOKS:
            return
        if node.decorators:
            return
        config = config_for(self.context.path)
        if config is None:
            return
        if config.collects_file(self.context.path) or _is_unittest_file(self.context.path):
            self.report(node.name, name=name, runner="the test runner", effect=_PYTEST_EFFECT)

    def _report_case(self, node: cst.FunctionDef, cls: cst.ClassDef, scope: Scope) -> None:
        name = node.name.value
        if name.startswith(UNITTEST_TEST_PREFIX):
            effect = "the test passes without running"
        else:
            effect = "it never runs"
        fix = None if name in UNITTEST_CLASS_HOOKS else self._fix(cls, scope)
        self.report(node.name, name=name, runner="`unittest.TestCase`", effect=effect, fix=fix)

    def _report_isolated(self, node: cst.FunctionDef, cls: cst.ClassDef) -> None:
        name = node.name.value
        renamed = ASYNC_HOOKS.get(name)
        if renamed is None:
            effect = "it never runs; do the async work in `asyncSetUp`/`asyncTearDown`"
            fix = None
        else:
            effect = f"it never runs; name it `{renamed}`"
            fix = self._rename(node, method_names(cls)) if self._only_isolated_base(cls) else None
        self.report(
            node.name, name=name, runner="`IsolatedAsyncioTestCase`", effect=effect, fix=fix
        )

    def _only_isolated_base(self, cls: cst.ClassDef) -> bool:
        """Whether the class derives from ``unittest.IsolatedAsyncioTestCase`` alone, whose
        ``asyncSetUp``/``asyncTearDown`` do nothing: a base such as ``AioHTTPTestCase``
        does its own work there, which a renamed hook would override."""
        scope = defining_scope(self.context)
        return (
            scope is not None
            and len(cls.bases) == 1
            and self.context.resolver.qualname(cls.bases[0].value, scope) in _ISOLATED_CASE
        )

    def _fix(self, cls: cst.ClassDef, scope: Scope) -> Autofix | None:
        """Base `unittest.TestCase` → `IsolatedAsyncioTestCase`, async hooks renamed."""
        bases = [
            b for b in cls.bases if self.context.resolver.qualname(b.value, scope) in _UNITTEST_CASE
        ]
        if len(bases) != 1 or not isinstance(cls.body, cst.IndentedBlock):
            return None
        changes: list[Change] = [Replace(bases[0].value, ISOLATED_CASE)]
        defined = method_names(cls)
        for statement in cls.body.body:
            if (
                isinstance(statement, cst.FunctionDef)
                and statement.asynchronous is not None
                and statement.name.value in ASYNC_HOOKS
            ):
                rename = self._rename(statement, defined)
                if rename is None:
                    return None
                changes.extend(rename.changes)
        return Autofix(*changes, imports=["unittest"], title=_BASE_FIX)

    @staticmethod
    def _rename(hook: cst.FunctionDef, defined: set[str]) -> Autofix | None:
        """``setUp`` → ``asyncSetUp``, unless the name is taken or the hook calls ``super()``
        (the runner would then call the inherited ``setUp`` twice)."""
        renamed = ASYNC_HOOKS[hook.name.value]
        if renamed in defined or _calls_super(hook):
            return None
        return Autofix(Replace(hook.name, renamed), title=f"Rename to `{renamed}`")


_PYTEST_EFFECT = "it never runs; use an async fixture instead"
_BASE_FIX = "Derive from `unittest.IsolatedAsyncioTestCase` and use its async hooks"


def _is_unittest_file(path: str) -> bool:
    return fnmatch.fnmatch(os.path.basename(path), _UNITTEST_FILE)


class _SuperCall(cst.CSTVisitor):
    def __init__(self) -> None:
        self.found = False

    def visit_Call(self, node: cst.Call) -> None:
        if isinstance(node.func, cst.Name) and node.func.value == "super":
            self.found = True


def _calls_super(node: cst.FunctionDef) -> bool:
    visitor = _SuperCall()
    walk.visit(node.body, visitor)
    return visitor.found
