"""The pytest plugin, through real pytest runs: each buggy test fails with the right code
and creation line, each correct look-alike passes, under every activation method; report
mode lists the same bugs and changes no outcome."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.sanitizer.helpers import (
    BUGGY,
    CORRECT,
    bug_sites,
    clean_env,
    expected_bugs,
    needs_uvloop,
    plugin_args,
    site_dir,
)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
INI = "[pytest]\nasyncio_default_fixture_loop_scope = function\n"
ALL_CHECKS = "checks=all;deadlock-grace-ms=200"
"""The opt-in ASL609 too; stalls reported after 200 ms rather than a second."""
FAILED = {
    "ASL601": "test_unawaited_coroutine",
    "ASL602": "test_destroyed_pending",
    "ASL604": "test_exception_never_retrieved",
    "ASL605": "test_blocked_loop",
    "ASL606": "test_cancellation_swallowed",
    "ASL607": "test_async_generator_not_finalized",
    "ASL608": "test_unclosed_loop",
    "ASL609": "test_loop_called_from_thread",
    "ASL610": "test_deadlock",
}


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    clean_env(monkeypatch, ALL_CHECKS)
    pytester.makepyfile(test_buggy=BUGGY, test_correct=CORRECT)
    pytester.makeini(INI)
    return pytester


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", "-ra", *plugin_args(), *args)


def reported(path: Path) -> set[tuple[str, int]]:
    """(code, line in test_buggy.py) of each finding in a JSON report."""
    findings = json.loads(path.read_text(encoding="utf-8"))["findings"]
    return {
        (f["code"], f["site"][0]["line"] if "test_buggy.py" in str(f["site"]) else 0)
        for f in findings
    }


def assert_each_bug_fails(result: pytest.RunResult, source: str) -> None:
    """Each buggy test fails with its code and line; no look-alike does."""
    outcomes = result.parseoutcomes()
    assert (outcomes["failed"], outcomes["errors"]) == (9, 1)
    assert outcomes["passed"] + outcomes.get("skipped", 0) == 17 + 1  # + teardown-error test
    result.stdout.fnmatch_lines_random(
        [
            f"FAILED test_buggy.py::{test} - Failed: asyncsan {code} *"
            for code, test in FAILED.items()
        ]
        + ["ERROR test_buggy.py::test_leaked_task - Failed: asyncsan ASL603 task-leaked*"]
    )
    for _, code, line, function in bug_sites(source):
        result.stdout.fnmatch_lines([f"asyncsan {code} *", f"*test_buggy.py:{line} in {function}"])
    assert "test_correct.py" not in "\n".join(line for line in result.outlines if "FAILED" in line)
    assert result.ret == pytest.ExitCode.TESTS_FAILED


@pytest.mark.parametrize(
    "activation", ["option", "ini", "env", "xoption", "asynclint-run", "python-m"]
)
def test_each_buggy_test_fails_and_each_look_alike_passes(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, activation: str
) -> None:
    args = ["-vv"]  # -vv: summary lines not cut
    if activation == "option":
        args.append("--asyncsan")
    elif activation == "ini":
        project.makeini(INI + "asyncsan = strict\n")
    elif activation == "env":
        monkeypatch.setenv("ASYNCSAN", "strict")
    pytest_args = ["-p", "no:cacheprovider", "-ra", *plugin_args(), *args]
    hooked = (  # pytest in a Python that processes the start-up hook as installed
        sys.executable,
        "-c",
        f"import site, sys; site.addsitedir({str(site_dir(project.path))!r}); import pytest;"
        f" sys.exit(pytest.main({pytest_args!r}))",
    )
    if activation == "xoption":
        result = project.run(sys.executable, "-X", "asyncsan", *hooked[1:])
    elif activation == "asynclint-run":
        result = project.run(sys.executable, "-m", "asynclint", "run", "--", *hooked)
    elif activation == "python-m":
        result = project.run(
            sys.executable, "-m", "asynclint.sanitizer", "-m", "pytest", *pytest_args
        )
    else:
        result = run(project, *args)
    assert_each_bug_fails(result, BUGGY)


@needs_uvloop
def test_each_buggy_test_fails_on_uvloop(project: pytest.Pytester) -> None:
    project.makeconftest(
        """
        import pytest, uvloop

        @pytest.fixture(scope="session")
        def event_loop_policy():
            return uvloop.EventLoopPolicy()
        """
    )
    result = run(project, "--asyncsan", "-vv")
    assert_each_bug_fails(result, BUGGY)
    result.stdout.fnmatch_lines(  # uvloop's class is Loop; asyncio's _UnixSelectorEventLoop
        ["asyncsan ASL609 loop-called-from-wrong-thread: loop.call_soon() of Loop at 0x*"]
    )


def test_auto_mode_without_markers(project: pytest.Pytester) -> None:
    unmarked = "\n".join(line for line in BUGGY.splitlines() if line != "@pytest.mark.asyncio")
    project.makepyfile(test_buggy=unmarked)
    result = run(project, "--asyncsan", "-vv", "-o", "asyncio_mode=auto")
    assert_each_bug_fails(result, unmarked)


def test_report_mode_lists_every_bug_and_changes_no_outcome(project: pytest.Pytester) -> None:
    out = project.path / "out.json"
    plain = run(project)
    result = run(project, "--asyncsan=report", f"--asyncsan-report={out}")
    assert result.ret == plain.ret == 0
    assert result.parseoutcomes() == plain.parseoutcomes()
    result.stdout.fnmatch_lines(["*= asyncsan report =*", "asyncsan report: 10 findings"])
    assert reported(out) == {(code, line) for _, code, line in expected_bugs(BUGGY)}


def test_correct_suite_is_unchanged(project: pytest.Pytester) -> None:
    (project.path / "test_buggy.py").unlink()
    plain = run(project)
    sanitized = run(project, "--asyncsan")
    assert plain.ret == sanitized.ret == 0
    assert plain.parseoutcomes() == sanitized.parseoutcomes()
    assert "asyncsan" not in sanitized.stdout.str()


def test_marker_tunes_one_test(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_buggy="""
        import asyncio, pytest

        async def worker():
            await asyncio.sleep(1)

        @pytest.mark.asyncio
        @pytest.mark.asyncsan(off=True)
        async def test_off():
            worker()

        @pytest.mark.asyncio
        @pytest.mark.asyncsan(checks=["task-leaked"])
        async def test_other_checks():
            worker()

        @pytest.mark.asyncio
        @pytest.mark.asyncsan(ignore=["worker"])
        async def test_ignored():
            worker()

        @pytest.mark.asyncio
        @pytest.mark.asyncsan(ignore=["other*"])
        async def test_not_ignored():
            worker()
        """
    )
    result = run(project, "--asyncsan", "-vv", "test_buggy.py")
    result.assert_outcomes(passed=3, failed=1, warnings=4)
    result.stdout.fnmatch_lines(
        ["FAILED test_buggy.py::test_not_ignored - Failed: asyncsan ASL601*"]
    )


def test_module_loop_leaks_blame_the_test_not_the_fixture(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_buggy="""
        import asyncio, pytest, pytest_asyncio

        pytestmark = pytest.mark.asyncio(loop_scope="module")

        @pytest_asyncio.fixture(scope="module", loop_scope="module")
        async def background():
            task = asyncio.create_task(asyncio.sleep(3600))
            yield task

        async def test_uses_background(background):
            pass

        async def test_leaks():
            asyncio.create_task(asyncio.sleep(3600))

        async def test_after(background):
            pass
        """
    )
    result = run(project, "--asyncsan", "-vv", "test_buggy.py")
    result.assert_outcomes(passed=3, errors=1)
    result.stdout.fnmatch_lines_random(
        [
            "ERROR test_buggy.py::test_leaks - Failed: asyncsan ASL603*",
            "*= asyncsan findings outside any test =*",
            "asyncsan ASL603 task-leaked: task * running sleep()",
        ]
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_function_fixture_leaks_fail_the_test_that_used_them(project: pytest.Pytester) -> None:
    """Checked when the fixture is finalised: on the test's own loop, and on a module
    loop that outlives the test and would cancel the task silently later."""
    project.makepyfile(
        test_buggy="""
        import asyncio, pytest, pytest_asyncio

        @pytest_asyncio.fixture
        async def background():
            asyncio.create_task(asyncio.sleep(3600))  # line 5
            yield

        @pytest_asyncio.fixture(loop_scope="module")
        async def background_on_module_loop():
            asyncio.create_task(asyncio.sleep(3600))  # line 10
            yield

        @pytest.mark.asyncio
        async def test_function_loop(background):
            pass

        @pytest.mark.asyncio(loop_scope="module")
        async def test_module_loop(background_on_module_loop):
            pass

        @pytest.mark.asyncio(loop_scope="module")
        async def test_innocent():
            pass
        """
    )
    result = run(project, "--asyncsan", "-vv", "test_buggy.py")
    result.assert_outcomes(passed=3, errors=2)
    result.stdout.fnmatch_lines_random(
        [
            "ERROR test_buggy.py::test_function_loop - Failed: asyncsan ASL603 task-leaked*",
            "ERROR test_buggy.py::test_module_loop - Failed: asyncsan ASL603 task-leaked*",
        ]
    )
    result.stdout.fnmatch_lines(["*test_buggy.py:5 in background"])
    result.stdout.fnmatch_lines(["*test_buggy.py:10 in background_on_module_loop"])


def test_anyio_uvloop_unittest_and_xdist(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_buggy="""
        import asyncio, sys, unittest, pytest

        async def worker():
            await asyncio.sleep(3600)

        @pytest.fixture
        def anyio_backend():
            return "asyncio"

        @pytest.mark.anyio
        async def test_anyio():
            worker()  # line 12

        class Case(unittest.IsolatedAsyncioTestCase):
            async def test_unittest_leak(self):
                asyncio.create_task(worker())  # line 16

        @pytest.mark.skipif(sys.platform == "win32", reason="no uvloop")
        def test_uvloop():
            import uvloop

            async def main():
                asyncio.create_task(worker())  # line 23

            uvloop.run(main()) if sys.version_info >= (3, 11) else asyncio.run(main())
        """
    )
    out = project.path / "out.json"
    result = run(
        project, "-n", "2", "--asyncsan=report", f"--asyncsan-report={out}", "test_buggy.py"
    )
    assert result.ret == 0
    result.assert_outcomes(passed=3)
    findings = json.loads(out.read_text(encoding="utf-8"))["findings"]
    assert sorted(
        (f["owner"].rpartition("::")[2], f["code"], f["site"][0]["line"]) for f in findings
    ) == [
        ("test_anyio", "ASL601", 12),
        ("test_unittest_leak", "ASL603", 16),
        ("test_uvloop", "ASL603", 23),
    ]
    strict = run(project, "-n", "2", "--asyncsan=strict", "test_buggy.py")
    strict.assert_outcomes(failed=3)


def test_stall_fails_the_test_and_hang_timeout_dumps_tasks(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASYNCSAN_OPTIONS", ALL_CHECKS + ";hang-timeout=0.2")
    project.makepyfile(
        test_buggy="""
        import asyncio, pytest

        @pytest.mark.asyncio
        async def test_nothing_can_wake():
            never = asyncio.Event()
            await never.wait()  # line 6

        @pytest.mark.asyncio
        async def test_slow():
            await asyncio.sleep(1)  # line 10
        """
    )
    result = run(project, "--asyncsan", "-vv", "test_buggy.py")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "FAILED test_buggy.py::test_nothing_can_wake - Failed: asyncsan ASL610 deadlock:"
            " 1 pending task that nothing can wake",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "asyncsan ASL610 deadlock: 1 pending task that nothing can wake",
            "*",
            "  for 200 ms no callback was ready, no timer set, no file descriptor or signal"
            " watched and no thread at work; waiting:",
            "    task 'Task-*' running test_nothing_can_wake() waits for Event at 0x* (wait)",
            "      at (most recent call last):",
            "        */test_buggy.py:6 in test_nothing_can_wake",
            "          await never.wait()  # line 6",
        ]
    )
    result.stderr.fnmatch_lines(
        [
            "asyncsan: test_buggy.py::test_nothing_can_wake still running after 0.2 s"
            " (hang-timeout):",
            "event loop _UnixSelectorEventLoop at 0x*:",
            "  task 'Task-*' running test_nothing_can_wake() waits for Event at 0x* (wait)",
            "asyncsan: test_buggy.py::test_slow still running after 0.2 s (hang-timeout):",
            "event loop _UnixSelectorEventLoop at 0x*:",
            "  task 'Task-*' running test_slow() waits for Future at 0x*",
            "    at (most recent call last):",
            "      */test_buggy.py:10 in test_slow",
        ]
    )


def test_module_loop_gives_cancelled_tasks_a_grace_period(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_buggy="""
        import asyncio, pytest

        pytestmark = pytest.mark.asyncio(loop_scope="module")

        async def test_cancels_without_awaiting():
            task = asyncio.create_task(asyncio.sleep(3600))
            await asyncio.sleep(0)
            task.cancel()

        async def test_leaks():
            asyncio.create_task(asyncio.sleep(3600))
        """
    )
    result = run(project, "--asyncsan", "-vv", "test_buggy.py")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["ERROR test_buggy.py::test_leaks - Failed: asyncsan ASL603*"])


def test_xdist_controller_fails_on_worker_findings_outside_tests(
    project: pytest.Pytester,
) -> None:
    project.makepyfile(
        test_buggy="""
        import asyncio, pytest, pytest_asyncio

        @pytest_asyncio.fixture(scope="session", loop_scope="session")
        async def background():
            asyncio.create_task(asyncio.sleep(3600))  # line 5
            yield

        @pytest.mark.asyncio(loop_scope="session")
        async def test_uses_background(background):
            pass
        """
    )
    result = run(project, "-n", "1", "--asyncsan=strict", "test_buggy.py")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "*= asyncsan findings outside any test =*",
            "asyncsan ASL603 task-leaked: task * running sleep()",
            "*",
            "*",
            "*",
            "    */test_buggy.py:5 in background",
        ]
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_finalizer_errors_stay_on_their_test(project: pytest.Pytester) -> None:
    """The sanitizer collects garbage at the end of each test (not in report mode, which
    leaves the collector alone): what finalizers raise is blamed on the test that made the
    garbage, never on the next one.

    The automatic collector is off in the test module, so the only collections are the
    sanitizer's and the explicit one in ``test_innocent``: without that, when the cycle
    dies depends on allocation counts and the outcome would be luck."""
    project.makepyfile(
        test_buggy="""
        import gc
        import socket

        gc.disable()

        class Cycle:
            def __init__(self):
                self.me = self
                self.sock = socket.socket()

        def test_drops_a_socket():
            Cycle()

        def test_innocent():
            gc.collect()
        """
    )
    project.makeini(INI + "filterwarnings = error\n")
    for mode in ((), ("--asyncsan=report",)):
        left_alone = run(project, *mode, "-rA", "test_buggy.py")
        left_alone.assert_outcomes(passed=1, failed=1)
        left_alone.stdout.fnmatch_lines_random(
            [
                "PASSED test_buggy.py::test_drops_a_socket",
                "FAILED test_buggy.py::test_innocent - pytest.PytestUnraisable*",
            ]
        )
    strict = run(project, "--asyncsan", "-rA", "test_buggy.py")
    strict.assert_outcomes(passed=2, errors=1)
    strict.stdout.fnmatch_lines_random(
        [
            "ERROR test_buggy.py::test_drops_a_socket - pytest.PytestUnraisable*",
            "PASSED test_buggy.py::test_innocent",
        ]
    )
