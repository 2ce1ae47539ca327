"""The pre-commit hook, run by the real `pre-commit try-repo` on a temporary git repo."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def _run(args: list[str], cwd: Path, home: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PRE_COMMIT_HOME": str(home),
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.invalid",
    }
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, env=env, timeout=600)


def test_hook_definition() -> None:
    yaml = pytest.importorskip("yaml")
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    hook = next(hook for hook in hooks if hook["id"] == "asynclint")
    assert {key: hook[key] for key in ("entry", "language", "types_or", "require_serial")} == {
        "entry": "asynclint check",
        "language": "python",
        "types_or": ["python", "pyi"],
        "require_serial": False,
    }


def test_hook_fails_on_a_dangling_task_and_passes_on_clean_code(tmp_path: Path) -> None:
    home = tmp_path / "pre-commit-home"
    repo = tmp_path / "user-repo"
    repo.mkdir()
    _run(["git", "init", "-q"], repo, home)
    (repo / "app.py").write_text(
        "import asyncio\n\nasync def main(coro):\n    asyncio.create_task(coro)\n"
    )
    _run(["git", "add", "app.py"], repo, home)
    precommit = [sys.executable, "-m", "pre_commit", "try-repo", str(ROOT), "asynclint"]

    failing = _run([*precommit, "--all-files"], repo, home)
    assert failing.returncode == 1, failing.stdout + failing.stderr
    assert "app.py:4:5: ASL102" in failing.stdout

    (repo / "app.py").write_text("import asyncio\n\nasync def main(coro):\n    await coro\n")
    _run(["git", "add", "app.py"], repo, home)
    passing = _run([*precommit, "--all-files"], repo, home)
    assert passing.returncode == 0, passing.stdout + passing.stderr
    assert "Passed" in passing.stdout
