"""A worker that dies (a native parser crash) costs one file, not the run."""

from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import os, signal
    from asynclint import engine, parallel

    real = engine.check_file

    def crashing(job):
        if job.path == "crash.py":
            os.kill(os.getpid(), signal.SIGSEGV)
        return real(job)

    parallel.check_file = crashing
    source = b"import asyncio\\nasyncio.ensure_future(asyncio.sleep(1))\\n"
    jobs = [
        engine.FileJob(f"f{i}.py" if i != 3 else "crash.py", frozenset({"ASL102", "ASL900"}),
                       data=source)
        for i in range(8)
    ]
    for result in parallel.run(jobs, 2):
        for d in result.diagnostics:
            print(d.path, d.code, d.message)
    """
)


def test_a_crashing_file_becomes_asl900_and_the_others_are_checked() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "crash.py ASL900 the parser crashed on this file; it was not checked" in lines
    checked = [line for line in lines if "ASL102" in line]
    assert [line.split()[0] for line in checked] == [f"f{i}.py" for i in range(8) if i != 3]
