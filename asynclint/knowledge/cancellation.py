"""What catches a task's cancellation, what waits for a task, what makes one.

``concurrent.futures.CancelledError`` is deliberately absent: since Python 3.8 it is an
``Exception`` subclass distinct from ``asyncio.CancelledError`` and does not catch a
task's cancellation.
"""

from __future__ import annotations

from asynclint.knowledge import inert
from asynclint.knowledge.asyncio_api import ENSURE_FUTURE, SHIELD, TASK_FACTORIES

CANCELLED_ERROR = frozenset(
    [
        "asyncio.CancelledError",
        "asyncio.exceptions.CancelledError",
        "asyncio.futures.CancelledError",
    ]
)
"""Every importable spelling of ``asyncio.CancelledError``."""

CATCHES_CANCELLATION = CANCELLED_ERROR | {"builtins.BaseException"}
"""Exception classes whose handler receives a task's ``CancelledError``."""

CANCELLED_CLASS_GETTERS = frozenset(["anyio.get_cancelled_exc_class"])
"""Calls that return the cancellation exception class of the running backend."""

SUPPRESS = inert(frozenset(["contextlib.suppress"]))

DELIBERATE_UNCANCEL = frozenset(["cancelling", "uncancel"])
"""Task methods whose use in a handler shows the cancellation is handled on purpose."""

NO_RETURN = inert(
    frozenset(["sys.exit", "os._exit", "os.abort", "pytest.fail", "pytest.skip", "pytest.exit"])
)
"""Calls that never return: a handler ending in one does not resume the task."""

GATHER = frozenset(["asyncio.gather", "asyncio.tasks.gather"])

WAITERS = GATHER | frozenset(
    [
        "asyncio.wait",
        "asyncio.tasks.wait",
        "asyncio.wait_for",
        "asyncio.tasks.wait_for",
        "asyncio.shield",
        "asyncio.tasks.shield",
        "asyncio.as_completed",
        "asyncio.tasks.as_completed",
    ]
)
"""Calls that wait for the tasks passed to them (`gather` for all its positional
arguments, the others for their first)."""

ALL_TASKS = frozenset(["asyncio.all_tasks", "asyncio.tasks.all_tasks"])
"""Calls returning a collection of tasks."""

TASK_RESULT_METHODS = frozenset(["add_done_callback", "result", "exception"])
"""Task methods through which a task's outcome is retrieved or handed to a callback."""

TIMEOUTS = frozenset(
    [
        "asyncio.timeout",
        "asyncio.timeout_at",
        "asyncio.timeouts.timeout",
        "asyncio.timeouts.timeout_at",
    ]
)
"""Async context managers that enter and exit without suspending."""

FINISHING_METHODS = frozenset(["cancel", "set_result", "set_exception"])
"""Calls after which awaiting the task or future only collects its outcome."""

EXCEPTION_SINKS = frozenset(
    ["set_exception", "append", "add", "put", "put_nowait", "appendleft", "throw"]
)
"""Methods that hand a caught exception to someone else (a future, a queue, a list)."""

SPAWNERS = (
    TASK_FACTORIES
    | ENSURE_FUTURE
    | SHIELD
    | frozenset(
        [
            "asyncio.run",
            "asyncio.runners.run",
            "asyncio.run_coroutine_threadsafe",
            "asyncio.tasks.run_coroutine_threadsafe",
            "anyio.run",
            "trio.run",
        ]
    )
)
"""Functions that run their argument as the top-level coroutine of a task."""

SPAWN_METHODS = frozenset(
    ["ensure_future", "start_soon", "start", "run_until_complete", "run_coroutine_threadsafe"]
)
"""Method names that run a coroutine (or coroutine function) as a task, besides any
``*create*task*`` (``create_task``, ``async_create_background_task``)."""

WAIT = frozenset(["asyncio.wait", "asyncio.tasks.wait"])
"""``done, pending = await asyncio.wait(tasks)``: `pending` holds some of `tasks`."""

NON_WAITING_METHODS = frozenset(
    [
        "cancel",
        "cancelled",
        "cancelling",
        "uncancel",
        "done",
        "get_name",
        "set_name",
        "get_coro",
        "remove_done_callback",
        "discard",
        "remove",
        "pop",
        "clear",
    ]
)
"""Task and collection methods that neither wait for a task nor hand it to anyone."""

NEUTRAL_BUILTINS = frozenset(
    [
        "builtins.len",
        "builtins.bool",
        "builtins.id",
        "builtins.isinstance",
        "builtins.set",
        "builtins.frozenset",
        "builtins.list",
        "builtins.tuple",
        "builtins.sorted",
    ]
)
"""Builtins that read a task or a collection of tasks without keeping it."""

COPYING_BUILTINS = frozenset(
    ["builtins.set", "builtins.frozenset", "builtins.list", "builtins.tuple", "builtins.sorted"]
)
"""Builtins returning a copy of a collection (``for t in list(tasks): t.cancel()``)."""
