"""ASL404 pairs the lock nestings of the modules in scope only, whatever was read lazily."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from asynclint import index
from asynclint.engine import FileJob, check_file

BANK = """\
import asyncio


class Vault:
    def __init__(self):
        self.doors = asyncio.Lock()
        self.alarm = asyncio.Lock()

    async def open(self):
        async with self.doors:
            async with self.alarm:
                return True
"""
AUDIT = """\
from bank import Vault


async def audit(vault: Vault):
    async with vault.alarm:
        async with vault.doors:
            return False
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "bank.py").write_text(BANK)
    (tmp_path / "audit.py").write_text(AUDIT)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def findings(project: Path, in_scope: list[str], read_first: str | None = None) -> list[str]:
    built = index.build(in_scope, [str(project)])
    if read_first is not None:
        assert built.function(read_first) is not None  # read lazily, out of scope
    previous = index.active()
    index.set_active(built)
    try:
        found = [check_file(FileJob(path, frozenset({"ASL404"}), {})) for path in in_scope]
    finally:
        index.set_active(previous)
    return [f"{os.path.basename(d.path)}:{d.line}" for r in found for d in r.diagnostics]


def test_both_modules_in_scope_make_the_inversion(project: Path) -> None:
    assert findings(project, ["bank.py", "audit.py"]) == ["bank.py:11"]


def test_a_module_read_lazily_before_the_check_does_not_count(project: Path) -> None:
    assert findings(project, ["bank.py"]) == []
    assert findings(project, ["bank.py"], read_first="audit.audit") == []
