"""ASL504's rewrite of sync test teardowns.

End to end: `asynclint check --fix --unsafe-fixes` on a small project whose tests leak
state through their teardown, then the project's own tests under real pytest (with
pytest-asyncio), before and after. Also: when the rewrite is only shown (and why), which
functions ASL103 leaves to ASL504, and the shape of the rewritten code."""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

from asynclint import index
from asynclint.engine import check_source
from asynclint.rules.sync_teardown_schedules_async import SyncTeardownSchedulesAsync
from asynclint.testing import apply_fixes
from tests.conftest import RunCli

PYPROJECT = """
[tool.pytest.ini_options]
asyncio_mode = "strict"
asyncio_default_fixture_loop_scope = "function"
"""

REGISTRY = """
import asyncio

CLIENTS = []


class Registry:
    def __init__(self):
        self._names = set()

    def register(self, name):
        self._names.add(name)

    def names(self):
        return sorted(self._names)

    async def unregister(self, name):
        await asyncio.sleep(0)
        self._names.discard(name)


REGISTRY = Registry()


class Client:
    def __init__(self):
        self.closed = False
        CLIENTS.append(self)

    async def close(self):
        await asyncio.sleep(0)
        self.closed = True
"""

TEST_REGISTRY = """
import asyncio

import pytest

from app.registry import REGISTRY


class TestRegistry:
    def setup_method(self, method):
        self.names = [f"{method.__name__}-{n}" for n in range(3)]
        for name in self.names:
            REGISTRY.register(name)

    def teardown_method(self, method):
        # every name the test registered
        for name in self.names:
            asyncio.create_task(REGISTRY.unregister(name))

    @pytest.mark.asyncio
    async def test_register(self):
        assert len(REGISTRY.names()) == 3

    def test_sync(self):
        assert len(REGISTRY.names()) == 3


def test_registry_is_empty_afterwards():
    assert REGISTRY.names() == []
"""

TEST_REGISTRY_FIXED = """
import asyncio

import pytest

from app.registry import REGISTRY
import pytest_asyncio


class TestRegistry:
    def setup_method(self, method):
        self.names = [f"{method.__name__}-{n}" for n in range(3)]
        for name in self.names:
            REGISTRY.register(name)

    @pytest_asyncio.fixture(autouse=True)
    async def _async_teardown(self):
        yield
        # every name the test registered
        for name in self.names:
            await REGISTRY.unregister(name)

    @pytest.mark.asyncio
    async def test_register(self):
        assert len(REGISTRY.names()) == 3

    def test_sync(self):
        assert len(REGISTRY.names()) == 3


def test_registry_is_empty_afterwards():
    assert REGISTRY.names() == []
"""

TEST_CLIENT = """
import unittest

from app.registry import CLIENTS, Client


class TestClient(unittest.TestCase):
    def setUp(self):
        self.client = Client()

    def tearDown(self):
        self.client.close()
        super().tearDown()

    def test_open(self):
        self.assertFalse(self.client.closed)


def test_every_client_was_closed():
    assert CLIENTS and all(client.closed for client in CLIENTS)
"""

TEST_CLIENT_FIXED = """
import unittest

from app.registry import CLIENTS, Client


class TestClient(unittest.IsolatedAsyncioTestCase):
    def setUp(self):
        self.client = Client()

    async def asyncTearDown(self):
        await self.client.close()
        await super().asyncTearDown()

    def test_open(self):
        self.assertFalse(self.client.closed)


def test_every_client_was_closed():
    assert CLIENTS and all(client.closed for client in CLIENTS)
"""


def _project(root: Path, files: Mapping[str, str]) -> None:
    for name, text in {
        "pyproject.toml": PYPROJECT,
        "app/__init__.py": "",
        "app/registry.py": REGISTRY,
        **files,
    }.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text.lstrip("\n"))


def _pytest(root: Path, *options: str) -> tuple[int, set[str], str]:
    """The project's own test run: exit status, the tests that failed or errored (as
    ``FAILED id``/``ERROR id``) and pytest's closing line without its timing."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "ASYNCSAN"))}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rfE", "-p", "no:cacheprovider", *options],
        cwd=root,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    lines = done.stdout.strip().splitlines()
    bad = {line.split(" - ")[0] for line in lines if line.startswith(("FAILED ", "ERROR "))}
    return done.returncode, bad, lines[-1].rpartition(" in ")[0]


def test_fix_makes_the_cleanup_run(tmp_path: Path, run_cli: RunCli) -> None:
    _project(
        tmp_path, {"tests/test_registry.py": TEST_REGISTRY, "tests/test_client.py": TEST_CLIENT}
    )
    status, bad, _ = _pytest(tmp_path)
    assert status == 1
    assert bad == {
        "ERROR tests/test_registry.py::TestRegistry::test_register",
        "ERROR tests/test_registry.py::TestRegistry::test_sync",
        "FAILED tests/test_registry.py::TestRegistry::test_sync",
        "FAILED tests/test_registry.py::test_registry_is_empty_afterwards",
        "FAILED tests/test_client.py::test_every_client_was_closed",
    }

    done = run_cli("check", "--select", "ASL504", "--fix", "--unsafe-fixes", ".", cwd=tmp_path)
    assert (done.returncode, done.stdout.splitlines()[-1]) == (
        0,
        "Found 2 problems (2 fixed, 0 remaining).",
    )
    assert (tmp_path / "tests/test_registry.py").read_text() == TEST_REGISTRY_FIXED.lstrip("\n")
    assert (tmp_path / "tests/test_client.py").read_text() == TEST_CLIENT_FIXED.lstrip("\n")

    # No coroutine is left unawaited: such a warning would now fail its test.
    assert _pytest(tmp_path, "-W", "error::RuntimeWarning") == (0, set(), "5 passed")


CUSTOM_BASE = """
import unittest

from app.registry import Client


class ClientCase(unittest.TestCase):
    def setUp(self):
        self.client = Client()


class TestClient(ClientCase):
    def tearDown(self):
        self.client.close()
"""


def test_a_refused_rewrite_is_shown_not_applied(tmp_path: Path, run_cli: RunCli) -> None:
    _project(tmp_path, {"tests/test_custom.py": CUSTOM_BASE})
    done = run_cli("check", "--select", "ASL504", "--format", "json", ".", cwd=tmp_path)
    [finding] = json.loads(done.stdout)
    assert (finding["line"], finding["column"], finding["fix"]["applicability"]) == (
        13,
        9,
        "display-only",
    )
    assert finding["fix"]["title"] == (
        "Rewrite `tearDown` as `async def asyncTearDown` on `unittest.IsolatedAsyncioTestCase`, "
        "awaiting its cleanup (not applied: `TestClient` derives from `ClientCase`, not "
        "`unittest.TestCase`)"
    )
    assert [edit["content"] for edit in finding["fix"]["edits"]] == [
        "async def asyncTearDown(self):\n        await self.client.close()"
    ]

    done = run_cli("check", "--select", "ASL504", "--fix", "--unsafe-fixes", ".", cwd=tmp_path)
    assert (done.returncode, done.stdout.splitlines()[-1]) == (1, "Found 1 problem.")
    assert (tmp_path / "tests/test_custom.py").read_text() == CUSTOM_BASE.lstrip("\n")


ONE_BUG = """
import asyncio
import unittest


class Client:
    async def aclose(self): ...


class TestClient(unittest.TestCase):
    def tearDown(self):
        Client().aclose()
        asyncio.ensure_future(Client().aclose())


def teardown_function(function):
    Client().aclose()
"""


@pytest.mark.parametrize(
    ("ignore", "expected"),
    [
        ("ASL9", [(12, "ASL504"), (13, "ASL504"), (17, "ASL103")]),
        ("ASL504", [(12, "ASL103"), (13, "ASL103"), (17, "ASL103")]),
        ("ASL103,ASL504", [(12, "ASL101"), (13, "ASL102"), (17, "ASL101")]),
    ],
)
def test_one_bug_is_one_finding_from_the_most_specific_rule_selected(
    run_cli: RunCli, tmp_path: Path, ignore: str, expected: list[tuple[int, str]]
) -> None:
    """ASL504 supersedes ASL103 (and ASL101/ASL102) on the test teardowns it owns; with
    ASL504 off, ASL103 reports them, and ASL101/ASL102 without either."""
    (tmp_path / "test_client.py").write_text(ONE_BUG)
    done = run_cli("check", "--isolated", "--format", "json", "--ignore", ignore, ".")
    assert [(d["line"], d["code"]) for d in json.loads(done.stdout)] == expected


@pytest.mark.parametrize(
    ("source", "fixed"),
    [
        pytest.param(
            """
            import unittest

            async def close(): ...

            class TestOneLine(unittest.IsolatedAsyncioTestCase):
                def tearDown(self): close(); print("closed")  # one line
            """,
            """
            import unittest

            async def close(): ...

            class TestOneLine(unittest.IsolatedAsyncioTestCase):
                async def asyncTearDown(self):
                    await close(); print("closed")  # one line
            """,
            id="one-line body",
        ),
        pytest.param(
            """
            import asyncio

            import pytest_asyncio

            async def close(which): ...

            class TestShapes:
                # the teardown
                def teardown_method(self, method) -> None:
                    '''Close both.'''

                    # first the primary
                    (close("primary"))
                    asyncio.create_task(close("a") if self.a else close("b"))
                    asyncio.create_task(
                        close("last"),
                    )
                    # trailing comment
            """,
            """
            import asyncio

            import pytest_asyncio

            async def close(which): ...

            class TestShapes:
                # the teardown
                @pytest_asyncio.fixture(autouse=True)
                async def _async_teardown(self):
                    '''Close both.'''
                    yield

                    # first the primary
                    (await close("primary"))
                    await (close("a") if self.a else close("b"))
                    await close("last")
                    # trailing comment
            """,
            id="docstring, comments, parentheses",
        ),
    ],
)
def test_rewrite_keeps_the_code_around_the_awaits(source: str, fixed: str, tmp_path: Path) -> None:
    path = str(tmp_path / "test_shapes.py")
    output, problems = apply_fixes(
        SyncTeardownSchedulesAsync, path, inspect.cleandoc(source) + "\n", {}
    )
    assert (output, problems) == (inspect.cleandoc(fixed) + "\n", [])


REFUSALS = {
    "tests/base.py": """
        import pytest_asyncio

        async def stop(): ...

        class TestBase:
            def teardown_method(self, method):
                stop()
        """,
    "tests/test_derived.py": """
        from base import TestBase

        class TestDerived(TestBase):
            pass
        """,
    "tests/test_loop.py": """
        import asyncio
        import unittest

        async def stop(): ...

        class TestLoop(unittest.TestCase):
            def setUp(self):
                self.loop = asyncio.new_event_loop()

            def tearDown(self):
                stop()
        """,
    "tests/test_anyio.py": """
        import pytest

        async def stop(): ...

        class TestAnyio:
            def teardown_method(self, method):
                stop()

            @pytest.mark.anyio
            async def test_it(self): ...
        """,
    "tests/test_plain.py": """
        async def stop(): ...

        class TestPlain:
            def teardown_method(self, method):
                stop()
        """,
    "tests/test_taken.py": """
        import pytest
        import unittest as pytest_asyncio

        async def stop(): ...

        class TestTaken:
            def teardown_method(self, method):
                stop()

            @pytest.mark.asyncio
            async def test_it(self): ...
        """,
    "tests/test_defined.py": """
        import pytest

        async def stop(): ...

        class TestDefined:
            _async_teardown = None

            def teardown_method(self, method):
                stop()

            @pytest.mark.asyncio
            async def test_it(self): ...
        """,
}


def test_refusals_say_why(tmp_path: Path) -> None:
    paths = {}
    for name, text in REFUSALS.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(inspect.cleandoc(text) + "\n")
        paths[name] = str(path)
    previous = index.active()
    index.set_active(index.build(paths.values()))
    try:
        found = {
            (name, d.line): (d.fix.applicability.value, d.fix.title.partition("not applied: ")[2])
            for name, path in paths.items()
            for d in check_source(Path(path).read_text(), path, {"ASL504"})
            if d.fix is not None
        }
    finally:
        index.set_active(previous)
    assert found == {
        ("tests/base.py", 7): (
            "display-only",
            "a subclass of `TestBase` inherits `teardown_method`)",
        ),
        ("tests/test_loop.py", 11): (
            "display-only",
            "the module runs event loops itself (`asyncio.new_event_loop(...)`))",
        ),
        ("tests/test_anyio.py", 7): (
            "display-only",
            "the tests may run under another async plugin (anyio))",
        ),
        ("tests/test_plain.py", 5): (
            "display-only",
            "nothing shows that pytest-asyncio runs this module)",
        ),
        ("tests/test_taken.py", 8): (
            "display-only",
            "`pytest_asyncio` names something else in this module)",
        ),
        ("tests/test_defined.py", 9): ("display-only", "`_async_teardown` is already defined)"),
    }
