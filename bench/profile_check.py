"""Where ``asynclint check`` spends its time: a profile of one process checking a sample.

What ``--jobs 1`` does in its worker, in this process under :mod:`cProfile`: the index's
first pass over every file, then every file checked with every rule (as ``bench_check.py``
runs it: ``--select ALL``). Prints the time per part of the
code (LibCST's parser, asynclint's modules, each rule; what they spend in builtins and in
the rest of LibCST is theirs) and the functions that take most of it.

    python bench/profile_check.py [--cache DIR] [--packages a,b] [--sample F] [--top N]
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import os
import pstats
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import bench_check
import corpus

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

import libcst as cst  # noqa: E402

from asynclint import engine, index, prefilter, registry  # noqa: E402
from asynclint import source as sources  # noqa: E402
from asynclint.context import TRACKED, Context  # noqa: E402
from asynclint.walk import Walker  # noqa: E402

PARSER = "libcst parser (building the tree)"
ROUNDS = 40


def part(filename: str) -> str:
    """The part of the code a profiled function of asynclint or LibCST's parser belongs to."""
    path = filename.replace(os.sep, "/")
    if "/asynclint/rules/" in path:
        return f"rule {Path(path).stem}"
    if "/asynclint/" in path:
        return f"asynclint.{Path(path).stem}"
    return PARSER


Function = tuple[str, int, str]
WAITING = frozenset(["<method 'acquire' of '_thread.lock' objects>", "wait", "join"])
"""The main thread waiting for the deep-stack thread (:func:`asynclint.source.run_deep`)."""


def foreign(function: Function) -> bool:
    """Code whose time belongs to whoever called it: all but asynclint's and LibCST's parser
    (builtins such as ``isinstance`` and the ``abc`` machinery behind it, the rest of
    LibCST: a rule's own traversals, positions)."""
    filename = function[0].replace(os.sep, "/")
    return "/asynclint/" not in filename and "/libcst/_parser/" not in filename


def own_time(stats: pstats.Stats) -> dict[str, float]:
    """Seconds spent in each part's own functions (``tottime``); the time of foreign code
    goes to its callers by their share of the calls, through other foreign code, found by
    propagating shares along the call graph until they settle."""
    table = stats.stats  # type: ignore[attr-defined]
    callers = {
        function: {c: data[0] for c, data in entry[4].items() if c != function}
        for function, entry in table.items()
        if foreign(function)
    }
    shares: dict[Function, dict[str, float]] = {function: {} for function in callers}
    for _ in range(ROUNDS):
        updated = {}
        for function, calls in callers.items():
            total = sum(calls.values())
            if not total:  # called from native code: LibCST's parser building nodes
                updated[function] = {PARSER: 1.0}
                continue
            split: dict[str, float] = defaultdict(float)
            for caller, count in calls.items():
                source = shares[caller] if caller in shares else {part(caller[0]): 1.0}
                for name, share in source.items():
                    split[name] += share * count / total
            known = sum(split.values())
            updated[function] = {k: v / known for k, v in split.items()} if known else {}
        shares = updated
    totals: dict[str, float] = defaultdict(float)
    for function, (_, _, tottime, _, _) in table.items():
        if function[2] in WAITING and function[0] in ("~", threading.__file__):
            continue
        split = shares.get(function, {part(function[0]): 1.0}) or {"unattributed": 1.0}
        for name, share in split.items():
            totals[name] += tottime * share
    return totals


def stages(paths: Sequence[str], codes: frozenset[str]) -> dict[str, float]:
    """CPU seconds of each stage of a check, without the profiler (which inflates Python
    code against the native parser): the first pass, the pre-filter, LibCST's parse of the
    files it keeps, the walk with the context the rules read, the rules with positions."""
    clock = time.process_time
    spent: dict[str, float] = defaultdict(float)
    start = clock()
    index.set_active(index.build(paths, index.installed_search_path()))
    spent["index: ast first pass of every file"] = clock() - start
    rules = [rule for rule in engine.selected_rules(codes) if engine._handlers(rule)]
    for path in paths:
        source = sources.read(path)
        if not isinstance(source, sources.Source):
            continue
        start = clock()
        kept = prefilter.applicable(rules, source.text, path, {})
        spent["pre-filter"] += clock() - start
        start = clock()
        with engine._without_cycle_collection():  # as the engine parses and walks
            parsed = sources.parse_scanned(source) if kept else None
        spent["parse of the files kept: guard, LibCST"] += clock() - start
        if parsed is None or isinstance(parsed, sources.SourceError):
            continue
        module, lines_at = parsed
        context = Context(path, module)
        start = clock()
        with engine._without_cycle_collection():
            sources.run_deep(Walker(context.enter, context.leave, {}, {}, TRACKED).walk, module)
        walked = clock() - start
        spent["walk with the rules' context"] += walked
        start = clock()
        lines = engine.source_lines(source.text)
        sources.run_deep(engine.analyse, module, path, kept, {}, lines, source.text, lines_at)
        spent["rules and positions"] += clock() - start - walked
    start = clock()
    for path in paths:
        with contextlib.suppress(Exception):
            cst.parse_module(Path(path).read_bytes())
    spent["for comparison: LibCST parse of every file"] = clock() - start
    return spent


def profile(files: Sequence[Path], top: int) -> None:
    codes = frozenset(rule.code for rule in registry.all_rules())
    paths = [str(path) for path in files]
    print("CPU seconds per stage, without the profiler:")
    for name, seconds in stages(paths, codes).items():
        print(f"{seconds:9.2f}  {name}")
    print()
    profiler = cProfile.Profile()
    start = time.perf_counter()
    profiler.enable()
    index.set_active(index.build(paths, index.installed_search_path()))
    for path in paths:
        engine.check_file(engine.FileJob(path, codes))
    profiler.disable()
    elapsed = time.perf_counter() - start
    stats = pstats.Stats(profiler)
    totals = own_time(stats)
    whole = sum(totals.values())
    print(f"{len(paths)} files, {elapsed:.1f} s under the profiler")
    for name, seconds in sorted(totals.items(), key=lambda item: -item[1]):
        if seconds / whole >= 0.005:
            print(f"{seconds / whole:7.1%}  {name}")
    print()
    stats.sort_stats("tottime").print_stats(top)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=corpus.default_cache(), help="corpus cache")
    parser.add_argument("--packages", help="comma-separated subset, e.g. aiohttp,asyncio")
    parser.add_argument("--sample", type=bench_check.fraction_arg, default=0.02)
    parser.add_argument("--top", type=bench_check.positive_int, default=25)
    args = parser.parse_args(argv)
    cache: Path = args.cache.expanduser().resolve()
    try:
        entries = corpus.select(args.packages.split(",") if args.packages else None)
        tree = bench_check.build_corpus(cache, entries, args.sample)
    except (corpus.CorpusError, OSError) as error:
        print(f"profile_check.py: error: {error}", file=sys.stderr)
        return 1
    os.chdir(tree.root)
    profile(tree.files, args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
