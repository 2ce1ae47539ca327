"""Shared helpers: run the real `asynclint` command in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

import libcst
import pytest

ROOT = Path(__file__).resolve().parent.parent
collect_ignore_glob = ["data/*"]
pytest_plugins = ["pytester"]
"""Example projects under data/ are inputs to asynclint, not tests of this suite."""

RunCli = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(autouse=True)
def _cache_outside_the_repository(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """`check` caches by default: every test gets its own empty cache folder, away from the
    repository (subprocesses inherit the variable)."""
    monkeypatch.setenv("ASYNCLINT_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture
def run_cli(tmp_path: Path) -> RunCli:
    """`run_cli("check", "x.py", cwd=..., input=..., env=...)`: the CLI as a user runs it
    (`env` adds variables to an environment without ``FORCE_COLOR`` and ``NO_COLOR``)."""

    def run(
        *args: str,
        cwd: Path | None = None,
        input: str | bytes | None = None,
        env: Mapping[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        environment = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "NO_COLOR")}
        environment["PYTHONIOENCODING"] = "utf-8"
        environment.update(env or {})
        raw = input.encode() if isinstance(input, str) else input
        done = subprocess.run(
            [sys.executable, "-m", "asynclint", *args],
            cwd=cwd or tmp_path,
            input=raw,
            capture_output=True,
            env=environment,
            timeout=120,
        )
        return subprocess.CompletedProcess(
            done.args, done.returncode, done.stdout.decode(), done.stderr.decode()
        )

    return run


@pytest.fixture
def libcst_parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The texts handed to ``libcst.parse_module`` during the test, in order."""
    calls: list[str] = []
    real = libcst.parse_module

    def counting(text: str) -> libcst.Module:
        calls.append(text)
        return real(text)

    monkeypatch.setattr(libcst, "parse_module", counting)
    return calls
