"""Where the sanitizer must work outside pytest: every way of running a loop, loops in
other threads, task factories, uvloop imported before asyncio, and objects that die
while the interpreter shuts down."""

from __future__ import annotations

import asyncio
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from tests.sanitizer.helpers import (
    clean_env,
    findings_of,
    line,
    needs_uvloop,
    python,
    uvloop,
    with_hook,
)


async def sleeper() -> None:
    await asyncio.sleep(3600)


async def leaks() -> None:
    asyncio.create_task(sleeper())  # noqa: RUF006


LEAK = line(leaks, "create_task")


def in_runner() -> None:
    if sys.version_info < (3, 11):
        pytest.skip("asyncio.Runner is 3.11+")
    with asyncio.Runner() as runner:  # type: ignore[attr-defined]
        runner.run(leaks())


def in_closed_loop() -> None:
    """The loop closes with the task pending; the task dies with it (ASL602)."""
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(leaks())
    finally:
        loop.close()


def in_thread() -> None:
    thread = threading.Thread(target=asyncio.run, args=(leaks(),))
    thread.start()
    thread.join()


def with_task_factory() -> None:
    async def main() -> None:
        def factory(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> Any:
            return asyncio.Task(coro, loop=loop, **kwargs)

        asyncio.get_running_loop().set_task_factory(factory)
        await leaks()

    asyncio.run(main())


@pytest.mark.parametrize(
    ("run", "expected"),
    [
        (lambda: asyncio.run(leaks()), [("ASL603", LEAK)]),
        (in_runner, [("ASL603", LEAK)]),
        (in_closed_loop, [("ASL602", LEAK)]),
        (in_thread, [("ASL603", LEAK)]),
        (with_task_factory, [("ASL603", LEAK)]),
    ],
    ids=["asyncio.run", "Runner", "run_until_complete", "thread", "task-factory"],
)
def test_every_runner_reports_the_leak_at_its_creation_line(
    run: Any, expected: list[tuple[str, int]], capsys: pytest.CaptureFixture[str]
) -> None:
    assert findings_of(run, grace_ms=0) == expected


@needs_uvloop
def test_uvloop_run_reports_the_leak(capsys: pytest.CaptureFixture[str]) -> None:
    assert uvloop is not None
    assert findings_of(lambda: uvloop.run(leaks()), grace_ms=0) == [("ASL603", LEAK)]


async def leaks_then_raises(error: BaseException) -> None:
    asyncio.create_task(sleeper())  # noqa: RUF006
    await asyncio.sleep(0)
    raise error


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (KeyboardInterrupt(), []),
        (SystemExit(2), []),
        (ValueError("boom"), [("ASL603", line(leaks_then_raises, "create_task"))]),
    ],
    ids=["KeyboardInterrupt", "SystemExit", "ValueError"],
)
def test_interrupted_runner_cancelling_what_is_left_is_no_leak(
    error: BaseException, expected: list[tuple[str, int]], capsys: pytest.CaptureFixture[str]
) -> None:
    """Ctrl-C or an exit ends the program through the runner's cancellation by design;
    an ordinary failure still leaves a leaked task behind."""

    def run() -> None:
        with pytest.raises(type(error)):
            asyncio.run(leaks_then_raises(error))

    assert findings_of(run, grace_ms=0) == expected


UVLOOP_FIRST = """\
import uvloop
import asyncio

async def swallow():
    try:
        await asyncio.sleep(3600)
    except asyncio.CancelledError:
        pass

async def main():
    task = asyncio.create_task(swallow())
    await asyncio.sleep(0)
    task.cancel()
    await task
    print("main done")

loop = uvloop.new_event_loop()
loop.run_until_complete(main())
loop.close()
"""


@needs_uvloop
def test_uvloop_imported_before_asyncio(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """uvloop's first line imports asyncio, whose hooks then wait for uvloop to finish
    importing (they used to look up ``uvloop.Loop`` on the half-made module and crash)."""
    clean_env(monkeypatch)
    result = python(tmp_path, "-X", "asyncsan", *with_hook(tmp_path, UVLOOP_FIRST))
    assert (result.returncode, result.stdout) == (1, "main done\n")
    assert "asyncsan ASL606 cancellation-swallowed: task 'Task-2' running swallow()" in (
        result.stderr
    )
    assert "    <string>:11 in main" in result.stderr


SHUTDOWN = """\
import asyncio

loop = asyncio.new_event_loop()  # never closed: it dies with the module, after atexit
print("script done")
"""


@pytest.mark.parametrize("mode", ["strict", "report"])
def test_objects_dying_at_shutdown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    """Strict mode still fails the process for them; report mode, which has printed its
    summary by then, leaves the exit status alone."""
    clean_env(monkeypatch)
    result = python(tmp_path, "-X", f"asyncsan={mode}", *with_hook(tmp_path, SHUTDOWN))
    assert result.stdout == "script done\n"
    if mode == "strict":
        assert result.returncode == 1
        assert "asyncsan ASL608 resource-not-closed: _UnixSelectorEventLoop" in result.stderr
        assert "    <string>:3 in <module>" in result.stderr
        assert result.stderr.endswith("asyncsan: 1 finding in strict mode; exit status 1\n")
    else:
        assert (result.returncode, result.stderr) == (0, "")
