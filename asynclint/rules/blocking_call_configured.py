"""ASL306 blocking-call-configured."""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import libcst as cst

from asynclint.context import Context
from asynclint.rule import Invalid, Option, Report, Rule, Valid
from asynclint.rules._blocking import Evidence, TypeTables, finder
from asynclint.rules.unawaited_coroutine import callee_spelling

_DEFAULT_INSTEAD = "`await asyncio.to_thread(...)`"


@dataclass(frozen=True)
class _StringTable(Option):
    """An option whose value is a table of strings (the base class checks lists only)."""

    def check(self, value: object) -> str | None:
        if isinstance(value, dict) and all(
            isinstance(key, str) and isinstance(item, str) for key, item in value.items()
        ):
            return None
        return "expected a table of strings"


def _class_name(qualname: str) -> str | None:
    """A called name is taken for a class, whose instances it types, when it is
    capitalised (`pkg.Client`), so `client = pkg.connect()` says nothing about `client`."""
    return qualname if qualname.rpartition(".")[2][:1].isupper() else None


_TYPES = TypeTables(classes=_class_name)


class BlockingCallConfigured(Rule):
    """
    ## What it does
    Flags calls inside an `async def` that match the glob patterns configured in
    `blocking-calls`. Use it for the sync functions and methods of your own code base or
    of the libraries you use that the built-in rules (ASL301 to ASL305) do not know.

    A function matches by the name it is imported from (`from pkg.mod import func as f`
    then `f()` is `pkg.mod.func`). A method matches as `Class.method`, with the class's
    qualified name, when the object's class is known from local evidence: created in the
    function or assigned to `self.x` in the class (`client = pkg.Client()`), or annotated
    (`client: pkg.Client`). So `pkg.Client.*` matches every method of `pkg.Client`
    instances. Awaited calls never match: the pattern may cover async methods too.

    ## Why is this bad?
    Any call that does I/O or waits synchronously holds the event loop thread for as long
    as it runs, stalling every other task. The built-in rules cover the standard library
    and the best-known libraries; this rule lets you declare the rest once, with the
    replacement your team should use.

    ## Example
    ```toml
    [tool.asynclint.rules.blocking-call-configured]
    blocking-calls = ["legacy.db.query", "legacy.api.Client.*"]
    hints = { "legacy.db.*" = "`await legacy.aio.query(...)`" }
    ```
    ```python
    async def handler(request):
        rows = legacy.db.query("select 1")
    ```

    ## Use instead
    ```python
    async def handler(request):
        rows = await legacy.aio.query("select 1")
    ```

    ## Fix safety
    There is no automatic fix.

    ## Options
    - `blocking-calls`: glob patterns (`fnmatch` syntax: `*`, `?`, `[...]`) matched against
      the qualified name of each call, `pkg.mod.func` or `pkg.mod.Class.method`.
    - `hints`: a table from glob pattern to the replacement the message suggests, in
      Markdown (see the example above); the first pattern that matches the call's name
      wins. Without one, the message suggests `await asyncio.to_thread(...)`.
    """

    code = "ASL306"
    name = "blocking-call-configured"
    message = "`{call}` is configured as blocking (`{pattern}`); use {instead}"
    async_only = True
    options = (
        Option("blocking-calls", [], "Glob patterns of qualified names that block."),
        _StringTable("hints", {}, "Pattern → the replacement the message suggests."),
    )

    examples = (
        Invalid(
            """
            import legacy.db
            import legacy.db as ldb
            from legacy.api import Client
            from legacy.db import query as q
            from legacy.fs import slow_read, slow_write

            class Service:
                def __init__(self):
                    self._client = Client()

                async def handle(self, request, client: Client):
                    legacy.db.query("select 1")  # error: ASL306@9
                    ldb.query("select 2")  # error: ASL306@9
                    rows = q("select 3")  # error: ASL306@16
                    slow_read("a")  # error: ASL306@9
                    slow_write("b")  # error: ASL306@9
                    self._client.fetch(request)  # error: ASL306@9
                    client.post(request)  # error: ASL306@9
                    other = Client()
                    return other.get(rows)  # error: ASL306@16
            """,
            options={
                "blocking-calls": ["legacy.db.query", "legacy.fs.slow_*", "legacy.api.Client.*"],
                "hints": {"legacy.db.*": "`await legacy.aio.query(...)`"},
            },
        ),
        Invalid(
            """
            import vendor

            async def main():
                vendor.sync_call()  # error: ASL306@5
                vendor.sub.other_call()  # error: ASL306@5
            """,
            options={"blocking-calls": ["vendor.*_call"]},
        ),
        Valid(
            """
            import asyncio
            import legacy.db
            from legacy.api import Client, connect

            async def handle(client, factory: Client):
                await legacy.db.query("select 1")
                await asyncio.to_thread(legacy.db.query, "select 1")
                client.fetch()
                connect().fetch()
                await factory.fetch()
                legacy.db.query_async_wrapper()
                legacy.db.Query().run()

                def in_thread():
                    return legacy.db.query("select 1")

                return in_thread

            def sync_handler():
                legacy.db.query("select 1")
            """,
            options={"blocking-calls": ["legacy.db.query", "legacy.api.Client.*"]},
        ),
        Valid(
            """
            import legacy.db

            async def handle():
                legacy.db.query("select 1")
            """
        ),
    )

    def __init__(self, context: Context, settings: Mapping[str, Any], reports: list[Report]):
        super().__init__(context, settings, reports)
        self._patterns: list[str] = list(self.settings["blocking-calls"])
        self._hints: dict[str, str] = dict(self.settings["hints"])
        self._evidence = Evidence(context, _TYPES)

    def visit_Await(self, node: cst.Await) -> None:
        finder(self.context).awaited.add(id(node.expression))

    def visit_Call(self, node: cst.Call) -> None:
        if not (self._patterns and self.context.in_async_def):
            return
        if id(node) in finder(self.context).awaited:
            return
        name = self._name(node.func)
        pattern = name and next((p for p in self._patterns if fnmatch.fnmatchcase(name, p)), None)
        if not (name and pattern):
            return
        hint = next((h for p, h in self._hints.items() if fnmatch.fnmatchcase(name, p)), None)
        spelling = f"{callee_spelling(self.context, node.func)}({'...' if node.args else ''})"
        self.report(node, call=spelling, pattern=pattern, instead=hint or _DEFAULT_INSTEAD)

    def _name(self, func: cst.BaseExpression) -> str | None:
        """`pkg.mod.func` for a function, `pkg.mod.Class.method` for a method of a known
        instance."""
        qualname = self.context.qualname(func)
        if qualname is not None or not isinstance(func, cst.Attribute):
            return qualname
        owner = self._evidence.infer(func.value, self.context.scope)
        return None if owner is None else f"{owner}.{func.attr.value}"
