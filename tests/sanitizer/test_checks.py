"""ASL605, ASL606, ASL609 and ASL610 in-process, on each kind of loop: what is reported,
on which line, and the look-alikes that must not be."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import queue
import re
import sys
import threading
import time
from typing import Any

import pytest

from asynclint.sanitizer import AsyncSanError, DeadlockError, Frame, sanitize
from asynclint.sanitizer.checks import waits
from tests.sanitizer.helpers import LOOPS, findings, line, needs_uvloop


async def sleeper() -> None:
    await asyncio.sleep(3600)


async def swallow(then: BaseException | None = None) -> None:
    try:
        await asyncio.sleep(3600)
    except asyncio.CancelledError:
        if then is not None:
            raise then from None


async def cancelled_swallowers() -> None:
    quiet = asyncio.create_task(swallow())
    loud = asyncio.create_task(swallow(ValueError("instead")))
    await asyncio.sleep(0)
    quiet.cancel()
    loud.cancel()
    await quiet
    with contextlib.suppress(ValueError):
        await loud


@pytest.fixture(autouse=True)
def _quiet_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    """Strict mode prints each finding; the tests read the findings themselves."""


@pytest.mark.parametrize("kind", LOOPS)
def test_swallowed_cancellation_is_reported_with_its_creation_line(kind: str) -> None:
    quiet = line(cancelled_swallowers, "quiet = ")
    loud = line(cancelled_swallowers, "loud = ")
    assert findings(cancelled_swallowers, kind) == [("ASL606", quiet), ("ASL606", loud)]


def test_swallowed_cancellation_says_where_and_how() -> None:
    with contextlib.suppress(AsyncSanError), sanitize("report") as san:
        asyncio.run(cancelled_swallowers())
    details = [finding.detail for finding in san.findings]
    cancel, suspended = line(cancelled_swallowers, "quiet.cancel()"), line(swallow, "sleep")
    assert details[0] == (
        f"cancel() called at {__file__}:{cancel} in cancelled_swallowers; while it was"
        f" suspended at {__file__}:{suspended} in swallow; then returned normally"
    )
    assert details[1].endswith("; then raised ValueError('instead')")


async def blocks_in_a_library() -> None:
    await asyncio.sleep(0)
    with contextlib.suppress(queue.Empty):
        queue.Queue().get(timeout=0.5)  # queue.py, then threading.py: blocked there


def test_blocked_loop_site_is_the_programs_line_and_names_the_library_frame() -> None:
    with contextlib.suppress(AsyncSanError), sanitize("report", block_threshold_ms=50) as san:
        asyncio.run(blocks_in_a_library())
    (finding,) = san.findings
    site = line(blocks_in_a_library, "queue.Queue()")
    assert (finding.code, finding.location) == (
        "ASL605",
        Frame(__file__, site, "blocks_in_a_library"),
    )
    assert re.fullmatch(
        r"blocked for \d+ ms \(threshold 50 ms\) in .*threading\.py:\d+ in wait",
        finding.detail,
    )


async def deliberate_cancellations() -> None:
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(sleeper(), 0.01)
    reraised = asyncio.create_task(sleeper())
    await asyncio.sleep(0)
    reraised.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await reraised
    if sys.version_info >= (3, 11):
        await asyncio.create_task(uncancelled())
        await asyncio.create_task(task_group_failure_caught())
        async with asyncio.timeout(0.01):
            with contextlib.suppress(asyncio.CancelledError):
                await sleeper()


async def uncancelled() -> None:
    task = asyncio.current_task()
    assert task is not None
    task.cancel()
    try:
        await asyncio.sleep(3600)
    except asyncio.CancelledError:
        task.uncancel()  # type: ignore[attr-defined]


async def task_group_failure_caught() -> None:
    """On 3.11 and 3.12, TaskGroup leaves this task with a cancel request it never
    uncancels (the failing child arrives while ``__aexit__`` waits)."""

    async def crash() -> None:
        await asyncio.sleep(0.01)
        raise ValueError("expected")

    with contextlib.suppress(Exception):
        async with asyncio.TaskGroup() as group:  # type: ignore[attr-defined]
            group.create_task(crash())


def test_deliberate_cancellations_are_not_reported() -> None:
    assert findings(deliberate_cancellations) == []


@pytest.mark.skipif(sys.version_info >= (3, 11), reason="3.10 has no uncancel()")
def test_cancel_scope_libraries_absorb_their_own_cancellation_on_310() -> None:
    anyio = pytest.importorskip("anyio")

    async def main() -> None:
        with anyio.move_on_after(0.01):
            await asyncio.sleep(3600)

    assert findings(main) == []


@pytest.mark.skipif(sys.version_info < (3, 12), reason="eager tasks are 3.12+")
def test_eager_task_factory_keeps_its_tasks_checked() -> None:
    captured = asyncio.eager_task_factory  # type: ignore[attr-defined]

    async def main() -> None:
        loop = asyncio.get_running_loop()
        loop.set_task_factory(asyncio.eager_task_factory)  # type: ignore[attr-defined]
        assert loop.get_task_factory() is asyncio.eager_task_factory  # type: ignore[attr-defined]
        task = asyncio.create_task(swallow())
        task.cancel()
        await task
        # What anyio does: build tasks with the class found in the factory's closure.
        build = loop.get_task_factory().__closure__[0].cell_contents  # type: ignore[union-attr]
        task = build(swallow(), loop=loop)
        await asyncio.sleep(0)  # not eager: let it start
        task.cancel()
        await task
        loop.set_task_factory(captured)  # taken before the sanitizer was on
        assert loop.get_task_factory() is captured
        task = asyncio.create_task(swallow())  # through the captured factory
        task.cancel()
        await task

    assert findings(main) == [
        ("ASL606", line(main, "task = asyncio")),
        ("ASL606", line(main, "task = build")),
        ("ASL606", line(main, "through the captured factory")),
    ]


async def lock_then(first: asyncio.Lock, second: asyncio.Lock) -> None:
    async with first:
        await asyncio.sleep(0)
        async with second:
            pass


async def two_lock_deadlock() -> None:
    a, b = asyncio.Lock(), asyncio.Lock()
    keep_busy = asyncio.create_task(ticker())  # timers never let the loop idle
    one = asyncio.create_task(lock_then(a, b))
    two = asyncio.create_task(lock_then(b, a))
    try:
        await asyncio.gather(one, two)
    finally:
        keep_busy.cancel()


async def ticker() -> None:
    for _ in range(100_000):
        await asyncio.sleep(0.005)


@pytest.mark.parametrize("kind", LOOPS)
def test_lock_cycle_is_ended_with_a_deadlock_error(kind: str) -> None:
    assert findings(two_lock_deadlock, kind) == [("ASL610", line(two_lock_deadlock, "two = "))]


def test_lock_cycle_report_names_owners_and_chains() -> None:
    with pytest.raises(DeadlockError) as raised, sanitize("strict"):
        asyncio.run(two_lock_deadlock())
    (finding,) = raised.value.findings
    names = re.fullmatch(r"wait-for cycle '(Task-\d+)' -> '(Task-\d+)' -> '\1'", finding.subject)
    assert names is not None
    two, one = names.groups()
    lines = finding.detail.splitlines()
    assert lines[0] == f"wait-for cycle (each task waits for the next); '{two}' closed it:"
    assert re.fullmatch(
        f"  task '{two}' running lock_then\\(\\) waits for Lock at 0x[0-9a-f]+ \\(acquire\\)"
        f" held by task '{one}' running lock_then\\(\\)",
        lines[1],
    )
    assert lines[3:5] == [
        f"      {__file__}:{line(lock_then, 'async with second')} in lock_then",
        "        async with second:",
    ]
    behind = lines[lines.index("waiting behind the cycle:") + 1]
    assert re.fullmatch(
        "  task 'Task-\\d+' running two_lock_deadlock\\(\\) waits for gather\\(\\) of"
        f" task '{one}' running lock_then\\(\\), task '{two}' running lock_then\\(\\)",
        behind,
    )


async def awaits_what_needs_its_lock() -> None:
    lock = asyncio.Lock()

    async def needs_lock() -> None:
        async with lock:
            pass

    async with lock:
        task = asyncio.create_task(needs_lock())
        await asyncio.sleep(0.01)
        with contextlib.suppress(DeadlockError):
            await task


async def semaphore_cycle() -> None:
    pool, lock = asyncio.Semaphore(1), asyncio.Lock()

    async def pool_then_lock() -> None:
        async with pool:
            await asyncio.sleep(0)
            async with lock:
                pass

    async def lock_then_pool() -> None:
        async with lock:
            await asyncio.sleep(0)
            async with pool:
                pass

    first = asyncio.create_task(pool_then_lock())
    second = asyncio.create_task(lock_then_pool())
    await asyncio.gather(first, second, return_exceptions=True)


def test_cycles_through_an_awaited_task_and_a_semaphore() -> None:
    site = line(awaits_what_needs_its_lock, "task = ")
    assert findings(awaits_what_needs_its_lock) == [("ASL610", site)]
    assert findings(semaphore_cycle) == [("ASL610", line(semaphore_cycle, "second = "))]


async def nothing_can_wake() -> None:
    queue: asyncio.Queue[int] = asyncio.Queue()
    waiter = asyncio.create_task(asyncio.Event().wait())
    await asyncio.sleep(0)
    try:
        await queue.get()
    finally:
        waiter.cancel()


def test_stall_is_reported_where_the_tasks_wait() -> None:
    with pytest.raises(DeadlockError) as raised, sanitize("strict", deadlock_grace_ms=100):
        asyncio.run(nothing_can_wake())
    (finding,) = raised.value.findings
    assert (finding.code, finding.subject) == ("ASL610", "2 pending tasks that nothing can wake")
    assert finding.location is not None
    assert finding.location.lineno == line(nothing_can_wake, "await queue.get()")
    waits = [text for text in finding.detail.splitlines() if " waits for " in text]
    assert [re.sub(r"'Task-\d+'|0x[0-9a-f]+", "_", text) for text in waits] == [
        "  task _ running nothing_can_wake() waits for Queue at _ (get)",
        "  task _ running Event.wait() waits for Event at _ (wait)",
    ]


async def wakes_up_eventually() -> None:
    loop = asyncio.get_running_loop()
    lock = asyncio.Lock()
    await asyncio.gather(*(lock_then(lock, asyncio.Lock()) for _ in range(3)))
    future = loop.create_future()

    def later() -> None:
        time.sleep(0.3)
        loop.call_soon_threadsafe(future.set_result, None)

    thread = threading.Thread(target=later)
    thread.start()
    await future
    thread.join()
    await loop.run_in_executor(None, time.sleep, 0.3)
    event = asyncio.Event()
    threading.Timer(0.3, loop.call_soon_threadsafe, (event.set,)).start()
    await event.wait()


def test_contention_threads_and_timers_are_not_deadlocks() -> None:
    assert findings(wakes_up_eventually, deadlock_grace_ms=100) == []


async def thread_calls_the_loop() -> None:
    loop = asyncio.get_running_loop()
    done = loop.create_future()

    def finish() -> None:
        for _ in range(2):
            loop.call_soon(lambda: None)
        loop.call_soon_threadsafe(done.set_result, None)

    thread = threading.Thread(target=finish)
    thread.start()
    await done
    thread.join()


@pytest.mark.parametrize("kind", LOOPS)
def test_wrong_thread_is_opt_in_and_reported_once_per_site(kind: str) -> None:
    assert findings(thread_calls_the_loop, kind) == []
    site = line(thread_calls_the_loop, "loop.call_soon(lambda")
    assert findings(thread_calls_the_loop, kind, checks=["default", "ASL609"]) == [("ASL609", site)]


async def numbers() -> Any:
    yield 1
    yield 2


async def abandons_a_generator() -> None:
    async for _ in numbers():
        break


@needs_uvloop
def test_unfinished_async_generator_on_uvloop() -> None:
    site = line(abandons_a_generator, "async for")
    assert findings(abandons_a_generator, "uvloop") == [("ASL607", site)]


async def leaks() -> None:
    asyncio.create_task(sleeper())  # noqa: RUF006


def test_ignore_matches_the_creating_module() -> None:
    assert findings(leaks, grace_ms=0, ignore=[f"{__name__}.leaks"]) == []
    assert findings(leaks, grace_ms=0, ignore=[f"{__name__}.other*"]) == [
        ("ASL603", line(leaks, "create_task"))
    ]


def test_dump_shows_every_pending_task() -> None:
    async def main() -> str:
        lock = asyncio.Lock()
        await lock.acquire()
        blocked = asyncio.create_task(lock_then(lock, asyncio.Lock()))
        await asyncio.sleep(0)
        text = waits.dump()
        blocked.cancel()
        return text

    with sanitize("strict"):
        text = asyncio.run(main())
    lines = text.splitlines()
    assert lines[0].startswith("event loop _UnixSelectorEventLoop at 0x")
    assert re.fullmatch(
        "  task 'Task-\\d+' running [\\w.<>]*main\\(\\) waits for nothing:"
        " it is running or about to run",
        lines[1],
    )
    assert re.fullmatch(
        "  task 'Task-\\d+' running lock_then\\(\\) waits for Lock at 0x[0-9a-f]+ \\(acquire\\)"
        " held by task 'Task-\\d+' running [\\w.<>]*main\\(\\)",
        next(text for text in lines if "running lock_then()" in text),
    )


def test_framework_tasks_decide_what_cancellation_means() -> None:
    """anyio's portal tasks answer a cancellation by finishing normally, or by raising
    ``concurrent.futures.CancelledError`` to the waiting thread: by design."""
    anyio = pytest.importorskip("anyio")
    from anyio.from_thread import BlockingPortal

    def call(portal: BlockingPortal) -> None:
        with contextlib.suppress(concurrent.futures.CancelledError):
            portal.call(anyio.sleep, 3600)

    async def main() -> None:
        with contextlib.suppress(Exception):
            async with BlockingPortal() as portal:
                thread = threading.Thread(target=call, args=(portal,))
                thread.start()
                await anyio.sleep(0.1)
                raise Exception  # the portal cancels its tasks
        thread.join()

    assert findings(main) == []
