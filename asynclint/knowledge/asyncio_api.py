"""What asyncio's public names are: event loops, task groups, task spawners.

Qualified names are listed under every module path a user can import them from
(``asyncio.create_task`` and ``asyncio.tasks.create_task``), and types are normalised to
one canonical name so rules compare a single string.
"""

from __future__ import annotations

from asynclint.knowledge import inert

LOOP = "asyncio.AbstractEventLoop"
TASK_GROUP = "asyncio.TaskGroup"

TYPE_ALIASES: dict[str, str] = {
    **dict.fromkeys(
        [
            "asyncio.AbstractEventLoop",
            "asyncio.events.AbstractEventLoop",
            "asyncio.BaseEventLoop",
            "asyncio.base_events.BaseEventLoop",
            "asyncio.SelectorEventLoop",
            "asyncio.selector_events.BaseSelectorEventLoop",
            "asyncio.unix_events.SelectorEventLoop",
            "asyncio.ProactorEventLoop",
            "asyncio.windows_events.ProactorEventLoop",
            "asyncio.EventLoop",
            "uvloop.Loop",
        ],
        LOOP,
    ),
    "asyncio.TaskGroup": TASK_GROUP,
    "asyncio.taskgroups.TaskGroup": TASK_GROUP,
}
"""Class names (as imported) to the canonical type they stand for."""

RETURN_TYPES: dict[str, str] = dict.fromkeys(
    [
        "asyncio.get_running_loop",
        "asyncio.events.get_running_loop",
        "asyncio.get_event_loop",
        "asyncio.events.get_event_loop",
        "asyncio.new_event_loop",
        "asyncio.events.new_event_loop",
        "uvloop.new_event_loop",
    ],
    LOOP,
)
"""Functions whose call returns an instance of a known type."""

TASK_FACTORIES = frozenset(
    [
        "asyncio.create_task",
        "asyncio.tasks.create_task",
        "asyncio.Task",
        "asyncio.tasks.Task",
    ]
)
"""Calls that always wrap their argument in a new task."""

ENSURE_FUTURE = frozenset(["asyncio.ensure_future", "asyncio.tasks.ensure_future"])
"""Wraps a coroutine in a new task, but passes a future through unchanged."""

SHIELD = frozenset(["asyncio.shield", "asyncio.tasks.shield"])

LOOP_TASK_METHODS = frozenset(["create_task"])
"""Event loop methods that wrap a coroutine in a new task."""

FUTURE_RETURNING = frozenset(
    [
        "asyncio.gather",
        "asyncio.tasks.gather",
        "asyncio.wrap_future",
        "asyncio.futures.wrap_future",
        "asyncio.run_coroutine_threadsafe",
        *TASK_FACTORIES,
        *ENSURE_FUTURE,
        *SHIELD,
    ]
)
"""Calls that return an existing or new future rather than a coroutine."""

LOOP_FUTURE_METHODS = frozenset(["run_in_executor", "create_future", "create_task"])

CALLBACK_REGISTRARS: dict[str, int] = {
    "call_soon": 0,
    "call_soon_threadsafe": 0,
    "call_later": 1,
    "call_at": 1,
    "add_signal_handler": 1,
    "add_reader": 1,
    "add_writer": 1,
}
"""Loop methods that call a callback and drop its result: method -> callback position."""

DONE_CALLBACK_METHODS = frozenset(["add_done_callback"])
"""Future/Task methods whose callback's result is dropped (any receiver: the name is
specific to asyncio and concurrent.futures futures)."""

TASK_METHODS_RETURNING_NONE = frozenset(["add_done_callback", "set_name"])
"""Task methods that return nothing, so chaining them on a new task drops the task."""

PARTIAL = inert(frozenset(["functools.partial"]))

PYTEST_FIXTURE_TYPES: dict[str, str] = {"event_loop": LOOP, "loop": LOOP}
"""Fixtures that pytest injects by parameter name: pytest-asyncio's ``event_loop`` and
pytest-aiohttp's ``loop`` are event loops."""
