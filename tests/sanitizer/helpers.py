"""Shared by the sanitizer tests: the buggy-case expectations, subprocess set-up, and
running a coroutine on each kind of loop under a strict sanitizer."""

from __future__ import annotations

import asyncio
import importlib.metadata
import inspect
import os
import re
import subprocess
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest

from asynclint.sanitizer import AsyncSanError, sanitize

try:
    import uvloop
except ImportError:  # not on Windows
    uvloop = None

HERE = Path(__file__).parent
REPO = HERE.parent.parent
BUGGY = (HERE / "buggy_cases.py").read_text(encoding="utf-8")
CORRECT = (HERE / "correct_cases.py").read_text(encoding="utf-8")
PTH = (REPO / "asynclint" / "sanitizer" / "asyncsan.pth").read_text(encoding="utf-8")


def expected_bugs(source: str) -> set[tuple[str, str, int]]:
    """(test name, code, line) for every ``# bug: CODE`` marker."""
    return {(test, code, line) for test, code, line, _ in bug_sites(source)}


def bug_sites(source: str) -> list[tuple[str, str, int, str]]:
    """(test name, code, line, function holding the line) for every ``# bug: CODE``."""
    sites = []
    test = function = ""
    for lineno, line in enumerate(source.splitlines(), 1):
        defined = re.match(r"\s*(?:async )?def (\w+)", line)
        if defined:
            function = defined.group(1)
            if function.startswith("test_") and not line[0].isspace():
                test = function
        marker = re.search(r"# bug: (ASL\d+)", line)
        if marker:
            sites.append((test, marker.group(1), lineno, function))
    return sites


def plugin_args() -> list[str]:
    """``-p`` for the plugin when it is not installed as a pytest11 entry point."""
    installed = any(  # every distribution, as pytest loads them (a stale egg-info may shadow)
        ep.group == "pytest11" and ep.value == "asynclint.pytest_plugin"
        for dist in importlib.metadata.distributions()
        for ep in dist.entry_points
    )
    return [] if installed else ["-p", "asynclint.pytest_plugin"]


def clean_env(monkeypatch: pytest.MonkeyPatch, options: str | None = None) -> None:
    """No inherited sanitizer settings (but `options`, if given, as ``ASYNCSAN_OPTIONS``);
    the repository importable in subprocesses."""
    monkeypatch.delenv("ASYNCSAN", raising=False)
    if options is None:
        monkeypatch.delenv("ASYNCSAN_OPTIONS", raising=False)
    else:
        monkeypatch.setenv("ASYNCSAN_OPTIONS", options)
    path = os.environ.get("PYTHONPATH")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(REPO), path])))


def site_dir(tmp: Path) -> Path:
    """A directory holding the start-up hook exactly as the wheel installs it."""
    directory = tmp / "site"
    directory.mkdir()
    (directory / "asyncsan.pth").write_text(PTH, encoding="utf-8")
    return directory


Main = Callable[[], Coroutine[Any, Any, object]]
needs_uvloop = pytest.mark.skipif(uvloop is None, reason="uvloop is not installed")
LOOPS = ["asyncio", pytest.param("uvloop", marks=needs_uvloop)]


def run_on(kind: str, main: Main) -> None:
    if kind == "asyncio":
        asyncio.run(main())
        return
    assert uvloop is not None
    loop = uvloop.new_event_loop()
    try:
        loop.run_until_complete(main())
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


def findings_of(run: Callable[[], object], **options: object) -> list[tuple[str, int]]:
    """Call `run` under a strict sanitizer: (code, line) of what it found, in order."""
    try:
        with sanitize("strict", **options):
            run()
    except AsyncSanError as error:
        return [(f.code, f.location.lineno if f.location else 0) for f in error.findings]
    return []


def findings(main: Main, kind: str = "asyncio", **options: object) -> list[tuple[str, int]]:
    """Run `main` on a loop of `kind`: (code, line) of what the sanitizer found."""
    return findings_of(lambda: run_on(kind, main), **options)


def line(function: Callable[..., Any], text: str) -> int:
    """The line of `function` that contains `text`."""
    source, first = inspect.getsourcelines(function)
    return first + next(i for i, code in enumerate(source) if text in code)


def python(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        check=False,
    )


def with_hook(tmp_path: Path, script: str) -> list[str]:
    """Process the real start-up hook (as site does for site-packages), then run `script`."""
    return ["-c", f"import site; site.addsitedir({str(site_dir(tmp_path))!r}); exec({script!r})"]
