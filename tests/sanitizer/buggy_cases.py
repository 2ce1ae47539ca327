"""Deliberately buggy async tests, one per finding; each bug sits on a line marked
``# bug: CODE``. Copied into a pytester directory by test_pytest_plugin.py."""

import asyncio
import contextlib
import gc
import threading
import time

import pytest


async def worker() -> None:
    await asyncio.sleep(3600)


async def fail() -> None:
    raise ValueError("lost")


async def wait_on_orphan() -> None:
    await asyncio.get_running_loop().create_future()


async def numbers():  # type: ignore[no-untyped-def]
    yield 1
    yield 2


async def swallow() -> None:
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.sleep(3600)


async def lock_then(first: asyncio.Lock, second: asyncio.Lock) -> None:
    async with first:
        await asyncio.sleep(0)
        async with second:
            pass


@pytest.mark.asyncio
async def test_unawaited_coroutine() -> None:
    worker()  # bug: ASL601


@pytest.mark.asyncio
async def test_destroyed_pending() -> None:
    task = asyncio.create_task(wait_on_orphan())  # bug: ASL602
    await asyncio.sleep(0)
    del task
    gc.collect()


@pytest.mark.asyncio
async def test_leaked_task() -> None:
    asyncio.create_task(worker())  # bug: ASL603  # noqa: RUF006


@pytest.mark.asyncio
async def test_exception_never_retrieved() -> None:
    task = asyncio.create_task(fail())  # bug: ASL604
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    del task


@pytest.mark.asyncio
async def test_blocked_loop() -> None:
    await asyncio.sleep(0)
    time.sleep(0.5)  # bug: ASL605  # noqa: ASYNC251


@pytest.mark.asyncio
async def test_cancellation_swallowed() -> None:
    task = asyncio.create_task(swallow())  # bug: ASL606
    await asyncio.sleep(0)
    task.cancel()
    await task


@pytest.mark.asyncio
async def test_async_generator_not_finalized() -> None:
    async for _ in numbers():  # bug: ASL607
        break


def test_unclosed_loop() -> None:
    loop = asyncio.new_event_loop()  # bug: ASL608
    del loop


@pytest.mark.asyncio
async def test_loop_called_from_thread() -> None:
    loop = asyncio.get_running_loop()
    done = loop.create_future()

    def finish() -> None:
        loop.call_soon(done.set_result, None)  # bug: ASL609

    thread = threading.Thread(target=finish)
    thread.start()
    await done
    thread.join()


@pytest.mark.asyncio
async def test_deadlock() -> None:
    a, b = asyncio.Lock(), asyncio.Lock()
    one = asyncio.create_task(lock_then(a, b))
    two = asyncio.create_task(lock_then(b, a))  # bug: ASL610
    with contextlib.suppress(asyncio.TimeoutError):  # what ends it without asyncsan
        await asyncio.wait_for(asyncio.gather(one, two), 0.5)
