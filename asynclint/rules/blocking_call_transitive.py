"""ASL307 blocking-call-transitive."""

from __future__ import annotations

import os

import libcst as cst

from asynclint import callgraph
from asynclint.callgraph import Chain
from asynclint.rule import Invalid, Rule, Valid
from asynclint.rules.unawaited_coroutine import callee_spelling


class BlockingCallTransitive(Rule):
    """
    ## What it does
    Flags a call, inside an `async def`, to a sync function of the project that makes a
    blocking call itself or through other sync functions of the project, at any depth: a
    `load_config()` that calls `read_file()` that calls `open()`. The message shows the
    chain and where the blocking call is.

    Callees are resolved through the project index: functions by name and through imports
    (also across modules and packages), and methods called on `self`. Followed inside each
    sync function are its own calls (not those of nested functions or lambdas, which run
    elsewhere); a function handed to `asyncio.to_thread` or `loop.run_in_executor` is
    passed, not called, so it breaks the chain. A blocking call is a module-level API of
    the shared blocking table (ASL301 to ASL305: `time.sleep`, `requests.get`, `open`,
    `subprocess.run`, …) that blocks whatever its arguments. Installed packages are not
    followed, nor functions behind unknown decorators, receivers of unknown type and
    cycles.

    ## Why is this bad?
    A blocking call stalls the event loop thread, and with it every other task, whether
    it is written in the `async def` or three sync helpers away. The direct rules only see
    the first case; the helper that opens a file or sleeps "just a little" is how most of
    these stalls reach production.

    ## Example
    ```python
    def read_settings(path):
        with open(path) as file:
            return file.read()

    def load_config():
        return parse(read_settings("app.toml"))

    async def handle(request):
        config = load_config()
    ```

    ## Use instead
    ```python
    async def handle(request):
        config = await asyncio.to_thread(load_config)
    ```

    ## Fix safety
    There is no automatic fix: running the helper in a thread changes which thread touches
    its state.

    ## Options
    None.
    """

    code = "ASL307"
    name = "blocking-call-transitive"
    message = (
        "`{call}(...)` blocks the event loop: {chain} at {where}; run it with "
        "`await asyncio.to_thread(...)` or make the chain async"
    )
    fix_title = "Run the sync function with `await asyncio.to_thread(...)`"
    async_only = True

    examples = (
        Invalid(
            """
            import time
            import subprocess
            from time import sleep as nap

            def read_settings(path):
                with open(path) as file:
                    return file.read()

            def load_config():
                return read_settings("app.toml")

            def pause():
                nap(1)

            def deploy():
                subprocess.run(["make"])

            def first():
                return second()

            def second():
                return first() or time.sleep(1)

            class Worker:
                def flush(self):
                    self._write()

                def _write(self):
                    time.sleep(0.1)

                async def run(self):
                    self.flush()  # error: ASL307@9

            async def handle(request):
                config = load_config()  # error: ASL307@14
                pause()  # error: ASL307@5
                result = [deploy() for _ in range(2)]  # error: ASL307@15
                first()  # error: ASL307@5
                return lambda: pause()
            """
        ),
        Invalid(
            {
                "app/__init__.py": "",
                "app/storage/__init__.py": """
                    from .files import save as save
                """,
                "app/storage/files.py": """
                    import requests
                    import shutil

                    def save(path, data):
                        _copy(path)

                    def _copy(path):
                        shutil.copyfile(path, path + ".bak")

                    def fetch(url):
                        return requests.get(url).text
                """,
                "app/handlers.py": """
                    from app import storage
                    from app.storage import files
                    from .storage.files import fetch

                    async def upload(path, data):
                        storage.save(path, data)  # error: ASL307@5
                        text = files.fetch("https://example.com")  # error: ASL307@12
                        return fetch(text)  # error: ASL307@12
                """,
            }
        ),
        Valid(
            """
            import asyncio
            import functools
            import time

            def slow():
                time.sleep(1)

            def wrapper():
                def inner():
                    time.sleep(1)
                return inner

            def deferred():
                return lambda: time.sleep(1)

            def pure(x):
                return x * 2

            def recursive(n):
                return recursive(n - 1) if n else 0

            def uses_parameter(sleep):
                sleep(1)

            async def main(loop):
                await asyncio.to_thread(slow)
                await loop.run_in_executor(None, slow)
                await loop.run_in_executor(None, functools.partial(slow))
                wrapper()
                deferred()
                pure(2)
                recursive(3)
                uses_parameter(print)

            def sync_caller():
                slow()
            """
        ),
        Valid(
            """
            import time
            import queue

            def unknown_decorator(f):
                return f

            @unknown_decorator
            def decorated():
                time.sleep(1)

            def maybe_blocking(q: queue.Queue):
                return q.get(block=False)

            class Cache:
                @staticmethod
                def build():
                    return {}

                def get(self, key):
                    return self.build().get(key)

                async def lookup(self, key, other):
                    self.get(key)
                    other.flush()

            async def main():
                decorated()
                maybe_blocking(queue.Queue())
                time.monotonic()
            """
        ),
        Valid(
            {
                "vendor_shim.py": """
                    import requests

                    async def fetch(url):
                        return requests.get(url)
                """,
                "app.py": """
                    import json
                    import vendor_shim

                    async def main():
                        await vendor_shim.fetch("u")
                        json.dumps({})
                """,
            }
        ),
    )

    def visit_Call(self, node: cst.Call) -> None:
        if not self.context.in_async_def:
            return
        qualname = self._callee(node.func)
        if qualname is None:
            return
        chain = callgraph.for_index(self.context.resolver.index).blocking_chain(qualname)
        if chain is not None:
            self.report(
                node,
                call=callee_spelling(self.context, node.func),
                chain=self._described(chain),
                where=f"{os.path.basename(chain.path)}:{chain.line}",
            )

    def _callee(self, func: cst.BaseExpression) -> str | None:
        """The callee's qualified name: a function by name or import, or a method on `self`."""
        if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name):
            resolver = self.context.resolver
            class_scope = resolver.class_of_self(func.value.value, self.context.scope)
            if class_scope is not None:
                owner = resolver.class_name(class_scope)
                return None if owner is None else f"{owner}.{func.attr.value}"
        return self.context.qualname(func)

    def _described(self, chain: Chain) -> str:
        node = self.context.function.node if self.context.function else None
        start = [node.name.value] if isinstance(node, cst.FunctionDef) else []
        names = [*start, *(name.rsplit(".", 1)[-1] for name in chain.functions)]
        return "`" + " → ".join([*names, chain.blocking.removeprefix("builtins.")]) + "`"
