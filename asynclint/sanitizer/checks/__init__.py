"""The checks, one module per mechanism; each has ``install(sanitizer, patcher)``.

Only ASL601 hooks something at activation (the ``warnings`` module, always imported);
everything else waits for the program to import ``asyncio``.
"""

from __future__ import annotations

from types import ModuleType

from asynclint.sanitizer.checks import coroutines
from asynclint.sanitizer.core import Sanitizer
from asynclint.sanitizer.patches import Patcher


def install(san: Sanitizer, patcher: Patcher) -> None:
    coroutines.install(san, patcher)

    def on_asyncio(_: ModuleType) -> None:
        from asynclint.sanitizer.checks import (
            asyncgens,
            cancellation,
            deadlocks,
            loops,
            resources,
            tasks,
            threads,
        )

        for module in (loops, tasks, cancellation, deadlocks, threads, asyncgens, resources):
            module.install(san, patcher)

    patcher.expect("uvloop")  # imports asyncio first: its hooks are set up during that import
    patcher.when_imported("asyncio", on_asyncio)
