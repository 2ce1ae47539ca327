"""Run file checks across processes and survive a worker that dies.

A native parser can take its process down (LibCST's segfaults on pathological nesting).
Each worker notes which file it is on in a small file named after its pid; when the pool
breaks, the files that were in flight are re-checked one by one in fresh processes, so
the culprit is reported as ``ASL900`` and every other file is still checked.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import tempfile
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from asynclint import index
from asynclint.diagnostic import Diagnostic
from asynclint.engine import SYNTAX_ERROR, FileJob, FileResult, check_file

_progress_dir: str | None = None


def _init_worker(progress_dir: str | None, project: index.ProjectIndex | None) -> None:
    global _progress_dir
    _progress_dir = progress_dir
    if project is not None:
        index.set_active(project)
    # The parent handles Ctrl-C; workers die with the pool instead of printing tracebacks.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _check_in_worker(position: int, job: FileJob) -> FileResult:
    assert _progress_dir is not None
    Path(_progress_dir, str(os.getpid())).write_text(str(position))
    return check_file(job)


def _shipped_index() -> index.ProjectIndex | None:
    """The index for workers: inherited for free with ``fork``, pickled once otherwise."""
    return None if _context().get_start_method() == "fork" else index.active()


def build_index(paths: Sequence[str], workers: int) -> index.ProjectIndex:
    """The project index of `paths`, one ``ast`` parse per file spread over the workers
    (:func:`asynclint.project.build_index` adds what lies beyond them)."""
    if workers <= 1 or len(paths) < 2 * workers:
        return index.build(paths)
    with ProcessPoolExecutor(workers, mp_context=_context()) as pool:
        facts = pool.map(index.facts_for, paths, chunksize=max(1, len(paths) // (workers * 8)))
        return index.ProjectIndex(fact for fact in facts if fact is not None)


def _context() -> multiprocessing.context.BaseContext:
    """``fork`` where it is safe (Linux, no threads yet): workers start without re-importing."""
    if sys.platform == "linux" and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def run(jobs: Sequence[FileJob], workers: int) -> list[FileResult]:
    """Check every job; results in the order of `jobs`."""
    results: dict[int, FileResult] = {}
    pending = list(range(len(jobs)))
    while pending:
        in_flight = _run_pool(jobs, pending, max(1, min(workers, len(pending))), results)
        for position in in_flight:
            results[position] = _isolated(jobs[position])
        pending = [position for position in pending if position not in results]
    return [results[position] for position in range(len(jobs))]


def _run_pool(
    jobs: Sequence[FileJob], indices: list[int], workers: int, results: dict[int, FileResult]
) -> list[int]:
    """Run `indices` in a pool; return the ones in flight if the pool broke."""
    with tempfile.TemporaryDirectory(prefix="asynclint-") as progress:
        with ProcessPoolExecutor(
            workers,
            mp_context=_context(),
            initializer=_init_worker,
            initargs=(progress, _shipped_index()),
        ) as pool:
            futures: dict[int, Future[FileResult]] = {
                position: pool.submit(_check_in_worker, position, jobs[position])
                for position in indices
            }
            broken = False
            for position, future in futures.items():
                try:
                    results[position] = future.result()
                except BrokenProcessPool:
                    broken = True
        if not broken:
            return []
        in_flight = {int(path.read_text() or -1) for path in Path(progress).iterdir()}
        return sorted(position for position in in_flight if position not in results)


def _isolated(job: FileJob) -> FileResult:
    """Check one file alone in a fresh process; a crash becomes an ASL900 finding."""
    with ProcessPoolExecutor(
        1, mp_context=_context(), initializer=_init_worker, initargs=(None, _shipped_index())
    ) as pool:
        try:
            return pool.submit(check_file, job).result()
        except BrokenProcessPool:
            pass
    if SYNTAX_ERROR not in job.codes:
        return FileResult(job.path, [])
    crash = Diagnostic(
        path=job.path,
        line=1,
        column=1,
        end_line=1,
        end_column=1,
        code=SYNTAX_ERROR,
        name="syntax-error",
        message="the parser crashed on this file; it was not checked",
    )
    return FileResult(job.path, [crash])
