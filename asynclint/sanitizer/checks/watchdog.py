"""ASL605 (the event loop blocked), the clock of ASL610, and the hang timeout.

One daemon thread watches every running loop: it posts a no-op through
``call_soon_threadsafe`` and waits for the loop to run it. If the answer is later than
the threshold, it samples the loop thread's stack with ``sys._current_frames()`` *while*
the loop is still stuck, so the report shows where it blocked; the loop thread reports
(with the measured delay) when the answer finally runs, so in pytest the finding lands on
the test that blocked. A loop that stops running is forgotten until it runs again, so the
pauses between two ``run_until_complete`` calls are never mistaken for blocking.

Each answer also runs the `periodic` checks in the loop thread (deadlock detection needs a
regular look at loops that may be idle), and the thread fires the armed hang timeout.
A loop seen waiting for events (its thread in the selector) cannot be blocked, so it is
pinged only often enough for those checks: waking an idle loop forty times a second costs
little by itself, but libraries that instrument socket calls made on the loop thread
(blockbuster, used by anyio's test suite) pay a stack inspection for every wake-up.
"""

from __future__ import annotations

import selectors
import sys
import threading
import time
import weakref
from asyncio import AbstractEventLoop
from collections.abc import Callable

from asynclint.sanitizer import frames
from asynclint.sanitizer.core import Sanitizer
from asynclint.sanitizer.findings import Finding, Frame

periodic: tuple[Callable[[AbstractEventLoop], None], ...] = ()
"""Run in a watched loop's own thread at each answer (set through the patcher)."""


_SELECTORS = selectors.__file__


class _Monitor:
    __slots__ = ("last_sent", "sample", "sent_at", "seq", "thread_id")

    def __init__(self, thread_id: int) -> None:
        self.seq = 0
        self.sent_at: float | None = None
        self.last_sent = 0.0
        self.sample: list[frames.RawFrame] | None = None
        self.thread_id = thread_id


class _Watchdog(threading.Thread):
    def __init__(self, san: Sanitizer) -> None:
        super().__init__(name="asyncsan-watchdog", daemon=True)
        self.san = san
        self.threshold = san.options.block_threshold_ms / 1000
        self.interval = max(self.threshold / 4, 0.005)
        self.monitors: weakref.WeakKeyDictionary[AbstractEventLoop, _Monitor] = (
            weakref.WeakKeyDictionary()
        )
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.sampling = san.enabled("ASL605")
        self.idle_interval = min(max(san.options.deadlock_grace_ms / 4000, self.interval), 0.25)
        self.deadline: tuple[float, Callable[[], None]] | None = None

    def run(self) -> None:
        while not self.stopping.wait(self.interval):
            with self.lock:
                watched = list(self.monitors.items())
            for loop, monitor in watched:
                self._tick(loop, monitor)
            del watched
            deadline = self.deadline
            if deadline is not None and time.monotonic() >= deadline[0]:
                self.deadline = None
                deadline[1]()

    def _tick(self, loop: AbstractEventLoop, monitor: _Monitor) -> None:
        if not loop.is_running() or loop.is_closed():
            monitor.seq += 1
            monitor.sent_at = monitor.sample = None
            return
        now = time.monotonic()
        if monitor.sent_at is None:
            if now - monitor.last_sent < self.idle_interval and self._idle(monitor):
                return
            monitor.seq += 1
            monitor.sent_at = monitor.last_sent = now
            try:
                loop.call_soon_threadsafe(self._answer, loop, monitor, monitor.seq)
            except RuntimeError:  # closed in the meantime
                monitor.sent_at = None
        elif self.sampling and monitor.sample is None and now - monitor.sent_at > self.threshold:
            frame = sys._current_frames().get(monitor.thread_id)
            monitor.sample = frames.walk(frame) if frame is not None else []

    @staticmethod
    def _idle(monitor: _Monitor) -> bool:
        """The loop thread waits for events: in asyncio's selector, or (uvloop, whose
        waiting is all C) in ``run_forever`` itself."""
        frame = sys._current_frames().get(monitor.thread_id)
        if frame is None:
            return False
        code = frame.f_code
        return code.co_filename == _SELECTORS or code.co_name == "run_forever"

    def _answer(self, loop: AbstractEventLoop, monitor: _Monitor, seq: int) -> None:
        """Runs in the loop thread."""
        sent_at, sample = monitor.sent_at, monitor.sample
        if seq == monitor.seq and sent_at is not None:
            monitor.sent_at = monitor.sample = None
            elapsed = time.monotonic() - sent_at
            if sample is not None and elapsed > self.threshold:
                self._blocked(sample, elapsed)
        for check in periodic:
            check(loop)

    def _blocked(self, sample: list[frames.RawFrame], elapsed: float) -> None:
        """The site is the program's own code; the frame it was blocked in, when that is
        library code, is named in the detail."""
        site = frames.code_frames(sample) or frames.user_frames(sample)
        detail = f"blocked for {elapsed * 1000:.0f} ms (threshold {self.threshold * 1000:.0f} ms)"
        inner = Frame(*sample[0]) if sample else None
        if inner is not None and (not site or site[0] != inner):
            detail += f" in {inner}"
        self.san.emit(
            Finding(
                "ASL605",
                f"event loop in thread {threading.current_thread().name!r}",
                site,
                detail=detail,
                site_label="blocked at",
                tags=tuple(frame.function for frame in site) + ((inner.function,) if inner else ()),
            )
        )


_watchdog: _Watchdog | None = None
_starting = threading.Lock()


def _started(san: Sanitizer) -> _Watchdog:
    global _watchdog
    with _starting:
        if _watchdog is None:
            _watchdog = _Watchdog(san)
            _watchdog.start()
        return _watchdog


def watch(san: Sanitizer, loop: AbstractEventLoop, thread_id: int) -> None:
    """Watch `loop`, run by thread `thread_id` (called as the loop starts running)."""
    dog = _started(san)
    with dog.lock:
        monitor = dog.monitors.get(loop)
        if monitor is None:
            dog.monitors[loop] = _Monitor(thread_id)
        else:
            monitor.thread_id = thread_id


def arm(san: Sanitizer, seconds: float, fire: Callable[[], None]) -> None:
    """Call `fire` (in the watchdog thread) `seconds` from now, unless `disarm` comes first."""
    _started(san).deadline = (time.monotonic() + seconds, fire)


def disarm() -> None:
    if _watchdog is not None:
        _watchdog.deadline = None


def stop() -> None:
    global _watchdog
    if _watchdog is not None:
        _watchdog.stopping.set()
        if _watchdog is not threading.current_thread():
            _watchdog.join()
        _watchdog = None
