"""Correct look-alikes of the buggy cases: the sanitizer must report none of them."""

import asyncio
import contextlib
import sys
import threading
import time

import pytest


async def short() -> int:
    await asyncio.sleep(0)
    return 1


async def worker() -> None:
    await asyncio.sleep(3600)


async def fail() -> None:
    raise ValueError("expected")


async def numbers():  # type: ignore[no-untyped-def]
    yield 1
    yield 2


@pytest.mark.asyncio
async def test_awaited_coroutine() -> None:
    assert await short() == 1


@pytest.mark.asyncio
async def test_awaited_task() -> None:
    task = asyncio.create_task(short())
    assert await task == 1


@pytest.mark.asyncio
async def test_gathered_tasks() -> None:
    assert await asyncio.gather(short(), asyncio.create_task(short())) == [1, 1]


@pytest.mark.skipif(sys.version_info < (3, 11), reason="TaskGroup is 3.11+")
@pytest.mark.asyncio
async def test_task_group() -> None:
    async with asyncio.TaskGroup() as group:
        task = group.create_task(short())
    assert task.result() == 1


@pytest.mark.asyncio
async def test_cancel_then_await() -> None:
    task = asyncio.create_task(worker())
    await asyncio.sleep(0)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


@pytest.mark.asyncio
async def test_gather_return_exceptions() -> None:
    results = await asyncio.gather(fail(), short(), return_exceptions=True)
    assert isinstance(results[0], ValueError)


@pytest.mark.asyncio
async def test_to_thread() -> None:
    await asyncio.to_thread(time.sleep, 0.2)


@pytest.mark.asyncio
async def test_closed_async_generator() -> None:
    agen = numbers()
    assert await agen.__anext__() == 1
    await agen.aclose()
    assert [n async for n in numbers()] == [1, 2]


@pytest.mark.asyncio
async def test_timeout() -> None:
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(worker(), 0.01)
    if sys.version_info >= (3, 11):
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.01):
                await worker()


@pytest.mark.asyncio
async def test_call_soon_threadsafe() -> None:
    loop = asyncio.get_running_loop()
    future = loop.create_future()
    thread = threading.Thread(target=loop.call_soon_threadsafe, args=(future.set_result, 7))
    thread.start()
    assert await future == 7
    thread.join()


def test_closed_loop() -> None:
    loop = asyncio.new_event_loop()
    loop.close()


async def lock_then(first: asyncio.Lock, second: asyncio.Lock) -> int:
    async with first:
        await asyncio.sleep(0.01)
        async with second:
            return 1


@pytest.mark.asyncio
async def test_lock_contention_resolves() -> None:
    a, b = asyncio.Lock(), asyncio.Lock()
    tasks = [asyncio.create_task(lock_then(a, b)) for _ in range(3)]
    limit = asyncio.Semaphore(2)

    async def limited() -> int:
        async with limit:
            return await lock_then(b, asyncio.Lock())

    assert await asyncio.gather(*tasks, limited(), limited(), limited()) == [1] * 6


@pytest.mark.asyncio
async def test_cancellation_cleaned_up_and_reraised() -> None:
    cleaned = []

    async def cleanup() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cleaned.append(True)
            raise

    task = asyncio.create_task(cleanup())
    await asyncio.sleep(0)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert cleaned == [True]


@pytest.mark.skipif(sys.version_info < (3, 11), reason="uncancel() is 3.11+")
@pytest.mark.asyncio
async def test_cancellation_uncancelled_deliberately() -> None:
    async def absorb() -> str:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            asyncio.current_task().uncancel()  # type: ignore[union-attr]
        return "absorbed"

    task = asyncio.create_task(absorb())
    await asyncio.sleep(0)
    task.cancel()
    assert await task == "absorbed"


@pytest.mark.skipif(sys.version_info < (3, 11), reason="TaskGroup is 3.11+")
@pytest.mark.asyncio
async def test_task_group_failure_caught() -> None:
    async def crash() -> None:
        await asyncio.sleep(0.01)
        raise ValueError("expected")

    async def parent() -> str:
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(crash())
                group.create_task(worker())
        except Exception as error:  # an ExceptionGroup
            return type(error.exceptions[0]).__name__  # type: ignore[attr-defined]
        return "no error"

    assert await asyncio.create_task(parent()) == "ValueError"


@pytest.mark.asyncio
async def test_slow_thread_wakes_the_loop() -> None:
    loop = asyncio.get_running_loop()
    future = loop.create_future()

    def later() -> None:
        time.sleep(0.5)
        loop.call_soon_threadsafe(future.set_result, "woken")

    thread = threading.Thread(target=later)
    thread.start()
    assert await future == "woken"
    thread.join()


@pytest.mark.asyncio
async def test_event_set_later() -> None:
    event = asyncio.Event()
    asyncio.get_running_loop().call_later(0.3, event.set)
    assert await event.wait()
