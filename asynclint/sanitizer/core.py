"""The active sanitizer: switching it on and off, and where findings go.

There is one sanitizer per process because what it hooks (asyncio's classes, the warnings
module, coroutine origin tracking) is process-wide. A finding first goes to the sinks
(the pytest plugin registers one to blame the running test); if no sink takes it, the
mode decides: ``strict`` prints it and makes the process exit with status 1, ``warn``
emits an `AsyncSanWarning` pointing at the creation line, ``report`` keeps it for the
summary printed at exit.
"""

from __future__ import annotations

import atexit
import fnmatch
import gc
import os
import sys
import threading
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

from asynclint.sanitizer import frames, report
from asynclint.sanitizer.config import ENV_MODE, ENV_OPTIONS, Mode, Options, resolve
from asynclint.sanitizer.findings import Finding
from asynclint.sanitizer.patches import Patcher

Sink = Callable[[Finding], bool]
"""Gets every finding first; returns True when it has dealt with it."""


class AsyncSanWarning(RuntimeWarning):
    """A finding, in ``warn`` mode."""


class AsyncSanError(Exception):
    """Raised when a `sanitize` block in strict mode ends with findings."""

    def __init__(self, findings: list[Finding]) -> None:
        self.findings = findings
        super().__init__("\n".join(finding.render() for finding in findings))


class DeadlockError(AsyncSanError):
    """Raised, in strict mode, into a task of a deadlock to end it; it carries the finding."""


class Sanitizer:
    def __init__(self, options: Options) -> None:
        self.options = options
        self.findings: list[Finding] = []
        self.unhandled: list[Finding] = []
        """Strict-mode findings no sink took: they decide the exit status."""
        self.sinks: list[Sink] = []
        self.filters: list[Callable[[Finding], bool]] = []
        """Each may veto a finding (the pytest plugin applies the running test's marker)."""
        self._lock = threading.Lock()

    def enabled(self, code: str) -> bool:
        return code in self.options.checks

    def emit(self, finding: Finding) -> bool:
        """Record and dispatch a finding; False if it was filtered out (ignored)."""
        if not self.enabled(finding.code) or self.ignored(finding, self.options.ignore):
            return False
        if not all(wanted(finding) for wanted in list(self.filters)):
            return False
        with self._lock:
            self.findings.append(finding)
            sinks = list(self.sinks)
        for sink in reversed(sinks):
            if sink(finding):
                return True
        self.dispatch(finding)
        return True

    def dispatch(self, finding: Finding, stream: TextIO | None = None) -> None:
        """What the mode does with a finding that no sink took."""
        if self.options.mode == "strict":
            with self._lock:
                self.unhandled.append(finding)
            print(finding.render(), file=stream or sys.stderr, flush=True)
            if _exit_checked:  # a module global or a cycle that died after our exit hook
                _exit_failed(len(self.unhandled))
        elif self.options.mode == "warn":
            self.warn(finding)

    @staticmethod
    def warn(finding: Finding) -> None:
        """Warn at the creation line, so warning filters and reports point at user code."""
        message = AsyncSanWarning(finding.render())
        where = finding.location
        if where is None:
            warnings.warn(message, stacklevel=2)
        else:
            warnings.warn_explicit(message, AsyncSanWarning, where.filename, where.lineno)

    @staticmethod
    def ignored(finding: Finding, patterns: tuple[str, ...]) -> bool:
        """Whether a pattern matches the finding's names or the modules that created it."""
        if not patterns:
            return False
        tags = (*finding.tags, *frames.site_tags(finding.site))
        return any(fnmatch.fnmatchcase(tag, pattern) for pattern in patterns for tag in tags)


_active: Sanitizer | None = None
_patcher: Patcher | None = None
_saved_env: dict[str, str | None] = {}
_saved_depth = 0
_exit_hook_registered = False
_exit_checked = False


def active() -> Sanitizer | None:
    """The running sanitizer, if any."""
    return _active


def activate(
    mode: Mode = "strict",
    *,
    checks: list[str] | None = None,
    block_threshold_ms: float | None = None,
    grace_ms: float | None = None,
    deadlock_grace_ms: float | None = None,
    hang_timeout: float | None = None,
    depth: int | None = None,
    ignore: list[str] | None = None,
    report_file: str | None = None,
    export: bool = True,
) -> Sanitizer:
    """Switch the sanitizer on (or reconfigure it) for the whole process.

    Unset options come from ``ASYNCSAN_OPTIONS``, then ``[tool.asynclint.sanitizer]``.
    With `export`, the mode and options are copied to the environment so that child
    processes are sanitized the same way. Raises `ConfigError` for bad values.
    """
    overrides = {
        "checks": checks,
        "block_threshold_ms": block_threshold_ms,
        "grace_ms": grace_ms,
        "deadlock_grace_ms": deadlock_grace_ms,
        "hang_timeout": hang_timeout,
        "depth": depth,
        "ignore": ignore,
        "report_file": report_file,
    }
    return _install(resolve(mode, overrides), export)


def _install(options: Options, export: bool) -> Sanitizer:
    global _active, _patcher, _saved_depth, _exit_hook_registered
    if _active is not None:
        _uninstall()
        _active.options = options
    else:
        _active = Sanitizer(options)
        _saved_depth = sys.get_coroutine_origin_tracking_depth()
    from asynclint.sanitizer import checks

    _patcher = Patcher()
    sys.set_coroutine_origin_tracking_depth(options.depth)
    checks.install(_active, _patcher)
    if export:
        _export({ENV_MODE: options.mode, ENV_OPTIONS: options.to_env() or None})
    if not _exit_hook_registered:
        atexit.register(_at_exit)
        _exit_hook_registered = True
    return _active


def deactivate() -> list[Finding]:
    """Undo every hook and the environment export; return all findings of the run."""
    global _active
    san = _active
    if san is None:
        return []
    _uninstall()
    sys.set_coroutine_origin_tracking_depth(_saved_depth)
    _export(dict(_saved_env))
    _saved_env.clear()
    _active = None
    return san.findings


@contextmanager
def sanitize(mode: Mode = "strict", **options: object) -> Iterator[Sanitizer]:
    """Sanitize one block; in strict mode, raise `AsyncSanError` if it had findings.

    When the sanitizer was already on, it stays on (with its old options) afterwards.
    """
    previous = _active.options if _active is not None else None
    san = activate(mode, **options)  # type: ignore[arg-type]
    start = len(san.unhandled)
    try:
        yield san
        gc.collect()
    finally:
        found = san.unhandled[start:]
        del san.unhandled[start:]
        if previous is None:
            deactivate()
        else:
            _install(previous, export=True)
    if found:
        raise AsyncSanError(found)


def _uninstall() -> None:
    global _patcher
    from asynclint.sanitizer.checks import watchdog

    watchdog.stop()
    if _patcher is not None:
        _patcher.restore()
        _patcher = None


def _export(values: dict[str, str | None]) -> None:
    for key, value in values.items():
        _saved_env.setdefault(key, os.environ.get(key))
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def _at_exit() -> None:
    """Print the report-mode summary; in strict mode, fail the process on findings."""
    global _exit_checked
    san = _active
    if san is None:
        return
    gc.collect()
    if san.options.mode == "report":
        if san.findings:
            print(report.summary(san.findings), file=sys.stderr)
        if san.findings and san.options.report_file:
            report.write_json(san.options.report_file, san.findings)
    _exit_checked = True
    if san.unhandled:
        _exit_failed(len(san.unhandled))


def _exit_failed(count: int) -> None:
    """End the process with status 1: the exit status is already decided when objects
    die during interpreter shutdown, so raising ``SystemExit`` would be ignored."""
    print(
        f"asyncsan: {count} finding{'s' * (count != 1)} in strict mode; exit status 1",
        file=sys.stderr,
    )
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(1)
