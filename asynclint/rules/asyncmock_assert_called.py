"""ASL502 asyncmock-assert-called."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import libcst as cst

from asynclint.context import BlockKind, Context
from asynclint.diagnostic import Applicability
from asynclint.knowledge.coroutines import COROUTINE_FUNCTIONS
from asynclint.knowledge.testing import (
    ASYNC_MOCKS,
    AUTOSPEC,
    AWAITED_ATTRIBUTES,
    AWAITED_TWINS,
    MARK,
    MOCKER_FIXTURES,
    PATCH,
    PATCH_OBJECT,
    PYTEST_FIXTURES,
    SETUP_METHODS,
    SPEC_MOCKS,
    UNITTEST_ASSERTIONS,
    UNITTEST_TEST_PREFIX,
)
from asynclint.rule import Autofix, Invalid, Replace, Report, Rule, Valid
from asynclint.scope import Binding, BindingKind, Scope, ScopeKind, dotted_name, walk_small

_MAX_DEPTH = 8
_PATCHES = PATCH | PATCH_OBJECT
_NO_ARGUMENT = frozenset(["unittest.mock.patch.dict", "mock.patch.dict"])
"""Patch decorators that pass no mock to the test."""
_START = "start"
_FLIP = {">": "<", ">=": "<=", "<": ">", "<=": ">=", "==": "==", "!=": "!=", "is": "is"}
_OPERATORS: dict[type[cst.BaseCompOp], str] = {
    cst.Equal: "==",
    cst.NotEqual: "!=",
    cst.Is: "is",
    cst.IsNot: "is not",
    cst.GreaterThan: ">",
    cst.GreaterThanEqual: ">=",
    cst.LessThan: "<",
    cst.LessThanEqual: "<=",
    cst.In: "in",
    cst.NotIn: "not in",
}
_MAX_SPELLING = 40
_COUNTS = frozenset(["called", "call_count"])
_RAISES = frozenset(["raises", "assertRaises", "assertRaisesRegex"])

Assignments = dict[str, list[tuple[cst.BaseExpression, Scope]]]


class AsyncmockAssertCalled(Rule):
    """
    ## What it does
    Flags assertions about *calls* on a mock known to be async, where the test means
    *awaits*: `assert_called`, `assert_called_once`, `assert_called_with`,
    `assert_called_once_with`, `assert_any_call` and `assert_has_calls`, and `called`,
    `call_count`, `call_args` and `call_args_list` where an `assert` statement or a
    unittest assertion (`assertTrue`, `assertEqual`, `assertIn`, ...) expects them to show
    a call.

    A mock is known to be async when it is an `AsyncMock()` (`unittest.mock`, the `mock`
    backport, pytest-mock's `mocker.AsyncMock()`, asynctest's `CoroutineMock`); a
    `Mock`/`MagicMock` whose `spec` is an async function, or an attribute of one whose
    `spec` is a class, for its `async def` methods; `create_autospec` of an async
    function; or what `patch`, `patch.object` and `mocker.patch` create for an async
    target (`new_callable=AsyncMock`, or a target that is an `async def` of the project or
    the standard library, found through the project index), as a decorator's mock
    argument, a `with ... as` target or `patch(...).start()`. Mocks are followed through
    local names and `self.` attributes assigned anywhere in the class; anything else is
    unknown and never flagged.

    Negative checks (`assert_not_called`, `call_count == 0`, `not m.called`, a count
    compared with a variable that may be 0) and assertions expected to fail (inside
    `pytest.raises`/`assertRaises`) are left alone: for them the call is the stricter test.

    ## Why is this bad?
    Calling an async mock records the call at once and returns a coroutine. If the code
    under test forgets the `await`, the coroutine is never run but the call assertions
    still pass: the test cannot see the very bug that matters most in async code. The
    `awaited` assertions fail unless the coroutine was actually awaited.

    ## Example
    ```python
    @patch("app.client.fetch", new_callable=AsyncMock)
    async def test_refresh(fetch):
        await refresh()
        fetch.assert_called_once_with("/items")
    ```

    ## Use instead
    ```python
    @patch("app.client.fetch", new_callable=AsyncMock)
    async def test_refresh(fetch):
        await refresh()
        fetch.assert_awaited_once_with("/items")
    ```

    ## Fix safety
    The fix renames the assertion to its `awaited` twin (`assert_awaited_once_with`,
    `await_count`, `await_args`, ...). It is unsafe: a test whose code under test calls
    the mock without awaiting it, or awaits it only later, starts failing, which is the
    point, but needs a human to look.

    ## Options
    None.
    """

    code = "ASL502"
    name = "asyncmock-assert-called"
    spelled = frozenset([*AWAITED_TWINS, *AWAITED_ATTRIBUTES])
    message = (
        "`{spelling}` checks calls, not awaits: it passes even if nothing awaited the "
        "async mock `{mock}`; use `{twin}`"
    )
    fix_title = "Assert on awaits (`assert_awaited*`, `await_count`, `await_args`)"
    fix_applicability = Applicability.UNSAFE

    examples = (
        Invalid(
            """
            from unittest.mock import AsyncMock, call

            async def test_direct():
                client = AsyncMock()
                await client("/a")
                client.assert_called_once_with("/a")  # error: ASL502@5
                client.assert_called()  # error: ASL502@5
                client.assert_has_calls([call("/a")])  # error: ASL502@5
                assert client.called  # error: ASL502@12
                assert client.call_count == 1  # error: ASL502@12
                assert client.call_args == call("/a")  # error: ASL502@12
                assert len(client.call_args_list) == 1  # error: ASL502@16
                assert client.call_args.args[0] == "/a"  # error: ASL502@12
                client.assert_not_called
            """,
            fixed="""
            from unittest.mock import AsyncMock, call

            async def test_direct():
                client = AsyncMock()
                await client("/a")
                client.assert_awaited_once_with("/a")
                client.assert_awaited()
                client.assert_has_awaits([call("/a")])
                assert client.awaited
                assert client.await_count == 1
                assert client.await_args == call("/a")
                assert len(client.await_args_list) == 1
                assert client.await_args.args[0] == "/a"
                client.assert_not_called
            """,
        ),
        Invalid(
            """
            import asyncio
            import unittest
            from unittest.mock import AsyncMock, call, patch

            class TestWorker(unittest.IsolatedAsyncioTestCase):
                def setUp(self):
                    self.store = AsyncMock()
                    self.worker = object()

                @patch("asyncio.sleep")
                @patch("app.notify", new_callable=AsyncMock)
                async def test_run(self, notify, sleep):
                    await run(self.worker)
                    self.store.assert_called_once()  # error: ASL502@9
                    notify.assert_called_once_with("done")  # error: ASL502@9
                    sleep.assert_called()  # error: ASL502@9
                    self.assertEqual(self.store.call_count, 1)  # error: ASL502@26
                    self.assertTrue(notify.called)  # error: ASL502@25
                    self.assertIn(call("done"), notify.call_args_list)  # error: ASL502@37

                async def test_with(self):
                    with patch.object(asyncio, "sleep") as sleep:
                        await run(self.worker)
                    sleep.assert_called_once_with(1)  # error: ASL502@9
                    with patch("app.fetch", new=AsyncMock(return_value=1)) as fetch:
                        await run(self.worker)
                    fetch.assert_any_call("/x")  # error: ASL502@9

            async def run(worker): ...
            """,
            fixed="""
            import asyncio
            import unittest
            from unittest.mock import AsyncMock, call, patch

            class TestWorker(unittest.IsolatedAsyncioTestCase):
                def setUp(self):
                    self.store = AsyncMock()
                    self.worker = object()

                @patch("asyncio.sleep")
                @patch("app.notify", new_callable=AsyncMock)
                async def test_run(self, notify, sleep):
                    await run(self.worker)
                    self.store.assert_awaited_once()
                    notify.assert_awaited_once_with("done")
                    sleep.assert_awaited()
                    self.assertEqual(self.store.await_count, 1)
                    self.assertTrue(notify.awaited)
                    self.assertIn(call("done"), notify.await_args_list)

                async def test_with(self):
                    with patch.object(asyncio, "sleep") as sleep:
                        await run(self.worker)
                    sleep.assert_awaited_once_with(1)
                    with patch("app.fetch", new=AsyncMock(return_value=1)) as fetch:
                        await run(self.worker)
                    fetch.assert_any_await("/x")

            async def run(worker): ...
            """,
        ),
        Invalid(
            {
                "app/__init__.py": "",
                "app/client.py": """
                    class Client:
                        async def fetch(self, url): ...

                        def close(self): ...

                    async def download(url): ...
                    """,
                "tests/__init__.py": "",
                "tests/test_client.py": """
                    from unittest import mock

                    from app import client
                    from app.client import Client, download

                    @mock.patch("app.client.download")
                    def test_patched(download_mock):
                        download_mock.assert_called_once_with("/x")  # error: ASL502@5

                    @mock.patch.object(Client, "fetch")
                    def test_method(fetch):
                        fetch.assert_called()  # error: ASL502@5

                    def test_spec():
                        spec = mock.MagicMock(spec=Client)
                        spec.fetch.assert_called_once()  # error: ASL502@5
                        spec.close.assert_called_once()
                        auto = mock.create_autospec(Client)
                        auto.fetch.assert_any_call("/y")  # error: ASL502@5
                        func = mock.Mock(download)
                        assert func.call_count >= 1  # error: ASL502@12

                    def test_mocker(mocker):
                        patched = mocker.patch("app.client.download")
                        patched.assert_called_once()  # error: ASL502@5
                        other = mocker.patch.object(client, "download")
                        assert 2 == other.call_count  # error: ASL502@17
                        made = mocker.AsyncMock()
                        assert made.called is True  # error: ASL502@12

                    def test_start():
                        patcher = mock.patch("app.client.Client.fetch")
                        fetch = patcher.start()
                        fetch.assert_called()  # error: ASL502@5
                        patcher.stop()
                    """,
                "tests/test_fixture_only.py": """
                    def test_no_import(mocker):
                        patched = mocker.patch("app.client.download")
                        patched.assert_called_once()  # error: ASL502@5
                        made = mocker.AsyncMock()
                        made.assert_called()  # error: ASL502@5
                    """,
            }
        ),
        Invalid(
            """
            import pytest
            from unittest.mock import AsyncMock, MagicMock

            class Service:
                def __init__(self, api):
                    self.api = api

            class TestService:
                def setup_method(self):
                    self.api = MagicMock()
                    self.api.get = AsyncMock(return_value=1)
                    self.service = Service(self.api)

                @pytest.mark.asyncio
                async def test_get(self):
                    await self.service.api.get()
                    self.api.get.assert_called_once_with()  # error: ASL502@9
                    self.api.assert_called()
                    get = self.api.get
                    get.assert_called()  # error: ASL502@9

            class TestFixture:
                @pytest.fixture(autouse=True)
                def mocks(self):
                    self.sender = AsyncMock()

                def test_send(self):
                    assert self.sender.call_args_list  # error: ASL502@16
            """
        ),
        Valid(
            """
            from unittest.mock import AsyncMock, MagicMock, Mock, call

            import pytest

            async def test_not_async_or_negative():
                sync = MagicMock()
                sync.assert_called_once()
                assert Mock().call_count == 1
                client = AsyncMock()
                client.fetch.assert_called_once()
                client.assert_not_called()
                assert client.call_count == 0
                assert not client.called
                assert client.called is False
                assert client.call_args is None
                assert client.call_args_list == []
                assert client.call_count < 2
                expected = 0
                assert client.call_count == expected
                assert call("/a") not in client.call_args_list
                client.assert_awaited_once()
                assert client.await_count == 1

            def test_expected_failures():
                client = AsyncMock()
                with pytest.raises(AssertionError):
                    client.assert_called_once()

            def test_reads_outside_assertions():
                client = AsyncMock()
                args = client.call_args
                print(client.call_count)
                return args

            def test_ambiguous(flag):
                mocked = AsyncMock() if flag else MagicMock()
                mocked.assert_called_once()
                other = AsyncMock()
                other = MagicMock()
                other.assert_called_once()
            """
        ),
        Valid(
            """
            import unittest
            from unittest.mock import AsyncMock, patch

            from factories import make_mock

            class TestCase(unittest.TestCase):
                def setUp(self):
                    self.checker = AsyncMock()
                    self.checker = make_mock()

                def test_unknown(self):
                    self.checker.assert_called_once()
                    made = make_mock()
                    made.assert_called_once()

                @patch("os.getcwd")
                def test_sync_target(self, getcwd):
                    getcwd.assert_called_once()

                @patch("app.fetch", new_callable=unittest.mock.MagicMock)
                @patch("app.send", new=AsyncMock())
                def test_not_async(self, fetch):
                    fetch.assert_called_once()

                def test_assigns(self):
                    self.client = AsyncMock()

                def test_other_tests_assignment(self):
                    self.client.assert_called_once()

                def test_assertions(self):
                    mocked = AsyncMock()
                    self.assertFalse(mocked.called)
                    self.assertEqual(mocked.call_count, 0)
                    self.assertIsNone(mocked.call_args)
                    self.assertNotIn(1, mocked.call_args_list)
            """
        ),
        Valid(
            {
                "app/__init__.py": "",
                "app/client.py": """
                    import functools

                    class Client:
                        def close(self): ...

                    def cached(func):
                        return functools.lru_cache(func)

                    @cached
                    async def opaque(url): ...

                    def sync_download(url): ...
                    """,
                "tests/__init__.py": "",
                "tests/test_sync.py": """
                    from unittest import mock

                    from app.client import Client, opaque

                    @mock.patch("app.client.sync_download")
                    def test_sync(download):
                        download.assert_called_once_with("/x")

                    @mock.patch("app.client.opaque")
                    @mock.patch.object(Client, "close")
                    def test_opaque_and_sync_method(close, patched):
                        close.assert_called_once()
                        patched.assert_called_once()

                    def test_spec_of_opaque(mocker, client):
                        spec = mock.MagicMock(spec=opaque)
                        spec.assert_called_once()
                        client.assert_called_once()
                        unknown = mocker.patch("app.client.missing")
                        unknown.assert_called_once()
                    """,
            }
        ),
    )

    def __init__(
        self, context: Context, settings: Mapping[str, Any], reports: list[Report]
    ) -> None:
        super().__init__(context, settings, reports)
        self._class_assignments: dict[int, Assignments] = {}
        self._function_assignments: dict[int, Assignments] = {}

    # -- assertions ----------------------------------------------------------------------------

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if not isinstance(func, cst.Attribute):
            return
        method = func.attr.value
        if method in AWAITED_TWINS:
            self._check(func, AWAITED_TWINS[method], f"{method}()")
        elif method in UNITTEST_ASSERTIONS and node.args:
            operator = UNITTEST_ASSERTIONS[method]
            first = node.args[0].value
            if operator is None:
                reads: Iterator[cst.Attribute] = _expected(first)
            elif len(node.args) >= 2:
                reads = _compared(first, operator, node.args[1].value)
            else:
                return
            for read in reads:
                self._check_read(read)

    def visit_Assert(self, node: cst.Assert) -> None:
        for read in _expected(node.test):
            self._check_read(read)

    def _check_read(self, read: cst.Attribute) -> None:
        self._check(read, AWAITED_ATTRIBUTES[read.attr.value], read.attr.value)

    def _check(self, node: cst.Attribute, twin: str, spelling: str) -> None:
        receiver = node.value
        if self._expects_failure() or not self.is_async_mock(receiver, self.context.scope):
            return
        mock = _shorten(self.context.code(receiver))
        self.report(
            node,
            spelling=f"{mock}.{spelling}",
            mock=mock,
            twin=twin,
            fix=Autofix(Replace(node.attr, twin), title=f"Use `{twin}`"),
        )

    def _expects_failure(self) -> bool:
        """Inside ``with pytest.raises(...)``/``self.assertRaises(...)`` the assertion is
        meant to fail: there the call is the stricter test."""
        for block in self.context.blocks:
            if block.kind is BlockKind.WITH:
                assert isinstance(block.node, cst.With)
                for item in block.node.items:
                    call = item.item
                    if isinstance(call, cst.Call) and _callee_name(call.func) in _RAISES:
                        return True
        return False

    # -- which mocks are async ---------------------------------------------------------------

    def is_async_mock(self, expr: cst.BaseExpression, scope: Scope, depth: int = 0) -> bool:
        """Whether `expr` evaluates to a mock that records awaits, by local evidence."""
        if depth > _MAX_DEPTH:
            return False
        if isinstance(expr, cst.Name):
            bindings = scope.lookup(expr.value)
            return bool(bindings) and all(self._binding_async(b, depth) for b in bindings or ())
        if not isinstance(expr, cst.Attribute):
            return False
        assigned = self._assigned(expr, scope)
        if assigned:
            return all(self._value_async(value, where, depth + 1) for value, where in assigned)
        spec = self._spec_class(expr.value, scope, depth + 1)
        if spec is None:
            return False
        fact = self.context.resolver.index.method(spec, expr.attr.value)
        return fact is not None and fact.is_async and not fact.opaque

    def _binding_async(self, binding: Binding, depth: int) -> bool:
        if binding.kind is BindingKind.ASSIGN and binding.value is not None:
            return self._value_async(binding.value, binding.scope, depth + 1)
        if binding.kind is BindingKind.WITH and isinstance(binding.value, cst.Call):
            return self._patcher_async(binding.value, binding.scope, depth + 1) is True
        if binding.kind is BindingKind.PARAM:
            patcher = self._patcher_of(binding)
            return patcher is not None and self._patcher_async(*patcher, depth + 1) is True
        return False

    def _value_async(self, value: cst.BaseExpression, scope: Scope, depth: int) -> bool:
        if not isinstance(value, cst.Call):
            return self.is_async_mock(value, scope, depth + 1)
        func = value.func
        if isinstance(func, cst.Attribute) and func.attr.value == _START:
            patcher = _through_name(func.value, scope)
            return patcher is not None and self._patcher_async(*patcher, depth + 1) is True
        callee = self._mock_qualname(func, scope)
        if callee in ASYNC_MOCKS:
            return True
        if callee in SPEC_MOCKS or callee in AUTOSPEC:
            spec = _spec_argument(value)
            return spec is not None and self._callable_async(spec, scope)
        if self._from_mocker(func, scope):
            return self._patcher_async(value, scope, depth) is True
        return False

    def _patcher_async(self, call: cst.Call, scope: Scope, depth: int) -> bool | None:
        """Whether the mock a ``patch(...)``/``patch.object(...)`` call creates is async;
        None when `call` is not such a call."""
        callee = self._mock_qualname(call.func, scope)
        if callee not in _PATCHES:
            return None
        keywords = {arg.keyword.value: arg.value for arg in call.args if arg.keyword}
        if "new_callable" in keywords:
            return self._mock_qualname(keywords["new_callable"], scope) in ASYNC_MOCKS
        if "new" in keywords:
            return self._value_async(keywords["new"], scope, depth + 1)
        positional = [arg.value for arg in call.args if arg.keyword is None]
        if callee in PATCH:
            target = _string(positional[0]) if positional else None
            return target is not None and self._qualname_async(target)
        if len(positional) < 2:
            return False
        attribute = _string(positional[1])
        return attribute is not None and self._attribute_async(positional[0], attribute, scope)

    def _patcher_of(self, param: Binding) -> tuple[cst.Call, Scope] | None:
        """The ``@patch(...)`` decorator whose mock the test receives as `param`: patch
        decorators pass their mocks, bottom decorator first, as the first positional
        arguments after ``self``; class decorators' follow, for ``test*`` methods."""
        function = param.scope.function_node()
        defining = param.scope.parent
        if function is None or defining is None:
            return None
        positional = [
            p.name.value for p in (*function.params.posonly_params, *function.params.params)
        ]
        if param.name not in positional:
            return None
        position = positional.index(param.name)
        decorators = list(reversed(function.decorators))
        if defining.kind is ScopeKind.CLASS:
            position -= 1
            cls = defining.node
            assert isinstance(cls, cst.ClassDef)
            if function.name.value.startswith(UNITTEST_TEST_PREFIX):
                decorators += reversed(cls.decorators)
            defining = defining.parent or defining
        patchers = []
        for decorator in decorators:
            target = decorator.decorator
            call = target if isinstance(target, cst.Call) else None
            qualname = self._mock_qualname(call.func if call else target, defining)
            if qualname in _PATCHES and call is not None:
                if not any(arg.keyword and arg.keyword.value == "new" for arg in call.args):
                    patchers.append(call)
            elif qualname not in _NO_ARGUMENT and not (qualname or "").startswith(MARK + "."):
                return None
        if not 0 <= position < len(patchers):
            return None
        return patchers[position], defining

    def _mock_qualname(self, func: cst.BaseExpression, scope: Scope) -> str | None:
        """``unittest.mock.patch`` for ``patch``/``mock.patch``, and pytest-mock's
        ``mocker.patch``/``mocker.AsyncMock`` read as their ``unittest.mock`` originals."""
        qualname = self.context.resolver.qualname(func, scope)
        if qualname is not None:
            return qualname
        dotted = dotted_name(func)
        if dotted is None or not self._from_mocker(func, scope):
            return None
        root, _, rest = dotted.partition(".")
        return f"{MOCKER_FIXTURES[root]}.{rest}"

    def _from_mocker(self, func: cst.BaseExpression, scope: Scope) -> bool:
        """Whether `func` is an attribute of pytest-mock's ``mocker`` fixture (a parameter)."""
        root = func
        while isinstance(root, cst.Attribute):
            root = root.value
        if not isinstance(root, cst.Name) or root.value not in MOCKER_FIXTURES or root is func:
            return False
        bindings = scope.lookup(root.value)
        return bool(bindings) and all(b.kind is BindingKind.PARAM for b in bindings or ())

    def _spec_class(self, expr: cst.BaseExpression, scope: Scope, depth: int) -> str | None:
        """The project class a mock is specced on (``MagicMock(spec=Cls)``,
        ``create_autospec(Cls)``), through a local name."""
        if depth > _MAX_DEPTH or not isinstance(expr, cst.Name):
            return None
        bindings = scope.lookup(expr.value)
        if not bindings or len(bindings) != 1 or bindings[0].kind is not BindingKind.ASSIGN:
            return None
        value = bindings[0].value
        if not isinstance(value, cst.Call):
            return None
        callee = self._mock_qualname(value.func, bindings[0].scope)
        if callee not in SPEC_MOCKS and callee not in AUTOSPEC:
            return None
        spec = _spec_argument(value)
        qualname = None if spec is None else self.context.resolver.qualname(spec, scope)
        found = None if qualname is None else self.context.resolver.index.class_fact(qualname)
        return None if found is None else found[0]

    def _callable_async(self, expr: cst.BaseExpression, scope: Scope) -> bool:
        """Whether `expr` names an ``async def`` (a function or a method)."""
        qualname = self.context.resolver.qualname(expr, scope)
        if qualname is not None and self._qualname_async(qualname):
            return True
        return isinstance(expr, cst.Attribute) and self._attribute_async(
            expr.value, expr.attr.value, scope
        )

    def _attribute_async(self, owner: cst.BaseExpression, name: str, scope: Scope) -> bool:
        """Whether ``owner.name`` is an ``async def``: `owner` a module, a class or an
        instance of a known class."""
        qualname = self.context.resolver.qualname(owner, scope)
        if qualname is not None and self._qualname_async(f"{qualname}.{name}"):
            return True
        instance_of = self.context.resolver.infer(owner, scope)
        if instance_of is None:
            return False
        fact = self.context.resolver.index.method(instance_of, name)
        return fact is not None and fact.is_async and not fact.opaque

    def _qualname_async(self, qualname: str) -> bool:
        if qualname in COROUTINE_FUNCTIONS:
            return True
        fact = self.context.resolver.index.function(qualname)
        return fact is not None and fact.is_async and not fact.opaque

    # -- attribute assignments ------------------------------------------------------------------

    def _assigned(
        self, expr: cst.Attribute, scope: Scope
    ) -> list[tuple[cst.BaseExpression, Scope]]:
        """Values assigned to the attribute chain `expr` (``self.client.get``) in the
        enclosing function, or else, for ``self.`` chains, in any method of the class."""
        dotted = dotted_name(expr)
        function_scope = _function_scope(scope)
        if dotted is None or function_scope is None:
            return []
        local = self._assignments_in(function_scope).get(dotted)
        if local:
            return local
        root, _, rest = dotted.partition(".")
        class_scope = self.context.resolver.class_of_self(root, scope)
        if class_scope is None:
            return []
        return self._assignments_of_class(class_scope).get(rest, [])

    def _assignments_in(self, function_scope: Scope) -> Assignments:
        key = id(function_scope.node)
        if key not in self._function_assignments:
            node = function_scope.function_node()
            found: Assignments = {}
            if node is not None:
                for target, value in _attribute_assignments(node.body):
                    found.setdefault(target, []).append((value, function_scope))
            self._function_assignments[key] = found
        return self._function_assignments[key]

    def _assignments_of_class(self, class_scope: Scope) -> Assignments:
        """``self.<chain> = value`` in the setup methods and fixtures of the class (what
        every test sees), keyed by the chain after ``self.``."""
        key = id(class_scope.node)
        if key not in self._class_assignments:
            found: Assignments = {}
            cls = class_scope.node
            assert isinstance(cls, cst.ClassDef)
            for method in _methods(cls):
                if not self._sets_up(method, class_scope):
                    continue
                positional = [*method.params.posonly_params, *method.params.params]
                if not positional:
                    continue
                receiver = positional[0].name.value
                method_scope = Scope.build(ScopeKind.FUNCTION, method, class_scope)
                for target, value in _attribute_assignments(method.body):
                    root, _, rest = target.partition(".")
                    if root == receiver:
                        found.setdefault(rest, []).append((value, method_scope))
            self._class_assignments[key] = found
        return self._class_assignments[key]

    def _sets_up(self, method: cst.FunctionDef, class_scope: Scope) -> bool:
        if method.name.value in SETUP_METHODS:
            return True
        for decorator in method.decorators:
            target = decorator.decorator
            target = target.func if isinstance(target, cst.Call) else target
            if self.context.resolver.qualname(target, class_scope) in PYTEST_FIXTURES:
                return True
        return False


# -- reading assertions ---------------------------------------------------------------------------


def _expected(expr: cst.BaseExpression) -> Iterator[cst.Attribute]:
    """Call records that `expr`, asserted true, expects to show a call."""
    if isinstance(expr, cst.BooleanOperation) and isinstance(expr.operator, cst.And):
        yield from _expected(expr.left)
        yield from _expected(expr.right)
    elif isinstance(expr, cst.Comparison):
        left = expr.left
        for target in expr.comparisons:
            yield from _compared(left, _OPERATORS[type(target.operator)], target.comparator)
            left = target.comparator
    else:
        read = _record(expr)
        if read is not None:
            yield read


def _compared(
    left: cst.BaseExpression, operator: str, right: cst.BaseExpression
) -> Iterator[cst.Attribute]:
    """Call records in ``left <operator> right`` that the comparison expects to show a call."""
    read = _record(left)
    if read is None:
        read = _record(right)
        if read is None:
            return
        if operator in ("in", "not in"):
            if operator == "in":
                yield read
            return
        operator, right = _FLIP.get(operator, operator), left
    nothing = _is_nothing(right)
    if operator in ("==", "is", "in"):
        # A count compared with a variable may be compared with 0 (a parametrized test).
        expects = not nothing and (_is_literal(right) or read.attr.value not in _COUNTS)
    elif operator in ("!=", "is not"):
        expects = nothing
    else:
        expects = operator in (">", ">=")
    if expects:
        yield read


def _record(expr: cst.BaseExpression) -> cst.Attribute | None:
    """The call record (``m.call_args``) `expr` reads: itself, an item or attribute of it,
    or its ``len()``."""
    while True:
        if isinstance(expr, cst.Attribute) and expr.attr.value in AWAITED_ATTRIBUTES:
            return expr
        if isinstance(expr, (cst.Subscript, cst.Attribute)):
            expr = expr.value
        elif (
            isinstance(expr, cst.Call)
            and isinstance(expr.func, cst.Name)
            and expr.func.value == "len"
            and len(expr.args) == 1
        ):
            expr = expr.args[0].value
        else:
            return None


def _is_literal(expr: cst.BaseExpression) -> bool:
    return isinstance(expr, (cst.Integer, cst.SimpleString)) or (
        isinstance(expr, cst.Name) and expr.value in ("True", "False", "None")
    )


def _is_nothing(expr: cst.BaseExpression) -> bool:
    """0, None, False or an empty literal: comparing a call record with it expects no call."""
    if isinstance(expr, cst.Integer):
        return expr.evaluated_value == 0
    if isinstance(expr, cst.Name):
        return expr.value in ("None", "False")
    if isinstance(expr, (cst.List, cst.Tuple, cst.Dict, cst.Set)):
        return not expr.elements
    return isinstance(expr, cst.SimpleString) and not expr.evaluated_value


# -- small helpers ----------------------------------------------------------------------------------


def _through_name(expr: cst.BaseExpression, scope: Scope) -> tuple[cst.Call, Scope] | None:
    """A call, or the call a local name is bound to once (``patcher = patch(...)``)."""
    if isinstance(expr, cst.Call):
        return expr, scope
    if not isinstance(expr, cst.Name):
        return None
    bindings = scope.lookup(expr.value)
    if not bindings or len(bindings) != 1 or bindings[0].kind is not BindingKind.ASSIGN:
        return None
    value = bindings[0].value
    return (value, bindings[0].scope) if isinstance(value, cst.Call) else None


def _spec_argument(call: cst.Call) -> cst.BaseExpression | None:
    """The ``spec``/``spec_set`` of a mock constructor: a keyword, or the first positional
    argument (for ``Mock`` and ``create_autospec`` alike)."""
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value in ("spec", "spec_set"):
            return arg.value
    positional = [arg.value for arg in call.args if arg.keyword is None and not arg.star]
    return positional[0] if positional else None


def _callee_name(func: cst.BaseExpression) -> str | None:
    if isinstance(func, cst.Attribute):
        return func.attr.value
    return func.value if isinstance(func, cst.Name) else None


def _string(expr: cst.BaseExpression) -> str | None:
    if isinstance(expr, cst.SimpleString):
        value = expr.evaluated_value
        return value if isinstance(value, str) else None
    return None


def _function_scope(scope: Scope) -> Scope | None:
    current: Scope | None = scope
    while current is not None and current.kind is not ScopeKind.FUNCTION:
        if current.kind in (ScopeKind.CLASS, ScopeKind.MODULE):
            return None
        current = current.parent
    return current


def _methods(cls: cst.ClassDef) -> Iterator[cst.FunctionDef]:
    if isinstance(cls.body, cst.IndentedBlock):
        for statement in cls.body.body:
            if isinstance(statement, cst.FunctionDef):
                yield statement


def _attribute_assignments(body: cst.BaseSuite) -> Iterator[tuple[str, cst.BaseExpression]]:
    """``a.b.c = value`` statements of a function body (nested functions aside)."""
    for small in walk_small(body):
        targets: Sequence[cst.BaseExpression] = ()
        value: cst.BaseExpression | None = None
        if isinstance(small, cst.Assign):
            targets, value = [t.target for t in small.targets], small.value
        elif isinstance(small, cst.AnnAssign) and small.value is not None:
            targets, value = [small.target], small.value
        for target in targets:
            dotted = dotted_name(target) if isinstance(target, cst.Attribute) else None
            if dotted is not None and value is not None:
                yield dotted, value


def _shorten(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX_SPELLING else "…" + text[-_MAX_SPELLING:]
