"""How a waiting task is described: in ASL610 reports and in the hang-timeout dump.

One task per entry: what it waits for (the lock and its holder, the event, queue, future,
task, gather or TaskGroup), the user frames it is suspended in, and where it was created.
"""

from __future__ import annotations

import asyncio
from typing import Any

from asynclint.sanitizer import awaits, frames
from asynclint.sanitizer.checks import loops, owners, tasks
from asynclint.sanitizer.findings import format_site

Task = asyncio.Task[Any]
_TaskGroup: Any = getattr(asyncio, "TaskGroup", None)


def task_lines(task: Task) -> list[str]:
    """What one task waits for, where, and where it was created."""
    lines = [f"{tasks.describe(task)[0]} waits for {_waits_for(task)}"]
    chain = awaits.user_chain(task)
    if chain:
        lines.append("  at (most recent call last):")
        lines.extend(format_site(chain, "    "))
    site = frames.coroutine_site(task.get_coro())
    lines.append(f"  created at {site[0]}" if site else "  created at: unknown (no user frame)")
    return lines


def _waits_for(task: Task) -> str:
    waiter = awaits.waiter(task)
    if waiter is None:
        return "nothing: it is running or about to run"
    if isinstance(waiter, asyncio.Task):
        return tasks.describe(waiter)[0]
    children = getattr(waiter, "_children", None)
    if children is not None:
        return "gather() of " + ", ".join(_name(child) for child in children)
    ref = owners.blocked.get(task)
    primitive, method = (ref(), "acquire") if ref is not None else awaits.primitive(task)
    if primitive is None:
        return f"{type(waiter).__name__} at {id(waiter):#x}"
    text = f"{type(primitive).__name__} at {id(primitive):#x} ({method})"
    if isinstance(primitive, (asyncio.Lock, asyncio.Semaphore)):
        held = owners.owners(primitive)
        holders = ", ".join(
            tasks.describe(holder)[0] + (" (finished without releasing it)" * holder.done())
            for holder in held
        )
        text += f" held by {holders}" if held else ""
    elif _TaskGroup is not None and isinstance(primitive, _TaskGroup):
        text += " to finish " + ", ".join(_name(child) for child in primitive._tasks)
    return text


def _name(future: Any) -> str:
    return tasks.describe(future)[0] if isinstance(future, asyncio.Task) else repr(future)


def dump() -> str:
    """Every pending task of every loop seen running: for the hang timeout, from any thread."""
    lines = []
    for loop in list(loops.known):
        pending = [task for task in tasks.all_tasks_of(loop) if not task.done()]
        if not pending:
            continue
        lines.append(f"event loop {type(loop).__name__} at {id(loop):#x}:")
        for task in sorted(pending, key=tasks.by_name):
            lines.extend(f"  {line}" for line in task_lines(task))
    return "\n".join(lines) if lines else "no pending asyncio task"
