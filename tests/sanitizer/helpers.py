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
    expected = set()
    test = ""
    for lineno, line in enumerate(source.splitlines(), 1):
        defined = re.match(r"(?:async )?def (test_\w+)", line)
        if defined:
            test = defined.group(1)
        marker = re.search(r"# bug: (ASL\d+)", line)
        if marker:
            expected.add((test, marker.group(1), lineno))
    return expected


def plugin_args() -> list[str]:
    """``-p`` for the plugin when it is not installed as a pytest11 entry point."""
    installed = any(  # every distribution, as pytest loads them (a stale egg-info may shadow)
        ep.group == "pytest11" and ep.value == "asynclint.pytest_plugin"
        for dist in importlib.metadata.distributions()
        for ep in dist.entry_points
    )
    return [] if installed else ["-p", "asynclint.pytest_plugin"]


def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No inherited sanitizer settings; the repository importable in subprocesses."""
    monkeypatch.delenv("ASYNCSAN", raising=False)
    monkeypatch.delenv("ASYNCSAN_OPTIONS", raising=False)
    path = os.environ.get("PYTHONPATH")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(REPO), path])))


def site_dir(tmp: Path) -> Path:
    """A directory holding the start-up hook exactly as the wheel installs it."""
    directory = tmp / "site"
    directory.mkdir()
    (directory / "asyncsan.pth").write_text(PTH, encoding="utf-8")
    return directory
