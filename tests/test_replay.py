"""The run record: a repeated command over unchanged files answers without LibCST, and any
change it depends on falls back to a real run."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from asynclint import cachedir, replay

TASK = "import asyncio\n\n\nasync def f(c):\n    asyncio.create_task(c())\n"
FINDING = (
    "ASL102 `asyncio.create_task(...)` result is discarded; the task can be "
    "garbage-collected before it finishes"
)
PROBE = """
import sys
from asynclint.cli import main
try:
    main(sys.argv[1:])
finally:
    print("LibCST loaded" if "libcst" in sys.modules else "replayed", file=sys.stderr)
"""
"""The command, telling on stderr whether it ran the check or answered from the record."""

Run = Callable[..., subprocess.CompletedProcess[str]]


def settled(*paths: Path) -> None:
    """Date files and folders a minute back: a record is only left when what it read has
    settled (:data:`asynclint.replay.SETTLE_SECONDS`)."""
    past = time.time() - 60
    for path in paths:
        os.utime(path, (past, past))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = tmp_path / "project"
    (folder / "pkg").mkdir(parents=True)
    (folder / "pkg" / "a.py").write_text(TASK)
    (folder / "pkg" / "b.py").write_text("x = 1\n")
    settled(folder / "pkg" / "a.py", folder / "pkg" / "b.py", folder / "pkg", folder)
    return folder


@pytest.fixture
def check(project: Path, tmp_path: Path) -> Run:
    def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        environment = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "NO_COLOR")}
        environment.update(env or {})
        options = ["--format", "concise", "--cache-dir", str(tmp_path / "cache")]
        return subprocess.run(
            [sys.executable, "-c", PROBE, "check", *options, *args],
            cwd=project,
            capture_output=True,
            text=True,
            env=environment,
            timeout=120,
        )

    return run


def how(done: subprocess.CompletedProcess[str]) -> str:
    return done.stderr.splitlines()[-1]


def test_a_repeated_run_prints_the_same_without_loading_libcst(check: Run) -> None:
    first = check("pkg")
    assert (first.returncode, how(first)) == (1, "LibCST loaded")
    assert first.stdout == f"pkg/a.py:5:5: {FINDING}\n\nFound 1 problem.\n"
    again = check("pkg")
    assert (again.returncode, again.stdout, how(again)) == (1, first.stdout, "replayed")
    assert check("pkg", "--jobs", "1").stdout == first.stdout


def test_another_command_is_not_answered_by_the_record(check: Run) -> None:
    check("pkg")
    assert how(check("pkg")) == "replayed"
    done = check("pkg", "--exit-zero")
    assert (done.returncode, how(done)) == (0, "LibCST loaded")
    colored = check("pkg", env={"FORCE_COLOR": "1"})
    assert (how(colored), "\x1b[" in colored.stdout) == ("LibCST loaded", True)


def edit_in_place(project: Path) -> str:
    """Same size, new content (a modification time is all that tells)."""
    (project / "pkg" / "a.py").write_text(TASK.replace("f(c)", "g(c)"))
    return f"pkg/a.py:5:5: {FINDING}"


def add_a_module(project: Path) -> str:
    (project / "pkg" / "c.py").write_text(TASK)
    return f"pkg/a.py:5:5: {FINDING}\npkg/c.py:5:5: {FINDING}"


def add_a_package(project: Path) -> str:
    (project / "pkg" / "sub").mkdir()
    (project / "pkg" / "sub" / "d.py").write_text(TASK)
    return f"pkg/a.py:5:5: {FINDING}\npkg/sub/d.py:5:5: {FINDING}"


def configure(project: Path) -> str:
    (project / "pyproject.toml").write_text('[tool.asynclint]\nignore = ["ASL102"]\n')
    return ""


def configure_above(project: Path) -> str:
    (project.parent / "pyproject.toml").write_text(
        '[tool.asynclint]\nper-file-ignores = {"project/pkg/a.py" = ["ASL102"]}\n'
    )
    return ""


@pytest.mark.parametrize(
    "change",
    [edit_in_place, add_a_module, add_a_package, configure, configure_above],
    ids=lambda change: change.__name__,
)
def test_a_change_the_run_depends_on_is_noticed(
    check: Run, project: Path, change: Callable[[Path], str]
) -> None:
    check("pkg")
    assert how(check("pkg")) == "replayed"
    expected = change(project)
    done = check("pkg")
    assert how(done) == "LibCST loaded"
    assert [line for line in done.stdout.splitlines() if ": ASL" in line] == expected.splitlines()


def test_a_module_read_outside_the_checked_files_is_watched(check: Run, project: Path) -> None:
    """The index reads pkg/store.py when asked what `save` is; only pkg/a.py is checked."""
    caller = "from store import save\n\n\nasync def f():\n    save()\n"
    (project / "pkg" / "a.py").write_text(caller)
    (project / "pkg" / "store.py").write_text("def save():\n    pass\n")
    settled(project / "pkg" / "a.py", project / "pkg" / "store.py", project / "pkg")
    assert check("pkg/a.py").stdout == "All checks passed!\n"
    assert how(check("pkg/a.py")) == "replayed"
    (project / "pkg" / "store.py").write_text("async def save():\n    pass\n")
    done = check("pkg/a.py")
    assert (how(done), done.stdout.splitlines()[0]) == (
        "LibCST loaded",
        "pkg/a.py:5:5: ASL101 coroutine `save(...)` is never awaited",
    )


def test_no_record_while_a_file_may_still_change(check: Run, project: Path) -> None:
    future = time.time() + 60
    os.utime(project / "pkg" / "b.py", (future, future))
    check("pkg")
    assert how(check("pkg")) == "LibCST loaded"


def test_no_record_of_a_run_with_errors(check: Run) -> None:
    assert check("pkg", "missing.py").returncode == 2
    done = check("pkg", "missing.py")
    assert (done.returncode, how(done)) == (2, "LibCST loaded")
    assert done.stdout.startswith("error: missing.py: No such file or directory\n")


def test_the_output_file_is_written_again(check: Run, project: Path) -> None:
    check("pkg", "--output-file", "out.txt")
    written = (project / "out.txt").read_text()
    (project / "out.txt").unlink()
    done = check("pkg", "--output-file", "out.txt")
    assert (how(done), done.stdout, (project / "out.txt").read_text()) == ("replayed", "", written)


def test_no_cache_neither_reads_nor_leaves_a_record(check: Run, tmp_path: Path) -> None:
    check("pkg", "--no-cache")
    assert not (tmp_path / "cache").exists()
    check("pkg")
    assert how(check("pkg", "--no-cache")) == "LibCST loaded"


def test_only_the_most_recent_records_are_kept(tmp_path: Path) -> None:
    store = cachedir.Store(tmp_path / "cache")
    store.prepare()
    names = [f"command {n}" for n in range(replay.KEPT + 2)]
    for step, name in enumerate(names):
        replay.save(store, name, replay.Recorded(f"output {step}\n", 0), {})
        written = store.directory / replay.KIND / f"{cachedir.digest(name)}.json"
        os.utime(written, ns=(step * 1_000_000_000, step * 1_000_000_000))
    assert len(list((store.directory / replay.KIND).iterdir())) == replay.KEPT
    assert replay.lookup(store.directory, names[1]) is None
    assert replay.lookup(store.directory, names[2]) == replay.Recorded("output 2\n", 0)


def test_a_module_added_to_a_package_is_noticed(check: Run, project: Path) -> None:
    """pkg/ is a package: only the walk's listing of it, not the index's search path (which
    holds the folder above), shows the new module."""
    (project / "pkg" / "__init__.py").write_text("")
    settled(project / "pkg" / "__init__.py", project / "pkg")
    check("pkg")
    assert how(check("pkg")) == "replayed"
    (project / "pkg" / "c.py").write_text(TASK)
    done = check("pkg")
    assert (how(done), done.stdout.splitlines()[1]) == ("LibCST loaded", f"pkg/c.py:5:5: {FINDING}")
