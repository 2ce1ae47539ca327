"""Where sync teardown code lives, and what to use instead in each place (ASL103).

Plain data: the hook names of unittest and pytest, the functions that register a callback
to run at teardown (by qualified name, or by a method name specific to a test framework),
the calls that run an event loop, and the async alternative suggested for every kind of
teardown path.
"""

from __future__ import annotations

import enum

from asynclint.knowledge import inert


class Path(enum.Enum):
    """A kind of sync teardown path."""

    DEL = "__del__"
    FINALIZER = "finaliser"
    EXIT = "__exit__"
    CLOSE = "close"
    TEST_CASE = "unittest"
    ASYNC_TEST_CASE = "unittest-async"
    CLEANUP = "cleanup"
    PYTEST = "pytest"
    ATEXIT = "atexit"
    SIGNAL = "signal"


_EXPLICIT = "close explicitly with an awaited `aclose()` or `async with`"

ALTERNATIVES: dict[Path, str] = {
    Path.DEL: _EXPLICIT,
    Path.FINALIZER: _EXPLICIT,
    Path.EXIT: "implement `__aexit__` and use `async with`",
    Path.CLOSE: "make it `async def` (or add an `async def aclose()`) for callers to await",
    Path.TEST_CASE: "move it to `asyncTearDown` of a `unittest.IsolatedAsyncioTestCase`",
    Path.ASYNC_TEST_CASE: "move it to `asyncTearDown`",
    Path.CLEANUP: "register it with `addAsyncCleanup` of a `unittest.IsolatedAsyncioTestCase`",
    Path.PYTEST: "use an async fixture with `yield`",
    Path.ATEXIT: "await the cleanup before the event loop stops (`async with` or `finally`)",
    Path.SIGNAL: "register the handler with `loop.add_signal_handler`",
}
"""The async alternative each message names."""

GARBAGE_COLLECTION = frozenset([Path.DEL, Path.FINALIZER])
"""Paths that run during garbage collection, where even running a loop is wrong."""

TEST_CASES: dict[str, Path] = {
    **dict.fromkeys(
        [
            "unittest.TestCase",
            "unittest.case.TestCase",
            "django.test.SimpleTestCase",
            "django.test.TestCase",
            "django.test.TransactionTestCase",
            "django.test.testcases.SimpleTestCase",
            "django.test.testcases.TestCase",
            "django.test.testcases.TransactionTestCase",
        ],
        Path.TEST_CASE,
    ),
    **dict.fromkeys(
        [
            "unittest.IsolatedAsyncioTestCase",
            "unittest.async_case.IsolatedAsyncioTestCase",
            "aiohttp.test_utils.AioHTTPTestCase",
        ],
        Path.ASYNC_TEST_CASE,
    ),
}
"""unittest-style base classes (as imported) and whether they run an event loop."""

UNITTEST_HOOKS = frozenset(["tearDown", "tearDownClass", "doCleanups"])
UNITTEST_MODULE_HOOKS = frozenset(["tearDownModule"])
PYTEST_HOOKS = frozenset(["teardown_method", "teardown_class"])
PYTEST_MODULE_HOOKS = frozenset(["teardown_module", "teardown_function"])
CLOSE_METHODS = frozenset(["close", "shutdown", "stop", "cleanup", "dispose"])
"""Sync methods that are teardown paths when their class also has async methods."""

FIXTURE_DECORATORS = inert(
    frozenset(
        [
            "pytest.fixture",
            "pytest.yield_fixture",
            "_pytest.fixtures.fixture",
            "pytest_asyncio.fixture",
        ]
    )
)

REGISTRARS: dict[str, tuple[int, Path]] = inert(
    {
        "atexit.register": (0, Path.ATEXIT),
        "weakref.finalize": (1, Path.FINALIZER),
        "weakref.ref": (1, Path.FINALIZER),
        "signal.signal": (1, Path.SIGNAL),
        "unittest.addModuleCleanup": (0, Path.CLEANUP),
        "unittest.case.addModuleCleanup": (0, Path.CLEANUP),
    }
)
"""Functions that call a callback at teardown: qualified name -> (callback position, path)."""

REGISTRAR_METHODS: dict[str, tuple[int, Path]] = {
    "addfinalizer": (0, Path.PYTEST),
    "addCleanup": (0, Path.CLEANUP),
    "addClassCleanup": (0, Path.CLEANUP),
}
"""Test-framework methods that call a callback at teardown (pytest's ``request`` and
``unittest.TestCase``); the names are specific enough to match on any receiver."""

ASYNC_AWARE_CLEANUPS = frozenset(["addCleanup"])
"""On an ``IsolatedAsyncioTestCase`` these await a coroutine function they are given."""

ASYNC_CALLBACKS_ELSEWHERE = frozenset([Path.ATEXIT, Path.SIGNAL])
"""Registrars that ASL105 checks for coroutine functions passed as the callback."""

LOOP_RUNNERS = frozenset(["asyncio.run", "asyncio.runners.run"])
LOOP_RUN_METHODS = frozenset(["run_until_complete", "run_forever"])
