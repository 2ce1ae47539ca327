"""A process-wide setting held while any thread needs it."""

from __future__ import annotations

import threading
from collections.abc import Callable


class Counted:
    """Calls `on` when the first user enters and `off` when the last one leaves: threads
    may overlap, and each must find the setting in place until it is done."""

    def __init__(self, on: Callable[[], None], off: Callable[[], None]) -> None:
        self._on = on
        self._off = off
        self._lock = threading.Lock()
        self._users = 0

    def __enter__(self) -> None:
        with self._lock:
            if self._users == 0:
                self._on()
            self._users += 1

    def __exit__(self, *exc_info: object) -> None:
        with self._lock:
            self._users -= 1
            if self._users == 0:
                self._off()
