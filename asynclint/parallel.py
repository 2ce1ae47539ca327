"""Run file checks across processes and survive a worker that dies.

A native parser can take its process down (LibCST's segfaults on pathological nesting).
Each worker notes which file it is on in a small file named after its pid; when the pool
breaks, the files that were in flight are re-checked one by one in fresh processes, so
the culprit is reported as ``ASL900`` and every other file is still checked.

Files go to the workers in chunks (one round trip per chunk, not per file) and come back as
findings, never syntax trees. With a cache (:mod:`asynclint.cache`) the workers read and
write its entries themselves and tell the parent which modules the index read lazily.
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
from functools import partial
from pathlib import Path

from asynclint import cache, cachedir, collector, exchange, index
from asynclint import source as sources
from asynclint.diagnostic import Diagnostic
from asynclint.engine import SYNTAX_ERROR, FileJob, FileResult, check_file

_CHUNK = 16
"""Files per round trip at most; fewer when there are few files per worker."""

_progress = -1
"""The worker's progress file, open: the position of the file it is on is written there
in place (truncating and rewriting a file per check costs a third of a millisecond)."""
_store: cachedir.Store | None = None
_checked: frozenset[str] = frozenset()
"""The checked files (absolute paths): a module of the index from any other file was read
lazily. By file, not module name: a checked file read again under another name (a folder
that is a package for some imports and not for others) is still a checked file, whose
facts are in every cache key already."""
_reported = 0
_states: dict[str, str] = {}


def _init_worker(
    progress_dir: str | None,
    project: index.ProjectIndex | None,
    store: cachedir.Store | None,
    checked: frozenset[str],
    modules_dir: str | None,
) -> None:
    global _progress, _store, _checked
    _store, _checked = store, checked
    if progress_dir is not None:
        _progress = os.open(Path(progress_dir, str(os.getpid())), os.O_WRONLY | os.O_CREAT)
    if project is not None:
        index.set_active(project)
    if modules_dir is not None:
        index.active().exchange = exchange.Folder(modules_dir)
    # The parent handles Ctrl-C; workers die with the pool instead of printing tracebacks.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _check(job: FileJob) -> FileResult:
    return check_file(job) if _store is None else cache.check(job, _store)


def _check_chunk(
    positions: Sequence[int], jobs: Sequence[FileJob]
) -> tuple[list[FileResult], dict[str, str]]:
    """Check a chunk on one deep-stack thread (:func:`asynclint.source.run_deep`): a fresh
    thread per file, whose large stack the parser faults in anew, costs a quarter of a
    parse."""
    return sources.run_deep(_check_all, positions, jobs), _lazily_read()


def _check_all(positions: Sequence[int], jobs: Sequence[FileJob]) -> list[FileResult]:
    results = []
    for position, job in zip(positions, jobs, strict=True):
        os.lseek(_progress, 0, os.SEEK_SET)  # os.pwrite is not on Windows
        os.write(_progress, b"%20d" % position)
        results.append(_check(job))
    return results


def _lazily_read() -> dict[str, str]:
    """Files of the modules the index read lazily in this process (path → state), for the
    cache; the state is taken when first reported, close to when the file was read."""
    global _reported
    modules = index.active().modules
    if _store is None or len(modules) == _reported:
        return {}
    _reported = len(modules)
    paths = {os.path.abspath(facts.path) for facts in modules.values()} - _checked
    fresh = {path: cachedir.state(path) for path in paths - _states.keys()}
    _states.update(fresh)
    return fresh


def _shipped_index() -> index.ProjectIndex | None:
    """The index for workers: inherited for free with ``fork``, pickled once otherwise."""
    return None if _context().get_start_method() == "fork" else index.active()


_Setup = tuple[
    str | None, index.ProjectIndex | None, cachedir.Store | None, frozenset[str], str | None
]


def _worker_setup(progress_dir: str | None, modules_dir: str | None = None) -> _Setup:
    """What :func:`_init_worker` receives; with `modules_dir`, the workers share the modules
    they read lazily there (:mod:`asynclint.exchange`)."""
    session = cache.current()
    store = None if session is None else session.store
    checked = frozenset() if session is None else session.checked_files()
    return (progress_dir, _shipped_index(), store, checked, modules_dir)


def build_index(paths: Sequence[str], workers: int) -> index.ProjectIndex:
    """The project index of `paths`, one ``ast`` parse per file spread over the workers;
    with a current cache session, unchanged files' facts come from the cache, read here."""
    search_path = index.installed_search_path()
    session = cache.current()
    if session is None:
        if workers <= 1 or len(paths) < 2 * workers:
            return index.build(paths, search_path)
        with ProcessPoolExecutor(workers, mp_context=_context()) as pool:
            chunk = max(1, len(paths) // (workers * 8))
            return index.build(paths, search_path, mapper=partial(pool.map, chunksize=chunk))
    found = {path: cache.cached_module(path, session.store) for path in paths}
    missing = [path for path, entry in found.items() if entry is None]
    missing.sort(key=_size, reverse=True)
    work = partial(cache.index_module, store=session.store)
    if workers <= 1 or len(missing) < 2 * workers:
        found.update(zip(missing, map(work, missing), strict=True))
    else:
        with ProcessPoolExecutor(workers, mp_context=_context()) as pool:
            chunk = max(1, len(missing) // (workers * 8))
            found.update(zip(missing, pool.map(work, missing, chunksize=chunk), strict=True))
    session.indexed = {path: entry for path, entry in found.items() if entry is not None}
    modules = (entry.facts for entry in session.indexed.values() if entry.facts is not None)
    outlines = {p: e.outline for p, e in session.indexed.items() if e.outline is not None}
    return index.ProjectIndex(modules, search_path, outlines=outlines)


def _context() -> multiprocessing.context.BaseContext:
    """``fork`` where it is safe (Linux, no threads yet): workers start without re-importing."""
    if sys.platform == "linux" and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def run(jobs: Sequence[FileJob], workers: int) -> list[FileResult]:
    """Check every job; results in the order of `jobs`. With a cache session, the stored
    findings of unchanged files are taken here and only the others go to workers."""
    session = cache.current()
    results: dict[int, FileResult] = {}
    if session is not None:
        for position, job in enumerate(jobs):
            reused = session.reuse(job)
            if reused is not None:
                results[position] = reused
    pending = [position for position in range(len(jobs)) if position not in results]
    pending.sort(key=lambda p: _size(jobs[p].path, jobs[p].data), reverse=True)
    while pending:
        in_flight = _run_pool(jobs, pending, max(1, min(workers, len(pending))), results)
        for position in in_flight:
            results[position] = _isolated(jobs[position])
        pending = [position for position in pending if position not in results]
    return [results[position] for position in range(len(jobs))]


def _size(path: str, data: bytes | None = None) -> int:
    """What work is sorted by, largest first: the last chunks, handed to whichever worker is
    free, are small, so no worker is left alone with a large file at the end."""
    if data is not None:
        return len(data)
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def _run_pool(
    jobs: Sequence[FileJob], indices: list[int], workers: int, results: dict[int, FileResult]
) -> list[int]:
    """Run `indices` in a pool; return the ones in flight if the pool broke."""
    size = max(1, min(_CHUNK, len(indices) // (workers * 4)))
    chunks = [indices[start : start + size] for start in range(0, len(indices), size)]
    session = cache.current()
    with (
        tempfile.TemporaryDirectory(prefix="asynclint-") as progress,
        tempfile.TemporaryDirectory(prefix="asynclint-modules-") as modules,
    ):
        shared = modules if workers > 1 else None  # alone, a worker has no one to share with
        with (
            collector.frozen(),
            ProcessPoolExecutor(
                workers,
                mp_context=_context(),
                initializer=_init_worker,
                initargs=_worker_setup(progress, shared),
            ) as pool,
        ):
            futures: list[tuple[list[int], Future[tuple[list[FileResult], dict[str, str]]]]] = [
                (chunk, pool.submit(_check_chunk, chunk, [jobs[p] for p in chunk]))
                for chunk in chunks
            ]
            broken = False
            for chunk, future in futures:
                try:
                    done, loaded = future.result()
                except BrokenProcessPool:
                    broken = True
                    continue
                results.update(zip(chunk, done, strict=True))
                if session is not None:
                    session.loaded.update(loaded)
        if not broken:
            return []
        in_flight = {int(path.read_text() or -1) for path in Path(progress).iterdir()}
        return sorted(position for position in in_flight if position not in results)


def _isolated(job: FileJob) -> FileResult:
    """Check one file alone in a fresh process; a crash becomes an ASL900 finding."""
    with ProcessPoolExecutor(
        1, mp_context=_context(), initializer=_init_worker, initargs=_worker_setup(None)
    ) as pool:
        try:
            return pool.submit(_check, job).result()
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
