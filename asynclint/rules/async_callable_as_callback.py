"""ASL105 async-callable-as-callback."""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from asynclint.callables import returns_coroutine
from asynclint.knowledge import inert
from asynclint.knowledge.asyncio_api import (
    CALLBACK_REGISTRARS,
    DONE_CALLBACK_METHODS,
    LOOP,
    PARTIAL,
)
from asynclint.rule import Invalid, Rule, Valid
from asynclint.rules.event_loop_in_async import built_by
from asynclint.rules.unawaited_coroutine import callee_spelling

_SCHEDULE = "call a sync function that schedules it with `asyncio.create_task(...)` instead"
_THREADSAFE = "from another thread, use `asyncio.run_coroutine_threadsafe(...)` instead"
_AWAIT = "await the coroutine directly instead of handing it to a thread"
_IN_THREAD = (
    "have the thread run it with `asyncio.run(...)`, or submit it to the event loop with "
    "`asyncio.run_coroutine_threadsafe(...)`"
)
_SIGNAL = "use `loop.add_signal_handler(...)` with a sync callback that creates a task instead"
_AT_EXIT = "await the cleanup before the event loop stops (`try`/`finally`, `async with`)"


@dataclass(frozen=True)
class _Slot:
    """Where a registrar takes its callback, and what to do instead of passing a coroutine
    function there."""

    position: int
    keyword: str | None
    advice: str
    teardown: bool = False
    """The callback runs at teardown: a `lambda`'s body is sync teardown code, which ASL103
    checks (and names the teardown alternative), so it is left to that rule."""


_LOOP_SLOTS: dict[str, _Slot] = {
    **{
        method: _Slot(position, None, _SCHEDULE) for method, position in CALLBACK_REGISTRARS.items()
    },
    "call_soon_threadsafe": _Slot(0, None, _THREADSAFE),
    "run_in_executor": _Slot(1, None, _AWAIT),
}
"""Event loop methods, on a receiver known to be a loop."""

_FUNCTION_SLOTS: dict[str, _Slot] = inert(
    {
        "asyncio.to_thread": _Slot(0, None, _AWAIT),
        "asyncio.threads.to_thread": _Slot(0, None, _AWAIT),
        "threading.Thread": _Slot(1, "target", _IN_THREAD),
        "threading.Timer": _Slot(1, "function", _IN_THREAD),
        "signal.signal": _Slot(1, None, _SIGNAL, teardown=True),
        "atexit.register": _Slot(0, None, _AT_EXIT, teardown=True),
        "weakref.finalize": _Slot(1, None, _AT_EXIT, teardown=True),
    }
)
"""Callables by qualified name."""

_EXECUTORS = inert(
    frozenset(
        [
            "concurrent.futures.ThreadPoolExecutor",
            "concurrent.futures.ProcessPoolExecutor",
            "concurrent.futures.thread.ThreadPoolExecutor",
            "concurrent.futures.process.ProcessPoolExecutor",
        ]
    )
)
_EXECUTOR_SUBMIT = _Slot(0, None, _IN_THREAD)
_DONE_CALLBACK = _Slot(0, None, _SCHEDULE)
"""`add_done_callback` on any receiver: the name is specific to asyncio and
concurrent.futures futures."""


class AsyncCallableAsCallback(Rule):
    """
    ## What it does
    Flags an async function passed where a sync callable is called and its result
    dropped: the callbacks of an event loop's `call_soon`, `call_soon_threadsafe`,
    `call_later`, `call_at`, `add_signal_handler`, `add_reader`, `add_writer` and
    `run_in_executor`, `asyncio.to_thread`, `threading.Thread(target=...)`,
    `threading.Timer`, `concurrent.futures` executors' `submit`, a future's
    `add_done_callback`, `signal.signal`, `atexit.register` and `weakref.finalize`.

    The callback counts when it is known to be a coroutine function (an `async def` of the
    project, reached by name, through imports, `self` or a receiver of known type, or an
    async method of the standard library), a `functools.partial(...)` of one, or a `lambda` whose body calls one (`lambda:
    self.close()`; except for `atexit.register`, `signal.signal` and `weakref.finalize`,
    whose `lambda` bodies are sync teardown code that ASL103 checks). Loop methods are
    matched only on receivers known to be event loops, and `submit` only on executors
    created in the same function; anything unknown is left alone.

    ## Why is this bad?
    These APIs call the callback like a plain function and ignore what it returns. Calling
    a coroutine function only creates a coroutine object: the body never runs, and Python
    merely warns that the coroutine "was never awaited" when it is garbage-collected. The
    handler, the cleanup or the thread's work silently does nothing.

    ## Example
    ```python
    async def on_reload(self): ...

    def install(self, loop):
        loop.add_signal_handler(signal.SIGHUP, self.on_reload)
    ```

    ## Use instead
    ```python
    def install(self, loop):
        loop.add_signal_handler(signal.SIGHUP, self.schedule_reload)

    def schedule_reload(self):
        self._reload_task = asyncio.create_task(self.on_reload())
    ```

    ## Fix safety
    There is no automatic fix: what should own the coroutine (a task, the loop of another
    thread, an `await` in the caller) depends on the program.

    ## Options
    None.
    """

    code = "ASL105"
    name = "async-callable-as-callback"
    message = (
        "`{registrar}` calls {callback} and drops the coroutine it returns, so its body "
        "never runs; {advice}"
    )
    fix_title = "Schedule the coroutine (`asyncio.create_task(...)`) from a sync callback"

    examples = (
        Invalid(
            """
            import asyncio
            import functools
            import signal

            async def refresh(*args): ...

            class Service:
                async def stop(self): ...

                def install(self, loop: asyncio.AbstractEventLoop, fut: asyncio.Future):
                    loop.call_soon(refresh)  # error: ASL105@24
                    loop.call_later(5, self.stop)  # error: ASL105@28
                    loop.call_at(loop.time() + 1, functools.partial(refresh, 1))  # error: ASL105@39
                    loop.call_soon_threadsafe(lambda: self.stop())  # error: ASL105@35
                    loop.add_signal_handler(signal.SIGTERM, self.stop)  # error: ASL105@49
                    fut.add_done_callback(refresh)  # error: ASL105@31
                    asyncio.get_running_loop().call_soon(refresh)  # error: ASL105@46
            """
        ),
        Invalid(
            """
            import asyncio
            import atexit
            import signal
            import threading
            import weakref
            from asyncio import to_thread
            from concurrent.futures import ThreadPoolExecutor

            async def cleanup(*args): ...

            async def main():
                lock = asyncio.Lock()
                await asyncio.to_thread(cleanup)  # error: ASL105@29
                await to_thread(lock.acquire)  # error: ASL105@21
                loop = asyncio.get_running_loop()
                await loop.run_in_executor(None, cleanup)  # error: ASL105@38
                threading.Thread(target=cleanup).start()  # error: ASL105@29
                threading.Thread(None, cleanup).start()  # error: ASL105@28
                threading.Timer(1.0, cleanup).start()  # error: ASL105@26
                threading.Thread(target=lambda: cleanup(1)).start()  # error: ASL105@29
                with ThreadPoolExecutor() as pool:
                    pool.submit(cleanup)  # error: ASL105@21

            def install(resource):
                atexit.register(cleanup)  # error: ASL105@21
                signal.signal(signal.SIGINT, cleanup)  # error: ASL105@34
                weakref.finalize(resource, cleanup)  # error: ASL105@32
            """
        ),
        Valid(
            """
            import asyncio
            import atexit
            import functools
            import signal
            import threading

            def sync_cleanup(*args): ...

            async def work(): ...

            def run_work():
                asyncio.run(work())

            class Service:
                def stop(self): ...

                def schedule(self):
                    self._task = asyncio.create_task(work())

                async def main(self, fut):
                    loop = asyncio.get_running_loop()
                    loop.call_soon(self.stop)
                    loop.call_soon(self.schedule)
                    loop.call_later(1, functools.partial(sync_cleanup, 1))
                    loop.call_soon_threadsafe(lambda: self.stop())
                    fut.add_done_callback(sync_cleanup)
                    await asyncio.to_thread(run_work)
                    await loop.run_in_executor(None, sync_cleanup)
                    threading.Thread(target=run_work).start()
                    atexit.register(sync_cleanup)
                    signal.signal(signal.SIGINT, sync_cleanup)
                    atexit.register(lambda: work())
                    asyncio.run_coroutine_threadsafe(work(), loop)
                    loop.call_soon(asyncio.create_task, work())
            """
        ),
        Valid(
            """
            import functools
            from app import registry, on_event, scheduler

            class Client:
                def close(self): ...

            class AsyncClient:
                async def close(self): ...

            def unknown(func):
                return registry.setdefault(func.__name__, func)

            @unknown
            async def decorated(): ...

            async def handler(): ...

            def install(client: Client, other, loop, pool):
                registry.register(handler)
                on_event(handler)
                scheduler.call_soon(handler)
                loop.call_soon(handler)
                pool.submit(handler)
                other.add_signal_handler(2, handler)
                other.register(client.close)
                import atexit
                atexit.register(client.close)
                atexit.register(other.close)
                atexit.register(decorated)
                atexit.register(functools.partial(other.close))
            """
        ),
        Valid(
            {
                "clients.py": """
                    class Client:
                        def close(self): ...

                    class AsyncClient:
                        async def close(self): ...
                """,
                "app.py": """
                    import atexit
                    import signal
                    from clients import Client

                    def install(client: Client):
                        atexit.register(client.close)
                        signal.signal(signal.SIGTERM, lambda *_: client.close())
                        atexit.register(Client().close)
                """,
            }
        ),
        Invalid(
            {
                "clients.py": """
                    class AsyncClient:
                        async def close(self): ...

                    async def refresh(): ...
                """,
                "app.py": """
                    import asyncio
                    import atexit
                    from clients import AsyncClient, refresh

                    def install(client: AsyncClient, loop: asyncio.AbstractEventLoop):
                        atexit.register(client.close)  # error: ASL105@21
                        loop.call_later(60, refresh)  # error: ASL105@25
                """,
            }
        ),
    )

    def visit_Call(self, node: cst.Call) -> None:
        slot = self._slot(node)
        if slot is None:
            return
        callback = _argument(node, slot)
        if callback is None:
            return
        if isinstance(callback, cst.Lambda) and slot.teardown:
            return
        described = self._async_callable(callback)
        if described is not None:
            self.report(
                callback,
                registrar=callee_spelling(self.context, node.func),
                callback=described,
                advice=slot.advice,
            )

    def _slot(self, call: cst.Call) -> _Slot | None:
        func = call.func
        qualname = self.context.qualname(func)
        if qualname in _FUNCTION_SLOTS:
            return _FUNCTION_SLOTS[qualname]
        if not isinstance(func, cst.Attribute):
            return None
        method = func.attr.value
        if method in DONE_CALLBACK_METHODS:
            return _DONE_CALLBACK
        if method in _LOOP_SLOTS and self.context.infer(func.value) == LOOP:
            return _LOOP_SLOTS[method]
        if method == "submit" and built_by(self.context, func.value, _EXECUTORS):
            return _EXECUTOR_SUBMIT
        return None

    def _async_callable(self, callback: cst.BaseExpression) -> str | None:
        """How to name `callback` in the message when calling it makes a coroutine."""
        if isinstance(callback, cst.Lambda):
            body = callback.body
            if isinstance(body, cst.Call) and returns_coroutine(self.context, body.func) is True:
                spelling = callee_spelling(self.context, body.func)
                return f"`lambda: {spelling}(...)`"
            return None
        if isinstance(callback, cst.Call):
            if self.context.qualname(callback.func) not in PARTIAL or not callback.args:
                return None
            inner = callback.args[0].value
            if returns_coroutine(self.context, inner) is True:
                spelling = callee_spelling(self.context, inner)
                return f"`functools.partial` of async function `{spelling}`"
            return None
        if returns_coroutine(self.context, callback) is True:
            return f"async function `{callee_spelling(self.context, callback)}`"
        return None


def _argument(call: cst.Call, slot: _Slot) -> cst.BaseExpression | None:
    """The callback argument, by keyword or by position (before any `*args`)."""
    for index, arg in enumerate(call.args):
        if arg.star:
            return None
        if arg.keyword is not None:
            if arg.keyword.value == slot.keyword:
                return arg.value
        elif index == slot.position:
            return arg.value
    return None
