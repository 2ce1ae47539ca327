"""The cyclic garbage collector stays out of the index's first pass, and forked workers
never traverse the objects they inherit from the parent."""

from __future__ import annotations

import gc
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest

from asynclint import collector, index


def test_the_first_pass_runs_without_the_collector(tmp_path: Path) -> None:
    (tmp_path / "mod.py").write_text("async def f():\n    pass\n")
    seen: list[bool] = []

    def mapper(read: Callable[[str], index._Read], paths: list[str]) -> Iterable[index._Read]:
        for path in paths:
            seen.append(gc.isenabled())
            yield read(path)

    built = index.build([str(tmp_path / "mod.py")], mapper=mapper)
    assert seen == [False]
    assert gc.isenabled()
    assert built.function("mod.f") == index.FunctionFact(is_async=True)


def test_a_paused_collector_is_given_back_after_an_error() -> None:
    with pytest.raises(ValueError), collector.paused():
        raise ValueError
    assert gc.isenabled()


WORKERS = textwrap.dedent(
    """
    import gc
    from asynclint import engine, parallel

    def observed(job):
        print("worker", gc.get_freeze_count() > 0, flush=True)
        return engine.FileResult(job.path, [])

    parallel.check_file = observed
    jobs = [engine.FileJob(f"f{i}.py", frozenset({"ASL102"}), data=b"") for i in range(2)]
    parallel.run(jobs, 1)
    print("parent", gc.get_freeze_count())
    """
)


@pytest.mark.skipif(sys.platform != "linux", reason="workers are forked on Linux only")
def test_forked_workers_inherit_the_parent_objects_frozen() -> None:
    done = subprocess.run(
        [sys.executable, "-c", WORKERS], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["worker True", "worker True", "parent 0"]
