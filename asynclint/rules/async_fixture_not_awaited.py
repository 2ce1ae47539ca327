"""ASL503 async-fixture-not-awaited."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import libcst as cst

from asynclint.context import Context
from asynclint.diagnostic import Applicability
from asynclint.knowledge.testing import (
    ANYIO_BACKEND,
    AUTO_MODES,
    MARK,
    MARKER_ATTRIBUTE,
    MARKS,
    OTHER_ASYNC_MARKS,
    PLUGIN_MODULES,
    PLUGIN_OPTIONS,
    PLUGINS,
    PYTEST_FIXTURES,
    RUNNER_HOOKS,
    TRANSPARENT_DECORATORS,
    CaseKind,
    Plugin,
)
from asynclint.pytest_config import PluginUse, config_for, conftests_for, own_plugin_use
from asynclint.rule import Autofix, Invalid, Replace, Report, Rule, Valid
from asynclint.rules.async_test_never_awaited import TestClasses, defining_scope, method_names
from asynclint.scope import BindingKind, Scope, ScopeKind


@dataclass(frozen=True)
class _Support:
    """What runs the async tests and fixtures of one file, as far as can be seen."""

    decided: bool
    """False when an auto mode, a custom hook or an unreadable configuration decides."""
    plugins: frozenset[Plugin]
    """Plugins evidently in use (configuration, conftests, the module itself)."""


_UNDECIDED = _Support(False, frozenset())
_STRICT = "pytest-asyncio's strict mode"
_NO_PLUGIN = "no async plugin is configured to"


class AsyncFixtureNotAwaited(Rule):
    """
    ## What it does
    Flags async tests and fixtures that no pytest plugin will run, given the project's
    pytest configuration (`pytest.toml`, `pytest.ini`, `pyproject.toml`, `tox.ini` or
    `setup.cfg`, found as pytest finds it, and the `conftest.py` files on the way):

    - an `async def` fixture decorated with plain `@pytest.fixture` (pytest-asyncio's
      strict mode, its default, only runs `@pytest_asyncio.fixture`);
    - an `async def` test function or method of a plain test class without
      `@pytest.mark.asyncio`, `@pytest.mark.anyio` or `@pytest.mark.trio`, on itself, its
      class (decorator or `pytestmark`) or its module (`pytestmark`).

    The rule stays silent where something else runs them: `asyncio_mode = auto` (also as
    `--asyncio-mode=auto` in `addopts`), anyio's `anyio_mode = auto`, pytest-trio's
    `trio_mode`, a runner with rules of its own loaded with `-p` or `pytest_plugins`
    (aiohttp's `aiohttp.pytest_plugin`, pytest-tornasync, pytest-twisted, ...), a conftest
    or project plugin that defines a hook able to run or mark async tests
    (`pytest_pyfunc_call`, `pytest_collection_modifyitems`, ...), tests and fixtures that
    request `anyio_backend`,
    and plain async fixtures where anyio or pytest-trio is in use (they run them for their
    own tests). An unknown decorator, an unreadable configuration file or a `pytestmark`
    it cannot read also keep it silent. Only files pytest collects (`python_files`) hold
    tests; fixtures are checked everywhere, conftest files included.

    ## Why is this bad?
    pytest calls a test or fixture function and, unless a plugin intervenes, gets a
    coroutine object back. An unmarked async test is skipped with a warning (older pytest)
    or fails without running; an async fixture under plain `@pytest.fixture` hands the test
    the coroutine object instead of the value, and the fixture's body, setup and teardown
    alike, never runs: the test then checks attributes of a coroutine, or passes because
    nothing it relied on was ever set up.

    ## Example
    ```python
    @pytest.fixture
    async def client():
        async with Client() as c:
            yield c

    async def test_get(client):
        assert await client.get("k") == 1
    ```

    ## Use instead
    ```python
    @pytest_asyncio.fixture
    async def client():
        async with Client() as c:
            yield c

    @pytest.mark.asyncio
    async def test_get(client):
        assert await client.get("k") == 1
    ```
    Or set `asyncio_mode = "auto"` in `[tool.pytest.ini_options]`.

    ## Fix safety
    Where pytest-asyncio is evidently in use, the fix replaces `@pytest.fixture` of an
    async fixture with `@pytest_asyncio.fixture`, keeping its arguments. It is unsafe: the
    fixture body starts running, in an event loop whose scope pytest-asyncio's settings
    decide. Tests get no fix: which marker fits is the project's choice.

    ## Options
    None.
    """

    code = "ASL503"
    name = "async-fixture-not-awaited"
    message = "async {what} `{name}` {problem}"
    fix_title = (
        "Let a plugin run it: `@pytest_asyncio.fixture`, `@pytest.mark.asyncio` or "
        "`asyncio_mode = auto`"
    )
    fix_applicability = Applicability.UNSAFE
    async_only = True

    examples = (
        Invalid(
            {
                "pyproject.toml": """
                    [tool.pytest.ini_options]
                    asyncio_default_fixture_loop_scope = "function"
                    """,
                "tests/conftest.py": """
                    import pytest

                    @pytest.fixture
                    async def client():  # error: ASL503@11
                        yield object()

                    @pytest.fixture(scope="module")
                    async def server():  # error: ASL503@11
                        return object()

                    @pytest.fixture
                    def sync_client():
                        return object()
                    """,
                "tests/test_api.py": """
                    import pytest

                    async def test_get(client):  # error: ASL503@11
                        assert client

                    class TestApi:
                        async def test_put(self, client):  # error: ASL503@15
                            assert client

                        @pytest.mark.parametrize("n", [1, 2])
                        async def test_many(self, n):  # error: ASL503@15
                            assert n

                        async def helper(self):
                            return 1

                    @pytest.mark.asyncio
                    async def test_marked(client):
                        assert client
                    """,
            }
        ),
        Invalid(
            {
                "pytest.ini": "",
                "tests/test_plain.py": """
                    import pytest
                    from unittest import mock

                    @pytest.fixture
                    async def db():  # error: ASL503@11
                        return {}

                    @mock.patch("os.getcwd")
                    async def test_cwd(getcwd, db):  # error: ASL503@11
                        assert db == {}

                    def test_sync(db):
                        assert db
                    """,
            }
        ),
        Invalid(
            """
            import pytest
            import pytest_asyncio

            @pytest.fixture(scope="module")
            async def database():  # error: ASL503@11
                yield {}

            @pytest_asyncio.fixture
            async def cache():
                return {}
            """,
            fixed="""
            import pytest
            import pytest_asyncio

            @pytest_asyncio.fixture(scope="module")
            async def database():
                yield {}

            @pytest_asyncio.fixture
            async def cache():
                return {}
            """,
        ),
        Invalid(
            {
                "tox.ini": """
                    [pytest]
                    asyncio_mode = strict
                    """,
                "tests/test_marks.py": """
                    import pytest as pt
                    from pytest import mark

                    pytestmark = [mark.slow, pt.mark.filterwarnings("error")]

                    @pt.fixture(autouse=True)
                    async def reset():  # error: ASL503@11
                        yield

                    class TestStore:
                        pytestmark = pt.mark.usefixtures("reset")

                        @pt.fixture
                        async def store(self):  # error: ASL503@15
                            return {}

                        @mark.parametrize("key", ["a"])
                        async def test_get(self, store, key):  # error: ASL503@15
                            assert key not in store
                    """,
            }
        ),
        Invalid(
            {
                "pyproject.toml": """
                    [tool.pytest.ini_options]
                    python_files = ["checks.py"]
                    python_functions = ["check_*"]
                    """,
                "suite/checks.py": """
                    import pytest

                    @pytest.mark.asyncio
                    async def check_marked():
                        assert True

                    async def check_unmarked():  # error: ASL503@11
                        assert True

                    async def test_not_collected():
                        assert True
                    """,
            }
        ),
        Valid(
            {
                "pyproject.toml": """
                    [tool.pytest.ini_options]
                    asyncio_mode = "auto"
                    """,
                "tests/conftest.py": """
                    import pytest

                    @pytest.fixture
                    async def client():
                        yield object()
                    """,
                "tests/test_auto.py": """
                    async def test_get(client):
                        assert client

                    class TestApi:
                        async def test_put(self, client):
                            assert client
                    """,
            }
        ),
        Valid(
            {
                "setup.cfg": """
                    [tool:pytest]
                    addopts = -ra --asyncio-mode=auto
                    """,
                "tests/test_flag.py": """
                    import pytest

                    @pytest.fixture
                    async def client():
                        yield object()

                    async def test_get(client):
                        assert client
                    """,
            }
        ),
        Valid(
            {
                "pytest.ini": """
                    [pytest]
                    trio_mode = true
                    """,
                "tests/test_trio.py": """
                    import pytest

                    @pytest.fixture
                    async def nursery_client():
                        yield object()

                    async def test_get(nursery_client):
                        assert nursery_client
                    """,
            }
        ),
        Valid(
            {
                "pytest.ini": "",
                "tests/conftest.py": """
                    pytest_plugins = ["aiohttp.pytest_plugin", "pytester"]
                    """,
                "tests/test_aiohttp.py": """
                    import pytest

                    @pytest.fixture
                    async def app():
                        return object()

                    async def test_app(app, loop):
                        assert app
                    """,
            }
        ),
        Valid(
            {
                "pytest.ini": "",
                "tests/conftest.py": """
                    import pytest

                    @pytest.fixture(params=["asyncio", "trio"])
                    def anyio_backend(request):
                        return request.param

                    @pytest.fixture
                    async def server():
                        yield object()
                    """,
                "tests/test_anyio.py": """
                    import pytest

                    pytestmark = pytest.mark.anyio

                    async def test_server(server):
                        assert server
                    """,
                "tests/test_backend.py": """
                    async def test_direct(anyio_backend):
                        assert anyio_backend
                    """,
            }
        ),
        Valid(
            {
                "pyproject.toml": """
                    [tool.pytest.ini_options]
                    asyncio_mode = "strict"
                    """,
                "tests/test_strict.py": """
                    import unittest

                    import pytest
                    import pytest_asyncio

                    from helpers import async_test

                    pytestmark = pytest.mark.asyncio(loop_scope="module")

                    @pytest_asyncio.fixture
                    async def client():
                        yield object()

                    async def test_module_marked(client):
                        assert client

                    @pytest.mark.asyncio
                    class TestDecorated:
                        async def test_put(self, client):
                            assert client

                    class TestCase(unittest.IsolatedAsyncioTestCase):
                        async def test_case(self):
                            assert True

                    @async_test
                    async def test_wrapped():
                        assert True
                    """,
                "tests/helpers.py": """
                    import pytest

                    async def test_not_collected():
                        assert True
                    """,
            }
        ),
        Valid(
            {
                "pytest.ini": "",
                "tests/conftest.py": """
                    import inspect

                    import pytest

                    def pytest_collection_modifyitems(items):
                        for item in items:
                            if inspect.iscoroutinefunction(item.obj):
                                item.add_marker(pytest.mark.asyncio)
                    """,
                "tests/test_hooked.py": """
                    async def test_marked_by_hook():
                        assert True
                    """,
            }
        ),
        Valid(
            {
                "pyproject.toml": """
                    [tool.pytest.ini_options
                    asyncio_mode = "strict"
                    """,
                "tests/test_malformed.py": """
                    import pytest

                    @pytest.fixture
                    async def client():
                        yield object()

                    async def test_get(client):
                        assert client
                    """,
            }
        ),
        Valid(
            {
                "pytest.ini": "",
                "tests/test_classes.py": """
                    import pytest
                    from somewhere import Base, wrap

                    class TestUnknownBase(Base):
                        async def test_value(self):
                            assert True

                    class TestMarkedClass:
                        pytestmark = [pytest.mark.asyncio]

                        async def test_value(self):
                            assert True

                    class TestInit:
                        def __init__(self):
                            self.value = 1

                        async def test_value(self):
                            assert True

                    def test_sync_wrapper():
                        class TestClass:
                            async def test_function(self):
                                return 45

                        assert TestClass().test_function

                    @pytest.fixture
                    @wrap
                    async def wrapped():
                        return 1

                    @pytest.mark.trio
                    async def test_trio():
                        assert True

                    class TestBase:
                        __test__ = False

                        async def test_shared(self):
                            assert True
                    """,
            }
        ),
    )

    def __init__(
        self, context: Context, settings: Mapping[str, Any], reports: list[Report]
    ) -> None:
        super().__init__(context, settings, reports)
        self.classes = TestClasses(context)
        self._support: _Support | None = None

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        function = self.context.function
        if node.asynchronous is None or function is None or function.node is not node:
            return
        fixture = self._fixture_decorator(node)
        if fixture is not None:
            self._check_fixture(node, fixture)
        elif self._is_test(node):
            self._check_test(node)

    # -- fixtures ---------------------------------------------------------------------------

    def _fixture_decorator(self, node: cst.FunctionDef) -> cst.Decorator | None:
        for decorator in node.decorators:
            target = decorator.decorator
            if isinstance(target, cst.Call):
                target = target.func
            if self.context.qualname(target) in PYTEST_FIXTURES:
                return decorator
        return None

    def _check_fixture(self, node: cst.FunctionDef, fixture: cst.Decorator) -> None:
        others = [d for d in node.decorators if d is not fixture]
        if any(not self._is_mark_or_patch(d) for d in others) or _requests_anyio(node):
            return
        support = self.support()
        if not support.decided or support.plugins & {Plugin.ANYIO, Plugin.TRIO}:
            return
        name = node.name.value
        if Plugin.ASYNCIO in support.plugins:
            target = fixture.decorator
            func = target.func if isinstance(target, cst.Call) else target
            self.report(
                node.name,
                what="fixture",
                name=name,
                problem=f"uses plain `@pytest.fixture`: {_STRICT} hands tests an unawaited "
                "coroutine; use `@pytest_asyncio.fixture`",
                fix=Autofix(
                    Replace(func, "pytest_asyncio.fixture"),
                    imports=["pytest_asyncio"],
                    title="Use `@pytest_asyncio.fixture`",
                ),
            )
        else:
            self.report(
                node.name,
                what="fixture",
                name=name,
                problem=f"uses plain `@pytest.fixture` and {_NO_PLUGIN} run it: tests get an "
                "unawaited coroutine",
            )

    # -- tests ----------------------------------------------------------------------------

    def _is_test(self, node: cst.FunctionDef) -> bool:
        """A test pytest collects: a test-named function of a collected module, or a
        test-named method of a plain test class (no ``__init__``)."""
        config = config_for(self.context.path)
        name = node.name.value
        if config is None or not config.collects_file(self.context.path):
            return False
        if not config.collects_function(name):
            return False
        function = self.context.function
        assert function is not None
        if _not_a_test(self.context.scope.module):
            return False
        if function.class_node is None:
            parent = self.context.scope.parent
            return parent is not None and parent.kind is ScopeKind.MODULE
        scope = defining_scope(self.context)
        cls = function.class_node
        class_scope = self.context.scope.parent
        return (
            scope is not None
            and class_scope is not None
            and not _not_a_test(class_scope)
            and self.classes.kind(cls, scope) is CaseKind.PLAIN
            and config.collects_class(cls.name.value)
            and "__init__" not in method_names(cls)
        )

    def _check_test(self, node: cst.FunctionDef) -> None:
        if _requests_anyio(node):
            return
        marked = self._marked(node.decorators, self.context.scope)
        function = self.context.function
        assert function is not None
        if marked is False and function.class_node is not None:
            class_scope = self.context.scope.parent
            assert class_scope is not None and class_scope.parent is not None
            marked = self._marked(function.class_node.decorators, class_scope.parent)
            if marked is False:
                marked = self._pytestmark(class_scope)
        if marked is False:
            marked = self._pytestmark(self.context.scope.module)
        if marked is not False:
            return
        support = self.support()
        if not support.decided:
            return
        name = node.name.value
        if Plugin.ASYNCIO in support.plugins:
            problem = f"has no `@pytest.mark.asyncio`: {_STRICT} does not run it"
        else:
            problem = (
                f"has no async marker and {_NO_PLUGIN} run it: pytest skips or fails it "
                "without running it; mark it `@pytest.mark.asyncio` or `@pytest.mark.anyio`"
            )
        self.report(node.name, what="test", name=name, problem=problem)

    def _marked(self, decorators: Iterable[cst.Decorator], scope: Scope) -> bool | None:
        """True when an async marker is among `decorators`, None when one is unknown."""
        for decorator in decorators:
            found = self._mark_kind(decorator.decorator, scope)
            if found is not False:
                return found
        return False

    def _mark_kind(self, expr: cst.BaseExpression, scope: Scope) -> bool | None:
        """True for an async marker, False for another mark or a mock patch, None else."""
        call = expr if isinstance(expr, cst.Call) else None
        target = call.func if call is not None else expr
        qualname = self.context.resolver.qualname(target, scope) or ""
        if qualname in TRANSPARENT_DECORATORS:
            return False
        mark, dot, rest = qualname.partition(MARK + ".")
        if mark or not dot:
            return None
        if rest in MARKS or rest in OTHER_ASYNC_MARKS:
            return True
        if rest == "usefixtures" and call is not None:
            return any(_is_string(arg.value, ANYIO_BACKEND) for arg in call.args) or False
        return False

    def _pytestmark(self, scope: Scope) -> bool | None:
        """Whether ``pytestmark`` in `scope` holds an async marker (None: unreadable)."""
        bindings = scope.bindings.get(MARKER_ATTRIBUTE)
        if not bindings:
            return False
        for binding in bindings:
            value = binding.value
            if binding.kind is not BindingKind.ASSIGN or value is None:
                return None
            items = (
                [e.value for e in value.elements]
                if isinstance(value, (cst.List, cst.Tuple))
                else [value]
            )
            for item in items:
                kind = self._mark_kind(item, scope)
                if kind is not False:
                    return kind
        return False

    def _is_mark_or_patch(self, decorator: cst.Decorator) -> bool:
        return self._mark_kind(decorator.decorator, self.context.scope) is not None

    # -- what runs async code here --------------------------------------------------------

    def support(self) -> _Support:
        if self._support is None:
            self._support = self._find_support()
        return self._support

    def _find_support(self) -> _Support:
        config = config_for(self.context.path)
        conftests = conftests_for(self.context.path)
        own = own_plugin_use(self.context)
        if config is None or conftests is None or own is None:
            return _UNDECIDED
        for option, value in AUTO_MODES.items():
            if (config.option(option) or "").lower() == value:
                return _UNDECIDED
        uses = (*conftests, own)
        plugins = {PLUGIN_OPTIONS[key] for key in config.options if key in PLUGIN_OPTIONS}
        for name in config.plugins.union(*(use.plugins for use in uses)):
            plugin = PLUGINS.get(name)
            if plugin is Plugin.OTHER or (plugin is None and self._has_runner_hooks(name)):
                return _UNDECIDED
            if plugin is not None:
                plugins.add(plugin)
        if any(use.hooks & RUNNER_HOOKS for use in conftests):
            return _UNDECIDED
        plugins.update(_evidence(uses))
        return _Support(True, frozenset(plugins))

    def _has_runner_hooks(self, module: str) -> bool:
        """A project module loaded as a plugin that may run async tests itself."""
        facts = self.context.resolver.index.modules.get(module)
        return facts is not None and bool(set(facts.functions) & RUNNER_HOOKS)


def _evidence(uses: Iterable[PluginUse]) -> set[Plugin]:
    """Plugins that imports, markers and fixtures of the module and its conftests show."""
    found: set[Plugin] = set()
    for use in uses:
        found.update(PLUGIN_MODULES[name] for name in use.imports if name in PLUGIN_MODULES)
        found.update(MARKS[name] for name in use.marks if name in MARKS)
        if ANYIO_BACKEND in use.functions:
            found.add(Plugin.ANYIO)
    return found


def _not_a_test(scope: Scope) -> bool:
    """``__test__ = False`` in a module or class body: pytest collects nothing there."""
    bindings = scope.bindings.get("__test__", ())
    return any(isinstance(b.value, cst.Name) and b.value.value == "False" for b in bindings)


def _requests_anyio(node: cst.FunctionDef) -> bool:
    params = node.params
    return any(
        p.name.value == ANYIO_BACKEND
        for p in (*params.posonly_params, *params.params, *params.kwonly_params)
    )


def _is_string(expr: cst.BaseExpression, text: str) -> bool:
    return isinstance(expr, cst.SimpleString) and expr.evaluated_value == text
