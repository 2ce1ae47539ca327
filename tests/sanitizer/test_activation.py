"""Activation outside pytest: the start-up hook, the environment, ``python -m``, the API."""

from __future__ import annotations

import asyncio
import json
import os
import site
import sys
from pathlib import Path

import pytest

from asynclint import sanitizer
from asynclint.sanitizer.config import ConfigError, Options, apply, parse_env_options
from tests.sanitizer.helpers import clean_env, python, with_hook

BUGGY_SCRIPT = """\
import asyncio

async def worker():
    await asyncio.sleep(3600)

async def main():
    asyncio.create_task(worker())
    print("main done")

asyncio.run(main())
"""
CORRECT_SCRIPT = """\
import asyncio, sys

async def main():
    print(await asyncio.gather(asyncio.sleep(0, "a"), asyncio.sleep(0, "b")))

asyncio.run(main())
sys.exit(3)
"""


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch) -> None:
    clean_env(monkeypatch)


def test_x_option_strict_fails_with_the_creation_line(tmp_path: Path) -> None:
    result = python(tmp_path, "-X", "asyncsan", *with_hook(tmp_path, BUGGY_SCRIPT))
    assert result.returncode == 1
    assert result.stdout == "main done\n"
    assert "asyncsan ASL603 task-leaked: task 'Task-2' running worker()" in result.stderr
    assert "    <string>:7 in main" in result.stderr
    assert result.stderr.endswith("asyncsan: 1 finding in strict mode; exit status 1\n")


def test_correct_program_is_unchanged(tmp_path: Path) -> None:
    plain = python(tmp_path, "-c", CORRECT_SCRIPT)
    for args in (["-X", "asyncsan", *with_hook(tmp_path, CORRECT_SCRIPT)],):
        sanitized = python(tmp_path, *args)
        assert (
            (sanitized.returncode, sanitized.stdout, sanitized.stderr)
            == (
                plain.returncode,
                plain.stdout,
                plain.stderr,
            )
            == (3, "['a', 'b']\n", "")
        )


def test_bad_mode_is_one_line_and_status_2(tmp_path: Path) -> None:
    result = python(tmp_path, "-X", "asyncsan=loud", *with_hook(tmp_path, "print('ran')"))
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        "asyncsan: -X asyncsan: invalid mode 'loud'; expected one of strict, warn, report or off\n"
    )


def test_env_warn_mode_and_inheritance(tmp_path: Path) -> None:
    child = "import os; print(os.environ['ASYNCSAN'], os.environ.get('ASYNCSAN_OPTIONS'))"
    script = (
        BUGGY_SCRIPT
        + f"import subprocess, sys; subprocess.run([sys.executable, '-c', {child!r}])\n"
    )
    result = python(tmp_path, *with_hook(tmp_path, script), ASYNCSAN="warn")
    assert result.returncode == 0
    assert result.stdout == "main done\nwarn None\n"
    assert "<string>:7: AsyncSanWarning: asyncsan ASL603 task-leaked" in result.stderr


def test_python_m_runs_a_script(tmp_path: Path) -> None:
    (tmp_path / "buggy.py").write_text(BUGGY_SCRIPT, encoding="utf-8")
    (tmp_path / "ok.py").write_text(CORRECT_SCRIPT, encoding="utf-8")
    buggy = python(tmp_path, "-m", "asynclint.sanitizer", "buggy.py")
    assert buggy.returncode == 1
    assert f"    {tmp_path / 'buggy.py'}:7 in main" in buggy.stderr
    ok = python(tmp_path, "-m", "asynclint.sanitizer", "--mode=report", "ok.py")
    assert (ok.returncode, ok.stdout, ok.stderr) == (3, "['a', 'b']\n", "")
    missing = python(tmp_path, "-m", "asynclint.sanitizer", "nope.py")
    assert (missing.returncode, missing.stderr) == (
        2,
        "asyncsan: cannot run 'nope.py': no such file\n",
    )


def test_report_mode_prints_a_summary_and_keeps_the_exit_status(tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    result = python(
        tmp_path,
        "-X",
        "asyncsan=report",
        *with_hook(tmp_path, BUGGY_SCRIPT),
        ASYNCSAN_OPTIONS=f"report-file={out}",
    )
    assert (result.returncode, result.stdout) == (0, "main done\n")
    assert result.stderr.splitlines() == [
        "asyncsan report: 1 finding",
        "  ASL603 task-leaked                    <string>:7  task 'Task-2' running worker()",
        "  totals: ASL603 x1",
    ]
    (finding,) = json.loads(out.read_text(encoding="utf-8"))["findings"]
    assert (finding["code"], finding["site"][0]["line"], finding["owner"]) == ("ASL603", 7, None)


def test_python_m_works_without_site(tmp_path: Path) -> None:
    """``python -S`` processes no ``.pth`` file; ``-m asynclint.sanitizer`` needs none."""
    (tmp_path / "buggy.py").write_text(BUGGY_SCRIPT, encoding="utf-8")
    result = python(tmp_path, "-S", "-m", "asynclint.sanitizer", "buggy.py")
    assert (result.returncode, result.stdout) == (1, "main done\n")
    assert f"    {tmp_path / 'buggy.py'}:7 in main" in result.stderr


HOOK_INSTALLED = any(
    os.path.isfile(os.path.join(d, "asyncsan.pth")) for d in site.getsitepackages()
)
needs_installed_hook = pytest.mark.skipif(
    not HOOK_INSTALLED, reason="asynclint is not pip-installed in this interpreter"
)
SPAWNED_CHILD = """import asyncio, multiprocessing

async def worker():
    await asyncio.sleep(3600)

async def main():
    asyncio.create_task(worker())

def child():
    asyncio.run(main())

if __name__ == "__main__":
    process = multiprocessing.get_context("spawn").Process(target=child)
    process.start()
    process.join()
    print("child exit status", process.exitcode)
"""


@needs_installed_hook
def test_installed_hook_sanitizes_the_process_and_its_spawned_children(tmp_path: Path) -> None:
    (tmp_path / "parent.py").write_text(SPAWNED_CHILD, encoding="utf-8")
    result = python(tmp_path, "-X", "asyncsan", "parent.py")
    assert (result.returncode, result.stdout) == (0, "child exit status 1\n")
    assert "asyncsan ASL603 task-leaked: task 'Task-2' running worker()" in result.stderr
    assert f"    {tmp_path / 'parent.py'}:7 in main" in result.stderr


def test_run_command_exports_the_mode(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    code = "import os, sys; print(os.environ['ASYNCSAN']); sys.exit(4)"
    assert sanitizer.run_command([sys.executable, "-c", code], "report") == 4
    assert capfd.readouterr().out == "report\n"
    assert sanitizer.run_command(["/nonexistent/cmd"], "strict") == 127
    assert (
        capfd.readouterr().err
        == "asyncsan: cannot run '/nonexistent/cmd': No such file or directory\n"
    )
    with pytest.raises(ConfigError, match="invalid mode 'bad'"):
        sanitizer.run_command(["true"], "bad")


async def _leak() -> None:
    asyncio.create_task(asyncio.sleep(3600))  # noqa: RUF006


def test_sanitize_block_raises_and_undoes_everything(monkeypatch: pytest.MonkeyPatch) -> None:
    original = asyncio.all_tasks
    with pytest.raises(sanitizer.AsyncSanError) as raised, sanitizer.sanitize(grace_ms=0):
        assert os.environ["ASYNCSAN"] == "strict"
        assert os.environ["ASYNCSAN_OPTIONS"] == "grace-ms=0.0"
        asyncio.run(_leak())
    assert [(f.code, f.location.lineno if f.location else 0) for f in raised.value.findings] == [
        ("ASL603", _leak.__code__.co_firstlineno + 1)
    ]
    assert sanitizer.active() is None
    assert asyncio.all_tasks is original
    assert "ASYNCSAN" not in os.environ
    assert sys.get_coroutine_origin_tracking_depth() == 0


def test_options_parse_and_round_trip() -> None:
    options = apply(
        Options(), parse_env_options("checks=ASL601,task-leaked;block-threshold-ms=250"), "env"
    )
    assert options.checks == frozenset({"ASL601", "ASL603"})
    assert options.block_threshold_ms == 250
    assert apply(Options(), parse_env_options(options.to_env()), "env") == options


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("colour=red", "env: unknown option 'colour'; valid options: checks, block-threshold-ms"),
        ("checks=ASL999", "env: checks: unknown check 'ASL999'; valid checks: default, all, ASL6"),
        ("depth=deep", "env: depth: expected a number, got 'deep'"),
        ("grace-ms=-1", "env: grace-ms: expected a number >= 0, got '-1'"),
    ],
)
def test_bad_options_name_their_source(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        apply(Options(), parse_env_options(text), "env")
    assert str(raised.value).startswith(message)


def test_pyproject_table_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.asynclint.sanitizer]\nignore = ["Task-*"]\nblock-threshold-ms = 20\n',
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ASYNCSAN_OPTIONS", "block-threshold-ms=30")
    options = sanitizer.config.resolve("report", {"depth": 5})
    assert (options.ignore, options.block_threshold_ms, options.depth) == (("Task-*",), 30, 5)
