"""Cost of asyncsan's default checks against plain asyncio and asyncio debug mode.

A script, not a test: ``python bench/sanitizer_bench.py [--repeat N]``. Every figure comes
from the same process, interleaving the three configurations so machine noise hits all of
them alike; the ratios printed are best-of-N times relative to plain asyncio. Times are
the process's CPU time (the sanitizer's watchdog thread included), which other processes
on a busy machine disturb far less than wall-clock time. The cost goal (1.3x) is for the
first three; ``async with Lock`` shows what recording lock owners adds on top.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import platform
import time
from collections.abc import Awaitable, Callable

from asynclint import sanitizer

N = 20_000


async def _leaf() -> int:
    return 1


async def create_task_await() -> None:
    for _ in range(N):
        await asyncio.create_task(_leaf())


async def gather() -> None:
    for _ in range(N // 100):
        await asyncio.gather(*[_leaf() for _ in range(100)])


async def call_soon() -> None:
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    remaining = N

    def tick() -> None:
        nonlocal remaining
        remaining -= 1
        if remaining:
            loop.call_soon(tick)
        else:
            done.set_result(None)

    loop.call_soon(tick)
    await done


async def lock() -> None:
    held = asyncio.Lock()
    for _ in range(N):
        async with held:
            pass


BENCHMARKS: dict[str, Callable[[], Awaitable[None]]] = {
    "create_task+await": create_task_await,
    "gather": gather,
    "call_soon": call_soon,
    "async with Lock": lock,
}


def timed(bench: Callable[[], Awaitable[None]], config: str) -> float:
    debug = config == "debug"
    if config == "asyncsan":
        sanitizer.activate("report", export=False)
    try:
        start = time.process_time()
        asyncio.run(bench(), debug=debug)  # type: ignore[arg-type]
        return time.process_time() - start
    finally:
        if config == "asyncsan":
            sanitizer.deactivate()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeat", type=int, default=7, help="runs per configuration")
    args = parser.parse_args()
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)  # debug mode's slow-callback log
    configs = ("plain", "asyncsan", "debug")
    getloadavg = getattr(os, "getloadavg", lambda: ())  # not on Windows
    load = ", ".join(f"{value:.1f}" for value in getloadavg()) or "unknown"
    print(
        f"Python {platform.python_version()}, {N} operations, best of {args.repeat};"
        f" load average {load} (CPU time is less disturbed by load than wall time)"
    )
    print(f"{'benchmark':<20}{'plain us/op':>12}{'asyncsan':>10}{'debug':>10}")
    for name, bench in BENCHMARKS.items():
        best = dict.fromkeys(configs, float("inf"))
        for _ in range(args.repeat):
            for config in configs:
                best[config] = min(best[config], timed(bench, config))
        plain = best["plain"]
        print(
            f"{name:<20}{plain / N * 1e6:>12.2f}"
            f"{best['asyncsan'] / plain:>9.2f}x{best['debug'] / plain:>9.2f}x"
        )


if __name__ == "__main__":
    main()
