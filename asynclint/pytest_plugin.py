"""pytest integration of the asyncsan runtime sanitizer.

``pytest --asyncsan[=MODE]``, the ini option ``asyncsan = MODE`` and the marker
``@pytest.mark.asyncsan(ignore=[...], checks=[...], off=True)``. ``-X asyncsan`` and
``ASYNCSAN`` win over both (the sanitizer is then on before pytest starts). The sanitizer
is imported only when it is switched on, so this plugin costs nothing otherwise.

A finding fails the test that caused it: findings made during a phase (setup, call,
teardown) fail that phase, and tasks a test left pending fail its teardown. Tasks started
by fixtures wider than one test are never blamed on a test: they are reported at the end
of the session. A test that ends because the sanitizer broke its deadlock fails with the
deadlock report. With the ``hang-timeout`` option, a test still running after that many
seconds gets all its tasks dumped to the terminal, uncaptured.
"""

from __future__ import annotations

import gc
import importlib
import os
import sys
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from asynclint.sanitizer.config import Mode
    from asynclint.sanitizer.core import Sanitizer
    from asynclint.sanitizer.findings import Finding

_TASKS_MODULE = "asynclint.sanitizer.checks.tasks"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("asyncsan", "asyncsan runtime sanitizer")
    group.addoption(
        "--asyncsan",
        nargs="?",
        const="strict",
        default=None,
        metavar="MODE",
        help="run the asyncio sanitizer: strict (default: findings fail tests), warn, report",
    )
    group.addoption(
        "--asyncsan-report",
        default=None,
        metavar="FILE",
        help="write the sanitizer findings to FILE as JSON",
    )
    parser.addini("asyncsan", "asyncio sanitizer mode: strict, warn, report or off", default="")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "asyncsan(ignore=(), checks=(), off=False): tune the asyncio sanitizer for one test",
    )
    mode = _requested_mode(config)
    if mode is None:
        return
    from asynclint.sanitizer import core
    from asynclint.sanitizer.config import ConfigError

    try:
        san = core.active() or core.activate(mode)
    except ConfigError as error:
        raise pytest.UsageError(f"asyncsan: {error}") from None
    config.pluginmanager.register(_AsyncSanPlugin(san, config), "asyncsan-session")


def _requested_mode(config: pytest.Config) -> Mode | None:
    from asynclint.sanitizer.config import MODES, ConfigError, parse_mode, requested_mode

    try:
        requested = requested_mode()
        if requested is not None:
            return requested[0]
        option = config.getoption("asyncsan")
        if option is not None:
            if option not in MODES and os.path.exists(option.partition("::")[0]):
                raise ConfigError(
                    f"--asyncsan took {option!r} as its MODE; write --asyncsan=MODE before paths"
                )
            return parse_mode(option, "--asyncsan")
        ini = config.getini("asyncsan")
        return parse_mode(ini, "ini option asyncsan") if ini else None
    except ConfigError as error:
        raise pytest.UsageError(f"asyncsan: {error}") from None


def _pending_tasks() -> set[Any]:
    tasks = sys.modules.get(_TASKS_MODULE)
    return tasks.pending_tasks() if tasks is not None else set()


class _AsyncSanPlugin:
    def __init__(self, san: Sanitizer, config: pytest.Config) -> None:
        self.san = san
        self.config = config
        self.item: pytest.Item | None = None
        self.wide_fixtures = 0
        self.before: set[Any] = set()
        self.collector = _Collector() if san.options.mode != "report" else None
        self.pending: list[Finding] = []
        self.outside: list[Finding] = []
        self.collected: list[tuple[Finding, str | None]] = []
        self.first = len(san.findings)
        """Where this session's findings start (pytester can nest sessions in one process)."""
        self.terminal_fd = os.dup(2) if san.options.hang_timeout else -1
        """The real stderr (captured output is only shown once a test ends)."""
        san.sinks.append(self.sink)
        san.filters.append(self.wanted)
        if self.collector is not None:
            config.pluginmanager.register(self.collector, "asyncsan-collector")

    def _blamed(self, finding: Finding) -> pytest.Item | None:
        """The test to blame for a finding made now, if any."""
        item = self.item
        if item is None or self.wide_fixtures or finding.wide_scope:
            return None
        return item

    def wanted(self, finding: Finding) -> bool:
        item = self._blamed(finding)
        return item is None or _wanted(item, finding)

    def sink(self, finding: Finding) -> bool:
        item = self._blamed(finding)
        owner = None
        if item is not None:
            owner = item.nodeid
            self.pending.append(finding)
        else:
            self.outside.append(finding)
        self.collected.append((finding, owner))
        if self.san.options.mode == "warn":
            self.san.warn(finding)
        return True

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item) -> Generator[None, object, object]:
        self.item = item
        self.pending = []
        self.before = _pending_tasks()
        if self.collector is not None:
            self.collector.start()
        timeout = self.san.options.hang_timeout
        if timeout:
            importlib.import_module("asyncio")  # first: its import installs the checks
            from asynclint.sanitizer.checks import watchdog

            watchdog.arm(self.san, timeout, lambda: self._dump_hang(item.nodeid, timeout))
        try:
            return (yield)
        finally:
            if timeout:
                watchdog.disarm()
            self.item = None
            self.before = set()

    def _dump_hang(self, nodeid: str, timeout: float) -> None:
        """Runs in the watchdog thread, while the test may be stuck."""
        waits = sys.modules.get("asynclint.sanitizer.checks.waits")
        tasks = waits.dump() if waits is not None else "asyncio is not in use"
        text = f"\nasyncsan: {nodeid} still running after {timeout:g} s (hang-timeout):\n{tasks}\n"
        os.write(self.terminal_fd, text.encode(errors="replace"))

    @pytest.hookimpl(wrapper=True)
    def pytest_fixture_setup(self, fixturedef: Any) -> Generator[None, object, object]:
        if fixturedef.scope == "function":
            return (yield)
        self.wide_fixtures += 1
        before = _pending_tasks()
        try:
            return (yield)
        finally:
            self.wide_fixtures -= 1
            tasks = sys.modules.get(_TASKS_MODULE)
            if tasks is not None:
                tasks.fixture_owned.update(_pending_tasks() - before)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> Generator[None, object, object]:
        return (yield from self._phase(item, "setup"))

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, object, object]:
        return (yield from self._phase(item, "call"))

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_teardown(self, item: pytest.Item) -> Generator[None, object, object]:
        return (yield from self._phase(item, "teardown"))

    def _phase(self, item: pytest.Item, when: str) -> Generator[None, object, object]:
        try:
            result = yield
        except BaseException as error:  # the report replaces our own DeadlockError
            self._finish(item, when, failing=not _raised_by_sanitizer(error))
            raise
        self._finish(item, when, failing=False)
        return result

    def _finish(self, item: pytest.Item, when: str, failing: bool) -> None:
        if failing and self.collector is not None:  # the phase may have ended before it
            self.collector.collect(when)
        tasks = sys.modules.get(_TASKS_MODULE)
        if when == "teardown" and tasks is not None:
            tasks.report_test_leaks(self.san, self.before)
        found, self.pending = self.pending, []
        if not found or self.san.options.mode != "strict":
            return
        text = "\n\n".join(finding.render() for finding in found)
        if failing:
            item.add_report_section(when, "asyncsan", text)
        else:  # not chained to a DeadlockError that carries the same report
            raise pytest.fail.Exception(text, pytrace=False) from None

    @pytest.hookimpl(trylast=True)  # after the session fixtures are finalised
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        gc.collect()
        workeroutput = getattr(self.config, "workeroutput", None)
        if workeroutput is not None:  # a pytest-xdist worker: hand findings to the controller
            workeroutput["asyncsan"] = [(f.to_dict(), owner) for f, owner in self.collected]
        if self.outside and self.san.options.mode == "strict" and session.exitstatus == 0:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any) -> None:
        """pytest-xdist controller: collect what a worker found; findings outside any test
        count here as they would in a run without workers."""
        from asynclint.sanitizer.findings import Finding

        for data, owner in node.workeroutput.get("asyncsan", ()):
            finding = Finding.from_dict(data)
            self.collected.append((finding, owner))
            if owner is None:
                self.outside.append(finding)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        from asynclint.sanitizer import report

        mode = self.san.options.mode
        if self.outside and mode == "strict":
            terminalreporter.write_sep("=", "asyncsan findings outside any test")
            for finding in self.outside:
                terminalreporter.write_line(finding.render())
        if mode == "report":
            findings = [finding for finding, _ in self.collected]
            owners = [owner for _, owner in self.collected]
            terminalreporter.write_sep("=", "asyncsan report")
            terminalreporter.write_line(report.summary(findings, owners))
            path = self.config.getoption("asyncsan_report") or self.san.options.report_file
            if path:
                report.write_json(path, findings, owners)

    def pytest_unconfigure(self) -> None:
        if self.sink in self.san.sinks:
            self.san.sinks.remove(self.sink)
        if self.wanted in self.san.filters:
            self.san.filters.remove(self.wanted)
        if self.collector is not None:
            self.config.pluginmanager.unregister(self.collector)
        if self.terminal_fd >= 0:
            os.close(self.terminal_fd)
        del self.san.findings[self.first :]  # reported here: not again at exit


class _Collector:
    """Collects garbage at the end of a test's call and teardown, so that findings about
    what the test dropped (coroutines, tasks, generators, loops) land on that test.

    Plain ``trylast`` hooks run after the test function and the finalizers of its
    fixtures but before pytest looks for exceptions raised by finalizers (an unclosed
    socket's ResourceWarning made an error, say), which so land on this test rather than
    the next. Not used in report mode, which leaves the collector's timing, and what
    depends on it, as it would be without the sanitizer.

    A full collection costs milliseconds on a large heap, and only objects made during
    the test matter: they are all young unless a collection of generation 1 or 2 ran
    since the test started (that is what moves objects to the oldest generation). So the
    call ends with a collection of generation 0 (which ages nothing), the teardown with
    one of generation 1, or a full one if some of the test's objects may have aged.
    """

    def __init__(self) -> None:
        self.promotions = 0

    def start(self) -> None:
        self.promotions = _promotions()

    def collect(self, when: str) -> None:
        if when == "call":
            gc.collect(0)
        elif when == "teardown":
            gc.collect(2 if _promotions() != self.promotions else 1)

    @pytest.hookimpl(trylast=True)
    def pytest_runtest_call(self) -> None:
        self.collect("call")

    @pytest.hookimpl(trylast=True)
    def pytest_runtest_teardown(self) -> None:
        self.collect("teardown")


def _promotions() -> int:
    """Collections that move objects into the oldest generation (of generations 1 and 2)."""
    stats = gc.get_stats()
    return int(stats[1]["collections"]) + int(stats[2]["collections"])


def _raised_by_sanitizer(error: BaseException) -> bool:
    """A `DeadlockError` (the sanitizer ending a deadlock), alone or in exception groups."""
    from asynclint.sanitizer.core import AsyncSanError

    group = getattr(error, "exceptions", None)
    if isinstance(group, tuple) and group:
        return all(_raised_by_sanitizer(member) for member in group)
    return isinstance(error, AsyncSanError)


def _wanted(item: pytest.Item, finding: Finding) -> bool:
    """Apply the test's ``asyncsan`` marker (closest one wins)."""
    marker = item.get_closest_marker("asyncsan")
    if marker is None:
        return True
    from asynclint.sanitizer.core import Sanitizer
    from asynclint.sanitizer.findings import check_code

    if marker.kwargs.get("off"):
        return False
    checks = marker.kwargs.get("checks")
    if checks and finding.code not in {check_code(check) for check in checks}:
        return False
    return not Sanitizer.ignored(finding, tuple(marker.kwargs.get("ignore", ())))
