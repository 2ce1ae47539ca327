"""Where a suspended task is waiting: its await chain and the object at the end of it.

``Task.get_stack()`` shows only the task's outermost coroutine; a deadlock or a swallowed
cancellation is explained by the innermost user frame, and by the lock, event or queue the
chain ends in. Coroutines expose what they await (``cr_await``), so the chain is followed
from the task's coroutine down to the framework code that holds the waited-for future.
Only for reports: nothing here runs on a hot path.
"""

from __future__ import annotations

import os
from types import FrameType
from typing import Any

from asynclint.sanitizer import frames
from asynclint.sanitizer.findings import Frame

_PRIMITIVE_FILES = frozenset({"locks.py", "queues.py", "taskgroups.py"})


def chain(task: Any) -> list[FrameType]:
    """The frames of the task's await chain, innermost first (empty once it is done)."""
    out: list[FrameType] = []
    awaited: Any = task.get_coro()
    while awaited is not None and len(out) < 64:
        frame = getattr(awaited, "cr_frame", None) or getattr(awaited, "gi_frame", None)
        if frame is None:
            break
        out.append(frame)
        awaited = getattr(awaited, "cr_await", None) or getattr(awaited, "gi_yieldfrom", None)
    out.reverse()
    return out


def raw(stack: list[FrameType]) -> list[frames.RawFrame]:
    return [(f.f_code.co_filename, f.f_lineno, f.f_code.co_name) for f in stack]


def user_chain(task: Any) -> tuple[Frame, ...]:
    """The user frames the task is suspended in, innermost first."""
    return frames.user_frames(raw(chain(task)))


def primitive(task: Any) -> tuple[Any, str]:
    """The asyncio lock, semaphore, condition, event, queue or TaskGroup the task waits in,
    and the method it waits in (``acquire``, ``wait``, ``get``...); ``(None, "")`` if none.

    The innermost asyncio frame of those modules is a method of that object, so its
    ``self`` is the object.
    """
    for frame in chain(task):
        code = frame.f_code
        if os.path.basename(code.co_filename) in _PRIMITIVE_FILES and frames.is_framework(
            code.co_filename
        ):
            return frame.f_locals.get("self"), code.co_name
    return None, ""


def waiter(task: Any) -> Any:
    """The future the task is suspended on (None when it is ready to run or done)."""
    return getattr(task, "_fut_waiter", None)
