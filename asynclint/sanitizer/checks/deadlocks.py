"""ASL610: tasks that wait for each other in a cycle, or for what nothing can bring.

Cycles. A task waits for the owner of the lock it is blocked on, for the holders of the
semaphore it is blocked on (any one releasing frees it), for the task it awaits, or for
the children of the ``gather`` or TaskGroup it waits in. Tasks are deadlocked when each
one's wait can only be ended by another deadlocked task (the largest such set; it always
contains a cycle). The check runs one loop iteration after a task blocks in an acquire,
which is how a lock cycle closes, and at every watchdog answer, which catches a cycle
closed by awaiting a task; timers elsewhere in the loop do not delay it.

Stalls. A loop with pending tasks but no ready callback, no live timer, no watched file
descriptor besides its own wake-up pipe, no signal handler, no future waiting for a
thread, and no other thread that could call into it (one running user code or asyncio's)
can never run again. Reported when that lasts ``deadlock-grace-ms`` with every task still
waiting on the same future. Not available on loops that do not expose their queues
(uvloop).

Either way the program would hang, so strict mode (where the finding fails the run
anyway) ends it: the future that a deadlocked task waits on gets a `DeadlockError`, which
surfaces at the user's ``await`` — in the task that closed the cycle, or in every task of a
stall that waits on a plain future. Other modes report and leave the tasks waiting.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import threading
import time
import weakref
from asyncio import AbstractEventLoop
from collections.abc import Iterable
from typing import Any

from asynclint.sanitizer import awaits, frames
from asynclint.sanitizer.checks import owners, tasks, waits, watchdog
from asynclint.sanitizer.core import DeadlockError, Sanitizer
from asynclint.sanitizer.findings import Finding
from asynclint.sanitizer.patches import Patcher

Task = asyncio.Task[Any]
Wait = tuple[bool, list[Task]]
"""(all_needed, tasks): the waiter is stuck if all (False: any one) of `tasks` are."""
_TaskGroup: Any = getattr(asyncio, "TaskGroup", None)
_ASYNCIO_DIR = os.path.dirname(asyncio.__file__) + os.sep


class _Stall:
    __slots__ = ("reported", "since", "snapshot")

    def __init__(self, snapshot: tuple[tuple[int, int], ...], since: float) -> None:
        self.snapshot = snapshot
        self.since = since
        self.reported = False


_stalls: weakref.WeakKeyDictionary[AbstractEventLoop, _Stall] = weakref.WeakKeyDictionary()


def install(san: Sanitizer, patcher: Patcher) -> None:
    if not san.enabled("ASL610"):
        return

    def blocked(loop: AbstractEventLoop, task: Task) -> None:
        _check_cycles(san, loop, [task])

    def periodic(loop: AbstractEventLoop) -> None:
        waiting = [task for task in list(owners.blocked.keys()) if task.get_loop() is loop]
        if waiting:
            _check_cycles(san, loop, waiting)
        _check_stall(san, loop)

    owners.install(patcher, blocked)
    patcher.replace(watchdog, "periodic", lambda checks: (*checks, periodic))


def _wait(task: Task) -> Wait | None:
    """What `task` waits for, when that is other tasks; None when it is anything else."""
    waiter = awaits.waiter(task)
    if waiter is None or waiter.done():
        return None
    ref = owners.blocked.get(task)
    primitive = ref() if ref is not None else None
    if primitive is not None:
        holders = [holder for holder in owners.owners(primitive) if not holder.done()]
        return (True, holders) if holders else None
    if isinstance(waiter, asyncio.Task):
        return True, [waiter]
    children = getattr(waiter, "_children", None)
    if children is not None:
        return False, [child for child in children if isinstance(child, asyncio.Task)]
    if _TaskGroup is not None:
        group, _ = awaits.primitive(task)
        if isinstance(group, _TaskGroup) and waiter is group._on_completed_fut:
            return False, list(group._tasks)
    return None


def _deadlocked(loop: AbstractEventLoop, start: Iterable[Task]) -> dict[Task, Wait]:
    """The tasks reachable from `start` whose waits only deadlocked tasks can end."""
    waits: dict[Task, Wait] = {}
    seen: set[Task] = set()
    todo = list(start)
    while todo:
        task = todo.pop()
        if task in seen or task.done() or task.get_loop() is not loop:
            continue
        seen.add(task)
        wait = _wait(task)
        if wait is not None and wait[1]:
            waits[task] = wait
            todo.extend(wait[1])
    stuck = set(waits)
    changed = True
    while changed:
        changed = False
        for task in list(stuck):
            all_needed, others = waits[task]
            inside = [other in stuck for other in others]
            if not (all(inside) if all_needed else any(inside)):
                stuck.discard(task)
                changed = True
    return {task: waits[task] for task in stuck}


def _cycle(stuck: dict[Task, Wait], start: Task) -> list[Task]:
    path: list[Task] = []
    index: dict[Task, int] = {}
    task = start
    while task not in index:
        index[task] = len(path)
        path.append(task)
        task = next(other for other in stuck[task][1] if other in stuck)
    return path[index[task] :]


def _check_cycles(san: Sanitizer, loop: AbstractEventLoop, start: list[Task]) -> None:
    stuck = _deadlocked(loop, start)
    if not stuck or all(task in tasks.reported for task in stuck):
        return
    stuck = _deadlocked(loop, tasks.all_tasks_of(loop))  # with the tasks waiting behind it
    tasks.reported.update(stuck)
    order = {task: index for index, task in enumerate(owners.blocked.keys())}
    cycle = _cycle(stuck, min(stuck, key=tasks.by_name))
    victim = max(cycle, key=lambda task: order.get(task, -1))  # the last to block closed it
    cycle = _cycle(stuck, victim)
    behind = sorted(set(stuck) - set(cycle), key=tasks.by_name)
    lines = [f"wait-for cycle (each task waits for the next); {victim.get_name()!r} closed it:"]
    for task in cycle:
        lines.extend(f"  {line}" for line in waits.task_lines(task))
    if behind:
        lines.append("waiting behind the cycle:")
        for task in behind:
            lines.extend(f"  {line}" for line in waits.task_lines(task))
    names = " -> ".join(repr(task.get_name()) for task in [*cycle, cycle[0]])
    finding = Finding(
        "ASL610",
        f"wait-for cycle {names}",
        frames.coroutine_site(victim.get_coro()),
        detail="\n".join(lines),
        site_label=f"task {victim.get_name()!r} created at",
        tags=_tags(cycle),
    )
    if san.emit(finding) and san.options.mode == "strict":
        _end([victim], finding)


def _check_stall(san: Sanitizer, loop: AbstractEventLoop) -> None:
    if not _idle(loop):
        _stalls.pop(loop, None)
        return
    pending = sorted(
        (task for task in tasks.all_tasks_of(loop) if not task.done()),
        key=tasks.by_name,
    )
    if not pending:
        _stalls.pop(loop, None)
        return
    snapshot = tuple((id(task), id(awaits.waiter(task))) for task in pending)
    now = time.monotonic()
    state = _stalls.get(loop)
    if state is None or state.snapshot != snapshot:
        _stalls[loop] = _Stall(snapshot, now)
        return
    grace = san.options.deadlock_grace_ms
    if state.reported or (now - state.since) * 1000 < grace:
        return
    state.reported = True
    tasks.reported.update(pending)
    leaves = [task for task in pending if _wait(task) is None]
    shown = next((task for task in leaves if awaits.user_chain(task)), pending[0])
    lines = [
        f"for {grace:.0f} ms no callback was ready, no timer set, no file descriptor or"
        " signal watched and no thread at work; waiting:"
    ]
    for task in pending:
        lines.extend(f"  {line}" for line in waits.task_lines(task))
    count = len(pending)
    finding = Finding(
        "ASL610",
        f"{count} pending task{'s' * (count != 1)} that nothing can wake",
        awaits.user_chain(shown),
        detail="\n".join(lines),
        site_label=f"task {shown.get_name()!r} waiting at",
        tags=_tags(pending),
    )
    if san.emit(finding) and san.options.mode == "strict":
        _end(leaves, finding)


def _end(victims: list[Task], finding: Finding) -> None:
    """Fail the futures the victims wait on (a task awaited by a victim cannot be failed:
    such a victim is cancelled instead)."""
    for task in victims:
        waiter = awaits.waiter(task)
        if isinstance(waiter, asyncio.Task):
            task.cancel(f"asyncsan ASL610: {finding.subject}")
        elif waiter is not None and not waiter.done():
            waiter.set_exception(DeadlockError([finding]))


def _idle(loop: AbstractEventLoop) -> bool:
    """Nothing can make `loop` run a task again (called from a callback of `loop`)."""
    ready = getattr(loop, "_ready", None)
    scheduled = getattr(loop, "_scheduled", None)
    selector = getattr(loop, "_selector", None)
    if ready is None or scheduled is None or selector is None:
        return False
    drain = getattr(loop, "_read_from_self", None)  # queued by our own wake-up call
    if any(handle._callback != drain for handle in ready):
        return False
    if any(not handle.cancelled() for handle in scheduled):
        return False
    wakeup = getattr(loop, "_ssock", None)
    own = wakeup.fileno() if wakeup is not None else -1
    if any(key.fd != own for key in selector.get_map().values()):
        return False
    if getattr(loop, "_signal_handlers", None):
        return False
    if any(not f.done() and f.get_loop() is loop for f in list(owners.thread_futures)):
        return False
    return not _signal_may_wake() and not _thread_may_wake()


def _signal_may_wake() -> bool:
    """A Python signal handler of the user's could call into the loop."""
    for number in signal.valid_signals():
        try:
            handler = signal.getsignal(number)
        except (OSError, ValueError):
            continue
        if callable(handler) and handler is not signal.default_int_handler:
            code = getattr(getattr(handler, "func", handler), "__code__", None)
            if code is None or not frames.is_library(code.co_filename):
                return True
    return False


def _thread_may_wake() -> bool:
    """Another thread runs user code, asyncio code (a child watcher) or a timer."""
    me = threading.get_ident()
    timers = set()
    ours = set()
    for thread in threading.enumerate():
        if isinstance(thread, threading.Timer):
            timers.add(thread.ident)
        elif thread.name.startswith("asyncsan-"):
            ours.add(thread.ident)
    for ident, frame in sys._current_frames().items():
        if ident == me or ident in ours:
            continue
        if ident in timers:
            return True
        for filename, _, _ in frames.walk(frame, 256):
            if not frames.is_library(filename) or filename.startswith(_ASYNCIO_DIR):
                return True
    return False


def _tags(group: Iterable[Task]) -> tuple[str, ...]:
    return tuple(tag for task in group for tag in tasks.describe(task)[1])
