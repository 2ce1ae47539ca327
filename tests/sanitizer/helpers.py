"""Shared by the sanitizer tests: the buggy-case expectations and subprocess set-up."""

from __future__ import annotations

import importlib.metadata
import os
import re
from pathlib import Path

import pytest

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
