"""Test-framework facts for the test-suite rules (ASL5xx): plain data.

Which unittest-style base classes await which methods, which pytest hooks and options
change how async tests run, which plugins run them, and which ``unittest.mock`` objects
record awaits. Names are qualified as imported (``unittest.TestCase``); plugin names are
as ``-p NAME``, ``pytest_plugins`` or ``required_plugins`` spell them.
"""

from __future__ import annotations

import enum

from asynclint.knowledge import inert

# -- unittest ------------------------------------------------------------------------------


class CaseKind(enum.Enum):
    """How a unittest-style base class calls test methods and hooks."""

    SYNC = "sync"
    """Calls every method synchronously: an ``async def`` returns an unawaited coroutine."""
    ISOLATED = "isolated"
    """Awaits test methods, ``asyncSetUp`` and ``asyncTearDown``; calls ``setUp``,
    ``tearDown`` and the class hooks synchronously."""
    AWARE = "aware"
    """Awaits async methods itself or refuses them loudly: nothing to report."""
    PLAIN = "plain"
    """No unittest-style base at all: a pytest test class."""


TEST_CASES: dict[str, CaseKind] = {
    "unittest.TestCase": CaseKind.SYNC,
    "unittest.case.TestCase": CaseKind.SYNC,
    "unittest.IsolatedAsyncioTestCase": CaseKind.ISOLATED,
    "unittest.async_case.IsolatedAsyncioTestCase": CaseKind.ISOLATED,
    "aiohttp.test_utils.AioHTTPTestCase": CaseKind.ISOLATED,
    **dict.fromkeys(
        [
            "asynctest.TestCase",
            "asynctest.ClassTestCase",
            "asynctest.case.TestCase",
            "asynctest.case.ClassTestCase",
            "aiounittest.AsyncTestCase",
            "aiounittest.case.AsyncTestCase",
            "tornado.testing.AsyncTestCase",
            "tornado.testing.AsyncHTTPTestCase",
            "twisted.trial.unittest.TestCase",
            "twisted.trial.unittest.SynchronousTestCase",
            "django.test.SimpleTestCase",
            "django.test.TestCase",
            "django.test.TransactionTestCase",
            "django.test.LiveServerTestCase",
        ],
        CaseKind.AWARE,
    ),
}
"""unittest-style base classes by qualified name."""

RUNNER_METHODS = frozenset(
    [
        "run",
        "debug",
        "__call__",
        "_callTestMethod",
        "_callSetUp",
        "_callTearDown",
        "_callCleanup",
        "_callAsync",
        "_callMaybeAsync",
    ]
)
"""Methods a test-case class overrides to change how its tests are called: a class in the
hierarchy defining one may well await coroutines itself."""

UNITTEST_TEST_PREFIX = "test"
UNITTEST_INSTANCE_HOOKS = frozenset(["setUp", "tearDown"])
UNITTEST_CLASS_HOOKS = frozenset(["setUpClass", "tearDownClass"])
ASYNC_HOOKS = {"setUp": "asyncSetUp", "tearDown": "asyncTearDown"}
"""The ``IsolatedAsyncioTestCase`` hook that awaits what each sync hook cannot."""
ISOLATED_CASE = "unittest.IsolatedAsyncioTestCase"

# -- pytest --------------------------------------------------------------------------------

PYTEST_CLASS_HOOKS = frozenset(
    ["setup_method", "teardown_method", "setup_class", "teardown_class", "setup", "teardown"]
)
"""xunit-style hooks of a plain test class, called synchronously by pytest; no async plugin
awaits them."""
MODULE_HOOKS = frozenset(
    [
        "setup_module",
        "teardown_module",
        "setup_function",
        "teardown_function",
        "setUpModule",
        "tearDownModule",
    ]
)
"""Module-level xunit hooks (pytest's and unittest's), also called synchronously."""

DEFAULT_PYTHON_FILES = ("test_*.py", "*_test.py")
DEFAULT_PYTHON_CLASSES = ("Test",)
DEFAULT_PYTHON_FUNCTIONS = ("test",)

SETUP_METHODS = frozenset(
    ["__init__", "setUp", "asyncSetUp", "setUpClass", "setup_method", "setup_class", "setup"]
)
"""Methods whose ``self.x = ...`` every test of the class sees (unlike another test's)."""

PYTEST_FIXTURES = inert(frozenset(["pytest.fixture", "_pytest.fixtures.fixture"]))
"""Plain pytest fixture decorators: they call an ``async def`` and hand over its coroutine."""
MARK = inert("pytest.mark")
MARKER_ATTRIBUTE = "pytestmark"
ANYIO_BACKEND = "anyio_backend"
"""anyio's plugin runs any async test or fixture that requests this fixture."""

RUNNER_HOOKS = frozenset(
    [
        "pytest_pyfunc_call",
        "pytest_pycollect_makeitem",
        "pytest_collection_modifyitems",
        "pytest_itemcollected",
        "pytest_fixture_setup",
        "pytest_runtest_call",
    ]
)
"""Hooks with which a conftest or plugin can run async tests and fixtures itself, or mark
them for a plugin: where one is defined, what runs an async test is unknown."""


class Plugin(enum.Enum):
    """A pytest plugin that runs async tests."""

    ASYNCIO = "pytest-asyncio"
    ANYIO = "anyio"
    TRIO = "pytest-trio"
    OTHER = "other"
    """A runner with rules of its own (aiohttp's plugin runs every async test and fixture,
    marked or not): what it leaves unrun is not known."""


PLUGINS: dict[str, Plugin] = {
    **dict.fromkeys(
        ["asyncio", "pytest_asyncio", "pytest_asyncio.plugin", "pytest-asyncio"], Plugin.ASYNCIO
    ),
    **dict.fromkeys(["anyio", "anyio.pytest_plugin"], Plugin.ANYIO),
    **dict.fromkeys(["trio", "pytest_trio", "pytest_trio.plugin", "pytest-trio"], Plugin.TRIO),
    **dict.fromkeys(
        [
            "aiohttp.pytest_plugin",
            "pytest_aiohttp",
            "pytest_tornasync",
            "pytest_tornado",
            "pytest_twisted",
            "pytest_curio",
        ],
        Plugin.OTHER,
    ),
}
"""Plugins by the names ``-p``, ``pytest_plugins`` and ``required_plugins`` use."""

PLUGIN_MODULES: dict[str, Plugin] = {
    "pytest_asyncio": Plugin.ASYNCIO,
    "anyio": Plugin.ANYIO,
    "trio": Plugin.TRIO,
    "pytest_trio": Plugin.TRIO,
}
"""Top-level modules whose import in a test module or conftest shows the plugin in use."""

MARKS: dict[str, Plugin] = {
    "asyncio": Plugin.ASYNCIO,
    "anyio": Plugin.ANYIO,
    "trio": Plugin.TRIO,
}
"""``pytest.mark.<name>`` markers that make a plugin run an async test."""
OTHER_ASYNC_MARKS = frozenset(["gen_test", "curio", "twisted"])
"""Markers of other frameworks' runners (pytest-tornado, pytest-curio, ...)."""

AUTO_MODES = {"asyncio_mode": "auto", "anyio_mode": "auto", "trio_mode": "true"}
"""Ini options that make a plugin run every async test and fixture, with the value that
does it (compared case-insensitively)."""
AUTO_MODE_FLAGS = {"--asyncio-mode": "asyncio_mode"}
"""Command-line options (in ``addopts``) that set an ini option of :data:`AUTO_MODES`."""
PLUGIN_OPTIONS: dict[str, Plugin] = {
    "asyncio_mode": Plugin.ASYNCIO,
    "asyncio_default_fixture_loop_scope": Plugin.ASYNCIO,
    "asyncio_default_test_loop_scope": Plugin.ASYNCIO,
    "anyio_mode": Plugin.ANYIO,
    "trio_mode": Plugin.TRIO,
    "trio_run": Plugin.TRIO,
}
"""Ini options only a given plugin reads: present, they show it in use."""

# -- unittest.mock ---------------------------------------------------------------------------

ASYNC_MOCKS = frozenset(
    [
        "unittest.mock.AsyncMock",
        "mock.AsyncMock",
        "asynctest.CoroutineMock",
        "asynctest.mock.CoroutineMock",
    ]
)
"""Mock classes whose calls return awaitables and which record awaits."""
SPEC_MOCKS = inert(
    frozenset(
        [
            "unittest.mock.Mock",
            "unittest.mock.MagicMock",
            "unittest.mock.NonCallableMock",
            "unittest.mock.NonCallableMagicMock",
            "mock.Mock",
            "mock.MagicMock",
        ]
    )
)
"""Mock classes that become async mocks when their ``spec`` is an async function (and
whose attributes do, for the async methods of a ``spec`` class)."""
AUTOSPEC = inert(frozenset(["unittest.mock.create_autospec", "mock.create_autospec"]))
PATCH = frozenset(["unittest.mock.patch", "mock.patch"])
PATCH_OBJECT = frozenset(["unittest.mock.patch.object", "mock.patch.object"])
"""``patch`` creates an ``AsyncMock`` when the patched target is an ``async def``."""
MOCKER_FIXTURES: dict[str, str] = dict.fromkeys(
    ["mocker", "class_mocker", "module_mocker", "package_mocker", "session_mocker"],
    "unittest.mock",
)
"""pytest-mock's fixtures, by parameter name, and the module their attributes stand for:
``mocker.patch`` works as ``unittest.mock.patch``, ``mocker.AsyncMock`` as its class."""
TRANSPARENT_DECORATORS = frozenset(
    [
        *PATCH,
        *PATCH_OBJECT,
        "unittest.mock.patch.dict",
        "unittest.mock.patch.multiple",
        "mock.patch.dict",
        "mock.patch.multiple",
    ]
)
"""Test decorators that keep an ``async def`` a coroutine function."""

AWAITED_TWINS = {
    "assert_called": "assert_awaited",
    "assert_called_once": "assert_awaited_once",
    "assert_called_with": "assert_awaited_with",
    "assert_called_once_with": "assert_awaited_once_with",
    "assert_any_call": "assert_any_await",
    "assert_has_calls": "assert_has_awaits",
}
"""Call assertions that an unawaited call satisfies, and the await assertion that says
what the test means. ``assert_not_called`` is left out: it is the stricter check."""
AWAITED_ATTRIBUTES = {
    "called": "awaited",
    "call_count": "await_count",
    "call_args": "await_args",
    "call_args_list": "await_args_list",
}
"""Call records and their await twins, flagged where an assertion expects a call."""
UNITTEST_ASSERTIONS = {
    "assertTrue": None,
    "assert_": None,
    "assertIsNotNone": None,
    "assertEqual": "==",
    "assertEquals": "==",
    "assertListEqual": "==",
    "assertTupleEqual": "==",
    "assertSequenceEqual": "==",
    "assertIs": "is",
    "assertGreater": ">",
    "assertGreaterEqual": ">=",
    "assertIn": "in",
}
"""unittest assertion methods that expect a call record to show a call: ``None`` when the
first argument must be true (or not None), else the comparison between the two arguments."""
