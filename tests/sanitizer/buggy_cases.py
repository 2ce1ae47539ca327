"""Deliberately buggy async tests, one per finding; each bug sits on a line marked
``# bug: CODE``. Copied into a pytester directory by test_pytest_plugin.py."""

import asyncio
import gc
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
async def test_async_generator_not_finalized() -> None:
    async for _ in numbers():  # bug: ASL607
        break


def test_unclosed_loop() -> None:
    loop = asyncio.new_event_loop()  # bug: ASL608
    del loop
