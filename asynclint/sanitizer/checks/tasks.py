"""ASL602, ASL603 and ASL604: tasks destroyed pending, leaked, or failing unobserved.

ASL602 and ASL604 arrive through the loop's ``call_exception_handler`` (called by the
task's finalizer), which we wrap; the user's own handler still runs.

ASL603 needs the moment just before a runner cancels what is left. ``asyncio.run``,
``asyncio.Runner``, the ``backports.asyncio.runner`` used by pytest-asyncio on 3.10, anyio's
runner and ``IsolatedAsyncioTestCase`` on 3.10 each carry their own cancel-everything
function, but every one of them starts with ``all_tasks(loop)``; so ``all_tasks`` is
wrapped and checks for leaks when called from one of those functions (unless the runner is
closing because of ``KeyboardInterrupt`` or ``SystemExit``).
"""

from __future__ import annotations

import asyncio
import sys
import weakref
from collections.abc import Callable, Iterable
from typing import Any

from asynclint.sanitizer import frames
from asynclint.sanitizer.checks import loops
from asynclint.sanitizer.core import DeadlockError, Sanitizer
from asynclint.sanitizer.findings import Finding
from asynclint.sanitizer.patches import Patcher

Task = asyncio.Task[Any]
_RUNNER_CLEANUPS = frozenset({"_cancel_all_tasks", "_tearDownAsyncioLoop"})
_INTERRUPTS = (KeyboardInterrupt, SystemExit)
"""A runner closing because of one of these (Ctrl-C, an exit) cancels what is left by
design: that is the way out, not a leak."""
reported: weakref.WeakSet[Task] = weakref.WeakSet()
"""Tasks already reported (leaked by a test, or deadlocked) that must not be reported as
leaks again."""
fixture_owned: weakref.WeakSet[Task] = weakref.WeakSet()
"""Tasks started by fixtures wider than one test: never blamed on a test."""
_original_all_tasks: Callable[[asyncio.AbstractEventLoop | None], set[Task]] = asyncio.all_tasks


def install(san: Sanitizer, patcher: Patcher) -> None:
    if san.enabled("ASL602") or san.enabled("ASL604"):
        loops.each_loop_class(
            patcher, lambda cls: patcher.replace(cls, "call_exception_handler", _wrap_handler(san))
        )
    if san.enabled("ASL603"):
        wrap = _wrap_all_tasks(san)
        patcher.replace(asyncio.tasks, "all_tasks", wrap)
        patcher.replace(asyncio, "all_tasks", wrap)


def describe(task: Task) -> tuple[str, tuple[str, ...]]:
    """The subject line and the names ignore patterns match."""
    coro = task.get_coro()
    qualname = getattr(coro, "__qualname__", type(coro).__name__)
    tags = [task.get_name(), qualname]
    frame = getattr(coro, "cr_frame", None)
    if frame is not None:
        tags.append(f"{frame.f_globals.get('__name__', '')}.{qualname}")
    return f"task {task.get_name()!r} running {qualname}()", tuple(tags)


def by_name(task: Task) -> tuple[int, str]:
    """Sort key putting 'Task-9' before 'Task-10'."""
    name = task.get_name()
    return len(name), name


def task_finding(code: str, task: Task, detail: str = "") -> Finding:
    subject, tags = describe(task)
    return Finding(
        code,
        subject,
        frames.coroutine_site(task.get_coro()),
        detail=detail,
        tags=tags,
        wide_scope=task in fixture_owned,
    )


def _wrap_handler(san: Sanitizer) -> Callable[[Any], Any]:
    def wrap(original: Callable[[Any, dict[str, Any]], None]) -> Callable[..., None]:
        def call_exception_handler(self: Any, context: dict[str, Any]) -> None:
            message = str(context.get("message", ""))
            task = context.get("task") or context.get("future")
            if isinstance(task, asyncio.Task):
                if message.startswith("Task was destroyed but it is pending"):
                    san.emit(task_finding("ASL602", task))
                elif message.endswith("exception was never retrieved"):
                    error = context.get("exception")
                    if not isinstance(error, DeadlockError):  # ours, already reported
                        san.emit(task_finding("ASL604", task, f"exception: {error!r}"))
            original(self, context)

        return call_exception_handler

    return wrap


def _wrap_all_tasks(san: Sanitizer) -> Callable[[Any], Any]:
    def wrap(original: Callable[..., set[Task]]) -> Callable[..., set[Task]]:
        def all_tasks(loop: asyncio.AbstractEventLoop | None = None) -> set[Task]:
            if (
                loop is not None
                and sys._getframe(1).f_code.co_name in _RUNNER_CLEANUPS
                and not isinstance(sys.exc_info()[1], _INTERRUPTS)
            ):
                report_runner_leaks(san, loop)
            return original(loop)

        return all_tasks

    return wrap


def report_runner_leaks(san: Sanitizer, loop: asyncio.AbstractEventLoop) -> None:
    """Report tasks still pending when a runner is about to cancel them."""
    pending = [t for t in _original_all_tasks(loop) if not t.done() and t not in reported]
    _report(san, _after_grace(san, _users(pending)), "still pending when its runner closed")


def _after_grace(san: Sanitizer, pending: list[Task]) -> list[Task]:
    """The tasks still pending after a grace period (like goleak's retries), so that a
    task already on its way out (cancelled a moment ago, say) is not called a leak.

    Only loops that are not running can be given the time; a loop that outlives the test
    (a module-scoped one) runs for the grace period, which it would do in the next test.
    """
    grace = san.options.grace_ms / 1000
    for loop in {task.get_loop() for task in pending} if grace > 0 else ():
        if not loop.is_running() and not loop.is_closed():
            mine = [task for task in pending if task.get_loop() is loop]
            loop.run_until_complete(asyncio.wait(mine, timeout=grace))
    return [task for task in pending if not task.done()]


def all_tasks_of(loop: asyncio.AbstractEventLoop) -> set[Task]:
    """The tasks of `loop`, also from another thread, where the registry of tasks can
    change while it is being copied."""
    for _ in range(100):
        try:
            return _original_all_tasks(loop)
        except RuntimeError:
            continue
    return set()


def pending_tasks() -> set[Task]:
    """Pending tasks of every loop seen running."""
    return {t for loop in list(loops.known) for t in _original_all_tasks(loop) if not t.done()}


def report_test_leaks(san: Sanitizer, before: set[Task]) -> None:
    """Report tasks that appeared during a test and outlived it (its loop may live on)."""
    new = [t for t in pending_tasks() - before if t not in reported and t not in fixture_owned]
    _report(san, _after_grace(san, _users(new)), "still pending when the test ended")


def _users(pending: list[Task]) -> list[Task]:
    """Leave out (and never report) the tasks a test framework keeps for itself."""
    reported.update(task for task in pending if framework_task(task))
    return [task for task in pending if task not in reported]


def _report(san: Sanitizer, leaked: Iterable[Task], detail: str) -> None:
    for task in sorted(leaked, key=by_name):
        reported.add(task)
        san.emit(task_finding("ASL603", task, detail))


def framework_task(task: Task) -> bool:
    """A task a framework made for its own use (anyio's test runner, its process pool
    shutdown task, a portal's call): framework code that framework code created, even
    on behalf of a user's call. What it does with a cancellation or when it ends is the
    framework's design, not a user bug."""
    coro = task.get_coro()
    code = getattr(coro, "cr_code", None)
    origin = getattr(coro, "cr_origin", None)
    return (
        code is not None
        and frames.is_framework(code.co_filename)
        and (not origin or frames.is_framework(origin[0][0]))
    )
